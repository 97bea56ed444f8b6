"""``albert pretrain``: pre-train ALBERT (MLM + SOP) with the PyTorch or TensorFlow backend.

Examples::

    albert pretrain --backend pt --data data/ --heldout heldout/ --config albert-base-v2 --out run/ \\
        --batch-size 256 --accumulation-steps 8 --total-steps 10000 --warmup-steps 500
    torchrun --nproc_per_node 4 -m albert_cli pretrain --backend pt --data data/ --config cfg.json --out run/
    albert pretrain --backend tf --data data/ --config cfg.json --out run/ --resume run/checkpoint-2000

Under ``torchrun`` the same command runs on every rank; each reads its slice of every global batch and rank 0 writes
the checkpoints. Re-running a command with ``--resume auto`` (the default) continues from the latest checkpoint in
``--out``, written by either backend. :func:`add_commands` adds the command to an ``argparse`` sub-parser set; the
backend is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import sys

from albert_core.errors import AlbertError
from albert_core.training import TRAINING_GEMMS, TrainingConfig

_DEFAULTS = TrainingConfig(data="-", out="-", model_config="-")


def add_commands(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add ``pretrain`` to ``subparsers`` (from ``parser.add_subparsers()``).

    >>> parser = argparse.ArgumentParser(prog="albert")
    >>> add_commands(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["pretrain", "--data", "d", "--config", "albert-base-v2", "--out", "o"])
    >>> args.backend, args.optimizer, args.batch_size, args.resume, args.run.__name__
    ('pt', 'lamb', 4096, 'auto', 'run_pretrain')
    """
    d = _DEFAULTS
    parser = subparsers.add_parser(
        "pretrain", help="pre-train ALBERT (masked LM + sentence order) with PyTorch or TensorFlow",
        description="Pre-train AlbertForPreTraining on data built by `albert pretrain-data`, writing checkpoints "
                    "OUT/checkpoint-STEP (model.safetensors, optimizer.safetensors, trainer_state.json), "
                    "OUT/history.csv and OUT/history.png. Optimisation defaults are ALBERT's recipe (LAMB, lr "
                    "0.00176, 3125 warm-up steps, 125000 updates, batch 4096). Under torchrun every rank runs this "
                    "same command.")
    parser.add_argument("--backend", choices=("pt", "tf"), default=d.backend,
                        help=f"pt (PyTorch, DDP/FSDP under torchrun) or tf (Keras, tf.distribute) (default: "
                             f"{d.backend})")
    parser.add_argument("--data", required=True, metavar="DIR", help="training data directory (index.json)")
    parser.add_argument("--config", required=True, metavar="CONFIG",
                        help="model configuration: a config.json file, a checkpoint directory or a preset name "
                             "such as albert-base-v2 (ignored when resuming: the checkpoint's config is used)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory for checkpoints and history")
    parser.add_argument("--heldout", default=None, metavar="DIR",
                        help="held-out data directory for evaluation (default: no evaluation)")
    parser.add_argument("--optimizer", choices=("lamb", "adamw"), default=d.optimizer,
                        help=f"LAMB or AdamW, both as ALBERT defines them (default: {d.optimizer})")
    parser.add_argument("--learning-rate", type=float, default=d.learning_rate,
                        help=f"peak learning rate (default: {d.learning_rate})")
    parser.add_argument("--warmup-steps", type=int, default=d.warmup_steps,
                        help=f"linear warm-up updates (default: {d.warmup_steps})")
    parser.add_argument("--total-steps", type=int, default=d.total_steps,
                        help=f"updates in all; the learning rate decays linearly to 0 at the end "
                             f"(default: {d.total_steps})")
    parser.add_argument("--batch-size", type=int, default=d.global_batch_size,
                        help=f"global batch per update, over all workers and accumulation steps "
                             f"(default: {d.global_batch_size})")
    parser.add_argument("--accumulation-steps", type=int, default=d.accumulation_steps,
                        help=f"micro-batches per update on each worker (default: {d.accumulation_steps})")
    parser.add_argument("--weight-decay", type=float, default=d.weight_decay,
                        help=f"decoupled weight decay, not applied to LayerNorm and biases "
                             f"(default: {d.weight_decay})")
    parser.add_argument("--clip-norm", type=float, default=d.clip_norm,
                        help=f"clip gradients to this global norm; 0 disables clipping (default: {d.clip_norm})")
    parser.add_argument("--eval-every", type=int, default=d.eval_every,
                        help=f"evaluate on --heldout every N updates and at the end; 0: only at the end "
                             f"(default: {d.eval_every})")
    parser.add_argument("--max-eval-examples", type=int, default=d.max_eval_examples,
                        help=f"held-out examples evaluated (default: {d.max_eval_examples})")
    parser.add_argument("--save-every", type=int, default=d.save_every,
                        help=f"write a checkpoint every N updates and at the end; 0: only at the end "
                             f"(default: {d.save_every})")
    parser.add_argument("--keep-checkpoints", type=int, default=d.keep_checkpoints,
                        help=f"checkpoints kept in OUT, newest first (default: {d.keep_checkpoints})")
    parser.add_argument("--seed", type=int, default=d.seed,
                        help=f"seed of the initial weights, data order and dropout (default: {d.seed})")
    parser.add_argument("--bf16", action="store_true",
                        help="bfloat16 mixed precision; refused where the hardware lacks native bfloat16 "
                             "(default: off, float32)")
    parser.add_argument("--gemm", choices=TRAINING_GEMMS, default="default",
                        help="PyTorch's GEMM kernel for training: default, onednn (packed weights), or auto (the "
                             "faster of the two per linear shape, measured on this machine) (default: default)")
    parser.add_argument("--fsdp", action="store_true",
                        help="PyTorch only: shard parameters and optimizer state over the torchrun workers "
                             "(FullyShardedDataParallel) instead of replicating them (default: off, DDP)")
    parser.add_argument("--resume", default=d.resume, metavar="auto|PATH|none",
                        help="auto: continue from the latest checkpoint in --out if any; PATH: from that "
                             "checkpoint (either backend's); none: start afresh (default: auto)")
    parser.add_argument("--log-every", type=int, default=d.log_every,
                        help=f"history rows every N updates (default: {d.log_every})")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or messages (default: off)")
    parser.set_defaults(run=run_pretrain)


