"""The ``albert`` command line: ``convert``, ``check``, ``info``, ``export``, ``train-spm``, ``pretrain-data``,
``pretrain`` and ``fill-mask``.

Examples::

    albert check                              # the small model shipped in the package, PyTorch vs TensorFlow
    albert check path/to/checkpoint --heads masked_lm --atol 1e-4
    albert convert albert_base/ out/ --to safetensors          # original TF1 -> Hugging Face PyTorch
    albert convert hf_dir/ out_tf/ --to hf-tf                  # model.safetensors -> tf_model.h5
    albert convert hf_dir/ out_tf1/ --to tf1                   # -> model.ckpt + albert_config.json
    albert info path/to/checkpoint
    albert export hf_dir/ out_onnx/ --format onnx              # also saved_model, tflite; then a parity table
    albert --quiet check                                       # every command: no progress or notes, only results

Exit codes (documented in ``docs/guarantees.rst``): 0 success; 1 a parity check failed; 2 bad input or usage (a
corrupt or mis-shaped checkpoint, a bad configuration, a destination that cannot be written, a wrong argument;
argparse's own usage errors exit 2 too); 3 an internal error (a bug: please report it, with the ``--debug``
traceback); 130 interrupted. Every error is one line on stderr, ``error: <what>``; ``--debug`` adds the traceback.

``python -m albert_cli`` is the same command. The backends (:mod:`albert_pt`, :mod:`albert_tf`) are imported only by
the commands that run models (``check``, ``export``, and ``convert``'s parity check), so ``albert info`` works with the
core alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
import warnings
from pathlib import Path

import albert_core
from albert_core.errors import AlbertError
from albert_core.filenames import DEFAULT_MODEL_DIR
from albert_core.heads import Head

from . import (export_command, fill_mask_command, finetune_command, predict_command, pretrain_command,
               pretraining_commands)
from .parity import print_parity


#: Exit codes of the ``albert`` command.
EXIT_OK = 0
EXIT_PARITY_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL_ERROR = 3
EXIT_INTERRUPTED = 130

_DEBUG_HELP = "show the full traceback of an error (for bug reports)"
_QUIET_HELP = "no progress bars, progress lines or notes; results and errors are still printed (default: off)"

_ATOL_RULE = "tolerance on max |a - b| per output, scaled by max(1, max |a|) of the reference output"
_CONVERT_ATOL_HELP = _ATOL_RULE + " (default: by the stored dtype, 1e-5 float32, 5e-3 float16, 5e-2 bfloat16)"
_CHECK_ATOL_HELP = _ATOL_RULE + " (default: 1e-5)"

#: ``--to`` also takes the names users type for the frameworks.
_TARGET_ALIASES = {"pt": "safetensors", "tf": "hf-tf"}


def _quiet_frameworks() -> None:
    """Keep TensorFlow's and absl's start-up lines out of the command's output (set before TensorFlow is imported)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    import logging

    logging.getLogger("absl").setLevel(logging.ERROR)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="albert", description="ALBERT checkpoint tools (albert-lite)",
        epilog="exit codes: 0 ok, 1 parity check failed, 2 bad input or usage, 3 internal error")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    parser.add_argument("--quiet", action="store_true", help=_QUIET_HELP)
    parser.add_argument("--version", action="version", version=f"albert-lite {albert_core.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    conv = sub.add_parser("convert", help="convert a checkpoint to another format and check parity",
                          description="Convert SRC (safetensors, pytorch_model.bin, tf_model.h5 or an original TF1 "
                                      "checkpoint; auto-detected) into the new directory DST, then compare the "
                                      "outputs of both on the same inputs. DST is written atomically.")
    conv.add_argument("src", help="checkpoint directory or weights file to read")
    conv.add_argument("dst", help="new (or empty) directory to write")
    conv.add_argument("--to", choices=("safetensors", "hf-tf", "tf1", *_TARGET_ALIASES), default="safetensors",
                      help="target format: model.safetensors (PyTorch layout; also 'pt'; the default), Hugging "
                           "Face tf_model.h5 ('hf-tf' or 'tf'), or an original google-research TF1 checkpoint")
    conv.add_argument("--head", choices=[h.value for h in Head], default=None,
                      help="model head (default: from config.json's architectures, else from the tensors)")
    conv.add_argument("--dtype", choices=("float32", "float16", "bfloat16"), default=None,
                      help="store the weights in this dtype (default: as read, float32 for most checkpoints)")
    conv.add_argument("--atol", type=float, default=None, help=_CONVERT_ATOL_HELP)
    conv.add_argument("--shard-size", default=None, help="shard safetensors output, e.g. 500MB or 2GB")
    conv.add_argument("--allow-partial", action="store_true",
                      help="write even when tensors are missing, unexpected or unmapped (they are reported)")
    conv.add_argument("--no-check", action="store_true", help="skip the parity check")

    chk = sub.add_parser("check", help="load a checkpoint in PyTorch and TensorFlow and compare their outputs",
                         description="Load DIR (default: the small model shipped in the package) in both frameworks "
                                     "and print a parity table for every head the checkpoint supports.")
    chk.add_argument("dir", nargs="?", default=None,
                     help="checkpoint directory (default: the small model shipped with albert-lite)")
    chk.add_argument("--heads", nargs="+", choices=[h.value for h in Head], default=None,
                     help="heads to check (default: every head whose tensors the checkpoint holds)")
    chk.add_argument("--atol", type=float, default=1e-5, help=_CHECK_ATOL_HELP)

    info = sub.add_parser("info", help="summarise a checkpoint: format, configuration, parameters per part")
    info.add_argument("dir", nargs="?", default=None,
                      help="checkpoint directory (default: the small model shipped with albert-lite)")
    info.set_defaults(run=cmd_info)
    conv.set_defaults(run=cmd_convert)
    chk.set_defaults(run=cmd_check)

    pretraining_commands.add_commands(sub)
    pretrain_command.add_commands(sub)
    fill_mask_command.add_commands(sub)
    predict_command.register(sub)
    finetune_command.register(sub)
    export_command.add_commands(sub)
    for command in sub.choices.values():  # ``albert convert ... --debug`` works as well as ``albert --debug convert``
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP)
        own = [action for action in command._actions if "--quiet" in action.option_strings]
        for action in own:  # ``albert --quiet pretrain ...`` must not be reset by the command's own default
            action.default = argparse.SUPPRESS
        if not own:
            command.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help=_QUIET_HELP)
    return parser


