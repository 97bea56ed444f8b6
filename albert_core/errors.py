"""Exception types shared by every part of albert-lite, and the limits bad input is checked against.

Each error subclasses the built-in exception a caller would naturally catch (``ValueError`` for bad values,
``FileNotFoundError`` for missing files), so ``except ValueError`` keeps working, while ``except AlbertError`` catches
everything this library raises on purpose. Every message names the file, tensor, field or argument at fault and what
was expected. The command line answers every one of them with a one-line message and exit code 2 (see
``docs/guarantees.rst``):

* :class:`~albert_core.ConfigError`: a ``config.json`` / ``albert_config.json`` field of the wrong type or value;
* :class:`~albert_core.CheckpointError`: a corrupt, truncated, forged or mis-shaped weights file or index;
* :class:`DestinationError`: an output directory that cannot be written safely;
* :class:`~albert_core.InputError`: model inputs of the wrong rank, shape, dtype or value range;
* :class:`~albert_core.TokenizerError`: tokenizer inputs or files that cannot be used;
* :class:`UsageError`: an argument value (of a function or a command-line option) that cannot be used;
* :class:`~albert_core.FrameworkMissingError`: an optional framework that the call needs is not installed.

The limits below are the one place where "too large to be genuine" is defined; the readers and
:class:`~albert_core.AlbertConfig` check against them *before* allocating anything sized by the input.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------------------------------------
# Errors


class AlbertError(Exception):
    """Base class of every error raised on purpose by albert-lite."""


class ConfigError(AlbertError, ValueError):
    """An :class:`~albert_core.AlbertConfig` that cannot describe a working model."""


class CheckpointError(AlbertError, ValueError):
    """A checkpoint that is corrupt, truncated, unsafe, or does not fit the model."""


class DestinationError(CheckpointError):
    """A directory that a save or a conversion cannot write safely (checked before any work is done)."""


class InputError(AlbertError, ValueError):
    """Model inputs of the wrong rank, shape, dtype or value range."""


class TokenizerError(AlbertError, ValueError):
    """Tokenizer inputs or files that cannot be used."""


class UsageError(AlbertError, ValueError):
    """An argument value (of a function or a command-line option) that cannot be used."""


class TokenizerArgumentError(TokenizerError, UsageError):
    """A tokenizer argument with a value that cannot be used (``padding_side="middle"``, ``stride=-1``, ...).

    It is both a :class:`~albert_core.TokenizerError` and a :class:`~albert_core.errors.UsageError`, so either
    ``except`` clause catches it; the message names the argument.
    """


class FrameworkMissingError(AlbertError, ImportError):
    """An optional framework (torch, tensorflow, h5py) is needed for this call but is not installed."""


class AlbertWarning(UserWarning):
    """Base class of the warnings albert-lite issues; ``warnings.simplefilter("error", AlbertWarning)`` makes them
    errors."""


class NonFiniteWeightsWarning(AlbertWarning):
    """A loaded checkpoint holds NaN or infinite weights (the message names the tensors)."""


class PartialLoadWarning(AlbertWarning):
    """``from_pretrained`` left tensors of the model newly initialised, or the checkpoint had tensors the model does
    not use (the message names them; ``model.load_report`` holds the lists)."""


class EmulatedPrecisionWarning(AlbertWarning):
    """bfloat16 was asked for on hardware without native bfloat16 arithmetic: it runs, by emulation, and usually
    slower than float32 (the message names the device and why)."""


def warn_emulated_bf16(work: str, reason: str, stacklevel: int = 2) -> None:
    """Warn (:class:`EmulatedPrecisionWarning`) that bfloat16 ``work`` runs by emulation, because of ``reason``
    (each backend's own hardware probe says why).

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_emulated_bf16("inference", "this CPU lacks AVX512-BF16")
    >>> str(caught[0].message).split(";")[0]
    'bfloat16 inference: this CPU lacks AVX512-BF16'
    """
    import warnings

    warnings.warn(EmulatedPrecisionWarning(f"bfloat16 {work}: {reason}; it runs by emulation, usually slower than "
                                           "float32 (results are the same as on native hardware)"),
                  stacklevel=stacklevel + 1)


# ---------------------------------------------------------------------------------------------------------------------
# Limits

#: Largest JSON header of a ``.safetensors`` file (the reference implementation's limit).
MAX_SAFETENSORS_HEADER_BYTES = 100 * 1024 * 1024
#: Largest rank of a stored tensor (ALBERT's are at most 2; this leaves room for other tensors in the same file).
MAX_TENSOR_RANK = 16
#: Largest single dimension of a stored tensor (keeps element counts far from integer overflow).
MAX_TENSOR_DIMENSION = 2**40
#: Largest ``config.json``, ``albert_config.json``, ``model.safetensors.index.json`` read into memory.
MAX_JSON_FILE_BYTES = 64 * 1024 * 1024
#: Largest ``num_labels`` (the label names are built as a dict of this many entries).
MAX_NUM_LABELS = 100_000
#: Largest ``num_hidden_layers``, and largest ``num_hidden_groups * inner_group_num`` (distinct blocks).
MAX_TRANSFORMER_LAYERS = 10_000
#: How many times larger than the file a filter-compressed HDF5 dataset may declare itself (uncompressed ones
#: may declare at most the file's size).
MAX_H5_COMPRESSION_RATIO = 64


__all__ = [
    "MAX_H5_COMPRESSION_RATIO",
    "MAX_JSON_FILE_BYTES",
    "MAX_NUM_LABELS",
    "MAX_SAFETENSORS_HEADER_BYTES",
    "MAX_TENSOR_DIMENSION",
    "MAX_TENSOR_RANK",
    "MAX_TRANSFORMER_LAYERS",
    "AlbertError",
    "AlbertWarning",
    "CheckpointError",
    "ConfigError",
    "DestinationError",
    "EmulatedPrecisionWarning",
    "FrameworkMissingError",
    "InputError",
    "NonFiniteWeightsWarning",
    "TokenizerArgumentError",
    "TokenizerError",
    "UsageError",
    "warn_emulated_bf16",
]