def config_from_args(args: argparse.Namespace) -> TrainingConfig:
    """The validated :class:`~albert_core.training.TrainingConfig` the parsed arguments describe."""
    config = TrainingConfig(
        data=args.data, out=args.out, model_config=args.config, heldout=args.heldout, backend=args.backend,
        optimizer=args.optimizer, learning_rate=args.learning_rate, warmup_steps=args.warmup_steps,
        total_steps=args.total_steps, global_batch_size=args.batch_size, accumulation_steps=args.accumulation_steps,
        weight_decay=args.weight_decay, clip_norm=args.clip_norm if args.clip_norm else None,
        eval_every=args.eval_every, save_every=args.save_every, seed=args.seed, bf16=args.bf16,
        max_eval_examples=args.max_eval_examples, resume=args.resume, keep_checkpoints=args.keep_checkpoints,
        log_every=args.log_every, quiet=args.quiet, fsdp=args.fsdp, gemm=args.gemm)
    return config.validate()


def run_pretrain(args: argparse.Namespace) -> int:
    """Run ``albert pretrain``; returns 0 on success, 2 on bad input (settings, data, checkpoint)."""
    try:
        config = config_from_args(args)
        if config.backend == "pt":
            from albert_pt.pretraining import pretrain
        else:
            from albert_tf.pretraining import pretrain
        result = pretrain(config)
    except (AlbertError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if result.get("checkpoint") is not None:  # the result: printed with --quiet too
        evaluation = result.get("eval") or {}
        summary = f"step {result['step']}: loss {result['final_loss']:.4f}"
        if evaluation:
            summary += (f", eval MLM accuracy {evaluation['eval_mlm_accuracy']:.4f}, "
                        f"SOP accuracy {evaluation['eval_sop_accuracy']:.4f}")
        print(f"{summary}; checkpoint {result['checkpoint']}")
    return 0


__all__ = ["add_commands", "config_from_args", "run_pretrain"]
