"""The PyTorch pre-training loop (:mod:`albert_pt.pretraining`) and ``albert pretrain`` on a tiny model.

One module-scoped set-up (``pretraining_fixtures.py``): a 400-piece SentencePiece model, train / held-out data from
the first 3000 lines of tiny Shakespeare, and a 2-layer, hidden-32 ALBERT without dropout (unless a test adds it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from albert_core import AlbertConfig, ConfigError  # noqa: E402
from albert_core.checkpoints.safetensors import read_safetensors  # noqa: E402
from albert_core.pretraining import PretrainingDataset  # noqa: E402
from albert_core.training import (  # noqa: E402
    OPTIMIZER_SLOTS_FILE,
    TrainingConfig,
    list_checkpoints,
    load_trainer_checkpoint,
    read_batch,
    read_history_csv,
)
from albert_pt import AlbertForPreTraining  # noqa: E402
from albert_pt.kernels import onednn_available  # noqa: E402
from albert_pt.pretraining import bf16_support, evaluate, pretrain  # noqa: E402

from conftest import REPO_ROOT, SHAKESPEARE  # noqa: E402
from pretraining_fixtures import free_port, short_run_config, tiny_pretraining_setup, weights_of  # noqa: E402

pytestmark = pytest.mark.skipif(not SHAKESPEARE.is_file(), reason=f"corpus not found: {SHAKESPEARE}")

#: Two processes and one differ only in float32 summation order (all-reduce of two halves vs one sum) of the
#: gradients; after a few LAMB updates that is a few ulps of weights of size ~0.1: 1e-5 absolute is ample.
DISTRIBUTED_ATOL = 1e-5


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    return tiny_pretraining_setup(tmp_path_factory.mktemp("pretraining_pt"))


@pytest.fixture(autouse=True)
def _one_thread():
    # tiny matrices: threads only add contention on the shared test machine
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_config(tiny: dict[str, Path], out: Path, **overrides) -> TrainingConfig:
    return short_run_config(tiny, out, **{"backend": "pt", **overrides})


def test_loss_decreases_over_30_steps(tiny, tmp_path):
    result = pretrain(make_config(tiny, tmp_path, total_steps=30, warmup_steps=3, global_batch_size=16,
                                  heldout=str(tiny["heldout"]), eval_every=15))
    losses = [row["loss"] for row in result["history"]]
    assert len(losses) == 30
    # measured: first five ~6.68, last five ~6.0 (MLM ~5.3 + SOP ~0.69)
    print(f"\nloss first5 {np.mean(losses[:5]):.4f} last5 {np.mean(losses[-5:]):.4f} eval {result['eval']}")
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.3, losses
    assert [row["step"] for row in read_history_csv(tmp_path / "history.csv")] == list(range(1, 31))
    evaluated = [row["step"] for row in result["history"] if row["eval_mlm_accuracy"] is not None]
    assert evaluated == [15, 30]
    assert 0.0 <= result["eval"]["eval_mlm_accuracy"] <= 1.0 and 0.0 <= result["eval"]["eval_sop_accuracy"] <= 1.0
    assert [step for step, _ in list_checkpoints(tmp_path)] == [30]
    state, _ = load_trainer_checkpoint(tmp_path / "checkpoint-30")
    assert (state.step, state.backend, state.optimizer["name"]) == (30, "pt", "lamb")
    assert result["plot"] is None or Path(result["plot"]).is_file()


def test_evaluate_matches_numpy(tiny):
    torch.manual_seed(0)
    model = AlbertForPreTraining(AlbertConfig.from_pretrained(tiny["model"]))
    heldout = PretrainingDataset(tiny["heldout"])
    metrics = evaluate(model, heldout, batch_size=8, max_examples=40)

    batch = read_batch(heldout, np.arange(40))
    with torch.no_grad():
        out = model.eval()(**{k: torch.from_numpy(batch[k]) for k in ("input_ids", "token_type_ids",
                                                                       "attention_mask")})
    logits = out.prediction_logits.double().numpy()
    sop_logits = out.sop_logits.double().numpy()
    labels, order = batch["labels"], batch["sentence_order_label"]
    chosen = labels != -100
    expected_mlm = np.mean(logits.argmax(-1)[chosen] == labels[chosen])
    expected_sop = np.mean(sop_logits.argmax(-1) == order)
    log_probs = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) \
        - logits.max(-1, keepdims=True)
    expected_mlm_loss = -np.mean(np.take_along_axis(log_probs, np.where(chosen, labels, 0)[..., None], -1)[..., 0]
                                 [chosen])
    assert metrics["eval_mlm_accuracy"] == pytest.approx(expected_mlm, abs=1e-12)
    assert metrics["eval_sop_accuracy"] == pytest.approx(expected_sop, abs=1e-12)
    assert metrics["eval_mlm_loss"] == pytest.approx(expected_mlm_loss, rel=1e-5)
    assert 0 < chosen.sum() and len(order) == 40


def test_loss_sums_run_the_mlm_head_on_the_masked_positions_only(tiny):
    from albert_pt.modeling import AlbertMLMHead
    from albert_pt.pretraining import pretraining_loss_sums

    torch.manual_seed(0)
    model = AlbertForPreTraining(AlbertConfig.from_pretrained(tiny["model"])).eval()
    batch = read_batch(PretrainingDataset(tiny["train"]), np.arange(8))
    tensors = {name: torch.from_numpy(value) for name, value in batch.items()}
    rows = []
    handle = model.predictions.register_forward_hook(lambda module, args, out: rows.append(tuple(args[0].shape)))
    with torch.no_grad():
        mlm, sop = pretraining_loss_sums(model, tensors)
        handle.remove()
        full = model(**{k: tensors[k] for k in ("input_ids", "token_type_ids", "attention_mask")})
    labels, chosen = batch["labels"], batch["labels"] != -100
    assert isinstance(model.predictions, AlbertMLMHead)
    assert rows == [(1, int(chosen.sum()), model.config.hidden_size)] and chosen.sum() < chosen.size / 5
    # the sum of the token cross-entropies, on the logits of every position (NumPy, float64)
    logits = full.prediction_logits.double().numpy()[chosen]
    top = logits.max(-1)
    log_z = top + np.log(np.exp(logits - top[:, None]).sum(-1))
    assert float(mlm) == pytest.approx(float(np.sum(log_z - logits[np.arange(len(logits)), labels[chosen]])),
                                       rel=1e-5)
    order = batch["sentence_order_label"].reshape(-1)
    sop_logits = full.sop_logits.double().numpy()
    sop_top = sop_logits.max(-1)
    expected_sop = np.sum(sop_top + np.log(np.exp(sop_logits - sop_top[:, None]).sum(-1))
                          - sop_logits[np.arange(len(order)), order])
    assert float(sop) == pytest.approx(float(expected_sop), rel=1e-5)


def test_resume_is_exact_with_dropout_and_accumulation(tiny, tmp_path):
    """6 updates straight == 3 updates, stop, resume, 3 more: same weights and slots to the bit."""
    common = dict(model_config=str(tiny["model_dropout"]), accumulation_steps=2)
    straight = pretrain(make_config(tiny, tmp_path / "straight", **common))
    first = pretrain(make_config(tiny, tmp_path / "interrupted", stop_at_step=3, **common))
    assert first["checkpoint"].name == "checkpoint-3"
    second = pretrain(make_config(tiny, tmp_path / "interrupted", **common))
    assert second["resumed_from"] == first["checkpoint"] and second["checkpoint"].name == "checkpoint-6"
    expected, actual = weights_of(straight["checkpoint"]), weights_of(second["checkpoint"])
    assert sorted(expected) == sorted(actual)
    for name in expected:
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)
    expected_slots = load_trainer_checkpoint(straight["checkpoint"])[1]
    actual_slots = load_trainer_checkpoint(second["checkpoint"])[1]
    for name in expected_slots:
        np.testing.assert_array_equal(actual_slots[name], expected_slots[name], err_msg=name)
    assert [r["loss"] for r in second["history"]] == [r["loss"] for r in straight["history"]]


@pytest.mark.skipif(not onednn_available(), reason="this torch build has no oneDNN linear")
def test_onednn_training_gemms_follow_the_default_kernels_losses(tiny, tmp_path, monkeypatch):
    """--gemm onednn trains through albert_pt.kernels (checked by counting its GEMM calls) with the default kernel's
    losses and weights, up to float32 rounding amplified by a few LAMB steps."""
    import albert_pt.kernels as kernels

    calls = []
    apply = kernels._OneDnnLinearFunction.apply
    monkeypatch.setattr(kernels._OneDnnLinearFunction, "apply", lambda *a: calls.append(1) or apply(*a))
    plain = pretrain(make_config(tiny, tmp_path / "default"))
    assert not calls
    tuned = pretrain(make_config(tiny, tmp_path / "onednn", gemm="onednn"))
    assert calls
    assert load_trainer_checkpoint(tuned["checkpoint"])[0].config.gemm == "onednn"
    np.testing.assert_allclose([r["loss"] for r in tuned["history"]], [r["loss"] for r in plain["history"]],
                               atol=1e-4)
    expected, actual = weights_of(plain["checkpoint"]), weights_of(tuned["checkpoint"])
    for name in expected:
        if ".key.bias" in name:  # its gradient is 0 in exact arithmetic (softmax ignores it): LAMB scales noise
            continue
        np.testing.assert_allclose(actual[name], expected[name], atol=1e-4, err_msg=name)


@pytest.mark.parametrize("overrides,message", [
    (dict(gemm="mkl"), "gemm must be one of"),
    (dict(gemm="onednn", backend="tf"), "TensorFlow runs its matmuls on oneDNN already"),
    (dict(gemm="auto", fsdp=True), "not on FSDP's shards")])
def test_bad_gemm_settings_are_named(tiny, tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message):
        make_config(tiny, tmp_path, **overrides).validate()


def test_cli_passes_gemm_and_names_a_bad_one(tiny, tmp_path, capsys):
    from albert_cli.pretrain_command import add_commands, config_from_args

    base = ["pretrain", "--data", str(tiny["train"]), "--config", str(tiny["model"]), "--out", str(tmp_path),
            "--total-steps", "4", "--warmup-steps", "1", "--batch-size", "8", "--quiet"]
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers())
    assert config_from_args(parser.parse_args(base + ["--gemm", "auto"])).gemm == "auto"
    assert config_from_args(parser.parse_args(base)).gemm == "default"
    assert _cli(base + ["--backend", "tf", "--gemm", "onednn"]) == 2
    assert "TensorFlow runs its matmuls on oneDNN already" in capsys.readouterr().err


def test_checkpoint_continues_from_explicit_path_in_a_new_directory(tiny, tmp_path):
    """A PT checkpoint reloaded (model via from_pretrained, slots by canonical name) continues identically."""
    straight = pretrain(make_config(tiny, tmp_path / "straight", optimizer="adamw"))
    first = pretrain(make_config(tiny, tmp_path / "a", optimizer="adamw", stop_at_step=4))
    second = pretrain(make_config(tiny, tmp_path / "b", optimizer="adamw", resume=str(first["checkpoint"])))
    assert [step for step, _ in list_checkpoints(tmp_path / "b")] == [6]
    expected, actual = weights_of(straight["checkpoint"]), weights_of(second["checkpoint"])
    for name in expected:
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


def test_optimizer_slots_use_canonical_names(tiny, tmp_path):
    result = pretrain(make_config(tiny, tmp_path, total_steps=2))
    slots = read_safetensors(result["checkpoint"] / OPTIMIZER_SLOTS_FILE)[0]
    model = AlbertForPreTraining.from_pretrained(result["checkpoint"])
    trainable = {name: param for name, param in model.named_parameters() if param.requires_grad}
    canonical = model.canonical_state()
    assert set(trainable) == set(canonical)
    assert set(slots) == {f"{name}/{slot}" for name in canonical for slot in ("m", "v")}
    for name, array in canonical.items():
        assert slots[f"{name}/m"].dtype == np.float32 and slots[f"{name}/m"].shape == array.shape
        assert slots[f"{name}/v"].shape == array.shape and np.all(slots[f"{name}/v"] >= 0)
    assert np.abs(slots["albert.embeddings.word_embeddings.weight/m"]).max() > 0


WORKER_SCRIPT = """
import json, sys
import torch
from albert_core.training import TrainingConfig
from albert_pt.pretraining import pretrain
# one process group for several runs: pretrain joins it and leaves it open
torch.distributed.init_process_group("gloo", init_method="env://")
for settings in json.loads(sys.argv[1]):
    result = pretrain(TrainingConfig.from_dict(settings))
    print("run", settings["out"], "world", result["world_size"], "step", result["step"])
