"""albert-lite core: configuration, tokenizer, weight-name map and checkpoint I/O for ALBERT.

This package imports neither torch nor tensorflow; the backends live in :mod:`albert_pt` and :mod:`albert_tf`.
"""

from .config import ACTIVATIONS, PRESETS, AlbertConfig
from .errors import (
    AlbertError,
    CheckpointError,
    ConfigError,
    FrameworkMissingError,
    InputError,
    TokenizerError,
)
from .weights import Head, TensorSpec, canonical_specs

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "PRESETS",
    "AlbertConfig",
    "AlbertError",
    "CheckpointError",
    "ConfigError",
    "FrameworkMissingError",
    "Head",
    "InputError",
    "TensorSpec",
    "TokenizerError",
    "canonical_specs",
    "__version__",
]


def __getattr__(name: str):
    # The tokenizer pulls in sentencepiece; load it on first use so that `import albert_core` stays light.
    if name == "AlbertTokenizer":
        from .tokenizer import AlbertTokenizer

        return AlbertTokenizer
    raise AttributeError(f"module 'albert_core' has no attribute {name!r}")
