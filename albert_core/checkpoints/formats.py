"""The table of checkpoint formats, and how a path is matched against it.

One row per format says how it is recognised, which function reads it (every reader takes
``(path, config, progress)`` and returns a :class:`~albert_core.checkpoints.CheckpointContents`), which function
writes its weights file, and what optional dependency it needs. There is no registration: adding a format is a row.

A checkpoint *directory* (the Hugging Face layout albert-lite saves, see :mod:`albert_core.checkpoints.directory`) is
not a format of its own: it is resolved to the first row, in table order, whose files it holds.

>>> [fmt.name for fmt in FORMATS]
['safetensors-sharded', 'safetensors', 'pytorch-bin', 'hf-tf', 'tf1']
>>> format_named("hf-tf").requires, format_named("tf1").framework
('h5py', 'tf')
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..config import AlbertConfig
from ..errors import CheckpointError
from ..filenames import HF_TF_WEIGHTS, PYTORCH_WEIGHTS, SAFETENSORS_INDEX, SAFETENSORS_WEIGHTS, TF1_INDEX_SUFFIX
from .contents import CheckpointContents, Progress
from .hf_tf import read_hf_tf_checkpoint, write_hf_tf
from .safetensors import (
    read_safetensors_checkpoint,
    read_sharded_safetensors_checkpoint,
    write_safetensors,
    write_sharded_safetensors,
)
from .tf1 import read_tf1_checkpoint, write_tf1
from .torch_bin import read_pytorch_bin_checkpoint

Reader = Callable[[Path, AlbertConfig | None, Progress | None], CheckpointContents]


@dataclass(frozen=True)
class CheckpointFormat:
    """One checkpoint format: how it is recognised, read and written."""

    name: str  # what ``CheckpointContents.source_format`` and ``albert info`` call it
    description: str
    directory_files: tuple[str, ...]  # glob patterns looked for inside a directory
    file_suffixes: tuple[str, ...]  # endings of a weights file named directly
    reader: Reader
    writer: Callable[..., object] | None  # writes the weights file(s); None: read only
    requires: str | None  # the optional package the reader and writer import, None: the core suffices
    framework: str  # "pt" or "tf": the framework whose models natively use this format
    prefix_files: bool = False  # stored as <prefix>.index + <prefix>.data-*: the reader takes the prefix


#: The checkpoint formats, in the order a directory is searched.
FORMATS: tuple[CheckpointFormat, ...] = (
    CheckpointFormat("safetensors-sharded", "Hugging Face / albert-lite safetensors shards listed in an index",
                     (SAFETENSORS_INDEX,), (".safetensors.index.json",), read_sharded_safetensors_checkpoint,
                     write_sharded_safetensors, requires=None, framework="pt"),
    CheckpointFormat("safetensors", "Hugging Face / albert-lite model.safetensors",
                     (SAFETENSORS_WEIGHTS,), (".safetensors",), read_safetensors_checkpoint, write_safetensors,
                     requires=None, framework="pt"),
    CheckpointFormat("pytorch-bin", "Hugging Face pytorch_model.bin (read only, loaded with weights_only=True)",
                     (PYTORCH_WEIGHTS,), (".bin", ".pt", ".pth"), read_pytorch_bin_checkpoint, None,
                     requires="torch", framework="pt"),
    CheckpointFormat("hf-tf", "Hugging Face TensorFlow tf_model.h5",
                     (HF_TF_WEIGHTS,), (".h5", ".hdf5"), read_hf_tf_checkpoint, write_hf_tf,
                     requires="h5py", framework="tf"),
    CheckpointFormat("tf1", "original google-research TF1 checkpoint (model.ckpt-*.index / .data-*)",
                     ("*" + TF1_INDEX_SUFFIX,), (TF1_INDEX_SUFFIX,), read_tf1_checkpoint, write_tf1,
                     requires="tensorflow", framework="tf", prefix_files=True),
)


def format_named(name: str) -> CheckpointFormat:
    """The row called ``name``."""
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    raise CheckpointError(f"unknown checkpoint format {name!r}; expected one of {[f.name for f in FORMATS]}")


def _checkpoint_step(path: Path) -> int:
    digits = path.name.rsplit("-", 1)[-1].split(".")[0]
    return int(digits) if digits.isdigit() else -1


def _weights_path(fmt: CheckpointFormat, file: Path) -> Path:
    return file.with_suffix("") if fmt.prefix_files else file


def find_weights(path: str | os.PathLike[str]) -> tuple[CheckpointFormat, Path]:
    """Locate the weights of a checkpoint directory, weights file or TF1 prefix, and name their format.

    In a directory the table's order decides (sharded safetensors, ``model.safetensors``, ``pytorch_model.bin``,
    ``tf_model.h5``, then the TF1 checkpoint with the highest step). For TF1 the returned path is the prefix.
    """
    path = Path(path)
    if path.is_dir():
        for fmt in FORMATS:
            for pattern in fmt.directory_files:
                matches = sorted(path.glob(pattern), key=_checkpoint_step)
                if matches:
                    return fmt, _weights_path(fmt, matches[-1])
        raise CheckpointError(
            f"{path} holds no weights: expected {SAFETENSORS_WEIGHTS}, {PYTORCH_WEIGHTS}, {HF_TF_WEIGHTS} or a TF1 "
            "model.ckpt-*.index"
        )
    if path.is_file():
        for fmt in FORMATS:
            if path.name.endswith(fmt.file_suffixes):
                return fmt, _weights_path(fmt, path)
        raise CheckpointError(f"cannot tell the checkpoint format of {path} from its name")
    prefix_formats = [fmt for fmt in FORMATS if fmt.prefix_files]
    for fmt in prefix_formats:  # a prefix such as model.ckpt-10000, whose files carry suffixes
        if any(Path(str(path) + suffix).is_file() for suffix in fmt.file_suffixes):
            return fmt, path
    raise FileNotFoundError(f"no checkpoint at {path}")


__all__ = ["FORMATS", "CheckpointFormat", "Reader", "find_weights", "format_named"]
