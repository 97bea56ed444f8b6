"""Small checks shared by the format modules."""

from __future__ import annotations

import numpy as np

from ..errors import CheckpointError


def check_float(name: str, array: np.ndarray, where: object) -> None:
    """Refuse a weight stored as an integer (or other non-float) type."""
    if not np.issubdtype(array.dtype, np.floating):
        raise CheckpointError(f"{where}: tensor {name!r} has dtype {array.dtype}, expected a float type")
