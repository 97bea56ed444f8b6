"""Property-based fuzzing of every file albert-lite reads: safetensors, tf_model.h5, the shard index, config.json and
tokenizer_config.json.

Each target asserts one property: the input *loads correctly or raises a library error* (:class:`AlbertError`)
*naming the problem*, and the process's peak memory grows by less than :data:`MEMORY_BOUND` over the whole target
(``resource.getrusage`` max RSS: the inputs are tiny, so any allocation sized by a forged header shows up).

CI runs ``ALBERT_FUZZ_EXAMPLES`` examples per target (default 50), derandomized so that a run is reproducible.
The longer run for maintainers, before a release or after touching a reader::

    ALBERT_FUZZ_EXAMPLES=5000 ALBERT_FUZZ_RANDOM=1 ALBERT_FUZZ_REPORT=fuzz.json \\
        python -m pytest -n 0 -p no:cacheprovider tests/test_fuzz_checkpoints.py

``ALBERT_FUZZ_RANDOM=1`` draws new examples each run (hypothesis prints the seed of a failure, and
``@reproduce_failure`` to replay it); ``ALBERT_FUZZ_REPORT`` writes the counts of distinct inputs and outcomes by
target as JSON (they are also printed at the end of the module with ``-s``).
"""
from __future__ import annotations

import collections
import hashlib
import json
import os
import resource
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest

from albert_core import AlbertConfig
from albert_core.checkpoints import (
    read_hf_tf_checkpoint,
    read_safetensors,
    read_sharded_safetensors,
    save_safetensors_checkpoint,
    write_hf_tf,
)
from albert_core.errors import AlbertError
from albert_core.weights import canonical_specs
from conftest import tiny_config

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

EXAMPLES = int(os.environ.get("ALBERT_FUZZ_EXAMPLES", "50"))
MEMORY_BOUND = 200 * 2**20
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                derandomize=os.environ.get("ALBERT_FUZZ_RANDOM") != "1",
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "albert_core" / "assets" / "default"

#: target -> {"inputs": set of input digests, outcome -> count}
OUTCOMES: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
DISTINCT: dict[str, set[str]] = collections.defaultdict(set)


def max_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Bounded:
    """Record one fuzzed input and its outcome; fail on an exception that is not a library error, or one that
    does not name the file."""

    def __init__(self, target: str, data: bytes, names: tuple[str, ...]) -> None:
        self.target, self.names = target, names
        DISTINCT[target].add(hashlib.sha256(data).hexdigest())

    def __enter__(self) -> "Bounded":
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if kind is None:
            OUTCOMES[self.target]["loaded"] += 1
            return False
        if issubclass(kind, AlbertError):
            OUTCOMES[self.target][kind.__name__] += 1
            assert any(name in str(exc) for name in self.names), f"{kind.__name__} names no file: {exc}"
            return True
        OUTCOMES[self.target][f"ESCAPED {kind.__name__}"] += 1
        return False  # re-raised: the test fails with the raw exception


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    start = max_rss()
    yield
    summary = {target: {"distinct_inputs": len(DISTINCT[target]), **dict(sorted(OUTCOMES[target].items()))}
               for target in sorted(DISTINCT)}
    print("\nfuzz outcomes:", json.dumps(summary, indent=1))
    if os.environ.get("ALBERT_FUZZ_REPORT"):
        Path(os.environ["ALBERT_FUZZ_REPORT"]).write_text(json.dumps(summary, indent=1) + "\n")
    assert max_rss() - start < MEMORY_BOUND


@pytest.fixture
def memory():
    start = max_rss()
    yield
    assert max_rss() - start < MEMORY_BOUND, "a fuzzed input made the reader allocate memory sized by its header"


# ---------------------------------------------------------------------------------------------------------------------
# safetensors

DTYPES = ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "U64", "F8_E4M3", "f32", ""]
INTS = st.one_of(st.integers(-3, 16), st.integers(-2**70, 2**70), st.sampled_from([2**31, 2**32, 2**63, 2**64]))
JSON_SCALARS = st.one_of(st.none(), st.booleans(), INTS, st.floats(allow_nan=False), st.text(max_size=5))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                 st.dictionaries(st.text(max_size=5), inner,
                                                                                 max_size=4)), max_leaves=12)


