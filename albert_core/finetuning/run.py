"""The framework-free half of a fine-tuning run, shared by :mod:`albert_pt.finetune` and :mod:`albert_tf.finetune`:
data and labels (:func:`prepare_run`), the batch order (:func:`epoch_batches`), the learning-rate schedule
(:func:`make_schedule`), the choice of the best epoch (:class:`BestTracker`), writing ``OUT/best``
(:func:`save_best`) and the history files (:class:`RunRecorder`).

Both backends follow these, so the same data and seed give the same batches, schedule and metric in either.

>>> [b.tolist() for b in epoch_batches(5, batch_size=2, seed=0, epoch=0)] == [
...     b.tolist() for b in epoch_batches(5, batch_size=2, seed=0, epoch=0)]
True
>>> tracker = BestTracker("accuracy")
>>> tracker.update(1, {"accuracy": 0.5}), tracker.update(2, {"accuracy": 0.4}), tracker.best_epoch
(True, False, 1)
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import ConfigError, InputError
from ..optim import Schedule
from ..training import (HISTORY_CSV_FILE, HISTORY_PLOT_FILE, History, TrainingProgress, example_order,
                        write_history_csv)
from .config import FinetuneConfig
from .data import dataset_label_names, load_examples
from .features import LabelSpace, TaskFeatures, build_features, infer_labels

BEST_DIR = "best"
METRICS_FILE = "metrics.json"
RUN_INFO_FILE = "finetune.json"
#: the columns of a fine-tuning run's ``history.csv``, one row per update (the evaluations go to ``metrics.json``)
FINETUNE_HISTORY_COLUMNS = ("step", "learning_rate", "loss", "elapsed_seconds")
#: Metrics where lower is better (every other metric: higher is better).
LOWER_IS_BETTER = frozenset({"mse", "loss", "eval_loss"})


@dataclass
class RunData:
    """The data of a run: training and evaluation rows, the labels, the number of updates."""

    config: FinetuneConfig
    labels: LabelSpace
    train: TaskFeatures
    eval: TaskFeatures | None
    steps_per_epoch: int
    schedule: Schedule

    @property
    def total_steps(self) -> int:
        """Updates in the whole run."""
        return self.steps_per_epoch * self.config.epochs

    def model_config(self, base: Any) -> Any:
        """``base`` (an :class:`~albert_core.AlbertConfig`) with the labels and dropout of this run."""
        changes = self.labels.model_config_changes()
        if self.config.classifier_dropout is not None:
            changes["classifier_dropout_prob"] = self.config.classifier_dropout
        return base.copy(**changes) if changes else base


def prepare_run(config: FinetuneConfig, tokenizer: Any, train_data: Any = None, eval_data: Any = None) -> RunData:
    """Read the data (``train_data``/``eval_data``: a path, a list of dicts or a ``datasets.Dataset``; default
    ``config.train``/``config.eval``), infer the labels and build the numpy rows.

    Raises:
        ConfigError: when there is no training data.
        InputError: for malformed data (naming the file, line and field).
    """
    config.validate()
    train_source = train_data if train_data is not None else config.train
    eval_source = eval_data if eval_data is not None else config.eval
    if train_source is None:
        raise ConfigError("no training data: set train (a file) or pass train_data")
    train_examples = load_examples(config.task, train_source, limit=config.max_train_examples)
    names = config.labels
    if names is None and hasattr(train_source, "column_names"):
        names = dataset_label_names(train_source, "label" if config.task == "text-classification" else "ner_tags")
    labels = infer_labels(config.task, train_examples, names)
    options = dict(max_length=config.max_length, doc_stride=config.doc_stride,
                   max_query_length=config.max_query_length, label_all_tokens=config.label_all_tokens)
    train = build_features(config.task, train_examples, tokenizer, labels, name=_name(train_source, "train"),
                           **options)
    evaluation = None
    if eval_source is not None:
        eval_examples = load_examples(config.task, eval_source, limit=config.max_eval_examples)
        evaluation = build_features(config.task, eval_examples, tokenizer, labels, name=_name(eval_source, "eval"),
                                    **options)
    steps = math.ceil(train.num_rows / config.batch_size)
    return RunData(config, labels, train, evaluation, steps, make_schedule(config, steps))


def _name(source: Any, default: str) -> str:
    return str(source) if isinstance(source, (str, os.PathLike)) else default


def make_schedule(config: FinetuneConfig, steps_per_epoch: int) -> Schedule:
    """Linear warm-up over ``warmup_ratio`` of the updates (rounded up), then linear decay to 0.

    >>> s = make_schedule(FinetuneConfig(task="qa", model="m", out="o", epochs=2, learning_rate=1e-3,
    ...                                  warmup_ratio=0.25), steps_per_epoch=4)
    >>> [round(s(k), 6) for k in range(9)]
    [0.0, 0.0005, 0.001, 0.000833, 0.000667, 0.0005, 0.000333, 0.000167, 0.0]
    """
    total = steps_per_epoch * config.epochs
    warmup = min(total, math.ceil(config.warmup_ratio * total))
    return Schedule(peak_lr=float(config.learning_rate), total_steps=total, warmup_steps=warmup)


def epoch_batches(num_rows: int, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """The row indices of each batch of 0-based ``epoch``: a seeded permutation (the same in both backends) cut
    into batches of ``batch_size``; the last batch may be smaller."""
    order = example_order(num_rows, seed, epoch)
    return [order[start:start + batch_size] for start in range(0, num_rows, batch_size)]


class BestTracker:
    """Keeps the best value of ``metric`` over the epochs (higher is better, except ``mse``/``loss``); a tie keeps
    the earlier epoch."""

    def __init__(self, metric: str) -> None:
        self.metric = metric
        self.lower_is_better = metric in LOWER_IS_BETTER
        self.best_value: float | None = None
        self.best_epoch: int | None = None

    def update(self, epoch: int, metrics: Mapping[str, float]) -> bool:
        """Record an epoch's metrics; ``True`` when it is the best so far.

        Raises:
            ConfigError: when the metrics have no value named ``metric``.
        """
        if self.metric not in metrics:
            raise ConfigError(f"metric {self.metric!r} is not computed for this task; choose one of "
                              f"{sorted(metrics)}")
        value = float(metrics[self.metric])
        if math.isnan(value):
            return False
        better = self.best_value is None or (value < self.best_value if self.lower_is_better
                                             else value > self.best_value)
        if better:
            self.best_value, self.best_epoch = value, epoch
        return better


def save_best(out: str | os.PathLike[str], model_writer: Callable[[Path], Any], tokenizer: Any,
              info: Mapping[str, Any]) -> Path:
    """Write ``OUT/best`` atomically: the model (``model_writer(directory)``, the backend's ``save_pretrained``),
    the tokenizer, and ``finetune.json`` (``info``: the epoch, its metrics, the settings)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".best.", suffix=".staging", dir=out))
    try:
        model_writer(staging)
        tokenizer.save_pretrained(staging)
        (staging / RUN_INFO_FILE).write_text(json.dumps(dict(info), indent=1, default=str) + "\n", encoding="utf-8")
        final = out / BEST_DIR
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


