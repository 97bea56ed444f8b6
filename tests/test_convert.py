"""Conversions between formats: bit-exact tensors, output parity, original TF1 checkpoints against transformers."""
from __future__ import annotations

import numpy as np
import pytest

from albert_cli import convert as convert_module
from albert_cli.convert import ParityError, convert, supported_heads
from albert_cli.parity import compare_runners, load_runner, probe_inputs
from albert_core.checkpoints import (
    read_checkpoint,
    read_tf1_checkpoint,
    save_safetensors_checkpoint,
    tf1_export_state,
    write_original_config,
)
from albert_core.errors import CheckpointError
from albert_core.weights import canonical_specs
from conftest import CONFIG_MATRIX, tiny_config


def random_state(config, head, seed=0):
    rng = np.random.default_rng(seed)
    return {n: (0.1 * rng.standard_normal(s.shape)).astype(np.float32)
            for n, s in canonical_specs(config, head).items()}


def _layer_name(g, i, rest):
    return f"bert/encoder/transformer/group_{g}/inner_group_{i}/{rest}"


def original_tf1_variables(config, state):
    """Canonical state -> variables named by hand as google-research modeling.py names them (independent of the
    library's table)."""
    out = {}
    t = lambda a: np.ascontiguousarray(a.T)  # noqa: E731 - Dense kernels are [in, out] in TF
    e = "albert.embeddings."
    out["bert/embeddings/word_embeddings"] = state[e + "word_embeddings.weight"]
    out["bert/embeddings/position_embeddings"] = state[e + "position_embeddings.weight"]
    out["bert/embeddings/token_type_embeddings"] = state[e + "token_type_embeddings.weight"]
    out["bert/embeddings/LayerNorm/gamma"] = state[e + "LayerNorm.weight"]
    out["bert/embeddings/LayerNorm/beta"] = state[e + "LayerNorm.bias"]
    if config.embedding_size != config.hidden_size:
        out["bert/encoder/embedding_hidden_mapping_in/kernel"] = t(
            state["albert.encoder.embedding_hidden_mapping_in.weight"])
        out["bert/encoder/embedding_hidden_mapping_in/bias"] = state["albert.encoder.embedding_hidden_mapping_in.bias"]
    for g in range(config.num_hidden_groups):
        for i in range(config.inner_group_num):
            p = f"albert.encoder.albert_layer_groups.{g}.albert_layers.{i}."
            for ours, theirs in (("attention.query", "attention_1/self/query"),
                                 ("attention.key", "attention_1/self/key"),
                                 ("attention.value", "attention_1/self/value"),
                                 ("attention.dense", "attention_1/output/dense"), ("ffn", "ffn_1/intermediate/dense"),
                                 ("ffn_output", "ffn_1/intermediate/output/dense")):
                out[_layer_name(g, i, theirs + "/kernel")] = t(state[p + ours + ".weight"])
                out[_layer_name(g, i, theirs + "/bias")] = state[p + ours + ".bias"]
            for ours, theirs in (("attention.LayerNorm", "LayerNorm"), ("full_layer_layer_norm", "LayerNorm_1")):
                out[_layer_name(g, i, theirs + "/gamma")] = state[p + ours + ".weight"]
                out[_layer_name(g, i, theirs + "/beta")] = state[p + ours + ".bias"]
    out["bert/pooler/dense/kernel"] = t(state["albert.pooler.weight"])
    out["bert/pooler/dense/bias"] = state["albert.pooler.bias"]
    out["cls/predictions/output_bias"] = state["predictions.bias"]
    out["cls/predictions/transform/dense/kernel"] = t(state["predictions.dense.weight"])
    out["cls/predictions/transform/dense/bias"] = state["predictions.dense.bias"]
    out["cls/predictions/transform/LayerNorm/gamma"] = state["predictions.LayerNorm.weight"]
    out["cls/predictions/transform/LayerNorm/beta"] = state["predictions.LayerNorm.bias"]
    out["cls/seq_relationship/output_weights"] = state["sop_classifier.classifier.weight"]
    out["cls/seq_relationship/output_bias"] = state["sop_classifier.classifier.bias"]
    return out


