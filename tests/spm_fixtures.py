"""Helpers that train small SentencePiece models with ALBERT's settings for the tests (no pytest fixtures here)."""

from __future__ import annotations

from pathlib import Path

from albert_core.tokenizer import train_sentencepiece

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "tinyshakespeare.txt"


def corpus_lines(max_lines: int | None = 4000) -> list[str]:
    """Non-empty lines of the tiny-shakespeare corpus (the first ``max_lines``)."""
    lines = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines if max_lines is None else lines[:max_lines]


def make_spiece_model(directory: str | Path, vocab_size: int = 1000, max_lines: int | None = 4000, **kwargs) -> Path:
    """Train (or reuse) ``<directory>/spiece.model`` on the corpus; extra kwargs go to ``train_sentencepiece``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model = directory / "spiece.model"
    if not model.is_file():
        train_sentencepiece(corpus_lines(max_lines), directory, vocab_size=vocab_size, **kwargs)
    return model


def make_tiny_spiece_model(directory: str | Path) -> Path:
    """A very small model (byte_fallback off, low character coverage) in which ``<unk>`` shows up often."""
    return make_spiece_model(directory, vocab_size=200, max_lines=300, character_coverage=0.98)
