"""Issue 10 (hardening), checkpoint/config/CLI part: one test per example of the issue, each failing on the code
before the fix. The example each test covers is named in its docstring."""
from __future__ import annotations

import errno
import json
import os
import resource
import struct
from pathlib import Path

import numpy as np
import pytest

from albert_cli import cli
from albert_cli import convert as convert_module
from albert_cli.convert import convert
from albert_core import AlbertConfig
from albert_core.checkpoints import (
    initial_state,
    read_checkpoint,
    read_checkpoint_for_model,
    read_hf_tf_checkpoint,
    read_safetensors,
    read_sharded_safetensors,
    save_safetensors_checkpoint,
    write_safetensors,
)
from albert_core.errors import (
    AlbertError,
    CheckpointError,
    ConfigError,
    DestinationError,
    NonFiniteWeightsWarning,
)
from albert_core.io_utils import STAGING_MARKER, staging_prefix
from albert_core.weights import canonical_specs
from conftest import tiny_config


def random_state(config, head="pretraining", seed=0):
    rng = np.random.default_rng(seed)
    specs = canonical_specs(config, head)
    return {n: (0.1 * rng.standard_normal(s.shape)).astype(np.float32) for n, s in specs.items()}


def max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".staging-" in p.name or ".old-" in p.name)


# ---------------------------------------------------------------------------------------------------------------------
# Silently wrong: a save into a sharded checkpoint directory


def test_save_into_a_sharded_directory_removes_the_old_index_and_shards(tmp_path):
    """save_pretrained into a directory holding a sharded checkpoint leaves the old index, which loads instead."""
    config = tiny_config()
    old, new = random_state(config, seed=1), random_state(config, seed=2)
    save_safetensors_checkpoint(tmp_path / "ckpt", old, config, "pretraining", max_shard_bytes=20_000)
    assert (tmp_path / "ckpt" / "model.safetensors.index.json").is_file()
    (tmp_path / "ckpt" / "pytorch_model.bin").write_bytes(b"stale weights of another layout")
    (tmp_path / "ckpt" / "tf_model.h5").write_bytes(b"stale weights of another layout")
    (tmp_path / "ckpt" / "README.md").write_text("mine")
    save_safetensors_checkpoint(tmp_path / "ckpt", new, config, "pretraining")
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["README.md", "config.json", "model.safetensors"]
    loaded = read_checkpoint(tmp_path / "ckpt").state
    assert all(np.array_equal(loaded[n], new[n]) for n in new)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("backend", ["pt", "tf"])
def test_backend_save_pretrained_over_a_sharded_checkpoint_loads_the_new_weights(tmp_path, backend):
    """The same example through both backends' save_pretrained / from_pretrained."""
    config = tiny_config()
    save_safetensors_checkpoint(tmp_path, random_state(config, "base", seed=1), config, "base", max_shard_bytes=20_000)
    if backend == "pt":
        from albert_pt import AlbertModel

        model = AlbertModel(config)
    else:
        from albert_tf import TFAlbertModel as AlbertModel

        model = AlbertModel(config)
    model.save_pretrained(tmp_path)
    assert not (tmp_path / "model.safetensors.index.json").exists()
    reloaded = AlbertModel.from_pretrained(tmp_path).canonical_state()
    assert all(np.array_equal(reloaded[n], a) for n, a in model.canonical_state().items())


