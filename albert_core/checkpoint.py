"""Checkpoint files on numpy arrays: strict safetensors I/O and the Hugging Face directory layout.

Nothing here imports torch or tensorflow at module level, and nothing unpickles: ``pytorch_model.bin`` is read
with ``torch.load(weights_only=True)`` (torch imported on demand), everything else is parsed directly.

A checkpoint directory looks like Hugging Face's::

    config.json              # AlbertConfig.to_dict(), with "architectures"
    model.safetensors        # canonical names (base model: without the "albert." prefix), PyTorch layout
    spiece.model             # SentencePiece model (optional)
    tokenizer_config.json    # tokenizer options (optional)
"""

from __future__ import annotations

import json
import logging
import os
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from .config import AlbertConfig
from .errors import CheckpointError, FrameworkMissingError
from .io_utils import atomic_file
from .heads import Head, head_spec
from .weights import LoadReport, normalize_state_names, strip_backbone_prefix

logger = logging.getLogger(__name__)

SAFETENSORS_NAME = "model.safetensors"
SAFETENSORS_INDEX_NAME = "model.safetensors.index.json"
PYTORCH_BIN_NAME = "pytorch_model.bin"
HF_TF_NAME = "tf_model.h5"

# safetensors dtype tag -> (numpy dtype to read the raw bytes as, bytes per element)
_ST_DTYPES: dict[str, tuple[np.dtype, int]] = {
    "F64": (np.dtype("<f8"), 8),
    "F32": (np.dtype("<f4"), 4),
    "F16": (np.dtype("<f2"), 2),
    "BF16": (np.dtype("<u2"), 2),  # widened to float32 on read
    "I64": (np.dtype("<i8"), 8),
    "I32": (np.dtype("<i4"), 4),
    "I16": (np.dtype("<i2"), 2),
    "I8": (np.dtype("i1"), 1),
    "U8": (np.dtype("u1"), 1),
    "BOOL": (np.dtype("?"), 1),
}
_NUMPY_TO_ST = {np.dtype(np.float64): "F64", np.dtype(np.float32): "F32", np.dtype(np.float16): "F16",
                np.dtype(np.int64): "I64", np.dtype(np.int32): "I32", np.dtype(np.int16): "I16",
                np.dtype(np.int8): "I8", np.dtype(np.uint8): "U8", np.dtype(np.bool_): "BOOL"}
_MAX_HEADER_BYTES = 100 * 1024 * 1024

#: dtypes ``--dtype`` / ``save_*(dtype=...)`` accept.
SAVE_DTYPES = ("float32", "float16", "bfloat16")


# ---------------------------------------------------------------------------------------------------------------------
# safetensors


def bfloat16_bits_to_float32(bits: np.ndarray) -> np.ndarray:
    """Widen raw bfloat16 bit patterns (uint16) to float32 exactly."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def float32_to_bfloat16_bits(values: np.ndarray) -> np.ndarray:
    """Round float32 to bfloat16 (nearest, ties to even) and return the uint16 bit patterns."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    nan = np.isnan(values)
    rounded = ((bits + np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1))) >> 16).astype(np.uint16)
    rounded[nan] = np.uint16(0x7FC0)
    return rounded


def _read_header(handle, path: Path, file_size: int) -> tuple[dict, int]:
    prefix = handle.read(8)
    if len(prefix) != 8:
        raise CheckpointError(f"{path} is truncated: {file_size} bytes is too short for a safetensors header")
    (header_len,) = struct.unpack("<Q", prefix)
    if header_len > _MAX_HEADER_BYTES or 8 + header_len > file_size:
        raise CheckpointError(
            f"{path} is truncated or not a safetensors file: header claims {header_len} bytes, file has {file_size}"
        )
    raw = handle.read(header_len)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} has a corrupt safetensors header: {exc}") from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} has a corrupt safetensors header (not a JSON object)")
    return header, 8 + header_len


