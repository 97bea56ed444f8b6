"""Readers and writers for the TensorFlow checkpoint formats: Hugging Face ``tf_model.h5`` and original TF1.

Both work on canonical states (names from :mod:`albert_core.weights`, PyTorch layout, numpy arrays) and translate
through the declarative tables ``HF_TF_TABLE`` / ``TF1_TABLE``. ``h5py`` and ``tensorflow`` are imported inside the
functions that need them, so importing this module stays cheap; a missing framework raises
:class:`~albert_core.errors.FrameworkMissingError`.

Importing this module registers the ``hf-tf`` and ``tf1`` readers with :func:`albert_core.checkpoint.register_reader`,
which is how :func:`albert_core.checkpoint.read_checkpoint` reads them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np

from .checkpoint import HF_TF_NAME, register_reader, save_config_for_head
from .config import AlbertConfig
from .errors import CheckpointError, FrameworkMissingError
from .io_utils import atomic_file, atomic_write_text
from .weights import (
    HF_TF_REDUNDANT,
    TF1_MODULE_PREFIXES,
    TF1_SKIPPED_PATTERNS,
    Head,
    apply_layout,
    canonical_name,
    format_name,
)

ORIGINAL_CONFIG_NAME = "albert_config.json"
ORIGINAL_SPM_NAME = "30k-clean.model"
TF1_DEFAULT_PREFIX = "model.ckpt"

Progress = Callable[[int, int, str], None]  # (done, total, tensor name)

_MAPPING_W = "albert.encoder.embedding_hidden_mapping_in.weight"
_MAPPING_B = "albert.encoder.embedding_hidden_mapping_in.bias"


def _import_h5py():
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - h5py is installed in the test environment
        raise FrameworkMissingError("the Hugging Face TF format (tf_model.h5) needs h5py: pip install h5py") from exc
    return h5py


def _import_tf():
    try:
        import tensorflow as tf
    except ImportError as exc:  # pragma: no cover - tensorflow is installed in the test environment
        raise FrameworkMissingError(
            "original TF1 checkpoints need TensorFlow: pip install 'albert-lite[tensorflow]'"
        ) from exc
    return tf


def _as_str(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _check_float(name: str, array: np.ndarray, where: object) -> None:
    if not np.issubdtype(array.dtype, np.floating):
        raise CheckpointError(f"{where}: tensor {name!r} has dtype {array.dtype}, expected a float type")


# ---------------------------------------------------------------------------------------------------------------------
# Hugging Face TensorFlow: tf_model.h5

#: Keras scope names of the Hugging Face TF classes (the first component of every weight name in the h5 file).
HF_TF_MODEL_SCOPES: dict[Head, str] = {
    Head.BASE: "tf_albert_model",
    Head.PRETRAINING: "tf_albert_for_pre_training",
    Head.MASKED_LM: "tf_albert_for_masked_lm",
    Head.SEQUENCE_CLASSIFICATION: "tf_albert_for_sequence_classification",
    Head.MULTIPLE_CHOICE: "tf_albert_for_multiple_choice",
    Head.TOKEN_CLASSIFICATION: "tf_albert_for_token_classification",
    Head.QUESTION_ANSWERING: "tf_albert_for_question_answering",
}

#: Weights that Hugging Face's MLM head lists again under its own ``predictions`` layer (tied to the embeddings).
_HF_TF_TIED_IN_PREDICTIONS = (
    "albert.embeddings.word_embeddings.weight",
    "albert.embeddings.token_type_embeddings.weight",
    "albert.embeddings.position_embeddings.weight",
    "albert.embeddings.LayerNorm.weight",
    "albert.embeddings.LayerNorm.bias",
)


def read_hf_tf(path: str | os.PathLike[str], config: AlbertConfig | None = None) -> tuple[dict[str, np.ndarray], list[str]]:
    """Read a Hugging Face ``tf_model.h5`` into a canonical state; returns ``(state, unmapped names)``.

    Weight names lose their model-scope component (``tf_albert_for_pre_training/``); copies of tied weights that the
    file lists under several layers are read once (and must agree), and the MLM head's redundant decoder bias is
    ignored. ``config`` is accepted for the reader interface and not needed.
    """
    h5py = _import_h5py()
    path = Path(path)
    state: dict[str, np.ndarray] = {}
    unmapped: list[str] = []
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise CheckpointError(f"{path} is not a readable HDF5 file: {exc}") from exc
    with handle:
        if "layer_names" not in handle.attrs:
            raise CheckpointError(f"{path} is not a Keras/Hugging Face weights file (no 'layer_names' attribute)")
        for layer in (_as_str(n) for n in handle.attrs["layer_names"]):
            if layer not in handle:
                raise CheckpointError(f"{path}: layer {layer!r} is listed but has no group")
            group = handle[layer]
            for full in (_as_str(n) for n in group.attrs.get("weight_names", [])):
                if full not in group:
                    raise CheckpointError(f"{path}: weight {full!r} of layer {layer!r} is listed but not stored")
                short = full.split("/", 1)[1] if "/" in full else full
                if short in HF_TF_REDUNDANT:
                    continue
                hit = canonical_name(short, "hf-tf")
                if hit is None:
                    if short not in unmapped:
                        unmapped.append(short)
                    continue
                canonical, layout = hit
                array = np.asarray(group[full][()])
                _check_float(short, array, path)
                array = apply_layout(array, layout)
                if canonical in state:
                    if state[canonical].shape != array.shape or not np.array_equal(state[canonical], array):
                        raise CheckpointError(f"{path}: the copies of {short!r} under several layers disagree")
                    continue
                state[canonical] = array
    return state, unmapped


def _hf_tf_layer(canonical: str) -> str:
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

    >>> import tempfile, numpy as np
    >>> from albert_core import AlbertConfig, canonical_specs
    >>> cfg = AlbertConfig(vocab_size=10, embedding_size=4, hidden_size=8, num_hidden_layers=1,
    ...                    num_attention_heads=2, intermediate_size=8, max_position_embeddings=8)
    >>> state = {n: np.zeros(s.shape, np.float32) for n, s in canonical_specs(cfg, "base").items()}
    >>> p = write_hf_tf(Path(tempfile.mkdtemp()) / "tf_model.h5", state, "base", cfg)
    >>> read_hf_tf(p)[0].keys() == state.keys()
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
    scope = HF_TF_MODEL_SCOPES[head]
    layers: dict[str, list[tuple[str, str]]] = {}  # layer -> [(weight name in file, canonical)]
    for canonical in state:
        target, _ = format_name(canonical, "hf-tf")
        layers.setdefault(_hf_tf_layer(canonical), []).append((f"{scope}/{target}", canonical))
    if "predictions" in layers:
        # Hugging Face lists the tied embeddings and a redundant decoder bias under the MLM head as well
        extra = [(f"{scope}/{name}", source) for name, source in HF_TF_REDUNDANT.items() if source in state]
        extra += [(f"{scope}/{format_name(n, 'hf-tf')[0]}", n) for n in _HF_TF_TIED_IN_PREDICTIONS if n in state]
        layers["predictions"] += extra
    order = ["albert", "predictions", "sop_classifier", "classifier", "qa_outputs"]
    layer_names = sorted(layers, key=lambda n: order.index(n) if n in order else len(order))
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
                    _check_float(canonical, array, "state")
                    array = apply_layout(array, layout).astype(np.float16 if dtype == "float16" else np.float32,
                                                               copy=False)
                    group.create_dataset(weight, data=array)
                    del array
                    done += 1
                    if progress is not None:
                        progress(done, total, canonical)
    return path


# ---------------------------------------------------------------------------------------------------------------------
# Original google-research TF1 checkpoints


@dataclass
class TF1Contents:
    """What :func:`read_tf1` found in an original checkpoint."""

    state: dict[str, np.ndarray]
    unmapped: list[str] = field(default_factory=list)  # model variables with no canonical counterpart (reported)
    skipped: list[str] = field(default_factory=list)  # optimizer slots and global_step (expected, ignored)
    notes: list[str] = field(default_factory=list)  # what the reader filled in or changed


def _strip_module(name: str) -> str:
    for prefix in TF1_MODULE_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def read_tf1_contents(prefix: str | os.PathLike[str], config: AlbertConfig | None = None,
                      progress: Progress | None = None) -> TF1Contents:
    """Read an original TF1 checkpoint (``model.ckpt-N``) through ``tf.train.load_checkpoint``, one tensor at a time.

    TF-Hub ``module/`` prefixes are removed; optimizer slots (``adam_m``, ``adam_v``, ...) and ``global_step`` are
    skipped; the fine-tuning heads of the original scripts map to ``classifier`` (root ``output_weights``) and
    ``qa_outputs`` (SQuAD v1 ``cls/squad``); everything else that is left is listed in ``unmapped``. The original
    model has no ``embedding_hidden_mapping_in`` when ``embedding_size == hidden_size``: the identity projection
    (weight I, bias 0) is filled in, which computes the same thing, and a note says so.
    """
    tf = _import_tf()
    try:
        reader = tf.train.load_checkpoint(str(prefix))
    except Exception as exc:  # NotFoundError, DataLossError, ...
        raise CheckpointError(f"cannot read the TF1 checkpoint {prefix}: {exc}") from exc
    shapes = reader.get_variable_to_shape_map()
    out = TF1Contents(state={})
    names = sorted(shapes)
    for index, name in enumerate(names):
        short = _strip_module(name)
        if any(p.search(short) for p in TF1_SKIPPED_PATTERNS):
            out.skipped.append(name)
            continue
        hit = canonical_name(short, "tf1")
        if hit is None:
            out.unmapped.append(name)
            continue
        canonical, layout = hit
        if canonical in out.state:
            raise CheckpointError(f"{prefix}: two variables map to {canonical!r} (second: {name!r})")
        array = np.asarray(reader.get_tensor(name))
        _check_float(name, array, prefix)
        out.state[canonical] = apply_layout(array, layout)
        if progress is not None:
            progress(index + 1, len(names), canonical)
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
    return out


def read_tf1(prefix: str | os.PathLike[str], config: AlbertConfig | None = None):
    """The registered reader: ``(state, unmapped, notes)`` of :func:`read_tf1_contents`."""
    contents = read_tf1_contents(prefix, config)
    return contents.state, contents.unmapped, contents.notes


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
                _check_float(name, array, "state")
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


def write_original_config(directory: str | os.PathLike[str], config: AlbertConfig) -> Path:
    """Write ``albert_config.json`` in the original format."""
    import json

    target = Path(directory) / ORIGINAL_CONFIG_NAME
    atomic_write_text(target, json.dumps(config.to_original_dict(), indent=2, sort_keys=True) + "\n")
    return target


def save_hf_tf_checkpoint(directory: str | os.PathLike[str], state: Mapping[str, np.ndarray], config: AlbertConfig,
                          head: Head | str, dtype: str | None = None, progress: Progress | None = None) -> Path:
    """``config.json`` + ``tf_model.h5`` in ``directory``, as ``TFAlbert*.from_pretrained`` expects."""
    head = Head(head)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_hf_tf(directory / HF_TF_NAME, state, head, config=config, dtype=dtype, progress=progress)
    save_config_for_head(directory, config, head, tensorflow=True)
    return directory


def save_tf1_checkpoint(directory: str | os.PathLike[str], state: Mapping[str, np.ndarray], config: AlbertConfig,
                        progress: Progress | None = None, prefix_name: str = TF1_DEFAULT_PREFIX) -> Path:
    """``albert_config.json`` + ``model.ckpt.index/.data-*`` in ``directory``; returns the checkpoint prefix."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_original_config(directory, config)  # validates the config before any weights are written
    prefix = write_tf1(directory / prefix_name, state, config, progress=progress)
    return prefix


def tf1_variable_names(canonical_names: Iterable[str]) -> list[str]:
    """The TF1 names of canonical tensors (a convenience for reports and tests)."""
    return [format_name(n, "tf1")[0] for n in canonical_names]


register_reader("hf-tf", read_hf_tf)
register_reader("tf1", read_tf1)

__all__ = [
    "HF_TF_MODEL_SCOPES",
    "TF1Contents",
    "read_hf_tf",
    "read_tf1",
    "read_tf1_contents",
    "save_hf_tf_checkpoint",
    "save_tf1_checkpoint",
    "tf1_export_state",
    "tf1_variable_names",
    "write_hf_tf",
    "write_original_config",
    "write_tf1",
]
