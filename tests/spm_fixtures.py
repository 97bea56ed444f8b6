"""Helpers that train small SentencePiece models with ALBERT's settings for the tests (no pytest fixtures here)."""

from __future__ import annotations

import random
from pathlib import Path

from albert_core.tokenizer import train_sentencepiece

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "tinyshakespeare.txt"


def corpus_lines(max_lines: int | None = 4000) -> list[str]:
    """Non-empty lines of the tiny-shakespeare corpus (the first ``max_lines``)."""
    lines = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines if max_lines is None else lines[:max_lines]


def number_lines(count: int = 3000, seed: int = 0) -> list[str]:
    """Lines full of numbers such as ``9, 12, 1,000`` so that the model learns pieces ending in "<digit>,"."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        nums = [str(rng.choice([9, 12, 3, 7, 1999])) + "," for _ in range(4)]
        nums.append(f"{rng.randint(1, 999)},{rng.randint(0, 999):03d}")
        out.append(" ".join(nums) + " pounds")
    return out


def make_spiece_model(
    directory: str | Path,
    vocab_size: int = 1000,
    max_lines: int | None = 4000,
    with_numbers: bool = True,
    **kwargs,
) -> Path:
    """Train (or reuse) ``<directory>/spiece.model`` on the corpus; extra kwargs go to ``train_sentencepiece``.

    With ``with_numbers`` (default) number lines are mixed in, so the model holds digit-comma pieces like ``▁9,``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model = directory / "spiece.model"
    if not model.is_file():
        lines = corpus_lines(max_lines) + (number_lines() if with_numbers else [])
        train_sentencepiece(lines, directory, vocab_size=vocab_size, **kwargs)
    return model


def make_tiny_spiece_model(directory: str | Path) -> Path:
    """A very small model (byte_fallback off, low character coverage) in which ``<unk>`` shows up often."""
    return make_spiece_model(directory, vocab_size=200, max_lines=300, with_numbers=False, character_coverage=0.98)
