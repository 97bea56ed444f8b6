"""TensorFlow pipelines: :func:`pipeline` runs any task of :mod:`albert_core.pipelines` on an albert_tf model.

Everything but the forward pass (tokenizing, batching by length, decoding the answers) is in
:mod:`albert_core.pipelines`; here is only the runner: the model in inference mode as a graph (one ``tf.function``
trace with unknown dimensions, so batches of any size and length reuse it), numpy in and out.

>>> from albert_tf import pipeline
>>> fill = pipeline("fill-mask")  # the small model shipped with albert-lite
>>> best = fill("my good [MASK].", top_k=2)
>>> len(best), sorted(best[0])
(2, ['score', 'sequence', 'token', 'token_str'])
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import tensorflow as tf

from albert_core.pipelines import Pipeline, Runner, build_pipeline

from .modeling import MODEL_CLASSES

__all__ = ["make_runner", "pipeline"]


def make_runner(model: Any, jit: bool = True) -> Runner:
    """The forward pass of ``model`` as a :data:`~albert_core.pipelines.Runner`: int64 numpy arrays in, the float
    output fields as float32 numpy arrays out, with ``training=False``.

    With ``jit`` (default) the model runs as a graph, traced once per set of input names and ranks with every
    dimension unknown, so that batches of any size and length reuse it; ``jit=False`` runs it eagerly.
    """

    def forward(inputs: Mapping[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        out = model(**inputs, training=False)
        return {key: value for key, value in out.items() if tf.is_tensor(value) and value.dtype.is_floating}

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


def pipeline(task: str, model: Any = None, tokenizer: Any = None, *, batch_size: int = 8, **options: Any) -> Pipeline:
    """A pipeline for ``task`` on a TensorFlow model (see :mod:`albert_core.pipelines` for the tasks and their
    options).

    Args:
        task: ``"fill-mask"``, ``"text-classification"``, ``"token-classification"``, ``"question-answering"``,
            ``"multiple-choice"`` or ``"feature-extraction"``.
        model: a checkpoint directory, a loaded albert_tf model with the task's head, or ``None`` for the shipped
            default model (fill-mask and feature extraction).
        tokenizer: an :class:`~albert_core.tokenizer.AlbertTokenizer` or its directory; default: the checkpoint's.
        batch_size: rows per forward pass (rows are sorted by length first, so batches need little padding).
        options: default call options of the task (``top_k``, ``aggregation_strategy``, ``doc_stride``, ...).
    """
    return build_pipeline(task, model, tokenizer, model_classes=MODEL_CLASSES, make_runner=make_runner,
                          batch_size=batch_size, **options)
