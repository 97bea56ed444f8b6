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
from .tokenizer import AlbertTokenizer, train_sentencepiece
from .heads import HEADS, Head, HeadSpec
from .weights import TensorSpec, canonical_specs

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "PRESETS",
    "AlbertConfig",
    "AlbertTokenizer",
    "AlbertError",
    "CheckpointError",
    "ConfigError",
    "FrameworkMissingError",
    "HEADS",
    "Head",
    "HeadSpec",
    "InputError",
    "TensorSpec",
    "TokenizerError",
    "canonical_specs",
    "train_sentencepiece",
    "__version__",
]