torch.distributed.destroy_process_group()
"""


def test_two_processes_match_one_process(tiny, tmp_path):
    """torchrun, 2 gloo workers: DDP (2 micro-batches of 2 each) and FSDP (stopped after 2 updates, resumed) give
    the weights and optimizer slots of 1 process with batches of 8 after 4 updates; one checkpoint is written."""
    settings = dict(total_steps=4, warmup_steps=1, global_batch_size=8)
    single = pretrain(make_config(tiny, tmp_path / "single", **settings))
    runs = [make_config(tiny, tmp_path / "ddp", accumulation_steps=2, **settings),
            make_config(tiny, tmp_path / "fsdp", fsdp=True, stop_at_step=2, **settings),
            make_config(tiny, tmp_path / "fsdp", fsdp=True, **settings)]
    script = tmp_path / "worker.py"
    script.write_text(WORKER_SCRIPT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
               "127.0.0.1", "--master_port", str(free_port()), str(script),
               json.dumps([run.to_dict() for run in runs])]
    completed = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=240)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert completed.stdout.count("world 2 step 4") == 4 and completed.stdout.count("world 2 step 2") == 2

    expected = weights_of(single["checkpoint"])
    expected_slots = load_trainer_checkpoint(single["checkpoint"])[1]
    for name, kept in (("ddp", ["checkpoint-4"]), ("fsdp", ["checkpoint-2", "checkpoint-4"])):
        out = tmp_path / name
        assert sorted(p.name for p in out.iterdir() if p.name.startswith("checkpoint")) == kept
        assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging directory left over
        actual = weights_of(out / "checkpoint-4")
        state, slots = load_trainer_checkpoint(out / "checkpoint-4")
        assert sorted(actual) == sorted(expected) and sorted(slots) == sorted(expected_slots)
        weight_error = max(float(np.abs(actual[k] - expected[k]).max()) for k in expected)
        slot_error = max(float(np.abs(slots[k] - expected_slots[k]).max()) for k in expected_slots)
        print(f"\n{name}: max |weight difference| {weight_error:.3g}, max |slot difference| {slot_error:.3g}")
        assert weight_error <= DISTRIBUTED_ATOL and slot_error <= DISTRIBUTED_ATOL
        np.testing.assert_allclose([row["loss"] for row in state.history],
                                   [row["loss"] for row in single["history"]], rtol=1e-5)


def test_bf16_is_refused_where_unsupported_else_trains(tiny, tmp_path):
    supported, reason = bf16_support("cpu")
    config = make_config(tiny, tmp_path, total_steps=2, bf16=True)
    if not supported:
        with pytest.raises(ConfigError, match="bf16"):
            pretrain(config)
        assert not list_checkpoints(tmp_path)
    else:
        result = pretrain(config)
        assert np.isfinite(result["final_loss"]) and result["bf16"]


def test_bf16_autocast_path_runs_when_allowed(tiny, tmp_path, monkeypatch):
    """Forcing the capability check on exercises the autocast path here (emulated bf16 on this CPU)."""
    import albert_pt.pretraining as pretraining

    monkeypatch.setattr(pretraining, "bf16_support", lambda device: (True, "forced by the test"))
    result = pretraining.pretrain(make_config(tiny, tmp_path / "bf16", total_steps=2, bf16=True,
                                              heldout=str(tiny["heldout"])))
    reference = pretraining.pretrain(make_config(tiny, tmp_path / "fp32", total_steps=2))
    assert result["bf16"] and np.isfinite(result["final_loss"]) and 0 <= result["eval"]["eval_mlm_accuracy"] <= 1
    assert all(w.dtype == np.float32 for w in weights_of(result["checkpoint"]).values())
    # bf16 rounding changes the loss a little, not a lot
    assert result["history"][0]["loss"] == pytest.approx(reference["history"][0]["loss"], rel=2e-2)


def _cli(arguments: list[str]) -> int:
    from albert_cli.pretrain_command import add_commands

    parser = argparse.ArgumentParser(prog="albert")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(arguments)
    return args.run(args)


def test_cli_pretrain_end_to_end(tiny, tmp_path, capsys):
    out = tmp_path / "run"
    arguments = ["pretrain", "--backend", "pt", "--data", str(tiny["train"]), "--heldout", str(tiny["heldout"]),
                 "--config", str(tiny["model"]), "--out", str(out), "--batch-size", "8", "--accumulation-steps",
                 "2", "--total-steps", "4", "--warmup-steps", "1", "--learning-rate", "0.01", "--eval-every", "2",
                 "--save-every", "1", "--keep-checkpoints", "2", "--max-eval-examples", "32", "--log-every", "1",
                 "--quiet"]
    assert _cli(arguments) == 0
    assert [step for step, _ in list_checkpoints(out)] == [3, 4]  # saved every step, the last two kept
    state, _ = load_trainer_checkpoint(out / "checkpoint-4")
    assert state.config.accumulation_steps == 2 and state.config.global_batch_size == 8
    assert len(read_history_csv(out / "history.csv")) == 4
    rows = read_history_csv(out / "history.csv")
    assert [row["eval_mlm_accuracy"] is not None for row in rows] == [False, True, False, True]
    # re-running resumes from checkpoint-4, which is already the end: nothing to do
    assert _cli(arguments) == 0
    assert [step for step, _ in list_checkpoints(out)] == [3, 4]
    assert read_history_csv(out / "history.csv") == rows


@pytest.mark.parametrize("bad", [["--batch-size", "6", "--accumulation-steps", "4"], ["--config", "no-such-model"],
                                 ["--resume", "/no/such/checkpoint"], ["--optimizer", "lamb", "--warmup-steps", "9"]])
def test_cli_bad_input_exits_2(tiny, tmp_path, bad, capsys):
    arguments = ["pretrain", "--data", str(tiny["train"]), "--config", str(tiny["model"]), "--out",
                 str(tmp_path), "--total-steps", "4", "--batch-size", "8", "--quiet", *bad]
    assert _cli(arguments) == 2
    assert "error:" in capsys.readouterr().err
    assert not list_checkpoints(tmp_path)


def test_plot_history_without_matplotlib_returns_none(tmp_path, monkeypatch, capsys):
    from albert_core.training import History, plot_history

    history = History()
    history.append(step=1, learning_rate=0.1, loss=2.0, eval_mlm_accuracy=0.1, eval_sop_accuracy=0.5)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    assert plot_history(history, tmp_path / "history.png") is None
    assert "matplotlib is not installed" in capsys.readouterr().err
    assert not (tmp_path / "history.png").exists()


def test_plot_history_with_matplotlib(tmp_path):
    pytest.importorskip("matplotlib")
    from albert_core.training import History, plot_history

    history = History()
    for step in (1, 2):
        history.append(step=step, learning_rate=0.1, loss=3.0 - step, eval_mlm_accuracy=0.1 * step)
    assert plot_history(history, tmp_path / "history.png").stat().st_size > 0
