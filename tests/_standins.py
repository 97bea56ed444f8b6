"""Reference-library stand-ins for the parity loaders (used until/unless albert_pt / albert_tf are importable)."""
from __future__ import annotations

import tempfile
from pathlib import Path

from albert_core import parity
from albert_core.checkpoint import read_checkpoint, save_safetensors_checkpoint
from albert_core.heads import HEADS, Head
from albert_core.weights import canonical_specs


def _hf_loader(framework: str):
    def load(directory: Path, head: Head, config):
        import transformers

        transformers.logging.set_verbosity_error()
        contents = read_checkpoint(directory, config)
        specs = canonical_specs(config, head)
        state = {n: a for n, a in contents.state.items() if n in specs}
        tmp = Path(tempfile.mkdtemp(prefix="standin-"))
        if framework == "pt":
            save_safetensors_checkpoint(tmp, state, config, head)
            model = getattr(transformers, HEADS[head].hf_class).from_pretrained(tmp)
            return parity._pt_runner(model, head)
        from albert_core.formats import save_hf_tf_checkpoint

        save_hf_tf_checkpoint(tmp, state, config, head)
        model = getattr(transformers, HEADS[head].hf_tf_class).from_pretrained(tmp)
        return parity._tf_runner(model, head)

    return load


def backends_available() -> bool:
    try:
        import albert_pt
        import albert_tf

        return hasattr(albert_pt, "MODEL_CLASSES") and hasattr(albert_tf, "MODEL_CLASSES")
    except Exception:
        return False


def install(monkeypatch) -> str:
    """Use albert_pt/albert_tf when both import; otherwise transformers' classes. Returns which."""
    if backends_available():
        return "albert"
    monkeypatch.setitem(parity.LOADERS, "pt", _hf_loader("pt"))
    monkeypatch.setitem(parity.LOADERS, "tf", _hf_loader("tf"))
    return "transformers"
