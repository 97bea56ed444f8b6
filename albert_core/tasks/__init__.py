"""Task logic on numpy, shared by both backends and the command line: inputs for each task before the model, and
what to do with its logits after it. Metrics are in :mod:`albert_core.metrics`.

* :mod:`~albert_core.tasks.question_answering`: windows over long contexts, answer spans, SQuAD 2.0 null answers;
* :mod:`~albert_core.tasks.token_classification`: word labels onto sub-words, entities from token predictions;
* :mod:`~albert_core.tasks.sequence_classification`: labels and scores from classification or regression logits;
* :mod:`~albert_core.tasks.multiple_choice`: RACE-style rows per option;
* :mod:`~albert_core.tasks.fill_mask`: the best fills of each ``[MASK]``, optionally among target words.
"""

from .fill_mask import fill_mask_predictions, resolve_targets
from .multiple_choice import join_question_option, label_id, prepare_multiple_choice
from .question_answering import QAFeatures, decode_qa, prepare_qa_features
from .sequence_classification import classify, predictions
from .token_classification import IGNORE_INDEX, align_labels, decode_entities, tokenize_and_align_labels

__all__ = [
    "IGNORE_INDEX",
    "QAFeatures",
    "align_labels",
    "classify",
    "decode_entities",
    "decode_qa",
    "fill_mask_predictions",
    "join_question_option",
    "label_id",
    "prepare_multiple_choice",
    "predictions",
    "prepare_qa_features",
    "resolve_targets",
    "tokenize_and_align_labels",
]
