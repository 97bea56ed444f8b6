"""The framework-free half of ALBERT pre-training, shared by :mod:`albert_pt.pretraining` and
:mod:`albert_tf.pretraining` (numpy only).

* :class:`TrainingConfig`: every setting of a run, validated and JSON-ready;
* the data order: :func:`example_order`, :func:`batches_for`, :func:`worker_indices`, :func:`read_batch`. The data
  position of a run is just its update step, and one worker or ``n`` workers see the same global batch;
* the loss normalisation: the MLM loss of an update is the sum of its token cross-entropies divided by the number of
  masked tokens in the *global* batch (:func:`masked_token_count`), the SOP loss the sum over examples divided by the
  global batch size. Each worker and micro-batch adds its share, so the gradient does not depend on how the global
  batch is split (the original ALBERT averages per TPU core instead, which weights tokens slightly differently);
* trainer checkpoints (``OUT/checkpoint-STEP/``): :func:`save_trainer_checkpoint`, :func:`load_trainer_checkpoint`,
  :func:`latest_checkpoint`. Optimizer slots are stored by canonical name (``<name>/m``, ``<name>/v``, PyTorch
  layout, float32), so either backend resumes the other's run;
* metrics and history: :func:`mlm_accuracy`, :func:`sop_accuracy`, :class:`History`, :func:`write_history_csv`,
  :func:`plot_history`; :class:`TrainingProgress` (tqdm when installed, else a line on stderr).

>>> batches_for(0, global_batch_size=4, num_examples=10, seed=0).tolist() == example_order(10, 0, 0)[:4].tolist()
True
>>> worker_indices(np.arange(8), rank=1, world_size=2).tolist()
[1, 3, 5, 7]
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import json
import math
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from .errors import CheckpointError, ConfigError, InputError

#: ``trainer_state.json``'s ``format`` and ``version``.
TRAINER_FORMAT = "albert-lite-trainer"
TRAINER_VERSION = 1
#: File names inside a checkpoint directory (the model files come from the backend's ``save_pretrained``).
TRAINER_STATE_FILE = "trainer_state.json"
OPTIMIZER_SLOTS_FILE = "optimizer.safetensors"
#: File names in the output directory.
HISTORY_CSV_FILE = "history.csv"
HISTORY_PLOT_FILE = "history.png"
CHECKPOINT_PREFIX = "checkpoint-"
#: Suffixes of the optimizer slots: ``<canonical name>/m`` (first moment), ``<canonical name>/v`` (second moment).
SLOT_SUFFIXES = ("m", "v")

BACKENDS = ("pt", "tf")
OPTIMIZERS = ("lamb", "adamw")
#: Columns of the history, in order; a missing value is written as an empty cell.
HISTORY_COLUMNS = ("step", "learning_rate", "loss", "mlm_loss", "sop_loss", "eval_mlm_accuracy",
                   "eval_sop_accuracy", "examples_per_second", "elapsed_seconds")
IGNORE_INDEX = -100

_CHECKPOINT_RE = re.compile(rf"^{re.escape(CHECKPOINT_PREFIX)}(\d+)$")


# ---------------------------------------------------------------------------------------------- configuration


#: ``gemm`` of a training configuration: PyTorch's default GEMM, oneDNN's (packed weights), or the faster of the
#: two per linear shape, measured (``albert_pt.kernels``)
TRAINING_GEMMS = ("default", "onednn", "auto")


def check_training_gemm(gemm: Any, backend: str) -> str:
    """Check a training configuration's ``gemm``: one of :data:`TRAINING_GEMMS`, and ``"default"`` for the
    TensorFlow backend (whose matmuls already run on oneDNN); return it.

    ``"auto"`` times both kernels per linear shape on this machine (forward and backward) before the first step and
    keeps the faster; bit-exact resumption then needs the same decisions, which a cache file
    (``ALBERT_LITE_GEMM_CACHE``) keeps across processes on one machine.

    >>> check_training_gemm("auto", "pt")
    'auto'
    >>> check_training_gemm("onednn", "tf")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    albert_core.errors.ConfigError: gemm picks PyTorch's GEMM kernel; ... use gemm='default' with the tf backend
    """
    if gemm not in TRAINING_GEMMS:
        raise ConfigError(f"gemm must be one of {TRAINING_GEMMS}, got {gemm!r}")
    if backend == "tf" and gemm != "default":
        raise ConfigError("gemm picks PyTorch's GEMM kernel; TensorFlow runs its matmuls on oneDNN already: "
                          "use gemm='default' with the tf backend")
    return gemm


@dataclass
class TrainingConfig:
    """Every setting of a pre-training run; ``validate()`` raises :class:`~albert_core.ConfigError` naming the field.

    The optimisation defaults are ALBERT's recipe (arXiv:1909.11942 §4.1: LAMB, peak learning rate 0.00176, 3125
    warm-up steps, 125k updates, batch 4096); set ``global_batch_size``/``accumulation_steps`` to fit your hardware.
    ``model_config`` is a ``config.json`` path, a checkpoint directory, or a preset name (``"albert-base-v2"``).
    ``resume`` is ``"auto"`` (the latest checkpoint in ``out``, if any), ``"none"``, or a checkpoint directory.
    ``gemm`` picks PyTorch's GEMM kernel for training (:func:`check_training_gemm`).

    >>> config = TrainingConfig(data="data", out="run", model_config="albert-base-v2", global_batch_size=8)
    >>> TrainingConfig.from_dict(config.to_dict()) == config
    True
    >>> TrainingConfig(data="d", out="o", model_config="c", global_batch_size=6, accumulation_steps=4).validate()
    Traceback (most recent call last):
    ...
    albert_core.errors.ConfigError: global_batch_size (6) must be a multiple of accumulation_steps (4) x workers (1)
    """

    data: str
    out: str
    model_config: str
    heldout: str | None = None
    backend: str = "pt"
    optimizer: str = "lamb"
    learning_rate: float = 0.00176
    warmup_steps: int = 3125
    total_steps: int = 125_000
    global_batch_size: int = 4096
    accumulation_steps: int = 1
    weight_decay: float = 0.01
    clip_norm: float | None = 1.0
    eval_every: int = 1000
    save_every: int = 1000
    seed: int = 12345
    bf16: bool = False
    max_eval_examples: int | None = 10_000
    # additions beyond the first spec: all optional, defaults keep the behaviour above
    resume: str = "auto"
    keep_checkpoints: int = 3
    log_every: int = 10
    quiet: bool = False
    fsdp: bool = False
    #: End this invocation after this update step, with a checkpoint, without changing the schedule (for
    #: time-sliced jobs, and to test that resuming is exact).
    stop_at_step: int | None = None
    gemm: str = "default"

    def validate(self, world_size: int = 1) -> "TrainingConfig":
        """Check every field (and that the global batch splits evenly over ``world_size`` workers); return self."""
        for name in ("data", "out", "model_config"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ConfigError(f"{name} must be a non-empty string, got {getattr(self, name)!r}")
        if self.heldout is not None and (not isinstance(self.heldout, str) or not self.heldout):
            raise ConfigError(f"heldout must be a non-empty string or None, got {self.heldout!r}")
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        _check_float("learning_rate", self.learning_rate, minimum=0.0)
        _check_float("weight_decay", self.weight_decay, minimum=0.0)
        if self.clip_norm is not None and _check_float("clip_norm", self.clip_norm, minimum=0.0) == 0.0:
            raise ConfigError("clip_norm must be > 0, or None for no clipping")
        _check_integer("total_steps", self.total_steps, 1)
        _check_integer("warmup_steps", self.warmup_steps, 0)
        if self.warmup_steps > self.total_steps:
            raise ConfigError(f"warmup_steps ({self.warmup_steps}) must not exceed total_steps ({self.total_steps})")
        _check_integer("global_batch_size", self.global_batch_size, 1)
        _check_integer("accumulation_steps", self.accumulation_steps, 1)
        _check_integer("world_size", world_size, 1)
        if self.global_batch_size % (self.accumulation_steps * world_size):
            raise ConfigError(f"global_batch_size ({self.global_batch_size}) must be a multiple of accumulation_steps "
                              f"({self.accumulation_steps}) x workers ({world_size})")
        _check_integer("eval_every", self.eval_every, 0)
        _check_integer("save_every", self.save_every, 0)
        _check_integer("seed", self.seed, 0)
        if not isinstance(self.bf16, bool):
            raise ConfigError(f"bf16 must be true or false, got {self.bf16!r}")
        if self.max_eval_examples is not None:
            _check_integer("max_eval_examples", self.max_eval_examples, 1)
        if not isinstance(self.resume, str) or not self.resume:
            raise ConfigError(f"resume must be 'auto', 'none' or a checkpoint directory, got {self.resume!r}")
        _check_integer("keep_checkpoints", self.keep_checkpoints, 1)
        _check_integer("log_every", self.log_every, 1)
        if not isinstance(self.quiet, bool):
            raise ConfigError(f"quiet must be true or false, got {self.quiet!r}")
        if not isinstance(self.fsdp, bool):
            raise ConfigError(f"fsdp must be true or false, got {self.fsdp!r}")
        if self.stop_at_step is not None:
            _check_integer("stop_at_step", self.stop_at_step, 1)
        if self.fsdp and self.backend != "pt":
            raise ConfigError("fsdp is a PyTorch option; the TensorFlow backend shards with tf.distribute")
        check_training_gemm(self.gemm, self.backend)
        if self.fsdp and self.gemm != "default":
            raise ConfigError("gemm: the oneDNN training kernels run on whole weights, not on FSDP's shards; "
                              "use gemm='default' with fsdp")
        return self

    @property
    def micro_batch_size(self) -> int:
        """Examples per forward pass on one worker, for ``world_size`` 1 (see :meth:`micro_batch_size_for`)."""
        return self.micro_batch_size_for(1)

    def micro_batch_size_for(self, world_size: int) -> int:
        """Examples per forward pass on each of ``world_size`` workers."""
        return self.global_batch_size // (self.accumulation_steps * world_size)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainingConfig":
        """Build from :meth:`to_dict` output; unknown keys raise :class:`~albert_core.ConfigError`."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown TrainingConfig fields: {', '.join(unknown)}")
        try:
            return cls(**dict(data))
        except TypeError as exc:  # a required field is missing
            raise ConfigError(f"TrainingConfig: {exc}") from None


