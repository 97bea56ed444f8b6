"""CUDA parity and speed of albert_pt against its CPU results and transformers, on a lent GPU (never run in CI).

For every head of :data:`albert_pt.MODEL_CLASSES`, on one random checkpoint with padding in the batch:

* float32 on CUDA against float32 on the CPU (same weights, same inputs): max abs difference of every output;
* float32 on CUDA against transformers' class for the head, loaded from the same directory, on CUDA;
* bf16 autocast on CUDA against float32 on CUDA: max abs difference relative to the output's scale;
* one training step (loss and gradients) on CUDA against the CPU;
* the fast inference path (:func:`albert_pt.inference.optimize_for_inference`) on CUDA in float32 against the eager
  model, and in bfloat16 relative to the output's scale.

Then forward timings at ALBERT-base shapes (batch 32 x 128): albert_pt eager (float32, bf16 autocast) and its fast
path (float32, bfloat16, and bfloat16 replayed as a CUDA graph, which removes the kernel-launch cost) against
transformers eager and SDPA, medians of CUDA-synchronised runs, and each against the floor of its precision (matmul
FLOPs over the GEMM rate measured on this GPU at the model's linear shapes). Prints a table and writes
``cuda_check.json`` to ``--out``.

    python scripts/cuda_check.py --out /tmp/cuda_check
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from albert_core import AlbertConfig, Head  # noqa: E402
from albert_core.heads import HEADS  # noqa: E402
from albert_pt import MODEL_CLASSES  # noqa: E402
from albert_pt.inference import optimize_for_inference  # noqa: E402

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
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fast = outputs(optimize_for_inference(gpu_model)(**tensors(arrays, DEVICE)))
            fast_bf16 = outputs(optimize_for_inference(gpu_model, dtype=torch.bfloat16)(**tensors(arrays, DEVICE)))
        fast_rel = {k: d / max(scale[k], 1e-6) for k, d in max_diff(fast_bf16, gpu).items()}
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
        rows.append({"head": head.value, "cuda_vs_cpu": max_diff(gpu, cpu),
                     "cuda_vs_transformers": max_diff(gpu, theirs),
                     "bf16_vs_fp32_relative": bf16_rel, "train_step_cuda_vs_cpu": grads,
                     "fast_fp32_vs_eager": max_diff(fast, gpu), "fast_bf16_vs_fp32_relative": fast_rel})
        print(f"{head.value:26s} cuda-cpu {max(max_diff(gpu, cpu).values()):.2e}  "
              f"cuda-transformers {max(max_diff(gpu, theirs).values()):.2e}  "
              f"bf16 rel {max(bf16_rel.values()):.2e}  fast {max(max_diff(fast, gpu).values()):.2e}  "
              f"fast bf16 rel {max(fast_rel.values()):.2e}  step {grads}", flush=True)


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


def gemm_floor_ms(config: AlbertConfig, batch: int, seq: int, dtype: torch.dtype) -> tuple[float, float]:
    """(floor ms, GFLOP/s): the model's matmul FLOPs over the rate of its linear shapes measured here in ``dtype``."""
    from benchmarks.suite import matmul_flops

    rows = batch * seq
    h, e, i = config.hidden_size, config.embedding_size, config.intermediate_size
    blocks = config.num_hidden_layers * config.inner_group_num
    shapes = [(h, 3 * h, blocks), (h, h, blocks), (h, i, blocks), (i, h, blocks), (e, h, 1)]
    flops = seconds = 0.0
    with torch.no_grad():
        for k, n, count in shapes:
            x = torch.randn(rows, k, device=DEVICE).to(dtype)
            w = torch.randn(n, k, device=DEVICE).to(dtype) * 0.02
            b = torch.zeros(n, device=DEVICE, dtype=dtype)
            # 20 calls per timing, so that the launch and synchronisation latency is not counted as GEMM time
            seconds += timed(lambda: [torch.nn.functional.linear(x, w, b) for _ in range(20)], repeats=10) / 20 * count
            flops += 2 * rows * k * n * count
    rate = flops / seconds / 1e9
    return matmul_flops(config, batch, seq) / (rate * 1e9) * 1e3, rate


def cuda_graph(fast, batch: dict[str, torch.Tensor]):
    """The fast path's encoder replayed as one CUDA graph (static shapes and inputs; no launch cost per kernel)."""
    from albert_pt.inference import _Layout

    ids, types = batch["input_ids"], batch["token_type_ids"]
    layout = _Layout(mask=fast.backbone._mask_bias(batch["attention_mask"], torch.float32))

    def encode():
        return fast._encode(fast._embed(ids, types, None), layout)

    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            encode()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_out = encode()
    return graph, static_out


