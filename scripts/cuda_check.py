"""CUDA parity and speed of albert_pt against its CPU results and transformers, on a lent GPU (never run in CI).

For every head of :data:`albert_pt.MODEL_CLASSES`, on one random checkpoint with padding in the batch:

* float32 on CUDA against float32 on the CPU (same weights, same inputs): max abs difference of every output;
* float32 on CUDA against transformers' class for the head, loaded from the same directory, on CUDA;
* bf16 autocast on CUDA against float32 on CUDA: max abs difference relative to the output's scale;
* one training step (loss and gradients) on CUDA against the CPU.

Then forward timings at ALBERT-base shapes (batch 32 x 128): albert_pt float32 / bf16 autocast against transformers
eager and SDPA, medians of CUDA-synchronised runs. Prints a table and writes ``cuda_check.json`` to ``--out``.

    python scripts/cuda_check.py --out /tmp/cuda_check
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from albert_core import AlbertConfig, Head  # noqa: E402
from albert_core.heads import HEADS  # noqa: E402
from albert_pt import MODEL_CLASSES  # noqa: E402

DEVICE = "cuda"  # --device cpu: a dry run of the script on a machine without a GPU


def batch_for(config: AlbertConfig, head: Head, batch: int, seq: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, config.vocab_size, size=(batch, seq))
    mask = np.ones((batch, seq), np.int64)
    for row in range(1, batch, 2):  # every other row padded after half its length
        mask[row, seq // 2:] = 0
        ids[row, seq // 2:] = config.pad_token_id
    types = np.zeros((batch, seq), np.int64)
    types[:, seq // 3:] = 1
    arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    if head is Head.MULTIPLE_CHOICE:
        arrays = {k: np.stack([v, v[::-1]], axis=1) for k, v in arrays.items()}
    return arrays


def tensors(arrays: dict[str, np.ndarray], device: str) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v).to(device) for k, v in arrays.items()}


def outputs(out) -> dict[str, np.ndarray]:
    items = out.items() if hasattr(out, "items") else vars(out).items()
    return {k: v.detach().float().cpu().numpy() for k, v in items if isinstance(v, torch.Tensor)}


def max_diff(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, float]:
    return {k: float(np.max(np.abs(a[k] - b[k]))) for k in a if k in b and a[k].shape == b[k].shape}


def parity(rows: list[dict], small: AlbertConfig, work: Path) -> None:
    import transformers

    for head, cls in MODEL_CLASSES.items():
        config = small.copy(num_labels=HEADS[head].fixed_num_labels or 3)
        torch.manual_seed(0)
        model = cls(config).eval()
        directory = model.save_pretrained(work / head.value)
        arrays = batch_for(config, head, batch=4, seq=48)
        with torch.no_grad():
            cpu = outputs(model(**tensors(arrays, "cpu")))
            gpu_model = cls.from_pretrained(directory).to(DEVICE).eval()
            gpu = outputs(gpu_model(**tensors(arrays, DEVICE)))
            with torch.autocast(DEVICE, dtype=torch.bfloat16):
                bf16 = outputs(gpu_model(**tensors(arrays, DEVICE)))
            hf_class = getattr(transformers, HEADS[head].hf_class)
            hf = hf_class.from_pretrained(directory).to(DEVICE).eval()
            theirs = outputs(hf(**tensors(arrays, DEVICE)))
        scale = {k: float(np.max(np.abs(v))) for k, v in gpu.items()}
        bf16_rel = {k: d / max(scale[k], 1e-6) for k, d in max_diff(bf16, gpu).items()}
        # one training step: loss and gradients, CUDA against CPU
        labels = {}
        if head is Head.SEQUENCE_CLASSIFICATION:
            labels = {"labels": np.array([0, 1, 2, 1])}
        elif head is Head.MASKED_LM:
            labels = {"labels": np.where(arrays["attention_mask"] == 1, arrays["input_ids"], -100)}
        grads = None
        if labels:
            def step(m, device):
                m.zero_grad()
                loss = m(**tensors(arrays, device), **tensors(labels, device)).loss
                loss.backward()
                return float(loss.detach()), {n: p.grad.float().cpu().numpy() for n, p in m.named_parameters()
                                     if p.grad is not None}
            model.train(False)
            gpu_model.train(False)
            loss_cpu, g_cpu = step(model, "cpu")
            loss_gpu, g_gpu = step(gpu_model, DEVICE)
            grads = {"loss_diff": abs(loss_cpu - loss_gpu),
                     "grad_max_diff": max(float(np.max(np.abs(g_cpu[n] - g_gpu[n]))) for n in g_cpu)}
        rows.append({"head": head.value, "cuda_vs_cpu": max_diff(gpu, cpu), "cuda_vs_transformers": max_diff(gpu, theirs),
                     "bf16_vs_fp32_relative": bf16_rel, "train_step_cuda_vs_cpu": grads})
        print(f"{head.value:26s} cuda-cpu {max(max_diff(gpu, cpu).values()):.2e}  "
              f"cuda-transformers {max(max_diff(gpu, theirs).values()):.2e}  "
              f"bf16 rel {max(bf16_rel.values()):.2e}  step {grads}", flush=True)


def synchronize() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def timed(fn, repeats: int = 20) -> float:
    for _ in range(3):
        fn()
    synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def speed(result: dict, work: Path) -> None:
    import transformers

    base = AlbertConfig(vocab_size=30000, embedding_size=128, hidden_size=768, num_hidden_layers=12,
                        num_attention_heads=12, intermediate_size=3072, hidden_act="gelu_new",
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    torch.manual_seed(0)
    ours = MODEL_CLASSES[Head.BASE](base).eval()
    directory = ours.save_pretrained(work / "base_size")
    ours = ours.to(DEVICE)
    batch = tensors(batch_for(base, Head.BASE, batch=32, seq=128), DEVICE)
    timings = {}
    with torch.no_grad():
        timings["albert_pt fp32"] = timed(lambda: ours(**batch))
        with torch.autocast(DEVICE, dtype=torch.bfloat16):
            timings["albert_pt bf16 autocast"] = timed(lambda: ours(**batch))
        for impl in ("eager", "sdpa"):
            hf = transformers.AlbertModel.from_pretrained(directory, attn_implementation=impl).to(DEVICE).eval()
            timings[f"transformers {impl} fp32"] = timed(lambda: hf(**batch))
            with torch.autocast(DEVICE, dtype=torch.bfloat16):
                timings[f"transformers {impl} bf16 autocast"] = timed(lambda: hf(**batch))
    result["speed_ms"] = {k: v * 1000 for k, v in timings.items()}
    for k, v in timings.items():
        print(f"{k:34s} {v * 1000:8.2f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("cuda_check"))
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args()
    global DEVICE
    DEVICE = args.device
    if DEVICE == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device")
    import transformers

    torch.backends.cuda.matmul.allow_tf32 = False  # float32 parity means float32 arithmetic
    torch.backends.cudnn.allow_tf32 = False
    result = {"device": torch.cuda.get_device_name(0) if DEVICE == "cuda" else "cpu", "torch": torch.__version__,
              "transformers": transformers.__version__, "parity": []}
    print(result, flush=True)
    small = AlbertConfig(vocab_size=1000, embedding_size=64, hidden_size=256, num_hidden_layers=4,
                         num_attention_heads=4, intermediate_size=1024, hidden_dropout_prob=0.0,
                         attention_probs_dropout_prob=0.0, classifier_dropout_prob=0.0)
    with tempfile.TemporaryDirectory() as tmp:
        parity(result["parity"], small, Path(tmp))
        if not args.no_speed:
            speed(result, Path(tmp))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cuda_check.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
