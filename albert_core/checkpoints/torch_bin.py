"""``pytorch_model.bin``, read without running pickled code.

torch is imported inside :func:`read_pytorch_bin` (the only place this format needs it), and the file goes through
``torch.load(weights_only=True)``, whose restricted unpickler refuses anything but tensors and plain containers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import numpy as np

from ..config import AlbertConfig
from ..errors import CheckpointError, FrameworkMissingError
from ..weights import normalize_state_names
from .contents import CheckpointContents, Progress


def read_pytorch_bin(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a ``pytorch_model.bin`` state dict (names as stored) without unpickling code."""
    try:
        import torch
    except ImportError as exc:
        raise FrameworkMissingError(
            f"reading {path} needs PyTorch (pip install 'albert-lite[torch]'); prefer model.safetensors"
        ) from exc
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=False)
    except Exception as exc:  # the restricted unpickler raises UnpicklingError for any non-tensor payload
        raise CheckpointError(f"{path} is not a plain PyTorch state dict (refused to unpickle it): {exc}") from exc
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} does not hold a mapping of tensor names to tensors")
    return {str(k): v.detach().to(torch.float32 if v.is_floating_point() else v.dtype).numpy() for k, v in
            state.items()}


def read_pytorch_bin_checkpoint(path: Path, config: AlbertConfig | None = None,
                                progress: Progress | None = None) -> CheckpointContents:
    """The ``pytorch-bin`` reader of the format table: names made canonical."""
    return CheckpointContents(state=normalize_state_names(read_pytorch_bin(path)), source_format="pytorch-bin",
                              path=Path(path), config=config)


__all__ = ["read_pytorch_bin", "read_pytorch_bin_checkpoint"]
