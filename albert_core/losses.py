"""The label and loss contract of every head, decided once for both backends.

Each backend supplies a :class:`TensorOps`: a handful of primitive operations on its own tensors (reshape, clip,
summed cross-entropy, mean squared error, binary cross-entropy, a value-range guard). Everything else is decided
here, on those primitives, in one place:

* which label arguments a head takes, their shapes and value bounds (from :data:`~albert_core.heads.HEADS`);
* out-of-range labels raise :class:`~albert_core.InputError` naming the argument (eagerly; when tracing, the backend
  turns the same message into a run-time check);
* which loss a head computes: ``problem_type`` inference for sequence classification, clamping of span positions,
  the pre-training sum, multiple-choice flattening;
* cross-entropy is the mean over labels that are not :data:`~albert_core.validation.IGNORE_INDEX`, and 0 (not NaN)
  when every label is ignored.

A NumPy :class:`TensorOps` (:class:`NumpyOps`) runs the same rules on arrays; the tests use it as a reference.

>>> import numpy as np
>>> from albert_core import AlbertConfig
>>> cfg = AlbertConfig(vocab_size=10, embedding_size=4, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
...                    intermediate_size=8, num_labels=3)
>>> loss = head_loss("sequence_classification", cfg, {"logits": np.zeros((2, 3))}, {"labels": np.array([0, 2])},
...                  NumpyOps())
>>> round(float(loss), 4)  # log(3)
1.0986
>>> head_loss("sequence_classification", cfg, {"logits": np.zeros((2, 3))}, {"labels": np.array([0, 3])},
...           NumpyOps())
Traceback (most recent call last):
...
albert_core.errors.InputError: labels contains 3, outside [0, num_labels=3) (use -100 to ignore an example)
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .config import AlbertConfig
from .errors import InputError
from .heads import Head, HeadSpec, LabelSpec, LossKind, head_spec
from .validation import IGNORE_INDEX, check_labels_shape

Tensor = Any


class TensorOps:
    """The primitive tensor operations a backend gives the core's loss rules.

    Subclasses implement every method for their framework's tensors. Shapes are static shapes with ``None`` for
    dimensions unknown while tracing; :meth:`dim` is the run-time size (an ``int`` or a scalar tensor).
    """

    def shape(self, x: Tensor) -> tuple[int | None, ...]:
        """The static shape of ``x``."""
        raise NotImplementedError

    def dim(self, x: Tensor, axis: int) -> Any:
        """The run-time size of ``x`` along ``axis``."""
        raise NotImplementedError

    def is_integer(self, x: Tensor) -> bool:
        """Whether ``x`` has an integer dtype."""
        raise NotImplementedError

    def reshape(self, x: Tensor, shape: Sequence[Any]) -> Tensor:
        """``x`` reshaped (``-1`` allowed once)."""
        raise NotImplementedError

    def clip(self, x: Tensor, low: Any, high: Any) -> Tensor:
        """Integer ``x`` clipped to ``[low, high]`` (``high`` may be a run-time size)."""
        raise NotImplementedError

    def cross_entropy_sum(self, logits: Tensor, labels: Tensor, ignore_index: Any) -> tuple[Tensor, Tensor]:
        """Softmax cross-entropy of ``logits [N, C]`` against integer ``labels [N]``, in float32.

        Returns ``(sum over the labels that are not ignore_index, number of such labels)``, both float32 scalars.
        """
        raise NotImplementedError

    def divide_or_zero(self, total: Tensor, count: Tensor) -> Tensor:
        """``total / count``, and 0 where ``count`` is 0."""
        raise NotImplementedError

    def mse(self, predictions: Tensor, targets: Tensor) -> Tensor:
        """Mean squared error in float32."""
        raise NotImplementedError

    def binary_cross_entropy(self, logits: Tensor, targets: Tensor) -> Tensor:
        """Mean sigmoid cross-entropy of ``logits`` against float ``targets``, in float32."""
        raise NotImplementedError

    def value_range(self, x: Tensor, ignore_index: int) -> tuple[int, int] | None:
        """Smallest and largest value of ``x`` other than ``ignore_index``; ``None`` when values are not available
        (tracing) or when there is no such value."""
        raise NotImplementedError

    def guard_range(self, x: Tensor, high: Any, ignore_index: int, message: str) -> Tensor:
        """When tracing: ``x`` with a run-time check that every value is ``ignore_index`` or in ``[0, high)``, failing
        with ``message``; backends without such checks return ``x`` unchanged."""
        return x

    def labelled_rows(self, x: Tensor, labels: Tensor, ignore_index: int) -> Tensor:
        """The entries ``x[b, s]`` of ``x [B, S, ...]`` whose ``labels [B, S]`` are not ``ignore_index``, in
        row-major order, as one sequence ``[1, N, ...]``."""
        raise NotImplementedError


class NumpyOps(TensorOps):
    """:class:`TensorOps` on NumPy arrays (a float64 reference of the loss rules)."""

    def shape(self, x):
        return tuple(np.shape(x))

    def dim(self, x, axis):
        return np.shape(x)[axis]

    def is_integer(self, x):
        return np.issubdtype(np.asarray(x).dtype, np.integer)

    def reshape(self, x, shape):
        return np.reshape(x, tuple(shape))

    def clip(self, x, low, high):
        return np.clip(x, low, high)

    def cross_entropy_sum(self, logits, labels, ignore_index):
        logits = np.asarray(logits, np.float64)
        labels = np.asarray(labels)
        keep = labels != ignore_index
        shifted = logits - logits.max(axis=-1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        picked = log_probs[np.arange(len(labels)), np.where(keep, labels, 0)]
        return -(picked * keep).sum(), keep.sum().astype(np.float64)

    def divide_or_zero(self, total, count):
        return total / count if count else np.float64(0.0)

    def mse(self, predictions, targets):
        return np.mean((np.asarray(predictions, np.float64) - np.asarray(targets, np.float64)) ** 2)

    def binary_cross_entropy(self, logits, targets):
        x, z = np.asarray(logits, np.float64), np.asarray(targets, np.float64)
        return np.mean(np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x))))

    def value_range(self, x, ignore_index):
        values = np.asarray(x)[np.asarray(x) != ignore_index]
        return (int(values.min()), int(values.max())) if values.size else None

    def labelled_rows(self, x, labels, ignore_index):
        return np.asarray(x)[np.asarray(labels) != ignore_index][None]


# ---------------------------------------------------------------------------------------------------------------------
# Labels


def _bound(label: LabelSpec, config: AlbertConfig, logits_shape: tuple[int | None, ...]) -> tuple[int | None, str]:
    if label.bound == "num_choices":
        return logits_shape[1], "num_choices"
    if label.bound is None:
        return None, ""
    if label.bound.isdigit():
        return int(label.bound), label.bound
    return int(getattr(config, label.bound)), label.bound


def check_label_values(name: str, labels: Tensor, high: int | None, bound_name: str, unit: str,
                       ops: TensorOps) -> Tensor:
    """Integer ``labels`` must be :data:`~albert_core.validation.IGNORE_INDEX` or lie in ``[0, high)``.

    Raises :class:`~albert_core.InputError` naming ``name`` when values are available; when tracing, returns
    ``labels`` with the backend's run-time check carrying the same message.
    """
    if not ops.is_integer(labels):
        raise InputError(f"{name} must be an integer tensor of class ids, got floating-point values")
    if high is None:
        return labels
    span = f"[0, {high})" if bound_name == str(high) else f"[0, {bound_name}={high})"
    hint = f"use {IGNORE_INDEX} to ignore {unit}"
    seen = ops.value_range(labels, IGNORE_INDEX)
    if seen is not None:
        low, top = seen
        bad = low if low < 0 else top if top >= high else None
        if bad is not None:
            raise InputError(f"{name} contains {bad}, outside {span} ({hint})")
        return labels
    return ops.guard_range(labels, high, IGNORE_INDEX, f"{name} has a value outside {span} ({hint})")


def _expected_shape(label: LabelSpec, logits_shape: tuple[int | None, ...], config: AlbertConfig) -> list[int | None]:
    sizes = {"batch": logits_shape[0], "seq": logits_shape[1] if len(logits_shape) > 1 else None,
             "num_labels": config.num_labels}
    return [sizes[d] for d in label.shape]


def check_label_ranges(head: Head | str, config: AlbertConfig, labels: Mapping[str, Tensor | None], ops: TensorOps,
                       num_choices: int | None = None) -> dict[str, Tensor | None]:
    """The value checks of :func:`head_loss` alone, without the model's outputs, for an input pipeline.

    Each bounded class label of ``head`` is checked with :func:`check_label_values` (regression and multi-label
    targets, and span positions, have no bound). ``num_choices`` bounds multiple-choice labels; without it they are
    left to :func:`head_loss`. Returns ``labels`` with the backend's run-time checks attached where it adds them.

    >>> from albert_core import AlbertConfig
    >>> cfg = AlbertConfig(vocab_size=10, embedding_size=4, hidden_size=8, num_hidden_layers=1,
    ...                    num_attention_heads=2, intermediate_size=8)
    >>> check_label_ranges("pretraining", cfg, {"sentence_order_label": np.array([0, 2])}, NumpyOps())
    Traceback (most recent call last):
    ...
    albert_core.errors.InputError: sentence_order_label contains 2, outside [0, 2) (use -100 to ignore an example)
    """
    spec = head_spec(head)
    checked = dict(labels)
    for label in spec.labels:
        value = labels.get(label.name)
        if value is None or label.bound is None or (label.bound == "num_choices" and num_choices is None):
            continue
        if spec.loss is LossKind.SEQUENCE and (
                config.infer_problem_type(ops.is_integer(value)) != "single_label_classification"):
            continue
        high, bound_name = _bound(label, config, (None, num_choices))
        unit = "a position" if label.shape == ("batch", "seq") else "an example"
        checked[label.name] = check_label_values(label.name, value, high, bound_name, unit, ops)
    return checked


# ---------------------------------------------------------------------------------------------------------------------
# Losses


def cross_entropy(logits: Tensor, labels: Tensor, ops: TensorOps, ignore_index: Any = IGNORE_INDEX) -> Tensor:
    """Mean softmax cross-entropy over the labels that are not ``ignore_index``; 0 when all are.

    ``logits`` are ``[..., C]`` and ``labels`` the matching ``[...]``.
    """
    flat_logits = ops.reshape(logits, [-1, ops.dim(logits, -1)])
    total, count = ops.cross_entropy_sum(flat_logits, ops.reshape(labels, [-1]), ignore_index)
    return ops.divide_or_zero(total, count)


def _class_labels(spec: HeadSpec, label: LabelSpec, labels: Tensor, logits: Tensor, config: AlbertConfig,
                  ops: TensorOps) -> Tensor:
    logits_shape = ops.shape(logits)
    check_labels_shape(label.name, ops.shape(labels), _expected_shape(label, logits_shape, config))
    high, bound_name = _bound(label, config, logits_shape)
    unit = "a position" if label.shape == ("batch", "seq") else "an example"
    return check_label_values(label.name, labels, high, bound_name, unit, ops)


def _sequence_loss(spec: HeadSpec, config: AlbertConfig, logits: Tensor, labels: Tensor, ops: TensorOps) -> Tensor:
    problem = config.infer_problem_type(ops.is_integer(labels))
    batch = ops.shape(logits)[0]
    if problem == "regression":
        if config.num_labels == 1:
            rank = len(ops.shape(labels))
            check_labels_shape("labels", ops.shape(labels), [batch, 1] if rank == 2 else [batch])
            return ops.mse(ops.reshape(logits, [-1]), ops.reshape(labels, [-1]))
        check_labels_shape("labels", ops.shape(labels), [batch, config.num_labels])
        return ops.mse(logits, labels)
    if problem == "single_label_classification":
        labels = _class_labels(spec, spec.labels[0], labels, logits, config, ops)
        return cross_entropy(logits, labels, ops)
    check_labels_shape("labels", ops.shape(labels), [batch, config.num_labels])
    return ops.binary_cross_entropy(logits, labels)


def _span_loss(outputs: Mapping[str, Tensor], labels: Mapping[str, Tensor], ops: TensorOps) -> Tensor | None:
    if labels.get("start_positions") is None or labels.get("end_positions") is None:
        return None
    losses = []
    for name, logits_name in (("start_positions", "start_logits"), ("end_positions", "end_logits")):
        logits, positions = outputs[logits_name], labels[name]
        batch = ops.shape(logits)[0]
        rank = len(ops.shape(positions))
        check_labels_shape(name, ops.shape(positions), [batch, 1] if rank == 2 else [batch])
        if not ops.is_integer(positions):
            raise InputError(f"{name} must be an integer tensor of token indices, got floating-point values")
        # positions outside the sequence mean "the answer is not in this window": clamp them to seq and ignore them
        seq = ops.dim(logits, 1)
        positions = ops.clip(ops.reshape(positions, [-1]), 0, seq)
        losses.append(cross_entropy(logits, positions, ops, ignore_index=seq))
    return (losses[0] + losses[1]) / 2


def head_loss(head: Head | str, config: AlbertConfig, outputs: Mapping[str, Tensor], labels: Mapping[str, Tensor],
              ops: TensorOps) -> Tensor | None:
    """The loss of ``head`` for its ``outputs`` and ``labels`` (label arguments that are ``None`` are absent).

    Returns ``None`` when no label (or, for spans, not both positions) was given.

    Raises:
        ~albert_core.InputError: for a label argument the head does not take, labels of the wrong shape or dtype,
            or class ids out of range.
    """
    spec = head_spec(head)
    given = {name: value for name, value in labels.items() if value is not None}
    unknown = sorted(set(given) - set(spec.label_names))
    if unknown:
        raise InputError(f"{spec.hf_class} takes no label argument {unknown[0]!r}; "
                         f"its labels are {list(spec.label_names) or 'none'}")
    if not given:
        return None
    if spec.loss is LossKind.SPAN:
        return _span_loss(outputs, given, ops)
    if spec.loss is LossKind.SEQUENCE:
        return _sequence_loss(spec, config, outputs["logits"], given["labels"], ops)
    if spec.loss is LossKind.PRETRAINING:
        loss = None
        for label, logits_name in zip(spec.labels, ("prediction_logits", "sop_logits")):
            if label.name in given:
                logits = outputs[logits_name]
                part = cross_entropy(logits, _class_labels(spec, label, given[label.name], logits, config, ops), ops)
                loss = part if loss is None else loss + part
        return loss
    # token and choice cross-entropy
    logits = outputs["logits"]
    return cross_entropy(logits, _class_labels(spec, spec.labels[0], given["labels"], logits, config, ops), ops)


def masked_positions(hidden: Tensor, labels: Tensor | None, ops: TensorOps) -> tuple[Tensor, Tensor]:
    """``hidden [B, S, H]`` and ``labels [B, S]`` cut to the positions whose label is not -100, each as one sequence
    (``[1, N, H]``, ``[1, N]``): where a masked-LM head runs when only its loss is needed.

    The original pre-training computes the vocabulary projection only at its ``masked_lm_positions``, about 15% of
    the tokens; the other rows' logits feed no loss. Kept as a ``[batch, seq]`` pair of one sequence, the result
    goes through :func:`head_loss` and the accuracy counts unchanged.

    >>> hidden = np.arange(12).reshape(2, 3, 2)
    >>> rows, kept = masked_positions(hidden, np.array([[-100, 7, -100], [5, -100, -100]]), NumpyOps())
    >>> rows.tolist(), kept.tolist()
    ([[[2, 3], [6, 7]]], [[7, 5]])
    >>> masked_positions(hidden, np.array([7, 5]), NumpyOps())
    Traceback (most recent call last):
    ...
    albert_core.errors.InputError: labels must have shape [2, 3], got [2]
    """
    if labels is None:
        raise InputError("masked_positions_only=True needs labels: the masked-LM head runs at the positions whose "
                         f"label is not {IGNORE_INDEX}")
    check_labels_shape("labels", ops.shape(labels), list(ops.shape(hidden)[:2]))
    return ops.labelled_rows(hidden, labels, IGNORE_INDEX), masked_labels(labels, ops)


def masked_labels(labels: Tensor, ops: TensorOps) -> Tensor:
    """The labels ``[B, S]`` that are not -100 as the one sequence ``[1, N]`` whose rows the logits of
    :func:`masked_positions` hold (what a loop scores those logits against).

    >>> masked_labels(np.array([[-100, 7, -100], [5, -100, 2]]), NumpyOps()).tolist()
    [[7, 5, 2]]
    """
    return ops.labelled_rows(labels, labels, IGNORE_INDEX)


# ---------------------------------------------------------------------------------------------------------------------
# Multiple choice


CHOICE_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "position_ids")


def flatten_choices(inputs: Mapping[str, Tensor | None], ops: TensorOps) -> dict[str, Tensor | None]:
    """``[batch, num_choices, seq]`` inputs (embeddings ``[batch, num_choices, seq, E]``) as one flat batch.

    Every choice becomes its own row of a ``[batch * num_choices, seq]`` batch; other entries pass unchanged. The
    shapes must have been checked with :func:`~albert_core.validation.check_choice_inputs`.
    """
    flat = dict(inputs)
    for name in CHOICE_INPUTS:
        if flat.get(name) is not None:
            flat[name] = ops.reshape(flat[name], [-1, ops.dim(flat[name], -1)])
    embeds = flat.get("inputs_embeds")
    if embeds is not None:
        flat["inputs_embeds"] = ops.reshape(embeds, [-1, ops.dim(embeds, 2), ops.dim(embeds, 3)])
    return flat


def unflatten_choices(logits: Tensor, num_choices: Any, ops: TensorOps) -> Tensor:
    """The ``[batch * num_choices, 1]`` scores of :func:`flatten_choices`'s batch as ``[batch, num_choices]``."""
    return ops.reshape(logits, [-1, num_choices])
