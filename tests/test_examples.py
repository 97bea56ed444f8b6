"""examples/pretrain_tiny.py: the data builder's invariants, short PyTorch and Keras runs, and their checkpoints."""

from __future__ import annotations

import csv
import importlib.util
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT, SHAKESPEARE

EXAMPLE = REPO_ROOT / "examples" / "pretrain_tiny.py"
pytestmark = pytest.mark.skipif(not SHAKESPEARE.is_file(), reason=f"corpus not found: {SHAKESPEARE}")

# a slice of the corpus and a small vocabulary keep the whole file at a few tens of seconds on 2 cores
COMMON = ["--max-lines", "6000", "--vocab-size", "800", "--max-len", "64", "--batch-size", "16", "--seed", "3"]


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("pretrain_tiny", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("pretrain_tiny", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pt_run(example, tmp_path_factory):
    out = tmp_path_factory.mktemp("pt")
    args = ["--corpus", str(SHAKESPEARE), "--out", str(out), "--steps", "30", "--log-every", "5",
            "--eval-every", "15", *COMMON]
    return example.main(args)


@pytest.fixture(scope="module")
def tf_run(example, tmp_path_factory):
    pytest.importorskip("tensorflow")
    out = tmp_path_factory.mktemp("tf")
    args = ["--framework", "tf", "--corpus", str(SHAKESPEARE), "--out", str(out), "--steps", "6", "--log-every", "3",
            "--eval-every", "6", *COMMON]
    return example.main(args)


def _original_ids(data):
    return np.where(data["labels"] != -100, data["labels"], data["input_ids"])


def test_packing_invariants(pt_run):
    data, tok = pt_run["train"], pt_run["tokenizer"]
    ids = _original_ids(data)
    n, max_len = ids.shape
    assert n > 300 and max_len == 64
    assert (ids[:, 0] == tok.cls_token_id).all()
    lengths = data["attention_mask"].sum(axis=1)
    for row in range(n):
        length = lengths[row]
        seps = np.flatnonzero(ids[row] == tok.sep_token_id)
        assert len(seps) == 2 and seps[1] == length - 1 and 1 < seps[0] < length - 2  # A and B both non-empty
        assert (data["attention_mask"][row, :length] == 1).all() and (data["attention_mask"][row, length:] == 0).all()
        assert (ids[row, length:] == tok.pad_token_id).all()
        types = data["token_type_ids"][row]
        assert (types[: seps[0] + 1] == 0).all() and (types[seps[0] + 1 : length] == 1).all()
        assert (types[length:] == 0).all()
    special = np.isin(ids, [tok.cls_token_id, tok.sep_token_id, tok.pad_token_id])
    np.testing.assert_array_equal(data["special_tokens_mask"], special.astype(np.int64))
    assert not np.isin(ids[~special], tok.all_special_ids).any()


def test_masking_invariants(pt_run):
    data, tok = pt_run["train"], pt_run["tokenizer"]
    ids, labels, maskable = _original_ids(data), data["labels"], data["special_tokens_mask"] == 0
    picked = labels != -100
    assert not (picked & ~maskable).any()  # labels are -100 on [CLS], [SEP] and padding ...
    assert picked.sum(axis=1).min() >= 1  # ... every row predicts something ...
    np.testing.assert_array_equal(data["input_ids"][~picked], ids[~picked])  # ... and the rest is untouched
    assert abs(picked.sum() / maskable.sum() - 0.15) < 0.01
    per_row = picked.sum(axis=1) / maskable.sum(axis=1)
    assert np.abs(per_row - 0.15).max() < 0.1  # round(15%) of each row (at least one token)
    changed = data["input_ids"][picked]
    as_mask = (changed == tok.mask_token_id).mean()
    unchanged = (changed == labels[picked]).mean()
    assert abs(as_mask - 0.8) < 0.04 and abs(unchanged - 0.1) < 0.04 and abs(1 - as_mask - unchanged - 0.1) < 0.04
    assert not np.isin(changed[changed != tok.mask_token_id], tok.all_special_ids).any()


def test_sentence_order_pairs(example, pt_run):
    tok = pt_run["tokenizer"]
    docs = example.read_documents(SHAKESPEARE, max_lines=2000)
    # the first turn with two spoken lines, without its "First Citizen:" header
    assert docs[0] == ["Let us kill him, and we'll have corn at our own price.", "Is't a verdict?"]
    assert all(len(doc) >= 2 for doc in docs)
    pairs = example.make_segment_pairs(docs, tok, 48, np.random.default_rng(0))
    stream = [t for doc in docs for t in tok(doc, add_special_tokens=False)["input_ids"] for t in t]
    text = " " + " ".join(map(str, stream)) + " "
    for a, b, label in pairs:
        assert label in (0, 1) and a and b and len(a) + len(b) <= 45
        first, second = (a, b) if label == 0 else (b, a)
        # un-swapped, the two segments are one contiguous stretch of the corpus
        assert " " + " ".join(map(str, first + second)) + " " in text
    labels = np.array([p[2] for p in pairs])
    assert len(pairs) > 100 and 0.4 < labels.mean() < 0.6
    assert 0.4 < pt_run["train"]["sentence_order_label"].mean() < 0.6


def test_data_is_seeded(example, pt_run):
    docs = example.read_documents(SHAKESPEARE, max_lines=1500)
    first = example.build_examples(docs, pt_run["tokenizer"], 64, seed=7)
    second = example.build_examples(docs, pt_run["tokenizer"], 64, seed=7)
    assert first.keys() == second.keys()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    assert not np.array_equal(first["labels"], example.build_examples(docs, pt_run["tokenizer"], 64, seed=8)["labels"])


def test_pt_training_reduces_mlm_loss(pt_run):
    train = [r for r in pt_run["history"] if r["split"] == "train"]
    held = [r for r in pt_run["history"] if r["split"] == "heldout"]
    assert [r["step"] for r in train] == [5, 10, 15, 20, 25, 30] and [r["step"] for r in held] == [0, 15, 30]
    assert train[-1]["mlm_loss"] < train[0]["mlm_loss"] - 0.5
    assert held[-1]["mlm_loss"] < held[0]["mlm_loss"] - 0.5
    final = pt_run["final"]
    assert 0 <= final["sop_acc"] <= 1 and final["mlm_acc"] > held[0]["mlm_acc"]


def _outputs_written(run):
    rows = list(csv.DictReader(open(run["csv"], encoding="utf-8")))
    assert len(rows) == len(run["history"])
    assert {r["split"] for r in rows} == {"train", "heldout"}
    assert float(rows[-1]["mlm_loss"]) == pytest.approx(run["history"][-1]["mlm_loss"], rel=1e-4)
    if importlib.util.find_spec("matplotlib") is not None:
        assert run["plot"] is not None and run["plot"].stat().st_size > 10_000
    else:
        assert run["plot"] is None
    assert {"config.json", "model.safetensors", "spiece.model", "tokenizer_config.json"} <= {
        p.name for p in run["out"].iterdir()}


def test_pt_outputs_written(pt_run):
    _outputs_written(pt_run)


def _pt_logits(model, probe):
    import torch

    with torch.no_grad():
        out = model(**{k: torch.from_numpy(v) for k, v in probe.items()})
    return out.prediction_logits.numpy(), out.sop_logits.numpy()


def _tf_logits(model, probe):
    out = model(probe, training=False)
    return out.prediction_logits.numpy(), out.sop_logits.numpy()


def _assert_close(got, want):
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-5, rtol=0)


def test_pt_checkpoint_reloads_in_both_frameworks(pt_run):
    from albert_core import AlbertTokenizer
    from albert_pt import AlbertForPreTraining

    probe = {k: pt_run["heldout"][k][:4] for k in ("input_ids", "attention_mask", "token_type_ids")}
    want = _pt_logits(pt_run["model"], probe)
    reloaded = AlbertForPreTraining.from_pretrained(pt_run["out"], strict=True)
    _assert_close(_pt_logits(reloaded, probe), want)
    pytest.importorskip("tensorflow")
    from albert_tf import TFAlbertForPreTraining

    _assert_close(_tf_logits(TFAlbertForPreTraining.from_pretrained(pt_run["out"], strict=True), probe), want)
    text = "To be, or not to be: that is the question."
    assert AlbertTokenizer.from_pretrained(pt_run["out"]).encode(text) == pt_run["tokenizer"].encode(text)


def test_tf_fit_run(tf_run):
    train = [r for r in tf_run["history"] if r["split"] == "train"]
    assert [r["step"] for r in train] == [3, 6]
    assert train[-1]["mlm_loss"] < train[0]["mlm_loss"]
    assert all(0 <= r["sop_acc"] <= 1 and r["sop_loss"] > 0 and r["tokens_per_s"] > 0 for r in train)
    _outputs_written(tf_run)
    from albert_pt import AlbertForPreTraining
    from albert_tf import TFAlbertForPreTraining

    probe = {k: tf_run["heldout"][k][:4] for k in ("input_ids", "attention_mask", "token_type_ids")}
    want = _tf_logits(tf_run["model"], probe)
    _assert_close(_tf_logits(TFAlbertForPreTraining.from_pretrained(tf_run["out"], strict=True), probe), want)
    _assert_close(_pt_logits(AlbertForPreTraining.from_pretrained(tf_run["out"], strict=True), probe), want)
