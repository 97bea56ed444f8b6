"""albert_tf contracts: canonical variable map, checkpoint round trips, shapes, losses, initialisation, activations,
dynamic shapes in tf.function, bad-input errors and the docstring examples."""

from __future__ import annotations

import doctest
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import albert_tf
from albert_core import ACTIVATIONS, CheckpointError, Head, InputError, canonical_specs
from albert_core.checkpoint import read_checkpoint
from albert_tf import MODEL_CLASSES, TFAlbertForPreTrainingOutput, TFAlbertModel
from albert_tf import modeling as tf_modeling
from conftest import CONFIG_MATRIX, tiny_config
from tf_helpers import make_inputs, make_labels, random_state

HEADS = list(Head)


@pytest.fixture(scope="module")
def models():
    """One model per head on the tiny config, with random weights (shared by the module's tests)."""
    out = {}
    for head in HEADS:
        config = tiny_config()
        model = MODEL_CLASSES[head](config)
        model.load_canonical_state(random_state(config, head, seed=1), strict=True)
        out[head] = model
    return out


# ---------------------------------------------------------------------------------------------------------------------
# the API surface


def test_exports_and_heads():
    assert set(MODEL_CLASSES) == set(Head)
    for head, cls in MODEL_CLASSES.items():
        assert cls.head is head
        assert issubclass(cls, keras.Model)
        assert getattr(albert_tf, cls.__name__) is cls
        assert cls.__doc__ and ">>>" in cls.__doc__
    assert issubclass(TFAlbertForPreTrainingOutput, tf_modeling.PreTrainingOutput)


@pytest.mark.parametrize("name", sorted(CONFIG_MATRIX))
def test_canonical_variables_are_exactly_the_specs(name):
    config = tiny_config(**CONFIG_MATRIX[name])
    for head in (Head.PRETRAINING, Head.MULTIPLE_CHOICE, Head.QUESTION_ANSWERING):
        model = MODEL_CLASSES[head](config)
        specs = canonical_specs(config, head)
        variables = model.canonical_variables()
        assert list(variables) == list(specs) or set(variables) == set(specs)
        for key, var in variables.items():
            tf_shape = tuple(var.shape)
            expected = specs[key].shape[::-1] if specs[key].tf_layout.value == "transpose" else specs[key].shape
            assert tf_shape == expected, key
        # every trainable variable of the Keras model is one canonical tensor, none twice (tied decoder included)
        ids = {id(v) for v in variables.values()}
        assert len(ids) == len(variables)
        assert {id(v) for v in model.trainable_variables} == ids


def test_inner_groups_beyond_layers_per_group_work():
    config = tiny_config(num_hidden_layers=2, num_hidden_groups=2, inner_group_num=3)
    model = TFAlbertModel(config)
    out = model(np.array([[2, 5, 6, 3]]), output_attentions=True, output_hidden_states=True)
    assert len(out.attentions) == 2 * 3 and len(out.hidden_states) == 3


# ---------------------------------------------------------------------------------------------------------------------
# checkpoints


@pytest.mark.parametrize("dtype", [None, "bfloat16"])
def test_save_and_reload_round_trip(models, tmp_path, dtype):
    head = Head.PRETRAINING
    model = models[head]
    model.save_pretrained(tmp_path, dtype=dtype)
    assert (tmp_path / "config.json").is_file() and (tmp_path / "model.safetensors").is_file()
    contents = read_checkpoint(tmp_path)
    # the core writes num_labels=2 for the pretraining head (its SOP classifier always has two classes)
    assert contents.config.to_dict() == model.config.copy(num_labels=2).to_dict()
    again = MODEL_CLASSES[head].from_pretrained(tmp_path, strict=True)
    a, b = model.canonical_state(), again.canonical_state()
    for key in a:
        if dtype is None:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            np.testing.assert_allclose(a[key], b[key], rtol=1 / 128, atol=1e-6, err_msg=key)
    inputs = make_inputs(model.config, head)
    if dtype is None:
        np.testing.assert_array_equal(model(**inputs).prediction_logits, again(**inputs).prediction_logits)


