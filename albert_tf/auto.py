"""The auto-loader: build whichever head a checkpoint was saved for (transformers' ``AutoModel*`` rolled into one).

Mirrors :mod:`albert_pt.auto`; exported as ``albert_tf.from_pretrained``.
"""

from __future__ import annotations

import os
from typing import Any

from albert_core.loading import saved_head

from .modeling import MODEL_CLASSES, TFAlbertPreTrainedModel


def from_pretrained(path: str | os.PathLike[str], **kwargs: Any) -> TFAlbertPreTrainedModel:
    """Build the head a checkpoint was saved for and load it.

    The class comes from ``architectures`` in ``config.json`` (``AlbertForMaskedLM``, ``TFAlbertForMaskedLM``, ...;
    see :func:`albert_core.loading.saved_head`) or, without it, from the richest head the tensors hold. ``kwargs``
    are those of :meth:`albert_tf.TFAlbertPreTrainedModel.from_pretrained` (``num_labels``,
    ``ignore_mismatched_sizes``, ``dtype``, config overrides, ...).

    >>> import tempfile
    >>> from albert_core import AlbertConfig
    >>> import albert_tf
    >>> cfg = AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_hidden_layers=1,
    ...                    num_attention_heads=2, intermediate_size=16)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = albert_tf.TFAlbertForQuestionAnswering(cfg).save_pretrained(d)
    ...     model = albert_tf.from_pretrained(d)
    >>> type(model).__name__
    'TFAlbertForQuestionAnswering'
    """
    return MODEL_CLASSES[saved_head(path)].from_pretrained(path, **kwargs)
