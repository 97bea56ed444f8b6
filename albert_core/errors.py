"""Exception types shared by every part of albert-lite.

Each error subclasses the built-in exception a caller would naturally catch (``ValueError`` for bad values,
``FileNotFoundError`` for missing files), so ``except ValueError`` keeps working, while ``except AlbertError`` catches
everything this library raises on purpose.
"""

from __future__ import annotations


class AlbertError(Exception):
    """Base class of every error raised on purpose by albert-lite."""


class ConfigError(AlbertError, ValueError):
    """An :class:`~albert_core.AlbertConfig` that cannot describe a working model."""


class CheckpointError(AlbertError, ValueError):
    """A checkpoint that is corrupt, truncated, unsafe, or does not fit the model."""


class InputError(AlbertError, ValueError):
    """Model inputs of the wrong rank, shape, dtype or value range."""


class TokenizerError(AlbertError, ValueError):
    """Tokenizer inputs or files that cannot be used."""


class FrameworkMissingError(AlbertError, ImportError):
    """An optional framework (torch, tensorflow, h5py) is needed for this call but is not installed."""
