"""albert_tf.inference (the TensorFlow fast path) against albert_tf's eager model and transformers on the same weights.

Both graph kinds are forced in turn (the plain ``tf.function`` graph and XLA, which pads to its shape bucket),
whatever this machine would pick; each must agree with the eager TF model and with transformers' PyTorch ALBERT
within 1e-5. The choice between them is checked on a fake clock (never on real timings). The variable-length API is
checked sequence by sequence against the eager model run on one padded batch. The bfloat16 path is held to a
measured bound against float32.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import tensorflow as tf
import torch

from albert_core import Head, InputError
from albert_core.errors import EmulatedPrecisionWarning, UsageError
from albert_tf import MODEL_CLASSES, TFAlbertModel
from albert_tf import inference
from albert_tf.inference import GraphTuner, TFFastAlbert, bucket_shape, optimize_for_inference
from factory import config_for, make_inputs, make_labels, random_sequences, right_padded
from oracles import main_keys, ours_and_reference

ATOL = 1e-5
HEADS = [Head.BASE, Head.SEQUENCE_CLASSIFICATION, Head.TOKEN_CLASSIFICATION, Head.QUESTION_ANSWERING,
         Head.MASKED_LM, Head.PRETRAINING, Head.MULTIPLE_CHOICE]
KINDS = [False, True]  # the plain graph, XLA
KIND_IDS = ["graph", "xla"]

_CACHE: dict = {}


def models(name: str, head: Head, tmp_path_factory):
    """(config, ours eager, transformers eager) on the same random weights, built once per module."""
    key = (name, head)
    if key not in _CACHE:
        config = config_for(head, name, num_hidden_layers=2)  # 2 layers sharing one group: quick to trace
        ours, ref = ours_and_reference(MODEL_CLASSES, config, head, tmp_path_factory.mktemp("ckpt"))
        _CACHE[key] = (config, ours, ref)
    return _CACHE[key]


def max_diff(a, b) -> float:
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())


def tuner() -> GraphTuner:
    return GraphTuner(budget_s=0.0, min_reps=1, max_reps=1)  # the choice itself is not under test here


def oracle(ref, arrays, **kwargs):
    with torch.no_grad():
        return ref(**{k: torch.from_numpy(v) for k, v in arrays.items()}, **kwargs)


def three_rows(config, head):
    """The factory batch plus a third row (padded after 2 tokens): a batch XLA pads to 4 rows."""
    x = make_inputs(config, head)
    extra = {k: v[1:2].copy() for k, v in x.items()}
    extra["attention_mask"][..., 2:] = 0
    extra["input_ids"][..., 2:] = config.pad_token_id
    return {k: np.concatenate([x[k], extra[k]]) for k in x}


@pytest.mark.parametrize("head", HEADS, ids=[h.value for h in HEADS])
def test_every_head_matches_eager_and_transformers_on_both_graph_kinds(head, tmp_path_factory):
    config, ours, ref = models("default", head, tmp_path_factory)
    # the plain graph on two shapes (one trace serves both); XLA on 3 rows x 7 tokens, padded to its 4 x 8 bucket
    cases = [(False, make_inputs(config, head)), (False, three_rows(config, head)), (True, three_rows(config, head))]
    for xla in (False, True):
        fast = optimize_for_inference(ours, xla=xla, tuner=tuner())
        for inputs in (inputs for kind, inputs in cases if kind == xla):
            got, eager, theirs = fast(**inputs), ours(**inputs), oracle(ref, inputs)
            assert type(got) is type(eager)
            for key in main_keys(head):
                assert got[key].shape == eager[key].shape, key
                assert got[key].dtype == tf.float32
                assert max_diff(got[key], eager[key]) < ATOL, (xla, key, max_diff(got[key], eager[key]))
                assert max_diff(got[key], theirs[key]) < ATOL, (xla, key, max_diff(got[key], theirs[key]))
        kinds = {kind for kind, _, _ in fast._graphs}
        assert kinds == {"xla" if xla else "graph"}  # the forced kind is the one that ran
        expected = {(4, 8): "xla"} if xla else {(2, 8): "graph", (4, 8): "graph"}
        assert fast.graph_choices() == expected


@pytest.mark.parametrize("name", ["relative_key_query"])  # relative positions: the padding must not shift them
def test_xla_bucket_padding_is_exact_for_other_configs(name, tmp_path_factory):
    config, ours, ref = models(name, Head.BASE, tmp_path_factory)
    fast = optimize_for_inference(ours, xla=True, tuner=tuner())
    inputs = three_rows(config, Head.BASE)
    del inputs["attention_mask"]  # no mask given: the bucket's extra positions still get masked
    got, theirs = fast(**inputs), oracle(ref, inputs)
    for key in main_keys(Head.BASE):
        assert max_diff(got[key], theirs[key]) < ATOL, (name, key)


@pytest.mark.parametrize("xla", KINDS, ids=KIND_IDS)
def test_hidden_states_and_losses_match(xla, tmp_path_factory):
    config, ours, ref = models("default", Head.TOKEN_CLASSIFICATION, tmp_path_factory)
    fast = optimize_for_inference(ours, xla=xla, tuner=tuner())
    inputs = make_inputs(config, Head.TOKEN_CLASSIFICATION)
    labels = make_labels(config, Head.TOKEN_CLASSIFICATION)
    got = fast({**inputs, **labels}, output_hidden_states=True)  # a dict first, as the model takes it
    theirs = oracle(ref, {**inputs, **labels}, output_hidden_states=True)
    assert abs(float(got.loss) - float(theirs.loss)) < ATOL
    assert len(got.hidden_states) == len(theirs.hidden_states) == config.num_hidden_layers + 1
    for mine, other in zip(got.hidden_states, theirs.hidden_states):
        assert mine.shape == tuple(other.shape)
        assert max_diff(mine, other) < ATOL
    with pytest.raises(InputError, match="labels"):  # the model's label checks still run
        fast(**inputs, labels=np.full((2, 7), config.num_labels))


def test_unsupported_arguments_go_to_the_eager_model_and_bad_arguments_raise(tmp_path_factory):
    config, ours, ref = models("default", Head.BASE, tmp_path_factory)
    fast = optimize_for_inference(ours, xla=False, tuner=tuner())
    inputs = make_inputs(config, Head.BASE)
    head_mask = np.array([1.0, 0.0, 0.5, 1.0], np.float32)
    got = fast(**inputs, output_attentions=True, head_mask=head_mask)
    theirs = oracle(ref, inputs, output_attentions=True, head_mask=torch.from_numpy(head_mask))
    assert len(got.attentions) == config.num_hidden_layers
    assert max_diff(got.last_hidden_state, theirs.last_hidden_state) < ATOL
    with pytest.raises(UsageError, match="unexpected"):
        fast(**inputs, labels=np.array([0, 1]))
    with pytest.raises(UsageError, match="inference"):
        fast(**inputs, training=True)
    with pytest.raises(InputError, match="vocab_size"):  # eager value checks, with the model's message
        fast(np.array([[2, config.vocab_size]]))
    with pytest.raises(InputError, match="attention_mask"):
        fast(np.array([[2, 3]]), np.array([[1, 2]]))
    with pytest.raises(InputError, match="max_position_embeddings"):
        fast(np.full((1, config.max_position_embeddings + 1), 5))
    with pytest.raises(UsageError, match="xla"):
        optimize_for_inference(ours, xla="yes")
    with pytest.raises(UsageError, match="albert_tf model"):
        TFFastAlbert.from_model(object())
    with pytest.raises(UsageError, match="seq_multiple"):
        optimize_for_inference(ours, seq_multiple=0)
    with pytest.raises(UsageError, match="min_reps"):
        GraphTuner(min_reps=0)


def test_bucket_shapes_are_hand_computed():
    assert bucket_shape(8, 128) == (8, 128)  # albert-base 8 x 128: no padding at all
    assert bucket_shape(1, 1) == (1, 1)
    assert bucket_shape(3, 7) == (4, 8)
    assert bucket_shape(5, 16) == (8, 16)
    assert bucket_shape(9, 17) == (16, 32)
    assert bucket_shape(24, 100) == (24, 112)
    assert bucket_shape(2, 509, max_seq=512) == (2, 512)
    assert bucket_shape(2, 15, max_seq=12) == (2, 15)  # never below the input itself
    assert bucket_shape(2, 11, max_seq=12) == (2, 12)


# ---------------------------------------------------------------------------------------------------------------------
# no work on padding


def padded_eager(model, ids, types):
    """The eager model on one right-padded batch of every sequence (the reference the unpadded path must match)."""
    batch, mask, tt = right_padded(ids, types)
    return model(input_ids=batch, attention_mask=mask, token_type_ids=tt)


PER_SEQUENCE = {"pooler_output", "sop_logits"}
# the chunking does not depend on the head: both kinds on the backbone, the plain graph on every head
ENCODE_CASES = [(Head.BASE, False), (Head.BASE, True)] + [(h, False) for h in HEADS[1:-1]]


@pytest.mark.parametrize("head,xla", ENCODE_CASES, ids=[f"{h.value}-{'xla' if x else 'graph'}"
                                                       for h, x in ENCODE_CASES])
def test_encode_batch_matches_the_padded_eager_model(head, xla, tmp_path_factory):
    config, ours, _ = models("default", head, tmp_path_factory)
    fast = optimize_for_inference(ours, xla=xla, tuner=tuner())
    ids, types = random_sequences(config, 13, seed=len(head.value))
    if xla:  # XLA compiles once per bucket: 9 to 16 tokens (bucket 16) keep the buckets few
        ids, types = [s[:16] for s in ids if len(s) >= 9][:6], [t[:16] for t in types if len(t) >= 9][:6]
    reference = padded_eager(ours, ids, types)
    # a small max_tokens cuts the job into several chunks of different widths
    results = fast.encode_batch(ids, token_type_ids=types, max_tokens=60)
    assert len(results) == len(ids)
    keys = main_keys(head) + (["pooler_output"] if head is Head.BASE else [])
    for i, (seq, row) in enumerate(zip(ids, results)):
        for key in keys:
            expected = np.asarray(reference[key][i])
            per_sequence = key in PER_SEQUENCE or (key == "logits" and head is Head.SEQUENCE_CLASSIFICATION)
            if not per_sequence:
                expected = expected[: len(seq)]  # only the real positions exist in the unpadded result
            assert tuple(row[key].shape) == expected.shape, (i, key)
            assert max_diff(row[key], expected) < ATOL, (i, key, max_diff(row[key], expected))
    if xla:  # 6 sequences of 9 to 16 tokens, 60 positions a chunk: 3 chunks of 2 rows, padded to 16 tokens
        assert fast.graph_choices() == {(2, 16): "xla"}
    else:
        assert len(fast.graph_choices()) > 1 and set(fast.graph_choices().values()) == {"graph"}


def test_chunks_are_sorted_bounded_and_sized_for_xla(tmp_path_factory):
    _, ours, _ = models("default", Head.BASE, tmp_path_factory)
    graph = optimize_for_inference(ours, xla=False)
    xla = optimize_for_inference(ours, xla=True)
    lengths = [100] * 5 + [95] * 6 + [60] * 3 + [10] * 2
    assert graph._chunk_rows(lengths, 10_000) == 11  # 1100 positions, then 60 < 100 * (1 - 1/8): a new chunk
    assert xla._chunk_rows(lengths, 10_000) == 8  # cut down to the XLA row bucket
    assert graph._chunk_rows(lengths, 350) == 3  # max_tokens: 3 x 100 positions
    assert xla._chunk_rows(lengths, 350) == 2
    assert graph._chunk_rows([60] * 3 + [10] * 2, 10_000) == 5  # under 512 positions: the chunk grows on
    assert graph._chunk_rows([100], 50) == 1  # at least one sequence


def test_encode_batch_keeps_the_callers_order_and_takes_tokenizer_output(tmp_path_factory):
    config, ours, _ = models("default", Head.SEQUENCE_CLASSIFICATION, tmp_path_factory)
    fast = optimize_for_inference(ours, xla=False, tuner=tuner())
    ids, types = random_sequences(config, 9, seed=5, max_len=20)
    forward = fast.encode_batch({"input_ids": ids, "token_type_ids": types})
    backward = fast.encode_batch(ids[::-1], token_type_ids=types[::-1])
    for i, seq in enumerate(ids):
        alone = ours(np.array([seq]), token_type_ids=np.array([types[i]])).logits[0]  # no padding at all
        assert max_diff(forward[i].logits, alone) < ATOL
        assert max_diff(backward[len(ids) - 1 - i].logits, alone) < ATOL
    assert fast.encode_batch([]) == []
    as_arrays = fast.encode_batch([np.array(ids[0]), tf.constant(ids[1])], token_type_ids=types[:2])
    assert max_diff(as_arrays[1].logits, forward[1].logits) < ATOL


@pytest.mark.parametrize("head", [Head.TOKEN_CLASSIFICATION, Head.MULTIPLE_CHOICE, Head.SEQUENCE_CLASSIFICATION],
                         ids=lambda h: h.value)
def test_call_with_unpad_skips_padding_and_matches_real_positions(head, tmp_path_factory):
    config, ours, ref = models("default", head, tmp_path_factory)
    fast = optimize_for_inference(ours, xla=False, tuner=tuner())
    inputs = make_inputs(config, head)
    got, theirs = fast(**inputs, unpad=True), oracle(ref, inputs)
    mask = inputs["attention_mask"].astype(bool)
    if head is Head.TOKEN_CLASSIFICATION:
        assert max_diff(np.asarray(got.logits)[mask], theirs.logits.numpy()[mask]) < ATOL
        assert float(np.abs(np.asarray(got.logits)[~mask]).max()) == 0.0  # padded positions were not computed
    else:
        assert got.logits.shape == tuple(theirs.logits.shape)
        assert max_diff(got.logits, theirs.logits) < ATOL
    # a mask with a hole is not right padding: the call runs padded and equals the model everywhere
    holes = dict(inputs)
    holes["attention_mask"] = inputs["attention_mask"].copy()
    holes["attention_mask"][..., 1] = 0
    assert max_diff(fast(**holes, unpad=True).logits, oracle(ref, holes).logits) < ATOL


# ---------------------------------------------------------------------------------------------------------------------
# the measured choice


class Clock:
    """A fake ``time`` module: only the candidates' known costs advance it, so the test does not depend on load."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now


