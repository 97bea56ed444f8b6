"""albert_pt.inference (the fast path) against albert_pt's eager model and transformers on the same weights.

Every GEMM path is forced in turn (PyTorch's default kernel, oneDNN with and without the fused activation, the
sigmoid form of the tanh GELU after either kernel, and the measured choice), whatever this machine would pick; each
must agree with both references within 1e-5. The variable-length API is checked sequence by sequence against the
eager model run on a padded batch. The bfloat16 path is held to a measured bound against float32 transformers and to
the error of transformers' own bfloat16 autocast.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from albert_core import AlbertConfig, Head
from albert_core.config import ACTIVATION_FUNCTIONS
from albert_core.errors import EmulatedPrecisionWarning, UsageError
from albert_pt import MODEL_CLASSES
from albert_pt import inference
from albert_pt.inference import FastAlbert, FastLinear, GemmTuner, onednn_available, optimize_for_inference
from factory import config_for, make_batch, random_sequences, right_padded
from oracles import main_keys, ours_and_reference

ATOL = 1e-5
#: (gemm, fuse) settings: every kernel combination, whatever the tuner would pick here
PATHS = [("default", False), ("onednn", False), ("onednn", True), ("auto", "auto")]
PATH_IDS = ["default", "onednn", "onednn_fused", "auto"]
HEADS = [Head.BASE, Head.SEQUENCE_CLASSIFICATION, Head.TOKEN_CLASSIFICATION, Head.QUESTION_ANSWERING,
         Head.MASKED_LM, Head.PRETRAINING, Head.MULTIPLE_CHOICE]
CONFIGS = ["default", "groups2_inner2", "gelu_exact", "silu"]  # silu: an activation oneDNN does not fuse

needs_onednn = pytest.mark.skipif(not onednn_available(), reason="this torch build has no oneDNN linear")

_CACHE: dict = {}


def models(name: str, head: Head, tmp_path_factory):
    """(ours eager, transformers eager) on the same random weights, built once per module."""
    key = (name, head)
    if key not in _CACHE:
        config = config_for(head, name)
        ours, ref = ours_and_reference(MODEL_CLASSES, config, head, tmp_path_factory.mktemp("ckpt"))
        _CACHE[key] = (config, ours, ref)
    return _CACHE[key]


def max_diff(a, b) -> float:
    return float((a.detach().float() - b.detach().float()).abs().max())


def tuner() -> GemmTuner:
    return GemmTuner(budget_s=0.0, min_reps=1, max_reps=2)  # the choice itself is not under test here


def fast_for(model, gemm, fuse):
    if gemm == "onednn" and not onednn_available():
        pytest.skip("this torch build has no oneDNN linear")
    return optimize_for_inference(model, gemm=gemm, fuse=fuse, tuner=tuner())


@pytest.mark.parametrize("gemm,fuse", PATHS, ids=PATH_IDS)
@pytest.mark.parametrize("head", HEADS, ids=[h.value for h in HEADS])
def test_every_path_matches_eager_and_transformers(head, gemm, fuse, tmp_path_factory):
    for name in CONFIGS if head is Head.BASE else ["groups2_inner2"]:
        config, ours, ref = models(name, head, tmp_path_factory)
        fast = fast_for(ours, gemm, fuse)
        inputs = make_batch("pt", config, head)  # row 1 padded: the mask is real
        with torch.no_grad():
            got, eager, oracle = fast(**inputs), ours(**inputs), ref(**inputs)
        assert type(got) is type(eager)
        for key in main_keys(head):
            assert got[key].shape == eager[key].shape, key
            assert max_diff(got[key], eager[key]) < ATOL, (name, key, max_diff(got[key], eager[key]))
            assert max_diff(got[key], oracle[key]) < ATOL, (name, key, max_diff(got[key], oracle[key]))
        if gemm != "auto":  # the forced kernel is the one that ran
            used = {c for layer in fast.gemm_choices().values() for c in layer.values()}
            assert used and all(c.startswith(gemm) for c in used), used
            if gemm == "onednn" and config.hidden_act != "silu":
                assert ("onednn+act" in used) == fuse


@pytest.mark.parametrize("gemm,fuse", PATHS, ids=PATH_IDS)
def test_hidden_states_and_losses_match(gemm, fuse, tmp_path_factory):
    config, ours, ref = models("groups2_inner2", Head.TOKEN_CLASSIFICATION, tmp_path_factory)
    fast = fast_for(ours, gemm, fuse)
    batch = make_batch("pt", config, Head.TOKEN_CLASSIFICATION, labels=True)
    with torch.no_grad():
        got = fast(**batch, output_hidden_states=True)
        oracle = ref(**batch, output_hidden_states=True)
    assert abs(float(got.loss) - float(oracle.loss)) < ATOL
    assert len(got.hidden_states) == len(oracle.hidden_states) == config.num_hidden_layers + 1
    for mine, theirs in zip(got.hidden_states, oracle.hidden_states):
        assert max_diff(mine, theirs) < ATOL


def test_unsupported_arguments_go_to_the_eager_model(tmp_path_factory):
    config, ours, ref = models("default", Head.BASE, tmp_path_factory)
    fast = fast_for(ours, "default", False)
    inputs = make_batch("pt", config, Head.BASE)
    with torch.no_grad():
        got = fast(**inputs, output_attentions=True, head_mask=torch.tensor([1.0, 0.0, 0.5, 1.0]))
        oracle = ref(**inputs, output_attentions=True, head_mask=torch.tensor([1.0, 0.0, 0.5, 1.0]))
    assert len(got.attentions) == config.num_hidden_layers
    assert max_diff(got.last_hidden_state, oracle.last_hidden_state) < ATOL
    rel = config_for(Head.BASE, "relative_key")
    model = MODEL_CLASSES[Head.BASE](rel).eval()
    fast = fast_for(model, "default", False)
    with torch.no_grad():
        assert max_diff(fast(**make_batch("pt", rel, Head.BASE)).last_hidden_state,
                        model(**make_batch("pt", rel, Head.BASE)).last_hidden_state) == 0
    with pytest.raises(UsageError, match="absolute"):
        fast.encode_batch([[2, 3]])
    with pytest.raises(UsageError, match="unexpected"):
        fast_for(ours, "default", False)(**inputs, labels=torch.tensor([0, 1]))


# ---------------------------------------------------------------------------------------------------------------------
# no work on padding


def padded_eager(model, ids, types):
    """The eager model on one right-padded batch of every sequence (the reference the unpadded path must match)."""
    batch, mask, tt = (torch.from_numpy(a) for a in right_padded(ids, types))
    with torch.no_grad():
        return model(input_ids=batch, attention_mask=mask, token_type_ids=tt), (batch, mask, tt)


PER_SEQUENCE = {"pooler_output", "sop_logits"}


# the packing logic does not depend on the kernel: every path on the backbone, one path on every head
ENCODE_CASES = [(Head.BASE, g, f) for g, f in PATHS] + [(h, "onednn", True) for h in HEADS[1:-1]]


@pytest.mark.parametrize("head,gemm,fuse", ENCODE_CASES,
                         ids=[f"{h.value}-{g}-{f}" for h, g, f in ENCODE_CASES])
def test_encode_batch_matches_the_padded_eager_model(head, gemm, fuse, tmp_path_factory):
    config, ours, _ = models("groups2_inner2", head, tmp_path_factory)
    fast = fast_for(ours, gemm, fuse)
    ids, types = random_sequences(config, 13, seed=hash(head.value) % 1000)
    reference, _ = padded_eager(ours, ids, types)
    # a small max_tokens cuts the job into several chunks of different widths
    results = fast.encode_batch(ids, token_type_ids=types, max_tokens=150)
    assert len(results) == len(ids)
    keys = main_keys(head) + (["pooler_output"] if head is Head.BASE else [])
    for i, (seq, row) in enumerate(zip(ids, results)):
        for key in keys:
            expected = reference[key][i]
            per_sequence = key in PER_SEQUENCE or (key == "logits" and head is Head.SEQUENCE_CLASSIFICATION)
            if not per_sequence:
                expected = expected[: len(seq)]  # only the real positions exist in the unpadded result
            assert row[key].shape == expected.shape, (i, key)
            assert max_diff(row[key], expected) < ATOL, (i, key, max_diff(row[key], expected))


def test_encode_batch_keeps_the_callers_order_and_takes_tokenizer_output(tmp_path_factory):
    config, ours, _ = models("default", Head.SEQUENCE_CLASSIFICATION, tmp_path_factory)
    fast = fast_for(ours, "default", False)
    ids, types = random_sequences(config, 9, seed=5, max_len=20)
    forward = fast.encode_batch({"input_ids": ids, "token_type_ids": types})
    backward = fast.encode_batch(ids[::-1], token_type_ids=types[::-1])
    for i, seq in enumerate(ids):
        with torch.no_grad():  # each sequence alone, no padding at all: an independent run per position
            alone = ours(torch.tensor([seq]), token_type_ids=torch.tensor([types[i]])).logits[0]
        assert max_diff(forward[i].logits, alone) < ATOL
        assert max_diff(backward[len(ids) - 1 - i].logits, alone) < ATOL
    assert fast.encode_batch([]) == []


def test_packed_attention_zeroes_exactly_the_padding_rows_of_its_buffer(tmp_path_factory, monkeypatch):
    # the scatter buffer is allocated uninitialised: NaN garbage in it shows any row neither zeroed nor overwritten
    config, ours, _ = models("default", Head.BASE, tmp_path_factory)
    fast = fast_for(ours, "default", False)
    ids, types = random_sequences(config, 7, seed=11, max_len=20)
    reference, _ = padded_eager(ours, ids, types)
    new_empty = torch.Tensor.new_empty
    monkeypatch.setattr(torch.Tensor, "new_empty", lambda self, *size, **kw: new_empty(self, *size, **kw).fill_(
        float("nan")))
    results = fast.encode_batch(ids, token_type_ids=types)
    for i, (seq, row) in enumerate(zip(ids, results)):
        assert max_diff(row.last_hidden_state, reference["last_hidden_state"][i][: len(seq)]) < ATOL, i


@pytest.mark.parametrize("head", [Head.TOKEN_CLASSIFICATION, Head.MULTIPLE_CHOICE, Head.SEQUENCE_CLASSIFICATION],
                         ids=lambda h: h.value)
def test_call_with_unpad_skips_padding_and_matches_real_positions(head, tmp_path_factory):
    config, ours, ref = models("default", head, tmp_path_factory)
    fast = fast_for(ours, "auto", "auto")
    inputs = make_batch("pt", config, head)
    with torch.no_grad():
        got, oracle = fast(**inputs, unpad=True), ref(**inputs)
    mask = inputs["attention_mask"].bool()
    if head is Head.TOKEN_CLASSIFICATION:
        assert max_diff(got.logits[mask], oracle.logits[mask]) < ATOL
        assert float(got.logits[~mask].abs().max()) == 0.0  # padded positions were not computed
    else:
        assert max_diff(got.logits, oracle.logits) < ATOL
    # a mask with a hole is not right padding: the call runs padded and equals the model everywhere
    holes = dict(inputs)
    holes["attention_mask"] = inputs["attention_mask"].clone()
    holes["attention_mask"][..., 1] = 0
    with torch.no_grad():
        assert max_diff(fast(**holes, unpad=True).logits, ref(**holes).logits) < ATOL


@pytest.mark.parametrize("head", [Head.SEQUENCE_CLASSIFICATION, Head.MULTIPLE_CHOICE], ids=lambda h: h.value)
def test_pooled_heads_run_the_last_blocks_ffn_on_first_tokens_only(head, tmp_path_factory, monkeypatch):
    config, ours, ref = models("groups2_inner2", head, tmp_path_factory)
    fast = fast_for(ours, "default", False)
    rows: list[int] = []
    original = FastLinear.__call__

    def counting(layer, x):
        if layer.out_features == config.intermediate_size:  # every block's first FFN layer
            rows.append(x.numel() // x.shape[-1])
        return original(layer, x)

    monkeypatch.setattr(FastLinear, "__call__", counting)
    inputs = make_batch("pt", config, head)
    sequences = int(np.prod(inputs["input_ids"].shape[:-1]))
    tokens = inputs["input_ids"].numel()
    layers = config.num_hidden_layers * config.inner_group_num
    for unpad in (False, True):
        rows.clear()
        with torch.no_grad():
            got = fast(**inputs, unpad=unpad)
            assert max_diff(got.logits, ref(**inputs).logits) < ATOL
        real = int(inputs["attention_mask"].sum()) if unpad else tokens
        assert rows == [real] * (layers - 1) + [sequences], unpad
    rows.clear()
    with torch.no_grad():  # hidden states need every row of the last layer
        fast(**inputs, output_hidden_states=True)
    assert rows == [tokens] * layers


# ---------------------------------------------------------------------------------------------------------------------
# the measured kernel choice


class Clock:
    """A fake ``time`` module: only the candidates' known costs advance it, so the test does not depend on load."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now


