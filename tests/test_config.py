"""AlbertConfig: defaults, presets, validation, and both file formats, checked against transformers as oracle."""

from __future__ import annotations

import json

import pytest

from albert_core import PRESETS, AlbertConfig, ConfigError

transformers = pytest.importorskip("transformers")


def test_defaults_equal_reference_config():
    ours = AlbertConfig().to_dict()
    ref = transformers.AlbertConfig().to_dict()
    for key in ("vocab_size", "embedding_size", "hidden_size", "num_hidden_layers", "num_hidden_groups",
                "num_attention_heads", "intermediate_size", "inner_group_num", "hidden_act", "hidden_dropout_prob",
                "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size", "initializer_range",
                "layer_norm_eps", "classifier_dropout_prob", "position_embedding_type", "pad_token_id",
                "bos_token_id", "eos_token_id", "label2id"):
        assert ours[key] == ref[key], key
    # JSON keys are strings; the mapping itself is the same
    assert {int(k): v for k, v in ours["id2label"].items()} == ref["id2label"]
    assert AlbertConfig().num_labels == transformers.AlbertConfig().num_labels == 2


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_have_published_sizes(name):
    config = AlbertConfig.from_preset(name)
    sizes = {"base": (768, 12, 12, 3072), "large": (1024, 24, 16, 4096), "xlarge": (2048, 24, 16, 8192),
             "xxlarge": (4096, 12, 64, 16384)}[name.split("-")[1]]
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads,
            config.intermediate_size) == sizes
    assert (config.vocab_size, config.embedding_size, config.max_position_embeddings) == (30000, 128, 512)
    # the original code's GELU is the tanh approximation in every release
    assert config.hidden_act == "gelu_new"
    if name.endswith("v2") or "xxlarge" in name:
        assert config.hidden_dropout_prob == config.attention_probs_dropout_prob == 0.0
    else:
        assert config.hidden_dropout_prob == config.attention_probs_dropout_prob == 0.1


def test_preset_accepts_hub_style_name_and_overrides():
    config = AlbertConfig.from_preset("albert/albert-base-v2", num_labels=5)
    assert config.hidden_size == 768 and config.num_labels == 5
    with pytest.raises(ConfigError, match="unknown preset 'albert-huge'"):
        AlbertConfig.from_preset("albert-huge")


def test_parameter_count_of_base_preset_matches_published_size():
    # albert-base has 12M parameters (paper, table 1); count them from the canonical tensor map
    from albert_core.weights import canonical_specs

    specs = canonical_specs(AlbertConfig.from_preset("albert-base-v2"), "base")
    total = sum(int(__import__("math").prod(s.shape)) for s in specs.values())
    assert 11_500_000 < total < 12_000_000


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"hidden_size": 30, "num_attention_heads": 4}, "not divisible by num_attention_heads"),
        ({"num_hidden_groups": 5, "num_hidden_layers": 4}, "num_hidden_groups=5 is larger than num_hidden_layers=4"),
        ({"hidden_act": "swishy"}, "unknown hidden_act 'swishy'"),
        ({"vocab_size": -3}, "vocab_size must be at least 1"),
        ({"hidden_size": 0}, "hidden_size must be at least 1"),
        ({"num_hidden_layers": 2.5}, "num_hidden_layers must be an integer"),
        ({"hidden_dropout_prob": 1.5}, r"hidden_dropout_prob must be a probability in \[0, 1\]"),
        ({"attention_probs_dropout_prob": -0.1}, "attention_probs_dropout_prob must be a probability"),
        ({"hidden_dropout_prob": 1.0}, "would drop every activation"),
        ({"position_embedding_type": "rotary"}, "unknown position_embedding_type 'rotary'"),
        ({"layer_norm_eps": 0.0}, "layer_norm_eps must be a positive number"),
        ({"initializer_range": -1.0}, "initializer_range must be a positive number"),
        ({"pad_token_id": 99, "vocab_size": 50}, r"pad_token_id=99 is not an id in \[0, vocab_size=50\)"),
        ({"problem_type": "ranking"}, "unknown problem_type 'ranking'"),
        ({"num_labels": 3, "id2label": {0: "a", 1: "b"}}, "num_labels=3 disagrees with id2label"),
    ],
)
def test_validation_names_the_problem(overrides, message):
    base = dict(vocab_size=50, embedding_size=8, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                intermediate_size=32)
    base.update(overrides)
    with pytest.raises(ConfigError, match=message):
        AlbertConfig(**base)


def test_validation_is_a_value_error():
    with pytest.raises(ValueError):
        AlbertConfig(hidden_size=10, num_attention_heads=3)


