"""The one result type of every checkpoint reader."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..config import AlbertConfig

#: ``progress(done, total, name)``: called by readers and writers after each tensor.
Progress = Callable[[int, int, str], None]


@dataclass
class CheckpointContents:
    """A checkpoint read into canonical form, whatever format it was stored in.

    >>> contents = CheckpointContents(state={}, source_format="safetensors", path=Path("model.safetensors"))
    >>> contents.notes, contents.skipped, contents.unmapped, contents.config
    ([], [], [], None)
    """

    state: dict[str, np.ndarray]  # canonical names (see albert_core.weights), PyTorch layout
    source_format: str  # the ``name`` of a row of albert_core.checkpoints.FORMATS
    path: Path  # the weights file (or, for TF1, the checkpoint prefix) that was read
    config: AlbertConfig | None = None  # the configuration passed in or found beside the weights
    unmapped: list[str] = field(default_factory=list)  # source tensors with no canonical counterpart (reported)
    skipped: list[str] = field(default_factory=list)  # source tensors ignored on purpose (optimizer slots, step)
    notes: list[str] = field(default_factory=list)  # what the reader filled in or changed, for the user