class Timed(FastLinear):
    """A FastLinear whose candidates take known times on the fake clock: the tuner must pick the fastest."""

    delays = {"default": 0.004, "onednn": 0.001, "onednn+act": 0.002}
    clock: Clock

    def run(self, candidate, x):
        self.calls = getattr(self, "calls", 0) + 1
        self.clock.now += self.delays[candidate]
        return super().run(candidate, x)


@needs_onednn
def test_tuner_picks_the_fastest_and_caches_on_disk(tmp_path, monkeypatch):
    import albert_core.tuning as tuning

    Timed.clock = Clock()
    monkeypatch.setattr(tuning, "time", Timed.clock)
    cache = tmp_path / "gemm.json"
    first = GemmTuner(cache_file=cache, budget_s=0.0, min_reps=3)
    layer = Timed(torch.randn(8, 4), torch.zeros(8), activation="gelu", tuner=first)
    assert layer.candidates == ["default", "onednn", "onednn+act"]
    assert layer.choice(100) == "onednn"
    calls = layer.calls
    assert calls == 3 * 4  # one warm-up and min_reps timed calls per candidate (the budget is 0)
    assert layer.choice(120) == "onednn" and layer.calls == calls  # same bucket (128): measured once
    layer(torch.randn(3, 100, 4))  # 300 rows: a new bucket, measured once
    assert layer.calls > calls
    saved = json.loads(cache.read_text())["decisions"]
    assert len(saved) == 2 and all("torch " + torch.__version__ in key for key in saved)
    entry = next(v for k, v in saved.items() if "rows<=128" in k)
    assert entry["choice"] == "onednn"
    assert entry["median_us"] == {"default": 4000.0, "onednn": 1000.0, "onednn+act": 2000.0}
    # a second process (a new tuner on the same file) reuses the decisions without measuring
    second = Timed(torch.randn(8, 4), torch.zeros(8), activation="gelu", tuner=GemmTuner(cache_file=cache))
    assert second.choice(100) == "onednn" and getattr(second, "calls", 0) == 0
    # a damaged file is measured again; a budget keeps measuring beyond min_reps until it is spent
    cache.write_text("{not json")
    third = Timed(torch.randn(8, 4), torch.zeros(8), activation="gelu",
                  tuner=GemmTuner(cache_file=cache, budget_s=0.05, min_reps=1))
    third.delays = {"default": 0.001, "onednn": 0.004, "onednn+act": 0.002}
    assert third.choice(100) == "default"
    assert third.calls == 3 + 3 * 8  # 0.007 s per round: 8 rounds reach the 0.05 s budget


