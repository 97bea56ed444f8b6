"""The albert command line: check on the shipped default model, convert in every direction, info, failures."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from albert_cli import cli, parity
from albert_core.checkpoints import read_checkpoint
from conftest import REPO_ROOT


def test_default_model_is_small_and_complete():
    files = sorted(p.name for p in cli.DEFAULT_MODEL_DIR.iterdir())
    assert {"config.json", "model.safetensors", "spiece.model", "tokenizer_config.json"} <= set(files)
    assert sum(p.stat().st_size for p in cli.DEFAULT_MODEL_DIR.iterdir()) < 5_000_000


def test_check_default_model(capsys):
    assert cli.main(["check"]) == 0
    out = capsys.readouterr().out
    assert "max abs diff" in out and "parity OK" in out
    for head in ("base", "pretraining", "masked_lm"):
        assert f"{head}: pt vs tf" in out


def test_check_console_entry_point_runs_as_a_module():
    # the real backends, in a fresh process, as `albert check` runs after an install (the README's main job)
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run([sys.executable, "-m", "albert_cli", "check"], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "parity OK" in proc.stdout
    # nothing but the table: no partial-load reports of the sub-heads, no TensorFlow start-up lines
    assert proc.stderr == "", proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("checking ") and lines[-1].startswith("parity OK")
    assert not any("loading" in line or "absl" in line or "cuda" in line for line in lines), proc.stdout


def test_check_refuses_a_head_the_checkpoint_lacks(capsys):
    # two freshly initialised classifier heads would be compared: a bogus parity failure (or success)
    assert cli.main(["check", "--heads", "sequence_classification"]) == 2
    err = capsys.readouterr().err
    assert "no complete sequence_classification head" in err and "pretraining" in err


@pytest.mark.parametrize("first, second", [("hf-tf", "safetensors"), ("tf1", "hf-tf"), ("safetensors", "tf1")])
def test_convert_each_direction(tmp_path, capsys, first, second):
    assert cli.main(["convert", str(cli.DEFAULT_MODEL_DIR), str(tmp_path / "a"), "--to", first, "--quiet"]) == 0
    assert cli.main(["convert", str(tmp_path / "a"), str(tmp_path / "b"), "--to", second, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("parity OK") == 2
    original = read_checkpoint(cli.DEFAULT_MODEL_DIR).state
    final = read_checkpoint(tmp_path / "b").state
    assert final.keys() == original.keys() and all(np.array_equal(final[n], original[n]) for n in original)
    assert (tmp_path / "b" / "spiece.model").read_bytes() == (cli.DEFAULT_MODEL_DIR / "spiece.model").read_bytes()
    if first == "tf1":
        assert (tmp_path / "a" / "30k-clean.model").is_file() and (tmp_path / "a" / "albert_config.json").is_file()


def test_convert_failure_exits_nonzero_and_writes_nothing(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")
    (src / "config.json").write_text((cli.DEFAULT_MODEL_DIR / "config.json").read_text())
    assert cli.main(["convert", str(src), str(tmp_path / "dst"), "--quiet"]) == 2
    assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "dst").exists()


def test_check_fails_on_a_tampered_backend(tmp_path, capsys, monkeypatch):
    # parity.LOADERS is the documented seam for putting another loader in place of a backend's
    real = parity.LOADERS["tf"]

    def tampered(directory, head, config):
        run = real(directory, head, config)
        return lambda inputs: {k: (v + 1e-3 if k == "logits" else v) for k, v in run(inputs).items()}

    monkeypatch.setitem(parity.LOADERS, "tf", tampered)
    assert cli.main(["check", "--heads", "masked_lm"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "parity FAILED: logits" in out


def test_info(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "safetensors" in out and "total" in out and "heads supported: base, pretraining, masked_lm" in out


def test_version(capsys):
    import albert_core

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"albert-lite {albert_core.__version__}"


@pytest.mark.parametrize("alias, files", [("pt", {"model.safetensors"}), ("tf", {"tf_model.h5"})])
def test_convert_takes_framework_names(tmp_path, capsys, alias, files):
    assert cli.main(["convert", str(cli.DEFAULT_MODEL_DIR), str(tmp_path / "out"), "--to", alias, "--no-check",
                     "--quiet"]) == 0
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert files <= written and not ({"model.safetensors", "tf_model.h5"} - files) & written
    assert f"({ {'pt': 'safetensors', 'tf': 'hf-tf'}[alias] })".replace(" ", "") in capsys.readouterr().out


def test_atol_help_states_the_default_each_command_applies(capsys):
    for command, default in (("check", "(default: 1e-5)"), ("convert", "(default: by the stored dtype")):
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        assert default in " ".join(capsys.readouterr().out.split())
