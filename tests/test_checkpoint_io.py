"""Checkpoint I/O: safetensors against the reference library, dtypes, shards, the h5 reader, corrupt inputs."""
from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from albert_cli.convert import convert
from albert_core.checkpoints import (
    read_checkpoint,
    read_safetensors,
    read_sharded_safetensors,
    save_safetensors_checkpoint,
    write_safetensors,
    write_sharded_safetensors,
)
from albert_core.errors import CheckpointError
from albert_core.weights import canonical_specs
from conftest import tiny_config


def random_state(config, head="pretraining", seed=0):
    rng = np.random.default_rng(seed)
    return {n: (0.1 * rng.standard_normal(s.shape)).astype(np.float32)
            for n, s in canonical_specs(config, head).items()}


def test_reader_matches_the_safetensors_library(tmp_path):
    from safetensors.numpy import load_file, save_file

    rng = np.random.default_rng(1)
    tensors = {"a": rng.standard_normal((3, 4)).astype(np.float32), "b": rng.standard_normal(5).astype(np.float16),
               "c": np.arange(6, dtype=np.int64).reshape(2, 3), "d": np.zeros((0, 2), np.float32)}
    save_file(tensors, tmp_path / "ref.safetensors", metadata={"format": "pt"})
    ours, meta = read_safetensors(tmp_path / "ref.safetensors")
    assert meta == {"format": "pt"}
    for name, array in tensors.items():
        assert ours[name].dtype == array.dtype and np.array_equal(ours[name], array)
    write_safetensors(tmp_path / "ours.safetensors", tensors)
    theirs = load_file(tmp_path / "ours.safetensors")
    assert all(np.array_equal(theirs[n], tensors[n]) for n in tensors)


def test_bfloat16_and_float16_round_trips(tmp_path):
    import torch
    from safetensors.torch import load_file, save_file

    values = np.random.default_rng(2).standard_normal((4, 8)).astype(np.float32)
    save_file({"w": torch.from_numpy(values).to(torch.bfloat16)}, tmp_path / "bf.safetensors")
    ours, _ = read_safetensors(tmp_path / "bf.safetensors")
    expected = torch.from_numpy(values).to(torch.bfloat16).float().numpy()
    assert ours["w"].dtype == np.float32 and np.array_equal(ours["w"], expected)
    for dtype, torch_dtype in (("bfloat16", torch.bfloat16), ("float16", torch.float16)):
        write_safetensors(tmp_path / f"{dtype}.safetensors", {"w": values}, dtype=dtype)
        theirs = load_file(tmp_path / f"{dtype}.safetensors")["w"]
        assert theirs.dtype == torch_dtype
        assert np.array_equal(theirs.float().numpy(), torch.from_numpy(values).to(torch_dtype).float().numpy())
        again, _ = read_safetensors(tmp_path / f"{dtype}.safetensors")
        assert np.array_equal(again["w"].astype(np.float32), theirs.float().numpy())


def test_sharded_write_and_read(tmp_path):
    config = tiny_config()
    state = random_state(config)
    files = write_sharded_safetensors(tmp_path, state, max_shard_bytes=20_000)
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert len(files) > 3 and index["metadata"]["total_size"] == sum(a.nbytes for a in state.values())
    back = read_sharded_safetensors(tmp_path / "model.safetensors.index.json")
    assert back.keys() == state.keys() and all(np.array_equal(back[n], state[n]) for n in state)
    # one shard is enough: a plain model.safetensors, as Hugging Face writes
    single = tmp_path / "single"
    assert write_sharded_safetensors(single, state, max_shard_bytes=10**9) == [single / "model.safetensors"]


def test_sharded_checkpoint_loads_in_transformers(tmp_path):
    import torch
    import transformers

    config = tiny_config(num_labels=2)
    state = random_state(config, "masked_lm")
    save_safetensors_checkpoint(tmp_path, state, config, "masked_lm", max_shard_bytes=30_000)
    assert (tmp_path / "model.safetensors.index.json").is_file()
    model = transformers.AlbertForMaskedLM.from_pretrained(tmp_path)
    loaded = model.state_dict()
    for name, array in state.items():
        assert torch.equal(loaded[name], torch.from_numpy(array)), name
    assert read_checkpoint(tmp_path).state.keys() == state.keys()


def test_hf_tf_reader_on_a_file_written_by_transformers(tmp_path):
    import transformers

    transformers.logging.set_verbosity_error()
    hf_config = transformers.AlbertConfig(vocab_size=40, embedding_size=8, hidden_size=16, num_hidden_layers=2,
                                          num_attention_heads=2, intermediate_size=20, max_position_embeddings=32)
    tf_model = transformers.TFAlbertForPreTraining(hf_config)
    tf_model(tf_model.dummy_inputs)
    tf_model.save_pretrained(tmp_path)
    contents = read_checkpoint(tmp_path)
    assert contents.source_format == "hf-tf" and contents.unmapped == []
    from albert_core.weights import apply_layout, canonical_name

    reference = {}
    for weight in tf_model.weights:  # the oracle: the live model's variables, named as Keras names them
        hit = canonical_name(weight.name.split("/", 1)[1], "hf-tf")
        if hit is not None:
            reference[hit[0]] = apply_layout(weight.numpy(), hit[1])
    expected = set(canonical_specs(contents.config, "pretraining"))
    assert set(contents.state) == expected
    for name, array in contents.state.items():
        assert np.array_equal(array, reference[name]), name


