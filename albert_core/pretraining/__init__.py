"""ALBERT pre-training data in the framework-neutral core (numpy only).

* :func:`~albert_core.pretraining.builder.build_pretraining_data`: documents -> sentence-order segment pairs -> n-gram
  masks -> sharded ``.npy`` files;
* :class:`~albert_core.pretraining.storage.PretrainingDataset` / :func:`~albert_core.pretraining.storage.read_examples`:
  memory-mapped reading with transformers' argument names,
  ready for a PyTorch ``DataLoader`` or ``tf.data.Dataset.from_generator``;
* :class:`~albert_core.pretraining.masking.MaskingRecipe` / :class:`~albert_core.pretraining.masking.DynamicMasker`:
  the n-gram masking, also on the fly per epoch;
* :func:`~albert_core.pretraining.documents.iter_document_texts` /
  :func:`~albert_core.pretraining.pairs.plan_segment_pairs`: the document and pairing steps on their own.

The on-disk format is described in :mod:`albert_core.pretraining.storage`.
"""

from albert_core.pretraining.builder import DEFAULT_DUPE_FACTOR, build_pretraining_data, documents_of
from albert_core.pretraining.documents import TokenizedDocument, iter_document_texts
from albert_core.pretraining.masking import IGNORE_INDEX, DynamicMasker, MaskedSequence, MaskedSpan, MaskingRecipe
from albert_core.pretraining.pairs import PairLayout, SegmentPair, assemble_pairs, plan_segment_pairs
from albert_core.pretraining.storage import (
    EXAMPLE_FIELDS,
    FORMAT_VERSION,
    PretrainingDataset,
    masking_recipe_from_index,
    read_examples,
    read_index,
)

__all__ = [
    "DEFAULT_DUPE_FACTOR",
    "EXAMPLE_FIELDS",
    "FORMAT_VERSION",
    "IGNORE_INDEX",
    "DynamicMasker",
    "MaskedSequence",
    "MaskedSpan",
    "MaskingRecipe",
    "PairLayout",
    "PretrainingDataset",
    "SegmentPair",
    "TokenizedDocument",
    "assemble_pairs",
    "build_pretraining_data",
    "documents_of",
    "iter_document_texts",
    "masking_recipe_from_index",
    "plan_segment_pairs",
    "read_examples",
    "read_index",
]
