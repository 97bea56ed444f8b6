"""The command line and the run shared by the demo scripts (each script picks its task and data)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))  # the repository, when albert-lite is not installed

from shakespeare_tasks import DEFAULT_CORPUS, read_corpus  # noqa: E402


def parser(description: str, epochs: int, learning_rate: float, batch_size: int, max_length: int
           ) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--backend", choices=("pt", "tf"), default="pt", help="PyTorch loop or Keras fit (default: pt)")
    p.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="Tiny Shakespeare text (default: %(default)s)")
    p.add_argument("--out", default=None, help="output directory (default: runs/demos/TASK-BACKEND)")
    p.add_argument("--epochs", type=int, default=epochs, help="default: %(default)s")
    p.add_argument("--lr", type=float, default=learning_rate, help="peak learning rate (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=batch_size, help="default: %(default)s")
    p.add_argument("--max-length", type=int, default=max_length, help="default: %(default)s")
    p.add_argument("--seed", type=int, default=0, help="data split, order and dropout seed (default: 0)")
    p.add_argument("--limit", type=int, default=None, 
                   help="use only the first N train and eval examples (a quick look)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def run(name: str, task: str, args: argparse.Namespace, make_files: Callable[[str, Path], tuple[Path, Path]],
        **settings: Any) -> dict[str, Any]:
    """Generate the data, fine-tune the shipped default model, print and return the result."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from albert_core.filenames import DEFAULT_MODEL_DIR
    from albert_core.finetuning import FinetuneConfig

    out = Path(args.out or Path("runs") / "demos" / f"{name}-{args.backend}")
    train, evaluation = make_files(read_corpus(args.corpus), out / "data")
    config = FinetuneConfig(task=task, model=str(DEFAULT_MODEL_DIR), out=str(out), train=str(train),
                            eval=str(evaluation), backend=args.backend, epochs=args.epochs, learning_rate=args.lr,
                            batch_size=args.batch_size, max_length=args.max_length, seed=args.seed,
                            quiet=args.quiet, max_train_examples=args.limit, max_eval_examples=args.limit,
                            **settings)
    if args.backend == "pt":
        import torch

        torch.set_num_threads(2)
        from albert_pt.finetune import finetune
    else:
        from albert_tf.finetune import finetune
    started = time.perf_counter()
    result = finetune(config)
    seconds = time.perf_counter() - started
    summary = {"demo": name, "backend": args.backend, "metric": result.metric, "best": result.best_metric,
               "best_epoch": result.best_epoch, "steps": result.steps, "seconds": round(seconds, 1),
               "epochs": result.epochs}
    print(json.dumps(summary))
    return summary