def test_tuner_picks_the_fastest_and_caches_on_disk(tmp_path, monkeypatch):
    from albert_core import tuning

    clock = Clock()
    monkeypatch.setattr(tuning, "time", clock)
    calls = {"graph": 0, "xla": 0}

    def candidate(name, cost):
        def run():
            calls[name] += 1
            clock.now += cost
        return run

    cache = tmp_path / "graphs.json"
    first = GraphTuner(cache_file=cache, budget_s=0.0, min_reps=3)
    assert first.choose("k1", {"graph": candidate("graph", 0.004), "xla": candidate("xla", 0.001)}) == "xla"
    assert calls == {"graph": 4, "xla": 4}  # one warm-up and min_reps timed calls each (the budget is 0)
    assert first.choose("k1", {"graph": candidate("graph", 0.004), "xla": candidate("xla", 0.001)}) == "xla"
    assert calls == {"graph": 4, "xla": 4}  # decided once
    saved = json.loads(cache.read_text())["decisions"]
    (key, entry), = saved.items()
    assert key.endswith("| k1") and f"tensorflow {tf.__version__}" in key
    assert entry == {"choice": "xla", "median_us": {"graph": 4000.0, "xla": 1000.0}}
    # a second process (a new tuner on the same file) reuses the decision without measuring
    second = GraphTuner(cache_file=cache)
    assert second.choose("k1", {"graph": candidate("graph", 0.0), "xla": candidate("xla", 9.0)}) == "xla"
    assert calls == {"graph": 4, "xla": 4}
    # a damaged file is measured again; a budget keeps measuring beyond min_reps until it is spent
    cache.write_text("{not json")
    third = GraphTuner(cache_file=cache, budget_s=0.05, min_reps=1)
    assert third.choose("k1", {"graph": candidate("graph", 0.001), "xla": candidate("xla", 0.004)}) == "graph"
    assert calls == {"graph": 4 + 1 + 10, "xla": 4 + 1 + 10}  # 0.005 s per round: 10 rounds reach 0.05 s


