"""albert_pt checkpoints: transformers round trips, cross-head loading, unsafe and mismatched files."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch

from albert_core import CheckpointError, Head, canonical_specs
from albert_core.checkpoint import read_safetensors
from albert_core.heads import HEADS
from albert_pt import MODEL_CLASSES, AlbertModel
from conftest import tiny_config
from test_pt_models import (
    HEADS,
    MAIN_KEYS,
    assert_close,
    compare_outputs,
    forward_both,
    head_config,
    hf_model,
    make_inputs,
    randomize,
)

transformers = pytest.importorskip("transformers")

HEAD_TENSORS = {
    head: sorted(set(canonical_specs(tiny_config(), head)) - set(canonical_specs(tiny_config(), Head.BASE)))
    for head in Head
}


@pytest.mark.parametrize("head", HEADS, ids=[h.value for h in HEADS])
def test_our_checkpoint_loads_in_hf_and_matches(matrix_config, head, tmp_path):
    config = head_config(matrix_config, head)
    torch.manual_seed(1)
    ours = randomize(MODEL_CLASSES[head](config), seed=1).eval()
    ours.save_pretrained(tmp_path)
    cls = getattr(transformers, HEADS[head].hf_class)
    ref, info = cls.from_pretrained(tmp_path, attn_implementation="eager", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    ref.eval()
    out, expected = forward_both(ours, ref, config, head)
    compare_outputs(out, expected, config)


def test_saved_names_are_hf_names(tmp_path):
    config = tiny_config()
    AlbertModel(config).save_pretrained(tmp_path / "base")
    names, _ = read_safetensors(tmp_path / "base" / "model.safetensors")
    assert "embeddings.word_embeddings.weight" in names and not any(n.startswith("albert.") for n in names)
    MODEL_CLASSES[Head.PRETRAINING](config).save_pretrained(tmp_path / "pt")
    names, _ = read_safetensors(tmp_path / "pt" / "model.safetensors")
    assert set(names) == set(canonical_specs(config, Head.PRETRAINING))


@pytest.mark.parametrize("head", [h for h in HEADS if h is not Head.BASE], ids=lambda h: h.value)
def test_base_checkpoint_loads_into_every_head(head, tmp_path):
    config = head_config(tiny_config(), head)
    base = randomize(AlbertModel(config)).eval()
    base.save_pretrained(tmp_path)
    with pytest.warns(UserWarning, match="newly initialised"):
        model = MODEL_CLASSES[head].from_pretrained(tmp_path)
    report = model.load_report
    assert sorted(report.missing) == HEAD_TENSORS[head]
    expected_unexpected = [] if HEADS[head].pooler else ["albert.pooler.bias", "albert.pooler.weight"]
    assert sorted(report.unexpected) == expected_unexpected
    ours, theirs = model.canonical_state(), base.canonical_state()
    for name in ours:
        if name in theirs:
            np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)
    # the backbone output is the base model's
    inputs = make_inputs(config, Head.BASE)
    if head is not Head.MULTIPLE_CHOICE:
        with torch.no_grad():
            hidden = model.albert(**inputs).last_hidden_state
            assert_close(hidden, base(**inputs).last_hidden_state, "backbone")


@pytest.mark.parametrize("head", [h for h in HEADS if h is not Head.BASE], ids=lambda h: h.value)
def test_head_checkpoint_loads_into_base_model(head, tmp_path):
    config = head_config(tiny_config(), head)
    model = randomize(MODEL_CLASSES[head](config)).eval()
    model.save_pretrained(tmp_path)
    with pytest.warns(UserWarning):
        base = AlbertModel.from_pretrained(tmp_path)
    report = base.load_report
    assert sorted(report.unexpected) == HEAD_TENSORS[head]
    assert report.missing == ([] if HEADS[head].pooler else ["albert.pooler.weight", "albert.pooler.bias"])
    inputs = make_inputs(config, Head.BASE)
    if head is not Head.MULTIPLE_CHOICE:
        with torch.no_grad():
            assert_close(base(**inputs).last_hidden_state, model.albert(**inputs).last_hidden_state, "backbone")


@pytest.mark.parametrize("head", [Head.BASE, Head.PRETRAINING, Head.QUESTION_ANSWERING], ids=lambda h: h.value)
def test_hf_pytorch_bin_loads(head, tmp_path):
    config = head_config(tiny_config(), head)
    ref = hf_model(config, head)
    ref.save_pretrained(tmp_path, safe_serialization=False)
    assert (tmp_path / "pytorch_model.bin").is_file() and not (tmp_path / "model.safetensors").exists()
    ours = MODEL_CLASSES[head].from_pretrained(tmp_path, strict=True)
    inputs = make_inputs(config, head)
    with torch.no_grad():
        compare_outputs(ours(**inputs), ref(**inputs), config, MAIN_KEYS.get(head, ["logits"]))


class _Payload:
    """Unpickling this would run code (create a marker file)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_malicious_pickle_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    state = AlbertModel(tiny_config()).state_dict()
    state["evil"] = _Payload(marker)
    torch.save(state, tmp_path / "pytorch_model.bin")
    tiny_config().save_pretrained(tmp_path)
    assert not marker.exists()
    with pytest.raises(CheckpointError, match="refused to unpickle"):
        AlbertModel.from_pretrained(tmp_path)
    assert not marker.exists()
    # a plain pickle (not a torch zip archive) with a payload is refused too
    with open(tmp_path / "pytorch_model.bin", "wb") as handle:
        pickle.dump({"x": _Payload(marker)}, handle)
    with pytest.raises(CheckpointError):
        AlbertModel.from_pretrained(tmp_path)
    assert not marker.exists()