def test_group_of_layer_follows_the_original_float_formula():
    # The original evaluates int(l / L * G) in double precision; check it literally, including shapes where
    # rounding makes it differ from exact integer arithmetic.
    for layers, groups in [(12, 1), (12, 12), (5, 3), (22, 22), (18, 14), (7, 2), (24, 5)]:
        config = AlbertConfig(num_hidden_layers=layers, num_hidden_groups=groups, hidden_size=8,
                              num_attention_heads=1, intermediate_size=8)
        assert config.layer_groups() == [int(i / layers * groups) for i in range(layers)]
    assert AlbertConfig(num_hidden_layers=22, num_hidden_groups=22, hidden_size=8, num_attention_heads=1,
                        intermediate_size=8).group_of_layer(15) == 14
    with pytest.raises(IndexError):
        AlbertConfig().group_of_layer(12)


def test_infer_problem_type_matches_reference_rules():
    assert AlbertConfig(num_labels=1).infer_problem_type(labels_are_integer=True) == "regression"
    assert AlbertConfig(num_labels=3).infer_problem_type(True) == "single_label_classification"
    assert AlbertConfig(num_labels=3).infer_problem_type(False) == "multi_label_classification"
    assert AlbertConfig(num_labels=3, problem_type="regression").infer_problem_type(True) == "regression"


def test_hf_config_json_round_trip_both_ways(tmp_path):
    ref = transformers.AlbertConfig(vocab_size=123, embedding_size=8, hidden_size=16, num_hidden_layers=3,
                                    num_hidden_groups=3, num_attention_heads=2, intermediate_size=40,
                                    inner_group_num=2, hidden_act="relu", position_embedding_type="relative_key",
                                    id2label={0: "neg", 1: "neu", 2: "pos"}, problem_type="single_label_classification")
    ref.save_pretrained(tmp_path / "hf")
    ours = AlbertConfig.from_pretrained(tmp_path / "hf")
    assert ours.num_labels == 3 and ours.id2label == {0: "neg", 1: "neu", 2: "pos"}
    assert ours.label2id == {"neg": 0, "neu": 1, "pos": 2}
    assert (ours.vocab_size, ours.inner_group_num, ours.hidden_act) == (123, 2, "relu")
    assert ours.position_embedding_type == "relative_key"
    assert ours.extra == {}  # bookkeeping keys such as transformers_version are not carried as model fields

    ours.save_pretrained(tmp_path / "ours", architectures=["AlbertForSequenceClassification"])
    back = transformers.AlbertConfig.from_pretrained(tmp_path / "ours")
    for key in ("vocab_size", "embedding_size", "hidden_size", "num_hidden_layers", "num_hidden_groups",
                "inner_group_num", "hidden_act", "position_embedding_type", "problem_type", "num_labels"):
        assert getattr(back, key) == getattr(ref, key), key
    assert back.id2label == ref.id2label
    assert back.architectures == ["AlbertForSequenceClassification"]


def test_loaded_config_honours_gelu_as_written(tmp_path):
    # Some published v1 config.json files say "gelu" (erf); a loaded HF config is taken as written.
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "albert", "hidden_act": "gelu",
                                                      "hidden_size": 64, "num_attention_heads": 4,
                                                      "intermediate_size": 32}))
    assert AlbertConfig.from_pretrained(tmp_path).hidden_act == "gelu"


ORIGINAL_BASE_CONFIG = {
    "attention_probs_dropout_prob": 0.1,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "embedding_size": 128,
    "hidden_size": 768,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "max_position_embeddings": 512,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "num_hidden_groups": 1,
    "net_structure_type": 0,
    "layers_to_keep": [],
    "gap_size": 0,
    "num_memory_blocks": 0,
    "inner_group_num": 1,
    "down_scale_factor": 1,
    "type_vocab_size": 2,
    "vocab_size": 30000,
}


def test_reads_original_albert_config_json(tmp_path):
    path = tmp_path / "albert_config.json"
    path.write_text(json.dumps(ORIGINAL_BASE_CONFIG))
    config = AlbertConfig.from_pretrained(tmp_path)
    # the original code's "gelu" is the tanh approximation
    assert config.hidden_act == "gelu_new"
    assert config.layer_norm_eps == 1e-12
    assert config.hidden_size == 768 and config.hidden_dropout_prob == 0.1
    # keys with no counterpart are kept, not dropped, and not fatal
    assert config.extra["net_structure_type"] == 0 and config.extra["down_scale_factor"] == 1
    assert "net_structure_type" in config.to_dict()
    # and the original format can be written back
    assert config.to_original_dict()["hidden_act"] == "gelu"
    assert {k: v for k, v in config.to_original_dict().items() if k != "layers_to_keep"} == {
        k: v for k, v in ORIGINAL_BASE_CONFIG.items() if k != "layers_to_keep"
    }


def test_original_config_with_unsupported_structure_is_refused(tmp_path):
    path = tmp_path / "albert_config.json"
    path.write_text(json.dumps({**ORIGINAL_BASE_CONFIG, "down_scale_factor": 2}))
    with pytest.raises(ConfigError, match="down_scale_factor=2"):
        AlbertConfig.from_json_file(path)


