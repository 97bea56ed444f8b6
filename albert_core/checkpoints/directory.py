"""The Hugging Face checkpoint directory: its configuration files and the savers that write a whole directory.

A directory saved here looks like Hugging Face's, so it loads in :mod:`albert_pt`, :mod:`albert_tf` and
transformers alike::

    config.json              # AlbertConfig.to_dict(), with "architectures"
    model.safetensors        # canonical names (base model: without the "albert." prefix), PyTorch layout
    spiece.model             # SentencePiece model (optional)
    tokenizer_config.json    # tokenizer options (optional)

Which weights file a directory holds is decided by the format table (:func:`albert_core.checkpoints.find_weights`).

Every ``save_*_checkpoint`` here writes the whole directory atomically (:func:`albert_core.io_utils.atomic_directory`):
the new files go into a staging directory beside the target, which then replaces the target in one step. Files of
the old directory that belong to a checkpoint (:func:`is_checkpoint_file`: configurations, weights of any layout,
shards and their index) do not survive; everything else (tokenizer files, a README, sub-directories) is kept.
"""

from __future__ import annotations

import fnmatch
import json
import os
from pathlib import Path
from typing import Mapping

import numpy as np

from ..config import AlbertConfig
from ..filenames import (
    HF_TF_WEIGHTS,
    MODEL_CONFIG,
    ORIGINAL_CONFIG,
    PYTORCH_WEIGHTS,
    SAFETENSORS_INDEX,
    SAFETENSORS_WEIGHTS,
    TF1_CHECKPOINT_PREFIX,
)
from ..heads import Head, head_spec
from ..io_utils import atomic_directory, atomic_write_text
from ..weights import strip_backbone_prefix
from .contents import Progress
from .hf_tf import write_hf_tf
from .safetensors import ByteProgress, write_safetensors, write_sharded_safetensors
from .tf1 import write_tf1


#: Names (glob patterns) of the files that make up a checkpoint of any layout; a directory save replaces all of them.
CHECKPOINT_FILE_PATTERNS: tuple[str, ...] = (
    MODEL_CONFIG, ORIGINAL_CONFIG,
    SAFETENSORS_WEIGHTS, SAFETENSORS_INDEX, "model-*-of-*.safetensors",
    PYTORCH_WEIGHTS, PYTORCH_WEIGHTS + ".index.json", "pytorch_model-*-of-*.bin",
    HF_TF_WEIGHTS, HF_TF_WEIGHTS + ".index.json", "tf_model-*-of-*.h5",
    "*.index", "*.data-*-of-*", "checkpoint",  # TF1 checkpoints (any prefix) and TensorFlow's "checkpoint" file
)


def is_checkpoint_file(name: str) -> bool:
    """Whether a file called ``name`` is part of a checkpoint (and so is replaced, not kept, by a directory save).

    >>> is_checkpoint_file("model-00001-of-00003.safetensors"), is_checkpoint_file("spiece.model")
    (True, False)
    """
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in CHECKPOINT_FILE_PATTERNS)


def read_directory_config(directory: str | os.PathLike[str]) -> AlbertConfig | None:
    """The ``config.json`` (preferred) or ``albert_config.json`` in ``directory``, or ``None`` when it has neither."""
    try:
        return AlbertConfig.from_pretrained(directory)
    except FileNotFoundError:
        return None


def save_config_for_head(
    directory: str | os.PathLike[str], config: AlbertConfig, head: Head | str, tensorflow: bool = False
) -> Path:
    """Write ``config.json`` for weights of ``head``, readable by transformers as well as here.

    ``architectures`` names the Hugging Face class (``TF``-prefixed for ``tf_model.h5`` weights). A head whose
    output count is fixed (:attr:`~albert_core.heads.HeadSpec.fixed_num_labels`: sentence order, question answering)
    is sized by ``num_labels`` in transformers, so its config records that fixed count (``num_labels`` means nothing
    else for those heads).
    """
    spec = head_spec(head)
    if spec.fixed_num_labels is not None and config.num_labels != spec.fixed_num_labels:
        config = config.copy(num_labels=spec.fixed_num_labels, problem_type=None)
    architecture = spec.hf_tf_class if tensorflow else spec.hf_class
    return config.save_pretrained(directory, architectures=[architecture])


