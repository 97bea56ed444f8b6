"""albert-lite TensorFlow / Keras 3 backend: ALBERT models built from :class:`albert_core.AlbertConfig`.

Every model names its variables by the canonical (Hugging Face PyTorch) tensor names, saves ``model.safetensors``
that albert_pt and Hugging Face PyTorch load, and loads any checkpoint :func:`albert_core.checkpoints.read_checkpoint`
reads.

>>> import numpy as np
>>> from albert_core import AlbertConfig, Head
>>> from albert_tf import MODEL_CLASSES
>>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=1,
...                    num_attention_heads=2, intermediate_size=16)
>>> model = MODEL_CLASSES[Head.MASKED_LM](cfg)
>>> tuple(model(np.array([[2, 5, 3]])).logits.shape)
(1, 3, 30)
"""

from .modeling import (
    MODEL_CLASSES,
    TFAlbertForMaskedLM,
    TFAlbertForMultipleChoice,
    TFAlbertForPreTraining,
    TFAlbertForPreTrainingOutput,
    TFAlbertForQuestionAnswering,
    TFAlbertForSequenceClassification,
    TFAlbertForTokenClassification,
    TFAlbertModel,
    TFAlbertPreTrainedModel,
)
from .auto import from_pretrained  # albert_tf.from_pretrained(path): the head the checkpoint was saved for
from .pipelines import pipeline  # noqa: F401 - albert_tf.pipeline(task, model=...)

__all__ = [
    "pipeline",
    "MODEL_CLASSES",
    "TFAlbertForMaskedLM",
    "TFAlbertForMultipleChoice",
    "TFAlbertForPreTraining",
    "TFAlbertForPreTrainingOutput",
    "TFAlbertForQuestionAnswering",
    "TFAlbertForSequenceClassification",
    "TFAlbertForTokenClassification",
    "TFAlbertModel",
    "TFAlbertPreTrainedModel",
    "from_pretrained",
]
