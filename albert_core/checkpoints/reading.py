"""Reading any checkpoint through the format table, and reporting what a model load left out."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Mapping

import numpy as np

from ..config import AlbertConfig
from ..errors import CheckpointError, NonFiniteWeightsWarning, PartialLoadWarning
from ..heads import HEADS
from ..weights import LoadReport, canonical_specs
from .contents import CheckpointContents, Progress
from .directory import read_directory_config
from .formats import find_weights



def read_checkpoint(path: str | os.PathLike[str], config: AlbertConfig | None = None,
                    progress: Progress | None = None) -> CheckpointContents:
    """Read any supported checkpoint (directory, weights file or TF1 prefix) into canonical names and PyTorch layout.

    The format comes from :func:`~albert_core.checkpoints.find_weights`; ``config`` defaults to the ``config.json``
    / ``albert_config.json`` beside the weights, when there is one. ``progress(done, total, name)`` is passed to
    readers that read tensor by tensor. Every reader checks the sizes its file declares against the file before
    allocating, so what it allocates is bounded by the size of the files read.
    """
    path = Path(path)
    fmt, weights_path = find_weights(path)
    if config is None:
        config = read_directory_config(path if path.is_dir() else weights_path.parent)
    return fmt.reader(weights_path, config, progress)


def check_shapes_against_config(shapes: Mapping[str, tuple[int, ...]], config: AlbertConfig, source: object) -> None:
    """Raise :class:`~albert_core.CheckpointError` when a tensor's shape differs from the one ``config`` gives it.

    ``shapes`` maps canonical names to shapes (as a header declares them). A name is checked against the shapes it
    has under every head (a classifier is ``[num_labels, hidden]`` in one head, ``[1, hidden]`` in another); names
    of no head are left to the model's own matching. Nothing sized by the configuration is allocated here, so a
    configuration that would build a huge model (a forged ``vocab_size``) fails before the model is built.
    """
    allowed: dict[str, set[tuple[int, ...]]] = {}
    for head in HEADS:
        for name, spec in canonical_specs(config, head).items():
            allowed.setdefault(name, set()).add(spec.shape)
    mismatched = [
        f"{name}: checkpoint {tuple(shape)}, config {' or '.join(map(str, sorted(allowed[name])))}"
        for name, shape in shapes.items()
        if name in allowed and tuple(shape) not in allowed[name]
    ]
    if mismatched:
        raise CheckpointError(f"{source} does not fit its configuration (checked before building the model): "
                              + "; ".join(mismatched[:10]) + (f"; and {len(mismatched) - 10} more"
                                                              if len(mismatched) > 10 else ""))


def non_finite_tensors(state: Mapping[str, np.ndarray]) -> list[str]:
    """The names of the floating tensors in ``state`` that hold a NaN or an infinity."""
    return [name for name, array in state.items()
            if np.issubdtype(np.asarray(array).dtype, np.floating) and not np.isfinite(array).all()]


def report_non_finite(state: Mapping[str, np.ndarray], source: object, strict: bool = False) -> list[str]:
    """Warn once (:class:`~albert_core.errors.NonFiniteWeightsWarning`) naming the tensors of ``state`` that
    hold NaN or infinite values, or raise :class:`~albert_core.CheckpointError` when ``strict``; returns the names."""
    names = non_finite_tensors(state)
    if names:
        listed = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        message = f"{source} holds NaN or infinite values in {len(names)} tensor(s): {listed}"
        if strict:
            raise CheckpointError(message)
        warnings.warn(message, NonFiniteWeightsWarning, stacklevel=3)
    return names


def read_checkpoint_for_model(
    path: str | os.PathLike[str], config: AlbertConfig | None = None, strict: bool = False
) -> tuple[CheckpointContents, AlbertConfig]:
    """:func:`read_checkpoint`, plus the configuration to build the model with (``config`` or the one on disk).

    Before returning (and so before a backend builds its model) the tensors' shapes are checked against the
    configuration (:func:`check_shapes_against_config`), and NaN/infinite weights are warned about by name
    (:func:`report_non_finite`; an error when ``strict``).
    """
    contents = read_checkpoint(path, config)
    config = config if config is not None else contents.config
    if config is None:
        raise CheckpointError(f"{path} has no config.json / albert_config.json beside the weights; pass config=")
    check_shapes_against_config({name: np.shape(array) for name, array in contents.state.items()}, config,
                                contents.path)
    report_non_finite(contents.state, contents.path, strict=strict)
    return contents, config


def warn_about_partial_load(model_name: str, source: str | os.PathLike[str], report: LoadReport) -> None:
    """Warn once (a :class:`~albert_core.errors.PartialLoadWarning`) when a checkpoint left tensors of the model
    missing or had tensors the model does not use."""
    if report.missing or report.unexpected:
        warnings.warn(f"loading {model_name} from {source}: {report.summary()}", PartialLoadWarning, stacklevel=3)


__all__ = [
    "check_shapes_against_config",
    "non_finite_tensors",
    "read_checkpoint",
    "read_checkpoint_for_model",
    "report_non_finite",
    "warn_about_partial_load",
]
