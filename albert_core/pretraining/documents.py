"""Documents for pre-training: read them from text files or iterables of strings, and tokenize them.

A *document* is a list of sentences (or lines). In a text file documents are separated by blank lines and hold one
sentence or line per line, as the original ``create_pretraining_data.py`` expects. An iterable of strings (a
``datasets.Dataset`` text column, a list, a generator) is read the same way, item by item, unless
``one_document_per_item`` says that each item is a whole document whose lines are its sentences.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence, Union

import numpy as np

from albert_core.errors import InputError

#: SentencePiece marks the first piece of a word with this character.
WORD_START_MARK = "\u2581"

TextInputs = Union[str, os.PathLike, Sequence[os.PathLike], Iterable[str]]


@dataclass(frozen=True)
class TokenizedDocument:
    """One tokenized document: the ids of all its sentences end to end, where each sentence ends, and word starts.

    ``sentence_ends[k]`` is the offset one past sentence ``k`` in ``ids``; ``word_starts[i]`` says whether piece ``i``
    begins a word (a SentencePiece piece starting with ``▁``).
    """

    ids: np.ndarray
    sentence_ends: np.ndarray
    word_starts: np.ndarray

    @property
    def num_sentences(self) -> int:
        return len(self.sentence_ends)

    def sentence_bounds(self, index: int) -> tuple[int, int]:
        """``(start, end)`` offsets of sentence ``index`` in ``ids``."""
        start = int(self.sentence_ends[index - 1]) if index else 0
        return start, int(self.sentence_ends[index])


def is_path_input(inputs: Any) -> bool:
    """Whether ``inputs`` names files (a path, or a list/tuple of ``os.PathLike``) rather than being text.

    A single ``str`` is a path; a sequence of ``str`` is text, so that a plain list of sentences works.

    >>> from pathlib import Path
    >>> is_path_input("corpus.txt"), is_path_input([Path("a.txt"), Path("b.txt")]), is_path_input(["some text"])
    (True, True, False)
    """
    if isinstance(inputs, (str, os.PathLike)):
        return True
    return isinstance(inputs, (list, tuple)) and bool(inputs) and all(isinstance(i, os.PathLike) for i in inputs)


def iter_document_texts(inputs: TextInputs, one_document_per_item: bool = False) -> Iterator[list[str]]:
    """Yield each document of ``inputs`` as its list of non-empty, stripped sentences.

    Args:
        inputs: a text file path, a list of ``Path`` objects, or an iterable of strings.
        one_document_per_item: with an iterable of strings, treat each item as a whole document (its lines are the
            sentences) instead of as lines of a file in which blank items separate documents.

    >>> list(iter_document_texts(["a b.", "c d.", "", "e f."]))
    [['a b.', 'c d.'], ['e f.']]
    >>> list(iter_document_texts(["a b.\\nc d.", "e f."], one_document_per_item=True))
    [['a b.', 'c d.'], ['e f.']]
    """
    if is_path_input(inputs):
        paths = [Path(inputs)] if isinstance(inputs, (str, os.PathLike)) else [Path(p) for p in inputs]
        for path in paths:
            if not path.is_file():
                raise InputError(f"inputs: no such text file: {path}")
        for path in paths:
            with path.open(encoding="utf-8") as handle:
                # a document never continues into the next file
                yield from _split_on_blank_lines(handle)
        return
    if isinstance(inputs, (bytes, bytearray)) or not isinstance(inputs, Iterable):
        raise InputError("inputs: expected a path, a list of paths or an iterable of strings, "
                         f"got {type(inputs).__name__}")
    if one_document_per_item:
        for item in inputs:
            sentences = [line.strip() for line in _as_text(item).splitlines() if line.strip()]
            if sentences:
                yield sentences
    else:
        yield from _split_on_blank_lines(line for item in inputs for line in _as_text(item).splitlines() or [""])


def _as_text(item: Any) -> str:
    if not isinstance(item, str):
        raise InputError(f"inputs: every item must be a string, got {type(item).__name__}")
    return item


def _split_on_blank_lines(lines: Iterable[str]) -> Iterator[list[str]]:
    document: list[str] = []
    for line in lines:
        line = line.strip()
        if line:
            document.append(line)
        elif document:
            yield document
            document = []
    if document:
        yield document


def word_start_table(tokenizer: Any) -> np.ndarray:
    """A boolean lookup table over all ids: does this id's piece start a word (begin with ``▁``)?

    Computed once per tokenizer so that marking word starts is a single numpy gather per document.
    """
    pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    return np.fromiter((piece.startswith(WORD_START_MARK) for piece in pieces), dtype=bool, count=len(pieces))


def tokenize_documents(
    documents: Iterable[list[str]], tokenizer: Any, starts_word: np.ndarray, batch_sentences: int = 4096,
) -> Iterator[TokenizedDocument]:
    """Tokenize documents, a batch of sentences at a time (the tokenizer encodes a batch with its C++ threads).

    Sentences that give no piece are dropped; documents left without a sentence are dropped.
    """
    pending: list[list[str]] = []
    pending_sentences = 0
    for document in documents:
        pending.append(document)
        pending_sentences += len(document)
        if pending_sentences >= batch_sentences:
            yield from _tokenize_batch(pending, tokenizer, starts_word)
            pending, pending_sentences = [], 0
    if pending:
        yield from _tokenize_batch(pending, tokenizer, starts_word)


def _tokenize_batch(documents: list[list[str]], tokenizer: Any, starts_word: np.ndarray) -> Iterator[TokenizedDocument]:
    flat = [sentence for document in documents for sentence in document]
    encoded = tokenizer(flat, add_special_tokens=False, return_token_type_ids=False,
                        return_attention_mask=False)["input_ids"]
    offset = 0
    for document in documents:
        rows = [row for row in encoded[offset:offset + len(document)] if len(row)]
        offset += len(document)
        if not rows:
            continue
        ids = np.fromiter((i for row in rows for i in row), dtype=np.int32)
        yield TokenizedDocument(ids=ids, sentence_ends=np.cumsum([len(row) for row in rows], dtype=np.int64),
                                word_starts=starts_word[ids])
