"""The head table: one row per ALBERT model class, read by every part of albert-lite that needs to know a head.

A row says what a head *is* (its class names in the reference implementations, its TensorFlow scope, whether its
backbone has the pooler, which tensors it adds, which label arguments it takes and with what shapes and bounds,
which outputs it returns and which loss it computes). The modelling code in :mod:`albert_pt` and :mod:`albert_tf`
says how it *runs*. Adding a head is one row here plus one class in each backend.

>>> HEADS[Head.MASKED_LM].hf_class, HEADS[Head.MASKED_LM].pooler
('AlbertForMaskedLM', False)
>>> [label.name for label in HEADS[Head.QUESTION_ANSWERING].labels]
['start_positions', 'end_positions']
>>> head_for_architecture("TFAlbertForMultipleChoice")
<Head.MULTIPLE_CHOICE: 'multiple_choice'>
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Iterable, Mapping

from .errors import CheckpointError
from .outputs import (
    BaseModelOutput,
    MaskedLMOutput,
    ModelOutput,
    MultipleChoiceOutput,
    PreTrainingOutput,
    QuestionAnsweringOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)


class Head(str, enum.Enum):
    """The model classes a checkpoint can be built for; the value is what the CLI and ``--head`` accept."""

    BASE = "base"
    PRETRAINING = "pretraining"
    MASKED_LM = "masked_lm"
    SEQUENCE_CLASSIFICATION = "sequence_classification"
    MULTIPLE_CHOICE = "multiple_choice"
    TOKEN_CLASSIFICATION = "token_classification"
    QUESTION_ANSWERING = "question_answering"


class LossKind(str, enum.Enum):
    """Which rule of :mod:`albert_core.losses` turns a head's outputs and labels into a loss."""

    NONE = "none"
    PRETRAINING = "pretraining"  # masked-LM cross-entropy + sentence-order cross-entropy, either alone
    TOKEN_CROSS_ENTROPY = "token_cross_entropy"  # one class per position (masked LM, token classification)
    SEQUENCE = "sequence"  # regression / single-label / multi-label, by problem_type
    CHOICE_CROSS_ENTROPY = "choice_cross_entropy"  # one right choice per example
    SPAN = "span"  # start and end positions, clamped; mean of the two cross-entropies


@dataclass(frozen=True)
class LabelSpec:
    """One label argument of a head.

    ``shape`` names the dimensions (``"batch"``, ``"seq"``, ``"num_labels"``); ``bound`` says which quantity bounds
    integer label values (``"vocab_size"``, ``"num_labels"``, ``"num_choices"``, ``"2"``), or ``None`` where any value
    is meaningful (regression targets, span positions, which are clamped).
    """

    name: str
    shape: tuple[str, ...]
    bound: str | None


@dataclass(frozen=True)
class HeadPart:
    """A module a head adds on top of the backbone: its canonical name prefix, kind and output width.

    ``kind`` is ``"mlm"`` (dense H -> E, activation, LayerNorm, tied decoder with its own bias) or ``"linear"``
    (``weight`` ``[outputs, hidden]`` and ``bias``). ``outputs`` is a number or the config field that sets it.
    """

    prefix: str
    kind: str
    outputs: int | str = 0


@dataclass(frozen=True)
class HeadSpec:
    """Everything albert-lite knows about a head, apart from how each backend computes it."""

    head: Head
    hf_class: str  # transformers' PyTorch class; also ``architectures`` in config.json
    tf_scope: str  # Keras scope of transformers' TF class: the first component of every name in tf_model.h5
    pooler: bool  # whether the backbone has the tanh pooler
    parts: tuple[HeadPart, ...]
    labels: tuple[LabelSpec, ...]
    outputs: tuple[str, ...]  # the head's own output fields, compared by parity checks
    output_class: type[ModelOutput]
    loss: LossKind
    choices: bool = False  # inputs are [batch, num_choices, seq]
    fixed_num_labels: int | None = None  # outputs fixed whatever num_labels says; config.json records this value
    #: reads nothing but each sequence's pooled first position, so the last layer runs its dense and FFN parts (after
    #: attention over every position) on that position alone
    first_token_only: bool = False

    @property
    def hf_tf_class(self) -> str:
        """transformers' TensorFlow class name."""
        return "TF" + self.hf_class

    @property
    def label_names(self) -> tuple[str, ...]:
        """The label arguments, in call order."""
        return tuple(label.name for label in self.labels)


_MLM = HeadPart("predictions", "mlm")
_BATCH = ("batch",)
_TOKENS = ("batch", "seq")

