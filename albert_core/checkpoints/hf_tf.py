"""Hugging Face TensorFlow ``tf_model.h5``, read and written through h5py (imported on demand; no TensorFlow).

Names translate through the declarative ``hf-tf`` table of :mod:`albert_core.weights`; the model scope that prefixes
every name (``tf_albert_for_pre_training/``) comes from the head table (:attr:`HeadSpec.tf_scope`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Mapping

import numpy as np

from ..config import AlbertConfig
from ..errors import MAX_H5_COMPRESSION_RATIO, MAX_TENSOR_RANK, CheckpointError, FrameworkMissingError
from ..heads import Head, head_spec
from ..io_utils import atomic_file
from ..weights import HF_TF_REDUNDANT, Layout, apply_layout, canonical_name, format_name
from ._tensors import check_float
from .contents import CheckpointContents, Progress

#: Weights that Hugging Face's MLM head lists again under its own ``predictions`` layer (tied to the embeddings).
_TIED_IN_PREDICTIONS = (
    "albert.embeddings.word_embeddings.weight",
    "albert.embeddings.token_type_embeddings.weight",
    "albert.embeddings.position_embeddings.weight",
    "albert.embeddings.LayerNorm.weight",
    "albert.embeddings.LayerNorm.bias",
)
#: Keras layer order of the Hugging Face classes (the backbone first, then the head layers).
_LAYER_ORDER = ("albert", "predictions", "sop_classifier", "classifier", "qa_outputs")


def _import_h5py():
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - h5py is installed in the test environment
        raise FrameworkMissingError("the Hugging Face TF format (tf_model.h5) needs h5py: pip install h5py") from exc
    return h5py


def _as_str(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _dataset_bytes(h5py, path: Path, dataset, name: str, file_size: int) -> tuple[int, bool]:
    """Check a dataset before reading it; return the bytes it will take in memory and whether it is compressed.

    The declared size (shape x itemsize) must be backed by data stored in this file: an unwritten or partly written
    dataset, one larger than the file (beyond :data:`~albert_core.errors.MAX_H5_COMPRESSION_RATIO` when compressed),
    external or virtual storage (which reads other files) and non-float dtypes are refused before any allocation.
    """
    where = f"{path}: weight {name!r}"
    if not isinstance(dataset, h5py.Dataset):
        raise CheckpointError(f"{where} is a {type(dataset).__name__}, expected a dataset")
    if dataset.dtype.kind != "f" or dataset.dtype.itemsize not in (2, 4, 8):
        raise CheckpointError(f"{where} has dtype {dataset.dtype}, expected a float type")
    if dataset.shape is None or len(dataset.shape) > MAX_TENSOR_RANK:
        raise CheckpointError(f"{where} has shape {dataset.shape}, expected at most {MAX_TENSOR_RANK} dimensions")
    if dataset.external or dataset.is_virtual:
        raise CheckpointError(f"{where} keeps its data outside this file (external or virtual storage); refused")
    declared = math.prod(dataset.shape) * dataset.dtype.itemsize
    stored = dataset.id.get_storage_size()
    compressed = dataset.id.get_create_plist().get_nfilters() > 0
    if declared and not stored:
        raise CheckpointError(f"{where} declares shape {dataset.shape} ({declared} bytes) but stores no data")
    if stored > file_size:
        raise CheckpointError(f"{where} claims {stored} stored bytes, more than the file's {file_size}")
    limit = file_size * (MAX_H5_COMPRESSION_RATIO if compressed else 1)
    if declared > limit or (not compressed and stored < declared):
        raise CheckpointError(f"{where} declares shape {dataset.shape} ({declared} bytes) but the file stores "
                              f"{stored} bytes for it (file size {file_size})")
    return declared, compressed


def read_hf_tf_checkpoint(path: str | os.PathLike[str], config: AlbertConfig | None = None,
                          progress: Progress | None = None) -> CheckpointContents:
    """Read a Hugging Face ``tf_model.h5`` into a canonical state (the ``hf-tf`` reader of the format table).

    Weight names lose their model-scope component; copies of tied weights that the file lists under several layers
    are read once (and must agree), and the MLM head's redundant decoder bias is ignored. Names that map to nothing
    canonical are listed in ``unmapped``. ``config`` is only recorded in the result.

    Every dataset is checked against the file before it is read (see :func:`_dataset_bytes`), and the datasets read
    together may not declare more bytes than the file holds (uncompressed), so memory stays bounded by the file's
    size; links to other files are refused. Anything h5py raises becomes a :class:`~albert_core.CheckpointError`.
    """
    h5py = _import_h5py()
    path = Path(path)
    try:
        file_size = path.stat().st_size
        handle = h5py.File(path, "r")
    except FileNotFoundError:
        raise
    except Exception as exc:  # h5py raises OSError, ValueError, ... for files that are not HDF5
        raise CheckpointError(f"{path} is not a readable HDF5 file: {exc}") from exc
    try:
        with handle:
            return _read_hf_tf(h5py, handle, path, file_size, config)
    except CheckpointError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, AttributeError, IndexError) as exc:
        raise CheckpointError(f"{path} is a corrupt Keras weights file: {type(exc).__name__}: {exc}") from exc


def _hard_linked(h5py, group, name: str, path: Path):
    link = group.get(name, getlink=True)
    if link is None:
        return None
    if not isinstance(link, h5py.HardLink):
        raise CheckpointError(f"{path}: {name!r} is a {type(link).__name__}, which may point outside the file; refused")
    return group[name]


def _read_hf_tf(h5py, handle, path: Path, file_size: int, config: AlbertConfig | None) -> CheckpointContents:
    state: dict[str, np.ndarray] = {}
    unmapped: list[str] = []
    if "layer_names" not in handle.attrs:
        raise CheckpointError(f"{path} is not a Keras/Hugging Face weights file (no 'layer_names' attribute)")
    layer_names = np.asarray(handle.attrs["layer_names"])
    if layer_names.ndim != 1:
        raise CheckpointError(f"{path}: the 'layer_names' attribute must be a list of names")
    planned = {False: 0, True: 0}  # bytes of the arrays to be read, by compression
    for layer in (_as_str(n) for n in layer_names):
        group = _hard_linked(h5py, handle, layer, path)
        if group is None:
            raise CheckpointError(f"{path}: layer {layer!r} is listed but has no group")
        if not isinstance(group, h5py.Group):
            raise CheckpointError(f"{path}: layer {layer!r} is a {type(group).__name__}, expected a group")
        weight_names = np.asarray(group.attrs.get("weight_names", []))
        if weight_names.ndim != 1:
            raise CheckpointError(f"{path}: the 'weight_names' attribute of layer {layer!r} must be a list of names")
        for full in (_as_str(n) for n in weight_names):
            dataset = _hard_linked(h5py, group, full, path)
            if dataset is None:
                raise CheckpointError(f"{path}: weight {full!r} of layer {layer!r} is listed but not stored")
            short = full.split("/", 1)[1] if "/" in full else full
            if short in HF_TF_REDUNDANT:
                continue
            hit = canonical_name(short, "hf-tf")
            if hit is None:
                if short not in unmapped:
                    unmapped.append(short)
                continue
            nbytes, compressed = _dataset_bytes(h5py, path, dataset, short, file_size)
            canonical, layout = hit
            if layout is Layout.TRANSPOSE and len(dataset.shape) != 2:
                raise CheckpointError(f"{path}: weight {short!r} has shape {dataset.shape}, expected a 2-D kernel")
            if canonical not in state:
                planned[compressed] += nbytes
                if planned[compressed] > file_size * (MAX_H5_COMPRESSION_RATIO if compressed else 1):
                    raise CheckpointError(f"{path}: its weights declare {planned[compressed]} bytes in all, more "
                                          f"than the file ({file_size} bytes) can hold")
            array = np.asarray(dataset[()])
            check_float(short, array, path)
            array = apply_layout(array, layout)
            if canonical in state:
                if state[canonical].shape != array.shape or not np.array_equal(state[canonical], array):
                    raise CheckpointError(f"{path}: the copies of {short!r} under several layers disagree")
                continue
            state[canonical] = array
    return CheckpointContents(state=state, source_format="hf-tf", path=path, config=config, unmapped=unmapped)


def _layer_of(canonical: str) -> str:
    return format_name(canonical, "hf-tf")[0].split("/", 1)[0]


def write_hf_tf(
    path: str | os.PathLike[str],
    state: Mapping[str, np.ndarray],
    head: Head | str,
    config: AlbertConfig | None = None,
    dtype: str | None = None,
    progress: Progress | None = None,
) -> Path:
    """Write a canonical state as a Hugging Face ``tf_model.h5`` for ``TFAlbert<head class>`` (atomically).

    The layout is Keras' ``save_weights`` h5 layout as Hugging Face reads it: attribute ``layer_names`` on the root,
    one group per layer (``albert``, ``predictions``, ``sop_classifier`` / ``classifier`` / ``qa_outputs``) with a
    ``weight_names`` attribute, weights named ``<model scope>/<layer>/...:0``. Relative position embeddings cannot be
    written (Hugging Face's TF ALBERT has no distance embeddings).

    >>> import tempfile
    >>> from albert_core import AlbertConfig, canonical_specs
    >>> cfg = AlbertConfig(vocab_size=10, embedding_size=4, hidden_size=8, num_hidden_layers=1,
    ...                    num_attention_heads=2, intermediate_size=8, max_position_embeddings=8)
    >>> state = {n: np.zeros(s.shape, np.float32) for n, s in canonical_specs(cfg, "base").items()}
    >>> p = write_hf_tf(Path(tempfile.mkdtemp()) / "tf_model.h5", state, "base", cfg)
    >>> read_hf_tf_checkpoint(p).state.keys() == state.keys()
    True
    """
    h5py = _import_h5py()
    head = Head(head)
    if config is not None and config.position_embedding_type != "absolute":
        raise CheckpointError(
            f"position_embedding_type={config.position_embedding_type!r} cannot be written to the Hugging Face TF "
            "format: its TF ALBERT has no relative-position (distance) embeddings; use safetensors or albert-lite's "
            "own TF backend instead"
        )
    distance = [n for n in state if "distance_embedding" in n]
    if distance:
        raise CheckpointError(
            f"the Hugging Face TF format has no relative-position embeddings; cannot write {distance[0]!r}"
        )
    if dtype not in (None, "float32", "float16"):
        raise CheckpointError(f"tf_model.h5 can be written as float32 or float16, not {dtype!r}")
    scope = head_spec(head).tf_scope
    layers: dict[str, list[tuple[str, str]]] = {}  # layer -> [(weight name in file, canonical)]
    for canonical in state:
        target, _ = format_name(canonical, "hf-tf")
        layers.setdefault(_layer_of(canonical), []).append((f"{scope}/{target}", canonical))
    if "predictions" in layers:
        # Hugging Face lists the tied embeddings and a redundant decoder bias under the MLM head as well
        extra = [(f"{scope}/{name}", source) for name, source in HF_TF_REDUNDANT.items() if source in state]
        extra += [(f"{scope}/{format_name(n, 'hf-tf')[0]}", n) for n in _TIED_IN_PREDICTIONS if n in state]
        layers["predictions"] += extra
    layer_names = sorted(layers, key=lambda n: _LAYER_ORDER.index(n) if n in _LAYER_ORDER else len(_LAYER_ORDER))
    total = sum(len(v) for v in layers.values())
    done = 0
    path = Path(path)
    with atomic_file(path) as tmp:
        with h5py.File(tmp, "w") as handle:
            handle.attrs["layer_names"] = np.array([n.encode("utf-8") for n in layer_names])
            handle.attrs["backend"] = b"tensorflow"
            handle.attrs["keras_version"] = b"2.21.0"
            for layer in layer_names:
                group = handle.create_group(layer)
                group.attrs["weight_names"] = np.array([w.encode("utf-8") for w, _ in layers[layer]])
                for weight, canonical in layers[layer]:
                    _, layout = format_name(canonical, "hf-tf")
                    array = np.asarray(state[canonical])
                    check_float(canonical, array, "state")
                    array = apply_layout(array, layout).astype(np.float16 if dtype == "float16" else np.float32,
                                                               copy=False)
                    group.create_dataset(weight, data=array)
                    del array
                    done += 1
                    if progress is not None:
                        progress(done, total, canonical)
    return path


__all__ = ["read_hf_tf_checkpoint", "write_hf_tf"]
