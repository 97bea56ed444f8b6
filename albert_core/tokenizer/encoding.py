"""The dict-like result of a tokenizer call, with the token -> word / sequence / character maps of each row."""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

# defined with the other errors; kept importable here
from albert_core.errors import TokenizerArgumentError  # noqa: F401


class RowLayout:
    """Where each sequence of a batch's rows lies, so word and sequence ids are built only when asked for.

    Args:
        first_lengths: content tokens of the first sequence in each row.
        second_lengths: the same for the second sequence, or None without pairs.
        add_special_tokens: whether ``[CLS]``/``[SEP]`` surround the sequences.
        pad_left: padding tokens put before each row (None: none anywhere).
        words: ``{row: (first_word_ids, second_word_ids)}`` for rows whose word ids are not derived from their
            token ids (pre-split words, or windows cut from the middle of a text).
        word_ids_of: function turning one sequence's content ids into word ids.
    """

    __slots__ = ("first_lengths", "second_lengths", "add_special_tokens", "pad_left", "words", "word_ids_of")

    def __init__(self, first_lengths: list[int], second_lengths: list[int] | None, *, add_special_tokens: bool,
                 pad_left: list[int] | None, words: dict[int, tuple[Any, Any]],
                 word_ids_of: Callable[[Sequence[int]], list[int]]) -> None:
        self.first_lengths = first_lengths
        self.second_lengths = second_lengths
        self.add_special_tokens = add_special_tokens
        self.pad_left = pad_left
        self.words = words
        self.word_ids_of = word_ids_of

    def spans(self, row: int) -> list[tuple[int, int, int]]:
        """``(sequence_index, start, stop)`` positions of the content of each sequence in ``row``."""
        pos = self.pad_left[row] if self.pad_left is not None else 0
        extra = 1 if self.add_special_tokens else 0
        out = [(0, pos + extra, pos + extra + self.first_lengths[row])]
        if self.second_lengths is not None:
            start = out[0][2] + extra
            out.append((1, start, start + self.second_lengths[row]))
        return out


