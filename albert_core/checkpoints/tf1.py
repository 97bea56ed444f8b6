"""Original google-research TF1 checkpoints (``model.ckpt-N.index`` + ``.data-*``), through TensorFlow.

TensorFlow is imported inside the reader and writer (the only way to read this format faithfully); names translate
through the declarative ``tf1`` table of :mod:`albert_core.weights`.
"""

from __future__ import annotations

import glob
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from ..config import AlbertConfig
from ..errors import CheckpointError, FrameworkMissingError
from ..weights import (
    TF1_MODULE_PREFIXES,
    TF1_SKIPPED_PATTERNS,
    Layout,
    apply_layout,
    canonical_name,
    format_name,
)
from ._tensors import check_float
from .contents import CheckpointContents, Progress

_MAPPING_W = "albert.encoder.embedding_hidden_mapping_in.weight"
_MAPPING_B = "albert.encoder.embedding_hidden_mapping_in.bias"


def _import_tf():
    try:
        import tensorflow as tf
    except ImportError as exc:  # pragma: no cover - tensorflow is installed in the test environment
        raise FrameworkMissingError(
            "original TF1 checkpoints need TensorFlow: pip install 'albert-lite[tensorflow]'"
        ) from exc
    return tf


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _strip_module(name: str) -> str:
    for prefix in TF1_MODULE_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def read_tf1_checkpoint(prefix: str | os.PathLike[str], config: AlbertConfig | None = None,
                        progress: Progress | None = None) -> CheckpointContents:
    """Read an original TF1 checkpoint (``model.ckpt-N``) one tensor at a time (the ``tf1`` reader of the table).

    TF-Hub ``module/`` prefixes are removed; optimizer slots (``adam_m``, ``adam_v``, ...) and ``global_step`` go to
    ``skipped``; the fine-tuning heads of the original scripts map to ``classifier`` (root ``output_weights``) and
    ``qa_outputs`` (SQuAD v1 ``cls/squad``); everything else that is left is listed in ``unmapped``. The original
    model has no ``embedding_hidden_mapping_in`` when ``embedding_size == hidden_size``: the identity projection
    (weight I, bias 0) is filled in, which computes the same thing, and a note says so.

    The variables' declared sizes are checked against the data files before any is read; TensorFlow's errors
    (corrupt index, checksum mismatch, truncated data file) become :class:`~albert_core.CheckpointError` naming the
    checkpoint and the variable.
    """
    tf = _import_tf()
    try:
        reader = tf.train.load_checkpoint(str(prefix))
        shapes = reader.get_variable_to_shape_map()
        dtypes = reader.get_variable_to_dtype_map()
    except Exception as exc:  # NotFoundError, DataLossError, ...: TensorFlow's own errors, named here
        raise CheckpointError(f"cannot read the TF1 checkpoint {prefix}: {_first_line(exc)}") from exc
    out = CheckpointContents(state={}, source_format="tf1", path=Path(prefix), config=config)
    names = sorted(shapes)
    to_read: list[tuple[str, str, object]] = []
    declared = 0
    for name in names:
        short = _strip_module(name)
        if any(p.search(short) for p in TF1_SKIPPED_PATTERNS):
            out.skipped.append(name)
            continue
        hit = canonical_name(short, "tf1")
        if hit is None:
            out.unmapped.append(name)
            continue
        if not dtypes[name].is_floating:
            raise CheckpointError(f"{prefix}: tensor {name!r} has dtype {dtypes[name].name}, expected a float type")
        if hit[1] is Layout.TRANSPOSE and len(shapes[name]) != 2:
            raise CheckpointError(f"{prefix}: tensor {name!r} has shape {shapes[name]}, expected a 2-D kernel")
        declared += math.prod(shapes[name]) * dtypes[name].size
        to_read.append((name, *hit))
    data_bytes = sum(f.stat().st_size for f in Path(prefix).parent.glob(glob.escape(Path(prefix).name) + ".data-*"))
    if declared > data_bytes:  # TF1 bundles store tensors uncompressed: the data files bound what can be genuine
        raise CheckpointError(f"{prefix}: its variables declare {declared} bytes, but its data files hold only "
                              f"{data_bytes}")
    for index, (name, canonical, layout) in enumerate(to_read):
        if canonical in out.state:
            raise CheckpointError(f"{prefix}: two variables map to {canonical!r} (second: {name!r})")
        try:
            array = np.asarray(reader.get_tensor(name))
        except Exception as exc:  # DataLossError (checksum), OutOfRangeError (truncated data file), ...
            raise CheckpointError(f"{prefix}: cannot read variable {name!r}: {_first_line(exc)}") from exc
        check_float(name, array, prefix)
        out.state[canonical] = apply_layout(array, layout)
        if progress is not None:
            progress(index + 1, len(to_read), canonical)
    word = out.state.get("albert.embeddings.word_embeddings.weight")
    if word is not None and _MAPPING_W not in out.state:
        width = word.shape[1]
        hidden = config.hidden_size if config is not None else None
        if hidden is None:
            query = next((a for n, a in out.state.items() if n.endswith("attention.query.weight")), None)
            hidden = query.shape[0] if query is not None else None
        if hidden == width:
            out.state[_MAPPING_W] = np.eye(width, dtype=word.dtype)
            out.state[_MAPPING_B] = np.zeros(width, dtype=word.dtype)
            out.notes.append(
                "embedding_size == hidden_size: the original model has no embedding_hidden_mapping_in; "
                "filled in the identity projection (weight I, bias 0), which computes the same function"
            )
    if out.skipped:
        out.notes.append(f"skipped {len(out.skipped)} optimizer/step variables")
    return out


