"""albert-lite PyTorch backend: ALBERT models built from :class:`albert_core.AlbertConfig`.

Every class loads and saves checkpoints in the canonical (Hugging Face PyTorch) names, so its ``save_pretrained``
output loads in ``transformers`` and vice versa. :mod:`albert_pt.modeling` holds every class (read beside
:mod:`albert_tf.modeling`); the deliberate differences from transformers are listed in ``docs/model_doc/albert.rst``.
:func:`from_pretrained` builds whichever head a checkpoint was saved for. Outputs are registered pytrees, so models
work with ``torch.export``, ``torch.compile(fullgraph=True)`` and ``torch.onnx.export(..., dynamo=True)``.
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
    register_output_pytree,
)
from .auto import from_pretrained
from .pipelines import pipeline  # noqa: F401 - albert_pt.pipeline(task, model=...)

__all__ = [
    "pipeline",
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
    "from_pretrained",
    "register_output_pytree",
]
