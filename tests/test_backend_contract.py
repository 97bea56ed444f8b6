"""The behaviour albert_pt and albert_tf must share, tested once and run on both backends.

Every test is parametrised over ``backend in ("pt", "tf")`` (tests that compare the two backends take both) and
checks the public API only: the model classes of ``MODEL_CLASSES``, their call keyword arguments, the output
containers, ``save_pretrained`` / ``from_pretrained`` and ``load_canonical_state`` / ``canonical_state``.
Expected values come from references independent of the backend under test: shapes from the config, losses from
hand-written NumPy formulas (and from :func:`albert_core.losses.head_loss` on NumPy), head masks from a state whose
value projection of the masked head is zeroed, round trips from the state that was loaded.

Numerical agreement of the two backends on every head and configuration is tested by
``test_tf_crossframework.py::test_matches_pytorch_both_directions`` and is not repeated here.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest
import tensorflow as tf  # noqa: F401  (both frameworks are required: no silent skips)
import torch

from albert_core import AlbertConfig, CheckpointError, Head, InputError, canonical_specs
from albert_core.checkpoints import read_checkpoint, read_safetensors
from albert_core.heads import HEADS
from albert_core.losses import NumpyOps, head_loss
from factory import (
    ALL_HEADS,
    BACKENDS,
    B,
    C,
    S,
    build,
    config_for,
    head_ids,
    make_inputs,
    make_labels,
    model_class,
    random_state,
    run,
    to_backend,
    to_numpy,
)

torch.set_num_threads(1)  # TF and torch thread pools fight over the shared cores otherwise

NUM_LABELS = 4  # differs from C = 3 choices, so a head that used the wrong width would show in the shapes
LABELLED_HEADS = tuple(h for h in ALL_HEADS if HEADS[h].labels)
ATOL = 1e-5


def head_config(head: Head, name: str = "default", **overrides) -> AlbertConfig:
    if HEADS[head].fixed_num_labels is None:
        overrides.setdefault("num_labels", NUM_LABELS)
    return config_for(head, name, **overrides)


@dataclass
class Entry:
    model: Any
    config: AlbertConfig
    state: dict[str, np.ndarray]


@pytest.fixture(scope="module")
def zoo() -> Callable[..., Entry]:
    """``zoo(backend, head, name="default", **overrides)``: a model with a random state, built once per module."""
    cache: dict[tuple, Entry] = {}

    def get(backend: str, head: Head, name: str = "default", **overrides) -> Entry:
        key = (backend, head, name, tuple(sorted(overrides.items())))
        if key not in cache:
            config = head_config(head, name, **overrides)
            state = random_state(config, head, seed=1)
            cache[key] = Entry(build(backend, head, config, state), config, state)
        return cache[key]

    return get


def fields(out) -> dict[str, Any]:
    """The set fields of an output container as NumPy (tuples of tensors as lists of arrays)."""
    return {key: to_numpy(value) for key, value in out.items()}


def assert_fields_close(got: dict, expected: dict, atol: float = ATOL, what: str = "") -> None:
    assert set(got) == set(expected), f"{what}: fields {sorted(got)} vs {sorted(expected)}"
    for key, value in expected.items():
        if isinstance(value, list):
            assert len(got[key]) == len(value), f"{what}: {key} has {len(got[key])} entries, expected {len(value)}"
            for i, (a, b) in enumerate(zip(got[key], value)):
                np.testing.assert_allclose(a, b, atol=atol, rtol=ATOL, err_msg=f"{what}: {key}[{i}]")
        else:
            np.testing.assert_allclose(got[key], value, atol=atol, rtol=ATOL, err_msg=f"{what}: {key}")


def message_of(exc: BaseException) -> str:
    """The library's own message: Keras wraps errors raised in ``call`` with the call's arguments; the error it
    wrapped is the exception's context."""
    while getattr(exc, "_keras_call_info_injected", False) and isinstance(exc.__context__, InputError):
        exc = exc.__context__
    return str(exc)


def input_error(backend: str, model, arrays: dict, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        run(backend, model, arrays, **kwargs)
    return message_of(info.value)


def expected_shapes(head: Head, config: AlbertConfig) -> dict[str, tuple[int, ...]]:
    """The shape of every output field of ``head``, written out from the config."""
    H, V, N = config.hidden_size, config.vocab_size, config.num_labels
    return {
        Head.BASE: {"last_hidden_state": (B, S, H), "pooler_output": (B, H)},
        Head.PRETRAINING: {"prediction_logits": (B, S, V), "sop_logits": (B, 2)},
        Head.MASKED_LM: {"logits": (B, S, V)},
        Head.SEQUENCE_CLASSIFICATION: {"logits": (B, N)},
        Head.MULTIPLE_CHOICE: {"logits": (B, C)},
        Head.TOKEN_CLASSIFICATION: {"logits": (B, S, N)},
        Head.QUESTION_ANSWERING: {"start_logits": (B, S), "end_logits": (B, S)},
    }[head]


def token_level(head: Head, key: str) -> bool:
    """Whether output ``key`` of ``head`` has one row per position (``[B, S, ...]``)."""
    shape = expected_shapes(head, head_config(head))[key]
    return len(shape) >= 2 and shape[1] == S


# ---------------------------------------------------------------------------------------------------------------------
# hand-written NumPy losses (float64), independent of albert_core.losses


def np_cross_entropy(logits: np.ndarray, labels: np.ndarray, ignore: int = -100) -> float:
    """Mean softmax cross-entropy over the labels that are not ``ignore``; 0 when all are."""
    logits = np.asarray(logits, np.float64).reshape(-1, logits.shape[-1])
    labels = np.asarray(labels).reshape(-1)
    keep = labels != ignore
    if not keep.any():
        return 0.0
    top = logits.max(axis=-1)
    log_z = top + np.log(np.exp(logits - top[:, None]).sum(axis=-1))
    return float(np.mean(log_z[keep] - logits[keep, labels[keep]]))


def np_binary_cross_entropy(logits: np.ndarray, targets: np.ndarray) -> float:
    p = 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64)))
    z = np.asarray(targets, np.float64)
    return float(np.mean(-(z * np.log(p) + (1 - z) * np.log(1 - p))))