def cmd_convert(args: argparse.Namespace) -> int:
    from .convert import ParityError, convert

    try:
        args.to = _TARGET_ALIASES.get(args.to, args.to)
        result = convert(args.src, args.dst, to=args.to, head=args.head, dtype=args.dtype, atol=args.atol,
                         shard_size=args.shard_size, allow_partial=args.allow_partial, check=not args.no_check,
                         progress=not args.quiet, log=_NullStream() if args.quiet else None)
    except ParityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PARITY_FAILURE
    if not args.quiet:
        for note in result.notes:
            print(f"note: {note}")
    print(f"converted {args.src} ({result.source_format}, head {result.head.value}) -> {args.dst} ({args.to})")
    if result.parity is not None:
        print_parity(result.parity)
    return 0


class _NullStream:
    """A text stream for ``--quiet``: drops progress and note lines, passes warnings on to stderr."""

    def write(self, text: str) -> int:
        if text.startswith("warning:"):
            sys.stderr.write(text)
        return len(text)

    def flush(self) -> None:
        pass


def cmd_check(args: argparse.Namespace) -> int:
    from albert_core.checkpoints import read_checkpoint
    from albert_core.config import AlbertConfig

    from .convert import supported_heads
    from .parity import check_directory

    directory = Path(args.dir) if args.dir else DEFAULT_MODEL_DIR
    config = AlbertConfig.from_pretrained(directory)
    contents = read_checkpoint(directory, config)
    supported = supported_heads(contents.state, config)
    del contents
    heads = [Head(h) for h in args.heads] if args.heads else supported
    lacking = [h.value for h in heads if h not in supported]
    if lacking:
        # comparing two randomly initialised heads would report a bogus parity result
        print(f"error: {directory} has no complete {', '.join(lacking)} head (it holds "
              f"{', '.join(h.value for h in supported) or 'no complete head'})", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not heads:
        print(f"error: {directory} supports no head completely", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not args.quiet:
        print(f"checking {directory}: heads {', '.join(h.value for h in heads)}; PyTorch (reference) vs TensorFlow")
    report = check_directory(directory, heads, atol=args.atol, config=config)
    print_parity(report)
    return EXIT_OK if report.ok else EXIT_PARITY_FAILURE


def cmd_info(args: argparse.Namespace) -> int:
    import numpy as np

    from albert_core.checkpoints import read_checkpoint_for_model

    from .convert import detect_head, supported_heads

    directory = Path(args.dir) if args.dir else DEFAULT_MODEL_DIR
    contents, config = read_checkpoint_for_model(directory)
    state, path = contents.state, contents.path
    print(f"checkpoint: {path}")
    print(f"format:     {contents.source_format}")
    keys = ("vocab_size", "embedding_size", "hidden_size", "num_hidden_layers", "num_hidden_groups",
            "inner_group_num", "num_attention_heads", "intermediate_size", "hidden_act", "max_position_embeddings",
            "position_embedding_type", "num_labels")
    for key in keys:
        print(f"  {key:<24} {getattr(config, key)}")
    parts: dict[str, int] = {}
    for name, array in state.items():
        if name.startswith("albert.embeddings."):
            part = "embeddings"
        elif name.startswith("albert.encoder.embedding_hidden_mapping_in"):
            part = "embedding projection"
        elif name.startswith("albert.encoder."):
            part = "encoder (shared layers)"
        elif name.startswith("albert.pooler"):
            part = "pooler"
        else:
            part = "head: " + name.split(".")[0]
        parts[part] = parts.get(part, 0) + int(np.prod(np.shape(array)))
    total = sum(parts.values())
    print("parameters:")
    for part, count in parts.items():
        print(f"  {part:<24} {count:>12,}")
    print(f"  {'total':<24} {total:>12,}")
    print(f"head (detected): {detect_head(state, config, directory if directory.is_dir() else path.parent).value}")
    print(f"heads supported: {', '.join(h.value for h in supported_heads(state, config))}")
    if contents.unmapped:
        print(f"unmapped tensors: {', '.join(contents.unmapped)}")
    for note in contents.notes:
        print(f"note: {note}")
    return 0


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        text = f"{exc.strerror}: {exc.filename}"
    return text or type(exc).__name__


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {' '.join(str(message).split())}", file=sys.stderr)


def exit_code_of(exc: BaseException) -> int:
    """The exit code for an exception that ended a command (see the module docstring)."""
    from .convert import ParityError

    if isinstance(exc, ParityError):
        return EXIT_PARITY_FAILURE
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, (AlbertError, OSError)):  # OSError: a missing, unreadable or unwritable file
        return EXIT_BAD_INPUT
    return EXIT_INTERNAL_ERROR


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``albert`` console script; returns the exit status (see the module docstring)."""
    _quiet_frameworks()
    args = build_parser().parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    args.quiet = bool(getattr(args, "quiet", False))
    try:
        with warnings.catch_warnings():
            if not debug:  # one line per warning, not the source line that issued it
                warnings.showwarning = _show_warning
            return args.run(args)
    except (Exception, KeyboardInterrupt) as exc:
        code = exit_code_of(exc)
        if debug:
            traceback.print_exc()
        message = "interrupted" if code == EXIT_INTERRUPTED else _one_line(exc)
        if code == EXIT_INTERNAL_ERROR:
            message = (f"internal error ({type(exc).__name__}): {message}; rerun with --debug for the traceback "
                       "and please report it")
        print(f"error: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