def save_safetensors_checkpoint(
    directory: str | os.PathLike[str],
    state: Mapping[str, np.ndarray],
    config: AlbertConfig,
    head: Head | str,
    dtype: str | None = None,
    progress: ByteProgress | None = None,
    max_shard_bytes: int | None = None,
) -> Path:
    """Write ``config.json`` and ``model.safetensors`` for a model with ``head``, in Hugging Face's naming.

    With ``max_shard_bytes`` the weights are sharded (see
    :func:`~albert_core.checkpoints.write_sharded_safetensors`). ``state`` is canonical
    (``albert.``-prefixed); a base model is saved without the prefix, as transformers' ``AlbertModel`` does. The
    directory is written atomically as a whole (see the module docstring): weights of another layout (an old index
    and its shards, ``pytorch_model.bin``, ``tf_model.h5``) never remain beside the new ones.
    """
    head = Head(head)
    tensors = {(strip_backbone_prefix(name) if head is Head.BASE else name): array for name, array in state.items()}
    with atomic_directory(directory, replaces=is_checkpoint_file) as staging:
        if max_shard_bytes is not None:
            write_sharded_safetensors(staging, tensors, max_shard_bytes, metadata={"format": "pt"}, dtype=dtype,
                                      progress=progress)
        else:
            write_safetensors(staging / SAFETENSORS_WEIGHTS, tensors, metadata={"format": "pt"}, dtype=dtype,
                              progress=progress)
        save_config_for_head(staging, config, head)
    return Path(directory)


def save_hf_tf_checkpoint(directory: str | os.PathLike[str], state: Mapping[str, np.ndarray], config: AlbertConfig,
                          head: Head | str, dtype: str | None = None, progress: Progress | None = None) -> Path:
    """``config.json`` + ``tf_model.h5`` in ``directory``, as ``TFAlbert*.from_pretrained`` expects (atomically, as
    :func:`save_safetensors_checkpoint`)."""
    with atomic_directory(directory, replaces=is_checkpoint_file) as staging:
        write_hf_tf(staging / HF_TF_WEIGHTS, state, head, config=config, dtype=dtype, progress=progress)
        save_config_for_head(staging, config, head, tensorflow=True)
    return Path(directory)


def write_original_config(directory: str | os.PathLike[str], config: AlbertConfig) -> Path:
    """Write ``albert_config.json`` in the original format."""
    target = Path(directory) / ORIGINAL_CONFIG
    atomic_write_text(target, json.dumps(config.to_original_dict(), indent=2, sort_keys=True) + "\n")
    return target


def save_tf1_checkpoint(directory: str | os.PathLike[str], state: Mapping[str, np.ndarray], config: AlbertConfig,
                        progress: Progress | None = None, prefix_name: str = TF1_CHECKPOINT_PREFIX) -> Path:
    """``albert_config.json`` + ``model.ckpt.index/.data-*`` in ``directory`` (atomically, as
    :func:`save_safetensors_checkpoint`); returns the checkpoint prefix."""
    with atomic_directory(directory, replaces=is_checkpoint_file) as staging:
        write_original_config(staging, config)  # validates the config before any weights are written
        write_tf1(staging / prefix_name, state, config, progress=progress)
    return Path(directory) / prefix_name


__all__ = [
    "CHECKPOINT_FILE_PATTERNS",
    "is_checkpoint_file",
    "read_directory_config",
    "save_config_for_head",
    "save_hf_tf_checkpoint",
    "save_safetensors_checkpoint",
    "save_tf1_checkpoint",
    "write_original_config",
]
