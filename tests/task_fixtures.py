"""Shared, cached set-up of the task tests (tests/test_tasks_*.py): one SentencePiece model on the corpus, our
tokenizer on it, and transformers' slow and fast tokenizers on the same file (the fast one converted from it)."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from albert_core import AlbertTokenizer
from spm_fixtures import corpus_lines, make_spiece_model


@functools.lru_cache(maxsize=None)
def spiece_path() -> Path:
    """A 1000-piece model trained once per test session."""
    return make_spiece_model(Path(tempfile.mkdtemp(prefix="tasks_spm_")), vocab_size=1000, with_numbers=False)


@functools.lru_cache(maxsize=None)
def ours() -> AlbertTokenizer:
    return AlbertTokenizer(str(spiece_path()))


@functools.lru_cache(maxsize=None)
def hf_fast():
    import transformers

    directory = Path(tempfile.mkdtemp(prefix="tasks_hf_"))
    transformers.AlbertTokenizer(str(spiece_path())).save_pretrained(directory)
    return transformers.AlbertTokenizerFast.from_pretrained(directory)


def agreeing(texts, *, minimum: int = 1) -> list[str]:
    """The texts on which the fast tokenizer gives our (slow) ids: the only texts where it can serve as an oracle."""
    fast, tok = hf_fast(), ours()
    kept = [t for t in texts
            if fast(t, add_special_tokens=False)["input_ids"] == tok.encode(t, add_special_tokens=False)]
    assert len(kept) >= minimum, f"only {len(kept)} of {len(texts)} texts tokenize alike in fast and slow"
    return kept


def paragraphs(count: int, lines_per: int, start: int = 0) -> list[str]:
    """Paragraphs of consecutive corpus lines, joined by spaces."""
    lines = corpus_lines(4000)[start:]
    return [" ".join(lines[i * lines_per:(i + 1) * lines_per]) for i in range(count)]
