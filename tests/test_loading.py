"""Loading like transformers, in both backends, against transformers' own ``from_pretrained`` on the same files.

``num_labels`` / ``id2label`` / ``label2id`` / config overrides, ``ignore_mismatched_sizes`` (one warning naming what
was re-initialised; a clear error without it), ``torch_dtype`` / ``dtype`` (``"auto"`` = the stored dtype), a
``transformers.AlbertConfig`` as ``config``, and the auto-loaders ``albert_pt.from_pretrained`` /
``albert_tf.from_pretrained`` (the class recorded in ``architectures``).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from albert_core.errors import ConfigError
import torch

import albert_pt
from albert_core import CheckpointError, Head
from albert_core.errors import PartialLoadWarning, UsageError
from albert_core.heads import HEADS as HEAD_SPECS
from albert_core.loading import saved_architectures, saved_head, stored_dtype
from albert_core.checkpoints import read_checkpoint
from factory import build, config_for, make_inputs, random_state, to_backend
from oracles import assert_close, hf_pt_class

transformers = pytest.importorskip("transformers")

CLS = Head.SEQUENCE_CLASSIFICATION


@pytest.fixture(scope="module")
def cls_dir(tmp_path_factory):
    """A 3-label sequence-classification checkpoint saved by albert_pt, with named labels."""
    directory = tmp_path_factory.mktemp("cls")
    config = config_for(CLS, num_hidden_layers=1, id2label={0: "neg", 1: "neu", 2: "pos"})
    build("pt", CLS, config, random_state(config, CLS, seed=1)).save_pretrained(directory)
    return directory


def _partial_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, PartialLoadWarning)]


def _hf(directory, head=CLS, **kwargs):
    model, info = hf_pt_class(head).from_pretrained(directory, output_loading_info=True, **kwargs)
    return model.eval(), info


# ---------------------------------------------------------------------------------------------------------------------
# labels, mismatched sizes, the report


def test_num_labels_with_ignore_mismatched_sizes_matches_transformers(cls_dir):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = albert_pt.AlbertForSequenceClassification.from_pretrained(cls_dir, num_labels=5,
                                                                         ignore_mismatched_sizes=True)
    theirs, info = _hf(cls_dir, num_labels=5, ignore_mismatched_sizes=True)
    assert ours.config.num_labels == theirs.config.num_labels == 5
    assert ours.config.id2label == theirs.config.id2label
    assert ours.config.label2id == {name: i for i, name in theirs.config.id2label.items()}
    their_mismatched = [k if isinstance(k, str) else k[0] for k in info["mismatched_keys"]]
    assert sorted(m.name for m in ours.load_report.mismatched) == sorted(their_mismatched)
    assert sorted(ours.load_report.missing) == ["classifier.bias", "classifier.weight"]
    messages = _partial_warnings(caught)
    assert len(messages) == 1, messages  # one report
    assert "re-initialised" in messages[0] and "classifier.weight: checkpoint (3, 32) vs model (5, 32)" in messages[0]
    # the backbone is the checkpoint's: same pooled features as transformers' load of the same file
    inputs = to_backend(make_inputs(ours.config, CLS), "pt")
    with torch.no_grad():
        assert_close(ours.albert(**inputs).pooler_output, theirs.albert(**inputs).pooler_output, "pooler")
    assert tuple(ours.classifier.weight.shape) == tuple(theirs.classifier.weight.shape) == (5, 32)


def test_mismatched_sizes_raise_naming_the_tensor(cls_dir):
    with pytest.raises(CheckpointError) as info:
        albert_pt.AlbertForSequenceClassification.from_pretrained(cls_dir, num_labels=5)
    message = str(info.value)
    assert "classifier.weight: checkpoint (3, 32) vs model (5, 32)" in message
    assert "ignore_mismatched_sizes=True" in message
    with pytest.raises(RuntimeError, match="size mismatch"):  # transformers refuses too
        _hf(cls_dir, num_labels=5)


def test_id2label_alone_and_label2id_alone(cls_dir):
    names = {0: "a", 1: "b", 2: "c", 3: "d"}
    with pytest.warns(PartialLoadWarning, match="classifier.weight: checkpoint"):
        ours = albert_pt.AlbertForSequenceClassification.from_pretrained(cls_dir, id2label=names,
                                                                         ignore_mismatched_sizes=True)
    theirs, _ = _hf(cls_dir, id2label=names, ignore_mismatched_sizes=True)
    assert ours.config.num_labels == theirs.config.num_labels == 4
    assert ours.config.id2label == theirs.config.id2label
    assert ours.config.label2id == {"a": 0, "b": 1, "c": 2, "d": 3}  # transformers leaves label2id as it was
    # same width as the checkpoint: the classifier is kept, no warning at all
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        same = albert_pt.AlbertForSequenceClassification.from_pretrained(cls_dir, label2id={"x": 0, "y": 1, "z": 2})
    assert _partial_warnings(caught) == []
    assert same.config.id2label == {0: "x", 1: "y", 2: "z"} and same.load_report.mismatched == []


def test_config_overrides_and_unknown_keys(cls_dir):
    ours = albert_pt.AlbertForSequenceClassification.from_pretrained(cls_dir, hidden_dropout_prob=0.25,
                                                                     problem_type="multi_label_classification")
    theirs, _ = _hf(cls_dir, hidden_dropout_prob=0.25, problem_type="multi_label_classification")
    assert ours.config.hidden_dropout_prob == theirs.config.hidden_dropout_prob == 0.25
    assert ours.config.problem_type == theirs.config.problem_type
    assert ours.albert.embeddings.dropout.p == 0.25
    with pytest.raises(TypeError, match="unexpected keyword argument 'hiden_dropout_prob'"):
        albert_pt.AlbertForSequenceClassification.from_pretrained(cls_dir, hiden_dropout_prob=0.25)


def test_extra_keys_of_the_checkpoint_config_can_be_overridden(tmp_path):
    config = config_for(Head.BASE, num_hidden_layers=1).copy(extra={"my_note": "old"})
    albert_pt.AlbertModel(config).save_pretrained(tmp_path)
    model = albert_pt.AlbertModel.from_pretrained(tmp_path, my_note="new")
    assert model.config.extra == {"my_note": "new"}


def test_transformers_config_object(cls_dir):
    hf_config = transformers.AlbertConfig.from_pretrained(cls_dir)
    ours = albert_pt.AlbertForSequenceClassification.from_pretrained(cls_dir, config=hf_config)
    assert ours.config.id2label == {0: "neg", 1: "neu", 2: "pos"}
    for key in ("vocab_size", "hidden_size", "num_hidden_layers", "intermediate_size", "hidden_act"):
        assert getattr(ours.config, key) == getattr(hf_config, key), key
    # and the constructor takes one too
    model = albert_pt.AlbertForMaskedLM(transformers.AlbertConfig(
        vocab_size=40, embedding_size=8, hidden_size=16, num_attention_heads=2, intermediate_size=32,
        num_hidden_layers=1))
    assert model.config.vocab_size == 40 and tuple(model.get_input_embeddings().weight.shape) == (40, 8)
    import albert_tf

    tf_model = albert_tf.TFAlbertForMaskedLM(transformers.AlbertConfig(
        vocab_size=40, embedding_size=8, hidden_size=16, num_attention_heads=2, intermediate_size=32,
        num_hidden_layers=1))
    assert tf_model.config.vocab_size == 40 and tf_model.config.hidden_size == 16
    mapping = {"vocab_size": 40, "embedding_size": 8, "hidden_size": 16, "num_attention_heads": 2,
               "intermediate_size": 32, "num_hidden_layers": 1, "num_labels": 4}
    for model in (albert_pt.AlbertForSequenceClassification(mapping),
                  albert_tf.TFAlbertForSequenceClassification(mapping)):
        assert model.config.num_labels == 4 and model.config.embedding_size == 8
    with pytest.raises(ConfigError, match="got int"):
        albert_pt.AlbertModel(3)


def test_setting_num_labels_then_building_a_model():
    config = config_for(CLS, num_hidden_layers=1)
    theirs = transformers.AlbertConfig(**{k: v for k, v in config.to_dict().items() if k != "model_type"})
    config.num_labels = 5
    theirs.num_labels = 5
    ours, ref = albert_pt.AlbertForSequenceClassification(config), transformers.AlbertForSequenceClassification(theirs)
    assert tuple(ours.classifier.weight.shape) == tuple(ref.classifier.weight.shape) == (5, 32)
    assert ours.config.id2label == ref.config.id2label


def test_strict_with_mismatch_still_raises(cls_dir):
    with pytest.raises(CheckpointError, match="does not match the model exactly"):
        albert_pt.AlbertForSequenceClassification.from_pretrained(cls_dir, num_labels=5,
                                                                 ignore_mismatched_sizes=True, strict=True)


# ---------------------------------------------------------------------------------------------------------------------
# dtypes


@pytest.mark.parametrize("saved", [None, "bfloat16", "float16"])
def test_torch_dtype_auto_is_the_stored_dtype_like_transformers(saved, tmp_path):
    head = Head.MASKED_LM
    config = config_for(head, num_hidden_layers=1)
    build("pt", head, config, random_state(config, head)).save_pretrained(tmp_path, dtype=saved)
    ours = albert_pt.AlbertForMaskedLM.from_pretrained(tmp_path, torch_dtype="auto")
    theirs, _ = _hf(tmp_path, head=head, torch_dtype="auto")
    assert ours.dtype == theirs.dtype == getattr(torch, saved or "float32")
    assert stored_dtype(read_checkpoint(tmp_path)) == (saved or "float32")
    assert ours.get_output_embeddings().weight is ours.get_input_embeddings().weight


def test_torch_dtype_names_and_objects(cls_dir):
    for value, expected in (("float16", torch.float16), (torch.bfloat16, torch.bfloat16), ("float32", torch.float32)):
        ours = albert_pt.AlbertForSequenceClassification.from_pretrained(cls_dir, torch_dtype=value)
        theirs, _ = _hf(cls_dir, torch_dtype=value)
        assert ours.dtype == theirs.dtype == expected, value
    bf16 = albert_pt.AlbertForSequenceClassification.from_pretrained(cls_dir, dtype="bfloat16")
    full = albert_pt.AlbertForSequenceClassification.from_pretrained(cls_dir)
    inputs = to_backend(make_inputs(full.config, CLS), "pt")
    with torch.no_grad():
        assert bf16(**inputs).logits.dtype == torch.bfloat16
        assert_close(bf16(**inputs).logits, full(**inputs).logits, "bfloat16 logits", atol=5e-2, rtol=5e-2)
    with pytest.raises(UsageError, match="unsupported dtype 'int8'"):
        albert_pt.AlbertForSequenceClassification.from_pretrained(cls_dir, torch_dtype="int8")
    with pytest.raises(UsageError, match="disagree"):
        albert_pt.AlbertForSequenceClassification.from_pretrained(cls_dir, torch_dtype="float16", dtype="bfloat16")


# ---------------------------------------------------------------------------------------------------------------------
# the auto-loader


@pytest.mark.parametrize("head", list(Head), ids=[h.value for h in Head])
def test_pt_auto_loader_builds_the_saved_head(head, tmp_path):
    config = config_for(head, num_hidden_layers=1)
    build("pt", head, config, random_state(config, head)).save_pretrained(tmp_path)
    recorded = json.loads((tmp_path / "config.json").read_text())["architectures"]
    model = albert_pt.from_pretrained(tmp_path)
    assert type(model).__name__ == recorded[0] == HEAD_SPECS[head].hf_class
    assert type(model).__name__ == type(getattr(transformers, recorded[0]).from_pretrained(tmp_path)).__name__
    assert model.load_report.missing == [] and model.load_report.unexpected == []


def test_auto_loader_without_architectures_reads_the_tensors(tmp_path):
    head = Head.MASKED_LM
    config = config_for(head, num_hidden_layers=1)
    build("pt", head, config, random_state(config, head)).save_pretrained(tmp_path)
    data = json.loads((tmp_path / "config.json").read_text())
    del data["architectures"]
    (tmp_path / "config.json").write_text(json.dumps(data))
    assert saved_architectures(tmp_path) == [] and saved_head(tmp_path) is Head.MASKED_LM
    model = albert_pt.from_pretrained(tmp_path, torch_dtype="bfloat16")
    assert isinstance(model, albert_pt.AlbertForMaskedLM) and model.dtype == torch.bfloat16
    # transformers-written checkpoints name their class too
    ref = transformers.AlbertForQuestionAnswering(transformers.AlbertConfig(**{
        k: v for k, v in config_for(Head.QUESTION_ANSWERING, num_hidden_layers=1).to_dict().items()
        if k != "model_type"}))
    ref.save_pretrained(tmp_path / "hf")
    assert isinstance(albert_pt.from_pretrained(tmp_path / "hf"), albert_pt.AlbertForQuestionAnswering)


# ---------------------------------------------------------------------------------------------------------------------
# TensorFlow


def test_tf_from_pretrained_labels_dtype_and_auto_loader(cls_dir, tmp_path):
    tf = pytest.importorskip("tensorflow")
    import albert_tf

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = albert_tf.TFAlbertForSequenceClassification.from_pretrained(
            cls_dir, num_labels=5, ignore_mismatched_sizes=True, dtype="bfloat16")
    messages = _partial_warnings(caught)
    assert len(messages) == 1 and "classifier.weight: checkpoint (3, 32) vs model (5, 32)" in messages[0]
    assert model.config.num_labels == 5 and model.config.id2label[4] == "LABEL_4"
    assert model.dtype_policy.name == "mixed_bfloat16" and tf.keras.mixed_precision is not None
    import keras

    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    # the backbone is the checkpoint's: pooled output as transformers computes it from the same file (bf16 tolerance)
    theirs, _ = _hf(cls_dir)
    inputs = make_inputs(model.config, CLS)
    out = model.albert(**to_backend(inputs, "tf"), output_hidden_states=True)
    assert out.hidden_states[-1].dtype == tf.bfloat16
    with torch.no_grad():
        expected = theirs.albert(**to_backend(inputs, "pt")).pooler_output.numpy()
    np.testing.assert_allclose(np.asarray(tf.cast(out.pooler_output, tf.float32)), expected, atol=5e-2)
    with pytest.raises(CheckpointError, match=r"classifier\.weight: checkpoint \(3, 32\) vs model \(5, 32\)"):
        albert_tf.TFAlbertForSequenceClassification.from_pretrained(cls_dir, num_labels=5)
    # auto-loader: the class recorded by a TF save, and by a PT save
    head = Head.QUESTION_ANSWERING
    config = config_for(head, num_hidden_layers=1)
    build("tf", head, config, random_state(config, head)).save_pretrained(tmp_path / "qa")
    auto = albert_tf.from_pretrained(tmp_path / "qa", dtype="auto")
    assert type(auto).__name__ == "TF" + json.loads((tmp_path / "qa" / "config.json").read_text())["architectures"][0]
    assert type(albert_tf.from_pretrained(cls_dir)).__name__ == "TFAlbertForSequenceClassification"

