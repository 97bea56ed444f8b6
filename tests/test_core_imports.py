"""The core must work with neither torch nor tensorflow installed: prove it in a subprocess that blocks them."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] in ("torch", "tensorflow", "keras", "tf_keras", "jax", "transformers"):
                raise ImportError(f"blocked import of {name}")
            return None

    sys.meta_path.insert(0, Block())
    """
)


def run_without_frameworks(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKER + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=120)


def test_core_imports_and_works_without_torch_or_tensorflow(tmp_path):
    result = run_without_frameworks(
        f"""
        import numpy as np
        import albert_core
        from albert_core import AlbertConfig, canonical_specs
        from albert_core import checkpoints, heads, losses, weights, validation, outputs, config
        cfg = AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_hidden_layers=1,
                           num_attention_heads=2, intermediate_size=8)
        state = {{n: np.zeros(s.shape, np.float32) for n, s in canonical_specs(cfg, "base").items()}}
        checkpoints.save_safetensors_checkpoint({str(tmp_path)!r}, state, cfg, "base")
        back = checkpoints.read_checkpoint({str(tmp_path)!r})
        assert set(back.state) == set(state)
        assert not any(m.split(".")[0] in ("torch", "tensorflow") for m in sys.modules)
        print("core ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert "core ok" in result.stdout


def test_blocker_really_blocks():
    # guard against a test that cannot fail: the same subprocess must refuse torch
    result = run_without_frameworks("import torch")
    assert result.returncode != 0 and "blocked import of torch" in result.stderr


def test_tokenizer_module_imports_without_frameworks():
    result = run_without_frameworks("from albert_core.tokenizer import AlbertTokenizer; print('tok ok')")
    assert result.returncode == 0, result.stderr


def test_pytorch_bin_without_torch_is_a_clear_error(tmp_path):
    (tmp_path / "pytorch_model.bin").write_bytes(b"not really")
    result = run_without_frameworks(
        f"""
        from albert_core.checkpoints import read_pytorch_bin
        from albert_core.errors import FrameworkMissingError
        try:
            read_pytorch_bin({str(tmp_path / "pytorch_model.bin")!r})
        except FrameworkMissingError as exc:
            assert "needs PyTorch" in str(exc)
            print("clear error")
        """
    )
    assert result.returncode == 0, result.stderr
    assert "clear error" in result.stdout