@needs_onednn
def test_tuner_settles_the_gelu_form_on_the_activation_alone_then_the_kernel(monkeypatch):
    import albert_core.tuning as tuning

    clock = Timed.clock = Clock()
    monkeypatch.setattr(tuning, "time", clock)

    def form(cost):
        def run(y):
            clock.now += cost
            return y
        return run

    monkeypatch.setitem(inference._ALTERNATIVE_FORMS, "gelu_tanh", form(0.001))
    tuner = GemmTuner(budget_s=0.0, min_reps=3)
    layer = Timed(torch.randn(8, 4), torch.zeros(8), activation="gelu_tanh", tuner=tuner)
    layer._act = form(0.003)  # PyTorch's form: slower on its own
    # with PyTorch's form, onednn would take 0.003 in all and win; the form is settled first, so it is not timed
    layer.delays = {"default": 0.0, "onednn": 0.0, "onednn+act": 0.004, "default+sigmoid_form": 0.003,
                    "onednn+sigmoid_form": 0.0025}
    assert layer.choice(100) == "onednn+sigmoid_form"
    form_key, gemm_key = tuner.decisions
    assert "forms torch,sigmoid_form" in form_key and tuner.decisions[form_key]["choice"] == "sigmoid_form"
    assert tuner.decisions[form_key]["median_us"] == {"torch": 3000.0, "sigmoid_form": 1000.0}
    assert gemm_key.endswith("onednn+act,default+sigmoid_form,onednn+sigmoid_form")
    assert tuner.decisions[gemm_key]["median_us"] == {"onednn+act": 4000.0, "default+sigmoid_form": 4000.0,
                                                      "onednn+sigmoid_form": 3500.0}


