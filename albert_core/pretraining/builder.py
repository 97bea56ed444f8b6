"""``build_pretraining_data``: text in, sharded, memory-mappable ALBERT pre-training examples out.

Reproducibility: every random choice for document ``d`` in duplication pass ``p`` comes from a generator seeded with
``(seed, p, d)``, and the shuffle inside shard ``k`` from ``(seed, k)``. Documents are handed to worker processes in
fixed-order tasks whose results are written in task order, so the files are byte-identical for any ``workers``.
Tokenization runs in the calling process, where the tokenizer's C++ batch encoder already uses every core; the
workers cut pairs and mask them.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import numbers
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from albert_core.errors import ConfigError, InputError
from albert_core.pretraining.documents import (
    TextInputs,
    TokenizedDocument,
    iter_document_texts,
    tokenize_documents,
    word_start_table,
)
from albert_core.pretraining.masking import PAIRS_STREAM, SHUFFLE_STREAM, MaskingRecipe
from albert_core.pretraining.pairs import NUM_SPECIAL_POSITIONS, PairLayout, assemble_pairs, plan_segment_pairs
from albert_core.pretraining.progress import Progress
from albert_core.pretraining.storage import (
    FORMAT_NAME,
    FORMAT_VERSION,
    INDEX_FILE,
    STORED_DTYPES,
    stored_fields,
    write_index,
    write_shard,
)

#: The original's default number of passes with static masks; dynamic masks are redrawn every epoch, so one pass.
DEFAULT_DUPE_FACTOR = 10
DEFAULT_EXAMPLES_PER_SHARD = 100_000
#: Documents per task handed to a worker; results do not depend on it.
DOCUMENTS_PER_TASK = 64


@dataclass(frozen=True)
class _Plan:
    """Everything a worker needs besides the documents (small and picklable)."""

    layout: PairLayout
    recipe: MaskingRecipe
    short_seq_prob: float
    seed: int
    dynamic_masking: bool


_worker_documents: list[TokenizedDocument] = []
_worker_plan: _Plan | None = None


def _init_worker(documents: list[TokenizedDocument], plan: _Plan) -> None:
    global _worker_documents, _worker_plan
    _worker_documents, _worker_plan = documents, plan


def _run_task(task: tuple[int, int, int]) -> tuple[dict[str, np.ndarray] | None, int]:
    """Pairs (and static masks) of documents ``start .. stop - 1`` in duplication pass ``dupe_pass``."""
    dupe_pass, start, stop = task
    plan = _worker_plan
    assert plan is not None, "worker not initialised"
    parts = []
    for doc_index in range(start, stop):
        document = _worker_documents[doc_index]
        rng = np.random.default_rng([plan.seed, PAIRS_STREAM, dupe_pass, doc_index])
        pairs = plan_segment_pairs(document, plan.layout.max_num_tokens, plan.short_seq_prob, rng)
        if not pairs:
            continue
        arrays = assemble_pairs(document, pairs, plan.layout)
        if not plan.dynamic_masking:
            labels = np.empty_like(arrays["input_ids"])
            for row in range(len(pairs)):
                masked = plan.recipe.mask(arrays["input_ids"][row], arrays["word_starts"][row].astype(bool), rng)
                arrays["input_ids"][row], labels[row] = masked.input_ids, masked.labels
            arrays["labels"] = labels
        parts.append({name: arrays[name] for name in stored_fields(plan.dynamic_masking)})
    if not parts:
        return None, stop - start
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}, stop - start


class _ShardWriter:
    """Collects rows in task order and writes every full shard (shuffled inside with its own seed)."""

    def __init__(self, directory: Path, examples_per_shard: int, seed: int) -> None:
        self.directory, self.examples_per_shard, self.seed = directory, examples_per_shard, seed
        self.pending: list[dict[str, np.ndarray]] = []
        self.pending_rows = 0
        self.shards: list[dict[str, Any]] = []
        self.statistics = {"num_examples": 0, "num_tokens": 0, "num_predictions": 0, "num_swapped": 0}

    def add(self, arrays: dict[str, np.ndarray] | None) -> None:
        if arrays is None:
            return
        self.pending.append(arrays)
        self.pending_rows += len(arrays["input_ids"])
        while self.pending_rows >= self.examples_per_shard:
            self._write(self.examples_per_shard)

    def finish(self) -> None:
        if self.pending_rows:
            self._write(self.pending_rows)

    def _write(self, count: int) -> None:
        merged = {name: np.concatenate([p[name] for p in self.pending]) for name in self.pending[0]}
        rest = {name: array[count:] for name, array in merged.items()}
        self.pending, self.pending_rows = ([rest] if len(rest["input_ids"]) else []), len(rest["input_ids"])
        shard = len(self.shards)
        order = np.random.default_rng([self.seed, SHUFFLE_STREAM, shard]).permutation(count)
        arrays = {name: array[:count][order] for name, array in merged.items()}
        self.shards.append(write_shard(self.directory, shard, arrays))
        self.statistics["num_examples"] += count
        self.statistics["num_tokens"] += int(arrays["attention_mask"].sum(dtype=np.int64))
        self.statistics["num_swapped"] += int(arrays["sentence_order_label"].sum(dtype=np.int64))
        if "labels" in arrays:
            self.statistics["num_predictions"] += int((arrays["labels"] != -100).sum())


def build_pretraining_data(
    inputs: TextInputs,
    out_dir: str | os.PathLike[str],
    tokenizer: Any,
    *,
    max_seq_length: int = 128,
    max_predictions_per_seq: int = 20,
    masked_lm_prob: float = 0.15,
    max_ngram: int = 3,
    short_seq_prob: float = 0.1,
    dupe_factor: int | None = None,
    seed: int = 12345,
    workers: int = 1,
    examples_per_shard: int = DEFAULT_EXAMPLES_PER_SHARD,
    dynamic_masking: bool = False,
    one_document_per_item: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Build ALBERT pre-training examples (sentence-order pairs with n-gram masks) and return the data directory.

    Args:
        inputs: a text file, a list of ``Path`` objects, or an iterable of strings (documents separated by blank
            lines, one sentence or line per line; see :func:`~albert_core.pretraining.documents.iter_document_texts`).
        out_dir: directory to write (created; it must be empty unless ``overwrite``).
        tokenizer: an :class:`~albert_core.tokenizer.AlbertTokenizer`.
        max_seq_length: tokens per example, [CLS] and two [SEP] included.
        max_predictions_per_seq, masked_lm_prob, max_ngram: the masking recipe (see
            :class:`~albert_core.pretraining.masking.MaskingRecipe`).
        short_seq_prob: share of pairs aimed at a random shorter length.
        dupe_factor: passes over the data, each with new pairs and masks (default 10, or 1 with dynamic masking).
        seed: the single seed of every random choice.
        workers: processes that build pairs and masks; the output does not depend on it.
        examples_per_shard: examples per shard file (the last shard holds the rest).
        dynamic_masking: store unmasked pairs; the reader masks them anew every epoch.
        one_document_per_item: with an iterable of strings, each item is a whole document.
        overwrite: replace the data in a non-empty ``out_dir``.
        progress: show progress on stderr.

    Raises:
        ~albert_core.ConfigError: a setting out of range (the message names it).
        ~albert_core.InputError: unusable ``inputs``, ``out_dir`` or ``tokenizer``.

    >>> import json, tempfile
    >>> from albert_core.tokenizer import AlbertTokenizer, train_sentencepiece
    >>> lines = ["the quick brown fox jumps over the lazy dog.", "pack my box with five dozen liquor jugs.", ""] * 30
    >>> tok = AlbertTokenizer(train_sentencepiece(lines, tempfile.mkdtemp(), vocab_size=60))
    >>> out = build_pretraining_data(lines, tempfile.mkdtemp(), tok, max_seq_length=32, dupe_factor=2, progress=False)
    >>> index = json.loads((out / "index.json").read_text())
    >>> (index["masking"], index["num_examples"] >= 30 * 2,  # >= 1 pair/document/pass
    ...  sorted(index["shards"][0]["files"])[:2])
    ('static', True, ['attention_mask', 'input_ids'])
    >>> build_pretraining_data(lines, tempfile.mkdtemp(), tok, max_ngram=0)
    Traceback (most recent call last):
    ...
    albert_core.errors.ConfigError: max_ngram must be an integer >= 1, got 0
    """
    _check_int("max_seq_length", max_seq_length, NUM_SPECIAL_POSITIONS + 2)
    _check_int("max_predictions_per_seq", max_predictions_per_seq, 1)
    _check_probability("masked_lm_prob", masked_lm_prob, allow_zero=False)
    _check_int("max_ngram", max_ngram, 1)
    _check_probability("short_seq_prob", short_seq_prob, allow_zero=True)
    if dupe_factor is None:
        dupe_factor = 1 if dynamic_masking else DEFAULT_DUPE_FACTOR
    _check_int("dupe_factor", dupe_factor, 1)
    _check_int("seed", seed, 0)
    _check_int("workers", workers, 1)
    _check_int("examples_per_shard", examples_per_shard, 1)
    vocabulary = _vocabulary(tokenizer)
    out = _prepare_out_dir(out_dir, overwrite)

    starts_word = word_start_table(tokenizer)
    documents = list(tokenize_documents(iter_document_texts(inputs, one_document_per_item), tokenizer, starts_word))
    if not documents:
        raise InputError("inputs: no document holds any text")
    layout = PairLayout(max_seq_length, vocabulary["cls_token_id"], vocabulary["sep_token_id"],
                        vocabulary["pad_token_id"])
    excluded = set(vocabulary["special_ids"])
    recipe = MaskingRecipe(
        mask_token_id=vocabulary["mask_token_id"],
        replacement_ids=np.array([i for i in range(vocabulary["size"]) if i not in excluded], dtype=np.int32),
        unmaskable_ids=tuple(vocabulary["unmaskable_ids"]), masked_lm_prob=float(masked_lm_prob),
        max_predictions_per_seq=max_predictions_per_seq, max_ngram=max_ngram,
    )
    plan = _Plan(layout, recipe, float(short_seq_prob), seed, bool(dynamic_masking))
    tasks = [(dupe_pass, start, min(start + DOCUMENTS_PER_TASK, len(documents)))
             for dupe_pass in range(dupe_factor) for start in range(0, len(documents), DOCUMENTS_PER_TASK)]
    writer = _ShardWriter(out, examples_per_shard, seed)
    with Progress(len(documents) * dupe_factor, "pretrain-data documents", enabled=progress) as bar:
        for arrays, done in _run_tasks(tasks, documents, plan, workers):
            writer.add(arrays)
            bar.update(done)
    writer.finish()
    if not writer.shards:
        raise InputError("inputs: no document is long enough for a segment pair (two tokens)")

    fields = stored_fields(dynamic_masking)
    settings = dict(max_seq_length=max_seq_length, max_predictions_per_seq=max_predictions_per_seq,
                    masked_lm_prob=float(masked_lm_prob), max_ngram=max_ngram, short_seq_prob=float(short_seq_prob),
                    dupe_factor=dupe_factor, seed=seed, examples_per_shard=examples_per_shard,
                    dynamic_masking=bool(dynamic_masking), one_document_per_item=bool(one_document_per_item))
    index = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "masking": "dynamic" if dynamic_masking else "static",
        "num_examples": writer.statistics["num_examples"],
        "fields": {name: {"dtype": STORED_DTYPES[name],
                          "shape": [] if name == "sentence_order_label" else [max_seq_length]} for name in fields},
        "shards": writer.shards,
        "settings": settings,
        "vocabulary": vocabulary,
        "statistics": {**writer.statistics, "num_documents": len(documents)},
    }
    write_index(out, index)
    return out