def test_head_and_base_checkpoints_cross_load(models, tmp_path):
    models[Head.PRETRAINING].save_pretrained(tmp_path / "pre")
    base = TFAlbertModel.from_pretrained(tmp_path / "pre")
    assert base.load_report.missing == []
    assert set(base.load_report.unexpected) == {n for n in canonical_specs(base.config, Head.PRETRAINING)
                                                if not n.startswith("albert.")}
    base.save_pretrained(tmp_path / "base")
    # a base model is saved without the albert. prefix, like transformers' AlbertModel
    raw = read_checkpoint(tmp_path / "base")
    assert "albert.pooler.weight" in raw.state
    qa = MODEL_CLASSES[Head.QUESTION_ANSWERING].from_pretrained(tmp_path / "base")
    assert qa.load_report.missing == ["qa_outputs.weight", "qa_outputs.bias"]
    with pytest.raises(CheckpointError, match="does not match the model exactly"):
        MODEL_CLASSES[Head.QUESTION_ANSWERING].from_pretrained(tmp_path / "base", strict=True)


def test_shape_mismatch_is_a_checkpoint_error(models, tmp_path):
    models[Head.BASE].save_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="shape mismatch"):
        TFAlbertModel.from_pretrained(tmp_path, config=tiny_config(hidden_size=16))


# ---------------------------------------------------------------------------------------------------------------------
# outputs and losses


@pytest.mark.parametrize("head", HEADS, ids=[h.value for h in HEADS])
def test_output_shapes_and_fields(models, head):
    model = models[head]
    config = model.config
    inputs = make_inputs(config, head)
    out = model(**inputs, **make_labels(config, head), output_hidden_states=True, output_attentions=True)
    b, s = 2, 7
    n = b * 3 if head is Head.MULTIPLE_CHOICE else b
    assert len(out.hidden_states) == config.num_hidden_layers + 1
    assert all(tuple(h.shape) == (n, s, config.hidden_size) for h in out.hidden_states)
    assert all(tuple(a.shape) == (n, config.num_attention_heads, s, s) for a in out.attentions)
    expected = {
        Head.BASE: {"last_hidden_state": (b, s, 32), "pooler_output": (b, 32)},
        Head.PRETRAINING: {"prediction_logits": (b, s, 99), "sop_logits": (b, 2)},
        Head.MASKED_LM: {"logits": (b, s, 99)},
        Head.SEQUENCE_CLASSIFICATION: {"logits": (b, 3)},
        Head.MULTIPLE_CHOICE: {"logits": (b, 3)},
        Head.TOKEN_CLASSIFICATION: {"logits": (b, s, 3)},
        Head.QUESTION_ANSWERING: {"start_logits": (b, s), "end_logits": (b, s)},
    }[head]
    for key, shape in expected.items():
        assert tuple(out[key].shape) == shape, key
        assert out[key].dtype == tf.float32
    if head is not Head.BASE:
        assert out.loss.shape == () and np.isfinite(float(out.loss))
        assert out[0] is out.loss  # tuple access, as the core outputs promise
    # padded keys get exactly zero attention
    np.testing.assert_array_equal(out.attentions[0].numpy()[1, :, :, 4:], 0.0) if head is not \
        Head.MULTIPLE_CHOICE else None


def test_dict_first_argument_and_inputs_embeds(models):
    model = models[Head.MASKED_LM]
    inputs = make_inputs(model.config, Head.MASKED_LM)
    labels = make_labels(model.config, Head.MASKED_LM)
    a = model(**inputs, **labels)
    b = model({**inputs, **labels})
    np.testing.assert_array_equal(a.logits, b.logits)
    assert float(a.loss) == float(b.loss)
    table = model.canonical_variables()["albert.embeddings.word_embeddings.weight"].numpy()
    c = model(inputs_embeds=table[inputs["input_ids"]], attention_mask=inputs["attention_mask"],
              token_type_ids=inputs["token_type_ids"])
    np.testing.assert_allclose(a.logits, c.logits, atol=1e-6)
    with pytest.raises(InputError, match="unknown input names"):
        model({**inputs, "bogus": inputs["input_ids"]})


