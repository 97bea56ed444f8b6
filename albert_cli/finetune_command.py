"""``albert finetune TASK``: fine-tune a checkpoint on a task with the PyTorch loop or Keras ``fit``.

Examples::

    albert finetune classification --model path/to/pretrained --train train.jsonl --eval dev.jsonl --out run/
    albert finetune ner --model path/to/pretrained --train train.conll --eval dev.conll --out run/ --backend tf
    albert finetune squad --model path/to/pretrained --train train-v2.0.json --eval dev-v2.0.json --out run/ \\
        --max-length 384 --doc-stride 128 --epochs 2 --lr 3e-5

TASK is ``text-classification`` (``classification``, ``regression``), ``token-classification`` (``ner``),
``question-answering`` (``qa``, ``squad``) or ``multiple-choice`` (``mc``, ``race``). The data layouts are those of
:mod:`albert_core.finetuning.data`. The best epoch's model and tokenizer go to ``OUT/best``; ``OUT/history.csv``,
``OUT/metrics.json`` and ``OUT/history.png`` hold the run. ``register`` adds the command to an ``argparse``
sub-parser set; the backend is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from albert_core.errors import AlbertError
from albert_core.filenames import DEFAULT_MODEL_DIR
from albert_core.finetuning import FinetuneConfig
from albert_core.finetuning.config import TASK_ALIASES, TASK_HEADS
from albert_core.training import TRAINING_GEMMS

_DEFAULTS = FinetuneConfig(task="classification", model="-", out="-")


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add ``finetune`` to ``subparsers`` (from ``parser.add_subparsers()``).

    >>> parser = argparse.ArgumentParser(prog="albert")
    >>> register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["finetune", "ner", "--train", "t.conll", "--out", "o", "--backend", "tf"])
    >>> args.task, args.backend, args.epochs, args.run.__name__
    ('ner', 'tf', 3, 'run_finetune')
    """
    d = _DEFAULTS
    parser = subparsers.add_parser(
        "finetune", help="fine-tune a checkpoint on classification, NER, QA or multiple choice",
        description="Fine-tune MODEL on TASK with the PyTorch loop or Keras fit: AdamW, linear warm-up then decay, "
                    "gradient clipping, the task metric on --eval after every epoch, the best epoch's model and "
                    "tokenizer in OUT/best, OUT/history.csv, OUT/metrics.json and OUT/history.png. Data: JSON lines, "
                    "JSON (SQuAD), CSV/TSV (GLUE) or CoNLL files.")
    parser.add_argument("task", metavar="TASK",
                        help=f"one of {', '.join(TASK_HEADS)} (or {', '.join(TASK_ALIASES)})")
    parser.add_argument("--model", default=str(DEFAULT_MODEL_DIR), metavar="DIR",
                        help="checkpoint directory with its tokenizer (the default is the small model shipped "
                             "with albert-lite)")
    parser.add_argument("--train", required=True, metavar="FILE", help="training data")
    parser.add_argument("--eval", default=None, metavar="FILE",
                        help="evaluation data (default: none; the last epoch is then saved as best)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument("--backend", choices=("pt", "tf"), default=d.backend,
                        help=f"pt (PyTorch loop) or tf (Keras fit) (default: {d.backend})")
    parser.add_argument("--epochs", type=int, default=d.epochs, help=f"default: {d.epochs}")
    parser.add_argument("--lr", type=float, default=d.learning_rate,
                        help=f"peak learning rate (default: {d.learning_rate})")
    parser.add_argument("--batch-size", type=int, default=d.batch_size, help=f"default: {d.batch_size}")
    parser.add_argument("--max-length", type=int, default=d.max_length,
                        help=f"tokens per row (default: {d.max_length})")
    parser.add_argument("--seed", type=int, default=d.seed, help=f"data order and dropout seed (default: {d.seed})")
    parser.add_argument("--warmup-ratio", type=float, default=d.warmup_ratio,
                        help=f"share of the updates spent warming up (default: {d.warmup_ratio})")
    parser.add_argument("--weight-decay", type=float, default=d.weight_decay, help=f"default: {d.weight_decay}")
    parser.add_argument("--clip-norm", type=float, default=d.clip_norm,
                        help=f"global gradient-norm clipping; 0 disables it (default: {d.clip_norm})")
    parser.add_argument("--labels", nargs="+", default=None, metavar="LABEL",
                        help="label names in id order (default: from the training data; needed for integer NER "
                             "tags)")
    parser.add_argument("--metric", default=None,
                        help="the metric that picks the best epoch (default: accuracy; f1 for NER and QA)")
    parser.add_argument("--doc-stride", type=int, default=d.doc_stride,
                        help=f"QA: tokens shared by consecutive context windows (default: {d.doc_stride})")
    parser.add_argument("--max-query-length", type=int, default=d.max_query_length,
                        help=f"QA: longest question in tokens (default: {d.max_query_length})")
    parser.add_argument("--label-all-tokens", action="store_true",
                        help="NER: label every sub-word, not only the first")
    parser.add_argument("--classifier-dropout", type=float, default=None,
                        help="override the head's dropout (default: the checkpoint's)")
    parser.add_argument("--max-train-examples", type=int, default=None, help="use only the first N")
    parser.add_argument("--max-eval-examples", type=int, default=None, help="use only the first N")
    parser.add_argument("--bf16", action="store_true",
                        help="bfloat16 mixed precision (float32 weights, optimizer state and loss); refused where the "
                             "hardware lacks native bfloat16 (default: off, float32)")
    parser.add_argument("--gemm", choices=TRAINING_GEMMS, default="default",
                        help="PyTorch's GEMM kernel for training: default, onednn (packed weights), or auto (the "
                             "faster of the two per linear shape, measured on this machine) (default: default)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    parser.set_defaults(run=run_finetune)


#: The name :mod:`albert_cli.cli` calls for the other commands.
add_commands = register


def config_from_args(args: argparse.Namespace) -> FinetuneConfig:
    """The validated :class:`~albert_core.finetuning.FinetuneConfig` the parsed arguments describe."""
    config = FinetuneConfig(
        task=args.task, model=args.model, out=args.out, train=args.train, eval=args.eval, backend=args.backend,
        epochs=args.epochs, learning_rate=args.lr, batch_size=args.batch_size, max_length=args.max_length,
        seed=args.seed, warmup_ratio=args.warmup_ratio, weight_decay=args.weight_decay,
        clip_norm=args.clip_norm if args.clip_norm else None, labels=args.labels, metric=args.metric,
        doc_stride=args.doc_stride, max_query_length=args.max_query_length, label_all_tokens=args.label_all_tokens,
        classifier_dropout=args.classifier_dropout, max_train_examples=args.max_train_examples,
        max_eval_examples=args.max_eval_examples, bf16=args.bf16, quiet=args.quiet, gemm=args.gemm)
    return config.validate()


def run_finetune(args: argparse.Namespace) -> int:
    """Run ``albert finetune``; returns 0 on success, 2 on bad input (settings, data, checkpoint)."""
    try:
        config = config_from_args(args)
        if config.backend == "pt":
            from albert_pt.finetune import finetune
        else:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
            from albert_tf.finetune import finetune
        result = finetune(config)
    except (AlbertError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = {"metric": result.metric, "best": result.best_metric, "best_epoch": result.best_epoch,
               "steps": result.steps, "best_dir": str(result.best_dir) if result.best_dir else None,
               "bf16": result.bf16}
    print(json.dumps(summary))
    return 0


__all__ = ["add_commands", "config_from_args", "register", "run_finetune"]