class FixedTuner(GraphTuner):
    """Decides by a list of winners instead of a clock, and records what it was asked."""

    def __init__(self, winners):
        super().__init__()
        self.winners, self.keys = list(winners), []

    def measure(self, candidates):
        self.keys.append(sorted(candidates))
        for run in candidates.values():
            run()  # both candidates really run (and must not fail)
        return {"choice": self.winners.pop(0), "median_us": {}}


def test_auto_runs_the_measured_choice_per_bucket(tmp_path_factory):
    config, ours, ref = models("default", Head.QUESTION_ANSWERING, tmp_path_factory)
    tuner_ = FixedTuner(["xla", "graph"])
    fast = optimize_for_inference(ours, xla="auto", tuner=tuner_)
    for inputs in (make_inputs(config, Head.QUESTION_ANSWERING), three_rows(config, Head.QUESTION_ANSWERING)):
        for _ in range(2):
            got = fast(**inputs)
            assert max_diff(got.start_logits, oracle(ref, inputs).start_logits) < ATOL
            assert max_diff(got.end_logits, oracle(ref, inputs).end_logits) < ATOL
    assert tuner_.keys == [["graph", "xla"], ["graph", "xla"]]  # one measurement per bucket
    assert fast.graph_choices() == {(2, 8): "xla", (4, 8): "graph"}
    assert sorted(k.rsplit("bucket=", 1)[1] for k in tuner_.decisions) == ["2x8", "4x8"]


