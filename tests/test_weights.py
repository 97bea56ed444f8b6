"""The format tables as tables: bijective per config and head, correct layouts, original TF1 naming."""
from __future__ import annotations

import numpy as np
import pytest

from albert_core.errors import CheckpointError
from albert_core.weights import (
    HF_TF_TABLE,
    TF1_TABLE,
    Head,
    Layout,
    Role,
    canonical_name,
    canonical_specs,
    format_name,
    from_format,
    to_format,
)
from conftest import CONFIG_MATRIX, tiny_config

ABSOLUTE = [name for name, over in CONFIG_MATRIX.items() if over.get("position_embedding_type") is None]


@pytest.mark.parametrize("fmt", ["hf-tf", "tf1"])
@pytest.mark.parametrize("cfg_name", ABSOLUTE)
def test_every_canonical_tensor_maps_to_one_name_and_back(fmt, cfg_name):
    config = tiny_config(**CONFIG_MATRIX[cfg_name])
    for head in Head:
        specs = canonical_specs(config, head)
        names = {}
        for name, spec in specs.items():
            target, layout = format_name(name, fmt)
            assert target not in names, f"{name} and {names.get(target)} share {target}"
            names[target] = name
            assert canonical_name(target, fmt) == (name, layout)
            expected = Layout.TRANSPOSE if spec.role is Role.DENSE_KERNEL else Layout.SAME
            if fmt == "hf-tf" and spec.role is Role.CLASSIFIER_WEIGHTS:
                expected = Layout.TRANSPOSE  # Keras Dense kernels
            assert layout is expected, (name, fmt)
        rng = np.random.default_rng(0)
        state = {n: rng.standard_normal(s.shape).astype(np.float32) for n, s in specs.items()}
        stored = to_format(state, fmt)
        for name, spec in specs.items():
            target, layout = format_name(name, fmt)
            want = spec.shape[::-1] if layout is Layout.TRANSPOSE else spec.shape
            assert stored[target].shape == want
        back, unknown = from_format(stored, fmt)
        assert unknown == []
        assert back.keys() == state.keys()
        assert all(np.array_equal(back[n], state[n]) for n in state)


@pytest.mark.parametrize("fmt", ["hf-tf", "tf1"])
def test_relative_position_embeddings_have_no_name_in_tf_formats(fmt):
    config = tiny_config(position_embedding_type="relative_key")
    distance = [n for n in canonical_specs(config, "base") if "distance_embedding" in n]
    assert distance
    with pytest.raises(CheckpointError, match="distance_embedding"):
        format_name(distance[0], fmt)


def test_tf1_names_follow_the_original_modeling_py():
    config = tiny_config(num_hidden_layers=4, num_hidden_groups=2, inner_group_num=2)
    names = {format_name(n, "tf1")[0] for n in canonical_specs(config, "pretraining")}
    layer = "bert/encoder/transformer/group_1/inner_group_1/"
    expected = {
        "bert/embeddings/word_embeddings", "bert/embeddings/position_embeddings",
        "bert/embeddings/token_type_embeddings", "bert/embeddings/LayerNorm/gamma", "bert/embeddings/LayerNorm/beta",
        "bert/encoder/embedding_hidden_mapping_in/kernel", "bert/encoder/embedding_hidden_mapping_in/bias",
        layer + "attention_1/self/query/kernel", layer + "attention_1/self/query/bias",
        layer + "attention_1/self/key/kernel", layer + "attention_1/self/value/kernel",
        layer + "attention_1/output/dense/kernel", layer + "attention_1/output/dense/bias",
        layer + "LayerNorm/gamma", layer + "LayerNorm/beta",
        layer + "ffn_1/intermediate/dense/kernel", layer + "ffn_1/intermediate/dense/bias",
        layer + "ffn_1/intermediate/output/dense/kernel", layer + "ffn_1/intermediate/output/dense/bias",
        layer + "LayerNorm_1/gamma", layer + "LayerNorm_1/beta",
        "bert/pooler/dense/kernel", "bert/pooler/dense/bias",
        "cls/predictions/output_bias", "cls/predictions/transform/dense/kernel",
        "cls/predictions/transform/dense/bias", "cls/predictions/transform/LayerNorm/gamma",
        "cls/predictions/transform/LayerNorm/beta",
        "cls/seq_relationship/output_weights", "cls/seq_relationship/output_bias",
    }
    assert expected <= names
    assert len(names) == len(canonical_specs(config, "pretraining"))
    # fine-tuning heads of the original scripts
    assert format_name("classifier.weight", "tf1") == ("output_weights", Layout.SAME)
    assert format_name("qa_outputs.weight", "tf1") == ("cls/squad/output_weights", Layout.SAME)


def test_hf_tf_names_follow_transformers():
    assert format_name("albert.encoder.albert_layer_groups.1.albert_layers.0.attention.query.weight", "hf-tf") == (
        "albert/encoder/albert_layer_groups_._1/albert_layers_._0/attention/query/kernel:0", Layout.TRANSPOSE)
    assert format_name("albert.embeddings.position_embeddings.weight", "hf-tf")[0] == \
        "albert/embeddings/position_embeddings/embeddings:0"


def test_tables_have_no_duplicate_targets():
    for table in (HF_TF_TABLE, TF1_TABLE):
        targets = [t for t, _ in table.values()]
        assert len(targets) == len(set(targets))


def test_unknown_names_are_reported_not_mapped():
    state, unknown = from_format({"cls/squad/start_logits/dense/kernel": np.zeros((2, 2), np.float32)}, "tf1")
    assert state == {} and unknown == ["cls/squad/start_logits/dense/kernel"]