def _np_ce(logits, labels, ignore=-100):
    logits = logits.reshape(-1, logits.shape[-1]).astype(np.float64)
    labels = labels.reshape(-1)
    keep = labels != ignore
    logz = np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1)) + logits.max(-1)
    nll = logz - logits[np.arange(len(labels)), np.where(keep, labels, 0)]
    return nll[keep].mean()


def test_losses_match_numpy(models):
    for head in (Head.MASKED_LM, Head.TOKEN_CLASSIFICATION, Head.MULTIPLE_CHOICE):
        model = models[head]
        inputs, labels = make_inputs(model.config, head), make_labels(model.config, head)
        out = model(**inputs, **labels)
        np.testing.assert_allclose(float(out.loss), _np_ce(out.logits.numpy(), labels["labels"]), rtol=1e-5)
    pre = models[Head.PRETRAINING]
    inputs, labels = make_inputs(pre.config, Head.PRETRAINING), make_labels(pre.config, Head.PRETRAINING)
    out = pre(**inputs, **labels)
    expected = _np_ce(out.prediction_logits.numpy(), labels["labels"]) + _np_ce(out.sop_logits.numpy(),
                                                                                labels["sentence_order_label"])
    np.testing.assert_allclose(float(out.loss), expected, rtol=1e-5)
    only_mlm = pre(**inputs, labels=labels["labels"])
    np.testing.assert_allclose(float(only_mlm.loss), _np_ce(out.prediction_logits.numpy(), labels["labels"]),
                               rtol=1e-5)
    qa = models[Head.QUESTION_ANSWERING]
    inputs = make_inputs(qa.config, Head.QUESTION_ANSWERING)
    out = qa(**inputs, start_positions=np.array([1, -5]), end_positions=np.array([99, 2]))
    # -5 is clamped to 0 (kept), 99 to seq=7 (ignored)
    start = _np_ce(out.start_logits.numpy(), np.array([1, 0]))
    end = _np_ce(out.end_logits.numpy(), np.array([7, 2]), ignore=7)
    np.testing.assert_allclose(float(out.loss), (start + end) / 2, rtol=1e-5)


def test_sequence_classification_problem_types():
    base = tiny_config()
    ids = np.array([[2, 5, 6, 3], [2, 7, 3, 0]])
    reg = MODEL_CLASSES[Head.SEQUENCE_CLASSIFICATION](base.copy(num_labels=1))
    out = reg(ids, labels=np.array([0.5, -1.0], dtype=np.float32))
    np.testing.assert_allclose(float(out.loss), np.mean((out.logits.numpy()[:, 0] - [0.5, -1.0]) ** 2), rtol=1e-5)
    multi = MODEL_CLASSES[Head.SEQUENCE_CLASSIFICATION](base)
    targets = np.array([[1, 0, 1], [0, 0, 1]], dtype=np.float32)
    out = multi(ids, labels=targets)
    x = out.logits.numpy().astype(np.float64)
    bce = np.maximum(x, 0) - x * targets + np.log1p(np.exp(-np.abs(x)))
    np.testing.assert_allclose(float(out.loss), bce.mean(), rtol=1e-5)
    single = multi(ids, labels=np.array([2, 0]))
    np.testing.assert_allclose(float(single.loss), _np_ce(single.logits.numpy(), np.array([2, 0])), rtol=1e-5)
    forced = MODEL_CLASSES[Head.SEQUENCE_CLASSIFICATION](base.copy(problem_type="regression"))
    out = forced(ids, labels=targets)
    np.testing.assert_allclose(float(out.loss), np.mean((out.logits.numpy() - targets) ** 2), rtol=1e-5)