# ---------------------------------------------------------------------------------------------------------------------
# bfloat16: the model rebuilt under mixed_bfloat16 (GEMMs in bfloat16; LayerNorm / softmax / logits in float32)

#: Largest max-abs difference from float32 transformers, relative to the output's largest magnitude, on these tiny
#: models. Measured on this machine (emulated bfloat16, same arithmetic as native): 0.5% to 1.3% by head, output
#: and graph kind.
BF16_RTOL = 0.025


def fast_bf16(model, xla):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmulatedPrecisionWarning)
        return optimize_for_inference(model, xla=xla, dtype="bfloat16", tuner=tuner())


BF16_CASES = [(Head.BASE, False), (Head.BASE, True), (Head.SEQUENCE_CLASSIFICATION, False),
              (Head.MASKED_LM, False), (Head.QUESTION_ANSWERING, False)]


@pytest.mark.parametrize("head,xla", BF16_CASES, ids=[f"{h.value}-{'xla' if x else 'graph'}" for h, x in BF16_CASES])
def test_bf16_path_is_within_the_measured_bound(head, xla, tmp_path_factory):
    config, ours, ref = models("default", head, tmp_path_factory)
    fast = fast_bf16(ours, xla)
    inputs = make_inputs(config, head)
    got, theirs = fast(**inputs), oracle(ref, inputs)
    for key in main_keys(head):
        assert got[key].dtype == tf.float32, key
        scale = float(theirs[key].abs().max())
        error = max_diff(got[key], theirs[key]) / scale
        assert 0 < error < BF16_RTOL, (key, error)  # > 0: the GEMMs really ran in bfloat16
    assert fast.compute_model.dtype_policy.name == "mixed_bfloat16" and fast.model is ours
    assert ours.dtype_policy.name == "float32"  # the caller's model is untouched


