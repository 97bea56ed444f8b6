"""Strict ``safetensors`` reading and writing on numpy arrays, single files and shards.

The header is validated against the file (offsets, gaps, overlaps, dtypes, byte counts) before any tensor is read,
so a truncated or forged file is a :class:`~albert_core.CheckpointError`, never a wrong tensor. Files are written
atomically, one tensor at a time.
"""

from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from ..config import AlbertConfig
from ..errors import (
    MAX_JSON_FILE_BYTES,
    MAX_SAFETENSORS_HEADER_BYTES,
    MAX_TENSOR_DIMENSION,
    MAX_TENSOR_RANK,
    CheckpointError,
)
from ..filenames import SAFETENSORS_INDEX, SAFETENSORS_WEIGHTS, safetensors_shard_name
from ..io_utils import atomic_file, atomic_write_text
from ..weights import normalize_state_names
from .contents import CheckpointContents, Progress

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

#: dtypes ``--dtype`` / ``save_*(dtype=...)`` accept.
SAVE_DTYPES = ("float32", "float16", "bfloat16")

#: ``progress(done_bytes, total_bytes)`` of the safetensors writers.
ByteProgress = Callable[[int, int], None]


def bfloat16_bits_to_float32(bits: np.ndarray) -> np.ndarray:
    """Widen raw bfloat16 bit patterns (uint16) to float32 exactly.

    >>> bfloat16_bits_to_float32(np.array([0x3F80], np.uint16))
    array([1.], dtype=float32)
    """
    return (bits.astype(np.uint32) << 16).view(np.float32)