def speed(result: dict, work: Path, batch_size: int = 32, layers: int = 12, compile_modes: tuple = ()) -> None:
    import transformers

    base = AlbertConfig(vocab_size=30000, embedding_size=128, hidden_size=768, num_hidden_layers=layers,
                        num_attention_heads=12, intermediate_size=3072, hidden_act="gelu_new",
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    torch.manual_seed(0)
    ours = MODEL_CLASSES[Head.BASE](base).eval()
    directory = ours.save_pretrained(work / "base_size")
    ours = ours.to(DEVICE)
    batch = tensors(batch_for(base, Head.BASE, batch=batch_size, seq=128), DEVICE)
    timings = {}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast, fast_bf16 = optimize_for_inference(ours), optimize_for_inference(ours, dtype=torch.bfloat16)
        reference = ours(**batch).last_hidden_state
        timings["albert_pt fp32"] = timed(lambda: ours(**batch))
        timings["albert_pt fast fp32"] = timed(lambda: fast(**batch))
        timings["albert_pt fast bf16"] = timed(lambda: fast_bf16(**batch))
        with torch.autocast(DEVICE, dtype=torch.bfloat16):
            timings["albert_pt bf16 autocast"] = timed(lambda: ours(**batch))
        if DEVICE == "cuda":
            for name, path in (("fp32", fast), ("bf16", fast_bf16)):
                try:
                    graph, out = cuda_graph(path, batch)
                    timings[f"albert_pt fast {name} CUDA graph"] = timed(graph.replay)
                    graph.replay()
                    torch.cuda.synchronize()
                    result[f"cuda_graph_{name}_max_abs_diff"] = float((out - reference).abs().max())
                except Exception as exc:  # noqa: BLE001 - recorded, the other timings still count
                    result[f"cuda_graph_{name}_error"] = f"{type(exc).__name__}: {exc}"
        for mode in compile_modes:  # torch.compile (inductor) fuses the elementwise work between the GEMMs
            hf_sdpa = transformers.AlbertModel.from_pretrained(directory, attn_implementation="sdpa").to(DEVICE).eval()
            compiled = {"albert_pt fast bf16": torch.compile(lambda: fast_bf16(**batch).last_hidden_state,
                                                             mode=mode),
                        "albert_pt bf16 autocast": torch.compile(ours, mode=mode),
                        "transformers sdpa bf16 autocast": torch.compile(hf_sdpa, mode=mode)}
            if mode.startswith("max-autotune"):  # minutes of GEMM autotuning per model: the fast path only
                compiled = {"albert_pt fast bf16": compiled["albert_pt fast bf16"]}
            for name, fn in compiled.items():
                label = f"{name} torch.compile {mode}"
                call = fn if name.startswith("albert_pt fast") else (
                    lambda fn=fn: fn(**batch).last_hidden_state)
                try:
                    start = time.perf_counter()
                    with torch.autocast(DEVICE, dtype=torch.bfloat16):
                        out = call().float().clone()
                        result[f"{label} compile_s"] = time.perf_counter() - start
                        timings[label] = timed(call)
                    result[f"{label} relative_error"] = float((out - reference).abs().max() / reference.abs().max())
                except Exception as exc:  # noqa: BLE001 - recorded, the other timings still count
                    result[f"{label} error"] = f"{type(exc).__name__}: {str(exc)[:500]}"
                    print(result[f"{label} error"], flush=True)
        for impl in ("eager", "sdpa"):
            hf = transformers.AlbertModel.from_pretrained(directory, attn_implementation=impl).to(DEVICE).eval()
            timings[f"transformers {impl} fp32"] = timed(lambda: hf(**batch))
            with torch.autocast(DEVICE, dtype=torch.bfloat16):
                timings[f"transformers {impl} bf16 autocast"] = timed(lambda: hf(**batch))
    result["speed_ms"] = {k: v * 1000 for k, v in timings.items()}
    floors = {name: gemm_floor_ms(base, batch_size, 128, dtype)
              for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16))}
    result["floor_ms"] = {k: v[0] for k, v in floors.items()}
    result["gemm_gflops"] = {k: v[1] for k, v in floors.items()}
    for k, v in timings.items():
        floor = floors["bf16" if "bf16" in k else "fp32"][0]
        print(f"{k:34s} {v * 1000:8.2f} ms  {v * 1000 / floor:5.2f}x floor", flush=True)
    print(f"floors: {result['floor_ms']} ms, GEMM mix {result['gemm_gflops']} GFLOP/s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("cuda_check"))
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--batch", type=int, default=32, help="batch size of the timed forward (x 128 tokens)")
    parser.add_argument("--layers", type=int, default=12, help="layers of the timed model (12: ALBERT-base)")
    parser.add_argument("--compile", nargs="*", default=[], metavar="MODE",
                        help="also time torch.compile of the fast bfloat16 encoder in these modes (e.g. default "
                             "reduce-overhead); compiling takes minutes")
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
            speed(result, Path(tmp), args.batch, args.layers, tuple(args.compile))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cuda_check.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