def test_bf16_encode_batch_matches_float32_within_the_bound(tmp_path_factory):
    config, ours, _ = models("default", Head.TOKEN_CLASSIFICATION, tmp_path_factory)
    fast = fast_bf16(ours, False)
    ids, types = random_sequences(config, 9, seed=3)
    reference = np.asarray(padded_eager(ours, ids, types).logits)
    scale = float(np.abs(reference).max())
    for i, row in enumerate(fast.encode_batch(ids, token_type_ids=types, max_tokens=60)):
        assert tuple(row.logits.shape) == (len(ids[i]), config.num_labels)
        assert max_diff(row.logits, reference[i, : len(ids[i])]) / scale < BF16_RTOL


def test_bf16_warns_only_where_it_is_emulated(tmp_path_factory, monkeypatch):
    _, ours, _ = models("default", Head.BASE, tmp_path_factory)
    from albert_tf import pretraining

    monkeypatch.setattr(pretraining, "bf16_support", lambda: (False, "no native bfloat16 (test)"))
    with pytest.warns(EmulatedPrecisionWarning, match="no native bfloat16 \\(test\\).*emulation"):
        optimize_for_inference(ours, xla=False, dtype="bf16")
    monkeypatch.setattr(pretraining, "bf16_support", lambda: (True, "native (test)"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", EmulatedPrecisionWarning)
        fast = optimize_for_inference(ours, xla=False, dtype=tf.bfloat16)
    assert fast.dtype == "bfloat16" and inference.bf16_check(quiet=True) is True
    for bad in ("float16", "int8", tf.float64, 3):
        with pytest.raises(UsageError, match="float32"):
            optimize_for_inference(ours, xla=False, dtype=bad)
    # a model built under mixed_bfloat16 runs in bfloat16 by default, and can be asked for float32
    path = tmp_path_factory.mktemp("bf16")
    ours.save_pretrained(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        half = TFAlbertModel.from_pretrained(path, dtype="bfloat16")
        assert optimize_for_inference(half, xla=False).dtype == "bfloat16"
    full = optimize_for_inference(half, xla=False, dtype="float32")
    assert full.compute_model.dtype_policy.name == "float32"
    inputs = make_inputs(ours.config, Head.BASE)
    assert max_diff(full(**inputs).last_hidden_state, ours(**inputs).last_hidden_state) < ATOL


# ---------------------------------------------------------------------------------------------------------------------
# pipelines run the fast path by default


def test_pipeline_runner_uses_the_fast_path_and_keeps_the_old_one(tmp_path_factory):
    from albert_tf.pipelines import make_runner, pipeline

    config, ours, ref = models("default", Head.TOKEN_CLASSIFICATION, tmp_path_factory)
    inputs = make_inputs(config, Head.TOKEN_CLASSIFICATION)
    theirs = oracle(ref, inputs).logits.numpy()
    for runner in (make_runner(ours), make_runner(ours, fast=False), make_runner(ours, jit=False)):
        out = runner(inputs)
        assert set(out) == {"logits"} and out["logits"].dtype == np.float32
        assert max_diff(out["logits"], theirs) < ATOL
    with pytest.raises(UsageError, match="xla"):
        pipeline("fill-mask", xla="sometimes")