@st.composite
def safetensors_files(draw) -> bytes:
    """A header of plausible entries with random damage, a data section of random length, then byte damage."""
    pristine = draw(st.integers(0, 3)) == 0  # a valid file now and then: the reader must load it
    entries: dict[str, object] = {}
    offset = 0
    for index in range(draw(st.integers(0, 4))):
        dtype = draw(st.sampled_from(DTYPES[:10] if pristine else DTYPES))
        shape = draw(st.lists(st.integers(0, 6), max_size=3))
        size = int(np.prod(shape)) * {"F64": 8, "I64": 8, "F32": 4, "I32": 4, "F16": 2, "BF16": 2,
                                      "I16": 2}.get(dtype, 1)
        entry: dict[str, object] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
        damage = "none" if pristine else draw(st.sampled_from(["none", "none", "shape", "offsets", "dtype", "entry",
                                                               "drop_key"]))
        if damage == "shape":
            entry["shape"] = draw(st.one_of(st.lists(INTS, max_size=4), JSON_VALUES))
        elif damage == "offsets":
            entry["data_offsets"] = draw(st.one_of(st.lists(INTS, min_size=2, max_size=2), JSON_VALUES))
        elif damage == "dtype":
            entry["dtype"] = draw(JSON_VALUES)
        elif damage == "entry":
            entry = draw(JSON_VALUES)
        elif damage == "drop_key":
            entry.pop(draw(st.sampled_from(["dtype", "shape", "data_offsets"])))
        entries[draw(st.sampled_from(["w", "b", "x.y", "", "__metadata__"])) + str(index)] = entry
    if not pristine and draw(st.booleans()):
        entries["__metadata__"] = draw(st.one_of(st.dictionaries(st.text(max_size=3), st.text(max_size=3)),
                                                 JSON_VALUES))
    header = json.dumps(entries).encode()
    if pristine:
        return struct.pack("<Q", len(header)) + header + b"\0" * offset
    if draw(st.integers(0, 9)) == 0:  # deep nesting
        depth = draw(st.integers(100, 3_000))
        header = b'{"w":' + b"[" * depth + b"]" * depth + b"}"
    length = len(header) + draw(st.sampled_from([0] * 6 + [1, -1, 7, 2**40, 2**64 - 1 - len(header)]))
    blob = struct.pack("<Q", max(0, min(length, 2**64 - 1))) + header
    if draw(st.integers(0, 3)) == 0:  # junk between the header and the data
        blob += bytes(draw(st.lists(st.integers(0, 255), min_size=1, max_size=8)))
    blob += b"\0" * max(0, offset)
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2, 3]))):  # byte damage
        if blob:
            at = draw(st.integers(0, len(blob) - 1))
            blob = blob[:at] + bytes([draw(st.integers(0, 255))]) + blob[at + 1:]
    if draw(st.integers(0, 5)) == 0:
        blob = blob[: draw(st.integers(0, len(blob)))]
    return blob


@FUZZ
@given(blob=safetensors_files())
def test_fuzz_safetensors_reader(blob, memory):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.safetensors"
        path.write_bytes(blob)
        with Bounded("safetensors", blob, (str(path),)):
            tensors, metadata = read_safetensors(path)
            assert all(isinstance(v, str) for v in metadata.values())
            assert sum(a.nbytes for a in tensors.values()) <= 2 * len(blob)  # bf16 is widened to float32


# ---------------------------------------------------------------------------------------------------------------------
# tf_model.h5

H5_NAMES = ["tf_albert_model/albert/embeddings/word_embeddings/weight:0",
            "tf_albert_model/albert/pooler/kernel:0", "tf_albert_model/albert/pooler/bias:0", "junk:0"]


@st.composite
def h5_specs(draw) -> dict:
    return {
        "layer_names": draw(st.sampled_from(["ok", "missing", "ints", "scalar", "unknown_layer", "2d"])),
        "weight_names": draw(st.sampled_from(["ok", "missing_dataset", "ints", "group_instead"])),
        "datasets": draw(st.lists(st.tuples(
            st.sampled_from(H5_NAMES),
            st.one_of(st.tuples(st.integers(0, 5), st.integers(0, 5)),
                      st.tuples(st.sampled_from([160_000_000, 2**31, 10**9]), st.integers(1, 64)),
                      st.tuples(st.integers(0, 4))),
            st.sampled_from(["f4", "f2", "f8", "i4", "S8"]),
            st.sampled_from(["written", "unwritten", "gzip"]),
        ), min_size=0, max_size=3, unique_by=lambda d: d[0])),
        "corrupt": draw(st.sampled_from([None, None, None, "flip", "truncate"])),
        "seed": draw(st.integers(0, 2**16)),
    }


