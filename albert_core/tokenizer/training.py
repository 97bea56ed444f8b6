"""Training a SentencePiece model with ALBERT's recipe."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Iterable, Sequence, Union

from albert_core.errors import TokenizerError
from albert_core.io_utils import atomic_write_bytes
from albert_core.tokenizer.files import VOCAB_FILES_NAMES
from albert_core.tokenizer.pieces import import_sentencepiece

#: ALBERT's SentencePiece recipe splits these characters out as pieces of their own.
ALBERT_USER_DEFINED_SYMBOLS = ("(", ")", '"', "-", ".", "\u2013", "\u00a3", "\u20ac")


def train_sentencepiece(
    corpus: Union[str, os.PathLike[str], Iterable[str]],
    model_prefix_or_dir: Union[str, os.PathLike[str]],
    vocab_size: int = 8000,
    *,
    max_lines: int | None = None,
    byte_fallback: bool = False,
    user_defined_symbols: Sequence[str] | None = ALBERT_USER_DEFINED_SYMBOLS,
    character_coverage: float = 0.99995,
    hard_vocab_limit: bool = False,
    num_threads: int = 4,
) -> Path:
    """Train a SentencePiece unigram model with ALBERT's settings and return the path of the written model.

    ``<pad>`` gets id 0, ``<unk>`` id 1, the control symbols ``[CLS]``, ``[SEP]``, ``[MASK]`` ids 2, 3, 4; there are
    no BOS/EOS pieces and text is normalised with ``nmt_nfkc``, as for the released ALBERT models. ``corpus`` is a
    text file (one sentence a line) or an iterable of lines; training runs in memory. ``model_prefix_or_dir`` is an
    existing directory (the model is written as ``spiece.model`` inside it) or a prefix (``<prefix>.model``). The
    write is atomic.

    >>> import tempfile
    >>> lines = ["the quick brown fox jumps over the lazy dog", "pack my box with five dozen liquor jugs"] * 50
    >>> path = train_sentencepiece(lines, tempfile.mkdtemp(), vocab_size=60)
    >>> path.name
    'spiece.model'
    """
    spm = import_sentencepiece()
    lines = _training_lines(corpus, max_lines)
    target = Path(model_prefix_or_dir)
    out = target / VOCAB_FILES_NAMES["vocab_file"] if target.is_dir() else target.with_name(target.name + ".model")
    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=buffer,
        vocab_size=vocab_size,
        model_type="unigram",
        pad_id=0,
        unk_id=1,
        bos_id=-1,
        eos_id=-1,
        control_symbols=["[CLS]", "[SEP]", "[MASK]"],
        user_defined_symbols=list(user_defined_symbols or []),
        normalization_rule_name="nmt_nfkc",
        character_coverage=character_coverage,
        byte_fallback=byte_fallback,
        hard_vocab_limit=hard_vocab_limit,
        num_threads=num_threads,
        seed_sentencepiece_size=1000000,
        minloglevel=2,
    )
    atomic_write_bytes(out, buffer.getvalue())
    return out


def _training_lines(corpus: Union[str, os.PathLike[str], Iterable[str]], max_lines: int | None) -> list[str]:
    if isinstance(corpus, (str, os.PathLike)):
        corpus_path = Path(corpus)
        if not corpus_path.is_file():
            raise FileNotFoundError(f"corpus file not found: {corpus_path}")
        lines: list[str] = corpus_path.read_text(encoding="utf-8").splitlines()
    else:
        lines = [str(line) for line in corpus]
    lines = [line for line in lines if line.strip()]
    if max_lines is not None:
        lines = lines[:max_lines]
    if not lines:
        raise TokenizerError("cannot train a SentencePiece model on an empty corpus")
    return lines
