"""Framework-neutral model output containers shared by both backends.

Every output is a dataclass with named fields *and* a mapping of the fields that are set, so that

* ``out.logits`` and ``out["logits"]`` work,
* ``out[0]`` / ``out.to_tuple()`` give the set fields in declaration order (tuple access, unset ``None`` fields
  skipped, as with the reference implementation),
* TensorFlow's ``tf.nest`` (and so Keras and ``tf.function``) can flatten and rebuild it as a mapping.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterator


class ModelOutput(dict):
    """Base class: a dataclass whose set fields are also the items of a dict."""

    def __post_init__(self) -> None:
        fields = dataclasses.fields(self)
        first = getattr(self, fields[0].name)
        rest_unset = all(getattr(self, f.name) is None for f in fields[1:])
        # tf.nest rebuilds a mapping as type(obj)(iterable_of_pairs); accept that form too
        if rest_unset and first is not None and isinstance(first, (Iterator, list)) and not hasattr(first, "shape"):
            pairs = list(first)
            if pairs and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in pairs):
                object.__setattr__(self, fields[0].name, None)
                for key, value in pairs:
                    if key not in {f.name for f in fields}:
                        raise TypeError(f"{type(self).__name__} has no field {key!r}")
                    object.__setattr__(self, key, value)
        self._sync()

    def _sync(self) -> None:
        # the dict holds the set fields in declaration order
        dict.clear(self)
        for f in dataclasses.fields(self):
            value = getattr(self, f.name, None)
            if value is not None:
                dict.__setitem__(self, f.name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name in self.__dataclass_fields__ and hasattr(self, dataclasses.fields(self)[-1].name):
            self._sync()

    def __setitem__(self, key: str, value: Any) -> None:
        # tf.nest rebuilds a mutable mapping as type(obj)() followed by item assignment
        if key not in self.__dataclass_fields__:  # type: ignore[attr-defined]
            raise KeyError(f"{type(self).__name__} has no field {key!r}")
        setattr(self, key, value)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, (int, slice)):
            return self.to_tuple()[key]
        return dict.__getitem__(self, key)

    def to_tuple(self) -> tuple[Any, ...]:
        """The set fields, in declaration order."""
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None)

    # a dataclass's generated __eq__ would compare tensors element-wise; identity is what containers need
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __reduce__(self):  # dict subclasses pickle their items; rebuild from the fields instead
        return (type(self), tuple(getattr(self, f.name) for f in dataclasses.fields(self)))


@dataclass(eq=False)
class BaseModelOutput(ModelOutput):
    """Backbone output.

    Attributes:
        last_hidden_state: ``[batch, seq, hidden]`` final-layer states.
        pooler_output: ``[batch, hidden]`` tanh(dense(first token)); ``None`` for backbones built without a pooler.
        hidden_states: with ``output_hidden_states``, ``num_hidden_layers + 1`` tensors ``[batch, seq, hidden]``
            (the projected embeddings, then every layer).
        attentions: with ``output_attentions``, one ``[batch, heads, seq, seq]`` tensor per transformer block run:
            ``num_hidden_layers * inner_group_num`` of them (each layer runs every block of its group).
    """

    last_hidden_state: Any = None
    pooler_output: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclass(eq=False)
class PreTrainingOutput(ModelOutput):
    """Pre-training output: masked-LM logits ``[batch, seq, vocab]`` and sentence-order logits ``[batch, 2]``.

    ``loss`` is the sum of the masked-LM and sentence-order cross-entropies when both kinds of labels are given,
    and the one part whose labels are given otherwise.
    """

    loss: Any = None
    prediction_logits: Any = None
    sop_logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclass(eq=False)
class MaskedLMOutput(ModelOutput):
    """Masked-LM output: ``logits`` ``[batch, seq, vocab]``; ``loss`` over positions whose label is not -100."""

    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclass(eq=False)
class SequenceClassifierOutput(ModelOutput):
    """Sequence classification output: ``logits`` ``[batch, num_labels]``."""

    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclass(eq=False)
class MultipleChoiceOutput(ModelOutput):
    """Multiple-choice output: ``logits`` ``[batch, num_choices]``."""

    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclass(eq=False)
class TokenClassifierOutput(ModelOutput):
    """Token classification output: ``logits`` ``[batch, seq, num_labels]``."""

    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclass(eq=False)
class QuestionAnsweringOutput(ModelOutput):
    """Extractive QA output: ``start_logits`` and ``end_logits``, each ``[batch, seq]``.

    ``loss`` is the mean of the start and end cross-entropies; positions outside the sequence are clamped to
    ``seq`` and ignored, as in the reference implementation.
    """

    loss: Any = None
    start_logits: Any = None
    end_logits: Any = None
    hidden_states: Any = None
    attentions: Any = None