class Encoding(dict):
    """The result of :meth:`AlbertTokenizer.__call__ <albert_core.tokenizer.AlbertTokenizer.__call__>`: a ``dict``
    whose keys can also be read as attributes, with Hugging Face ``BatchEncoding``'s per-row maps
    (:meth:`~albert_core.tokenizer.encoding.Encoding.sequence_ids`,
    :meth:`~albert_core.tokenizer.encoding.Encoding.word_ids`,
    :meth:`~albert_core.tokenizer.encoding.Encoding.token_to_word`,
    :meth:`~albert_core.tokenizer.encoding.Encoding.char_to_token`).

    >>> enc = Encoding(input_ids=[[2, 3]], attention_mask=[[1, 1]])
    >>> enc.input_ids == enc["input_ids"]
    True
    """

    _layout: Optional[RowLayout] = None
    _single: bool = False

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"Encoding has no field {name!r}; it holds {sorted(self)}") from None

    def to_dict(self) -> dict[str, Any]:
        return dict(self)

    def _with_layout_of(self, other: "Encoding") -> "Encoding":
        self._layout, self._single = other._layout, other._single
        return self

    # ------------------------------------------------------------------ per-row maps

    @property
    def is_fast(self) -> bool:
        """Always ``False``, as for a slow tokenizer's result (there are no ``tokenizers.Encoding`` objects), though
        the per-row maps work."""
        return False

    @property
    def n_sequences(self) -> int | None:
        """1 or 2 (sequences per row), None when the result does not come from a tokenizer call."""
        if self._layout is None:
            return None
        return 1 if self._layout.second_lengths is None else 2

    def _needs_layout(self, what: str) -> RowLayout:
        if self._layout is None:
            raise TokenizerArgumentError(
                f"{what}() needs the result of a tokenizer call; this Encoding was built another way (pad(), "
                "a copy or a dict)"
            )
        return self._layout

    def _row_index(self, batch_index: int, what: str) -> int:
        layout = self._needs_layout(what)
        n = len(layout.first_lengths)
        if isinstance(batch_index, bool) or not isinstance(batch_index, int):
            raise TokenizerArgumentError(f"{what}(): batch_index must be an int, got {batch_index!r:.40}")
        if self._single and batch_index != 0:
            raise TokenizerArgumentError(f"{what}(): this result holds one sequence, batch_index must be 0")
        if not -n <= batch_index < n:
            raise TokenizerArgumentError(f"{what}(): batch_index {batch_index} is out of range for {n} rows")
        return batch_index % n

    def _row(self, key: str, row: int) -> list[Any]:
        value = self[key]
        if self._single:
            value = [value]
        out = value[row]
        if hasattr(out, "tolist"):
            return out.tolist()
        if hasattr(out, "numpy"):
            return out.numpy().tolist()
        return list(out)

    def _row_length(self, row: int) -> int:
        return len(self._row("input_ids", row))

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """For each token of row ``batch_index``: 0 (first sequence), 1 (second sequence) or None (special
        tokens and padding), as in Hugging Face.

        >>> from albert_core.filenames import DEFAULT_MODEL_DIR
        >>> from albert_core.tokenizer import AlbertTokenizer
        >>> tok = AlbertTokenizer.from_pretrained(DEFAULT_MODEL_DIR)
        >>> tok("my lord", "the king").sequence_ids()
        [None, 0, 0, None, 1, 1, None]
        """
        row = self._row_index(batch_index, "sequence_ids")
        out: list[int | None] = [None] * self._row_length(row)
        for seq, start, stop in self._needs_layout("sequence_ids").spans(row):
            out[start:stop] = [seq] * (stop - start)
        return out

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """For each token of row ``batch_index``: the index of the word it comes from in its own sequence (each
        sequence of a pair counts from 0; with ``is_split_into_words=True`` the index of the given word), None for
        special tokens and padding. Words follow Hugging Face's fast tokenizer: white-space separated, with
        ALBERT's symbol pieces (``. - ( )`` ...) and special tokens in the text each a word of their own.

        >>> from albert_core.filenames import DEFAULT_MODEL_DIR
        >>> from albert_core.tokenizer import AlbertTokenizer
        >>> tok = AlbertTokenizer.from_pretrained(DEFAULT_MODEL_DIR)
        >>> tok("good night, sweet prince").word_ids()
        [None, 0, 1, 1, 2, 3, None]
        >>> tok(["my lord", "good night"], is_split_into_words=True).word_ids()
        [None, 0, 0, 1, 1, None]
        """
        row = self._row_index(batch_index, "word_ids")
        layout = self._needs_layout("word_ids")
        ids = self._row("input_ids", row)
        out: list[int | None] = [None] * len(ids)
        explicit = layout.words.get(row)
        for seq, start, stop in layout.spans(row):
            words = explicit[seq] if explicit is not None else None
            out[start:stop] = words if words is not None else layout.word_ids_of(ids[start:stop])
        return out

    def words(self, batch_index: int = 0) -> list[int | None]:
        """Alias of :meth:`~albert_core.tokenizer.encoding.Encoding.word_ids` (an older Hugging Face name)."""
        return self.word_ids(batch_index)

    def token_to_sequence(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        """The sequence (0 or 1, None for special tokens) of one token; ``(token)`` or ``(batch, token)``."""
        batch, token = _batch_and_item(batch_or_token_index, token_index)
        return _pick(self.sequence_ids(batch), token, "token_index")

    def token_to_word(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        """The word index of one token (see :meth:`~albert_core.tokenizer.encoding.Encoding.word_ids`); called as
        ``(token)`` or ``(batch, token)``.

        >>> from albert_core.filenames import DEFAULT_MODEL_DIR
        >>> from albert_core.tokenizer import AlbertTokenizer
        >>> tok = AlbertTokenizer.from_pretrained(DEFAULT_MODEL_DIR)
        >>> tok(["my lord", "good night, sweet prince"]).token_to_word(1, 4)
        2
        """
        batch, token = _batch_and_item(batch_or_token_index, token_index)
        return _pick(self.word_ids(batch), token, "token_index")

    def char_to_token(self, batch_or_char_index: int, char_index: int | None = None,
                      sequence_index: int = 0) -> int | None:
        """The index of the token whose span holds character ``char_index`` of sequence ``sequence_index`` (None
        when no token covers it, e.g. white space); ``(char)`` or ``(batch, char)``. Needs the call to have
        asked for ``return_offsets_mapping=True``.

        >>> from albert_core.filenames import DEFAULT_MODEL_DIR
        >>> from albert_core.tokenizer import AlbertTokenizer
        >>> tok = AlbertTokenizer.from_pretrained(DEFAULT_MODEL_DIR)
        >>> tok("my lord", return_offsets_mapping=True).char_to_token(4)
        2
        """
        batch, char = _batch_and_item(batch_or_char_index, char_index)
        if sequence_index not in (0, 1):
            raise TokenizerArgumentError(f"char_to_token(): sequence_index must be 0 or 1, got {sequence_index!r}")
        if "offset_mapping" not in self:
            raise TokenizerArgumentError("char_to_token() needs offsets: call the tokenizer with "
                                         "return_offsets_mapping=True")
        row = self._row_index(batch, "char_to_token")
        offsets = self._row("offset_mapping", row)
        for seq, start, stop in self._needs_layout("char_to_token").spans(row):
            if seq != sequence_index:
                continue
            for k in range(start, stop):
                s, e = offsets[k]
                if s <= char < e:
                    return k
        return None


def _batch_and_item(first: int, second: int | None) -> tuple[int, int]:
    return (0, first) if second is None else (first, second)


def _pick(values: list[Any], index: int, name: str) -> Any:
    if isinstance(index, bool) or not isinstance(index, int) or not -len(values) <= index < len(values):
        raise TokenizerArgumentError(f"{name} {index!r:.40} is out of range for a row of {len(values)} tokens")
    return values[index]


#: Hugging Face's name for the same object.
BatchEncoding = Encoding