@dataclass
class RunRecorder:
    """The history of a run: one :class:`~albert_core.training.History` row per update (``step``,
    ``learning_rate``, ``loss``, ``elapsed_seconds``) and one entry per epoch (its evaluation metrics).

    ``write`` puts ``history.csv`` (the update rows, :func:`~albert_core.training.write_history_csv`),
    ``metrics.json`` (the epochs, the best one, and ``bf16``: whether the run computed in bfloat16) and
    ``history.png`` (:func:`plot_finetune_history`) in the output directory.
    """

    metric: str
    history: History = field(default_factory=lambda: History(columns=FINETUNE_HISTORY_COLUMNS))
    epochs: list[dict[str, Any]] = field(default_factory=list)
    bf16: bool = False

    def log_step(self, step: int, learning_rate: float, loss: float, elapsed: float) -> None:
        self.history.append(step=step, learning_rate=learning_rate, loss=loss, elapsed_seconds=elapsed)

    def log_epoch(self, epoch: int, step: int, metrics: Mapping[str, float] | None, train_loss: float) -> None:
        self.epochs.append({"epoch": epoch, "step": step, "train_loss": float(train_loss),
                            **{f"eval_{k}": float(v) for k, v in (metrics or {}).items()}})

    def write(self, out: str | os.PathLike[str], best: Mapping[str, Any] | None = None,
              quiet: bool = False) -> dict[str, Path | None]:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        csv_path = write_history_csv(self.history, out / HISTORY_CSV_FILE)
        metrics_path = out / METRICS_FILE
        metrics_path.write_text(json.dumps({"metric": self.metric, "epochs": self.epochs, "best": dict(best or {}),
                                            "bf16": self.bf16}, indent=1) + "\n", encoding="utf-8")
        plot = plot_finetune_history(self.history.rows, self.epochs, self.metric, out / HISTORY_PLOT_FILE,
                                     verbose=not quiet)
        return {"history_csv": csv_path, "metrics_json": metrics_path, "plot": plot}