def write_original_checkpoint(directory, config, variables, module_prefix=False, optimizer=True):
    """An original-style checkpoint: model.ckpt-7.{index,data}, albert_config.json, optimizer slots, global_step."""
    import tensorflow as tf

    directory.mkdir(parents=True, exist_ok=True)
    names, tensors = [], []
    for name, array in variables.items():
        full = ("module/" if module_prefix else "") + name
        names.append(full)
        tensors.append(tf.constant(array))
        if optimizer:
            names += [full + "/adam_m", full + "/adam_v"]
            tensors += [tf.zeros_like(tensors[-1]), tf.ones_like(tensors[-1])]
    names.append("global_step")
    tensors.append(tf.constant(1000, tf.int64))
    tf.raw_ops.SaveV2(prefix=str(directory / "model.ckpt-7"), tensor_names=names,
                      shape_and_slices=[""] * len(names), tensors=tensors)
    write_original_config(directory, config)
    return directory / "model.ckpt-7"


TF1_CASES = {"projection_module_prefix": ({}, True), "embedding_eq_hidden": ({"embedding_size": 32}, False),
             "groups2_inner2": (CONFIG_MATRIX["groups2_inner2"], False)}


@pytest.mark.parametrize("case", sorted(TF1_CASES))
def test_tf1_reader_matches_transformers_loader(tmp_path, case):
    import torch
    import transformers
    from transformers.models.albert.modeling_albert import load_tf_weights_in_albert

    overrides, module_prefix = TF1_CASES[case]
    config = tiny_config(num_labels=2, **overrides)
    state = random_state(config, "pretraining")
    prefix = write_original_checkpoint(tmp_path, config, original_tf1_variables(config, state), module_prefix)
    contents = read_tf1_checkpoint(prefix, config)
    assert contents.unmapped == []
    assert sum(name.endswith("global_step") for name in contents.skipped) == 1
    assert all(n.endswith(("adam_m", "adam_v", "global_step")) for n in contents.skipped)
    assert set(contents.state) == set(canonical_specs(config, "pretraining"))
    if config.embedding_size == config.hidden_size:
        assert "identity" in contents.notes[0]
        assert np.array_equal(contents.state["albert.encoder.embedding_hidden_mapping_in.weight"],
                              np.eye(32, dtype=np.float32))
    # the oracle
    hf_config = transformers.AlbertConfig(**{k: v for k, v in config.to_dict().items() if k != "extra"})
    model = transformers.AlbertForPreTraining(hf_config)
    load_tf_weights_in_albert(model, hf_config, str(prefix))
    reference = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    for name, array in contents.state.items():
        if name.startswith("albert.encoder.embedding_hidden_mapping_in") and config.embedding_size == \
                config.hidden_size:
            # transformers' quirk: with E == H the checkpoint has no projection and its loader leaves the freshly
            # initialised random one in place (so its model computes something else); ours is the identity.
            continue
        assert np.array_equal(array, reference[name]), name
    assert torch.equal(model.predictions.decoder.bias, model.predictions.bias)


def test_tf1_to_pt_to_tf1(tmp_path):
    config = tiny_config(num_labels=2, embedding_size=32)
    state = random_state(config, "pretraining")
    state["albert.encoder.embedding_hidden_mapping_in.weight"] = np.eye(32, dtype=np.float32)
    state["albert.encoder.embedding_hidden_mapping_in.bias"] = np.zeros(32, np.float32)
    variables = original_tf1_variables(config, state)
    write_original_checkpoint(tmp_path / "orig", config, variables, module_prefix=True)
    pt = convert(tmp_path / "orig", tmp_path / "pt", to="safetensors", progress=False)
    assert pt.parity.ok and any("identity" in n for n in pt.notes)
    back = read_checkpoint(tmp_path / "pt").state
    assert all(np.array_equal(back[n], state[n]) for n in state)
    tf1 = convert(tmp_path / "pt", tmp_path / "tf1", to="tf1", progress=False)
    assert tf1.parity.ok
    again = read_tf1_checkpoint(read_checkpoint(tmp_path / "tf1").path)
    stored = {k: np.asarray(v) for k, v in _raw_tf1(read_checkpoint(tmp_path / "tf1").path).items()}
    assert stored.keys() == variables.keys()  # E == H: no projection written, original names only
    assert all(np.array_equal(stored[k], variables[k]) for k in variables)
    assert all(np.array_equal(again.state[n], state[n]) for n in state)
    hf = convert(tmp_path / "tf1", tmp_path / "hf-tf", to="hf-tf", progress=False)
    assert hf.parity.ok