def test_forced_backends_and_bad_arguments():
    w, b = torch.randn(6, 4), torch.randn(6)
    assert FastLinear(w, b, activation="gelu", gemm="default").candidates == ["default"]
    assert FastLinear(w, b, activation="gelu_tanh", gemm="default").candidates == ["default", "default+sigmoid_form"]
    if onednn_available():
        assert FastLinear(w, b, activation="gelu", gemm="onednn", fuse=False).candidates == ["onednn"]
        assert FastLinear(w, b, activation="silu", gemm="onednn", fuse=True).candidates == ["onednn"]
        assert FastLinear(w, b, activation="gelu_tanh", gemm="onednn", fuse=True).candidates == ["onednn+act"]
        assert FastLinear(w, b, activation="gelu_tanh").candidates == [
            "default", "onednn", "onednn+act", "default+sigmoid_form", "onednn+sigmoid_form"]
    with pytest.raises(UsageError, match="gemm"):
        FastLinear(w, b, gemm="cublas")
    with pytest.raises(UsageError, match="fuse"):
        FastLinear(w, b, fuse="yes")
    with pytest.raises(UsageError, match="albert_pt model"):
        FastAlbert.from_model(torch.nn.Linear(2, 2))
    with pytest.raises(UsageError, match="min_reps"):
        GemmTuner(min_reps=0)