def float32_to_bfloat16_bits(values: np.ndarray) -> np.ndarray:
    """Round float32 to bfloat16 (nearest, ties to even) and return the uint16 bit patterns."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    nan = np.isnan(values)
    rounded = ((bits + np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1))) >> 16).astype(np.uint16)
    rounded[nan] = np.uint16(0x7FC0)
    return rounded


def _no_duplicate_keys(path: Path, what: str):
    def hook(pairs: list[tuple[str, object]]) -> dict:
        out: dict = {}
        for key, value in pairs:
            if key in out:
                raise CheckpointError(f"{path}: {what} names {key!r} twice")
            out[key] = value
        return out

    return hook


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _read_header(handle, path: Path, file_size: int) -> tuple[dict, int]:
    prefix = handle.read(8)
    if len(prefix) != 8:
        raise CheckpointError(f"{path} is truncated: {file_size} bytes is too short for a safetensors header")
    (header_len,) = struct.unpack("<Q", prefix)
    if header_len > MAX_SAFETENSORS_HEADER_BYTES:
        raise CheckpointError(f"{path} is truncated or not a safetensors file: header claims {header_len} bytes, "
                              f"more than the limit of {MAX_SAFETENSORS_HEADER_BYTES}")
    if 8 + header_len > file_size:
        raise CheckpointError(
            f"{path} is truncated or not a safetensors file: header claims {header_len} bytes, file has {file_size}"
        )
    raw = handle.read(header_len)
    if not raw.startswith(b"{"):
        raise CheckpointError(f"{path} has a corrupt safetensors header: expected a JSON object starting with '{{'")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicate_keys(path, "the header"))
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise CheckpointError(f"{path} has a corrupt safetensors header: {exc}") from exc
    except RecursionError as exc:
        raise CheckpointError(f"{path} has a corrupt safetensors header: nested too deeply") from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} has a corrupt safetensors header (not a JSON object)")
    return header, 8 + header_len


@dataclass(frozen=True)
class HeaderEntry:
    """One tensor of a safetensors header, validated: where its bytes are and what they hold."""

    name: str
    dtype_tag: str
    shape: tuple[int, ...]
    begin: int  # offsets into the data section (after the header)
    end: int


def _parse_entry(path: Path, name: str, info: object, data_size: int) -> HeaderEntry:
    where = f"{path}: tensor {name!r}"
    if not isinstance(info, dict):
        raise CheckpointError(f"{where}: header entry must be an object with dtype, shape, data_offsets, "
                              f"got {type(info).__name__}")
    missing = [key for key in ("dtype", "shape", "data_offsets") if key not in info]
    if missing:
        raise CheckpointError(f"{where}: header entry lacks {', '.join(missing)}")
    dtype_tag, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(dtype_tag, str) or dtype_tag not in _ST_DTYPES:
        raise CheckpointError(f"{where} has unsupported dtype {dtype_tag!r}; expected one of {sorted(_ST_DTYPES)}")
    if not isinstance(shape, list) or not all(_is_int(d) for d in shape):
        raise CheckpointError(f"{where}: shape must be a list of integers, got {shape!r:.200}")
    if len(shape) > MAX_TENSOR_RANK:
        raise CheckpointError(f"{where}: rank {len(shape)} is above the limit of {MAX_TENSOR_RANK}")
    if any(d < 0 or d > MAX_TENSOR_DIMENSION for d in shape):
        raise CheckpointError(f"{where} has an invalid shape {shape}: dimensions must lie in "
                              f"[0, {MAX_TENSOR_DIMENSION}]")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)):
        raise CheckpointError(f"{where}: data_offsets must be two integers [begin, end], got {offsets!r:.200}")
    begin, end = offsets
    expected = math.prod(shape) * _ST_DTYPES[dtype_tag][1]  # Python integers: no overflow
    if not 0 <= begin <= end <= data_size:
        raise CheckpointError(f"{where}: data_offsets [{begin}, {end}) lie outside the {data_size}-byte data "
                              "section of the file")
    if end - begin != expected:
        raise CheckpointError(
            f"{where} of shape {shape} ({dtype_tag}) needs {expected} bytes, header gives offsets [{begin}, {end})"
        )
    return HeaderEntry(name, dtype_tag, tuple(shape), begin, end)


def read_safetensors_header(path: str | os.PathLike[str]) -> tuple[list[HeaderEntry], dict[str, str], int]:
    """Read and validate a safetensors header against the file, without reading any tensor.

    Returns ``(entries sorted by offset, metadata, data start)``. Every check of :func:`read_safetensors` that needs
    no tensor data happens here: types, shapes (rank and dimension limits of :mod:`albert_core.errors`), dtypes,
    byte counts, offsets inside the file, no overlap, no gap, no trailing bytes.
    """
    path = Path(path)
    try:
        file_size = path.stat().st_size
        handle = open(path, "rb")
    except IsADirectoryError as exc:
        raise CheckpointError(f"{path} is a directory, not a safetensors file") from exc
    with handle:
        header, data_start = _read_header(handle, path, file_size)
    metadata = header.pop("__metadata__", None)
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(f"{path}: __metadata__ must map strings to strings, got {metadata!r:.200}")
    data_size = file_size - data_start
    entries = sorted((_parse_entry(path, name, info, data_size) for name, info in header.items()),
                     key=lambda e: (e.begin, e.end))
    cursor = 0
    for entry in entries:
        if entry.begin != cursor:
            what = "overlaps another tensor" if entry.begin < cursor else "leaves a gap before it"
            raise CheckpointError(f"{path}: tensor {entry.name!r} {what} (starts at byte {entry.begin}, the "
                                  f"previous tensor ends at {cursor})")
        cursor = entry.end
    if cursor != data_size:
        raise CheckpointError(
            f"{path} is truncated or has trailing bytes: tensors need {data_start + cursor} bytes, "
            f"file has {file_size}"
        )
    return entries, metadata, data_start


def read_safetensors(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read every tensor of a ``.safetensors`` file, validating the header against the file.

    Returns ``(tensors, metadata)`` under the names stored in the file. bfloat16 tensors are widened to float32
    (exactly). Raises :class:`~albert_core.CheckpointError` naming the tensor for a truncated file, overlapping or
    out-of-bounds tensors, an unknown dtype or a shape that does not match the byte count, all before any tensor is
    allocated (see ``read_safetensors_header``): the arrays read add up to the file's size.
    """
    path = Path(path)
    entries, metadata, data_start = read_safetensors_header(path)
    tensors: dict[str, np.ndarray] = {}
    with open(path, "rb") as handle:
        for entry in entries:
            np_dtype = _ST_DTYPES[entry.dtype_tag][0]
            count = (entry.end - entry.begin) // np_dtype.itemsize
            handle.seek(data_start + entry.begin)
            array = np.fromfile(handle, dtype=np_dtype, count=count)
            if array.size != count:
                raise CheckpointError(f"{path} changed while it was read: tensor {entry.name!r} is truncated")
            array = array.reshape(entry.shape)
            if entry.dtype_tag == "BF16":
                array = bfloat16_bits_to_float32(array)
            tensors[entry.name] = array.astype(array.dtype.newbyteorder("="), copy=False)
    return tensors, dict(metadata)


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
    progress: ByteProgress | None = None,
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
    for name in names:
        array = np.asarray(tensors[name])
        tag, _ = _cast_for_save(array[:0] if array.ndim else array.reshape(1)[:0], dtype)
        size = int(np.prod(array.shape, dtype=np.int64)) * _ST_DTYPES[tag][1]
        header[name] = {"dtype": tag, "shape": list(array.shape), "data_offsets": [offset, offset + size]}
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
    progress: ByteProgress | None = None,
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
        write_safetensors(directory / SAFETENSORS_WEIGHTS, tensors, metadata=metadata, dtype=dtype,
                          progress=progress)
        return [directory / SAFETENSORS_WEIGHTS]
    written: list[Path] = []
    weight_map: dict[str, str] = {}
    done = 0
    for k, names in enumerate(shards, start=1):
        file = safetensors_shard_name(k, len(shards))
        part = {name: tensors[name] for name in names}

        def shard_progress(d: int, _t: int, base: int = done) -> None:
            if progress is not None:
                progress(base + d, total)

        write_safetensors(directory / file, part, metadata=metadata, dtype=dtype, progress=shard_progress)
        done += sum(_stored_nbytes(part[n], dtype) for n in names)
        weight_map.update({name: file for name in names})
        written.append(directory / file)
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    atomic_write_text(directory / SAFETENSORS_INDEX, json.dumps(index, indent=2) + "\n")
    written.append(directory / SAFETENSORS_INDEX)
    return written