def read_safetensors(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read every tensor of a ``.safetensors`` file, validating the header against the file.

    Returns ``(tensors, metadata)``. bfloat16 tensors are widened to float32 (exactly). Raises
    :class:`~albert_core.CheckpointError` for a truncated file, overlapping or out-of-bounds tensors, an unknown dtype or a
    shape that does not match the byte count.
    """
    path = Path(path)
    file_size = path.stat().st_size
    with open(path, "rb") as handle:
        header, data_start = _read_header(handle, path, file_size)
        metadata = header.pop("__metadata__", None) or {}
        entries = []
        for name, info in header.items():
            try:
                dtype_tag, shape, (begin, end) = info["dtype"], tuple(info["shape"]), info["data_offsets"]
            except (KeyError, TypeError, ValueError) as exc:
                raise CheckpointError(f"{path}: malformed header entry for tensor {name!r}") from exc
            if dtype_tag not in _ST_DTYPES:
                raise CheckpointError(f"{path}: tensor {name!r} has unsupported dtype {dtype_tag!r}")
            if any((not isinstance(d, int)) or d < 0 for d in shape):
                raise CheckpointError(f"{path}: tensor {name!r} has an invalid shape {list(shape)}")
            np_dtype, itemsize = _ST_DTYPES[dtype_tag]
            expected = int(np.prod(shape, dtype=np.int64)) * itemsize
            if not (isinstance(begin, int) and isinstance(end, int)) or end - begin != expected or begin < 0:
                raise CheckpointError(
                    f"{path}: tensor {name!r} of shape {list(shape)} ({dtype_tag}) needs {expected} bytes, "
                    f"header gives offsets [{begin}, {end})"
                )
            entries.append((begin, end, name, shape, dtype_tag, np_dtype))
        entries.sort()
        cursor = 0
        for begin, end, name, *_ in entries:
            if begin != cursor:
                raise CheckpointError(f"{path}: tensor {name!r} overlaps another or leaves a gap at byte {cursor}")
            cursor = end
        if data_start + cursor != file_size:
            raise CheckpointError(
                f"{path} is truncated or has trailing bytes: tensors need {data_start + cursor} bytes, "
                f"file has {file_size}"
            )
        tensors: dict[str, np.ndarray] = {}
        for begin, end, name, shape, dtype_tag, np_dtype in entries:
            handle.seek(data_start + begin)
            array = np.fromfile(handle, dtype=np_dtype, count=(end - begin) // np_dtype.itemsize).reshape(shape)
            if dtype_tag == "BF16":
                array = bfloat16_bits_to_float32(array)
            tensors[name] = array.astype(array.dtype.newbyteorder("="), copy=False)
    return tensors, {str(k): str(v) for k, v in metadata.items()}


def _cast_for_save(array: np.ndarray, dtype: str | None) -> tuple[str, np.ndarray]:
    array = np.asarray(array)
    if dtype is None or not np.issubdtype(array.dtype, np.floating):
        tag = _NUMPY_TO_ST.get(array.dtype)
        if tag is None:
            raise CheckpointError(f"cannot store numpy dtype {array.dtype} in safetensors")
        return tag, np.ascontiguousarray(array)
    if dtype == "float32":
        return "F32", np.ascontiguousarray(array, dtype=np.float32)
    if dtype == "float16":
        return "F16", np.ascontiguousarray(array, dtype=np.float16)
    if dtype == "bfloat16":
        return "BF16", float32_to_bfloat16_bits(array.astype(np.float32))
    raise CheckpointError(f"unknown dtype {dtype!r}; choose one of {SAVE_DTYPES}")


def write_safetensors(
    path: str | os.PathLike[str],
    tensors: Mapping[str, np.ndarray],
    metadata: Mapping[str, str] | None = None,
    dtype: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Write ``tensors`` to a ``.safetensors`` file atomically, streaming one tensor at a time.

    ``dtype`` converts floating tensors (``"float32"``, ``"float16"``, ``"bfloat16"``); ``None`` keeps each dtype.
    ``progress(done_bytes, total_bytes)`` is called after each tensor.
    """
    names = sorted(tensors)
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    tags: dict[str, str] = {}
    for name in names:
        array = np.asarray(tensors[name])
        tag, _ = _cast_for_save(array[:0] if array.ndim else array.reshape(1)[:0], dtype)
        itemsize = _ST_DTYPES[tag][1]
        size = int(np.prod(array.shape, dtype=np.int64)) * itemsize
        header[name] = {"dtype": tag, "shape": list(array.shape), "data_offsets": [offset, offset + size]}
        tags[name] = tag
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # keep the data section 8-byte aligned, as the reference writer does
    with atomic_file(path) as tmp, open(tmp, "wb") as handle:
        handle.write(struct.pack("<Q", len(raw)))
        handle.write(raw)
        done = 0
        for name in names:
            _, array = _cast_for_save(tensors[name], dtype)
            data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
            handle.write(data)
            done += len(data)
            if progress is not None:
                progress(done, offset)
        handle.flush()
        os.fsync(handle.fileno())


def _stored_nbytes(array: np.ndarray, dtype: str | None) -> int:
    array = np.asarray(array)
    tag, _ = _cast_for_save(array.reshape(-1)[:0], dtype)
    return int(np.prod(array.shape, dtype=np.int64)) * _ST_DTYPES[tag][1]


def write_sharded_safetensors(
    directory: str | os.PathLike[str],
    tensors: Mapping[str, np.ndarray],
    max_shard_bytes: int,
    metadata: Mapping[str, str] | None = None,
    dtype: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Write ``tensors`` as ``model-0000k-of-0000n.safetensors`` shards of at most ``max_shard_bytes`` each (a single
    larger tensor gets a shard of its own) plus ``model.safetensors.index.json``, the layout Hugging Face reads.

    When everything fits in one shard a plain ``model.safetensors`` is written instead, as Hugging Face does.
    Returns the written files.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if max_shard_bytes <= 0:
        raise CheckpointError(f"max_shard_bytes must be positive, got {max_shard_bytes}")
    shards: list[list[str]] = [[]]
    size = total = 0
    for name in sorted(tensors):
        nbytes = _stored_nbytes(tensors[name], dtype)
        if shards[-1] and size + nbytes > max_shard_bytes:
            shards.append([])
            size = 0
        shards[-1].append(name)
        size += nbytes
        total += nbytes
    if len(shards) == 1:
        write_safetensors(directory / SAFETENSORS_NAME, tensors, metadata=metadata, dtype=dtype, progress=progress)
        return [directory / SAFETENSORS_NAME]
    written: list[Path] = []
    weight_map: dict[str, str] = {}
    done = 0
    for k, names in enumerate(shards, start=1):
        file = f"model-{k:05d}-of-{len(shards):05d}.safetensors"
        part = {name: tensors[name] for name in names}
        base = done

        def shard_progress(d: int, _t: int, base: int = base) -> None:
            if progress is not None:
                progress(base + d, total)

        write_safetensors(directory / file, part, metadata=metadata, dtype=dtype, progress=shard_progress)
        done += sum(_stored_nbytes(part[n], dtype) for n in names)
        weight_map.update({name: file for name in names})
        written.append(directory / file)
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    from .io_utils import atomic_write_text

    atomic_write_text(directory / SAFETENSORS_INDEX_NAME, json.dumps(index, indent=2) + "\n")
    written.append(directory / SAFETENSORS_INDEX_NAME)
    return written


def read_sharded_safetensors(index_path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a sharded checkpoint through its ``model.safetensors.index.json``, checking every shard's contents."""
    index_path = Path(index_path)
    try:
        weight_map = json.loads(index_path.read_text(encoding="utf-8"))["weight_map"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{index_path} is not a valid safetensors index: {exc}") from exc
    tensors: dict[str, np.ndarray] = {}
    for shard in sorted(set(weight_map.values())):
        shard_path = index_path.parent / shard
        if Path(shard).name != shard:
            raise CheckpointError(f"{index_path}: shard name {shard!r} must be a file name in the same directory")
        if not shard_path.is_file():
            raise CheckpointError(f"{index_path} names shard {shard}, which does not exist")
        part, _ = read_safetensors(shard_path)
        for name, array in part.items():
            if weight_map.get(name) != shard:
                raise CheckpointError(f"{shard_path} holds {name!r}, which the index places elsewhere")
            tensors[name] = array
    missing = sorted(set(weight_map) - set(tensors))
    if missing:
        raise CheckpointError(f"{index_path} lists tensors that no shard holds: {missing}")
    return tensors


def read_pytorch_bin(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a ``pytorch_model.bin`` without running pickled code (``torch.load(weights_only=True)``)."""
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


# ---------------------------------------------------------------------------------------------------------------------
# Formats and directories


@dataclass
class CheckpointContents:
    """A checkpoint read into canonical form."""

    state: dict[str, np.ndarray]  # canonical names, PyTorch layout
    source_format: str  # one of FORMATS
    path: Path
    config: AlbertConfig | None = None
    unmapped: list[str] = field(default_factory=list)  # source tensors with no canonical counterpart
    notes: list[str] = field(default_factory=list)  # what the reader filled in or changed (e.g. an identity map)


#: Checkpoint formats: name -> description.
FORMATS: dict[str, str] = {
    "safetensors": "Hugging Face / albert-lite model.safetensors (also sharded with an index)",
    "pytorch-bin": "Hugging Face pytorch_model.bin (read only, loaded with weights_only=True)",
    "hf-tf": "Hugging Face TensorFlow tf_model.h5",
    "tf1": "original google-research TF1 checkpoint (model.ckpt-*.index / .data-*)",
}

# Readers for formats implemented in other modules register here:
# fmt -> callable(path, config) -> (state, unmapped) or (state, unmapped, notes).
_EXTRA_READERS: dict[str, Callable[[Path, AlbertConfig | None], tuple[dict[str, np.ndarray], list[str]]]] = {}


def register_reader(fmt: str, reader: Callable[[Path, AlbertConfig | None],
                                               tuple[dict[str, np.ndarray], list[str]]]) -> None:
    """Register the reader :func:`read_checkpoint` uses for format ``fmt`` (``"hf-tf"``, ``"tf1"``).

    ``reader(path, config)`` returns ``(state, unmapped)`` or ``(state, unmapped, notes)``: the canonical state,
    the source names that map to nothing canonical, and notes for the user. :mod:`albert_core.formats` registers
    the TensorFlow formats when it is imported, which :func:`read_checkpoint` does on demand.
    """
    _EXTRA_READERS[fmt] = reader


def find_weights(path: str | os.PathLike[str]) -> tuple[str, Path]:
    """Locate the weights of a checkpoint directory or file and name their format.

    Preference inside a directory: sharded safetensors, ``model.safetensors``, ``pytorch_model.bin``,
    ``tf_model.h5``, then a TF1 ``*.index`` checkpoint.
    """
    path = Path(path)
    if path.is_dir():
        for name, fmt in ((SAFETENSORS_INDEX_NAME, "safetensors"), (SAFETENSORS_NAME, "safetensors"),
                          (PYTORCH_BIN_NAME, "pytorch-bin"), (HF_TF_NAME, "hf-tf")):
            if (path / name).is_file():
                return fmt, path / name
        indexes = sorted(path.glob("*.index"), key=lambda p: _ckpt_step(p.name))
        if indexes:
            return "tf1", indexes[-1].with_suffix("")
        raise CheckpointError(
            f"{path} holds no weights: expected {SAFETENSORS_NAME}, {PYTORCH_BIN_NAME}, {HF_TF_NAME} or a TF1 "
            "model.ckpt-*.index"
        )
    if path.is_file():
        if path.suffix == ".safetensors" or path.name.endswith(".safetensors.index.json"):
            return "safetensors", path
        if path.suffix in (".bin", ".pt", ".pth"):
            return "pytorch-bin", path
        if path.suffix in (".h5", ".hdf5"):
            return "hf-tf", path
        if path.suffix == ".index":
            return "tf1", path.with_suffix("")
        raise CheckpointError(f"cannot tell the checkpoint format of {path} from its name")
    if Path(str(path) + ".index").is_file():  # a TF1 prefix such as model.ckpt-10000
        return "tf1", path
    raise FileNotFoundError(f"no checkpoint at {path}")


def _ckpt_step(name: str) -> int:
    digits = name.rsplit("-", 1)[-1].split(".")[0]
    return int(digits) if digits.isdigit() else -1


def read_checkpoint(path: str | os.PathLike[str], config: AlbertConfig | None = None) -> CheckpointContents:
    """Read any supported checkpoint into canonical names and PyTorch layout.

    ``config`` defaults to the ``config.json`` / ``albert_config.json`` beside the weights, when there is one.
    """
    fmt, weights_path = find_weights(path)
    directory = Path(path) if Path(path).is_dir() else weights_path.parent
    if config is None:
        try:
            config = AlbertConfig.from_pretrained(directory)
        except FileNotFoundError:
            config = None
    unmapped: list[str] = []
    if fmt == "safetensors":
        if weights_path.name.endswith(".index.json"):
            raw = read_sharded_safetensors(weights_path)
        else:
            raw, _ = read_safetensors(weights_path)
        state = normalize_state_names(raw)
    elif fmt == "pytorch-bin":
        state = normalize_state_names(read_pytorch_bin(weights_path))
    else:
        if fmt not in _EXTRA_READERS:
            # importing the format module registers its reader
            from . import formats  # noqa: F401
        result = _EXTRA_READERS[fmt](weights_path, config)
        state, unmapped = result[0], list(result[1])
        notes = list(result[2]) if len(result) > 2 else []
        return CheckpointContents(state=state, source_format=fmt, path=weights_path, config=config,
                                  unmapped=unmapped, notes=notes)
    return CheckpointContents(state=state, source_format=fmt, path=weights_path, config=config, unmapped=unmapped)


def read_checkpoint_for_model(
    path: str | os.PathLike[str], config: AlbertConfig | None = None
) -> tuple[CheckpointContents, AlbertConfig]:
    """:func:`read_checkpoint`, plus the configuration to build the model with (``config`` or the one on disk)."""
    contents = read_checkpoint(path, config)
    config = config if config is not None else contents.config
    if config is None:
        raise CheckpointError(f"{path} has no config.json / albert_config.json beside the weights; pass config=")
    return contents, config


def warn_about_partial_load(model_name: str, source: str | os.PathLike[str], report: LoadReport) -> None:
    """Warn (and log) when a checkpoint left tensors of the model missing or had tensors the model does not use."""
    if report.missing or report.unexpected:
        message = f"loading {model_name} from {source}: {report.summary()}"
        logger.warning(message)
        warnings.warn(message, stacklevel=3)


def save_safetensors_checkpoint(
    directory: str | os.PathLike[str],
    state: Mapping[str, np.ndarray],
    config: AlbertConfig,
    head: Head | str,
    dtype: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    max_shard_bytes: int | None = None,
) -> Path:
    """Write ``config.json`` and ``model.safetensors`` for a model with ``head``, in Hugging Face's naming.

    With ``max_shard_bytes`` the weights are sharded (see :func:`write_sharded_safetensors`).

    ``state`` is canonical (``albert.``-prefixed); a base model is saved without the prefix, as transformers'
    ``AlbertModel`` does. Each file is written atomically.
    """
    head = Head(head)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    names = {name: (strip_backbone_prefix(name) if head is Head.BASE else name) for name in state}
    tensors = {names[name]: array for name, array in state.items()}
    if max_shard_bytes is not None:
        write_sharded_safetensors(directory, tensors, max_shard_bytes, metadata={"format": "pt"}, dtype=dtype,
                                  progress=progress)
    else:
        write_safetensors(directory / SAFETENSORS_NAME, tensors, metadata={"format": "pt"}, dtype=dtype,
                          progress=progress)
    save_config_for_head(directory, config, head)
    return directory


def save_config_for_head(
    directory: str | os.PathLike[str], config: AlbertConfig, head: Head | str, tensorflow: bool = False
) -> Path:
    """Write ``config.json`` for weights of ``head``, readable by transformers as well as here.

    ``architectures`` names the Hugging Face class (``TF``-prefixed for ``tf_model.h5`` weights). The sentence-order
    and question-answering heads here always have two outputs, while transformers sizes them by ``num_labels``; so
    their config is written with ``num_labels=2`` (``num_labels`` means nothing else for those heads).
    """
    head = Head(head)
    if head in (Head.PRETRAINING, Head.QUESTION_ANSWERING) and config.num_labels != 2:
        config = config.copy(num_labels=2, problem_type=None)
    architecture = head_spec(head).hf_class
    return config.save_pretrained(directory, architectures=["TF" + architecture if tensorflow else architecture])
