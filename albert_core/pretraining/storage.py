"""The on-disk format of pre-training data, and its framework-free, memory-mapped reader.

A data directory holds ``index.json`` and, per shard ``k``, one ``.npy`` file per field
(``shard-00000.input_ids.npy`` ...), each a ``[num_examples, ...]`` array that :func:`numpy.load` maps with
``mmap_mode="r"``. ``index.json`` records the format name and version, whether masks are ``static`` (stored) or
``dynamic`` (made while reading), each field's dtype and per-example shape, every shard's file names and example
count, the builder's settings, the vocabulary facts masking needs and summary statistics. Every file is written to
a staging file and renamed into place, and ``index.json`` last, so a directory with an index is complete.

Stored fields: ``input_ids`` (int32), ``token_type_ids`` and ``attention_mask`` (int8), ``sentence_order_label``
(int8, one per example), and ``labels`` (int32, -100 where nothing is predicted) for static masks or
``word_starts`` (uint8) for dynamic masks. The reader hands out transformers' names with int64 values.
"""

from __future__ import annotations

import bisect
import json
import os
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from albert_core.errors import InputError
from albert_core.io_utils import atomic_file, atomic_write_text
from albert_core.pretraining.masking import DynamicMasker, MaskingRecipe

FORMAT_NAME = "albert-lite-pretraining"
FORMAT_VERSION = 1
INDEX_FILE = "index.json"
#: The names examples are handed out with, as transformers' ``AlbertForPreTraining`` takes them.
#: The fields a forward pass reads, and the labels the pre-training loss reads; both backends feed these.
MODEL_INPUT_FIELDS = ("input_ids", "token_type_ids", "attention_mask")
LABEL_FIELDS = ("labels", "sentence_order_label")
EXAMPLE_FIELDS = MODEL_INPUT_FIELDS + LABEL_FIELDS
STORED_DTYPES = {"input_ids": "int32", "token_type_ids": "int8", "attention_mask": "int8", "labels": "int32",
                 "word_starts": "uint8", "sentence_order_label": "int8"}


def stored_fields(dynamic_masking: bool) -> tuple[str, ...]:
    """The fields kept on disk: the masked ``labels`` for static masks, ``word_starts`` to mask with later otherwise.

    >>> stored_fields(dynamic_masking=True)
    ('input_ids', 'token_type_ids', 'attention_mask', 'word_starts', 'sentence_order_label')
    >>> shard_file_name(3, "input_ids")
    'shard-00003.input_ids.npy'
    """
    last = "word_starts" if dynamic_masking else "labels"
    return ("input_ids", "token_type_ids", "attention_mask", last, "sentence_order_label")


def shard_file_name(shard: int, field: str) -> str:
    return f"shard-{shard:05d}.{field}.npy"


