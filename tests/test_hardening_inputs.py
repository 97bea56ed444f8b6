"""Model inputs are checked once, in :mod:`albert_core.validation`, with the same messages in both backends.

Ids of any integer dtype are range-checked on their original values before any cast (a uint64 ``2**32 + 5`` must
not run as id 5); float, bool, complex and string ids are rejected; an attention mask must hold only 0/1 (or be
boolean). Small integer dtypes give exactly the results of int64 inputs. ``from_pretrained(strict=True)`` rejects
NaN/inf weights in both backends.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from albert_core import AlbertConfig, CheckpointError, Head, InputError
from albert_core.errors import NonFiniteWeightsWarning

from factory import BACKENDS, build, config_for, make_inputs, random_state, run, to_numpy

BASE = Head.BASE


@pytest.fixture(scope="module")
def config() -> AlbertConfig:
    return config_for(BASE)


@pytest.fixture(scope="module")
def models(config):
    state = random_state(config, BASE)
    return {backend: build(backend, BASE, config, state) for backend in BACKENDS}


def _message(exc: BaseException) -> str:
    # Keras wraps an error raised in ``call`` with the call's arguments; the library's error is its context
    while getattr(exc, "_keras_call_info_injected", False) and isinstance(exc.__context__, InputError):
        exc = exc.__context__
    return str(exc)


def _error(backend, model, arrays) -> str:
    with pytest.raises(InputError) as info:
        run(backend, model, arrays)
    return _message(info.value)


def _ids(config, dtype, value=None) -> np.ndarray:
    ids = make_inputs(config, BASE)["input_ids"]
    if value is not None:
        ids = ids.copy()
        ids[0, 1] = 0  # keeps the minimum in range: the message then reports the large id
        ids[1, 2] = value
    return ids.astype(dtype) if value is None else np.array(ids.tolist(), dtype=dtype)


# (case id, inputs beyond input_ids or replacing them, expected message start); ``V`` is replaced by vocab_size
def _bad_cases(config):
    v = config.vocab_size
    ok = make_inputs(config, BASE)
    ids, mask = ok["input_ids"], ok["attention_mask"]
    big = np.array(ids.tolist(), dtype=np.uint64)
    big[1, 2] = 2**32 + 5  # wraps to id 5 in a 32-bit cast
    huge = big.copy()
    huge[1, 2] = 2**64 - 1  # wraps to -1 in an int64 cast
    u32 = np.array(ids.tolist(), dtype=np.uint32)
    u32[1, 2] = 2**31 + 5  # wraps to a negative int32
    neg8 = np.zeros_like(ids, dtype=np.int8)
    neg8[0, 0] = -1

    def with_mask(value, dtype):
        m = mask.astype(dtype)
        m[0, 3] = value
        return {"input_ids": ids, "attention_mask": m}

    return [
        ("ids_float32", {"input_ids": ids.astype(np.float32)},
         "input_ids must be an integer tensor, got dtype float32"),
        ("ids_float16", {"input_ids": ids.astype(np.float16)},
         "input_ids must be an integer tensor, got dtype float16"),
        ("ids_bool", {"input_ids": ids > 5}, "input_ids must be an integer tensor, got dtype bool"),
        ("ids_complex", {"input_ids": ids.astype(np.complex64)},
         "input_ids must be an integer tensor, got dtype complex64"),
        ("types_bool", {"input_ids": ids, "token_type_ids": ok["token_type_ids"] > 0},
         "token_type_ids must be an integer tensor, got dtype bool"),
        ("positions_float64", {"input_ids": ids, "position_ids": np.zeros(ids.shape, np.float64)},
         "position_ids must be an integer tensor, got dtype float64"),
        ("ids_uint64_2**32+5", {"input_ids": big}, f"input_ids contains id {2**32 + 5}, outside [0, vocab_size={v})"),
        ("ids_uint64_max", {"input_ids": huge}, f"input_ids contains id {2**64 - 1}, outside [0, vocab_size={v})"),
        ("ids_uint32_2**31+5", {"input_ids": u32}, f"input_ids contains id {2**31 + 5}, outside [0, vocab_size={v})"),
        ("types_int8_negative", {"input_ids": ids, "token_type_ids": neg8},
         "token_type_ids contains the negative id -1"),
        ("mask_2", with_mask(2, np.int64), "attention_mask must hold only 0 and 1 (or booleans), got 2 (1 value "),
        ("mask_minus1", with_mask(-1, np.int32),
         "attention_mask must hold only 0 and 1 (or booleans), got -1 (1 value "),
        ("mask_half", with_mask(0.5, np.float32), "attention_mask must hold only 0 and 1 (or booleans), got 0.5"),
        ("mask_nan", with_mask(np.nan, np.float32), "attention_mask must hold only 0 and 1 (or booleans), got nan"),
        ("mask_inf", with_mask(np.inf, np.float32), "attention_mask must hold only 0 and 1 (or booleans), got inf"),
        ("mask_float_2", with_mask(2.0, np.float64), "attention_mask must hold only 0 and 1 (or booleans), got 2 "),
        ("mask_uint64_max", with_mask(2**64 - 1, np.uint64),
         f"attention_mask must hold only 0 and 1 (or booleans), got {2**64 - 1}"),
        ("mask_uint8_255", with_mask(255, np.uint8), "attention_mask must hold only 0 and 1 (or booleans), got 255"),
        ("mask_complex", {"input_ids": ids, "attention_mask": mask.astype(np.complex64)},
         "attention_mask must be a boolean, integer or float tensor of 0 and 1, got dtype complex64"),
    ]


BAD_IDS = [c[0] for c in _bad_cases(config_for(BASE))]


@pytest.mark.parametrize("case_id", BAD_IDS)
def test_bad_inputs_raise_the_same_input_error_in_both_backends(models, config, case_id):
    _, arrays, expected = {c[0]: c for c in _bad_cases(config)}[case_id]
    messages = {backend: _error(backend, models[backend], arrays) for backend in BACKENDS}
    assert messages["pt"] == messages["tf"], messages
    assert messages["pt"].startswith(expected), messages["pt"]


def test_string_ids_raise_input_error_in_tensorflow(models):
    import tensorflow as tf

    for name in ("input_ids", "token_type_ids", "position_ids"):
        arrays = {"input_ids": tf.constant([[2, 5, 3]]), name: tf.constant([["a", "b", "c"]])}
        with pytest.raises(InputError) as info:
            models["tf"](**arrays)
        assert _message(info.value) == f"{name} must be an integer tensor, got dtype string"
    with pytest.raises(InputError) as info:
        models["tf"](input_ids=tf.constant([[2, 5, 3]]), attention_mask=tf.constant([["1", "1", "0"]]))
    assert _message(info.value).startswith("attention_mask must be a boolean, integer or float tensor")


def test_tensorflow_rejects_wrapping_numpy_ids_passed_directly(models, config):
    # numpy arrays (not tensors) took the same int32 cast
    ids = np.array([[2, 5, 3]], dtype=np.uint64)
    ids[0, 1] = 2**32 + 5
    with pytest.raises(InputError) as info:
        models["tf"](ids)
    assert _message(info.value).startswith(f"input_ids contains id {2**32 + 5}, outside")


SMALL_DTYPES = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "uint64"]


@pytest.mark.parametrize("dtype", SMALL_DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_any_integer_id_dtype_gives_the_int64_result(models, config, backend, dtype):
    arrays = make_inputs(config, BASE)
    arrays["position_ids"] = np.broadcast_to(np.arange(arrays["input_ids"].shape[1]), arrays["input_ids"].shape)
    expected = to_numpy(run(backend, models[backend], arrays).last_hidden_state)
    got = to_numpy(run(backend, models[backend], {k: v.astype(dtype) for k, v in arrays.items()}).last_hidden_state)
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["bool", "float32", "float16", "uint8", "int8"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_binary_masks_of_any_dtype_give_the_same_result(models, config, backend, dtype):
    arrays = make_inputs(config, BASE)
    expected = to_numpy(run(backend, models[backend], arrays).last_hidden_state)
    got = to_numpy(run(backend, models[backend], {**arrays, "attention_mask": arrays["attention_mask"].astype(dtype)})
                   .last_hidden_state)
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_heads_check_through_the_backbone(config, backend):
    mc_config = config_for(Head.MULTIPLE_CHOICE)
    model = build(backend, Head.MULTIPLE_CHOICE, mc_config, random_state(mc_config, Head.MULTIPLE_CHOICE))
    arrays = make_inputs(mc_config, Head.MULTIPLE_CHOICE)
    expected = to_numpy(run(backend, model, arrays).logits)
    got = to_numpy(run(backend, model, {k: v.astype(np.uint8) for k, v in arrays.items()}).logits)
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=1e-6)
    bad_mask = arrays["attention_mask"].copy()
    bad_mask[0, 0, 0] = 3
    assert _error(backend, model, {**arrays, "attention_mask": bad_mask}).startswith(
        "attention_mask must hold only 0 and 1 (or booleans), got 3")


@pytest.mark.parametrize("backend", BACKENDS)
def test_from_pretrained_strict_rejects_non_finite_weights(tmp_path, config, backend):
    model = build(backend, BASE, config, random_state(config, BASE))
    model.save_pretrained(tmp_path)
    state = random_state(config, BASE)
    name = "albert.embeddings.word_embeddings.weight"
    state[name][3, 1] = np.nan
    bad = build(backend, BASE, config, state)
    bad.save_pretrained(tmp_path / "bad")
    cls = type(model)
    with pytest.raises(CheckpointError, match="word_embeddings"):
        cls.from_pretrained(tmp_path / "bad", strict=True)
    with pytest.warns(NonFiniteWeightsWarning):
        cls.from_pretrained(tmp_path / "bad")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cls.from_pretrained(tmp_path, strict=True)  # finite weights load strictly without a word