def test_tanh_gelu_via_sigmoid_is_the_tanh_formula_in_place_across_pieces(monkeypatch):
    monkeypatch.setattr(inference, "SIGMOID_FORM_PIECE", 7)  # 101 elements: 15 pieces, the last one short
    x = torch.cat([torch.linspace(-12, 12, 95), torch.tensor([-1e4, -30.0, -1e-7, 0.0, 1e-7, 1e4])])
    x64 = x.double()
    published = 0.5 * x64 * (1 + torch.tanh((2 / torch.pi) ** 0.5 * (x64 + 0.044715 * x64 ** 3)))  # Hendrycks-Gimpel
    y = x.clone()
    out = inference.tanh_gelu_via_sigmoid_(y)
    assert out.data_ptr() == y.data_ptr()  # in place
    assert torch.allclose(out.double(), published, rtol=1e-6, atol=3e-7)
    assert torch.allclose(out, F.gelu(x, approximate="tanh"), atol=1e-6)
    # in the negative tail 1 + tanh(u) cancels to 0 (float32 from x = -5.1 on, where PyTorch returns -0; float64
    # a little further out), while 0.5 (1 + tanh u) = 1 / (1 + exp(-2u)) keeps it, in float64 and in the sigmoid form
    tail = torch.linspace(-9, -5, 41)
    t64 = tail.double()
    exact = t64 / (1 + torch.exp(-2 * (2 / torch.pi) ** 0.5 * (t64 + 0.044715 * t64 ** 3)))
    assert torch.allclose(inference.tanh_gelu_via_sigmoid_(tail.clone()).double(), exact, rtol=1e-5, atol=0)


class Prefer(GemmTuner):
    """Picks the candidate ``pick`` returns for each layer: one path forced whatever this machine measures."""

    def __init__(self, pick):
        super().__init__(budget_s=0.0, min_reps=1)
        self.pick = pick

    def choose(self, layer, rows):
        return self.pick(layer.candidates)


@pytest.mark.parametrize("gemm", ["default", "onednn"])
@pytest.mark.parametrize("sigmoid_form", [True, False], ids=["sigmoid_form", "torch_gelu"])
def test_tanh_gelu_in_either_form_matches_eager_and_transformers(gemm, sigmoid_form, tmp_path_factory):
    if gemm == "onednn" and not onednn_available():
        pytest.skip("this torch build has no oneDNN linear")
    wanted = gemm + ("+sigmoid_form" if sigmoid_form else "")
    for head in (Head.BASE, Head.MASKED_LM):  # the FFN, and the MLM head's dense layer
        config, ours, ref = models("default", head, tmp_path_factory)
        assert ACTIVATION_FUNCTIONS[config.hidden_act] == "gelu_tanh"
        fast = optimize_for_inference(ours, gemm=gemm, fuse=False,
                                      tuner=Prefer(lambda cs: wanted if wanted in cs else cs[0]))
        inputs = make_batch("pt", config, head)
        with torch.no_grad():
            got, oracle = fast(**inputs), ref(**inputs)
        used = {c for layer in fast.gemm_choices().values() for c in layer.values()}
        assert wanted in used
        for key in main_keys(head):
            assert max_diff(got[key], oracle[key]) < ATOL, (head, key, max_diff(got[key], oracle[key]))


