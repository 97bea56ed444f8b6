"""PyTorch pipelines: :func:`pipeline` runs any task of :mod:`albert_core.pipelines` on an albert_pt model.

Everything but the forward pass (tokenizing, batching by length, decoding the answers) is in
:mod:`albert_core.pipelines`; here is only the runner: the model's fast inference path
(:func:`albert_pt.inference.optimize_for_inference`, exact within float32 rounding) with padded positions skipped,
numpy in and out.

>>> from albert_pt import pipeline
>>> fill = pipeline("fill-mask")  # the small model shipped with albert-lite
>>> best = fill("my good [MASK].", top_k=2)
>>> len(best), sorted(best[0])
(2, ['score', 'sequence', 'token', 'token_str'])
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch

from albert_core.pipelines import Pipeline, Runner, build_pipeline

from .modeling import MODEL_CLASSES

__all__ = ["make_runner", "pipeline"]


def make_runner(model: torch.nn.Module, fast: bool = True) -> Runner:
    """The forward pass of ``model`` as a :data:`~albert_core.pipelines.Runner`: int64 numpy arrays in, the float
    output fields as float32 numpy arrays out, in eval mode and without autograd.

    With ``fast`` (default) the batches run on the model's fast inference path with ``unpad=True``: the linear layers
    see only the real tokens of the (length-sorted, right-padded) batch, and the padded positions come back as
    zeros, which the pipelines never read. ``fast=False`` runs the eager model on the padded batch.
    """
    from .inference import optimize_for_inference

    model.eval()
    forward = optimize_for_inference(model) if fast else model
    device = next(model.parameters()).device

    def run(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        tensors = {key: torch.from_numpy(np.ascontiguousarray(value, dtype=np.int64)).to(device)
                   for key, value in inputs.items()}
        with torch.no_grad():
            out = forward(**tensors, unpad=True) if fast else forward(**tensors)
        return {key: value.detach().float().cpu().numpy() for key, value in out.items()
                if isinstance(value, torch.Tensor) and value.is_floating_point()}

    return run


def pipeline(task: str, model: Any = None, tokenizer: Any = None, *, batch_size: int = 8, **options: Any) -> Pipeline:
    """A pipeline for ``task`` on a PyTorch model (see :mod:`albert_core.pipelines` for the tasks and their options).

    Args:
        task: ``"fill-mask"``, ``"text-classification"``, ``"token-classification"``, ``"question-answering"``,
            ``"multiple-choice"`` or ``"feature-extraction"``.
        model: a checkpoint directory, a loaded albert_pt model with the task's head, or ``None`` for the shipped
            default model (fill-mask and feature extraction).
        tokenizer: an :class:`~albert_core.tokenizer.AlbertTokenizer` or its directory; default: the checkpoint's.
        batch_size: rows per forward pass (rows are sorted by length first, so batches need little padding).
        options: default call options of the task (``top_k``, ``aggregation_strategy``, ``doc_stride``, ...).
    """
    return build_pipeline(task, model, tokenizer, model_classes=MODEL_CLASSES, make_runner=make_runner,
                          batch_size=batch_size, **options)