def _run_tasks(tasks: list[tuple[int, int, int]], documents: list[TokenizedDocument], plan: _Plan,
               workers: int) -> Iterator[tuple[dict[str, np.ndarray] | None, int]]:
    if workers == 1 or len(tasks) == 1:
        _init_worker(documents, plan)
        try:
            yield from map(_run_task, tasks)
        finally:
            _init_worker([], None)  # type: ignore[arg-type]
        return
    # fork hands the documents over without pickling; other start methods pickle them once per worker
    with multiprocessing.get_context().Pool(min(workers, len(tasks)), initializer=_init_worker,
                                            initargs=(documents, plan)) as pool:
        yield from pool.imap(_run_task, tasks)


def _vocabulary(tokenizer: Any) -> dict[str, Any]:
    names = ("cls_token_id", "sep_token_id", "pad_token_id", "mask_token_id")
    try:
        ids = {name: getattr(tokenizer, name) for name in names}
        size = len(tokenizer)
        special = sorted(set(tokenizer.all_special_ids))
    except (AttributeError, TypeError) as exc:
        raise InputError(f"tokenizer: expected an AlbertTokenizer, got {type(tokenizer).__name__} ({exc})") from exc
    missing = [name for name, value in ids.items() if value is None]
    if missing:
        raise InputError(f"tokenizer: has no {', '.join(missing)}")
    vocabulary: dict[str, Any] = {**{k: int(v) for k, v in ids.items()}, "size": int(size), "special_ids": special,
                                  "unmaskable_ids": sorted({int(v) for v in ids.values()})}
    vocab_file = getattr(tokenizer, "vocab_file", None)
    if vocab_file and Path(vocab_file).is_file():
        # identifies the SentencePiece model without recording where it lived
        vocabulary["spm_sha256"] = hashlib.sha256(Path(vocab_file).read_bytes()).hexdigest()
    return vocabulary


def _prepare_out_dir(out_dir: str | os.PathLike[str], overwrite: bool) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"out_dir: {out} is a file, not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise InputError(f"out_dir: {out} is not empty (pass overwrite=True to replace the data in it)")
        # the index goes first, so a directory caught half-rewritten reads as incomplete rather than as mixed data
        (out / INDEX_FILE).unlink(missing_ok=True)
        for old in out.glob("shard-*.npy"):
            old.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return out


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_probability(name: str, value: Any, allow_zero: bool) -> None:
    low = "0 <=" if allow_zero else "0 <"
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0.0 <= value <= 1.0)
            or (value == 0 and not allow_zero)):
        raise ConfigError(f"{name} must be a number with {low} {name} <= 1, got {value!r}")


def documents_of(inputs: TextInputs, tokenizer: Any,
                 one_document_per_item: bool = False) -> Iterable[TokenizedDocument]:
    """Tokenized documents of ``inputs`` exactly as the builder sees them (handy for inspecting a corpus)."""
    return tokenize_documents(iter_document_texts(inputs, one_document_per_item), tokenizer,
                              word_start_table(tokenizer))
