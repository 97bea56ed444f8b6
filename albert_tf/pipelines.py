"""TensorFlow pipelines: :func:`pipeline` runs any task of :mod:`albert_core.pipelines` on an albert_tf model.

Everything but the forward pass (tokenizing, batching by length, decoding the answers) is in
:mod:`albert_core.pipelines`; here is only the runner: by default the model's fast inference path
(:func:`albert_tf.inference.optimize_for_inference`: a traced graph, or XLA for the shape buckets where it measures
faster, exact within float32 rounding), numpy in and out. ``pipeline(..., xla=False)`` keeps to the plain graph;
:func:`make_runner` with ``fast=False`` gives the former runner (one ``tf.function`` trace with unknown dimensions).

>>> from albert_tf import pipeline
>>> fill = pipeline("fill-mask")  # the small model shipped with albert-lite
>>> best = fill("my good [MASK].", top_k=2)
>>> len(best), sorted(best[0])
(2, ['score', 'sequence', 'token', 'token_str'])
"""

from __future__ import annotations

import functools
from typing import Any, Mapping

import numpy as np
import tensorflow as tf

from albert_core.errors import UsageError
from albert_core.pipelines import Pipeline, Runner, build_pipeline

from .modeling import MODEL_CLASSES

__all__ = ["make_runner", "pipeline"]


def make_runner(model: Any, jit: bool = True, fast: bool = True, xla: bool | str = "auto") -> Runner:
    """The forward pass of ``model`` as a :data:`~albert_core.pipelines.Runner`: int64 numpy arrays in, the float
    output fields as float32 numpy arrays out, with ``training=False``.

    Args:
        model: a loaded albert_tf model.
        jit: run a graph (default); ``jit=False`` runs the model eagerly.
        fast: run the graph through :func:`albert_tf.inference.optimize_for_inference` (default), which picks the
            plain graph or XLA per shape bucket by measurement (``xla``); ``fast=False`` traces the model once per
            set of input names and ranks with every dimension unknown, so that batches of any size and length reuse
            it (the former runner).
        xla: ``"auto"``, ``True`` or ``False``, as for :func:`~albert_tf.inference.optimize_for_inference`.

    >>> import numpy as np
    >>> from albert_core import AlbertConfig
    >>> from albert_tf import TFAlbertForSequenceClassification
    >>> cfg = AlbertConfig(vocab_size=30, embedding_size=8, hidden_size=16, num_hidden_layers=1,
    ...                    num_attention_heads=2, intermediate_size=32, num_labels=3)
    >>> run = make_runner(TFAlbertForSequenceClassification(cfg), xla=False)
    >>> run({"input_ids": np.array([[2, 5, 3]]), "attention_mask": np.array([[1, 1, 1]])})["logits"].shape
    (1, 3)
    """

    def forward(inputs: Mapping[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        out = model(**inputs, training=False)
        return {key: value for key, value in out.items() if tf.is_tensor(value) and value.dtype.is_floating}

    if jit and fast:
        from .inference import optimize_for_inference

        fast_model = optimize_for_inference(model, xla=xla)

        def run_fast(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
            out = fast_model(**{key: np.asarray(value, dtype=np.int64) for key, value in inputs.items()})
            return {key: np.asarray(value, dtype=np.float32) for key, value in out.items()
                    if tf.is_tensor(value) and value.dtype.is_floating}

        return run_fast

    graphs: dict[tuple, Any] = {}

    def run(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        tensors = {key: tf.constant(np.asarray(value, dtype=np.int64)) for key, value in inputs.items()}
        if not jit:
            return {key: np.asarray(value, dtype=np.float32) for key, value in forward(tensors).items()}
        signature = tuple(sorted((key, tensor.shape.rank) for key, tensor in tensors.items()))
        if signature not in graphs:
            specs = {key: tf.TensorSpec([None] * rank, tf.int64, name=key) for key, rank in signature}
            graphs[signature] = tf.function(forward).get_concrete_function(specs)
        return {key: np.asarray(value, dtype=np.float32) for key, value in graphs[signature](tensors).items()}

    return run


def pipeline(task: str, model: Any = None, tokenizer: Any = None, *, batch_size: int = 8, xla: bool | str = "auto",
             **options: Any) -> Pipeline:
    """A pipeline for ``task`` on a TensorFlow model (see :mod:`albert_core.pipelines` for the tasks and their
    options).

    Args:
        task: ``"fill-mask"``, ``"text-classification"``, ``"token-classification"``, ``"question-answering"``,
            ``"multiple-choice"`` or ``"feature-extraction"``.
        model: a checkpoint directory, a loaded albert_tf model with the task's head, or ``None`` for the shipped
            default model (fill-mask and feature extraction).
        tokenizer: an :class:`~albert_core.tokenizer.AlbertTokenizer` or its directory; default: the checkpoint's.
        batch_size: rows per forward pass (rows are sorted by length first, so batches need little padding).
        xla: ``"auto"`` (default: XLA for the shape buckets where it measures faster than the plain graph),
            ``True`` or ``False`` (see :func:`albert_tf.inference.optimize_for_inference`).
        options: default call options of the task (``top_k``, ``aggregation_strategy``, ``doc_stride``, ...).
    """
    if xla not in ("auto", True, False):
        raise UsageError(f"xla must be one of ['auto', True, False], got {xla!r}")
    return build_pipeline(task, model, tokenizer, model_classes=MODEL_CLASSES,
                          make_runner=functools.partial(make_runner, xla=xla), batch_size=batch_size, **options)
