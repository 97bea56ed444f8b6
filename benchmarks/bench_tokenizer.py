"""Batch-encoding throughput of albert_core's AlbertTokenizer against Hugging Face's slow and fast tokenizers.

Usage: ``python benchmarks/bench_tokenizer.py [--lines N] [--batch B] [--vocab V] [--repeats R]``

Trains (or reuses, under the system temp directory) a SentencePiece model with ALBERT's settings on the tiny-shakespeare
corpus, checks that our ids equal the slow reference's, then times batch encoding and writes a markdown table to
``benchmarks/results/tokenizer.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from albert_core.tokenizer import AlbertTokenizer, train_sentencepiece  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "tinyshakespeare.txt"
CACHE = Path(tempfile.gettempdir()) / "albert_lite_bench"
RESULTS = ROOT / "benchmarks" / "results" / "tokenizer.md"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def timed(fn, texts, batch: int, repeats: int) -> tuple[float, int]:
    """Best-of-``repeats`` seconds to encode ``texts`` in batches of ``batch``; also returns the token count."""
    best = float("inf")
    tokens = 0
    for _ in range(repeats):
        start = time.perf_counter()
        count = 0
        for i in range(0, len(texts), batch):
            out = fn(texts[i : i + batch])
            count += sum(len(r) for r in out["input_ids"])
        best = min(best, time.perf_counter() - start)
        tokens = count
    return best, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20000, help="corpus lines to encode")
    parser.add_argument("--batch", type=int, default=1000, help="texts per batch call")
    parser.add_argument("--vocab", type=int, default=8000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--slow-lines", type=int, default=3000, help="lines for the (very slow) HF slow tokenizer")
    args = parser.parse_args()

    import transformers
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    warnings.filterwarnings("ignore")

    lines = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = (lines * (args.lines // len(lines) + 1))[: args.lines]
    model_dir = CACHE / f"spm{args.vocab}"
    model_dir.mkdir(parents=True, exist_ok=True)
    if not (model_dir / "spiece.model").is_file():
        log(f"training a {args.vocab}-piece SentencePiece model on {len(lines)} lines ...")
        t0 = time.perf_counter()
        train_sentencepiece(lines, model_dir, vocab_size=args.vocab)
        log(f"  trained in {time.perf_counter() - t0:.1f}s")
    ours = AlbertTokenizer.from_pretrained(model_dir)
    slow = transformers.AlbertTokenizer(str(model_dir / "spiece.model"))
    with tempfile.TemporaryDirectory() as tmp:
        slow.save_pretrained(tmp)
        fast = transformers.AlbertTokenizerFast.from_pretrained(tmp)

    log(f"checking ids against the slow tokenizer on {args.slow_lines} lines ...")
    check = texts[: args.slow_lines]
    ref_ids = [slow.encode(t) for t in check]
    mismatches = sum(a != b for a, b in zip(ours(check)["input_ids"], ref_ids))
    mismatches_off = sum(a != b for a, b in zip(ours(check, return_offsets_mapping=True)["input_ids"], ref_ids))
    fast_mismatches = sum(a != b for a, b in zip(fast(check)["input_ids"], ref_ids))
    log(f"  ours: {mismatches} mismatching, ours+offsets: {mismatches_off}, HF fast: {fast_mismatches}")

    cases = [
        ("albert_core", texts, lambda b: ours(b)),
        ("albert_core + offsets", texts, lambda b: ours(b, return_offsets_mapping=True)),
        ("HF slow", texts[: args.slow_lines], lambda b: slow(b)),
        ("HF fast", texts, lambda b: fast(b)),
        ("HF fast + offsets", texts, lambda b: fast(b, return_offsets_mapping=True)),
    ]
    rows = []
    for name, data, fn in cases:
        log(f"timing {name} on {len(data)} texts ...")
        fn(data[: args.batch])  # warm up
        seconds, tokens = timed(fn, data, args.batch, 1 if name == "HF slow" else args.repeats)
        rows.append((name, len(data) / seconds, tokens / seconds))
        log(f"  {len(data) / seconds:,.0f} texts/s")
    fast_rate = {name: rate for name, rate, _ in rows}
    lines_out = [
        "# Tokenizer batch-encoding throughput",
        "",
        f"{len(texts)} tiny-shakespeare lines (mean {sum(map(len, texts)) / len(texts):.0f} chars), batches of "
        f"{args.batch}, vocab {args.vocab}, best of {args.repeats}; HF slow on {args.slow_lines} lines. "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"transformers {transformers.__version__}.",
        "",
        f"Ids equal to the slow reference: ours {len(check) - mismatches}/{len(check)}, ours with offsets "
        f"{len(check) - mismatches_off}/{len(check)} (HF fast: {len(check) - fast_mismatches}/{len(check)}).",
        "",
        "| tokenizer | texts/s | tokens/s | vs HF fast (same offsets setting) |",
        "|---|---:|---:|---:|",
    ]
    for name, rate, tok_rate in rows:
        base = fast_rate["HF fast + offsets"] if "offsets" in name else fast_rate["HF fast"]
        lines_out.append(f"| {name} | {rate:,.0f} | {tok_rate:,.0f} | {rate / base:.2f}x |")
    table = "\n".join(lines_out) + "\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(table, encoding="utf-8")
    print(table)
    if mismatches or mismatches_off:
        sys.exit("our ids differ from the slow reference")


if __name__ == "__main__":
    main()