def test_bad_config_files(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        AlbertConfig.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ConfigError, match="model_type='bert'"):
        AlbertConfig.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps([1, 2]))
    with pytest.raises(ConfigError, match="JSON object"):
        AlbertConfig.from_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError):
        AlbertConfig.from_pretrained(tmp_path / "nowhere")


def test_unknown_hf_keys_are_kept(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "albert", "my_custom_flag": [1, 2]}))
    config = AlbertConfig.from_pretrained(tmp_path)
    assert config.extra == {"my_custom_flag": [1, 2]}
    config.save_pretrained(tmp_path / "out")
    assert json.loads((tmp_path / "out" / "config.json").read_text())["my_custom_flag"] == [1, 2]


def test_copy_with_new_num_labels_rebuilds_labels():
    config = AlbertConfig(id2label={0: "a", 1: "b"})
    changed = config.copy(num_labels=4)
    assert changed.num_labels == 4 and changed.id2label[3] == "LABEL_3"
    assert config.num_labels == 2


def test_classifier_dropout_falls_back_to_hidden_dropout():
    assert AlbertConfig(classifier_dropout_prob=0.3, hidden_dropout_prob=0.1).effective_classifier_dropout == 0.3
    assert AlbertConfig(classifier_dropout_prob=None, hidden_dropout_prob=0.1).effective_classifier_dropout == 0.1


# ---------------------------------------------------------------------------------------------------------------------
# transformers-style label handling and configuration objects (issue 11)


def test_assigning_num_labels_regenerates_labels_like_transformers():
    ours = AlbertConfig(hidden_size=8, num_attention_heads=2, intermediate_size=16, id2label={0: "a", 1: "b"})
    theirs = transformers.AlbertConfig(id2label={0: "a", 1: "b"})
    ours.num_labels = 4
    theirs.num_labels = 4
    assert ours.id2label == theirs.id2label and ours.label2id == theirs.label2id
    ours.validate()  # a model can be built from it
    ours.num_labels = 4  # the same count again keeps the names
    assert ours.id2label[3] == "LABEL_3"
    with pytest.raises(ConfigError, match="num_labels must be at least 1"):
        ours.num_labels = 0


def test_copy_with_id2label_alone_derives_the_rest():
    config = AlbertConfig(hidden_size=8, num_attention_heads=2, intermediate_size=16)
    names = {0: "neg", 1: "neu", 2: "pos"}
    copied = config.copy(id2label=names)
    theirs = transformers.AlbertConfig(id2label=names)
    assert copied.num_labels == theirs.num_labels == 3
    assert copied.id2label == theirs.id2label
    # transformers leaves label2id unset when only id2label is given; ours is its inverse
    assert copied.label2id == {name: i for i, name in theirs.id2label.items()}
    assert config.num_labels == 2  # the original is untouched
    with pytest.raises(ConfigError, match="num_labels=2 disagrees with id2label"):
        config.copy(id2label=names, num_labels=2)
    # id2label alone at construction, from JSON keys too
    assert AlbertConfig(hidden_size=8, num_attention_heads=2, intermediate_size=16,
                        id2label={"0": "x", "1": "y", "2": "z"}).label2id == {"x": 0, "y": 1, "z": 2}


def test_transformers_config_object_and_its_dicts():
    theirs = transformers.AlbertConfig(vocab_size=77, embedding_size=8, hidden_size=16, num_attention_heads=2,
                                       intermediate_size=32, hidden_act="gelu", id2label={0: "x", 1: "y", 2: "z"},
                                       problem_type="single_label_classification")
    for source in (theirs, theirs.to_diff_dict(), theirs.to_dict()):
        ours = AlbertConfig.from_dict(source)
        for key in ("vocab_size", "embedding_size", "hidden_size", "num_attention_heads", "intermediate_size",
                    "hidden_act", "num_labels", "id2label", "problem_type", "layer_norm_eps",
                    "classifier_dropout_prob"):
            assert getattr(ours, key) == getattr(theirs, key), (type(source).__name__, key)
        assert ours.label2id == {"x": 0, "y": 1, "z": 2}
    assert AlbertConfig.from_dict(theirs).extra == {}  # a config object gives its config.json content only
    with pytest.raises(ConfigError, match="must be a mapping"):
        AlbertConfig.from_dict(42)


def test_unknown_keys_keep_their_behaviour(tmp_path):
    # config.json keys this class does not model are kept and written back, as transformers keeps them
    data = {"model_type": "albert", "hidden_size": 8, "num_attention_heads": 2, "intermediate_size": 16,
            "my_note": "kept"}
    ours, theirs = AlbertConfig.from_dict(data), transformers.AlbertConfig.from_dict(data)
    assert ours.extra == {"my_note": "kept"} and theirs.my_note == "kept"
    assert ours.to_dict()["my_note"] == "kept"
    # as keyword arguments they are rejected, as for any Python call
    with pytest.raises(TypeError, match="my_note"):
        AlbertConfig(my_note="x")
    with pytest.raises(TypeError, match="my_note"):
        ours.copy(my_note="x")