# ---------------------------------------------------------------------------------------------------------------------
# bfloat16: weights and GEMMs in bfloat16, LayerNorm / softmax accumulation / residuals / outputs in float32

#: Largest max-abs difference from float32 transformers, relative to the output's largest magnitude, on these tiny
#: models. Measured (default kernel, this CPU's emulated bfloat16 gives the same arithmetic as native): 0.25% to
#: 1.4% by head and output, while transformers under bfloat16 autocast gives 0.4% to 2.4% on the same inputs.
BF16_RTOL = 0.025
BF16_PATHS = [("default", False), ("onednn", False), ("onednn", True)]


def fast_bf16(model, gemm, fuse):
    if gemm == "onednn" and not onednn_available(torch.bfloat16):
        pytest.skip("oneDNN's bfloat16 linear needs AVX-512 (BW, VL, DQ) or AVX-NE-CONVERT; this CPU has neither")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmulatedPrecisionWarning)
        return optimize_for_inference(model, gemm=gemm, fuse=fuse, tuner=tuner(), dtype=torch.bfloat16)


@pytest.mark.parametrize("gemm,fuse", BF16_PATHS, ids=["default", "onednn", "onednn_fused"])
@pytest.mark.parametrize("head", HEADS, ids=[h.value for h in HEADS])
def test_bf16_path_is_within_the_measured_bound_and_no_worse_than_autocast(head, gemm, fuse, tmp_path_factory):
    config, ours, ref = models("groups2_inner2", head, tmp_path_factory)
    fast = fast_bf16(ours, gemm, fuse)
    inputs = make_batch("pt", config, head)
    with torch.no_grad():
        got, oracle = fast(**inputs), ref(**inputs)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            reference_bf16 = ref(**inputs)
    for key in main_keys(head):
        assert got[key].dtype == torch.float32, key
        scale = float(oracle[key].abs().max())
        error = max_diff(got[key], oracle[key]) / scale
        autocast_error = max_diff(reference_bf16[key], oracle[key]) / scale
        assert 0 < error < BF16_RTOL, (key, error)  # > 0: the GEMMs really ran in bfloat16
        assert error < 2 * autocast_error, (key, error, autocast_error)
    block = fast.groups[0][0]
    assert block.qkv.weight.dtype == block.ffn.weight.dtype == torch.bfloat16
    assert block.ln_output.weight.dtype == fast.word.dtype == torch.float32


def test_bf16_encode_batch_matches_float32_within_the_bound(tmp_path_factory):
    config, ours, _ = models("groups2_inner2", Head.TOKEN_CLASSIFICATION, tmp_path_factory)
    fast = fast_bf16(ours, "default", False)
    ids, types = random_sequences(config, 9, seed=3)
    reference, _ = padded_eager(ours, ids, types)
    scale = float(reference.logits.abs().max())
    for i, row in enumerate(fast.encode_batch(ids, token_type_ids=types, max_tokens=150)):
        assert row.logits.shape == (len(ids[i]), config.num_labels)
        assert max_diff(row.logits, reference.logits[i, : len(ids[i])]) / scale < BF16_RTOL


