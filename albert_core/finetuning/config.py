"""The settings of a fine-tuning run, shared by :func:`albert_pt.finetune.finetune`, :func:`albert_tf.finetune.finetune`
and ``albert finetune`` (framework-free, JSON-ready).

>>> config = FinetuneConfig(task="classification", model="m", out="o", train="train.jsonl")
>>> config.task, config.validate().metric_name
('text-classification', 'accuracy')
>>> FinetuneConfig.from_dict(config.to_dict()) == config
True
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import ConfigError
from ..heads import Head
from ..training import check_training_gemm

#: The fine-tuning tasks (transformers' pipeline names) and the model head each trains.
TASK_HEADS: dict[str, Head] = {
    "text-classification": Head.SEQUENCE_CLASSIFICATION,
    "token-classification": Head.TOKEN_CLASSIFICATION,
    "question-answering": Head.QUESTION_ANSWERING,
    "multiple-choice": Head.MULTIPLE_CHOICE,
}
#: Other names accepted for the tasks.
TASK_ALIASES = {
    "classification": "text-classification", "sequence-classification": "text-classification",
    "regression": "text-classification", "glue": "text-classification",
    "ner": "token-classification", "tagging": "token-classification",
    "qa": "question-answering", "squad": "question-answering",
    "mc": "multiple-choice", "race": "multiple-choice",
}
#: The metric that picks the best epoch when ``metric`` is not set (for regression: ``pearson``).
DEFAULT_METRICS = {
    "text-classification": "accuracy",
    "token-classification": "f1",
    "question-answering": "f1",
    "multiple-choice": "accuracy",
}
BACKENDS = ("pt", "tf")


def canonical_task(task: str) -> str:
    """The pipeline name of ``task`` (``"ner"`` -> ``"token-classification"``).

    >>> canonical_task("squad"), canonical_task("multiple-choice")
    ('question-answering', 'multiple-choice')
    """
    if not isinstance(task, str):
        raise ConfigError(f"task must be a str, got {type(task).__name__}")
    name = task.strip().lower().replace("_", "-")
    name = TASK_ALIASES.get(name, name)
    if name not in TASK_HEADS:
        raise ConfigError(f"unknown task {task!r}; expected one of {sorted(TASK_HEADS)} or {sorted(TASK_ALIASES)}")
    return name


@dataclass
class FinetuneConfig:
    """Every setting of a fine-tuning run; :meth:`validate` raises :class:`~albert_core.ConfigError` naming the field.

    Args:
        task: ``text-classification`` (also regression: float labels), ``token-classification``,
            ``question-answering`` or ``multiple-choice`` (aliases: ``classification``, ``ner``, ``qa``, ``squad``,
            ``mc``, ``race``, ...).
        model: the checkpoint directory to start from (with its tokenizer), e.g.
            ``albert_core.filenames.DEFAULT_MODEL_DIR``.
        out: the output directory: ``best/`` (the best epoch's model and tokenizer), ``history.csv``,
            ``history.png``, ``metrics.json``.
        train, eval: data files (JSON lines, JSON, CSV/TSV, CoNLL; see :mod:`albert_core.finetuning.data`). They may
            be left out when the data is passed to ``finetune`` directly.
        backend: ``pt`` or ``tf`` (for the command line; each backend's ``finetune`` runs itself).
        epochs, batch_size, learning_rate: the run; the learning rate rises linearly from 0 over ``warmup_ratio`` of
            the updates, then falls linearly to 0 at the last update.
        weight_decay: decoupled (AdamW) decay, not applied to LayerNorm weights and biases.
        clip_norm: clip gradients to this global norm (``None``: no clipping).
        max_length: tokens per row; rows are padded to the longest row of the data set (at most this).
        seed: the seed of the data order and of dropout.
        labels: the label names, in id order (default: the sorted labels of the training data; needed for
            integer NER tags without names).
        metric: the evaluation metric that picks the best epoch (default ``DEFAULT_METRICS``).
        doc_stride, max_query_length, version_2_with_negative: question answering (``None``: SQuAD 2.0 rules
            when some question has no answer).
        label_all_tokens: token classification: label every sub-word, not only the first.
        classifier_dropout: override the head's dropout (``0.0`` makes training deterministic).
        eval_batch_size: rows per evaluation batch.
        max_train_examples, max_eval_examples: use only the first N examples.
        bf16: bfloat16 mixed precision (opt-in): the forward pass and the loss under ``torch.autocast`` in PyTorch,
            the ``mixed_bfloat16`` policy in Keras; weights, optimizer slots and the loss stay float32. Refused
            (:class:`~albert_core.ConfigError`) where the hardware lacks native bfloat16 arithmetic.
        gemm: PyTorch's GEMM kernel for training (``"default"``, ``"onednn"`` or ``"auto"``: see
            :func:`~albert_core.training.check_training_gemm`).
        quiet: no progress bar or messages.
    """

    task: str
    model: str
    out: str
    train: str | None = None
    eval: str | None = None
    backend: str = "pt"
    epochs: int = 3
    batch_size: int = 16
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    clip_norm: float | None = 1.0
    max_length: int = 128
    seed: int = 42
    labels: list[str] | None = None
    metric: str | None = None
    doc_stride: int = 32
    max_query_length: int = 64
    version_2_with_negative: bool | None = None
    label_all_tokens: bool = False
    classifier_dropout: float | None = None
    eval_batch_size: int = 64
    max_train_examples: int | None = None
    max_eval_examples: int | None = None
    bf16: bool = False
    quiet: bool = False
    gemm: str = "default"

    def __post_init__(self) -> None:
        self.task = canonical_task(self.task)
        if self.labels is not None and not isinstance(self.labels, str):
            self.labels = [str(label) for label in self.labels]

    @property
    def head(self) -> Head:
        """The model head of the task."""
        return TASK_HEADS[self.task]

    @property
    def metric_name(self) -> str:
        """``metric``, or the task's default."""
        return self.metric or DEFAULT_METRICS[self.task]

    def validate(self) -> "FinetuneConfig":
        """Check every field; return self."""
        for name in ("model", "out"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ConfigError(f"{name} must be a non-empty string, got {getattr(self, name)!r}")
        for name in ("train", "eval"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ConfigError(f"{name} must be a file path or None, got {value!r}")
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        for name, minimum in (("epochs", 1), ("batch_size", 1), ("max_length", 8), ("seed", 0), ("doc_stride", 0),
                              ("max_query_length", 1), ("eval_batch_size", 1)):
            _check_integer(name, getattr(self, name), minimum)
        for name in ("max_train_examples", "max_eval_examples"):
            if getattr(self, name) is not None:
                _check_integer(name, getattr(self, name), 1)
        _check_float("learning_rate", self.learning_rate, 0.0)
        _check_float("weight_decay", self.weight_decay, 0.0)
        if _check_float("warmup_ratio", self.warmup_ratio, 0.0) > 1.0:
            raise ConfigError(f"warmup_ratio must be in [0, 1], got {self.warmup_ratio}")
        if self.clip_norm is not None and _check_float("clip_norm", self.clip_norm, 0.0) == 0.0:
            raise ConfigError("clip_norm must be > 0, or None for no clipping")
        if self.classifier_dropout is not None and not 0.0 <= _check_float(
                "classifier_dropout", self.classifier_dropout, 0.0) < 1.0:
            raise ConfigError(f"classifier_dropout must be in [0, 1), got {self.classifier_dropout}")
        if self.labels is not None:
            if isinstance(self.labels, str) or not self.labels or len(set(self.labels)) != len(self.labels):
                raise ConfigError(f"labels must be a non-empty list of distinct names, got {self.labels!r}")
        for name in ("label_all_tokens", "bf16", "quiet"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")
        check_training_gemm(self.gemm, self.backend)
        if self.version_2_with_negative is not None and not isinstance(self.version_2_with_negative, bool):
            raise ConfigError(f"version_2_with_negative must be true, false or None, got "
                              f"{self.version_2_with_negative!r}")
        if self.metric is not None and (not isinstance(self.metric, str) or not self.metric):
            raise ConfigError(f"metric must be a metric name or None, got {self.metric!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FinetuneConfig":
        """Build from :meth:`to_dict` output; unknown keys raise :class:`~albert_core.ConfigError`."""
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ConfigError(f"unknown FinetuneConfig fields: {', '.join(unknown)}")
        try:
            return cls(**dict(data))
        except TypeError as exc:
            raise ConfigError(f"FinetuneConfig: {exc}") from None


def _check_integer(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _check_float(name: str, value: object, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(float(value)) or float(value) < minimum:
        raise ConfigError(f"{name} must be a finite number >= {minimum}, got {value!r}")
    return float(value)


__all__ = ["BACKENDS", "DEFAULT_METRICS", "TASK_ALIASES", "TASK_HEADS", "FinetuneConfig", "canonical_task"]