# ---------------------------------------------------------------------------------------------------------------------
# Corrupt inputs: a clear CheckpointError, and nothing written at the destination


def _good_checkpoint(directory: Path, head="masked_lm"):
    config = tiny_config(num_labels=2)
    state = random_state(config, head)
    save_safetensors_checkpoint(directory, state, config, head)
    return config, state


def _assert_refused(src, dst, match):
    with pytest.raises(CheckpointError, match=match):
        convert(src, dst, to="hf-tf", check=False, progress=False)
    assert not dst.exists()
    assert not [p for p in dst.parent.iterdir() if p.name.startswith(f".{dst.name}.")]


def test_truncated_safetensors(tmp_path):
    _good_checkpoint(tmp_path / "src")
    path = tmp_path / "src" / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-100])
    _assert_refused(tmp_path / "src", tmp_path / "dst", "truncated")


def test_integer_tensor_for_a_weight(tmp_path):
    config, state = _good_checkpoint(tmp_path / "src")
    state["predictions.dense.weight"] = np.ones(state["predictions.dense.weight"].shape, np.int32)
    save_safetensors_checkpoint(tmp_path / "src", state, config, "masked_lm")
    _assert_refused(tmp_path / "src", tmp_path / "dst", "predictions.dense.weight.*int32")


def test_missing_tensor(tmp_path):
    config, state = _good_checkpoint(tmp_path / "src")
    del state["albert.embeddings.LayerNorm.bias"]
    save_safetensors_checkpoint(tmp_path / "src", state, config, "masked_lm")
    _assert_refused(tmp_path / "src", tmp_path / "dst", "missing.*albert.embeddings.LayerNorm.bias")


def test_extra_tensor(tmp_path):
    config, state = _good_checkpoint(tmp_path / "src")
    state["predictions.extra.weight"] = np.zeros((2, 2), np.float32)
    save_safetensors_checkpoint(tmp_path / "src", state, config, "masked_lm")
    _assert_refused(tmp_path / "src", tmp_path / "dst", "unexpected.*predictions.extra.weight")
    # --allow-partial converts what is there and reports the rest
    result = convert(tmp_path / "src", tmp_path / "dst", to="hf-tf", check=False, allow_partial=True,
                     progress=False)
    assert result.check.unexpected == ["predictions.extra.weight"]
    assert (tmp_path / "dst" / "tf_model.h5").is_file()


def test_config_that_disagrees_with_the_weights(tmp_path):
    config, _ = _good_checkpoint(tmp_path / "src")
    config.copy(hidden_size=64, num_attention_heads=4).save_pretrained(tmp_path / "src")
    _assert_refused(tmp_path / "src", tmp_path / "dst", "mis-shaped.*checkpoint .*config")


def test_pickle_payload_is_not_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    src = tmp_path / "src"
    src.mkdir()
    tiny_config().save_pretrained(src)
    with open(src / "pytorch_model.bin", "wb") as handle:
        pickle.dump({"albert.embeddings.word_embeddings.weight": Payload()}, handle)
    _assert_refused(src, tmp_path / "dst", "refused to unpickle")
    assert not marker.exists()


def test_bad_header_length(tmp_path):
    path = tmp_path / "x.safetensors"
    path.write_bytes(struct.pack("<Q", 10**12) + b"{}")
    with pytest.raises(CheckpointError, match="truncated or not a safetensors file"):
        read_safetensors(path)


def test_existing_destination_is_not_touched(tmp_path):
    _good_checkpoint(tmp_path / "src")
    (tmp_path / "dst").mkdir()
    (tmp_path / "dst" / "keep.txt").write_text("x")
    with pytest.raises(CheckpointError, match="not an empty directory"):
        convert(tmp_path / "src", tmp_path / "dst", to="hf-tf", check=False, progress=False)
    assert sorted(p.name for p in (tmp_path / "dst").iterdir()) == ["keep.txt"]


def test_atomic_writes_get_ordinary_file_permissions(tmp_path):
    # mkstemp creates private 0600 files; a saved checkpoint must be readable like any file the user writes
    import os
    import stat

    from albert_core.io_utils import atomic_write_text

    umask = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "x.json", "{}")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "x.json").stat().st_mode) == 0o644


def test_pretraining_and_qa_configs_are_saved_loadable_by_transformers(tmp_path):
    # transformers sizes the SOP and QA heads by num_labels; ours always have two outputs
    import json

    from albert_core import AlbertConfig
    from albert_core.checkpoints import save_config_for_head

    config = AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                          intermediate_size=8, num_labels=5)
    save_config_for_head(tmp_path / "qa", config, "question_answering")
    saved = json.loads((tmp_path / "qa" / "config.json").read_text())
    assert saved["num_labels"] == 2 and saved["architectures"] == ["AlbertForQuestionAnswering"]
    save_config_for_head(tmp_path / "cls", config, "sequence_classification", tensorflow=True)
    saved = json.loads((tmp_path / "cls" / "config.json").read_text())
    assert saved["num_labels"] == 5 and saved["architectures"] == ["TFAlbertForSequenceClassification"]
