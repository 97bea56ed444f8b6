"""Forward latency of albert_pt.AlbertModel vs transformers.AlbertModel (eager and sdpa) on CPU.

albert-base-v2-sized random weights (``AlbertConfig.from_preset("albert-base-v2")``), the same weights loaded into
every model through a saved checkpoint, batch 8 x seq 128 (a quarter of the rows padded by 32 tokens, so the
attention mask is real). Implementations are timed round-robin (one iteration of each per round) so that load from
other processes hits them alike; the table reports the median ms/iter and the ratio to transformers eager measured
in the same run. Results go to ``benchmarks/results/pt.md``.

    python benchmarks/bench_pt.py            # fp32
    python benchmarks/bench_pt.py --bf16     # plus bf16-autocast rows (slow on CPUs without bf16 instructions)
    python benchmarks/bench_pt.py --quick    # 3 rounds
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

os.environ.setdefault("USE_TF", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from albert_core import AlbertConfig  # noqa: E402
from albert_pt import AlbertModel  # noqa: E402
from albert_pt import modeling as pt_modeling  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "pt.md"


class Ours(torch.nn.Module):
    """albert_pt with the attention kernel pinned (the module flag is read at call time)."""

    def __init__(self, model: AlbertModel, sdpa: bool) -> None:
        super().__init__()
        self.model, self.sdpa = model, sdpa

    def forward(self, **kwargs):
        old = pt_modeling.USE_SDPA
        pt_modeling.USE_SDPA = self.sdpa
        try:
            return self.model(**kwargs)
        finally:
            pt_modeling.USE_SDPA = old


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--iters", type=int, default=10, help="timed rounds per precision")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--bf16", action="store_true",
                        help="add bf16-autocast rows (off by default: on CPUs without bf16 instructions, such as "
                             "the AVX2 machine of benchmarks/results/pt.md, autocast is ~4x slower than fp32)")
    parser.add_argument("--quick", action="store_true", help="3 rounds, 1 warm-up, fp32 only")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.quick:
        args.iters, args.warmup, args.bf16 = 3, 1, False
    if args.threads:
        torch.set_num_threads(args.threads)

    import transformers

    transformers.logging.set_verbosity_error()
    config = AlbertConfig.from_preset("albert-base-v2")
    print(f"[bench_pt] building albert-base-v2-sized models (torch {torch.__version__}, "
          f"transformers {transformers.__version__}, {torch.get_num_threads()} threads)", flush=True)
    torch.manual_seed(0)
    ours = AlbertModel(config).eval()
    with tempfile.TemporaryDirectory() as tmp:
        ours.save_pretrained(tmp)
        hf_eager = transformers.AlbertModel.from_pretrained(tmp, attn_implementation="eager").eval()
        hf_sdpa = transformers.AlbertModel.from_pretrained(tmp, attn_implementation="sdpa").eval()
    models = {
        "transformers eager": hf_eager,
        "transformers sdpa": hf_sdpa,
        "albert_pt (sdpa)": Ours(ours, sdpa=True),
        "albert_pt (explicit matmuls)": Ours(ours, sdpa=False),
    }
    gen = torch.Generator().manual_seed(0)
    b, s = args.batch, args.seq
    inputs = {
        "input_ids": torch.randint(5, config.vocab_size, (b, s), generator=gen),
        "token_type_ids": torch.zeros(b, s, dtype=torch.long),
        "attention_mask": torch.ones(b, s, dtype=torch.long),
    }
    inputs["attention_mask"][: max(1, b // 4), s - s // 4:] = 0

    with torch.inference_mode():
        reference = hf_eager(**inputs).last_hidden_state
        for name, model in models.items():
            diff = float((model(**inputs).last_hidden_state - reference).abs().max())
            print(f"[bench_pt] {name}: max |diff| vs transformers eager = {diff:.2e}", flush=True)
            assert diff < 1e-3, f"{name} disagrees with transformers ({diff})"

    precisions = ["fp32"] + (["bf16 autocast"] if args.bf16 else [])
    rows = []
    for precision in precisions:
        autocast = precision != "fp32"
        times: dict[str, list[float]] = {name: [] for name in models}
        total = args.warmup + args.iters
        for round_index in range(total):
            for name, model in models.items():
                with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                    start = time.perf_counter()
                    model(**inputs)
                    elapsed = time.perf_counter() - start
                if round_index >= args.warmup:
                    times[name].append(elapsed)
            label = "warm-up" if round_index < args.warmup else "round"
            done = ", ".join(f"{n}: {(times[n] or [float('nan')])[-1] * 1e3:.0f} ms" for n in models)
            if round_index < args.warmup:
                done = "not timed"
            print(f"[bench_pt] {precision} {label} {round_index + 1}/{total}: {done}", flush=True)
        ref_ms = statistics.median(times["transformers eager"]) * 1e3
        for name in models:
            ms = statistics.median(times[name]) * 1e3
            rows.append((precision, name, ms, b * s / (ms / 1e3), ref_ms / ms))

    header = (
        f"# albert_pt forward benchmark\n\n"
        f"albert-base-v2-sized random weights, batch {b} x seq {s} (mask with padding), CPU "
        f"({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads), "
        f"torch {torch.__version__}, transformers {transformers.__version__}. Median of {args.iters} round-robin "
        f"iterations after {args.warmup} warm-up; 1-minute load average {os.getloadavg()[0]:.1f} at the end "
        f"(other processes share the CPU when it exceeds the thread count, which makes single timings noisy); "
        f"speed-up = transformers eager ms / row ms (same run, same precision; >1 is faster).\n\n"
        "| precision | implementation | ms/iter | tokens/s | speed-up vs transformers eager |\n"
        "|---|---|---:|---:|---:|\n"
    )
    table = header + "".join(
        f"| {p} | {n} | {ms:.1f} | {tps:,.0f} | {ratio:.2f}x |\n" for p, n, ms, tps, ratio in rows
    )
    print()
    print(table)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(table, encoding="utf-8")
    print(f"[bench_pt] wrote {args.output}")


if __name__ == "__main__":
    main()