def tf1_export_state(state: Mapping[str, np.ndarray], config: AlbertConfig | None = None) -> dict[str, np.ndarray]:
    """The canonical state as the original model holds it: drops an identity ``embedding_hidden_mapping_in``.

    When ``embedding_size == hidden_size`` the original code has no projection, so one that is not exactly the
    identity (weight I, bias 0) cannot be exported and raises :class:`~albert_core.CheckpointError`.
    """
    out = dict(state)
    weight = out.get(_MAPPING_W)
    if weight is None or weight.shape[0] != weight.shape[1]:
        return out
    if config is not None and config.embedding_size != config.hidden_size:
        return out
    bias = out.get(_MAPPING_B)
    identity = np.array_equal(np.asarray(weight, np.float32), np.eye(weight.shape[0], dtype=np.float32))
    if not identity or (bias is not None and np.any(np.asarray(bias) != 0)):
        raise CheckpointError(
            "embedding_size == hidden_size and embedding_hidden_mapping_in is not the identity: the original TF1 "
            "model has no such projection, so these weights cannot be exported to the tf1 format"
        )
    out.pop(_MAPPING_W)
    out.pop(_MAPPING_B, None)
    return out


def write_tf1(
    prefix: str | os.PathLike[str],
    state: Mapping[str, np.ndarray],
    config: AlbertConfig | None = None,
    progress: Progress | None = None,
    chunk_bytes: int = 64 * 1024 * 1024,
) -> Path:
    """Write a canonical state as an original TF1 checkpoint at ``prefix`` (``<prefix>.index`` + data files).

    Tensors go through ``tf.raw_ops.SaveV2`` in chunks of about ``chunk_bytes`` which ``MergeV2Checkpoints`` then
    joins, so no more than one chunk is held as TensorFlow tensors at a time. An identity
    ``embedding_hidden_mapping_in`` is dropped when ``embedding_size == hidden_size`` (see :func:`tf1_export_state`).
    The caller takes care of atomicity (the files are written straight to ``prefix``).
    """
    tf = _import_tf()
    if config is not None and config.position_embedding_type != "absolute":
        raise CheckpointError("the original TF1 ALBERT has only absolute position embeddings; cannot write "
                              f"position_embedding_type={config.position_embedding_type!r}")
    state = tf1_export_state(state, config)
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    names = list(state)
    chunks: list[list[str]] = [[]]
    size = 0
    for name in names:
        nbytes = int(np.asarray(state[name]).size) * 4
        if chunks[-1] and size + nbytes > chunk_bytes:
            chunks.append([])
            size = 0
        chunks[-1].append(name)
        size += nbytes
    scratch = Path(tempfile.mkdtemp(prefix=".tf1-chunks.", dir=prefix.parent))
    done = 0
    try:
        parts = []
        for k, chunk in enumerate(chunks):
            part = str(scratch / f"part-{k:05d}")
            tensor_names, tensors = [], []
            for name in chunk:
                target, layout = format_name(name, "tf1")
                array = np.asarray(state[name])
                check_float(name, array, "state")
                tensor_names.append(target)
                tensors.append(tf.constant(apply_layout(array.astype(np.float32, copy=False), layout)))
            tf.raw_ops.SaveV2(prefix=part, tensor_names=tensor_names, shape_and_slices=[""] * len(chunk),
                              tensors=tensors)
            del tensors
            parts.append(part)
            done += len(chunk)
            if progress is not None:
                progress(done, len(names), chunk[-1])
        tf.raw_ops.MergeV2Checkpoints(checkpoint_prefixes=parts, destination_prefix=str(prefix),
                                      delete_old_dirs=False)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return prefix


def tf1_variable_names(canonical_names: Iterable[str]) -> list[str]:
    """The TF1 names of canonical tensors (a convenience for reports and tests).

    >>> tf1_variable_names(["albert.pooler.bias"])
    ['bert/pooler/dense/bias']
    """
    return [format_name(n, "tf1")[0] for n in canonical_names]


__all__ = ["read_tf1_checkpoint", "tf1_export_state", "tf1_variable_names", "write_tf1"]
