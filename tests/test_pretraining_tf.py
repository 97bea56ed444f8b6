"""The Keras pre-training loop (:mod:`albert_tf.pretraining`) on a tiny model, and its checkpoints across backends.

One module-scoped set-up (``pretraining_fixtures.py``): a 400-piece SentencePiece model, train / held-out data from
the first 3000 lines of tiny Shakespeare, and a 2-layer, hidden-32 ALBERT (dropout 0, or 0.1 where a test says so).
The TensorFlow runs that several tests compare against are module fixtures too, so each is trained once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from albert_core import ConfigError  # noqa: E402
from albert_core.pretraining import PretrainingDataset  # noqa: E402
from albert_core.training import (  # noqa: E402
    HISTORY_CSV_FILE,
    TrainingConfig,
    list_checkpoints,
    load_trainer_checkpoint,
    read_batch,
)
from albert_tf import TFAlbertForPreTraining  # noqa: E402
from albert_tf.pretraining import bf16_support, pretrain  # noqa: E402

from conftest import REPO_ROOT, SHAKESPEARE  # noqa: E402
from pretraining_fixtures import free_port, short_run_config, tiny_pretraining_setup, weights_of  # noqa: E402

pytestmark = pytest.mark.skipif(not SHAKESPEARE.is_file(), reason=f"corpus not found: {SHAKESPEARE}")

#: One process vs two workers, or TensorFlow vs PyTorch, differ only in float32 rounding (summation order, kernels)
#: of the gradients; after three to six LAMB updates of lr 1e-2 that stays below 1e-5 absolute on weights of size ~1
#: (measured: 3.6e-7 between two workers and one process, 1.2e-7 and 1.5e-7 between the backends).
FLOAT32_ATOL = 1e-5

try:  # tiny matrices: threads only add contention on the shared test machine (too late if TF already started)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(2)
except RuntimeError:
    pass


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    return tiny_pretraining_setup(tmp_path_factory.mktemp("pretraining_tf"))


def make_config(tiny: dict[str, Path], out: Path, **overrides) -> TrainingConfig:
    return short_run_config(tiny, out, **{"backend": "tf", **overrides})


def long_run_config(tiny: dict[str, Path], out: Path, **overrides) -> TrainingConfig:
    """30 updates with dropout 0.1, a checkpoint every 3, evaluation at the end (:func:`tf_long_run`)."""
    return make_config(tiny, out, model_config=str(tiny["model_dropout"]), heldout=str(tiny["heldout"]),
                       total_steps=30, save_every=3, keep_checkpoints=10, eval_every=30, max_eval_examples=48,
                       **overrides)


def max_difference(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    assert sorted(a) == sorted(b)
    return max(float(np.abs(a[name].astype(np.float64) - b[name]).max()) for name in a)


def assert_slots_match(checkpoint: Path, expected: Path) -> None:
    """Both moments of every tensor agree to 1e-5 of their largest magnitude (measured across backends: m 8e-7,
    v 2e-6 of it)."""
    slots, reference = load_trainer_checkpoint(checkpoint)[1], load_trainer_checkpoint(expected)[1]
    assert sorted(slots) == sorted(reference)
    for suffix in ("/m", "/v"):
        names = [name for name in reference if name.endswith(suffix)]
        scale = max(float(np.abs(reference[name]).max()) for name in names)
        difference = max(float(np.abs(slots[name] - reference[name]).max()) for name in names)
        assert difference <= 1e-5 * scale, (suffix, difference, scale)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


@pytest.fixture(scope="module")
def tf_long_run(tiny, tmp_path_factory) -> tuple[Path, dict]:
    """The straight run of the loss and resume tests: :func:`long_run_config`."""
    out = tmp_path_factory.mktemp("tf_long_run")
    summary = pretrain(long_run_config(tiny, out))
    return out, summary


@pytest.fixture(scope="module")
def tf_reference(tiny, tmp_path_factory) -> Path:
    """Six TF updates (2 micro-batches of 4 each), checkpoints at 3 and 6: the run others continue or match."""
    out = tmp_path_factory.mktemp("tf_reference")
    pretrain(make_config(tiny, out, accumulation_steps=2, save_every=3))
    return out


# ---------------------------------------------------------------------------------------------- one process


def test_loss_decreases_and_eval_matches_numpy(tiny, tf_long_run):
    """30 updates (dropout 0.1): the loss falls (measured: mean of the first 5 updates 6.65, of the last 5 6.16);
    the evaluation at update 30 equals a numpy computation from the saved weights' logits."""
    out, summary = tf_long_run
    losses = [row["loss"] for row in summary["history"]]
    assert [row["step"] for row in summary["history"]] == list(range(1, 31))
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.3, losses
    assert [step for step, _ in list_checkpoints(out)] == list(range(3, 31, 3))
    assert (out / HISTORY_CSV_FILE).is_file()
    assert summary["step"] == 30 and summary["checkpoint"] == out / "checkpoint-30"

    # the evaluation, recomputed in numpy from the saved weights
    model = TFAlbertForPreTraining.from_pretrained(out / "checkpoint-30", strict=True)
    batch = read_batch(PretrainingDataset(tiny["heldout"]), range(48))
    logits = model({k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask")})
    mlm_logits, sop_logits = np.asarray(logits.prediction_logits, np.float64), np.asarray(logits.sop_logits)
    labels, order = batch["labels"], batch["sentence_order_label"]
    masked = labels != -100
    log_probs, sop_log_probs = log_softmax(mlm_logits), log_softmax(sop_logits.astype(np.float64))
    expected = {"eval_mlm_accuracy": float(np.mean(mlm_logits.argmax(-1)[masked] == labels[masked])),
                "eval_sop_accuracy": float(np.mean(sop_logits.argmax(-1) == order)),
                "eval_mlm_loss": float(-np.mean(log_probs[masked, labels[masked]])),
                "eval_sop_loss": float(-np.mean(sop_log_probs[np.arange(len(order)), order]))}
    for name in ("eval_mlm_accuracy", "eval_sop_accuracy"):
        assert summary["eval"][name] == pytest.approx(expected[name], abs=1e-12), name
        assert summary["history"][-1][name] == pytest.approx(expected[name], abs=1e-12), name
    for name in ("eval_mlm_loss", "eval_sop_loss"):
        assert summary["eval"][name] == pytest.approx(expected[name], rel=1e-5), name


def test_training_and_evaluation_run_the_mlm_head_on_masked_positions_only(tiny, tmp_path, monkeypatch):
    from albert_tf import modeling

    shapes = []
    original = modeling.AlbertMLMHead.call

    def spy(self, hidden, word_embeddings):
        shapes.append(tuple(hidden.shape))
        return original(self, hidden, word_embeddings)

    monkeypatch.setattr(modeling.AlbertMLMHead, "call", spy)
    pretrain(make_config(tiny, tmp_path / "run", total_steps=1, warmup_steps=0, eval_every=1, max_eval_examples=8,
                         heldout=str(tiny["heldout"])))
    hidden = json.loads(Path(tiny["model"], "config.json").read_text())["hidden_size"]
    # traced in the training step (the row count unknown) and eager in evaluation: always one sequence of N rows,
    # never the [batch, seq] positions
    assert len(shapes) >= 2 and any(n is None for _, n, _ in shapes) and any(n is not None for _, n, _ in shapes)
    assert all(b == 1 and h == hidden for b, _, h in shapes), shapes


def test_resume_is_exact_with_dropout(tiny, tf_long_run, tmp_path):
    """The straight run's update 6 vs 3 updates + resume + 3 more (dropout 0.1): identical weights and slots."""
    straight_out, _ = tf_long_run
    first = pretrain(long_run_config(tiny, tmp_path, stop_at_step=3))
    assert first["step"] == 3 and [s for s, _ in list_checkpoints(tmp_path)] == [3]
    second = pretrain(long_run_config(tiny, tmp_path, stop_at_step=6))
    assert second["resumed_from"] == tmp_path / "checkpoint-3" and second["step"] == 6

    straight, resumed = straight_out / "checkpoint-6", tmp_path / "checkpoint-6"
    for name, array in weights_of(straight).items():
        np.testing.assert_array_equal(weights_of(resumed)[name], array, err_msg=name)
    (state_a, slots_a), (state_b, slots_b) = load_trainer_checkpoint(straight), load_trainer_checkpoint(resumed)
    for name, array in slots_a.items():
        np.testing.assert_array_equal(slots_b[name], array, err_msg=name)
    assert [row["loss"] for row in state_a.history] == [row["loss"] for row in state_b.history]
    assert state_b.step == 6 and state_b.backend == "tf"


def test_slots_are_canonical_pytorch_layout(tf_reference):
    """The Keras moments are stored by canonical name in PyTorch layout (dense kernels ``[out, in]``)."""
    state, slots = load_trainer_checkpoint(tf_reference / "checkpoint-6")
    weights = weights_of(tf_reference / "checkpoint-6")
    assert sorted(slots) == sorted(f"{name}/{s}" for name in weights for s in ("m", "v"))
    for name, array in weights.items():
        assert slots[f"{name}/m"].shape == array.shape and slots[f"{name}/v"].shape == array.shape, name
        assert np.all(slots[f"{name}/v"] >= 0), name
    # a [out, in] = [64, 32] FFN kernel: a transposition would have given [32, 64]
    assert slots["albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight/m"].shape == (64, 32)
    assert state.optimizer["name"] == "lamb"


def test_bf16_is_refused_or_runs(tiny, tmp_path):
    """``bf16=True``: a clear ConfigError where bfloat16 is not native (this CPU), else a finite run; the caller's
    Keras policy is float32 again afterwards either way."""
    import keras

    supported, reason = bf16_support()
    config = make_config(tiny, tmp_path / "bf16", total_steps=2, bf16=True)
    if not supported:
        with pytest.raises(ConfigError, match="bf16: .*bfloat16"):
            pretrain(config)
    else:
        assert np.isfinite(pretrain(config)["final_loss"]), reason
    assert keras.mixed_precision.global_policy().name == "float32"


# ---------------------------------------------------------------------------------------------- across backends


def test_pytorch_checkpoint_continues_in_tensorflow(tiny, tmp_path):
    """PyTorch's checkpoint 3 continued in TF for 3 updates = PyTorch's own 6 (weights to FLOAT32_ATOL, slots)."""
    pt_pretraining = pytest.importorskip("albert_pt.pretraining")
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        pt_pretraining.pretrain(make_config(tiny, tmp_path / "pt", backend="pt", accumulation_steps=2,
                                            save_every=3))
    finally:
        torch.set_num_threads(threads)
    summary = pretrain(make_config(tiny, tmp_path / "tf", accumulation_steps=2,
                                   resume=str(tmp_path / "pt" / "checkpoint-3")))
    assert summary["step"] == 6
    difference = max_difference(weights_of(tmp_path / "tf" / "checkpoint-6"),
                                weights_of(tmp_path / "pt" / "checkpoint-6"))
    assert difference < FLOAT32_ATOL, difference
    assert_slots_match(tmp_path / "tf" / "checkpoint-6", tmp_path / "pt" / "checkpoint-6")
    moved = max_difference(weights_of(tmp_path / "pt" / "checkpoint-3"), weights_of(tmp_path / "pt" / "checkpoint-6"))
    assert moved > 100 * FLOAT32_ATOL  # the three updates did change the weights (measured: 0.085)


def test_tensorflow_checkpoint_continues_in_pytorch(tiny, tf_reference, tmp_path):
    """TF's checkpoint 3 continued in PyTorch for 3 updates = TF's own 6 (weights to FLOAT32_ATOL, slots)."""
    pt_pretraining = pytest.importorskip("albert_pt.pretraining")
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        summary = pt_pretraining.pretrain(make_config(tiny, tmp_path / "pt", backend="pt", accumulation_steps=2,
                                                      resume=str(tf_reference / "checkpoint-3")))
    finally:
        torch.set_num_threads(threads)
    assert summary["step"] == 6
    difference = max_difference(weights_of(tmp_path / "pt" / "checkpoint-6"),
                                weights_of(tf_reference / "checkpoint-6"))
    assert difference < FLOAT32_ATOL, difference
    assert_slots_match(tmp_path / "pt" / "checkpoint-6", tf_reference / "checkpoint-6")


# ---------------------------------------------------------------------------------------------- two workers

WORKER = """
import json, sys
from albert_core.training import TrainingConfig
from albert_tf.pretraining import pretrain
summary = pretrain(TrainingConfig.from_dict(json.loads(sys.argv[1])))
print("SUMMARY " + json.dumps({"step": summary["step"], "world_size": summary["world_size"],
                               "checkpoint": None if summary["checkpoint"] is None else str(summary["checkpoint"])}))
"""


class TwoWorkerRun:
    """Two ``MultiWorkerMirroredStrategy`` worker processes (``TF_CONFIG`` on 127.0.0.1 free ports), 6 updates of the
    global batch of 8 (4 per worker, no accumulation), each worker with its own output directory."""

    def __init__(self, tiny: dict[str, Path], root: Path) -> None:
        self.outs = [root / f"worker{index}" for index in range(2)]
        ports = [free_port(), free_port()]
        path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
        self.processes = []
        for index, out in enumerate(self.outs):
            config = make_config(tiny, out, accumulation_steps=1)
            env = dict(os.environ, PYTHONPATH=path, TF_CPP_MIN_LOG_LEVEL="3", TF_NUM_INTRAOP_THREADS="1",
                       TF_NUM_INTEROP_THREADS="2",
                       TF_CONFIG=json.dumps({"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
                                             "task": {"type": "worker", "index": index}}))
            self.processes.append(subprocess.Popen(
                [sys.executable, "-c", WORKER, json.dumps(config.to_dict())], env=env, cwd=REPO_ROOT,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))

    def summaries(self, timeout: float) -> list[dict]:
        """Wait for both workers (killing them after ``timeout`` seconds); their ``pretrain`` summaries."""
        outputs = []
        try:
            for process in self.processes:
                outputs.append(process.communicate(timeout=timeout)[0])
        finally:
            self.kill()
        summaries = []
        for process, output in zip(self.processes, outputs):
            assert process.returncode == 0, output[-3000:]
            summaries.append(json.loads(output.rsplit("SUMMARY ", 1)[1].splitlines()[0]))
        return summaries

    def kill(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture(scope="module", autouse=True)
def two_workers(request, tiny, tmp_path_factory):
    """Started with the module (when its test is selected), so the workers overlap the in-process tests."""
    selected = any(getattr(item, "module", None) is request.module
                   and getattr(item, "originalname", None) == "test_two_workers_match_one_process"
                   for item in request.session.items)
    run = TwoWorkerRun(tiny, tmp_path_factory.mktemp("two_workers")) if selected else None
    yield run
    if run is not None:
        run.kill()


def test_two_workers_match_one_process(two_workers, tf_reference):
    """Two worker processes x 4 examples vs one process with 2 micro-batches of 4: the same global batch of 8, the
    same weights after 6 updates (float32 rounding); only the chief writes, one checkpoint."""
    summaries = two_workers.summaries(timeout=300)
    chief_out, other_out = two_workers.outs
    assert [s["world_size"] for s in summaries] == [2, 2] and [s["step"] for s in summaries] == [6, 6]
    assert summaries[0]["checkpoint"] == str(chief_out / "checkpoint-6") and summaries[1]["checkpoint"] is None
    assert [step for step, _ in list_checkpoints(chief_out)] == [6]
    assert not list_checkpoints(other_out) and not (other_out / HISTORY_CSV_FILE).exists()
    difference = max_difference(weights_of(chief_out / "checkpoint-6"), weights_of(tf_reference / "checkpoint-6"))
    assert difference < FLOAT32_ATOL, difference