def read_safetensors_index(index_path: str | os.PathLike[str]) -> dict[str, str]:
    """The ``weight_map`` of a ``model.safetensors.index.json``, validated: tensor name -> shard file name.

    Shard names must be plain ``*.safetensors`` file names in the index's directory (no path that could escape it).
    """
    index_path = Path(index_path)
    size = index_path.stat().st_size
    if size > MAX_JSON_FILE_BYTES:
        raise CheckpointError(f"{index_path} is {size} bytes, more than the limit of {MAX_JSON_FILE_BYTES}")
    try:
        index = json.loads(index_path.read_bytes().decode("utf-8"),
                           object_pairs_hook=_no_duplicate_keys(index_path, "the index"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(f"{index_path} is not a valid safetensors index: {exc}") from exc
    except RecursionError as exc:
        raise CheckpointError(f"{index_path} is not a valid safetensors index: nested too deeply") from exc
    if not isinstance(index, dict) or not isinstance(index.get("weight_map"), dict):
        raise CheckpointError(f"{index_path} is not a valid safetensors index: expected an object with a "
                              "'weight_map' object (tensor name -> shard file)")
    weight_map = index["weight_map"]
    if not weight_map:
        raise CheckpointError(f"{index_path}: 'weight_map' lists no tensors")
    for name, shard in weight_map.items():
        if not isinstance(shard, str):
            raise CheckpointError(f"{index_path}: tensor {name!r} maps to {shard!r:.100}, expected a shard file name")
        if (shard in ("", ".", "..") or "/" in shard or "\\" in shard or "\0" in shard or Path(shard).name != shard
                or not shard.endswith(".safetensors")):
            raise CheckpointError(f"{index_path}: tensor {name!r} maps to {shard!r}; a shard must be a "
                                  "*.safetensors file name in the same directory")
    return dict(weight_map)


def read_sharded_safetensors(index_path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a sharded checkpoint through its ``model.safetensors.index.json``, checking every shard's contents.

    Every shard must exist and hold exactly the tensors the index places in it (a tensor in two shards, or in a
    shard the index does not name for it, is an error), before any shard's tensors are read.
    """
    index_path = Path(index_path)
    weight_map = read_safetensors_index(index_path)
    shards = sorted(set(weight_map.values()))
    for shard in shards:
        if not (index_path.parent / shard).is_file():
            raise CheckpointError(f"{index_path} names shard {shard}, which does not exist")
    seen: dict[str, str] = {}
    for shard in shards:  # headers first: a misplaced tensor is found before any data is read
        for entry in read_safetensors_header(index_path.parent / shard)[0]:
            if entry.name in seen:
                raise CheckpointError(f"tensor {entry.name!r} is stored in two shards, {seen[entry.name]} and {shard}")
            seen[entry.name] = shard
            if weight_map.get(entry.name) != shard:
                raise CheckpointError(f"{index_path.parent / shard} holds {entry.name!r}, which the index places "
                                      f"{'in ' + weight_map[entry.name] if entry.name in weight_map else 'nowhere'}")
    missing = sorted(set(weight_map) - set(seen))
    if missing:
        raise CheckpointError(f"{index_path} lists tensors that no shard holds: {missing[:10]}"
                              + (f" and {len(missing) - 10} more" if len(missing) > 10 else ""))
    tensors: dict[str, np.ndarray] = {}
    for shard in shards:
        tensors.update(read_safetensors(index_path.parent / shard)[0])
    return tensors


def read_safetensors_checkpoint(path: Path, config: AlbertConfig | None = None,
                                progress: Progress | None = None) -> CheckpointContents:
    """The ``safetensors`` reader of the format table: one file, names made canonical."""
    tensors, _ = read_safetensors(path)
    return CheckpointContents(state=normalize_state_names(tensors), source_format="safetensors", path=Path(path),
                              config=config)


def read_sharded_safetensors_checkpoint(path: Path, config: AlbertConfig | None = None,
                                        progress: Progress | None = None) -> CheckpointContents:
    """The ``safetensors-sharded`` reader of the format table: the shards an index lists, names made canonical."""
    return CheckpointContents(state=normalize_state_names(read_sharded_safetensors(path)),
                              source_format="safetensors-sharded", path=Path(path), config=config)


__all__ = [
    "SAVE_DTYPES",
    "bfloat16_bits_to_float32",
    "float32_to_bfloat16_bits",
    "HeaderEntry",
    "read_safetensors",
    "read_safetensors_checkpoint",
    "read_safetensors_header",
    "read_safetensors_index",
    "read_sharded_safetensors",
    "read_sharded_safetensors_checkpoint",
    "write_safetensors",
    "write_sharded_safetensors",
]