def _raw_tf1(prefix):
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(prefix))
    return {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()}


@pytest.mark.parametrize("cfg_name", ["default", "groups2_inner2", "embedding_eq_hidden"])
@pytest.mark.parametrize("head", ["pretraining", "sequence_classification", "question_answering"])
def test_hf_pt_to_hf_tf_to_pt_round_trip(tmp_path, cfg_name, head):
    config = tiny_config(num_labels=2, **CONFIG_MATRIX[cfg_name])
    state = random_state(config, head)
    save_safetensors_checkpoint(tmp_path / "src", state, config, head)
    first = convert(tmp_path / "src", tmp_path / "tf", to="hf-tf", progress=False)
    assert first.head.value == head and first.parity.ok
    assert max(row.max_abs for row in first.parity.rows) < 1e-5
    second = convert(tmp_path / "tf", tmp_path / "pt", to="safetensors", progress=False)
    assert second.parity.ok
    back = read_checkpoint(tmp_path / "pt").state
    assert back.keys() == state.keys() and all(np.array_equal(back[n], state[n]) for n in state)


def test_hf_tf_output_loads_in_transformers(tmp_path):
    import tensorflow as tf
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    config = tiny_config(num_labels=2)
    save_safetensors_checkpoint(tmp_path / "src", random_state(config, "pretraining"), config, "pretraining")
    convert(tmp_path / "src", tmp_path / "tf", to="hf-tf", check=False, progress=False)
    tf_model = transformers.TFAlbertForPreTraining.from_pretrained(tmp_path / "tf")
    pt_model = transformers.AlbertForPreTraining.from_pretrained(tmp_path / "src").eval()
    x = probe_inputs(config, "pretraining")
    with torch.no_grad():
        ref = pt_model(**{k: torch.from_numpy(v) for k, v in x.items()})
    got = tf_model(**{k: tf.constant(v) for k, v in x.items()}, training=False)
    for name in ("prediction_logits", "sop_logits"):
        assert np.abs(ref[name].numpy() - got[name].numpy()).max() < 1e-5


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_targets_pass_their_default_tolerance(tmp_path, dtype):
    config = tiny_config(num_labels=2)
    save_safetensors_checkpoint(tmp_path / "src", random_state(config, "masked_lm"), config, "masked_lm")
    result = convert(tmp_path / "src", tmp_path / "dst", to="safetensors", dtype=dtype, progress=False)
    assert result.parity.ok and result.parity.atol > 1e-5


def test_sharded_output(tmp_path):
    config = tiny_config(num_labels=2)
    state = random_state(config, "masked_lm")
    save_safetensors_checkpoint(tmp_path / "src", state, config, "masked_lm")
    convert(tmp_path / "src", tmp_path / "dst", to="safetensors", shard_size="20KB", check=False, progress=False)
    assert (tmp_path / "dst" / "model.safetensors.index.json").is_file()
    back = read_checkpoint(tmp_path / "dst").state
    assert all(np.array_equal(back[n], state[n]) for n in state)


def test_relative_positions_cannot_go_to_hf_tf(tmp_path):
    config = tiny_config(num_labels=2, position_embedding_type="relative_key")
    save_safetensors_checkpoint(tmp_path / "src", random_state(config, "base"), config, "base")
    with pytest.raises(CheckpointError, match="relative-position"):
        convert(tmp_path / "src", tmp_path / "dst", to="hf-tf", check=False, progress=False)
    assert not (tmp_path / "dst").exists()


def test_tf1_export_refuses_a_non_identity_projection_when_e_equals_h(tmp_path):
    config = tiny_config(num_labels=2, embedding_size=32)
    state = random_state(config, "pretraining")
    with pytest.raises(CheckpointError, match="not the identity"):
        tf1_export_state(state, config)
    save_safetensors_checkpoint(tmp_path / "src", state, config, "pretraining")
    with pytest.raises(CheckpointError, match="not the identity"):
        convert(tmp_path / "src", tmp_path / "dst", to="tf1", check=False, progress=False)
    assert not (tmp_path / "dst").exists()