def test_head_mask_zero_silences_heads(models):
    model = models[Head.BASE]
    ids = np.array([[2, 5, 6, 3]])
    mask = np.ones((3, 4), dtype=np.float32)
    mask[1, 2] = 0.0
    out = model(ids, head_mask=mask, output_attentions=True)
    assert not np.any(out.attentions[1].numpy()[:, 2])
    assert np.all(out.attentions[0].numpy().sum(-1) > 0.99)
    one_d = model(ids, head_mask=np.ones(4, np.float32))
    np.testing.assert_allclose(one_d.last_hidden_state, model(ids).last_hidden_state, atol=1e-6)


def test_training_dropout_is_active_and_eval_deterministic():
    config = tiny_config(hidden_dropout_prob=0.3, attention_probs_dropout_prob=0.3)
    model = MODEL_CLASSES[Head.SEQUENCE_CLASSIFICATION](config)
    ids = np.array([[2, 5, 6, 3, 9, 10]])
    e1, e2 = model(ids).logits.numpy(), model(ids).logits.numpy()
    np.testing.assert_array_equal(e1, e2)
    t1 = model(ids, training=True).logits.numpy()
    assert not np.allclose(t1, e1)


# ---------------------------------------------------------------------------------------------------------------------
# initialisation and activations


def test_initialisation_is_the_originals():
    config = tiny_config(vocab_size=500, initializer_range=0.05)
    state = MODEL_CLASSES[Head.PRETRAINING](config).canonical_state()
    for name, spec in canonical_specs(config, Head.PRETRAINING).items():
        value = state[name]
        role = spec.role.value
        if role == "norm_scale":
            assert np.all(value == 1.0), name
        elif role in ("norm_shift", "bias"):
            assert np.all(value == 0.0), name
        else:
            assert np.abs(value).max() <= 2 * 0.05 + 1e-7, name  # truncated at two standard deviations
            if value.size > 1000:
                assert 0.6 * 0.05 < value.std() < 0.05, name  # a truncated normal's std is ~0.88 sigma


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_activation_formulas(act):
    x = np.linspace(-5, 5, 41).astype(np.float64)
    erf = np.vectorize(math.erf)
    sig = 1 / (1 + np.exp(-x))
    tanh_gelu = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    expected = {
        "gelu": 0.5 * x * (1 + erf(x / math.sqrt(2))),
        "gelu_new": tanh_gelu,
        "gelu_pytorch_tanh": tanh_gelu,
        "gelu_fast": tanh_gelu,
        "quick_gelu": x / (1 + np.exp(-1.702 * x)),
        "relu": np.maximum(x, 0),
        "relu6": np.clip(x, 0, 6),
        "silu": x * sig,
        "swish": x * sig,
        "mish": x * np.tanh(np.log1p(np.exp(x))),
        "tanh": np.tanh(x),
        "sigmoid": sig,
        "linear": x,
    }[act]
    got = tf_modeling.get_activation(act)(tf.constant(x, tf.float64)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-6)


# ---------------------------------------------------------------------------------------------------------------------
# tf.function with dynamic shapes


def test_dynamic_batch_and_sequence_in_tf_function(models):
    model = models[Head.SEQUENCE_CLASSIFICATION]
    spec = tf.TensorSpec([None, None], tf.int32)

    @tf.function(input_signature=[spec, spec, spec])
    def forward(ids, mask, types):
        return model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits

    for b, s in ((1, 3), (4, 11)):
        ids = np.random.default_rng(b).integers(1, 99, size=(b, s)).astype(np.int32)
        mask, types = np.ones_like(ids), np.zeros_like(ids)
        np.testing.assert_allclose(forward(ids, mask, types), model(ids, attention_mask=mask,
                                                                    token_type_ids=types).logits, atol=1e-5)
    assert len(forward._list_all_concrete_functions()) == 1  # no retracing for new shapes


