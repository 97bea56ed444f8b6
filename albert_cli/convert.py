"""Checkpoint conversion between every supported format, with a numerical parity check of the result.

:func:`convert` reads a checkpoint in any format (through :func:`albert_core.checkpoints.read_checkpoint`, the path
every reader takes, so ``albert info`` and ``albert convert`` describe a checkpoint alike), checks its
tensors against the model the configuration describes, writes the target format into a staging directory beside the
destination, checks parity there, and only then renames the staging directory to the destination: an error or a
crash never leaves a half-written checkpoint behind.

The destination is checked before any work (:func:`check_destination`: not a symlink, not the working directory, new
or empty, a writable parent), and the staging directory is created first, so a read-only parent fails at once. A
staging directory is ``.DST.staging-<pid>-<random>`` with a marker file naming the process; those that killed runs
left behind are removed at the next conversion to the same destination when provably stale (this host, process
gone), and reported otherwise (:func:`albert_core.io_utils.clean_stale_staging`).

Targets: ``safetensors`` (Hugging Face PyTorch, optionally sharded), ``hf-tf`` (Hugging Face ``tf_model.h5``) and
``tf1`` (original google-research checkpoint with ``albert_config.json``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, TextIO

import numpy as np

from albert_core.checkpoints import (
    SAVE_DTYPES,
    find_weights,
    initial_state,
    non_finite_tensors,
    read_checkpoint,
    save_config_for_head,
    save_hf_tf_checkpoint,
    save_safetensors_checkpoint,
    save_tf1_checkpoint,
)
from albert_core.config import AlbertConfig
from albert_core.errors import CheckpointError, DestinationError, UsageError
from albert_core.filenames import (
    ORIGINAL_SENTENCEPIECE_MODEL,
    SENTENCEPIECE_MODEL,
    SENTENCEPIECE_MODELS,
    TOKENIZER_OPTION_FILES,
)
from albert_core.heads import HEADS, Head, head_from_architectures, head_from_tensor_names
from albert_core.io_utils import STAGING_MARKER, clean_stale_staging, make_staging_directory
from albert_core.loading import saved_architectures
from albert_core.weights import canonical_specs

#: The formats ``convert`` writes (names of rows of :data:`albert_core.checkpoints.FORMATS`; ``safetensors`` is
#: written sharded when a shard size is given).
TARGETS = ("safetensors", "hf-tf", "tf1")


# ---------------------------------------------------------------------------------------------------------------------
# Progress


class ProgressPrinter:
    """A small progress bar on a text stream (stderr by default): ``label [#####.....] 12/40 name``.

    On a terminal the line is redrawn in place; otherwise a line is printed about every 10 %.
    """

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self._last_decile = -1
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._start = time.monotonic()

    def __call__(self, done: int, total: int, name: str = "") -> None:
        total = max(total, 1)
        frac = min(done / total, 1.0)
        filled = int(frac * self.width)
        line = f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} {name}"
        if self._tty:
            self.stream.write("\r" + line[:120].ljust(120))
            if done >= total:
                self.stream.write(f"  ({time.monotonic() - self._start:.1f}s)\n")
        else:
            decile = int(frac * 10)
            if decile != self._last_decile or done >= total:
                self._last_decile = decile
                self.stream.write(line + "\n")
        self.stream.flush()


def _bytes_progress(printer: ProgressPrinter | None) -> Callable[[int, int], None] | None:
    if printer is None:
        return None
    return lambda done, total: printer(done, total, "bytes")


# ---------------------------------------------------------------------------------------------------------------------
# Head detection and validation


def parse_size(text: str | int | None) -> int | None:
    """``"500MB"`` -> 500_000_000; also ``KB``, ``GB``, ``KiB``, ``MiB``, ``GiB`` and plain byte counts.

    >>> parse_size("2GB"), parse_size("10MiB"), parse_size(1234), parse_size(None)
    (2000000000, 10485760, 1234, None)
    """
    if text is None or isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*", str(text), flags=re.IGNORECASE)
    if not match:
        raise UsageError(f"cannot read the size {text!r}; write for example 500MB or 2GB")
    unit = (match.group(2) or "B").upper()
    scale = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}[unit]
    return int(float(match.group(1)) * scale)


def supported_heads(state: Mapping[str, np.ndarray], config: AlbertConfig) -> list[Head]:
    """The heads whose every tensor (with the right shape) is in ``state``.

    A pretraining checkpoint supports ``base``, ``pretraining`` and ``masked_lm``; a classifier checkpoint supports
    the classification heads its ``classifier`` shape fits, and ``base``.
    """
    heads = []
    for head in HEADS:
        specs = canonical_specs(config, head)
        if all(name in state and tuple(np.shape(state[name])) == spec.shape for name, spec in specs.items()):
            heads.append(head)
    return heads


def detect_head(state: Mapping[str, np.ndarray], config: AlbertConfig, directory: Path | None = None) -> Head:
    """The head a checkpoint was saved for: ``architectures`` in ``config.json`` when given, else its tensors
    (:func:`~albert_core.heads.head_from_tensor_names`)."""
    if directory is not None:
        head = head_from_architectures(saved_architectures(directory))
        if head is not None:
            return head
    return head_from_tensor_names(state)


@dataclass
class StateCheck:
    """How a checkpoint's tensors compare with the model its configuration describes."""

    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mis_shaped: list[str] = field(default_factory=list)
    wrong_dtype: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether every tensor of the model is present, expected, of the right shape and a float."""
        return not (self.missing or self.unexpected or self.mis_shaped or self.wrong_dtype)

    def describe(self) -> str:
        """The problems by kind (missing, unexpected, mis-shaped, wrong dtype), each with the tensor names."""
        parts = []
        for what, names in (("missing", self.missing), ("unexpected", self.unexpected),
                            ("mis-shaped", self.mis_shaped), ("wrong dtype", self.wrong_dtype)):
            if names:
                parts.append(f"{what} ({len(names)}): {', '.join(names)}")
        return "; ".join(parts) or "every tensor present with the expected shape"


def check_state(state: Mapping[str, np.ndarray], config: AlbertConfig, head: Head | str,
                unmapped: list[str] | None = None) -> StateCheck:
    """Compare a canonical state with the tensors of ``head`` under ``config``.

    >>> from albert_core import AlbertConfig
    >>> cfg = AlbertConfig(vocab_size=10, embedding_size=4, hidden_size=8, num_hidden_layers=1,
    ...                    num_attention_heads=2, intermediate_size=8)
    >>> state = {n: np.zeros(s.shape, np.float32) for n, s in canonical_specs(cfg, "base").items()}
    >>> del state["albert.pooler.bias"]; state["extra.bias"] = np.zeros(2, np.float32)
    >>> check_state(state, cfg, "base").describe()
    'missing (1): albert.pooler.bias; unexpected (1): extra.bias'
    """
    specs = canonical_specs(config, head)
    result = StateCheck()
    for name, spec in specs.items():
        if name not in state:
            result.missing.append(name)
            continue
        array = state[name]
        if tuple(np.shape(array)) != spec.shape:
            result.mis_shaped.append(f"{name} (checkpoint {tuple(np.shape(array))}, config {spec.shape})")
        elif not np.issubdtype(np.asarray(array).dtype, np.floating):
            result.wrong_dtype.append(f"{name} ({np.asarray(array).dtype}, expected a float type)")
    result.unexpected = [name for name in state if name not in specs] + list(unmapped or [])
    return result


# ---------------------------------------------------------------------------------------------------------------------
# Conversion


@dataclass
class ConversionResult:
    """What :func:`convert` did."""

    destination: Path
    source_format: str
    target_format: str
    head: Head
    check: StateCheck
    notes: list[str] = field(default_factory=list)
    parity: object | None = None  # a ParityReport when the check ran

    @property
    def ok(self) -> bool:
        """Whether the parity check passed (``True`` when it was skipped with ``check=False``)."""
        return self.parity is None or bool(getattr(self.parity, "ok", False))


def _copy_tokenizer(source_dir: Path, staging: Path, target: str) -> list[str]:
    copied = []
    for name in SENTENCEPIECE_MODELS:
        if (source_dir / name).is_file():
            shutil.copyfile(source_dir / name, staging / SENTENCEPIECE_MODEL)
            copied.append(f"{name} -> {SENTENCEPIECE_MODEL}" if name != SENTENCEPIECE_MODEL else name)
            if target == "tf1":  # the original scripts look for their own name
                shutil.copyfile(source_dir / name, staging / ORIGINAL_SENTENCEPIECE_MODEL)
            break
    for name in TOKENIZER_OPTION_FILES:
        if (source_dir / name).is_file():
            shutil.copyfile(source_dir / name, staging / name)
            copied.append(name)
    return copied


def _write_target(staging: Path, state: Mapping[str, np.ndarray], config: AlbertConfig, head: Head, target: str,
                  dtype: str | None, shard_bytes: int | None, progress: ProgressPrinter | None) -> None:
    if target == "safetensors":
        save_safetensors_checkpoint(staging, state, config, head, dtype=dtype, progress=_bytes_progress(progress),
                                    max_shard_bytes=shard_bytes)
    elif target == "hf-tf":
        save_hf_tf_checkpoint(staging, state, config, head, dtype=dtype, progress=progress)
    elif target == "tf1":
        if dtype not in (None, "float32"):
            raise CheckpointError(f"tf1 checkpoints are written as float32; --dtype {dtype} is not supported")
        save_tf1_checkpoint(staging, state, config, progress=progress)
        # config.json as well: it keeps what albert_config.json cannot (labels, head)
        save_config_for_head(staging, config, head)
    else:
        raise CheckpointError(f"unknown target format {target!r}; choose one of {TARGETS}")


def check_destination(dst: Path) -> None:
    """Refuse a destination that cannot be published to safely, before any work is done.

    ``dst`` must not be a symlink (the rename would replace the link, not fill its target), not the working
    directory or one of its parents, and either absent or an empty directory; its parent must be a writable
    directory (created when missing). Raises :class:`~albert_core.errors.DestinationError` naming the problem.
    """
    if dst.is_symlink():
        raise DestinationError(f"{dst} is a symlink; give the real path of a new directory")
    absolute = Path(os.path.abspath(dst))
    with contextlib.suppress(OSError):  # no working directory: nothing to compare with
        cwd = Path(os.getcwd())
        if absolute == cwd or absolute in cwd.parents:
            raise DestinationError(f"{dst} is the working directory (or contains it); choose a new directory")
    if dst.exists():
        if not dst.is_dir():
            raise DestinationError(f"{dst} exists and is not a directory (a file is in the way)")
        if any(dst.iterdir()):
            raise DestinationError(f"{dst} already exists and is not an empty directory; choose a new destination")
    parent = absolute.parent
    for ancestor in (parent, *parent.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                raise DestinationError(f"{ancestor} is a file, so {dst} cannot be created")
            if not os.access(ancestor, os.W_OK | os.X_OK):
                raise DestinationError(f"{ancestor} is not writable, so {dst} cannot be created")
            break


def _stored_bytes(state: Mapping[str, np.ndarray], dtype: str | None) -> int:
    size = {None: None, "float32": 4, "float16": 2, "bfloat16": 2}[dtype]
    return sum(int(np.asarray(a).size) * (size or np.asarray(a).dtype.itemsize) for a in state.values())


def _check_free_space(dst: Path, needed: int) -> None:
    free = shutil.disk_usage(dst.parent).free
    if free < needed:
        raise DestinationError(f"{dst.parent} has {free:,} bytes free; the converted weights need about "
                               f"{needed:,}")


def _publish(staging: Path, dst: Path) -> None:
    (staging / STAGING_MARKER).unlink(missing_ok=True)
    try:
        os.rename(staging, dst)  # replaces an empty directory atomically; refuses a non-empty one
    except OSError as exc:
        raise DestinationError(f"cannot publish {dst}: {exc.strerror or exc} (something was written there during "
                               "the conversion)") from exc


def _load_config(directory: Path) -> AlbertConfig:
    try:
        return AlbertConfig.from_pretrained(directory)
    except FileNotFoundError as exc:
        raise CheckpointError(f"{directory} has no config.json or albert_config.json; the conversion needs one") \
            from exc


def convert(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    to: str = "safetensors",
    head: Head | str | None = None,
    dtype: str | None = None,
    atol: float | None = None,
    shard_size: str | int | None = None,
    allow_partial: bool = False,
    check: bool = True,
    log: TextIO | None = None,
    progress: bool = True,
) -> ConversionResult:
    """Convert the checkpoint at ``src`` to format ``to`` in the new directory ``dst`` and check parity.

    Raises :class:`~albert_core.CheckpointError` (and writes nothing at ``dst``) when tensors are missing, unexpected,
    unmapped, mis-shaped or of a non-float dtype (missing/unexpected/unmapped are allowed with ``allow_partial``), and
    when the parity check fails (``result.parity`` then names the outputs that are off; the checkpoint is not
    published); :class:`~albert_core.errors.DestinationError` for a destination that cannot be written (checked
    before any work). ``atol`` defaults to :data:`albert_cli.parity.DEFAULT_ATOL` for ``dtype``.

    With ``allow_partial``, the tensors the model needs and the source lacks are initialised once in numpy
    (:func:`albert_core.checkpoints.initial_state`, fixed seed), written into the result and reported, and the
    parity check loads the source with the same values, so it compares equal weights. Tensors holding NaN or
    infinities are reported by name.
    """
    log = log if log is not None else sys.stderr
    src, dst = Path(src), Path(dst)
    if to not in TARGETS:
        raise UsageError(f"unknown target format {to!r}; choose one of {TARGETS}")
    if dtype is not None and dtype not in SAVE_DTYPES:
        raise UsageError(f"unknown dtype {dtype!r}; choose one of {SAVE_DTYPES}")
    shard_bytes = parse_size(shard_size)
    check_destination(dst)
    source_dir = src if src.is_dir() else src.parent
    source_format, _ = find_weights(src)  # before any work: the source must be a checkpoint
    dst.parent.mkdir(parents=True, exist_ok=True)
    removed, left = clean_stale_staging(dst)
    for path in removed:
        print(f"note: removed {path}, the staging directory of an earlier conversion that did not finish", file=log)
    for report in left:
        print(f"warning: {report}", file=log)
    staging = make_staging_directory(dst)  # fails now, not after the conversion, when the parent is read-only
    try:
        return _convert_into(src, source_dir, dst, staging, source_format, to, head, dtype, atol, shard_bytes,
                             allow_partial, check, log, progress)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _convert_into(src: Path, source_dir: Path, dst: Path, staging: Path, source_format, to: str,
                  head: Head | str | None, dtype: str | None, atol: float | None, shard_bytes: int | None,
                  allow_partial: bool, check: bool, log: TextIO, progress: bool) -> ConversionResult:
    fmt = source_format.name
    config = _load_config(source_dir)
    reader_progress = ProgressPrinter(f"read {fmt}", log) if progress else None
    contents = read_checkpoint(src, config, progress=reader_progress)
    state = contents.state
    head = Head(head) if head is not None else detect_head(state, config, source_dir)
    for note in contents.notes:
        print(f"note: {note}", file=log)
    report = check_state(state, config, head, contents.unmapped)
    if report.mis_shaped or report.wrong_dtype:
        raise CheckpointError(f"{src} does not fit its configuration for head {head.value}: {report.describe()}")
    if not report.complete:
        message = f"{src} is not a complete {head.value} checkpoint: {report.describe()}"
        if not allow_partial:
            raise CheckpointError(message + " (pass --allow-partial to convert what is there)")
        print(f"warning: {message}; converting the rest (--allow-partial)", file=log)
    specs = canonical_specs(config, head)
    state = {name: state[name] for name in specs if name in state}
    result = ConversionResult(destination=dst, source_format=fmt, target_format=to, head=head, check=report,
                              notes=list(contents.notes))
    non_finite = non_finite_tensors(state)
    if non_finite:
        message = f"{len(non_finite)} tensor(s) hold NaN or infinite values: {', '.join(non_finite)}"
        print(f"warning: {message}", file=log)
        result.notes.append(message)
    filled = initial_state(config, head, report.missing) if report.missing else {}
    if filled:
        state.update(filled)
        message = (f"initialised {len(filled)} missing tensor(s) with the original truncated-normal initialiser "
                   f"(seed 0; the same values in both frameworks): {', '.join(filled)}")
        print(f"note: {message}", file=log)
        result.notes.append(message)
    _check_free_space(dst, _stored_bytes(state, dtype))
    writer_progress = ProgressPrinter(f"write {to}", log) if progress else None
    try:
        _write_target(staging, state, config, head, to, dtype, shard_bytes, writer_progress)
        copied = _copy_tokenizer(source_dir, staging, to)
    except OSError as exc:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        reason = "the disk is full" if full else (exc.strerror or str(exc))
        raise DestinationError(f"writing {dst} failed: {reason}; nothing was written at {dst}") from exc
    if copied:
        result.notes.append(f"tokenizer files copied: {', '.join(copied)}")
    del state, contents  # the parity check loads the models from disk
    if check:
        if atol is None:
            from .parity import DEFAULT_ATOL

            atol = DEFAULT_ATOL[dtype or "float32"]
        result.parity = parity_for_conversion(source_dir if src.is_dir() else src, fmt, staging, to, head,
                                              config, atol, fill=filled)
        if not result.parity.ok:
            # the caller reports success; a failure's table goes to the log before nothing is written
            print(result.parity.table(), file=log)
            raise ParityError(result)
    _publish(staging, dst)
    return result


class ParityError(CheckpointError):
    """The converted checkpoint does not compute what the source computes; ``result.parity`` has the table."""

    def __init__(self, result: ConversionResult) -> None:
        super().__init__(f"{result.parity.summary()}; nothing was written at {result.destination}")
        self.result = result


def parity_for_conversion(src: Path, src_fmt: str, dst: Path, to: str, head: Head, config: AlbertConfig,
                          atol: float, fill: Mapping[str, np.ndarray] | None = None):
    """Compare the source (in its own framework) with the result (in its framework, and in the other one when the
    two share a framework). ``fill``: tensors the source lacks, loaded into the source model over its own random
    initialisation (the values written into the result)."""
    from .parity import ParityReport, compare_outputs, framework_of_format, load_runner, probe_inputs

    src_fw = framework_of_format(src_fmt)
    dst_fw = framework_of_format(to)
    tokenizer_dir = dst if (dst / SENTENCEPIECE_MODEL).is_file() else None
    inputs = probe_inputs(config, head, tokenizer_dir)
    reference = load_runner(src_fw, src, head, config, fill=fill)(inputs)
    report = ParityReport(atol=atol)
    candidates = [dst_fw] if src_fw != dst_fw else [dst_fw, "tf" if dst_fw == "pt" else "pt"]
    for fw in candidates:
        outputs = load_runner(fw, dst, head, config)(inputs)
        report.extend(compare_outputs(reference, outputs, atol, label=f"{src_fmt}/{src_fw} vs {to}/{fw}"))
    return report


__all__ = [
    "ConversionResult",
    "ParityError",
    "ProgressPrinter",
    "StateCheck",
    "TARGETS",
    "check_destination",
    "check_state",
    "convert",
    "detect_head",
    "parse_size",
    "supported_heads",
]