def test_bf16_warns_only_where_it_is_emulated(tmp_path_factory, monkeypatch):
    _, ours, _ = models("default", Head.BASE, tmp_path_factory)
    from albert_pt import pretraining

    monkeypatch.setattr(pretraining, "bf16_support", lambda device: (False, "no native bfloat16 (test)"))
    with pytest.warns(EmulatedPrecisionWarning, match="no native bfloat16 \\(test\\).*emulation"):
        optimize_for_inference(ours, gemm="default", dtype="bf16")
    monkeypatch.setattr(pretraining, "bf16_support", lambda device: (True, "native (test)"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", EmulatedPrecisionWarning)
        fast = optimize_for_inference(ours, gemm="default", dtype="bfloat16")
    assert fast.dtype is torch.bfloat16 and inference.bf16_check("cpu", quiet=True) is True
    for bad in ("float16", "int8", torch.float64):
        with pytest.raises(UsageError, match="dtype|float32"):
            optimize_for_inference(ours, gemm="default", dtype=bad)


# ---------------------------------------------------------------------------------------------------------------------
# the benchmark command (a smoke run: the structure of its results, never its timings)


def test_benchmark_command_smoke_run(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-m", "benchmarks", "--size", "tiny", "--quick", "--only", "machine", "forward",
               "train", "e2e", "tokenizer", "--skip", "onnx", "--iters", "1", "--passages", "12",
               "--output-dir", str(tmp_path), "--name", "smoke"]
    proc = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "smoke.json").read_text())
    assert (tmp_path / "smoke.md").read_text().startswith("# albert-lite benchmarks: smoke")
    assert (tmp_path / "smoke.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result["sections"] == ["machine", "forward", "train", "e2e", "tokenizer"]
    for section in result["sections"]:
        assert "error" not in result[section], result[section].get("error")
    machine = result["machine"]
    assert machine["cpu_model"] and machine["versions"]["torch"] == torch.__version__
    assert set(machine["gemm_mix_gflops"]) == ({"default", "onednn"} if onednn_available() else {"default"})
    assert machine["floor_ms"] > 0
    rows = result["forward"]["rows"]
    assert {"albert_pt eager", "albert_pt fast (auto GEMM)", "transformers eager", "transformers sdpa"} <= set(rows)
    floor_rows = {f"matmuls only ({b} GEMM)" for b in machine["gemm_mix_gflops"]}
    assert floor_rows <= set(rows)
    assert result["forward"]["floor_ms"] == min(rows[name]["median_ms"] for name in floor_rows)
    assert all(r["median_ms"] > 0 and r["max_abs_diff_vs_transformers"] < 1e-4 for n, r in rows.items()
               if n not in floor_rows)
    split = result["forward"]["time_split"]["albert_pt fast (auto GEMM)"]
    assert 0 < split["linear_ms"] < split["profiled_ms"] and split["other_ms"] > 0
    e2e = result["e2e"]
    assert e2e["passages"] == 12 and e2e["real_tokens"] <= e2e["padded_tokens_in_order"]
    big_chunks = f"albert_pt fast, {4 * inference.CHUNK_TOKENS}-row chunks"
    e2e_floor_rows = {f"matmuls only, unpadded job ({b})" for b in machine["gemm_mix_gflops"]}
    assert set(e2e["rows"]) == {"albert_pt fast + unpadding", big_chunks, "albert_pt padded batches",
                                "transformers pipeline"} | e2e_floor_rows
    assert e2e["prediction_agreement_with_pipeline"]["fast"] == 1.0
    assert e2e["prediction_agreement_with_pipeline"]["fast_big_chunks"] == 1.0
    tok = result["tokenizer"]
    assert tok["ids_equal_to_slow_reference"]["albert_core"] == tok["checked"]
    train = result["train"]
    every_position = "albert_pt (MLM head on every position)"
    assert {"albert_pt", every_position, "transformers"} <= set(train["rows"])
    for name in ("albert_pt", every_position):  # the masked-positions head and the full one: the same loss
        assert abs(train["first_loss"][name] - train["first_loss"]["transformers"]) < 1e-4
    train_floor = min(r["median_ms"] for n, r in train["rows"].items() if n.startswith("matmuls only"))
    assert train["floor_torch_gemms_ms"] == train_floor
    # our rows' floor: the MLM head on the masked positions only, a share of the full matmul FLOPs
    share = train["masked_head_flop_share"]
    assert 0 < share < 1 and 0 < train["masked_positions"] < train["batch"] * train["seq"]
    assert train["rows"]["albert_pt"]["x_floor_torch_gemms"] == pytest.approx(
        train["rows"]["albert_pt"]["median_ms"] / (train_floor * share))
    assert train["rows"][every_position]["x_floor_torch_gemms"] == pytest.approx(
        train["rows"][every_position]["median_ms"] / train_floor)
    assert train["rows"]["albert_pt"]["x_floor_torch_gemms"] > 1  # a step does more than its matmuls
    # the e2e floors: the unpadded job's FLOPs are those of the real tokens, fewer than the padded batches'
    assert 0 < e2e["floor"]["unpadded_ms"] < e2e["floor"]["ours_padded_ms"] < e2e["floor"]["padded_ms"]
    assert e2e["gflop_padded"] / e2e["gflop_unpadded"] > e2e["padded_tokens_in_order"] / e2e["real_tokens"] * 0.9
    # ... at the rate the job's own matmuls reached in the same rounds
    rate = max(e2e["floor_rate_gflops"].values())
    assert e2e["floor"]["unpadded_ms"] == pytest.approx(e2e["gflop_unpadded"] * 1e3 / rate)


def test_benchmark_training_floor_counts_the_mlm_head_on_the_masked_rows():
    from benchmarks.suite import matmul_flops

    cfg = AlbertConfig(vocab_size=300, embedding_size=16, hidden_size=32, num_hidden_layers=2,
                       num_attention_heads=4, intermediate_size=64)
    full, masked = matmul_flops(cfg, 4, 10, mlm_head=True), matmul_flops(cfg, 4, 10, mlm_head=True, mlm_rows=6)
    # the MLM head's two layers (H -> E, E -> vocab) on 40 - 6 rows fewer; the backbone unchanged
    assert full - masked == 2 * (40 - 6) * (32 * 16 + 16 * 300)
    assert matmul_flops(cfg, 4, 10) == matmul_flops(cfg, 4, 10, mlm_rows=6)


def test_benchmark_e2e_floor_runs_the_fast_paths_matmuls_on_its_chunks(monkeypatch):
    from benchmarks.suite import matmul_flops, matmuls_only_packed

    config = AlbertConfig(vocab_size=40, embedding_size=8, hidden_size=16, num_hidden_layers=3,
                          num_attention_heads=2, intermediate_size=24)
    lengths = [7, 3, 7, 5, 2]
    chunks = [[lengths[i] for i in chunk] for chunk in inference.packed_chunks(lengths, max_tokens=14)]
    assert chunks == [[7, 7], [5, 3], [2]]  # by decreasing length, at most 14 padded attention rows each
    run, flops = matmuls_only_packed(config, chunks, "default")
    calls, linear = [], F.linear
    monkeypatch.setattr(F, "linear", lambda x, w, b: calls.append((*x.shape, w.shape[0])) or linear(x, w, b))
    run()
    # per chunk: every linear layer on the real tokens, but the pooler and the last layer's dense and FFN on the
    # first tokens (one row per sequence) only
    h, i, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    for n, chunk in enumerate(chunks):
        tokens, seqs = sum(chunk), len(chunk)
        expected = ([(tokens, 8, h)] + [(tokens, h, 3 * h)] * layers + [(tokens, h, h)] * (layers - 1)
                    + [(seqs, h, h)] + [(tokens, h, i)] * (layers - 1) + [(seqs, h, i)]
                    + [(tokens, i, h)] * (layers - 1) + [(seqs, i, h)] + [(seqs, h, h)])
        assert sorted(calls[14 * n: 14 * (n + 1)]) == sorted(expected), n
    assert len(calls) == 14 * len(chunks)
    last_layer_rest = 2 * (h * h + h * i + i * h)
    expected_flops = 0.0
    for chunk in chunks:  # the real work, plus the attention products over each chunk's padding
        padding = layers * 2 * 2 * h * sum(max(chunk) ** 2 - n ** 2 for n in chunk)
        expected_flops += sum(matmul_flops(config, 1, n) - (n - 1) * last_layer_rest for n in chunk) + padding
    assert flops == pytest.approx(expected_flops)


def test_benchmark_times_onnxruntimes_gemm_on_the_linear_it_is_given():
    pytest.importorskip("onnxruntime")
    from benchmarks.suite import _onnxruntime_linear

    w, b, x = torch.randn(5, 3), torch.randn(5), torch.randn(4, 3)
    assert torch.allclose(torch.from_numpy(_onnxruntime_linear(w, b)(x)), x @ w.T + b, atol=1e-6)


# ---------------------------------------------------------------------------------------------------------------------
# the PyTorch pipelines run on the fast path, skipping padding


def test_pipeline_runner_skips_padding_and_matches_the_eager_runner(tmp_path_factory):
    from albert_pt.pipelines import make_runner

    config, ours, _ = models("groups2_inner2", Head.TOKEN_CLASSIFICATION, tmp_path_factory)
    ids, types = random_sequences(config, 5, seed=7, max_len=20)
    _, (batch, mask, tt) = padded_eager(ours, ids, types)
    inputs = {"input_ids": batch.numpy(), "attention_mask": mask.numpy(), "token_type_ids": tt.numpy()}
    fast, eager = make_runner(ours)(inputs)["logits"], make_runner(ours, fast=False)(inputs)["logits"]
    real = mask.numpy().astype(bool)
    assert np.abs(fast[real] - eager[real]).max() < ATOL
    assert not fast[~real].any() and eager[~real].any()  # padded positions were not computed on the fast path