def test_shape_mismatch_names_tensor_and_shapes(tmp_path):
    AlbertModel(tiny_config()).save_pretrained(tmp_path)
    with pytest.raises(CheckpointError,
                       match=r"embeddings\.word_embeddings\.weight: checkpoint \(99, 16\) vs model \(50, 16\)"):
        AlbertModel.from_pretrained(tmp_path, config=tiny_config(vocab_size=50))
    MODEL_CLASSES[Head.SEQUENCE_CLASSIFICATION](tiny_config()).save_pretrained(tmp_path / "cls")
    with pytest.raises(CheckpointError, match=r"classifier\.weight: checkpoint \(3, 32\) vs model \(5, 32\)"):
        MODEL_CLASSES[Head.SEQUENCE_CLASSIFICATION].from_pretrained(tmp_path / "cls", config=tiny_config(num_labels=5))


def test_strict_raises_on_missing_and_unexpected(tmp_path):
    AlbertModel(tiny_config()).save_pretrained(tmp_path / "base")
    with pytest.raises(CheckpointError, match="newly initialised.*predictions"):
        MODEL_CLASSES[Head.MASKED_LM].from_pretrained(tmp_path / "base", strict=True)
    MODEL_CLASSES[Head.MASKED_LM](tiny_config()).save_pretrained(tmp_path / "mlm")
    with pytest.raises(CheckpointError, match="unused.*predictions"):
        AlbertModel.from_pretrained(tmp_path / "mlm", strict=True)


def test_exact_load_has_no_warning_and_round_trips(tmp_path):
    config = tiny_config()
    model = randomize(MODEL_CLASSES[Head.PRETRAINING](config.copy(num_labels=2)))
    model.save_pretrained(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = MODEL_CLASSES[Head.PRETRAINING].from_pretrained(tmp_path)
    a, b = model.canonical_state(), loaded.canonical_state()
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert loaded.albert.embeddings.word_embeddings.weight.data_ptr() != 0


def test_bfloat16_save(tmp_path):
    model = randomize(AlbertModel(tiny_config()))
    model.save_pretrained(tmp_path, dtype="bfloat16")
    loaded = AlbertModel.from_pretrained(tmp_path)
    for name, array in model.canonical_state().items():
        np.testing.assert_allclose(loaded.canonical_state()[name], array, rtol=1e-2, atol=1e-3, err_msg=name)


def test_canonical_state_and_load_canonical_state():
    config = tiny_config()
    model = randomize(AlbertModel(config))
    state = model.canonical_state()
    assert set(state) == set(canonical_specs(config, Head.BASE))
    assert all(a.dtype == np.float32 for a in state.values())
    state["albert.pooler.bias"][:] = 7.0  # a copy: the model is untouched
    assert not torch.any(model.pooler.bias == 7.0)
    other = AlbertModel(config)
    report = other.load_canonical_state(state)
    assert report.missing == [] and report.unexpected == []
    assert torch.all(other.pooler.bias == 7.0)
    # canonical names without the prefix (as a stand-alone HF base model saves them) load too
    bare = {k[len("albert."):]: v for k, v in state.items()}
    assert AlbertModel(config).load_canonical_state(bare).missing == []