def test_relative_positions_dynamic_shapes():
    model = MODEL_CLASSES[Head.MASKED_LM](tiny_config(position_embedding_type="relative_key_query"))

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
    def forward(ids):
        return model(input_ids=ids).logits

    ids = np.array([[2, 5, 6, 3, 8]], dtype=np.int32)
    np.testing.assert_allclose(forward(ids), model(ids).logits, atol=1e-5)


# ---------------------------------------------------------------------------------------------------------------------
# bad inputs: the same InputError messages as albert_pt


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"input_ids": np.zeros(5, dtype=np.int64)}, r"input_ids must have shape \[batch, seq\], got rank 1"),
        ({"input_ids": np.zeros((1, 2, 3), dtype=np.int64)}, r"got rank 3"),
        ({"input_ids": np.array([[1, 99]])}, r"input_ids contains id 99, outside \[0, vocab_size=99\)"),
        ({"input_ids": np.array([[1, -1]])}, r"input_ids contains the negative id -1"),
        ({"input_ids": np.ones((1, 65), dtype=np.int64)}, r"sequence length 65 exceeds max_position_embeddings=64"),
        ({"input_ids": np.ones((2, 4), dtype=np.int64), "attention_mask": np.ones((2, 5))},
         r"attention_mask must have shape \[batch, seq\] = \[2, 4\]"),
        ({"input_ids": np.ones((2, 4), dtype=np.int64), "token_type_ids": np.full((2, 4), 2)},
         r"token_type_ids contains id 2, outside \[0, type_vocab_size=2\)"),
        ({"input_ids": np.ones((2, 4), dtype=np.int64), "position_ids": np.full((2, 4), 64)},
         r"position_ids contains id 64, outside \[0, max_position_embeddings=64\)"),
        ({"input_ids": np.ones((2, 4), dtype=np.float32)}, r"input_ids must be an integer tensor"),
        ({"input_ids": None}, r"exactly one of input_ids and inputs_embeds"),
        ({"input_ids": np.ones((2, 4), dtype=np.int64), "head_mask": np.ones(3)}, r"head_mask must have shape"),
        ({"inputs_embeds": np.ones((2, 4, 7), dtype=np.float32)}, r"inputs_embeds must have shape"),
    ],
)
def test_bad_inputs_raise_input_error(models, kwargs, match):
    with pytest.raises(InputError, match=match):
        models[Head.BASE](**kwargs)


def test_bad_labels_and_choice_inputs(models):
    ids = np.ones((2, 4), dtype=np.int64)
    with pytest.raises(InputError, match=r"labels must have shape \[2, 4\]"):
        models[Head.MASKED_LM](ids, labels=np.ones((2, 5), dtype=np.int64))
    with pytest.raises(InputError, match=r"labels must have shape \[2\]"):
        models[Head.SEQUENCE_CLASSIFICATION](ids, labels=np.ones(3, dtype=np.int64))
    with pytest.raises(InputError, match=r"multiple-choice input_ids must have shape \[batch, num_choices, seq\]"):
        models[Head.MULTIPLE_CHOICE](ids)
    with pytest.raises(InputError, match=r"input_ids contains id 99"):
        models[Head.MULTIPLE_CHOICE](np.full((1, 2, 3), 99))


def test_graph_mode_checks_static_shapes(models):
    model = models[Head.BASE]

    @tf.function(input_signature=[tf.TensorSpec([None, None, None], tf.int32)], autograph=False)
    def wrong_rank(ids):
        return model(input_ids=ids).last_hidden_state

    with pytest.raises(InputError, match="got rank 3"):
        wrong_rank.get_concrete_function()


# ---------------------------------------------------------------------------------------------------------------------
# docstring examples


def test_docstring_examples_run():
    for module in (tf_modeling, albert_tf):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, f"{module.__name__}: {result.failed} doctest failures"
        assert result.attempted > 0
