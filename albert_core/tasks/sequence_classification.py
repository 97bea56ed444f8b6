"""Sequence classification and regression (single texts or pairs): scores and labels from the model's logits.

:func:`classify` gives each row its labels with scores, as transformers' text-classification pipeline does;
:func:`predictions` gives the plain predictions the metrics of :mod:`albert_core.metrics` take (class ids, 0/1
per label for multi-label, values for regression).

>>> classify([[0.0, 2.0]], ["negative", "positive"])
[[{'label': 'positive', 'score': 0.8807970779778823}]]
>>> predictions([[0.0, 2.0], [1.0, -1.0]]).tolist()
[1, 0]
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import InputError, UsageError

__all__ = ["classify", "predictions"]

PROBLEM_TYPES = ("single_label_classification", "multi_label_classification", "regression")


def _logits(logits: Any) -> np.ndarray:
    values = np.asarray(logits, dtype=np.float64)
    if values.ndim == 1:
        values = values[None]
    if values.ndim != 2 or values.shape[1] == 0:
        raise InputError(f"logits must be [batch, num_labels] (or one row), got shape {np.shape(logits)}")
    return values


def _check_problem_type(problem_type: str | None) -> None:
    if problem_type is not None and problem_type not in PROBLEM_TYPES:
        raise UsageError(f"problem_type must be one of {PROBLEM_TYPES} or None, got {problem_type!r}")


def classify(
    logits: Any,
    id2label: Mapping[int, str] | Sequence[str],
    *,
    problem_type: str | None = None,
    function_to_apply: str | None = None,
    top_k: int | None = 1,
) -> list[list[dict[str, Any]]]:
    """Labels and scores of each row of ``[batch, num_labels]`` logits, best first.

    ``function_to_apply`` (``"softmax"``, ``"sigmoid"`` or ``"none"``) defaults as in transformers'
    text-classification pipeline: ``"none"`` for ``problem_type="regression"``, ``"sigmoid"`` for multi-label
    classification or a single label, ``"softmax"`` otherwise.

    Args:
        logits: ``[batch, num_labels]`` (one row may be given as ``[num_labels]``).
        id2label: the name of each label id.
        problem_type: the model config's ``problem_type`` (or None).
        function_to_apply: see above.
        top_k: how many labels per row (``None``: all).

    Returns:
        per row, a list of ``{"label", "score"}`` sorted by score, best first (ties keep id order).

    Raises:
        ~albert_core.InputError: for logits that are not 2-D or a label id without a name.
        ~albert_core.errors.UsageError: for an unknown ``problem_type`` or ``function_to_apply``, or ``top_k < 1``.
    """
    _check_problem_type(problem_type)
    values = _logits(logits)
    names = dict(id2label) if isinstance(id2label, Mapping) else dict(enumerate(id2label))
    names = {int(k): v for k, v in names.items()}
    missing = [i for i in range(values.shape[1]) if i not in names]
    if missing:
        raise InputError(f"id2label has no name for label ids {missing} of the {values.shape[1]} logits")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise UsageError(f"top_k must be a positive int or None, got {top_k!r}")
    if function_to_apply is None:
        if problem_type == "regression":
            function_to_apply = "none"
        elif problem_type == "multi_label_classification" or values.shape[1] == 1:
            function_to_apply = "sigmoid"
        else:
            function_to_apply = "softmax"
    if function_to_apply == "softmax":
        scores = np.exp(values - values.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
    elif function_to_apply == "sigmoid":
        scores = 1.0 / (1.0 + np.exp(-values))
    elif function_to_apply == "none":
        scores = values
    else:
        raise UsageError(f"function_to_apply must be 'softmax', 'sigmoid' or 'none', got {function_to_apply!r}")
    out = []
    for row in scores:
        order = np.argsort(-row, kind="stable")[:top_k]
        out.append([{"label": names[int(i)], "score": float(row[i])} for i in order])
    return out


def predictions(logits: Any, *, problem_type: str | None = None, threshold: float = 0.5) -> np.ndarray:
    """The prediction of each row: the argmax class id (single-label), 0/1 per label where the sigmoid passes
    ``threshold`` (multi-label), or the value itself (regression, or a single logit with no ``problem_type``).

    >>> predictions([[0.3], [1.7]], problem_type="regression").tolist()
    [0.3, 1.7]
    >>> predictions([[2.0, -1.0, 0.5]], problem_type="multi_label_classification").tolist()
    [[1, 0, 1]]
    """
    _check_problem_type(problem_type)
    values = _logits(logits)
    if problem_type == "regression" or (problem_type is None and values.shape[1] == 1):
        if values.shape[1] != 1:
            raise InputError(f"regression needs one logit per row, got {values.shape[1]}")
        return values[:, 0]
    if problem_type == "multi_label_classification":
        return (1.0 / (1.0 + np.exp(-values)) > threshold).astype(np.int64)
    return values.argmax(axis=-1)
