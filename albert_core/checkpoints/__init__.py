"""Checkpoint files on numpy arrays: every format albert-lite reads or writes, and the directory layout.

Nothing here imports torch, tensorflow or h5py at module level, and nothing unpickles. The modules, by role:

* ``contents``: :class:`CheckpointContents`, what every reader returns;
* ``safetensors``: strict ``.safetensors`` I/O, single files and shards;
* ``torch_bin``: ``pytorch_model.bin`` with ``torch.load(weights_only=True)``;
* ``hf_tf``: Hugging Face ``tf_model.h5`` through h5py;
* ``tf1``: original TF1 checkpoints through TensorFlow's checkpoint reader;
* ``directory``: the Hugging Face directory layout (configuration files, savers);
* ``formats``: the format table :data:`FORMATS` and :func:`find_weights`;
* ``reading``: :func:`read_checkpoint` and friends, used by the backends;
* ``initialization``: :func:`initial_state`, framework-neutral initial weights.
"""

from __future__ import annotations

from .contents import CheckpointContents, Progress
from .directory import (
    CHECKPOINT_FILE_PATTERNS,
    is_checkpoint_file,
    read_directory_config,
    save_config_for_head,
    save_hf_tf_checkpoint,
    save_safetensors_checkpoint,
    save_tf1_checkpoint,
    write_original_config,
)
from .formats import FORMATS, CheckpointFormat, find_weights, format_named
from .hf_tf import read_hf_tf_checkpoint, write_hf_tf
from .initialization import initial_state
from .reading import (
    check_shapes_against_config,
    non_finite_tensors,
    read_checkpoint,
    read_checkpoint_for_model,
    report_non_finite,
    warn_about_partial_load,
)
from .safetensors import (
    SAVE_DTYPES,
    read_safetensors,
    read_safetensors_header,
    read_safetensors_index,
    read_sharded_safetensors,
    write_safetensors,
    write_sharded_safetensors,
)
from .tf1 import read_tf1_checkpoint, tf1_export_state, tf1_variable_names, write_tf1
from .torch_bin import read_pytorch_bin

__all__ = [
    "CHECKPOINT_FILE_PATTERNS",
    "FORMATS",
    "SAVE_DTYPES",
    "CheckpointContents",
    "CheckpointFormat",
    "Progress",
    "check_shapes_against_config",
    "find_weights",
    "format_named",
    "initial_state",
    "is_checkpoint_file",
    "non_finite_tensors",
    "read_checkpoint",
    "read_checkpoint_for_model",
    "read_directory_config",
    "read_hf_tf_checkpoint",
    "read_pytorch_bin",
    "read_safetensors",
    "read_safetensors_header",
    "read_safetensors_index",
    "read_sharded_safetensors",
    "read_tf1_checkpoint",
    "report_non_finite",
    "save_config_for_head",
    "save_hf_tf_checkpoint",
    "save_safetensors_checkpoint",
    "save_tf1_checkpoint",
    "tf1_export_state",
    "tf1_variable_names",
    "warn_about_partial_load",
    "write_hf_tf",
    "write_original_config",
    "write_safetensors",
    "write_sharded_safetensors",
    "write_tf1",
]
