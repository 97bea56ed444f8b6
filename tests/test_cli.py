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


def _subcommands():
    import argparse

    parser = cli.build_parser()
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_every_command_takes_quiet_before_or_after_its_name():
    commands = _subcommands()
    assert ({"convert", "check", "info", "export", "fill-mask", "pretrain", "pretrain-data", "train-spm"}
            <= set(commands))
    for name, command in commands.items():
        assert any("--quiet" in action.option_strings for action in command._actions), name
    parser = cli.build_parser()
    # the command's own --quiet default must not undo ``albert --quiet <command>``
    assert parser.parse_args(["--quiet", "pretrain-data", "in.txt", "out", "--spm", "m"]).quiet is True
    assert parser.parse_args(["pretrain-data", "in.txt", "out", "--spm", "m", "--quiet"]).quiet is True
    assert getattr(parser.parse_args(["info"]), "quiet", False) is False


def test_help_texts_state_the_defaults_the_parser_applies():
    import argparse
    import re

    checked = 0
    for name, command in _subcommands().items():
        for action in command._actions:
            if not action.option_strings or action.help in (None, argparse.SUPPRESS) or action.required:
                continue
            help_text = " ".join(action.help.split())
            if action.default not in (None, False, argparse.SUPPRESS) and not isinstance(action.default, bool):
                assert "default" in help_text, (name, action.option_strings, help_text)
            match = re.search(r"\(default: ([^);,]+)", help_text)
            if match and isinstance(action.default, (int, float)) and not isinstance(action.default, bool):
                assert float(match.group(1).split()[0]) == action.default, (name, action.option_strings)
                checked += 1
            elif match and isinstance(action.default, str) and action.default != argparse.SUPPRESS:
                assert match.group(1).split()[0] == action.default, (name, action.option_strings)
                checked += 1
    assert checked >= 20
    from albert_cli.export_command import DEFAULT_EXPORT_ATOL

    export_atol = next(a for a in _subcommands()["export"]._actions if "--atol" in a.option_strings)
    assert f"(default: {DEFAULT_EXPORT_ATOL:g})" in export_atol.help


def test_quiet_check_prints_the_table_and_nothing_else(capfd):
    assert cli.main(["--quiet", "check", "--heads", "base"]) == 0
    captured = capfd.readouterr()
    assert captured.err == ""
    lines = captured.out.strip().splitlines()
    assert lines[0].split() == ["models", "output", "max", "abs", "diff", "max", "rel", "diff", "ok"]
    assert lines[-1].startswith("parity OK") and len(lines) == 2 + 2 + 1  # header, rule, 2 outputs, summary


def test_quiet_convert_prints_the_result_only(tmp_path, capfd):
    assert cli.main(["convert", str(cli.DEFAULT_MODEL_DIR), str(tmp_path / "out"), "--to", "tf", "--no-check",
                     "--quiet"]) == 0
    captured = capfd.readouterr()
    assert captured.err == ""
    assert captured.out.strip().splitlines() == [f"converted {cli.DEFAULT_MODEL_DIR} (safetensors, head pretraining) "
                                                 f"-> {tmp_path / 'out'} (hf-tf)"]


@pytest.mark.parametrize("backend", ["pt", "tf"])
def test_a_partial_load_is_reported_once(tmp_path, backend, caplog, recwarn):
    # a pre-training checkpoint loaded as a classifier: one warning naming what was left out, no extra log line
    import importlib
    import logging

    from albert_core.errors import PartialLoadWarning
    from albert_core.heads import Head

    module = importlib.import_module({"pt": "albert_pt", "tf": "albert_tf"}[backend])
    with caplog.at_level(logging.INFO):
        module.MODEL_CLASSES[Head.SEQUENCE_CLASSIFICATION].from_pretrained(cli.DEFAULT_MODEL_DIR)
    reports = [w for w in recwarn.list if issubclass(w.category, PartialLoadWarning)]
    assert len(reports) == 1 and "classifier" in str(reports[0].message)
    assert not [r for r in caplog.records if "classifier" in r.getMessage() or "unused" in r.getMessage()]
