"""Input checks shared by both backends, so that bad inputs fail early with the same clear message everywhere.

The backends pass static shapes (``None`` for a dimension unknown at trace time), dtype names, and, where values are
available eagerly, the observed minimum and maximum of id tensors (of the original dtype, before any cast) and the
attention mask's values other than 0 and 1. Under tracing/compilation (``torch.compile``, ``tf.function``, XLA) values
are unknown, so value checks are skipped there; shape and dtype checks always run. Each function raises
:class:`~albert_core.InputError` naming the argument, what was expected and what was given.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .config import AlbertConfig
from .errors import InputError, UsageError

#: Label value that every loss ignores (padding, unmasked positions). Cross-entropy losses average over the
#: positions that are not ignored; when every position is ignored the loss is 0 rather than NaN (a batch with no
#: masked token must not poison training), in both backends.
IGNORE_INDEX = -100

Shape = Sequence[int | None] | None


def _fmt(shape: Shape) -> str:
    return "None" if shape is None else "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _same(a: int | None, b: int | None) -> bool:
    return a is None or b is None or a == b


def check_model_inputs(
    config: AlbertConfig,
    input_ids: Shape = None,
    attention_mask: Shape = None,
    token_type_ids: Shape = None,
    position_ids: Shape = None,
    inputs_embeds: Shape = None,
    head_mask: Shape = None,
) -> tuple[int | None, int | None]:
    """Check the shapes of the backbone inputs against each other and the config; return ``(batch, seq)``.

    Exactly one of ``input_ids`` (``[batch, seq]``) and ``inputs_embeds`` (``[batch, seq, embedding_size]``) must
    be given. ``attention_mask``, ``token_type_ids`` and ``position_ids`` must be ``[batch, seq]``. ``head_mask`` is
    ``[heads]`` or ``[num_hidden_layers, heads]`` (row ``l`` masks layer ``l``).
    """
    if (input_ids is None) == (inputs_embeds is None):
        raise InputError("pass exactly one of input_ids and inputs_embeds")
    if input_ids is not None:
        if len(input_ids) != 2:
            raise InputError(f"input_ids must have shape [batch, seq], got rank {len(input_ids)} {_fmt(input_ids)}")
        batch, seq = input_ids
        main = "input_ids"
    else:
        assert inputs_embeds is not None
        if len(inputs_embeds) != 3 or not _same(inputs_embeds[2], config.embedding_size):
            raise InputError(
                f"inputs_embeds must have shape [batch, seq, embedding_size={config.embedding_size}], "
                f"got {_fmt(inputs_embeds)}"
            )
        batch, seq = inputs_embeds[0], inputs_embeds[1]
        main = "inputs_embeds"
    if seq is not None and seq > config.max_position_embeddings:
        raise InputError(
            f"sequence length {seq} exceeds max_position_embeddings={config.max_position_embeddings}; "
            "truncate the input (the tokenizer's max_length) or use a model with longer position embeddings"
        )
    if seq is not None and seq < 1:
        raise InputError(f"{main} has an empty sequence dimension")
    for name, shape in (("attention_mask", attention_mask), ("token_type_ids", token_type_ids),
                        ("position_ids", position_ids)):
        if shape is None:
            continue
        if len(shape) != 2 or not _same(shape[0], batch) or not _same(shape[1], seq):
            raise InputError(f"{name} must have shape [batch, seq] = {_fmt((batch, seq))} like {main}, "
                             f"got {_fmt(shape)}")
    if head_mask is not None:
        heads, layers = config.num_attention_heads, config.num_hidden_layers
        ok = (len(head_mask) == 1 and _same(head_mask[0], heads)) or (
            len(head_mask) == 2 and _same(head_mask[0], layers) and _same(head_mask[1], heads)
        )
        if not ok:
            raise InputError(
                f"head_mask must have shape [num_attention_heads={heads}] or "
                f"[num_hidden_layers={layers}, num_attention_heads={heads}], got {_fmt(head_mask)}"
            )
    return batch, seq


def check_id_range(name: str, low: int, high: int, limit: int, limit_name: str) -> None:
    """Ids must lie in ``[0, limit)``; ``low``/``high`` are the smallest and largest ids seen."""
    if low < 0:
        raise InputError(f"{name} contains the negative id {low}")
    if high >= limit:
        raise InputError(f"{name} contains id {high}, outside [0, {limit_name}={limit})")


def dtype_kind(dtype_name: str) -> str:
    """The kind of a dtype from its framework-neutral name (numpy's, torch's without ``torch.``, TensorFlow's).

    One of ``"bool"``, ``"int"``, ``"uint"``, ``"float"``, ``"complex"`` or ``"other"`` (strings, quantised and
    resource types).

    >>> [dtype_kind(n) for n in ("uint64", "int8", "bfloat16", "bool", "string", "qint8", "complex64")]
    ['uint', 'int', 'float', 'bool', 'other', 'other', 'complex']
    """
    if dtype_name == "bool":
        return "bool"
    for prefix, kind in (("uint", "uint"), ("int", "int"), ("float", "float"), ("bfloat", "float"),
                         ("half", "float"), ("double", "float"), ("complex", "complex")):
        rest = dtype_name[len(prefix):]
        if dtype_name.startswith(prefix) and (rest == "" or rest.isdigit()):
            return kind
    return "other"


def check_id_dtype(name: str, dtype_name: str) -> None:
    """Ids may have any signed or unsigned integer dtype; float, bool, complex and string ids are an error.

    The backends check the values' range (:func:`check_id_range`) on the original dtype and only then cast to the
    index dtype of their embedding lookups, so a large unsigned id can never wrap around into the vocabulary.

    >>> check_id_dtype("input_ids", "uint8")
    >>> check_id_dtype("input_ids", "float32")
    Traceback (most recent call last):
    ...
    albert_core.errors.InputError: input_ids must be an integer tensor, got dtype float32
    """
    if dtype_kind(dtype_name) not in ("int", "uint"):
        raise InputError(f"{name} must be an integer tensor, got dtype {dtype_name}")


def check_attention_mask_dtype(dtype_name: str) -> None:
    """An attention mask may be boolean, integer or float (holding 0/1, see :func:`check_attention_mask_values`)."""
    if dtype_kind(dtype_name) not in ("bool", "int", "uint", "float"):
        raise InputError("attention_mask must be a boolean, integer or float tensor of 0 and 1, "
                         f"got dtype {dtype_name}")


def _number(value: float | int | bool) -> str:
    # both backends hand over Python scalars; 2.0 and 2 read the same so the messages do not depend on the dtype
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def check_attention_mask_values(non_binary: int, example: float | int | None = None) -> None:
    """An attention mask must hold only 0 and 1: ``non_binary`` values other than those (``example`` one of them).

    Other values are not a softer mask: the additive bias ``(1 - m) * finfo.min`` overflows to ``-inf`` (NaN
    rows) for ``m < 0`` or large ``m``, and fractions make the result depend on how the batch was padded.
    Checked when values are available (eagerly), like id ranges; under tracing/compilation it is skipped.

    >>> check_attention_mask_values(0)
    >>> check_attention_mask_values(3, 2.0)
    Traceback (most recent call last):
    ...
    albert_core.errors.InputError: attention_mask must hold only 0 and 1 (or booleans), got 2
    (3 values other than 0 and 1)
    """
    if non_binary:
        raise InputError(f"attention_mask must hold only 0 and 1 (or booleans), got {_number(example)} "
                         f"({non_binary} value{'s' if non_binary != 1 else ''} other than 0 and 1)")


def check_choice_inputs(
    input_ids: Shape,
    inputs_embeds: Shape = None,
    attention_mask: Shape = None,
    token_type_ids: Shape = None,
    position_ids: Shape = None,
) -> None:
    """Multiple-choice inputs are ``[batch, num_choices, seq]`` (or embeddings ``[batch, num_choices, seq, E]``).

    ``attention_mask``, ``token_type_ids`` and ``position_ids`` must have the same ``[batch, num_choices, seq]``
    shape as the main input. After this check the backends flatten every input to ``[batch * num_choices, seq]``
    and run :func:`check_model_inputs` on the flat shapes.
    """
    if input_ids is not None and len(input_ids) != 3:
        raise InputError(
            f"multiple-choice input_ids must have shape [batch, num_choices, seq], got {_fmt(input_ids)}"
        )
    if inputs_embeds is not None and len(inputs_embeds) != 4:
        raise InputError(
            "multiple-choice inputs_embeds must have shape [batch, num_choices, seq, embedding_size], "
            f"got {_fmt(inputs_embeds)}"
        )
    main = input_ids if input_ids is not None else inputs_embeds
    if main is None:
        return
    for name, shape in (("attention_mask", attention_mask), ("token_type_ids", token_type_ids),
                        ("position_ids", position_ids)):
        if shape is not None and (len(shape) != 3 or not all(_same(a, b) for a, b in zip(shape, main[:3]))):
            raise InputError(
                f"multiple-choice {name} must have shape [batch, num_choices, seq] = {_fmt(main[:3])} like the "
                f"inputs, got {_fmt(shape)}"
            )


def id_inputs(config: AlbertConfig) -> tuple[tuple[str, int, str], ...]:
    """The id inputs of a model, each with its exclusive upper bound and the config field that sets it.

    Both backends check these ranges (with :func:`check_id_range`) whenever tensor values are available.

    >>> from albert_core import AlbertConfig
    >>> [name for name, _, _ in id_inputs(AlbertConfig())]
    ['input_ids', 'token_type_ids', 'position_ids']
    """
    return (
        ("input_ids", config.vocab_size, "vocab_size"),
        ("token_type_ids", config.type_vocab_size, "type_vocab_size"),
        ("position_ids", config.max_position_embeddings, "max_position_embeddings"),
    )


def check_labels_shape(name: str, labels: Shape, expected: Sequence[int | None]) -> None:
    """Labels must have exactly the expected shape (``None`` entries match anything)."""
    if labels is None:
        return
    if len(labels) != len(expected) or not all(_same(a, b) for a, b in zip(labels, expected)):
        raise InputError(f"{name} must have shape {_fmt(expected)}, got {_fmt(labels)}")


def _sequence_ids(name: str, values: Any, index: int) -> np.ndarray:
    """One sequence of ids (a list, a numpy array, or a framework tensor on any device) as int64 numpy."""
    if hasattr(values, "detach"):
        values = values.detach()
    if hasattr(values, "cpu"):
        values = values.cpu()
    if hasattr(values, "numpy"):
        array = np.asarray(values.numpy())
    else:
        array = np.asarray(values if isinstance(values, np.ndarray) else list(values))
    if array.ndim != 1:
        raise InputError(f"{name}[{index}] must be one sequence of ids, got shape {tuple(array.shape)}")
    if array.size and array.dtype.kind not in "iu":
        raise InputError(f"{name}[{index}] must hold integer ids, got {array.dtype.name}")
    return array.astype(np.int64)


def check_sequence_batch(config: AlbertConfig, sequences: Any, token_type_ids: Any = None, max_tokens: Any = 8192
                         ) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """The checked arguments of a fast path's ``encode_batch``: sequences of different lengths, as int64 arrays.

    ``sequences`` is a list of id sequences or a tokenizer's output (its ``token_type_ids`` are used unless
    ``token_type_ids`` is given). Raises :class:`~albert_core.errors.InputError` for a sequence that is not 1-D
    integer ids, is empty, is longer than ``max_position_embeddings`` or holds ids out of range, or for segment ids
    that do not match their sequence; :class:`~albert_core.errors.UsageError` for ``max_tokens`` below 1.

    >>> cfg = AlbertConfig(vocab_size=10, hidden_size=8, num_attention_heads=2, max_position_embeddings=4)
    >>> ids, types = check_sequence_batch(cfg, {"input_ids": [[2, 5, 3], [2, 3]]})
    >>> [a.tolist() for a in ids], types
    ([[2, 5, 3], [2, 3]], None)
    >>> check_sequence_batch(cfg, [[2, 3], []])
    Traceback (most recent call last):
    ...
    albert_core.errors.InputError: input_ids[1] is empty
    """
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, (int, np.integer)) or max_tokens < 1:
        raise UsageError(f"max_tokens must be at least 1, got {max_tokens!r}")
    if isinstance(sequences, Mapping):
        if token_type_ids is None:
            token_type_ids = sequences.get("token_type_ids")
        sequences = sequences["input_ids"]
    seqs = [_sequence_ids("input_ids", s, i) for i, s in enumerate(sequences)]
    types = None
    if token_type_ids is not None and seqs:
        if len(token_type_ids) != len(seqs):
            raise InputError(f"token_type_ids holds {len(token_type_ids)} sequences for {len(seqs)} input_ids")
        types = [_sequence_ids("token_type_ids", t, i) for i, t in enumerate(token_type_ids)]
        for i, (s, t) in enumerate(zip(seqs, types)):
            if s.shape != t.shape:
                raise InputError(f"token_type_ids[{i}] has {t.shape[0]} ids for {s.shape[0]} input_ids")
    for i, s in enumerate(seqs):
        if s.shape[0] == 0:
            raise InputError(f"input_ids[{i}] is empty")
        if s.shape[0] > config.max_position_embeddings:
            raise InputError(f"input_ids[{i}] holds {s.shape[0]} tokens, more than max_position_embeddings="
                             f"{config.max_position_embeddings}")
    if seqs:
        flat = np.concatenate(seqs)
        check_id_range("input_ids", int(flat.min()), int(flat.max()), config.vocab_size, "vocab_size")
    if types:
        flat = np.concatenate(types)
        check_id_range("token_type_ids", int(flat.min()), int(flat.max()), config.type_vocab_size,
                       "type_vocab_size")
    return seqs, types
