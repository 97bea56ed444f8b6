"""albert-lite PyTorch backend: ALBERT models built from :class:`albert_core.AlbertConfig`.

Every class loads and saves checkpoints in the canonical (Hugging Face PyTorch) names, so its ``save_pretrained``
output loads in ``transformers`` and vice versa. :mod:`albert_pt.modeling` holds every class (read beside
:mod:`albert_tf.modeling`); the deliberate differences from transformers are listed in ``docs/model_doc/albert.rst``.
"""

from .modeling import (
    MODEL_CLASSES,
    AlbertForMaskedLM,
    AlbertForMultipleChoice,
    AlbertForPreTraining,
    AlbertForPreTrainingOutput,
    AlbertForQuestionAnswering,
    AlbertForSequenceClassification,
    AlbertForTokenClassification,
    AlbertModel,
    AlbertPreTrainedModel,
)

__all__ = [
    "MODEL_CLASSES",
    "AlbertForMaskedLM",
    "AlbertForMultipleChoice",
    "AlbertForPreTraining",
    "AlbertForPreTrainingOutput",
    "AlbertForQuestionAnswering",
    "AlbertForSequenceClassification",
    "AlbertForTokenClassification",
    "AlbertModel",
    "AlbertPreTrainedModel",
]
