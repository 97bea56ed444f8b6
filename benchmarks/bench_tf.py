"""Forward latency of albert_tf.TFAlbertModel against transformers.TFAlbertModel on the same random weights.

albert-base-v2 shapes (random weights), batch 8 x sequence 128, CPU, float32; each model runs inside
``tf.function`` (graph) and ``tf.function(jit_compile=True)`` (XLA). Prints a markdown table with ms/iteration and
the ratio to the reference measured in the same run, and writes it to ``benchmarks/results/tf.md``.

    python benchmarks/bench_tf.py [--iters 10] [--warmup 2] [--batch 8] [--seq 128]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from albert_core import AlbertConfig  # noqa: E402
from albert_tf import TFAlbertModel  # noqa: E402


def log(message: str) -> None:
    print(f"[bench_tf {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def time_fn(fn, args, iters: int, warmup: int, label: str) -> tuple[float, float, np.ndarray]:
    log(f"{label}: tracing/compiling + {warmup} warm-up call(s)")
    start = time.perf_counter()
    out = None
    for _ in range(max(warmup, 1)):
        out = fn(*args)
        out.numpy()
    log(f"{label}: first calls took {time.perf_counter() - start:.1f}s; timing {iters} iterations")
    samples = []
    for i in range(iters):
        t0 = time.perf_counter()
        fn(*args).numpy()
        samples.append((time.perf_counter() - t0) * 1000)
        print(f"\r  {label}: {i + 1}/{iters} ({samples[-1]:.0f} ms)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return statistics.median(samples), statistics.stdev(samples) if len(samples) > 1 else 0.0, out.numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "tf.md")
    args = parser.parse_args()

    import transformers

    transformers.logging.set_verbosity_error()
    config = AlbertConfig.from_preset("albert-base-v2")
    log("building albert_tf.TFAlbertModel (albert-base-v2 shapes, random weights)")
    ours = TFAlbertModel(config)
    with tempfile.TemporaryDirectory() as tmp:
        ours.save_pretrained(tmp)
        log("loading the same weights into transformers.TFAlbertModel (from_pt=True)")
        reference = transformers.TFAlbertModel.from_pretrained(tmp, from_pt=True)

    rng = np.random.default_rng(0)
    ids = tf.constant(rng.integers(5, config.vocab_size, size=(args.batch, args.seq)), tf.int32)
    mask = tf.ones_like(ids)
    types = tf.zeros_like(ids)

    def ours_fn(i, m, t):
        return ours(input_ids=i, attention_mask=m, token_type_ids=t).last_hidden_state

    def ref_fn(i, m, t):
        return reference(input_ids=i, attention_mask=m, token_type_ids=t, training=False).last_hidden_state

    results = {}
    for mode, jit in (("tf.function", False), ("tf.function + XLA", True)):
        for name, fn in (("transformers TFAlbertModel", ref_fn), ("albert_tf TFAlbertModel", ours_fn)):
            compiled = tf.function(fn, jit_compile=jit)
            results[(mode, name)] = time_fn(compiled, (ids, mask, types), args.iters, args.warmup, f"{name} [{mode}]")
        a = results[(mode, "albert_tf TFAlbertModel")][2]
        b = results[(mode, "transformers TFAlbertModel")][2]
        log(f"{mode}: max |ours - reference| of last_hidden_state = {np.abs(a - b).max():.2e}")

    lines = [
        f"# TensorFlow forward latency: albert_tf vs transformers (TF {tf.__version__}, "
        f"transformers {transformers.__version__})",
        "",
        f"albert-base-v2 shapes, random weights (identical in both), batch {args.batch} x seq {args.seq}, CPU float32, "
        f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), median of {args.iters} "
        f"iterations after {args.warmup} warm-up.",
        "",
        "| mode | model | ms/iter (median) | stdev ms | ratio vs transformers |",
        "|---|---|---:|---:|---:|",
    ]
    for (mode, name), (median, stdev, _) in results.items():
        ref = results[(mode, "transformers TFAlbertModel")][0]
        lines.append(f"| {mode} | {name} | {median:.1f} | {stdev:.1f} | {median / ref:.2f}x |")
    table = "\n".join(lines) + "\n"
    print(table)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(table, encoding="utf-8")
    log(f"wrote {args.output}")


if __name__ == "__main__":
    main()
