"""albert_tf specifics: the Keras API surface, the canonical variable map, bfloat16 checkpoints, dict inputs,
activations, dynamic shapes and static checks in tf.function, and the docstring examples.

The behaviour albert_tf shares with albert_pt (output fields, losses, bad inputs and labels, head masks, padding,
checkpoint round trips and partial loads, initialisation, dropout) is tested in ``test_backend_contract.py``."""

from __future__ import annotations

import doctest
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import albert_tf
from albert_core import ACTIVATIONS, Head, InputError, canonical_specs
from albert_core.checkpoints import read_checkpoint
from albert_tf import MODEL_CLASSES, TFAlbertForPreTrainingOutput, TFAlbertModel
from albert_tf import modeling as tf_modeling
from conftest import CONFIG_MATRIX
from factory import build, config_for, make_inputs, make_labels, random_state

HEADS = list(Head)


@pytest.fixture(scope="module")
def models():
    """One model per head on the factory's config, with random weights (shared by the module's tests)."""
    out = {}
    for head in HEADS:
        config = config_for(head)
        out[head] = build("tf", head, config, random_state(config, head, seed=1))
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
    for head in (Head.PRETRAINING, Head.MULTIPLE_CHOICE, Head.QUESTION_ANSWERING):
        config = config_for(head, name)
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
    config = config_for(Head.BASE, num_hidden_layers=2, num_hidden_groups=2, inner_group_num=3)
    model = TFAlbertModel(config)
    out = model(np.array([[2, 5, 6, 3]]), output_attentions=True, output_hidden_states=True)
    assert len(out.attentions) == 2 * 3 and len(out.hidden_states) == 3


# ---------------------------------------------------------------------------------------------------------------------
# checkpoints


def test_bfloat16_save_and_pretraining_config(tmp_path):
    # the float32 round trip of every head is a contract test; here a bfloat16 file, from a pretraining model whose
    # config says num_labels=3
    head = Head.PRETRAINING
    config = config_for(head, num_labels=3)
    model = build("tf", head, config, random_state(config, head, seed=1))
    model.save_pretrained(tmp_path, dtype="bfloat16")
    assert (tmp_path / "config.json").is_file() and (tmp_path / "model.safetensors").is_file()
    contents = read_checkpoint(tmp_path)
    # the core writes num_labels=2 for the pretraining head (its SOP classifier always has two classes)
    assert contents.config.to_dict() == model.config.copy(num_labels=2).to_dict()
    again = MODEL_CLASSES[head].from_pretrained(tmp_path, strict=True)
    a, b = model.canonical_state(), again.canonical_state()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1 / 128, atol=1e-6, err_msg=key)


# ---------------------------------------------------------------------------------------------------------------------
# Keras call conventions


def test_dict_first_argument(models):
    model = models[Head.MASKED_LM]
    inputs = make_inputs(model.config, Head.MASKED_LM)
    labels = make_labels(model.config, Head.MASKED_LM)
    a = model(**inputs, **labels)
    b = model({**inputs, **labels})
    np.testing.assert_array_equal(a.logits, b.logits)
    assert float(a.loss) == float(b.loss)
    with pytest.raises(InputError, match="unknown input names"):
        model({**inputs, "bogus": inputs["input_ids"]})


# ---------------------------------------------------------------------------------------------------------------------
# activations


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
    model = MODEL_CLASSES[Head.MASKED_LM](config_for(Head.MASKED_LM, "relative_key_query"))

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
    def forward(ids):
        return model(input_ids=ids).logits

    ids = np.array([[2, 5, 6, 3, 8]], dtype=np.int32)
    np.testing.assert_allclose(forward(ids), model(ids).logits, atol=1e-5)


# ---------------------------------------------------------------------------------------------------------------------
# errors specific to albert_tf: activations by name, static shapes in graph mode


def test_unknown_activation_is_an_input_error():
    with pytest.raises(InputError, match="unknown activation 'bogus'"):
        tf_modeling.get_activation("bogus")


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