def test_squad_v2_heads_are_reported_and_need_allow_partial(tmp_path):
    config = tiny_config(num_labels=2)
    state = random_state(config, "pretraining")
    variables = original_tf1_variables(config, state)
    variables["cls/squad/start_logits/dense/kernel"] = np.zeros((32, 1), np.float32)
    variables["cls/squad/answer_class/dense/kernel"] = np.zeros((32, 1), np.float32)
    write_original_checkpoint(tmp_path / "orig", config, variables, optimizer=False)
    with pytest.raises(CheckpointError, match="cls/squad/start_logits/dense/kernel"):
        convert(tmp_path / "orig", tmp_path / "dst", progress=False, check=False)
    assert not (tmp_path / "dst").exists()
    result = convert(tmp_path / "orig", tmp_path / "dst", allow_partial=True, progress=False, check=False)
    assert "cls/squad/answer_class/dense/kernel" in result.check.unexpected


def test_classifier_and_squad_v1_heads_of_the_original_scripts(tmp_path):
    config = tiny_config(num_labels=2)
    state = random_state(config, "base")
    variables = {k: v
                 for k, v in original_tf1_variables(config, {**random_state(config, "pretraining"), **state}).items()
                 if k.startswith("bert/")}
    variables["output_weights"] = np.full((2, 32), 0.5, np.float32)
    variables["output_bias"] = np.zeros(2, np.float32)
    prefix = write_original_checkpoint(tmp_path / "cls", config, variables, optimizer=False)
    contents = read_tf1_checkpoint(prefix, config)
    assert np.array_equal(contents.state["classifier.weight"], variables["output_weights"])
    assert "sequence_classification" in [h.value for h in supported_heads(contents.state, config)]
    del variables["output_weights"], variables["output_bias"]
    variables["cls/squad/output_weights"] = np.full((2, 32), 0.25, np.float32)
    variables["cls/squad/output_bias"] = np.zeros(2, np.float32)
    prefix = write_original_checkpoint(tmp_path / "squad", config, variables, optimizer=False)
    assert np.array_equal(read_tf1_checkpoint(prefix, config).state["qa_outputs.weight"],
                          variables["cls/squad/output_weights"])


# ---------------------------------------------------------------------------------------------------------------------
# A perturbed target fails the parity check


def test_parity_detects_a_tampered_model(tmp_path):
    config = tiny_config(num_labels=2)
    state = random_state(config, "pretraining")
    save_safetensors_checkpoint(tmp_path / "good", state, config, "pretraining")
    tampered = dict(state)
    tampered["predictions.dense.bias"] = state["predictions.dense.bias"] + 1e-3
    save_safetensors_checkpoint(tmp_path / "bad", tampered, config, "pretraining")
    x = probe_inputs(config, "pretraining")
    good = load_runner("pt", tmp_path / "good", "pretraining", config)
    report = compare_runners(good, load_runner("tf", tmp_path / "bad", "pretraining", config), x, atol=1e-5)
    assert not report.ok
    assert [row.name for row in report.failures] == ["prediction_logits"]
    assert "prediction_logits" in report.summary() and "FAIL" in report.table()
    assert compare_runners(good, load_runner("tf", tmp_path / "good", "pretraining", config), x).ok


def test_convert_refuses_to_publish_a_target_that_fails_parity(tmp_path, monkeypatch):
    config = tiny_config(num_labels=2)
    save_safetensors_checkpoint(tmp_path / "src", random_state(config, "masked_lm"), config, "masked_lm")
    real_write = convert_module._write_target

    def perturbing_write(staging, state, *args, **kwargs):
        state = dict(state)
        state["albert.embeddings.LayerNorm.weight"] = state["albert.embeddings.LayerNorm.weight"] * 1.01
        return real_write(staging, state, *args, **kwargs)

    monkeypatch.setattr(convert_module, "_write_target", perturbing_write)
    with pytest.raises(ParityError, match="logits") as info:
        convert(tmp_path / "src", tmp_path / "dst", to="hf-tf", progress=False)
    assert not info.value.result.parity.ok
    assert not (tmp_path / "dst").exists()