def core_loss(head: Head, config: AlbertConfig, out, labels: dict) -> float:
    """:func:`head_loss` on NumPy (float64) applied to the model's own logits."""
    outputs = {key: to_numpy(out[key]).astype(np.float64) for key in HEADS[head].outputs}
    return float(head_loss(head, config, outputs, labels, NumpyOps()))


def assert_loss(out, expected: float, what: str = "") -> None:
    loss = to_numpy(out.loss)
    assert loss.shape == (), f"{what}: loss has shape {loss.shape}"
    assert loss.dtype == np.float32, f"{what}: loss is {loss.dtype}"
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5, atol=1e-6, err_msg=what)


# ---------------------------------------------------------------------------------------------------------------------
# output fields, shapes and access


@pytest.mark.parametrize("head", ALL_HEADS, ids=head_ids(ALL_HEADS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_output_fields_shapes_and_access(zoo, backend, head):
    entry = zoo(backend, head)
    config, spec = entry.config, HEADS[head]
    inputs, labels = make_inputs(config, head), make_labels(config, head)
    out = run(backend, entry.model, {**inputs, **labels}, output_hidden_states=True, output_attentions=True)

    assert isinstance(out, spec.output_class)
    names = (["loss"] if spec.labels else []) + list(spec.outputs) + ["hidden_states", "attentions"]
    assert list(out.keys()) == names
    # tuple, key and attribute access give the same objects, in declaration order
    assert len(out.to_tuple()) == len(names)
    for i, name in enumerate(names):
        assert out[i] is out[name] is getattr(out, name), name
    for key, shape in expected_shapes(head, config).items():
        value = to_numpy(out[key])
        assert value.shape == shape, key
        assert value.dtype == np.float32, key
        assert np.all(np.isfinite(value)), key
    if spec.labels:
        assert to_numpy(out.loss).shape == ()
    # hidden states and attentions belong to the flattened [B * C, S] batch for multiple choice
    rows = B * C if spec.choices else B
    hidden, attentions = fields(out)["hidden_states"], fields(out)["attentions"]
    assert len(hidden) == config.num_hidden_layers + 1
    assert all(h.shape == (rows, S, config.hidden_size) for h in hidden)
    assert len(attentions) == config.num_hidden_layers * config.inner_group_num
    assert all(a.shape == (rows, config.num_attention_heads, S, S) for a in attentions)
    for a in attentions:  # probabilities over keys; padded keys (row 1 after 4 tokens) get none
        np.testing.assert_allclose(a.sum(-1), 1.0, atol=1e-5)
        pad_row = C if spec.choices else 1  # the first choice of example 1 in the flat batch
        np.testing.assert_array_equal(a[pad_row, :, :, 4:], 0.0)

    # without labels and flags: only the head's own outputs, the first of them at index 0
    plain = run(backend, entry.model, inputs)
    assert list(plain.keys()) == list(spec.outputs)
    if spec.labels:
        assert plain.loss is None
    assert plain.hidden_states is None and plain.attentions is None
    assert plain[0] is getattr(plain, spec.outputs[0])


# ---------------------------------------------------------------------------------------------------------------------
# losses


@pytest.mark.parametrize("head", LABELLED_HEADS, ids=head_ids(LABELLED_HEADS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_loss_equals_core_rule_on_numpy(zoo, backend, head):
    entry = zoo(backend, head)
    inputs, labels = make_inputs(entry.config, head), make_labels(entry.config, head)
    out = run(backend, entry.model, {**inputs, **labels})
    assert_loss(out, core_loss(head, entry.config, out, labels), f"{backend} {head.value}")


@pytest.mark.parametrize("head", [Head.MASKED_LM, Head.TOKEN_CLASSIFICATION], ids=lambda h: h.value)
@pytest.mark.parametrize("backend", BACKENDS)
def test_token_cross_entropy_by_hand(zoo, backend, head):
    entry = zoo(backend, head)
    inputs, labels = make_inputs(entry.config, head), make_labels(entry.config, head)
    assert np.any(labels["labels"] == -100) and np.any(labels["labels"] != -100)
    out = run(backend, entry.model, {**inputs, **labels})
    assert_loss(out, np_cross_entropy(to_numpy(out.logits), labels["labels"]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_pretraining_loss_by_hand(zoo, backend):
    head = Head.PRETRAINING
    entry = zoo(backend, head)
    inputs, labels = make_inputs(entry.config, head), make_labels(entry.config, head)
    out = run(backend, entry.model, {**inputs, **labels})
    mlm = np_cross_entropy(to_numpy(out.prediction_logits), labels["labels"])
    sop = np_cross_entropy(to_numpy(out.sop_logits), labels["sentence_order_label"])
    assert_loss(out, mlm + sop, "mlm + sop")
    assert_loss(run(backend, entry.model, inputs, labels=labels["labels"]), mlm, "mlm only")
    assert_loss(run(backend, entry.model, inputs, sentence_order_label=labels["sentence_order_label"]), sop,
                "sop only")


MLM_HEADS = (Head.PRETRAINING, Head.MASKED_LM)


@pytest.mark.parametrize("head", MLM_HEADS, ids=head_ids(MLM_HEADS))
@pytest.mark.parametrize("backend,graph", [("pt", False), ("tf", False), ("tf", True)],
                         ids=["pt", "tf", "tf-tf.function"])
def test_masked_positions_only_keeps_the_labelled_rows(zoo, backend, head, graph):
    entry = zoo(backend, head)
    inputs, labels = make_inputs(entry.config, head), make_labels(entry.config, head)
    logits_key = HEADS[head].outputs[0]
    full = to_numpy(run(backend, entry.model, inputs)[logits_key])
    call = entry.model
    if graph:
        call = tf.function(lambda **kw: entry.model(**kw, masked_positions_only=True))
        out = call(**to_backend({**inputs, **labels}, backend))
    else:
        out = run(backend, call, {**inputs, **labels}, masked_positions_only=True)
    kept = labels["labels"] != -100
    assert 0 < kept.sum() < kept.size
    # the rows of the full logits at the labelled positions, in row-major order, as one sequence
    np.testing.assert_allclose(to_numpy(out[logits_key]), full[kept][None], atol=ATOL, rtol=ATOL)
    mlm = np_cross_entropy(full, labels["labels"])
    sop = np_cross_entropy(to_numpy(out.sop_logits), labels["sentence_order_label"]) if head is Head.PRETRAINING else 0
    assert_loss(out, mlm + sop, f"{backend} {head.value}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_masked_positions_only_needs_labels_of_the_input_shape(zoo, backend):
    head = Head.MASKED_LM
    entry = zoo(backend, head)
    inputs, labels = make_inputs(entry.config, head), make_labels(entry.config, head)
    message = input_error(backend, entry.model, inputs, masked_positions_only=True)
    assert message == "masked_positions_only=True needs labels: the masked-LM head runs at the positions whose label " \
        "is not -100"
    message = input_error(backend, entry.model, inputs, labels=labels["labels"][:, :-1], masked_positions_only=True)
    assert message == f"labels must have shape [{B}, {S}], got [{B}, {S - 1}]"


SEQUENCE_PROBLEMS = ["regression", "regression_multi", "single_label", "multi_label"]


@pytest.mark.parametrize("problem", SEQUENCE_PROBLEMS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_sequence_classification_loss_by_hand(zoo, backend, problem):
    head = Head.SEQUENCE_CLASSIFICATION
    overrides = {"regression": {"num_labels": 1}, "regression_multi": {"problem_type": "regression"}}.get(problem, {})
    entry = zoo(backend, head, **overrides)
    rng = np.random.default_rng(5)
    n = entry.config.num_labels
    labels = {
        "regression": rng.standard_normal(B).astype(np.float32),
        "regression_multi": rng.standard_normal((B, n)).astype(np.float32),
        "single_label": np.array([n - 1, 0], dtype=np.int64),
        "multi_label": np.array([[1, 0, 1, 1], [0, 0, 1, 0]], dtype=np.float32),
    }[problem]
    out = run(backend, entry.model, make_inputs(entry.config, head), labels=labels)
    logits = to_numpy(out.logits).astype(np.float64)
    expected = {
        "regression": lambda: np.mean((logits[:, 0] - labels) ** 2),
        "regression_multi": lambda: np.mean((logits - labels) ** 2),
        "single_label": lambda: np_cross_entropy(logits, labels),
        "multi_label": lambda: np_binary_cross_entropy(logits, labels),
    }[problem]()
    assert_loss(out, float(expected), f"{problem} by hand")
    assert_loss(out, core_loss(head, entry.config, out, {"labels": labels}), f"{problem} core")


@pytest.mark.parametrize("backend", BACKENDS)
def test_multiple_choice_loss_by_hand(zoo, backend):
    head = Head.MULTIPLE_CHOICE
    entry = zoo(backend, head)
    inputs = make_inputs(entry.config, head)
    for labels in (make_labels(entry.config, head)["labels"], np.array([-100, 1], dtype=np.int64)):
        out = run(backend, entry.model, inputs, labels=labels)
        assert_loss(out, np_cross_entropy(to_numpy(out.logits), labels), f"labels {labels.tolist()}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_span_loss_by_hand(zoo, backend):
    head = Head.QUESTION_ANSWERING
    entry = zoo(backend, head)
    inputs = make_inputs(entry.config, head)
    cases = [make_labels(entry.config, head),  # end 30 is outside the sequence
             {"start_positions": np.array([1, -5]), "end_positions": np.array([99, 2])}]
    for labels in cases:
        out = run(backend, entry.model, inputs, **labels)
        # positions are clamped to [0, S]; S (outside the sequence) is ignored
        start = np_cross_entropy(to_numpy(out.start_logits), np.clip(labels["start_positions"], 0, S), ignore=S)
        end = np_cross_entropy(to_numpy(out.end_logits), np.clip(labels["end_positions"], 0, S), ignore=S)
        assert_loss(out, (start + end) / 2, f"span {labels}")
        assert_loss(out, core_loss(head, entry.config, out, labels), f"span core {labels}")


def all_ignored(head: Head) -> dict[str, np.ndarray]:
    tokens = np.full((B, S), -100, dtype=np.int64)
    examples = np.full((B,), -100, dtype=np.int64)
    return {
        Head.PRETRAINING: {"labels": tokens, "sentence_order_label": examples},
        Head.MASKED_LM: {"labels": tokens},
        Head.SEQUENCE_CLASSIFICATION: {"labels": examples},
        Head.MULTIPLE_CHOICE: {"labels": examples},
        Head.TOKEN_CLASSIFICATION: {"labels": tokens},
        Head.QUESTION_ANSWERING: {"start_positions": np.array([50, 99]), "end_positions": np.array([S, 64])},
    }[head]


@pytest.mark.parametrize("head", LABELLED_HEADS, ids=head_ids(LABELLED_HEADS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_all_ignored_labels_give_zero_loss(zoo, backend, head):
    entry = zoo(backend, head)
    out = run(backend, entry.model, make_inputs(entry.config, head), **all_ignored(head))
    loss = float(to_numpy(out.loss))
    assert loss == 0.0, f"loss {loss}"  # 0, not NaN


# ---------------------------------------------------------------------------------------------------------------------
# out-of-range labels


def _set(array: np.ndarray, index, value) -> np.ndarray:
    array = array.copy()
    array[index] = value
    return array


# (id, head, argument, function of (config, valid labels) giving the bad labels, the bad value)
RANGE_CASES = [
    ("mlm_vocab", Head.MASKED_LM, "labels", lambda c, l: {"labels": _set(l["labels"], (0, 1), c.vocab_size)}, 99),
    ("mlm_negative", Head.MASKED_LM, "labels", lambda c, l: {"labels": _set(l["labels"], (1, 3), -1)}, -1),
    ("pretraining_vocab", Head.PRETRAINING, "labels",
     lambda c, l: {**l, "labels": _set(l["labels"], (1, 1), c.vocab_size + 5)}, 104),
    ("sop_2", Head.PRETRAINING, "sentence_order_label",
     lambda c, l: {**l, "sentence_order_label": np.array([0, 2])}, 2),
    ("sop_negative", Head.PRETRAINING, "sentence_order_label",
     lambda c, l: {"sentence_order_label": np.array([-1, 1])}, -1),
    ("sequence_num_labels", Head.SEQUENCE_CLASSIFICATION, "labels",
     lambda c, l: {"labels": np.array([0, c.num_labels])}, NUM_LABELS),
    ("sequence_negative", Head.SEQUENCE_CLASSIFICATION, "labels", lambda c, l: {"labels": np.array([0, -1])}, -1),
    ("sequence_minus_99", Head.SEQUENCE_CLASSIFICATION, "labels",
     lambda c, l: {"labels": np.array([-99, -100])}, -99),
    ("token_num_labels", Head.TOKEN_CLASSIFICATION, "labels",
     lambda c, l: {"labels": _set(l["labels"], (0, 2), c.num_labels)}, NUM_LABELS),
    ("token_negative", Head.TOKEN_CLASSIFICATION, "labels", lambda c, l: {"labels": _set(l["labels"], (0, 0), -3)},
     -3),
    ("choice_num_choices", Head.MULTIPLE_CHOICE, "labels", lambda c, l: {"labels": np.array([0, C])}, C),
    ("choice_negative", Head.MULTIPLE_CHOICE, "labels", lambda c, l: {"labels": np.array([-1, 0])}, -1),
]


@pytest.mark.parametrize("case_id,head,argument,bad_labels,value", RANGE_CASES, ids=[c[0] for c in RANGE_CASES])
@pytest.mark.parametrize("backend", BACKENDS)
def test_out_of_range_labels_raise_input_error(zoo, backend, case_id, head, argument, bad_labels, value):
    entry = zoo(backend, head)
    config = entry.config
    labels = {k: np.asarray(v, dtype=np.int64) for k, v in bad_labels(config, make_labels(config, head)).items()}
    message = input_error(backend, entry.model, make_inputs(config, head), **labels)
    assert re.match(rf"{argument} contains {value}, outside \[0, ", message), message
    # the message the core's label rule gives for the same labels (logits of the right shapes)
    shapes = expected_shapes(head, config)
    zeros = {key: np.zeros(shape) for key, shape in shapes.items()}
    with pytest.raises(InputError) as core:
        head_loss(head, config, zeros, labels, NumpyOps())
    assert message == str(core.value)


# ---------------------------------------------------------------------------------------------------------------------
# bad inputs: the same InputError message in both backends


def _ids(*shape, value=1):
    return np.full(shape, value, dtype=np.int64)


def _floats(*shape):
    return np.ones(shape, dtype=np.float32)


BASE, MC = Head.BASE, Head.MULTIPLE_CHOICE
# (id, head, arguments, text the message must contain (the argument it names))
BAD_INPUTS = [
    ("ids_rank1", BASE, {"input_ids": _ids(5)}, "input_ids must have shape [batch, seq], got rank 1"),
    ("ids_rank3", BASE, {"input_ids": _ids(1, 2, 3)}, "input_ids must have shape [batch, seq], got rank 3"),
    ("ids_vocab", BASE, {"input_ids": np.array([[1, 99]])}, "input_ids contains id 99, outside [0, vocab_size=99)"),
    ("ids_negative", BASE, {"input_ids": np.array([[1, -1]])}, "input_ids contains the negative id -1"),
    ("too_long", BASE, {"input_ids": _ids(1, 65)}, "sequence length 65 exceeds max_position_embeddings=64"),
    ("mask_shape", BASE, {"input_ids": _ids(2, 4), "attention_mask": _ids(2, 5)},
     "attention_mask must have shape [batch, seq] = [2, 4]"),
    ("mask_rank", BASE, {"input_ids": _ids(2, 4), "attention_mask": _ids(2, 4, 1)}, "attention_mask must have shape"),
    ("types_shape", BASE, {"input_ids": _ids(2, 4), "token_type_ids": _ids(1, 4, value=0)},
     "token_type_ids must have shape [batch, seq] = [2, 4]"),
    ("types_range", BASE, {"input_ids": _ids(2, 4), "token_type_ids": _ids(2, 4, value=2)},
     "token_type_ids contains id 2, outside [0, type_vocab_size=2)"),
    ("types_negative", BASE, {"input_ids": _ids(2, 4), "token_type_ids": _ids(2, 4, value=-1)},
     "token_type_ids contains the negative id -1"),
    ("positions_shape", BASE, {"input_ids": _ids(2, 4), "position_ids": _ids(2, 3)},
     "position_ids must have shape [batch, seq] = [2, 4]"),
    ("positions_range", BASE, {"input_ids": _ids(2, 4), "position_ids": _ids(2, 4, value=64)},
     "position_ids contains id 64, outside [0, max_position_embeddings=64)"),
    ("neither_ids_nor_embeds", BASE, {}, "exactly one of input_ids and inputs_embeds"),
    ("both_ids_and_embeds", BASE, {"input_ids": _ids(2, 4), "inputs_embeds": _floats(2, 4, 16)},
     "exactly one of input_ids and inputs_embeds"),
    ("embeds_width", BASE, {"inputs_embeds": _floats(2, 4, 7)},
     "inputs_embeds must have shape [batch, seq, embedding_size=16], got [2, 4, 7]"),
    ("embeds_rank", BASE, {"inputs_embeds": _floats(2, 4)}, "inputs_embeds must have shape"),
    ("head_mask_heads", BASE, {"input_ids": _ids(2, 4), "head_mask": _floats(3)}, "head_mask must have shape"),
    ("head_mask_layers", BASE, {"input_ids": _ids(2, 4), "head_mask": _floats(2, 4)}, "head_mask must have shape"),
    ("choice_ids_rank", MC, {"input_ids": _ids(2, 4)},
     "multiple-choice input_ids must have shape [batch, num_choices, seq], got [2, 4]"),
    ("choice_embeds_rank", MC, {"inputs_embeds": _floats(2, 4, 16)},
     "multiple-choice inputs_embeds must have shape [batch, num_choices, seq, embedding_size]"),
    ("choice_mask_choices", MC, {"input_ids": _ids(2, 3, 5), "attention_mask": _ids(2, 2, 5)},
     "multiple-choice attention_mask must have shape [batch, num_choices, seq] = [2, 3, 5]"),
    ("choice_types_rank", MC, {"input_ids": _ids(2, 3, 4), "token_type_ids": _ids(2, 4, value=0)},
     "multiple-choice token_type_ids must have shape [batch, num_choices, seq] = [2, 3, 4]"),
    ("choice_positions_seq", MC, {"input_ids": _ids(2, 3, 4), "position_ids": _ids(2, 3, 5)},
     "multiple-choice position_ids must have shape [batch, num_choices, seq] = [2, 3, 4]"),
    ("choice_ids_vocab", MC, {"input_ids": _ids(1, 2, 3, value=99)}, "input_ids contains id 99"),
    ("choice_too_long", MC, {"input_ids": _ids(1, 2, 65)}, "sequence length 65 exceeds max_position_embeddings=64"),
    ("choice_labels_shape", MC, {"input_ids": _ids(2, 3, 4), "labels": _ids(3, value=0)},
     "labels must have shape [2], got [3]"),
    ("mlm_labels_shape", Head.MASKED_LM, {"input_ids": _ids(2, 4), "labels": _ids(2, 5)},
     "labels must have shape [2, 4], got [2, 5]"),
    ("sequence_labels_shape", Head.SEQUENCE_CLASSIFICATION, {"input_ids": _ids(2, 4), "labels": _ids(3, value=0)},
     "labels must have shape [2], got [3]"),
    ("token_labels_shape", Head.TOKEN_CLASSIFICATION, {"input_ids": _ids(2, 4), "labels": _ids(2, 3, value=0)},
     "labels must have shape [2, 4], got [2, 3]"),
    ("sop_labels_shape", Head.PRETRAINING, {"input_ids": _ids(2, 4), "sentence_order_label": _ids(2, 1, value=0)},
     "sentence_order_label must have shape [2], got [2, 1]"),
    ("span_labels_shape", Head.QUESTION_ANSWERING,
     {"input_ids": _ids(2, 4), "start_positions": _ids(3, value=0), "end_positions": _ids(2, value=0)},
     "start_positions must have shape [2], got [3]"),
]


@pytest.mark.parametrize("case_id,head,arrays,text", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_inputs_raise_the_same_input_error_in_both_backends(zoo, case_id, head, arrays, text):
    messages = {backend: input_error(backend, zoo(backend, head).model, arrays) for backend in BACKENDS}
    assert messages["pt"] == messages["tf"], messages
    assert text in messages["pt"], messages["pt"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_float_ids_raise_input_error(zoo, backend):
    # the dtype's name is the framework's own, so only the start of the message is shared
    model = zoo(backend, Head.BASE).model
    for name in ("input_ids", "token_type_ids", "position_ids"):
        arrays = {"input_ids": _ids(2, 4), name: _floats(2, 4)}
        message = input_error(backend, model, arrays)
        assert message.startswith(f"{name} must be an integer tensor"), message


# ---------------------------------------------------------------------------------------------------------------------
# padding, defaults, head masks


PADDING_CASES = [(h, "default") for h in ALL_HEADS] + [(Head.BASE, "relative_key_query"),
                                                         (Head.BASE, "groups2_inner2")]


@pytest.mark.parametrize("head,name", PADDING_CASES, ids=[f"{h.value}-{n}" for h, n in PADDING_CASES])
@pytest.mark.parametrize("backend", BACKENDS)
def test_padding_does_not_change_real_positions(zoo, backend, head, name):
    entry = zoo(backend, head, name)
    config = entry.config
    lead = (B, C) if HEADS[head].choices else (B,)
    real, pad = 5, 3
    rng = np.random.default_rng(8)
    ids = rng.integers(4, config.vocab_size, size=lead + (real,)).astype(np.int64)
    types = np.zeros_like(ids)
    types[..., 2:] = 1
    padded = {
        "input_ids": np.concatenate([ids, np.full(lead + (pad,), config.pad_token_id)], axis=-1),
        "token_type_ids": np.concatenate([types, np.zeros(lead + (pad,), np.int64)], axis=-1),
        "attention_mask": np.concatenate([np.ones(lead + (real,), np.int64), np.zeros(lead + (pad,), np.int64)], -1),
    }
    short = fields(run(backend, entry.model, {"input_ids": ids, "token_type_ids": types}))
    long = fields(run(backend, entry.model, padded, output_attentions=True))
    attentions = long.pop("attentions")
    for a in attentions:
        np.testing.assert_array_equal(a[..., real:], 0.0)  # no query attends to a padded key
    for key, value in short.items():
        got = long[key][:, :real] if token_level(head, key) else long[key]
        np.testing.assert_allclose(got, value, atol=ATOL, rtol=ATOL, err_msg=key)


POOLED_HEADS = (Head.SEQUENCE_CLASSIFICATION, Head.MULTIPLE_CHOICE)


@pytest.mark.parametrize("head", POOLED_HEADS, ids=head_ids(POOLED_HEADS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_pooled_heads_run_the_last_layer_past_attention_on_first_positions_only(zoo, backend, head, monkeypatch):
    entry = zoo(backend, head, "groups2_inner2")
    config, encoder = entry.config, entry.model.albert.encoder
    rows: list[tuple[int, ...]] = []
    for group in encoder.albert_layer_groups:
        for block in group.albert_layers:
            if backend == "pt":
                monkeypatch.setattr(block.ffn, "forward", lambda x, _f=block.ffn.forward: rows.append(
                    tuple(x.shape[:-1])) or _f(x))
            else:
                monkeypatch.setattr(block.ffn, "call", lambda x, _f=block.ffn.call: rows.append(
                    tuple(x.shape[:-1])) or _f(x))
    inputs = make_inputs(config, head)
    n = int(np.prod(inputs["input_ids"].shape[:-1]))  # sequences (choices flattened)
    blocks = config.num_hidden_layers * config.inner_group_num
    pruned = fields(run(backend, entry.model, inputs))
    assert rows == [(n, S)] * (blocks - 1) + [(n, 1)]
    rows.clear()
    full = fields(run(backend, entry.model, inputs, output_hidden_states=True))  # every row of every layer
    assert rows == [(n, S)] * blocks
    np.testing.assert_allclose(pruned["logits"], full["logits"], atol=ATOL, rtol=ATOL)


def fast_path(backend: str, model):
    """The backend's fast inference path of ``model``, on one fixed kernel or graph (nothing measured)."""
    if backend == "pt":
        from albert_pt.inference import optimize_for_inference

        return optimize_for_inference(model, gemm="default")
    from albert_tf.inference import optimize_for_inference

    return optimize_for_inference(model, xla=False)


@pytest.mark.parametrize("backend", BACKENDS)
def test_encode_batch_rejects_bad_input(zoo, backend):
    from albert_core.errors import UsageError

    entry = zoo(backend, Head.SEQUENCE_CLASSIFICATION)
    config, fast = entry.config, fast_path(backend, entry.model)
    with pytest.raises(InputError, match=r"input_ids\[1\] is empty"):
        fast.encode_batch([[2, 3], []])
    with pytest.raises(InputError, match="max_position_embeddings"):
        fast.encode_batch([[5] * (config.max_position_embeddings + 1)])
    with pytest.raises(InputError, match="vocab_size"):
        fast.encode_batch([[2, config.vocab_size]])
    with pytest.raises(InputError, match="negative"):
        fast.encode_batch([[2, -1]])
    with pytest.raises(InputError, match="integer"):
        fast.encode_batch([to_backend(np.array([1.0, 2.0]), backend)])
    with pytest.raises(InputError, match=r"token_type_ids\[0\]"):
        fast.encode_batch([[2, 3]], token_type_ids=[[0]])
    with pytest.raises(InputError, match="type_vocab_size"):
        fast.encode_batch([[2, 3]], token_type_ids=[[0, config.type_vocab_size]])
    with pytest.raises(UsageError, match="max_tokens"):
        fast.encode_batch([[2, 3]], max_tokens=0)
    with pytest.raises(UsageError, match="unpad=True"):
        fast_path(backend, zoo(backend, Head.MULTIPLE_CHOICE).model).encode_batch([[2, 3]])


@pytest.mark.parametrize("head", ALL_HEADS, ids=head_ids(ALL_HEADS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_default_types_positions_mask_and_embeddings(zoo, backend, head):
    entry = zoo(backend, head)
    ids = make_inputs(entry.config, head)["input_ids"]
    implicit = fields(run(backend, entry.model, {"input_ids": ids}))
    explicit = {
        "input_ids": ids,
        "attention_mask": np.ones_like(ids),
        "token_type_ids": np.zeros_like(ids),
        "position_ids": np.broadcast_to(np.arange(S), ids.shape).copy(),
    }
    assert_fields_close(fields(run(backend, entry.model, explicit)), implicit, what="explicit defaults")
    # inputs_embeds: the rows of the word-embedding table that was loaded
    table = entry.state["albert.embeddings.word_embeddings.weight"]
    embedded = fields(run(backend, entry.model, {"inputs_embeds": table[ids]}))
    assert_fields_close(embedded, implicit, what="inputs_embeds")
    # and the defaults are not vacuous: other types / positions change the result
    key = HEADS[head].outputs[0]
    for name, other in (("token_type_ids", np.ones_like(ids)),
                        ("position_ids", np.broadcast_to(np.arange(S)[::-1] + 1, ids.shape).copy())):
        changed = fields(run(backend, entry.model, {"input_ids": ids, name: other}))
        assert not np.allclose(changed[key], implicit[key], atol=1e-4), f"{name} has no effect"


def _zero_value_head(config: AlbertConfig, state: dict, head_index: int) -> dict:
    """``state`` with the value projection of attention head ``head_index`` zeroed in every block: that head then
    contributes nothing, which is what a head mask of 0 must do."""
    size = config.hidden_size // config.num_attention_heads
    rows = slice(head_index * size, (head_index + 1) * size)
    out = dict(state)
    for name in state:
        if name.endswith("attention.value.weight") or name.endswith("attention.value.bias"):
            out[name] = state[name].copy()
            out[name][rows] = 0.0
    assert any(name.endswith("attention.value.weight") for name in state)
    return out


@pytest.mark.parametrize("name", ["default", "groups2_inner2"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_head_mask_zero_silences_a_head(zoo, backend, name):
    head = Head.BASE
    entry = zoo(backend, head, name)
    config, model = entry.config, entry.model
    inputs = make_inputs(config, head)
    L, n, inner = config.num_hidden_layers, config.num_attention_heads, config.inner_group_num
    plain = fields(run(backend, model, inputs))

    # [heads]: head 1 off in every layer == head 1's values zeroed in the weights
    vector = np.ones(n, np.float32)
    vector[1] = 0.0
    masked = fields(run(backend, model, inputs, head_mask=vector))
    reference = build(backend, head, config, _zero_value_head(config, entry.state, 1))
    assert_fields_close(masked, fields(run(backend, reference, inputs)), what="head 1 masked vs zeroed values")
    assert not np.allclose(masked["last_hidden_state"], plain["last_hidden_state"], atol=1e-4)
    # all ones changes nothing
    ones = fields(run(backend, model, inputs, head_mask=np.ones((L, n), np.float32)))
    assert_fields_close(ones, plain, what="all-ones head mask")

    # [layers, heads]: row l masks layer l only (every block the layer runs); the last layer, so that rows read in
    # any other order would show
    rows = np.ones((L, n), np.float32)
    rows[L - 1, 2] = 0.0
    out = fields(run(backend, model, inputs, head_mask=rows, output_attentions=True, output_hidden_states=True))
    for block, probs in enumerate(out["attentions"]):
        layer = block // inner
        for h in range(n):
            if rows[layer, h] == 0.0:
                np.testing.assert_array_equal(probs[:, h], 0.0, err_msg=f"block {block} head {h}")
            else:
                np.testing.assert_allclose(probs[:, h].sum(-1), 1.0, atol=1e-5, err_msg=f"block {block} head {h}")
    unmasked = fields(run(backend, model, inputs, output_hidden_states=True))["hidden_states"]
    for i in range(L):  # the embeddings and every layer before the masked one
        np.testing.assert_allclose(out["hidden_states"][i], unmasked[i], atol=ATOL, err_msg=f"hidden_states[{i}]")
    assert not np.allclose(out["hidden_states"][L], unmasked[L], atol=1e-4)


# ---------------------------------------------------------------------------------------------------------------------
# checkpoints: save_pretrained -> from_pretrained within and across backends


def _reload_and_compare(source: Entry, source_backend: str, target_backend: str, head: Head, path) -> Any:
    source.model.save_pretrained(path)
    loaded = model_class(target_backend, head).from_pretrained(path, strict=True)
    assert loaded.config.to_dict() == source.config.to_dict()
    got = loaded.canonical_state()
    assert set(got) == set(source.state)
    for key, value in source.state.items():
        np.testing.assert_array_equal(got[key], value, err_msg=key)
    return loaded


@pytest.mark.parametrize("head", ALL_HEADS, ids=head_ids(ALL_HEADS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_save_and_from_pretrained_round_trip(zoo, backend, head, tmp_path):
    entry = zoo(backend, head)
    loaded = _reload_and_compare(entry, backend, backend, head, tmp_path)
    inputs, labels = make_inputs(entry.config, head), make_labels(entry.config, head)
    flags = dict(output_hidden_states=True, output_attentions=True)
    expected = fields(run(backend, entry.model, {**inputs, **labels}, **flags))
    assert_fields_close(fields(run(backend, loaded, {**inputs, **labels}, **flags)), expected, atol=1e-6,
                        what=f"{backend} -> {backend}")


@pytest.mark.parametrize("head", ALL_HEADS, ids=head_ids(ALL_HEADS))
@pytest.mark.parametrize("start", BACKENDS)
def test_checkpoint_across_backends_and_back(zoo, start, head, tmp_path):
    other = "tf" if start == "pt" else "pt"
    entry = zoo(start, head)
    inputs, labels = make_inputs(entry.config, head), make_labels(entry.config, head)
    flags = dict(output_hidden_states=True, output_attentions=True)
    expected = fields(run(start, entry.model, {**inputs, **labels}, **flags))
    middle = _reload_and_compare(entry, start, other, head, tmp_path / "there")
    assert_fields_close(fields(run(other, middle, {**inputs, **labels}, **flags)), expected,
                        what=f"{start} -> {other}")
    back = _reload_and_compare(Entry(middle, entry.config, entry.state), other, start, head, tmp_path / "back")
    assert_fields_close(fields(run(start, back, {**inputs, **labels}, **flags)), expected, atol=1e-6,
                        what=f"{start} -> {other} -> {start}")


# ---------------------------------------------------------------------------------------------------------------------
# checkpoints: names on disk, partial loads between heads, strict loads, shape mismatches, warnings

NON_BASE = tuple(h for h in ALL_HEADS if h is not Head.BASE)
POOLER = ["albert.pooler.weight", "albert.pooler.bias"]  # in canonical (spec) order


def head_tensors(config: AlbertConfig, head: Head) -> list[str]:
    """The canonical tensors of ``head`` that the base model lacks, in spec order."""
    base = canonical_specs(config, Head.BASE)
    return [name for name in canonical_specs(config, head) if name not in base]


def backbone_output(backend: str, model, inputs: dict) -> np.ndarray:
    """The backbone's last hidden state, through the public outputs (the last of ``hidden_states``)."""
    return fields(run(backend, model, inputs, output_hidden_states=True))["hidden_states"][-1]


@pytest.mark.parametrize("backend", BACKENDS)
def test_saved_names_are_hf_names(backend, tmp_path):
    config = config_for(Head.BASE)
    model_class(backend, Head.BASE)(config).save_pretrained(tmp_path / "base")
    names, _ = read_safetensors(tmp_path / "base" / "model.safetensors")
    # a base model is saved without the albert. prefix, like transformers' AlbertModel ...
    assert "embeddings.word_embeddings.weight" in names and not any(n.startswith("albert.") for n in names)
    # ... and reads back under canonical names
    assert "albert.pooler.weight" in read_checkpoint(tmp_path / "base").state
    config = config_for(Head.PRETRAINING)
    model_class(backend, Head.PRETRAINING)(config).save_pretrained(tmp_path / "pt")
    names, _ = read_safetensors(tmp_path / "pt" / "model.safetensors")
    assert set(names) == set(canonical_specs(config, Head.PRETRAINING))


@pytest.mark.parametrize("head", NON_BASE, ids=head_ids(NON_BASE))
@pytest.mark.parametrize("backend", BACKENDS)
def test_base_checkpoint_loads_into_every_head(backend, head, tmp_path):
    config = head_config(head)
    state = random_state(config, Head.BASE, seed=2)
    base = build(backend, Head.BASE, config, state)
    base.save_pretrained(tmp_path)
    with pytest.warns(UserWarning, match="newly initialised"):
        model = model_class(backend, head).from_pretrained(tmp_path)
    report = model.load_report
    assert report.missing == head_tensors(config, head)
    assert sorted(report.unexpected) == ([] if HEADS[head].pooler else sorted(POOLER))
    ours = model.canonical_state()
    for name in ours:
        if name in state:
            np.testing.assert_array_equal(ours[name], state[name], err_msg=name)
    if not HEADS[head].choices:  # the backbone output is the base model's
        inputs = make_inputs(config, Head.BASE)
        np.testing.assert_allclose(backbone_output(backend, model, inputs),
                                   to_numpy(run(backend, base, inputs).last_hidden_state), atol=ATOL, rtol=ATOL)


@pytest.mark.parametrize("head", NON_BASE, ids=head_ids(NON_BASE))
@pytest.mark.parametrize("backend", BACKENDS)
def test_head_checkpoint_loads_into_base_model(backend, head, tmp_path):
    config = head_config(head)
    model = build(backend, head, config, random_state(config, head, seed=3))
    model.save_pretrained(tmp_path)
    with pytest.warns(UserWarning, match="unused"):
        base = model_class(backend, Head.BASE).from_pretrained(tmp_path)
    report = base.load_report
    assert sorted(report.unexpected) == sorted(head_tensors(config, head))
    assert report.missing == ([] if HEADS[head].pooler else POOLER)
    if not HEADS[head].choices:
        inputs = make_inputs(config, Head.BASE)
        np.testing.assert_allclose(to_numpy(run(backend, base, inputs).last_hidden_state),
                                   backbone_output(backend, model, inputs), atol=ATOL, rtol=ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_strict_load_raises_on_missing_and_unexpected(backend, tmp_path):
    base_class, mlm_class = model_class(backend, Head.BASE), model_class(backend, Head.MASKED_LM)
    base_class(config_for(Head.BASE)).save_pretrained(tmp_path / "base")
    with pytest.raises(CheckpointError, match="does not match the model exactly: newly initialised.*predictions"):
        mlm_class.from_pretrained(tmp_path / "base", strict=True)
    mlm_class(config_for(Head.MASKED_LM)).save_pretrained(tmp_path / "mlm")
    with pytest.raises(CheckpointError, match="does not match the model exactly: .*unused.*predictions"):
        base_class.from_pretrained(tmp_path / "mlm", strict=True)


def checkpoint_error(call, *args, **kwargs) -> str:
    with pytest.raises(CheckpointError) as info:
        call(*args, **kwargs)
    return str(info.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_shape_mismatch_names_tensor_and_shapes(backend, tmp_path):
    base_class = model_class(backend, Head.BASE)
    base_class(config_for(Head.BASE)).save_pretrained(tmp_path / "base")
    # load_canonical_state: the shape check of albert_core.weights.match_state
    small = base_class(config_for(Head.BASE, vocab_size=50))
    message = checkpoint_error(small.load_canonical_state, random_state(config_for(Head.BASE), Head.BASE))
    words = r"embeddings\.word_embeddings\.weight: checkpoint \(99, 16\) vs model \(50, 16\)"
    assert re.search(r"shape mismatch between checkpoint and model: .*" + words, message), message
    # from_pretrained with a config the checkpoint does not fit: the tensor and both shapes are named
    load = base_class.from_pretrained
    message = checkpoint_error(load, tmp_path / "base", config=config_for(Head.BASE, vocab_size=50))
    assert re.search(r"embeddings\.word_embeddings\.weight: checkpoint \(99, 16\)", message), message
    assert "(50, 16)" in message, message
    message = checkpoint_error(load, tmp_path / "base", config=config_for(Head.BASE, hidden_size=16))
    assert "checkpoint (32, 32)" in message and "(16, 16)" in message, message
    head = Head.SEQUENCE_CLASSIFICATION
    model_class(backend, head)(config_for(head)).save_pretrained(tmp_path / "cls")
    message = checkpoint_error(model_class(backend, head).from_pretrained, tmp_path / "cls",
                               config=config_for(head, num_labels=5))
    assert re.search(r"classifier\.weight: checkpoint \(3, 32\)", message) and "(5, 32)" in message, message


@pytest.mark.parametrize("head", [Head.BASE, Head.PRETRAINING], ids=lambda h: h.value)
@pytest.mark.parametrize("backend", BACKENDS)
def test_exact_load_gives_no_warning(zoo, backend, head, tmp_path):
    entry = zoo(backend, head)
    entry.model.save_pretrained(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = model_class(backend, head).from_pretrained(tmp_path)
    assert loaded.load_report.missing == [] and loaded.load_report.unexpected == []
    got = loaded.canonical_state()
    assert got.keys() == entry.state.keys()
    for name, value in entry.state.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)


# ---------------------------------------------------------------------------------------------------------------------
# initialisation and dropout


@pytest.mark.parametrize("backend", BACKENDS)
def test_initialisation_is_truncated_normal(backend):
    r = 0.05
    config = config_for(Head.PRETRAINING, vocab_size=2000, initializer_range=r)
    state = model_class(backend, Head.PRETRAINING)(config).canonical_state()
    for name, spec in canonical_specs(config, Head.PRETRAINING).items():
        value, role = state[name], spec.role.value
        if role == "norm_scale":
            assert np.all(value == 1.0), name
        elif role in ("norm_shift", "bias"):
            assert np.all(value == 0.0), name
        else:
            assert np.abs(value).max() <= 2 * r + 1e-7, name  # truncated at two standard deviations
            if value.size > 1000:
                assert 0.6 * r < value.std() < r, name  # a truncated normal's std is ~0.88 sigma
    # the roles above name these; check them by name too
    words = state["albert.embeddings.word_embeddings.weight"]
    assert 0.035 < float(words.std()) < r
    assert np.count_nonzero(state["predictions.bias"]) == 0
    assert np.count_nonzero(state["albert.encoder.embedding_hidden_mapping_in.bias"]) == 0
    assert np.all(state["albert.embeddings.LayerNorm.weight"] == 1.0)


def run_training(backend: str, model, arrays: dict):
    """A forward pass in training mode: ``model.train()`` in PyTorch, ``training=True`` in Keras."""
    if backend == "pt":
        model.train()
        try:
            return run(backend, model, arrays)
        finally:
            model.eval()
    return run(backend, model, arrays, training=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_dropout_is_active_in_training_only(backend):
    head = Head.SEQUENCE_CLASSIFICATION
    config = config_for(head, hidden_dropout_prob=0.3, attention_probs_dropout_prob=0.3)
    model = build(backend, head, config, random_state(config, head))
    inputs = make_inputs(config, head)
    first, second = (to_numpy(run(backend, model, inputs).logits) for _ in range(2))
    np.testing.assert_array_equal(first, second)  # eval is deterministic
    trained = to_numpy(run_training(backend, model, inputs).logits)
    assert not np.allclose(trained, first)
    np.testing.assert_array_equal(to_numpy(run(backend, model, inputs).logits), first)  # and back to eval
