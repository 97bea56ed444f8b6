"""albert_pt checkpoints: transformers round trips, PyTorch file formats (pytorch_model.bin, unsafe pickles),
state_dict naming, bfloat16 files and canonical states.

Partial loads between heads, shape mismatches and warning-free exact loads are shared with albert_tf and tested in
``test_backend_contract.py``."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from albert_core import CheckpointError, Head, canonical_specs
from albert_core.checkpoints import read_safetensors
from albert_pt import MODEL_CLASSES, AlbertModel
from conftest import CONFIG_MATRIX
from factory import build, config_for, make_batch, random_state
from oracles import compare_outputs, forward_both, hf_model, hf_pt_class, main_keys

HEADS = list(Head)


@pytest.mark.parametrize("head", HEADS, ids=[h.value for h in HEADS])
@pytest.mark.parametrize("name", sorted(CONFIG_MATRIX))
def test_our_checkpoint_loads_in_hf_and_matches(name, head, tmp_path):
    config = config_for(head, name)
    ours = build("pt", head, config, random_state(config, head, seed=1))
    ours.save_pretrained(tmp_path)
    ref, info = hf_pt_class(head).from_pretrained(tmp_path, attn_implementation="eager", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    ref.eval()
    out, expected = forward_both(ours, ref, config, head)
    compare_outputs(out, expected, config)


def test_saved_names_are_hf_names(tmp_path):
    config = config_for(Head.BASE)
    AlbertModel(config).save_pretrained(tmp_path / "base")
    names, _ = read_safetensors(tmp_path / "base" / "model.safetensors")
    assert "embeddings.word_embeddings.weight" in names and not any(n.startswith("albert.") for n in names)
    MODEL_CLASSES[Head.PRETRAINING](config).save_pretrained(tmp_path / "pt")
    names, _ = read_safetensors(tmp_path / "pt" / "model.safetensors")
    assert set(names) == set(canonical_specs(config, Head.PRETRAINING))


@pytest.mark.parametrize("head", [Head.BASE, Head.PRETRAINING, Head.QUESTION_ANSWERING], ids=lambda h: h.value)
def test_hf_pytorch_bin_loads(head, tmp_path):
    config = config_for(head)
    ref = hf_model(config, head)
    ref.save_pretrained(tmp_path, safe_serialization=False)
    assert (tmp_path / "pytorch_model.bin").is_file() and not (tmp_path / "model.safetensors").exists()
    ours = MODEL_CLASSES[head].from_pretrained(tmp_path, strict=True)
    inputs = make_batch("pt", config, head)
    with torch.no_grad():
        compare_outputs(ours(**inputs), ref(**inputs), config, main_keys(head))


class _Payload:
    """Unpickling this would run code (create a marker file)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_malicious_pickle_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    config = config_for(Head.BASE)
    state = AlbertModel(config).state_dict()
    state["evil"] = _Payload(marker)
    torch.save(state, tmp_path / "pytorch_model.bin")
    config.save_pretrained(tmp_path)
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


def test_strict_raises_on_missing_and_unexpected(tmp_path):
    AlbertModel(config_for(Head.BASE)).save_pretrained(tmp_path / "base")
    with pytest.raises(CheckpointError, match="newly initialised.*predictions"):
        MODEL_CLASSES[Head.MASKED_LM].from_pretrained(tmp_path / "base", strict=True)
    MODEL_CLASSES[Head.MASKED_LM](config_for(Head.MASKED_LM)).save_pretrained(tmp_path / "mlm")
    with pytest.raises(CheckpointError, match="unused.*predictions"):
        AlbertModel.from_pretrained(tmp_path / "mlm", strict=True)


def test_bfloat16_save(tmp_path):
    config = config_for(Head.BASE)
    model = build("pt", Head.BASE, config, random_state(config, Head.BASE))
    model.save_pretrained(tmp_path, dtype="bfloat16")
    loaded = AlbertModel.from_pretrained(tmp_path)
    for name, array in model.canonical_state().items():
        np.testing.assert_allclose(loaded.canonical_state()[name], array, rtol=1e-2, atol=1e-3, err_msg=name)


def test_canonical_state_and_load_canonical_state():
    config = config_for(Head.BASE)
    model = build("pt", Head.BASE, config, random_state(config, Head.BASE))
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