def plot_finetune_history(rows: list[Mapping[str, Any]], epochs: list[Mapping[str, Any]], metric: str,
                          path: str | os.PathLike[str], verbose: bool = True) -> Path | None:
    """The training loss per update and the evaluation ``metric`` per epoch, side by side (PNG); ``None`` without
    matplotlib (a note on stderr unless ``verbose`` is false)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        if verbose:
            print("note: matplotlib is not installed; skipping the history plot (the CSV has the numbers)",
                  file=sys.stderr)
        return None
    figure, (loss_axes, metric_axes) = plt.subplots(1, 2, figsize=(10, 4))
    points = [(r["step"], r["loss"]) for r in rows if r.get("loss") is not None]
    if points:
        loss_axes.plot(*zip(*points), label="training loss")
        loss_axes.legend()
    loss_axes.set(xlabel="update step", ylabel="training loss")
    points = [(e["step"], e[f"eval_{metric}"]) for e in epochs if e.get(f"eval_{metric}") is not None]
    if points:
        metric_axes.plot(*zip(*points), marker="o", label=f"eval {metric}")
        metric_axes.legend()
    metric_axes.set(xlabel="update step (end of each epoch)", ylabel=f"eval {metric}")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return Path(path)


@dataclass
class FinetuneResult:
    """What a fine-tuning run returns: the trained ``model`` (after the last epoch), the evaluation ``metric`` and
    its best value and epoch (``None`` without evaluation data), the per-epoch records, the update count and the
    written files (``best_dir`` is ``OUT/best``: the best epoch's model and tokenizer, or the last epoch's without
    evaluation data); ``bf16``: whether the run computed in bfloat16 (``FinetuneConfig.bf16``)."""

    model: Any
    metric: str
    best_metric: float | None
    best_epoch: int | None
    epochs: list[dict[str, Any]]
    steps: int
    best_dir: Path | None
    files: dict[str, Path | None]
    labels: LabelSpace
    bf16: bool = False


def progress_bar(config: FinetuneConfig, total_steps: int, backend: str) -> TrainingProgress:
    """The run's progress bar (:class:`~albert_core.training.TrainingProgress`; off when ``quiet``)."""
    return TrainingProgress(total=total_steps, enabled=not config.quiet, description=f"finetune[{backend}]")


def check_eval(data: RunData) -> None:
    """Raise :class:`~albert_core.InputError` when the evaluation data has no labels (it must, to pick the best)."""
    if data.eval is not None and not data.eval.labels:
        raise InputError("the evaluation data has no labels")


__all__ = [
    "BEST_DIR",
    "FINETUNE_HISTORY_COLUMNS",
    "METRICS_FILE",
    "RUN_INFO_FILE",
    "BestTracker",
    "FinetuneResult",
    "RunData",
    "RunRecorder",
    "epoch_batches",
    "make_schedule",
    "plot_finetune_history",
    "prepare_run",
    "progress_bar",
    "save_best",
]