def _check_float(name: str, value: object, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(float(value)) or float(value) < minimum:
        raise ConfigError(f"{name} must be a finite number >= {minimum}, got {value!r}")
    return float(value)


def _check_integer(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def load_model_config(spec: str | os.PathLike[str]) -> Any:
    """The :class:`~albert_core.AlbertConfig` named by ``spec``: a JSON file, a checkpoint directory or a preset.

    >>> load_model_config("albert-base-v2").hidden_size
    768
    """
    from .config import PRESETS, AlbertConfig

    path = Path(spec)
    if path.is_file():
        return AlbertConfig.from_json_file(path)
    if path.is_dir():
        return AlbertConfig.from_pretrained(path)
    if str(spec).split("/")[-1] in PRESETS:
        return AlbertConfig.from_preset(str(spec))
    raise ConfigError(f"model_config: {spec!r} is neither a config JSON file, a checkpoint directory nor a preset "
                      f"({', '.join(sorted(PRESETS))})")


def check_data_fits_model(index: Mapping[str, Any], model_config: Any, name: str = "data") -> None:
    """Raise :class:`~albert_core.ConfigError` when the data's token ids or length do not fit the model."""
    vocabulary = index.get("vocabulary", {})
    size = vocabulary.get("size") if isinstance(vocabulary, Mapping) else None
    if size is not None and int(size) > model_config.vocab_size:
        raise ConfigError(f"{name}: its tokenizer has {size} pieces but the model's vocab_size is "
                          f"{model_config.vocab_size}")
    length = index.get("settings", {}).get("max_seq_length")
    if length is not None and int(length) > model_config.max_position_embeddings:
        raise ConfigError(f"{name}: max_seq_length {length} exceeds the model's max_position_embeddings "
                          f"{model_config.max_position_embeddings}")


# ---------------------------------------------------------------------------------------------- data order


def example_order(num_examples: int, seed: int, epoch: int) -> np.ndarray:
    """The permutation of ``range(num_examples)`` that epoch ``epoch`` of every backend follows.

    >>> example_order(5, seed=1, epoch=0).tolist() == example_order(5, seed=1, epoch=0).tolist()
    True
    >>> sorted(example_order(5, seed=1, epoch=3).tolist())
    [0, 1, 2, 3, 4]
    """
    _check_integer("num_examples", num_examples, 1)
    return np.random.default_rng((int(seed), int(epoch))).permutation(int(num_examples))


def batch_positions(step: int, global_batch_size: int, num_examples: int) -> tuple[np.ndarray, np.ndarray]:
    """``(epochs, offsets)`` of the examples of 0-based update ``step`` in the endless sequence of epochs.

    >>> [a.tolist() for a in batch_positions(2, global_batch_size=4, num_examples=10)]
    [[0, 0, 1, 1], [8, 9, 0, 1]]
    """
    _check_integer("step", step, 0)
    _check_integer("global_batch_size", global_batch_size, 1)
    _check_integer("num_examples", num_examples, 1)
    positions = np.arange(step * global_batch_size, (step + 1) * global_batch_size, dtype=np.int64)
    return positions // num_examples, positions % num_examples


def batches_for(step: int, global_batch_size: int, num_examples: int, seed: int) -> np.ndarray:
    """The example indices of 0-based global update ``step``; epochs roll over deterministically.

    >>> first_epoch = example_order(6, seed=3, epoch=0)
    >>> np.concatenate([batches_for(s, 2, 6, seed=3) for s in range(3)]).tolist() == first_epoch.tolist()
    True
    """
    epochs, offsets = batch_positions(step, global_batch_size, num_examples)
    indices = np.empty_like(offsets)
    for epoch in np.unique(epochs):
        chosen = epochs == epoch
        indices[chosen] = example_order(num_examples, seed, int(epoch))[offsets[chosen]]
    return indices


def worker_indices(global_indices: np.ndarray, rank: int, world_size: int) -> np.ndarray:
    """Worker ``rank`` of ``world_size`` takes ``global_indices[rank::world_size]``."""
    if world_size < 1 or not 0 <= rank < world_size:
        raise ConfigError(f"rank {rank} must be in [0, world_size={world_size})")
    if len(global_indices) % world_size:
        raise ConfigError(f"a batch of {len(global_indices)} does not split evenly over {world_size} workers")
    return np.asarray(global_indices)[rank::world_size]


def micro_batches(indices: np.ndarray, accumulation_steps: int) -> list[np.ndarray]:
    """Split one worker's indices into ``accumulation_steps`` equal, consecutive micro-batches.

    >>> [b.tolist() for b in micro_batches(np.arange(4), 2)]
    [[0, 1], [2, 3]]
    """
    if accumulation_steps < 1 or len(indices) % accumulation_steps:
        raise ConfigError(f"{len(indices)} examples do not split into {accumulation_steps} equal micro-batches")
    return np.split(np.asarray(indices), accumulation_steps)


def read_batch(dataset: Any, indices: Sequence[int], epochs: Sequence[int] | None = None) -> dict[str, np.ndarray]:
    """Stack ``dataset[i]`` for ``indices`` into int64 arrays; ``epochs`` selects dynamic masks per example.

    ``dataset`` is a :class:`~albert_core.pretraining.storage.PretrainingDataset` (or anything indexable giving dicts).
    """
    rows = []
    for position, index in enumerate(indices):
        if epochs is not None and hasattr(dataset, "set_epoch"):
            dataset.set_epoch(int(epochs[position]))
        rows.append(dataset[int(index)])
    if not rows:
        raise InputError("read_batch needs at least one index")
    return {name: np.stack([np.asarray(row[name], dtype=np.int64) for row in rows]) for name in rows[0]}


def global_batch(dataset: Any, step: int, global_batch_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(indices, epochs)`` of update ``step`` over ``dataset`` (the epochs pick the dynamic masks)."""
    epochs, _ = batch_positions(step, global_batch_size, len(dataset))
    return batches_for(step, global_batch_size, len(dataset), seed), epochs


def masked_token_count(labels: np.ndarray) -> int:
    """The number of MLM targets (labels != -100): the divisor of an update's MLM loss, over the global batch.

    >>> masked_token_count(np.array([[5, -100, 7], [-100, -100, 2]]))
    3
    """
    return int(np.count_nonzero(np.asarray(labels) != IGNORE_INDEX))


def step_seed(seed: int, step: int, rank: int = 0, micro_batch: int = 0) -> int:
    """A 31-bit seed for the dropout of one micro-batch: runs re-seed from it, so resuming needs no RNG state.

    >>> step_seed(1, 2) == step_seed(1, 2), step_seed(1, 2) != step_seed(1, 3)
    (True, True)
    """
    entropy = (int(seed), int(step), int(rank), int(micro_batch))
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint32)[0] >> 1)


# ---------------------------------------------------------------------------------------------- metrics


def mlm_correct(prediction_logits: np.ndarray, labels: np.ndarray) -> tuple[int, int]:
    """``(correct, counted)`` argmax predictions over the positions with ``labels != -100``."""
    labels = np.asarray(labels)
    chosen = labels != IGNORE_INDEX
    predicted = np.asarray(prediction_logits).argmax(axis=-1)
    return int(np.count_nonzero(predicted[chosen] == labels[chosen])), int(np.count_nonzero(chosen))


def mlm_accuracy(prediction_logits: np.ndarray, labels: np.ndarray) -> float:
    """Share of masked positions (``labels != -100``) whose argmax is the label; NaN when nothing is masked.

    >>> logits = np.array([[[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]])
    >>> mlm_accuracy(logits, np.array([[1, -100, 0]]))
    0.5
    """
    correct, counted = mlm_correct(prediction_logits, labels)
    return correct / counted if counted else float("nan")


def sop_correct(sop_logits: np.ndarray, sentence_order_label: np.ndarray) -> tuple[int, int]:
    """``(correct, counted)`` sentence-order predictions (labels of -100 are skipped)."""
    labels = np.asarray(sentence_order_label).reshape(-1)
    chosen = labels != IGNORE_INDEX
    predicted = np.asarray(sop_logits).reshape(len(labels), -1).argmax(axis=-1)
    return int(np.count_nonzero(predicted[chosen] == labels[chosen])), int(np.count_nonzero(chosen))


def sop_accuracy(sop_logits: np.ndarray, sentence_order_label: np.ndarray) -> float:
    """Share of examples whose sentence-order argmax is the label.

    >>> sop_accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0]))
    0.5
    """
    correct, counted = sop_correct(sop_logits, sentence_order_label)
    return correct / counted if counted else float("nan")


# ---------------------------------------------------------------------------------------------- history


class History:
    """Rows of a run's ``columns`` (a missing value is ``None``), kept in checkpoints and written as CSV.

    Pre-training records :data:`HISTORY_COLUMNS`; fine-tuning its own, shorter list
    (:data:`~albert_core.finetuning.run.FINETUNE_HISTORY_COLUMNS`).

    >>> history = History()
    >>> history.append(step=1, learning_rate=0.1, loss=2.5)
    >>> history.rows[0]["loss"], history.rows[0]["eval_mlm_accuracy"]
    (2.5, None)
    >>> History(columns=("step", "loss")).append(step=1, mlm_loss=2.0)
    Traceback (most recent call last):
    ...
    albert_core.errors.ConfigError: unknown history columns: mlm_loss (this history records step, loss)
    """

    def __init__(self, rows: Iterable[Mapping[str, Any]] = (), columns: Sequence[str] = HISTORY_COLUMNS) -> None:
        if "step" not in columns or len(set(columns)) != len(columns):
            raise ConfigError(f"history columns must be distinct and include 'step', got {list(columns)}")
        self.columns: tuple[str, ...] = tuple(columns)
        self.rows: list[dict[str, Any]] = [self._row(row) for row in rows]

    def _row(self, values: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(values) - set(self.columns)
        if unknown:
            raise ConfigError(f"unknown history columns: {', '.join(sorted(unknown))} "
                              f"(this history records {', '.join(self.columns)})")
        return {column: values.get(column) for column in self.columns}

    def append(self, **values: Any) -> None:
        """Add one row; values are converted to plain Python numbers for JSON."""
        self.rows.append(self._row({k: _plain(v) for k, v in values.items()}))

    def truncate(self, step: int) -> None:
        """Drop rows after ``step`` (a resumed run rewrites what came after its checkpoint)."""
        self.rows = [row for row in self.rows if row["step"] is None or row["step"] <= step]

    @property
    def elapsed(self) -> float:
        """The last recorded ``elapsed_seconds`` (0 when none)."""
        for row in reversed(self.rows):
            if row.get("elapsed_seconds") is not None:
                return float(row["elapsed_seconds"])
        return 0.0

    def __len__(self) -> int:
        return len(self.rows)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    return None if math.isnan(value) else value


def write_history_csv(rows: Iterable[Mapping[str, Any]] | History, path: str | os.PathLike[str]) -> Path:
    """Write history rows as CSV (atomically); return the path. The header is a :class:`History`'s columns, or
    :data:`HISTORY_COLUMNS` for plain rows."""
    from .io_utils import atomic_file

    columns = rows.columns if isinstance(rows, History) else HISTORY_COLUMNS
    rows = rows.rows if isinstance(rows, History) else list(rows)
    path = Path(path)
    with atomic_file(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    return path


def read_history_csv(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read :func:`write_history_csv` output back (numbers as float/int, empty cells as ``None``)."""
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        for raw in csv.DictReader(handle):
            row: dict[str, Any] = {}
            for key, text in raw.items():
                row[key] = None if text == "" else (int(text) if key == "step" else float(text))
            rows.append(row)
    return rows


def plot_history(rows: Iterable[Mapping[str, Any]] | History, path: str | os.PathLike[str],
                 verbose: bool = True) -> Path | None:
    """Plot the loss and eval-accuracy curves to ``path`` (PNG); returns ``None`` (with a note on stderr unless
    ``verbose`` is false) when matplotlib is not installed: the plot is a convenience, the CSV has the numbers."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed; must precede pyplot
        import matplotlib.pyplot as plt
    except ImportError:
        if verbose:
            print("note: matplotlib is not installed; skipping the history plot (the CSV has the numbers)",
                  file=sys.stderr)
        return None
    rows = rows.rows if isinstance(rows, History) else list(rows)
    path = Path(path)
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(10, 4))
    for column in ("loss", "mlm_loss", "sop_loss"):
        points = [(r["step"], r[column]) for r in rows if r.get(column) is not None]
        if points:
            loss_axes.plot(*zip(*points), label=column)
    loss_axes.set(xlabel="update step", ylabel="training loss")
    if loss_axes.lines:
        loss_axes.legend()
    for column in ("eval_mlm_accuracy", "eval_sop_accuracy"):
        points = [(r["step"], r[column]) for r in rows if r.get(column) is not None]
        if points:
            accuracy_axes.plot(*zip(*points), marker="o", label=column)
    accuracy_axes.set(xlabel="update step", ylabel="held-out accuracy", ylim=(0, 1))
    if accuracy_axes.lines:  # runs without evaluation have nothing to label
        accuracy_axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


# ---------------------------------------------------------------------------------------------- progress


class TrainingProgress:
    """Progress over update steps: a tqdm bar when installed, else a line on stderr every ``every`` steps.

    >>> with TrainingProgress(total=4, initial=0, enabled=False) as progress:
    ...     progress.update(1, loss=2.0)
    """

    def __init__(self, total: int, initial: int = 0, enabled: bool = True, every: int = 10,
                 description: str = "pretrain") -> None:
        self.total, self.step, self.enabled, self.every = total, initial, enabled, max(1, every)
        self.description = description
        self._bar: Any = None
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total, initial=initial, desc=description, unit="step", file=sys.stderr,
                                 dynamic_ncols=True)

    def update(self, steps: int = 1, **metrics: float) -> None:
        """Advance by ``steps`` updates, showing ``metrics`` (loss, lr, ...)."""
        self.step += steps
        if not self.enabled:
            return
        shown = {k: f"{v:.4g}" for k, v in metrics.items() if v is not None}
        if self._bar is not None:
            if shown:  # before update(), which redraws: the bar then shows this step's numbers
                self._bar.set_postfix(shown, refresh=False)
            self._bar.update(steps)
        elif self.step % self.every == 0 or self.step == self.total:
            text = " ".join(f"{k}={v}" for k, v in shown.items())
            print(f"{self.description}: step {self.step}/{self.total} {text}", file=sys.stderr, flush=True)

    def write(self, message: str) -> None:
        """Print a message without breaking the bar."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.write(message, file=sys.stderr)
        else:
            print(message, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> "TrainingProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------- checkpoints


@dataclass
class TrainerState:
    """The content of ``trainer_state.json`` (see :func:`save_trainer_checkpoint`)."""

    step: int
    backend: str
    config: TrainingConfig
    optimizer: dict[str, Any]
    rng_state: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    format: str = TRAINER_FORMAT
    version: int = TRAINER_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "version": self.version, "step": self.step, "backend": self.backend,
                "config": self.config.to_dict(), "optimizer": self.optimizer, "rng_state": self.rng_state,
                "history": self.history}


def checkpoint_name(step: int) -> str:
    """``checkpoint-STEP``, the directory name of the checkpoint after update ``step``."""
    return f"{CHECKPOINT_PREFIX}{int(step)}"


def list_checkpoints(out: str | os.PathLike[str]) -> list[tuple[int, Path]]:
    """``(step, path)`` of every complete checkpoint in ``out`` (it has a ``trainer_state.json``), by step."""
    out = Path(out)
    if not out.is_dir():
        return []
    found = []
    for child in out.iterdir():
        match = _CHECKPOINT_RE.match(child.name)
        if match and child.is_dir() and (child / TRAINER_STATE_FILE).is_file():
            found.append((int(match.group(1)), child))
    return sorted(found)


def latest_checkpoint(out: str | os.PathLike[str]) -> Path | None:
    """The checkpoint with the highest step in ``out``, or ``None``.

    >>> latest_checkpoint(tempfile.mkdtemp()) is None
    True
    """
    checkpoints = list_checkpoints(out)
    return checkpoints[-1][1] if checkpoints else None


def save_trainer_checkpoint(
    out: str | os.PathLike[str],
    step: int,
    *,
    config: TrainingConfig,
    backend: str,
    optimizer: Mapping[str, Any],
    model_writer: Callable[[Path], Any],
    optimizer_slots: Mapping[str, np.ndarray],
    rng_state: Mapping[str, Any] | None = None,
    history: Iterable[Mapping[str, Any]] | History = (),
    keep: int | None = None,
) -> Path:
    """Write ``out/checkpoint-STEP/`` atomically (staging directory + rename) and keep the last ``keep`` ones.

    Args:
        out: the run's output directory.
        step: updates done so far.
        config: the run's settings (stored so a resume can check and reuse them).
        backend: ``"pt"`` or ``"tf"``, the writer.
        optimizer: the optimiser's ``name`` and hyper-parameters.
        model_writer: called with the staging directory; writes ``config.json`` and ``model.safetensors``
            (the backend's ``save_pretrained``).
        optimizer_slots: ``<canonical name>/m`` and ``/v`` arrays in PyTorch layout (stored as float32).
        rng_state: JSON-ready state only the same backend reads back.
        history: the rows so far.
        keep: checkpoints to keep (default ``config.keep_checkpoints``); older ones are deleted.

    >>> import numpy as np, tempfile
    >>> cfg = TrainingConfig(data="d", out="o", model_config="c")
    >>> out = tempfile.mkdtemp()
    >>> path = save_trainer_checkpoint(out, 3, config=cfg, backend="pt", optimizer={"name": "lamb"},
    ...     model_writer=lambda d: None, optimizer_slots={"w/m": np.zeros(2), "w/v": np.ones(2)})
    >>> path.name, load_trainer_checkpoint(path)[0].step, sorted(load_trainer_checkpoint(path)[1])
    ('checkpoint-3', 3, ['w/m', 'w/v'])
    """
    from .checkpoints.safetensors import write_safetensors
    from .io_utils import give_default_permissions

    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {BACKENDS}, got {backend!r}")
    for name in optimizer_slots:
        if not name.endswith(tuple(f"/{s}" for s in SLOT_SUFFIXES)):
            raise CheckpointError(f"optimizer slot {name!r} must end with /m or /v")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    final = out / checkpoint_name(step)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".staging", dir=out))
    try:
        model_writer(staging)
        write_safetensors(staging / OPTIMIZER_SLOTS_FILE,
                          {k: np.asarray(v, dtype=np.float32) for k, v in optimizer_slots.items()},
                          metadata={"format": TRAINER_FORMAT, "layout": "canonical-pytorch"})
        rows = history.rows if isinstance(history, History) else [dict(r) for r in history]
        state = TrainerState(step=int(step), backend=backend, config=config, optimizer=dict(optimizer),
                             rng_state=dict(rng_state or {}), history=rows)
        (staging / TRAINER_STATE_FILE).write_text(json.dumps(state.to_dict(), indent=1) + "\n", encoding="utf-8")
        give_default_permissions(staging)
        if final.exists():  # a re-run of the same step: the new one replaces it
            shutil.rmtree(final)
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    keep = config.keep_checkpoints if keep is None else keep
    for _, old in list_checkpoints(out)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_trainer_checkpoint(directory: str | os.PathLike[str]) -> tuple[TrainerState, dict[str, np.ndarray]]:
    """Read ``trainer_state.json`` and the optimizer slots of a checkpoint directory.

    Raises :class:`~albert_core.CheckpointError` when the directory is not an albert-lite trainer checkpoint.
    The model weights are read by the backend (``from_pretrained`` on the same directory).
    """
    from .checkpoints.safetensors import read_safetensors

    directory = Path(directory)
    state_path = directory / TRAINER_STATE_FILE
    if not state_path.is_file():
        raise CheckpointError(f"{directory} is not a trainer checkpoint ({TRAINER_STATE_FILE} is missing)")
    try:
        data = json.loads(state_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{state_path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != TRAINER_FORMAT:
        raise CheckpointError(f"{state_path} is not an {TRAINER_FORMAT} state")
    if int(data.get("version", 0)) > TRAINER_VERSION:
        raise CheckpointError(f"{state_path} has version {data['version']}; this reader knows up to "
                              f"{TRAINER_VERSION}")
    try:
        state = TrainerState(step=int(data["step"]), backend=str(data["backend"]),
                             config=TrainingConfig.from_dict(data["config"]), optimizer=dict(data["optimizer"]),
                             rng_state=dict(data.get("rng_state") or {}), history=list(data.get("history") or []),
                             format=data["format"], version=int(data["version"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{state_path}: incomplete trainer state ({exc})") from exc
    slots_path = directory / OPTIMIZER_SLOTS_FILE
    slots = read_safetensors(slots_path)[0] if slots_path.is_file() else {}
    return state, slots


def resolve_resume(config: TrainingConfig) -> Path | None:
    """The checkpoint ``config.resume`` names: the latest in ``config.out`` for ``"auto"``, none for ``"none"``."""
    if config.resume == "none":
        return None
    if config.resume == "auto":
        return latest_checkpoint(config.out)
    path = Path(config.resume)
    if not (path / TRAINER_STATE_FILE).is_file():
        raise CheckpointError(f"resume: {path} is not a trainer checkpoint ({TRAINER_STATE_FILE} is missing)")
    return path


def slot_names(canonical_name: str) -> tuple[str, str]:
    """The two optimizer-slot names of one tensor: ``(<name>/m, <name>/v)``.

    >>> slot_names("albert.pooler.weight")
    ('albert.pooler.weight/m', 'albert.pooler.weight/v')
    """
    return f"{canonical_name}/m", f"{canonical_name}/v"


def encode_bytes(data: bytes) -> str:
    """Base64 text for binary RNG state inside ``trainer_state.json``."""
    return base64.b64encode(data).decode("ascii")


def decode_bytes(text: str) -> bytes:
    """Inverse of :func:`encode_bytes`."""
    return base64.b64decode(text.encode("ascii"))


__all__ = [
    "CHECKPOINT_PREFIX",
    "HISTORY_COLUMNS",
    "HISTORY_CSV_FILE",
    "HISTORY_PLOT_FILE",
    "OPTIMIZER_SLOTS_FILE",
    "TRAINER_FORMAT",
    "TRAINER_STATE_FILE",
    "TRAINER_VERSION",
    "TRAINING_GEMMS",
    "History",
    "TrainerState",
    "TrainingConfig",
    "TrainingProgress",
    "check_training_gemm",
    "batch_positions",
    "batches_for",
    "check_data_fits_model",
    "checkpoint_name",
    "decode_bytes",
    "encode_bytes",
    "example_order",
    "global_batch",
    "latest_checkpoint",
    "list_checkpoints",
    "load_model_config",
    "load_trainer_checkpoint",
    "masked_token_count",
    "micro_batches",
    "mlm_accuracy",
    "mlm_correct",
    "plot_history",
    "read_batch",
    "read_history_csv",
    "resolve_resume",
    "save_trainer_checkpoint",
    "slot_names",
    "sop_accuracy",
    "sop_correct",
    "step_seed",
    "worker_indices",
    "write_history_csv",
]
