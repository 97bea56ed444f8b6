"""The auto-loader: build whichever head a checkpoint was saved for (transformers' ``AutoModel*`` rolled into one).

Mirrors :mod:`albert_tf.auto`; exported as ``albert_pt.from_pretrained``.
"""

from __future__ import annotations

import os
from typing import Any

from albert_core.loading import saved_head

from .modeling import MODEL_CLASSES, AlbertPreTrainedModel


def from_pretrained(path: str | os.PathLike[str], **kwargs: Any) -> AlbertPreTrainedModel:
    """Build the head a checkpoint was saved for and load it.

    The class comes from ``architectures`` in ``config.json`` (``AlbertForMaskedLM``, ``TFAlbertForMaskedLM``, ...;
    see :func:`albert_core.loading.saved_head`) or, without it, from the richest head the tensors hold. ``kwargs``
    are those of :meth:`albert_pt.AlbertPreTrainedModel.from_pretrained` (``num_labels``, ``ignore_mismatched_sizes``,
    ``torch_dtype``, config overrides, ...).

    >>> import tempfile
    >>> from albert_core import AlbertConfig
    >>> import albert_pt
    >>> cfg = AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_hidden_layers=1,
    ...                    num_attention_heads=2, intermediate_size=16)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = albert_pt.AlbertForQuestionAnswering(cfg).save_pretrained(d)
    ...     model = albert_pt.from_pretrained(d)
    >>> type(model).__name__
    'AlbertForQuestionAnswering'
    """
    return MODEL_CLASSES[saved_head(path)].from_pretrained(path, **kwargs)