def test_model_save_keeps_the_tokenizer_saved_before_it(tmp_path):
    """The tokenizer and the model are saved into the same directory one after the other: both survive."""
    from albert_core.tokenizer import AlbertTokenizer

    tokenizer = AlbertTokenizer.from_pretrained(cli.DEFAULT_MODEL_DIR)
    tokenizer.save_pretrained(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    config = tiny_config()
    save_safetensors_checkpoint(tmp_path, random_state(config), config, "pretraining")
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert {name: after[name] for name in before} == before
    assert AlbertTokenizer.from_pretrained(tmp_path).vocab_size == tokenizer.vocab_size


# ---------------------------------------------------------------------------------------------------------------------
# Data loss: a failure between the files of a directory save


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fault", ["after_weights", "between_shards"])
def test_disk_full_during_a_save_leaves_the_old_checkpoint_complete(tmp_path, monkeypatch, fault):
    """When the disk fills between the files of save_pretrained, the old checkpoint stays, whole and alone."""
    from albert_core.checkpoints import directory as directory_module
    from albert_core.checkpoints import safetensors as safetensors_module

    config = tiny_config()
    save_safetensors_checkpoint(tmp_path / "ckpt", random_state(config, seed=1), config, "pretraining")
    (tmp_path / "ckpt" / "spiece.model").write_bytes(b"tokenizer")
    before = _snapshot(tmp_path / "ckpt")

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    if fault == "after_weights":  # model.safetensors is written, then config.json fails
        monkeypatch.setattr(directory_module, "save_config_for_head", disk_full)
        shard_bytes = None
    else:  # the first shard is written, the second fails
        real = safetensors_module.write_safetensors
        calls = []

        def second_fails(*args, **kwargs):
            calls.append(args[0])
            if len(calls) > 1:
                disk_full()
            return real(*args, **kwargs)

        monkeypatch.setattr(safetensors_module, "write_safetensors", second_fails)
        shard_bytes = 20_000
    with pytest.raises(OSError) as info:
        save_safetensors_checkpoint(tmp_path / "ckpt", random_state(config, seed=2), config, "pretraining",
                                    max_shard_bytes=shard_bytes)
    assert info.value.errno == errno.ENOSPC
    assert _snapshot(tmp_path / "ckpt") == before
    assert leftovers(tmp_path) == []


def test_a_save_into_a_new_directory_that_fails_creates_nothing(tmp_path, monkeypatch):
    from albert_core.checkpoints import directory as directory_module

    monkeypatch.setattr(directory_module, "save_config_for_head",
                        lambda *a, **k: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
    config = tiny_config()
    with pytest.raises(OSError):
        save_safetensors_checkpoint(tmp_path / "new", random_state(config), config, "pretraining")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_save_into_the_working_directory_keeps_the_process_there(tmp_path, monkeypatch):
    (tmp_path / "ckpt").mkdir()
    monkeypatch.chdir(tmp_path / "ckpt")
    config = tiny_config()
    save_safetensors_checkpoint(".", random_state(config), config, "pretraining")
    assert Path(os.getcwd()) == tmp_path / "ckpt" and Path("model.safetensors").is_file()


def test_save_without_directory_exchange_falls_back_to_two_renames(tmp_path, monkeypatch):
    from albert_core import io_utils

    monkeypatch.setattr(io_utils, "exchange_paths", lambda first, second: False)
    config = tiny_config()
    save_safetensors_checkpoint(tmp_path / "ckpt", random_state(config, seed=1), config, "pretraining",
                                max_shard_bytes=20_000)
    (tmp_path / "ckpt" / "README.md").write_text("mine")
    new = random_state(config, seed=2)
    save_safetensors_checkpoint(tmp_path / "ckpt", new, config, "pretraining")
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert np.array_equal(read_checkpoint(tmp_path / "ckpt").state["predictions.bias"], new["predictions.bias"])
    assert leftovers(tmp_path) == []


def test_save_through_a_symlink_fills_its_target_and_keeps_the_link(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    config = tiny_config()
    save_safetensors_checkpoint(tmp_path / "link", random_state(config), config, "pretraining")
    assert (tmp_path / "link").is_symlink() and (tmp_path / "real" / "model.safetensors").is_file()


# ---------------------------------------------------------------------------------------------------------------------
# Silently wrong: config.json read as an original config


def test_config_json_with_gelu_and_no_model_type_keeps_its_activation(tmp_path):
    """A config.json without model_type and layer_norm_eps but with hidden_act "gelu" was read as an original
    config, and its exact GELU became the tanh approximation."""
    data = {"hidden_act": "gelu", "hidden_size": 8, "num_attention_heads": 2, "intermediate_size": 16,
            "vocab_size": 50, "embedding_size": 4}
    (tmp_path / "config.json").write_text(json.dumps(data))
    assert AlbertConfig.from_pretrained(tmp_path).hidden_act == "gelu"
    original = tmp_path / "original"
    original.mkdir()
    (original / "albert_config.json").write_text(json.dumps(data))
    assert AlbertConfig.from_pretrained(original).hidden_act == "gelu_new"  # the original's "gelu" is tanh


# ---------------------------------------------------------------------------------------------------------------------
# Silently wrong: NaN / inf weights


def test_non_finite_weights_are_named_on_load(tmp_path):
    """NaN/inf weights loaded silently: now a warning naming them, an error in strict mode."""
    config = tiny_config()
    state = random_state(config)
    state["albert.pooler.bias"][0] = np.nan
    state["predictions.bias"][3] = np.inf
    save_safetensors_checkpoint(tmp_path, state, config, "pretraining")
    with pytest.warns(NonFiniteWeightsWarning, match=r"albert\.pooler\.bias.*predictions\.bias"):
        read_checkpoint_for_model(tmp_path)
    with pytest.raises(CheckpointError, match="albert.pooler.bias"):
        read_checkpoint_for_model(tmp_path, strict=True)
    from albert_pt import AlbertForPreTraining

    with pytest.warns(NonFiniteWeightsWarning, match="pooler"):
        AlbertForPreTraining.from_pretrained(tmp_path)


def test_conversion_reports_non_finite_tensors_by_name(tmp_path, capsys):
    config = tiny_config()
    state = random_state(config, "masked_lm")
    state["predictions.dense.weight"][0, 0] = np.nan
    save_safetensors_checkpoint(tmp_path / "src", state, config, "masked_lm")
    result = convert(tmp_path / "src", tmp_path / "dst", to="hf-tf", check=False, progress=False)
    assert any("predictions.dense.weight" in note and "NaN" in note for note in result.notes)
    assert "predictions.dense.weight" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------------------
# Memory exhaustion from a tiny file


def test_huge_vocab_size_in_config_fails_before_the_model_is_built(tmp_path):
    """A config.json with a huge vocab_size made from_pretrained build the model (killed at 23 GiB)."""
    config = tiny_config()
    save_safetensors_checkpoint(tmp_path, random_state(config, "base"), config, "base")
    data = json.loads((tmp_path / "config.json").read_text())
    data["vocab_size"] = 10**12
    (tmp_path / "config.json").write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match=r"word_embeddings.*checkpoint \(99, 16\)"):
        read_checkpoint_for_model(tmp_path)
    data["vocab_size"] = 30_000_000  # about 2 GB of embeddings if the model were built
    (tmp_path / "config.json").write_text(json.dumps(data))
    from albert_pt import AlbertModel

    rss = max_rss_bytes()
    with pytest.raises(CheckpointError, match="before building the model"):
        AlbertModel.from_pretrained(tmp_path)
    assert max_rss_bytes() - rss < 200 * 2**20


def test_h5_with_an_unwritten_huge_dataset_fails_fast(tmp_path):
    """A 250 KB tf_model.h5 declaring an unwritten (160M, 16) dataset made the reader allocate 9.5 GiB."""
    import h5py

    path = tmp_path / "tf_model.h5"
    name = "tf_albert_model/albert/embeddings/word_embeddings/weight:0"
    with h5py.File(path, "w") as handle:
        handle.attrs["layer_names"] = np.array([b"albert"])
        group = handle.create_group("albert")
        group.attrs["weight_names"] = np.array([name.encode()])
        group.create_dataset(name, shape=(160_000_000, 16), dtype="f4")
        group.create_dataset("padding", data=np.zeros(60_000, np.float32))
    assert path.stat().st_size < 300_000
    rss = max_rss_bytes()
    with pytest.raises(CheckpointError, match=r"word_embeddings.*\(160000000, 16\)"):
        read_hf_tf_checkpoint(path)
    assert max_rss_bytes() - rss < 200 * 2**20


def test_h5_dataset_larger_than_the_file_or_linked_elsewhere_is_refused(tmp_path):
    import h5py

    path = tmp_path / "tf_model.h5"
    name = "tf_albert_model/albert/embeddings/word_embeddings/weight:0"
    with h5py.File(path, "w") as handle:
        handle.attrs["layer_names"] = np.array([b"albert"])
        group = handle.create_group("albert")
        group.attrs["weight_names"] = np.array([name.encode()])
        group[name] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/x")
    with pytest.raises(CheckpointError, match="ExternalLink"):
        read_hf_tf_checkpoint(path)


# ---------------------------------------------------------------------------------------------------------------------
# Unhelpful crashes: malformed safetensors headers


def _safetensors_with_header(path: Path, header: object, data: bytes = b"", raw: bytes | None = None) -> Path:
    text = raw if raw is not None else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    return path


MALFORMED_HEADERS = {
    "huge shape": ({"w": {"dtype": "F32", "shape": [2**62, 2**62], "data_offsets": [0, 4]}}, "invalid shape"),
    "huge product": ({"w": {"dtype": "F32", "shape": [2**33, 2**33], "data_offsets": [0, 4]}},
                     f"needs {2**68} bytes"),  # no wrap-around to 0

    "float shape": ({"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}, "list of integers"),
    "string shape": ({"w": {"dtype": "F32", "shape": "12", "data_offsets": [0, 4]}}, "list of integers"),
    "bool shape": ({"w": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, "list of integers"),
    "negative dim": ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, "invalid shape"),
    "rank 100": ({"w": {"dtype": "F32", "shape": [1] * 100, "data_offsets": [0, 4]}}, "rank 100"),
    "entry is a list": ({"w": [1, 2, 3]}, "must be an object"),
    "dtype is a list": ({"w": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}}, "unsupported dtype"),
    "offsets are a dict": ({"w": {"dtype": "F32", "shape": [1], "data_offsets": {"a": 0, "b": 4}}}, "two integers"),
    "offsets outside": ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4096, 4100]}}, "outside"),
    "dtype size mismatch": ({"w": {"dtype": "F64", "shape": [1], "data_offsets": [0, 4]}}, "needs 8 bytes"),
    "metadata a list": ({"__metadata__": [1], "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}},
                        "__metadata__"),
    "overlap": ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                 "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, "overlaps"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_HEADERS))
def test_malformed_safetensors_headers_raise_checkpoint_errors_naming_the_tensor(tmp_path, case):
    """Malformed headers escaped as ValueError/OverflowError/TypeError/AttributeError/RecursionError."""
    header, match = MALFORMED_HEADERS[case]
    path = _safetensors_with_header(tmp_path / "x.safetensors", header, b"\0" * 4)
    with pytest.raises(CheckpointError, match=match) as info:
        read_safetensors(path)
    assert "tensor" in str(info.value) or "__metadata__" in str(info.value)


def test_deeply_nested_or_duplicated_headers_are_checkpoint_errors(tmp_path):
    deep = b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(CheckpointError, match="nested too deeply"):
        read_safetensors(_safetensors_with_header(tmp_path / "deep.safetensors", None, raw=deep))
    dup = b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
    with pytest.raises(CheckpointError, match="'w' twice"):
        read_safetensors(_safetensors_with_header(tmp_path / "dup.safetensors", None, b"\0" * 4, raw=dup))


# ---------------------------------------------------------------------------------------------------------------------
# The shard index


def _sharded(tmp_path: Path) -> Path:
    config = tiny_config()
    save_safetensors_checkpoint(tmp_path / "ckpt", random_state(config), config, "pretraining", max_shard_bytes=20_000)
    return tmp_path / "ckpt" / "model.safetensors.index.json"


@pytest.mark.parametrize("change, match", [
    (lambda m: {**m, next(iter(m)): "../outside.safetensors"}, "same directory"),
    (lambda m: {**m, next(iter(m)): "/etc/passwd"}, "same directory"),
    (lambda m: {**m, next(iter(m)): 3}, "shard file name"),
    (lambda m: {**m, next(iter(m)): "model-00009-of-00009.safetensors"}, "does not exist"),
    (lambda m: [], "weight_map"),
    (lambda m: {}, "lists no tensors"),
])
def test_bad_shard_indexes_are_named(tmp_path, change, match):
    index = _sharded(tmp_path)
    data = json.loads(index.read_text())
    data["weight_map"] = change(data["weight_map"])
    index.write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match=match):
        read_sharded_safetensors(index)