def _write_h5(path: Path, spec: dict) -> None:
    import h5py

    rng = np.random.default_rng(spec["seed"])
    with h5py.File(path, "w") as handle:
        layers = {"ok": np.array([b"albert"]), "ints": np.array([1, 2]), "scalar": np.bytes_(b"albert"),
                  "unknown_layer": np.array([b"albert", b"nope"]), "2d": np.array([[b"albert"]])}
        if spec["layer_names"] in layers:
            handle.attrs["layer_names"] = layers[spec["layer_names"]]
        group = handle.create_group("albert")
        names = [name for name, *_ in spec["datasets"]]
        if spec["weight_names"] == "ints":
            group.attrs["weight_names"] = np.arange(3)
        else:
            extra = [b"missing:0"] if spec["weight_names"] == "missing_dataset" else []
            group.attrs["weight_names"] = np.array([n.encode() for n in names] + extra or [b"none:0"])
        if spec["weight_names"] == "group_instead" and names:
            group.create_group(names[0])
            spec = {**spec, "datasets": spec["datasets"][1:]}
        for name, shape, dtype, storage in spec["datasets"]:
            huge = int(np.prod(shape)) > 10**6
            if storage == "unwritten" or (huge and dtype != "S8"):
                group.create_dataset(name, shape=shape, dtype=dtype)
            elif dtype == "S8":
                group.create_dataset(name, data=np.full(shape if not huge else (2,), b"x", dtype="S8"))
            else:
                data = rng.standard_normal(shape).astype(dtype)
                group.create_dataset(name, data=data, compression="gzip" if storage == "gzip" and data.ndim else None)
    if spec["corrupt"]:
        raw = bytearray(path.read_bytes())
        if spec["corrupt"] == "flip":
            for i in range(spec["seed"] % 97, len(raw), 211):
                raw[i] ^= 0x5A
        else:
            raw = raw[: len(raw) * (spec["seed"] % 9 + 1) // 10]
        path.write_bytes(bytes(raw))


@FUZZ
@given(spec=h5_specs())
def test_fuzz_h5_reader(spec, memory):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tf_model.h5"
        _write_h5(path, spec)
        with Bounded("tf_model.h5", path.read_bytes(), (str(path),)):
            contents = read_hf_tf_checkpoint(path)
            assert all(np.issubdtype(a.dtype, np.floating) for a in contents.state.values())


def test_h5_round_trip_still_loads(tmp_path):
    config = tiny_config()
    state = {n: np.ones(s.shape, np.float32) for n, s in canonical_specs(config, "base").items()}
    loaded = read_hf_tf_checkpoint(write_hf_tf(tmp_path / "tf_model.h5", state, "base", config)).state
    assert loaded.keys() == state.keys()


# ---------------------------------------------------------------------------------------------------------------------
# model.safetensors.index.json


@pytest.fixture(scope="module")
def sharded(tmp_path_factory) -> Path:
    config = tiny_config()
    rng = np.random.default_rng(0)
    state = {n: rng.standard_normal(s.shape).astype(np.float32) for n, s in canonical_specs(config).items()}
    directory = tmp_path_factory.mktemp("sharded")
    save_safetensors_checkpoint(directory, state, config, "pretraining", max_shard_bytes=20_000)
    return directory


@st.composite
def index_mutations(draw) -> tuple[str, object]:
    kind = draw(st.sampled_from(["drop", "rename", "retype", "swap", "add", "shard_name", "top", "raw", "none"]))
    bad_names = ["../x.safetensors", "/etc/passwd", "..", ".", "a/b.safetensors", "model.safetensors",
                 "model-00001-of-00009.safetensors", "x\\y.safetensors", "x\0.safetensors"]
    value = draw(st.one_of(JSON_VALUES, st.sampled_from(bad_names)))
    return kind, value, draw(st.integers(0, 10_000))


def _mutate_index(index: dict, mutation) -> bytes:
    kind, value, pick = mutation
    weight_map = dict(index["weight_map"])
    names = sorted(weight_map)
    name = names[pick % len(names)]
    shards = sorted(set(weight_map.values()))
    if kind == "drop":
        del weight_map[name]
    elif kind == "rename":
        weight_map[str(value)] = weight_map.pop(name)
    elif kind == "retype":
        weight_map[name] = value
    elif kind == "swap":
        weight_map[name] = shards[(shards.index(weight_map[name]) + 1) % len(shards)]
    elif kind == "add":
        weight_map[f"extra.{pick}"] = shards[pick % len(shards)]
    elif kind == "shard_name":
        weight_map = {n: (value if s == weight_map[name] else s) for n, s in weight_map.items()}
    elif kind == "top":
        return json.dumps(value).encode()
    elif kind == "raw":
        return json.dumps(index).encode()[: pick % 200]
    return json.dumps({**index, "weight_map": weight_map}).encode()


@FUZZ
@given(mutation=index_mutations())
def test_fuzz_shard_index(sharded, mutation, memory):
    original = json.loads((sharded / "model.safetensors.index.json").read_text())
    expected = read_sharded_safetensors(sharded / "model.safetensors.index.json")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "ckpt"
        shutil.copytree(sharded, directory)
        blob = _mutate_index(original, mutation)
        (directory / "model.safetensors.index.json").write_bytes(blob)
        with Bounded("safetensors index", blob, (str(directory),)):
            tensors = read_sharded_safetensors(directory / "model.safetensors.index.json")
            assert tensors.keys() == expected.keys()  # only a harmless change (e.g. none) may load


# ---------------------------------------------------------------------------------------------------------------------
# config.json

CONFIG_FIELDS = list(tiny_config().to_dict()) + ["net_structure_type", "down_scale_factor", "layers_to_keep"]


@st.composite
def config_files(draw) -> tuple[str, bytes]:
    data = tiny_config().to_dict()
    for _ in range(draw(st.integers(0, 4))):
        key = draw(st.one_of(st.sampled_from(CONFIG_FIELDS), st.text(max_size=6)))
        if draw(st.integers(0, 5)) == 0:
            data.pop(key, None)
        else:
            data[key] = draw(JSON_VALUES)
    blob = json.dumps(data).encode()
    if draw(st.integers(0, 6)) == 0:
        blob = draw(st.one_of(st.binary(max_size=40), st.just(b"[" * 2_000 + b"]" * 2_000),
                              st.just(blob[: len(blob) // 2])))
    return draw(st.sampled_from(["config.json", "albert_config.json"])), blob


@FUZZ
@given(file=config_files())
def test_fuzz_config_json(file, memory):
    name, blob = file
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / name).write_bytes(blob)
        with Bounded("config.json", blob, (name,)):
            config = AlbertConfig.from_pretrained(tmp)
            config.validate()
            assert canonical_specs(config, "base")


# ---------------------------------------------------------------------------------------------------------------------
# tokenizer_config.json (through the tokenizer's public loader)

TOKENIZER_FIELDS = ["do_lower_case", "remove_space", "keep_accents", "bos_token", "eos_token", "unk_token",
                    "sep_token", "pad_token", "cls_token", "mask_token", "model_max_length", "tokenizer_class",
                    "added_tokens_decoder", "padding_side", "truncation_side"]


@st.composite
def tokenizer_configs(draw) -> bytes:
    data = json.loads((DEFAULT_MODEL_DIR / "tokenizer_config.json").read_text())
    for _ in range(draw(st.integers(1, 3))):
        data[draw(st.one_of(st.sampled_from(TOKENIZER_FIELDS), st.text(max_size=5)))] = draw(JSON_VALUES)
    blob = json.dumps(data).encode()
    if draw(st.integers(0, 6)) == 0:
        blob = draw(st.one_of(st.binary(max_size=40), st.just(b"[" * 2_000 + b"]" * 2_000)))
    return blob


@FUZZ
@given(blob=tokenizer_configs())
def test_fuzz_tokenizer_config(blob, memory):
    from albert_core.tokenizer import AlbertTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        shutil.copyfile(DEFAULT_MODEL_DIR / "spiece.model", Path(tmp) / "spiece.model")
        (Path(tmp) / "tokenizer_config.json").write_bytes(blob)
        with Bounded("tokenizer_config.json", blob, ("tokenizer_config", tmp)):
            tokenizer = AlbertTokenizer.from_pretrained(tmp)
            tokenizer("To be, or not to be")
