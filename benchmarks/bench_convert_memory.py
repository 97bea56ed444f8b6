"""Peak memory of converting an albert-xxlarge-shaped checkpoint (about 223M parameters, 0.9 GB in float32).

Writes random weights with the xxlarge shapes as ``model.safetensors``, then converts them to each target format in a
fresh child process (``albert_cli.convert.convert``, parity check off) and reports the child's peak RSS, its
baseline after importing the libraries, and the ratio of the growth to the checkpoint size::

    python benchmarks/bench_convert_memory.py [--to hf-tf tf1 safetensors] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, os, resource, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
target, src, dst = sys.argv[1:4]
if target != "safetensors":
    import tensorflow, h5py  # imported up front so the baseline includes the framework
from albert_cli.convert import convert
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t0 = time.time()
convert(src, dst, to=target, check=False, progress=False)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"baseline": base, "peak": peak, "seconds": time.time() - t0}))
"""


def make_source(directory: Path) -> int:
    import numpy as np

    from albert_core import AlbertConfig
    from albert_core.checkpoints import write_safetensors
    from albert_core.weights import canonical_specs

    config = AlbertConfig.from_preset("albert-xxlarge-v2", num_labels=2)
    rng = np.random.default_rng(0)
    specs = canonical_specs(config, "pretraining")

    class Lazy(dict):  # generate each tensor when the writer asks for it: the generator holds one at a time
        def __getitem__(self, name):
            return (0.02 * rng.standard_normal(specs[name].shape, dtype=np.float32))

    tensors = Lazy.fromkeys(specs)
    directory.mkdir(parents=True, exist_ok=True)
    write_safetensors(directory / "model.safetensors", tensors, metadata={"format": "pt"})
    config.save_pretrained(directory, architectures=["AlbertForPreTraining"])
    return (directory / "model.safetensors").stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--to", nargs="+", default=["hf-tf", "tf1", "safetensors"])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", action="store_true", help="also print the results as one JSON line at the end")
    args = parser.parse_args()
    results: dict = {}
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        tmp = Path(tmp)
        size = make_source(tmp / "src")
        results["checkpoint_bytes"] = size
        print(f"source: {size / 1e9:.2f} GB model.safetensors (albert-xxlarge shapes, pretraining head)")
        print(f"{'target':<12} {'baseline':>10} {'peak':>10} {'growth':>10} {'growth/ckpt':>12} {'time':>7}")
        for target in args.to:
            proc = subprocess.run([sys.executable, "-c", CHILD, target, str(tmp / "src"), str(tmp / target)],
                                  capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                print(f"{target:<12} failed: {proc.stderr[-2000:]}")
                results[target] = {"error": proc.stderr[-2000:]}
                continue
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            growth = result["peak"] - result["baseline"]
            results[target] = {**result, "growth": growth, "growth_over_checkpoint": growth / size}
            print(f"{target:<12} {result['baseline'] / 1e9:>9.2f}G {result['peak'] / 1e9:>9.2f}G "
                  f"{growth / 1e9:>9.2f}G {growth / size:>12.2f} {result['seconds']:>6.1f}s")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