def test_a_tensor_in_two_shards_is_refused(tmp_path):
    index = _sharded(tmp_path)
    weight_map = json.loads(index.read_text())["weight_map"]
    first, second = sorted(set(weight_map.values()))[:2]
    tensors, _ = read_safetensors(index.parent / second)
    extra_name = next(n for n, s in weight_map.items() if s == first)
    tensors[extra_name] = read_safetensors(index.parent / first)[0][extra_name]
    write_safetensors(index.parent / second, tensors)
    with pytest.raises(CheckpointError, match=f"{extra_name}.*two shards"):
        read_sharded_safetensors(index)


# ---------------------------------------------------------------------------------------------------------------------
# Wrongly typed config.json fields


@pytest.mark.parametrize("field, value", [
    ("vocab_size", "30000"), ("hidden_size", True), ("num_hidden_layers", 12.0), ("intermediate_size", -1),
    ("num_labels", 10**12), ("id2label", ["a", "b"]), ("id2label", {"x": "a"}), ("label2id", {"a": "b"}),
    ("hidden_act", ["gelu"]), ("initializer_range", True), ("layer_norm_eps", "1e-12"), ("inner_group_num", 10**9),
])
def test_wrongly_typed_config_fields_raise_config_errors_naming_the_field(tmp_path, field, value):
    """Wrongly typed config.json fields escaped as raw exceptions (or, for num_labels, exhausted memory)."""
    data = tiny_config().to_dict()
    data[field] = value
    if field in ("id2label", "label2id"):
        data.pop("num_labels")
    (tmp_path / "config.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=field if field not in ("id2label",) else "id2label|label"):
        AlbertConfig.from_pretrained(tmp_path)


# ---------------------------------------------------------------------------------------------------------------------
# TF1 data-file corruption


@pytest.fixture(scope="module")
def tf1_checkpoint(tmp_path_factory):
    from albert_core.checkpoints import save_tf1_checkpoint

    config = tiny_config()
    directory = tmp_path_factory.mktemp("tf1")
    save_tf1_checkpoint(directory, random_state(config), config)
    return directory


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_tf1_data_file_corruption_is_a_checkpoint_error(tmp_path, tf1_checkpoint, damage):
    """TF1 data-file corruption raised raw TensorFlow errors."""
    import shutil

    directory = tmp_path / "tf1"
    shutil.copytree(tf1_checkpoint, directory)
    data = next(directory.glob("model.ckpt.data-*"))
    raw = bytearray(data.read_bytes())
    if damage == "flip":
        for i in range(100, len(raw), 997):
            raw[i] ^= 0xFF
    else:
        raw = raw[: len(raw) // 2]
    data.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="model.ckpt"):
        read_checkpoint(directory)


# ---------------------------------------------------------------------------------------------------------------------
# The command line: one line, documented exit codes


def test_cli_bad_input_is_one_line_with_exit_code_2(tmp_path, capsys):
    """Malformed headers made the CLI print a traceback with exit code 1 (reserved for a parity failure)."""
    (tmp_path / "config.json").write_text(tiny_config().to_json_string())
    _safetensors_with_header(tmp_path / "model.safetensors",
                             {"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}, b"\0" * 4)
    assert cli.main(["info", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "tensor 'w'" in err and "Traceback" not in err
    assert cli.main(["--debug", "info", str(tmp_path)]) == 2
    assert "Traceback" in capsys.readouterr().err
    assert cli.main(["info", str(tmp_path), "--debug"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_cli_internal_error_exits_3_with_a_hint(monkeypatch, capsys):
    def broken(args):
        raise ZeroDivisionError("division by zero")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["info"].set_defaults(run=broken)
    assert cli.main(["info"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error" in err and "--debug" in err


def test_cli_bad_config_exits_2(tmp_path, capsys):
    config = tiny_config()
    save_safetensors_checkpoint(tmp_path, random_state(config), config, "pretraining")
    data = json.loads((tmp_path / "config.json").read_text())
    data["hidden_size"] = "32"
    (tmp_path / "config.json").write_text(json.dumps(data))
    assert cli.main(["info", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "hidden_size" in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------------------------------------
# Conversion: destination first, leftovers, partial checkpoints


@pytest.fixture
def source(tmp_path):
    config = tiny_config()
    save_safetensors_checkpoint(tmp_path / "src", random_state(config, "masked_lm"), config, "masked_lm")
    return tmp_path / "src"


def _no_work(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the conversion started reading before checking the destination")

    monkeypatch.setattr(convert_module, "read_checkpoint", forbidden)
    monkeypatch.setattr(convert_module, "find_weights", forbidden)


@pytest.mark.parametrize("problem", ["symlink", "dot", "not_empty", "file", "read_only_parent"])
def test_destination_problems_are_reported_before_any_work(tmp_path, source, monkeypatch, problem):
    """albert convert reported destination problems (symlink, ., read-only) only after the whole conversion."""
    dst = tmp_path / "dst"
    if problem == "symlink":
        (tmp_path / "real").mkdir()
        dst.symlink_to(tmp_path / "real")
    elif problem == "dot":
        dst.mkdir()
        monkeypatch.chdir(dst)
        dst = Path(".")
    elif problem == "not_empty":
        dst.mkdir()
        (dst / "x").write_text("x")
    elif problem == "file":
        dst.write_text("in the way")
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only directories")
        (tmp_path / "ro").mkdir()
        os.chmod(tmp_path / "ro", 0o555)
        dst = tmp_path / "ro" / "dst"
    _no_work(monkeypatch)
    try:
        with pytest.raises(DestinationError):
            convert(source, dst, to="hf-tf", check=False, progress=False)
    finally:
        if problem == "read_only_parent":
            os.chmod(tmp_path / "ro", 0o755)


def test_read_only_parent_fails_before_reading_even_as_root(tmp_path, source, monkeypatch):
    from albert_core import io_utils

    real_mkdir = os.mkdir

    def read_only(path, *args, **kwargs):
        if staging_prefix(tmp_path / "dst") in str(path):
            raise PermissionError(errno.EROFS, "Read-only file system", str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(io_utils.os, "mkdir", read_only)
    monkeypatch.setattr(convert_module, "read_checkpoint",
                        lambda *a, **k: (_ for _ in ()).throw(AssertionError("read before the destination")))
    with pytest.raises(DestinationError, match="Read-only"):
        convert(source, tmp_path / "dst", to="hf-tf", check=False, progress=False)


def test_full_disk_during_conversion_is_a_destination_error_and_writes_nothing(tmp_path, source, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(convert_module, "save_hf_tf_checkpoint", disk_full)
    with pytest.raises(DestinationError, match="disk is full"):
        convert(source, tmp_path / "dst", to="hf-tf", check=False, progress=False)
    assert not (tmp_path / "dst").exists() and leftovers(tmp_path) == []


def test_leftover_staging_directories_are_removed_or_reported(tmp_path, source, capsys):
    """Staging directories of a killed albert convert stayed forever."""
    import socket

    dst = tmp_path / "dst"
    dead = tmp_path / f"{staging_prefix(dst)}999999999-dead"
    alive = tmp_path / f"{staging_prefix(dst)}{os.getpid()}-live"
    unknown = tmp_path / f"{staging_prefix(dst)}1-nomarker"
    for directory, pid in ((dead, 999_999_999), (alive, os.getpid()), (unknown, None)):
        directory.mkdir()
        (directory / "model.safetensors").write_bytes(b"x" * 1000)
        if pid is not None:
            marker = {"pid": pid, "host": socket.gethostname(), "target": str(dst), "created": 0}
            (directory / STAGING_MARKER).write_text(json.dumps(marker))
    convert(source, dst, to="hf-tf", check=False, progress=False)
    err = capsys.readouterr().err
    assert not dead.exists() and f"removed {dead}" in err
    assert alive.exists() and "still running" in err
    assert unknown.exists() and "no readable" in err


def test_allow_partial_fills_missing_tensors_identically_and_passes_parity(tmp_path):
    """--allow-partial with missing tensors always failed its own parity check."""
    config = tiny_config()
    state = random_state(config, "masked_lm")
    missing = ["predictions.dense.weight", "albert.encoder.embedding_hidden_mapping_in.bias"]
    for name in missing:
        del state[name]
    save_safetensors_checkpoint(tmp_path / "src", state, config, "masked_lm")
    result = convert(tmp_path / "src", tmp_path / "dst", to="hf-tf", allow_partial=True, progress=False)
    assert result.ok and result.parity.ok
    assert any(all(name in note for name in missing) and "initialised" in note for note in result.notes)
    written = read_checkpoint(tmp_path / "dst").state
    expected = initial_state(config, "masked_lm", missing)
    for name in missing:
        assert np.array_equal(written[name], expected[name])
    assert float(np.abs(expected["predictions.dense.weight"]).max()) <= 2 * config.initializer_range


def test_library_errors_share_one_base_and_keep_their_builtin_bases():
    assert issubclass(DestinationError, CheckpointError) and issubclass(DestinationError, ValueError)
    assert all(issubclass(cls, AlbertError) for cls in (CheckpointError, ConfigError, DestinationError))
    assert issubclass(NonFiniteWeightsWarning, UserWarning)