def write_shard(directory: Path, shard: int, arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Write one shard's arrays (one ``.npy`` each, atomically) and return its index entry."""
    counts = {len(a) for a in arrays.values()}
    if len(counts) != 1:
        raise InputError(f"shard {shard}: fields hold different numbers of examples: {sorted(counts)}")
    files = {}
    for name, array in arrays.items():
        files[name] = shard_file_name(shard, name)
        with atomic_file(directory / files[name]) as staging, open(staging, "wb") as handle:
            np.save(handle, np.ascontiguousarray(array, dtype=STORED_DTYPES[name]), allow_pickle=False)
    return {"num_examples": counts.pop(), "files": files}


def write_index(directory: Path, index: Mapping[str, Any]) -> Path:
    """Write ``index.json`` atomically, with sorted keys so that equal data give equal bytes."""
    path = directory / INDEX_FILE
    atomic_write_text(path, json.dumps(index, indent=2, sort_keys=True) + "\n")
    return path


def read_index(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check ``index.json`` of a data directory (or the index file itself)."""
    path = Path(path)
    index_path = path / INDEX_FILE if path.is_dir() else path
    if not index_path.is_file():
        raise InputError(f"path: {path} holds no pre-training data ({INDEX_FILE} is missing)")
    index = json.loads(index_path.read_text(encoding="utf-8"))
    if index.get("format") != FORMAT_NAME:
        raise InputError(f"path: {index_path} is not an {FORMAT_NAME} index")
    if index.get("format_version", 0) > FORMAT_VERSION:
        raise InputError(f"path: {index_path} has format version {index['format_version']}; this reader knows up "
                         f"to {FORMAT_VERSION}")
    return index


def masking_recipe_from_index(index: Mapping[str, Any]) -> MaskingRecipe:
    """The :class:`MaskingRecipe` a data directory was (or, for dynamic masks, is to be) masked with."""
    settings, vocab = index["settings"], index["vocabulary"]
    excluded = set(vocab["special_ids"])
    replacement = np.array([i for i in range(vocab["size"]) if i not in excluded], dtype=np.int32)
    return MaskingRecipe(mask_token_id=vocab["mask_token_id"], replacement_ids=replacement,
                         unmaskable_ids=tuple(vocab["unmaskable_ids"]), masked_lm_prob=settings["masked_lm_prob"],
                         max_predictions_per_seq=settings["max_predictions_per_seq"],
                         max_ngram=settings["max_ngram"])


class PretrainingDataset:
    """Random access to pre-training examples, memory-mapped shard by shard.

    ``dataset[i]`` is a dict with ``input_ids``, ``token_type_ids``, ``attention_mask``, ``labels``
    (``[max_seq_length]``) and ``sentence_order_label`` (a 0-d array), all int64 as transformers expects; only row ``i``
    is read. With ``as_stored=True`` the arrays are the memory-mapped rows themselves, in their stored dtypes (dynamic
    data then carries ``word_starts`` instead of ``labels``). Dynamic data is masked by ``masker`` (default: a
    :class:`~albert_core.pretraining.masking.DynamicMasker` with the recipe and seed recorded in the index) for the
    epoch set with :meth:`set_epoch`.

    The object pickles without its open maps, so a PyTorch ``DataLoader`` with worker processes can wrap it
    directly; ``tf.data.Dataset.from_generator`` can read ``iter(dataset)`` with the shapes of :meth:`output_spec`.

    >>> import tempfile
    >>> from albert_core.pretraining import build_pretraining_data
    >>> from albert_core.tokenizer import AlbertTokenizer, train_sentencepiece
    >>> lines = ["the quick brown fox jumps over the lazy dog.", "pack my box with five dozen liquor jugs."] * 40
    >>> tok = AlbertTokenizer(train_sentencepiece(lines, tempfile.mkdtemp(), vocab_size=60))
    >>> out = build_pretraining_data(lines, tempfile.mkdtemp(), tok, max_seq_length=32, dupe_factor=2, progress=False)
    >>> data = PretrainingDataset(out)
    >>> len(data) > 0, sorted(data[0]), data[0]["input_ids"].shape, data[0]["labels"].dtype
    (True, ['attention_mask', 'input_ids', 'labels', 'sentence_order_label', 'token_type_ids'], (32,), dtype('int64'))
    """

    def __init__(self, path: str | os.PathLike[str], *, as_stored: bool = False, masker: DynamicMasker | None = None,
                 epoch: int = 0) -> None:
        self.path = Path(path)
        self.directory = self.path if self.path.is_dir() else self.path.parent
        self.index = read_index(self.path)
        self.dynamic = self.index["masking"] == "dynamic"
        self.as_stored = bool(as_stored)
        self.max_seq_length = int(self.index["settings"]["max_seq_length"])
        self.masker = masker
        if self.dynamic and masker is None:
            self.masker = DynamicMasker(masking_recipe_from_index(self.index), seed=self.index["settings"]["seed"])
        self.epoch = int(epoch)
        self._shards = self.index["shards"]
        self._ends = np.cumsum([s["num_examples"] for s in self._shards]).tolist()
        self._maps: dict[int, dict[str, np.ndarray]] = {}

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose dynamic masks are handed out (call it before creating each epoch's iterator)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_maps"] = {}  # memory maps are reopened in the receiving process
        return state

    def shard_arrays(self, shard: int) -> dict[str, np.ndarray]:
        """The memory-mapped arrays (``np.memmap``) of one shard, opened on first use."""
        if shard not in self._maps:
            files = self._shards[shard]["files"]
            self._maps[shard] = {name: np.load(self.directory / file, mmap_mode="r", allow_pickle=False)
                                 for name, file in files.items()}
        return self._maps[shard]

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        length = len(self)
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an integer, got {type(index).__name__}")
        position = int(index) + length if index < 0 else int(index)
        if not 0 <= position < length:
            raise IndexError(f"index {index} is out of range for {length} examples")
        shard = bisect.bisect_right(self._ends, position)
        row = position - (self._ends[shard - 1] if shard else 0)
        # ``row, ...`` keeps even a 0-d result a memory-mapped view rather than a numpy scalar
        example = {name: array[row, ...] for name, array in self.shard_arrays(shard).items()}
        if self.as_stored:
            return example
        if self.dynamic:
            example.update(self.masker(example, index=position, epoch=self.epoch))
        return {name: np.asarray(example[name], dtype=np.int64) for name in EXAMPLE_FIELDS}

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        for position in range(len(self)):
            yield self[position]

    def output_spec(self) -> dict[str, tuple[tuple[int, ...], str]]:
        """``{name: (shape, dtype)}`` of one example, e.g. to build ``tf.TensorSpec`` objects for ``tf.data``."""
        if self.as_stored:
            fields = {name: STORED_DTYPES[name] for name in self._shards[0]["files"]} if self._shards else {}
        else:
            fields = {name: "int64" for name in EXAMPLE_FIELDS}
        return {name: ((), dtype) if name == "sentence_order_label" else ((self.max_seq_length,), dtype)
                for name, dtype in fields.items()}


def read_examples(path: str | os.PathLike[str], *, epoch: int = 0,
                  masker: DynamicMasker | None = None) -> Iterator[dict[str, np.ndarray]]:
    """Yield every example of a data directory in order, as :class:`PretrainingDataset` hands them out.

    >>> import tempfile
    >>> from albert_core.pretraining import build_pretraining_data
    >>> from albert_core.tokenizer import AlbertTokenizer, train_sentencepiece
    >>> lines = ["the quick brown fox jumps over the lazy dog.", "pack my box with five dozen liquor jugs."] * 40
    >>> tok = AlbertTokenizer(train_sentencepiece(lines, tempfile.mkdtemp(), vocab_size=60))
    >>> out = build_pretraining_data(lines, tempfile.mkdtemp(), tok, max_seq_length=32, dupe_factor=1,
    ...                              dynamic_masking=True, progress=False)
    >>> first = next(read_examples(out))
    >>> int(first["input_ids"][0]) == tok.cls_token_id, first["sentence_order_label"].shape
    (True, ())
    """
    yield from PretrainingDataset(path, masker=masker, epoch=epoch)