#: The head table.
HEADS: dict[Head, HeadSpec] = {
    spec.head: spec
    for spec in (
        HeadSpec(Head.BASE, "AlbertModel", "tf_albert_model", pooler=True, parts=(), labels=(),
                 outputs=("last_hidden_state", "pooler_output"), output_class=BaseModelOutput, loss=LossKind.NONE),
        HeadSpec(Head.PRETRAINING, "AlbertForPreTraining", "tf_albert_for_pre_training", pooler=True,
                 parts=(_MLM, HeadPart("sop_classifier.classifier", "linear", 2)),
                 labels=(LabelSpec("labels", _TOKENS, "vocab_size"), LabelSpec("sentence_order_label", _BATCH, "2")),
                 outputs=("prediction_logits", "sop_logits"), output_class=PreTrainingOutput,
                 loss=LossKind.PRETRAINING, fixed_num_labels=2),
        HeadSpec(Head.MASKED_LM, "AlbertForMaskedLM", "tf_albert_for_masked_lm", pooler=False, parts=(_MLM,),
                 labels=(LabelSpec("labels", _TOKENS, "vocab_size"),), outputs=("logits",),
                 output_class=MaskedLMOutput, loss=LossKind.TOKEN_CROSS_ENTROPY),
        HeadSpec(Head.SEQUENCE_CLASSIFICATION, "AlbertForSequenceClassification",
                 "tf_albert_for_sequence_classification", pooler=True,
                 parts=(HeadPart("classifier", "linear", "num_labels"),),
                 labels=(LabelSpec("labels", _BATCH, "num_labels"),), outputs=("logits",),
                 output_class=SequenceClassifierOutput, loss=LossKind.SEQUENCE, first_token_only=True),
        HeadSpec(Head.MULTIPLE_CHOICE, "AlbertForMultipleChoice", "tf_albert_for_multiple_choice", pooler=True,
                 parts=(HeadPart("classifier", "linear", 1),),
                 labels=(LabelSpec("labels", _BATCH, "num_choices"),), outputs=("logits",),
                 output_class=MultipleChoiceOutput, loss=LossKind.CHOICE_CROSS_ENTROPY, choices=True,
                 first_token_only=True),
        HeadSpec(Head.TOKEN_CLASSIFICATION, "AlbertForTokenClassification", "tf_albert_for_token_classification",
                 pooler=False, parts=(HeadPart("classifier", "linear", "num_labels"),),
                 labels=(LabelSpec("labels", _TOKENS, "num_labels"),), outputs=("logits",),
                 output_class=TokenClassifierOutput, loss=LossKind.TOKEN_CROSS_ENTROPY),
        HeadSpec(Head.QUESTION_ANSWERING, "AlbertForQuestionAnswering", "tf_albert_for_question_answering",
                 pooler=False, parts=(HeadPart("qa_outputs", "linear", 2),),
                 labels=(LabelSpec("start_positions", _BATCH, None), LabelSpec("end_positions", _BATCH, None)),
                 outputs=("start_logits", "end_logits"), output_class=QuestionAnsweringOutput, loss=LossKind.SPAN,
                 fixed_num_labels=2),
    )
}


def head_spec(head: Head | str) -> HeadSpec:
    """The row of ``head`` (a :class:`Head` or its value).

    >>> head_spec("token_classification").labels[0].shape
    ('batch', 'seq')
    """
    try:
        return HEADS[Head(head)]
    except ValueError:
        raise CheckpointError(f"unknown head {head!r}; expected one of {[h.value for h in Head]}") from None


def head_for_architecture(name: str) -> Head | None:
    """The head of a transformers class name (PyTorch or ``TF``-prefixed), as found in ``architectures``."""
    name = name.removeprefix("TF")
    return next((spec.head for spec in HEADS.values() if spec.hf_class == name), None)


def head_for_scope(scope: str) -> Head | None:
    """The head whose transformers TF scope is ``scope`` (the first component of ``tf_model.h5`` names)."""
    return next((spec.head for spec in HEADS.values() if spec.tf_scope == scope), None)


def head_from_architectures(architectures: Iterable[str]) -> Head | None:
    """The head named first in a config's ``architectures`` list, if any names one."""
    for name in architectures:
        head = head_for_architecture(str(name))
        if head is not None:
            return head
    return None


def head_from_tensor_names(names: Iterable[str]) -> Head:
    """The richest head whose own tensors are all present among canonical ``names``.

    A ``classifier`` checkpoint is reported as sequence classification: its tensor names cannot tell the
    classification heads apart (``architectures`` in ``config.json`` can; see :func:`head_from_architectures`).

    >>> head_from_tensor_names(["predictions.bias", "predictions.dense.weight", "albert.pooler.weight"])
    <Head.MASKED_LM: 'masked_lm'>
    """
    present = {name.split(".weight")[0].split(".bias")[0] for name in names}
    best, best_parts = Head.BASE, 0
    for spec in HEADS.values():
        if spec.head in (Head.MULTIPLE_CHOICE, Head.TOKEN_CLASSIFICATION):
            continue  # same tensors as sequence classification; only architectures tells them apart
        prefixes = {part.prefix if part.kind == "linear" else f"{part.prefix}.dense" for part in spec.parts}
        if prefixes and prefixes <= present and len(prefixes) > best_parts:
            best, best_parts = spec.head, len(prefixes)
    return best


def part_outputs(part: HeadPart, values: Mapping[str, int]) -> int:
    """The output width of ``part``: its number, or the value of the config field it names."""
    return part.outputs if isinstance(part.outputs, int) else int(values[part.outputs])


def per_sequence_output(head: Head, field: str) -> bool:
    """Whether the output ``field`` of ``head`` holds one row per sequence (rather than one per token).

    >>> per_sequence_output(Head.SEQUENCE_CLASSIFICATION, "logits"), per_sequence_output(Head.MASKED_LM, "logits")
    (True, False)
    """
    return field in ("pooler_output", "sop_logits") or (field == "logits" and HEADS[head].first_token_only)
