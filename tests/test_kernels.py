"""Training GEMM kernels (albert_pt.kernels): the oneDNN path trains exactly like nn.Linear (outputs, gradients,
several optimizer steps), the tuner picks by measurement, and everything else falls back to the plain kernel."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from albert_core import Head
from albert_core.errors import UsageError
from albert_pt import MODEL_CLASSES
from albert_pt.kernels import (TrainingGemmTuner, TunedLinear, onednn_available, training_gemm_choices,
                               tune_training_gemms)
from factory import config_for, make_batch

needs_onednn = pytest.mark.skipif(not onednn_available(), reason="this torch build has no oneDNN linear")


def training_pair(head: Head, seed: int = 0):
    """A tiny model with dropout, and a copy whose linear layers train on oneDNN."""
    torch.manual_seed(seed)
    config = config_for(head, "groups2_inner2", hidden_dropout_prob=0.1)
    plain = MODEL_CLASSES[head](config).train()
    tuned = tune_training_gemms(copy.deepcopy(plain), gemm="onednn")
    return config, plain, tuned


def step(model, optimizer, batch, seed):
    torch.manual_seed(seed)  # the same dropout masks in both models
    optimizer.zero_grad(set_to_none=True)
    loss = model(**batch).loss
    loss.backward()
    optimizer.step()
    return float(loss.detach())


@needs_onednn
@pytest.mark.parametrize("head", [Head.PRETRAINING, Head.SEQUENCE_CLASSIFICATION, Head.QUESTION_ANSWERING],
                         ids=lambda h: h.value)
def test_onednn_training_matches_nn_linear_over_several_steps(head):
    config, plain, tuned = training_pair(head)
    assert {type(m) for m in tuned.modules() if isinstance(m, torch.nn.Linear)} == {TunedLinear}
    assert tuned.state_dict().keys() == plain.state_dict().keys()
    batch = make_batch("pt", config, head, labels=True)
    # SGD, not Adam: Adam scales the rounding noise of gradients that are zero in exact arithmetic (the attention
    # key bias, the QA bias) up to the learning rate
    optimizers = [torch.optim.SGD(m.parameters(), lr=0.5) for m in (plain, tuned)]
    # the first step's gradients, then three updates: stale packed weights after an in-place update would diverge
    for model in (plain, tuned):
        torch.manual_seed(0)
        model(**batch).loss.backward()
    for (name, a), b in zip(plain.named_parameters(), tuned.parameters()):
        assert a.grad is not None and torch.allclose(a.grad, b.grad, atol=1e-5, rtol=1e-4), name
    for k in range(3):
        assert step(plain, optimizers[0], batch, k) == pytest.approx(step(tuned, optimizers[1], batch, k), abs=1e-5)
    for (name, a), b in zip(plain.named_parameters(), tuned.parameters()):
        assert torch.allclose(a, b, atol=1e-5), name
    choices = training_gemm_choices(tuned)
    assert choices and all(set(c.values()) == {"onednn"} for c in choices.values())


@needs_onednn
def test_fallbacks_keep_the_plain_kernel():
    layer = tune_training_gemms(torch.nn.Linear(6, 4), gemm="onednn")
    x = torch.randn(3, 6)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # bf16 training: autocast's own linear, bfloat16 out
        assert layer(x).dtype == torch.bfloat16
    wide = tune_training_gemms(torch.nn.Linear(6, 4).double(), gemm="auto")  # float64: nothing to choose
    assert wide.gemm_candidates == ["default"] and wide(x.double()).dtype == torch.float64
    assert layer.choice(3) == "onednn" and torch.allclose(layer(x), x @ layer.weight.T + layer.bias, atol=1e-6)
    assert tune_training_gemms(layer, gemm="default").__class__ is torch.nn.Linear
    assert not hasattr(layer, "_packs")


def test_bad_arguments():
    with pytest.raises(UsageError, match="gemm must be one of"):
        tune_training_gemms(torch.nn.Linear(2, 2), gemm="mkl")
    with pytest.raises(UsageError, match="float32 weights on CPU"):
        tune_training_gemms(torch.nn.Linear(2, 2).double(), gemm="onednn")
    layer = tune_training_gemms(torch.nn.Linear(2, 2).double(), gemm="auto")
    assert layer.gemm_candidates == ["default"]  # nothing to choose from: no measurement


class Clock:
    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now


@needs_onednn
def test_tuner_times_forward_and_backward_and_caches_on_disk(tmp_path, monkeypatch):
    import albert_core.tuning as tuning
    import albert_pt.kernels as kernels

    clock = Clock()
    monkeypatch.setattr(tuning, "time", clock)
    calls = []
    apply = kernels._OneDnnLinearFunction.apply

    def slow_onednn(*args):  # the oneDNN kernel "takes" 3 ms per forward, the default 1 ms (below)
        calls.append("onednn")
        clock.now += 0.003
        return apply(*args)

    linear = torch.nn.functional.linear

    def fast_default(*args):
        calls.append("default")
        clock.now += 0.001
        return linear(*args)

    monkeypatch.setattr(kernels._OneDnnLinearFunction, "apply", slow_onednn)
    monkeypatch.setattr(kernels.F, "linear", fast_default)
    cache = tmp_path / "training.json"
    layer = tune_training_gemms(torch.nn.Linear(8, 4), tuner=TrainingGemmTuner(cache, budget_s=0.0, min_reps=2))
    assert layer.choice(100) == "default"
    assert calls.count("onednn") == calls.count("default") == 3  # a warm-up and min_reps timed steps each
    saved = json.loads(cache.read_text())["decisions"]
    (key, entry), = saved.items()
    assert "rows<=128 | 8->4" in key and entry["median_us"] == {"default": 1000.0, "onednn": 3000.0}
    again = tune_training_gemms(torch.nn.Linear(8, 4), tuner=TrainingGemmTuner(cache))
    calls.clear()
    assert again.choice(100) == "default" and not calls  # read from disk, not measured
