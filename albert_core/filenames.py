"""Every file name of a checkpoint directory, defined once.

A leaf module: it imports nothing from albert-lite, so any module (the configuration, the tokenizer, the checkpoint
readers, the command line) can name files without importing the code that reads them.

>>> MODEL_CONFIG, ORIGINAL_CONFIG, TOKENIZER_CONFIG
('config.json', 'albert_config.json', 'tokenizer_config.json')
>>> safetensors_shard_name(2, 3)
'model-00002-of-00003.safetensors'
"""

from __future__ import annotations

from pathlib import Path

#: The small model shipped inside the package (what a bare ``albert check`` or ``albert fill-mask`` uses).
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "assets" / "default"

# Configuration
MODEL_CONFIG = "config.json"  # Hugging Face / albert-lite AlbertConfig.to_dict(), with "architectures"
ORIGINAL_CONFIG = "albert_config.json"  # google-research original format

# Weights
SAFETENSORS_WEIGHTS = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"  # lists the shards of a sharded checkpoint
PYTORCH_WEIGHTS = "pytorch_model.bin"
HF_TF_WEIGHTS = "tf_model.h5"
TF1_CHECKPOINT_PREFIX = "model.ckpt"  # the original's files are <prefix>.index and <prefix>.data-*
TF1_INDEX_SUFFIX = ".index"

# Tokenizer
SENTENCEPIECE_MODEL = "spiece.model"  # Hugging Face's name
ORIGINAL_SENTENCEPIECE_MODEL = "30k-clean.model"  # google-research's name
TOKENIZER_CONFIG = "tokenizer_config.json"
SPECIAL_TOKENS_MAP = "special_tokens_map.json"

#: SentencePiece model names, in the order a directory is searched.
SENTENCEPIECE_MODELS = (SENTENCEPIECE_MODEL, ORIGINAL_SENTENCEPIECE_MODEL)
#: Tokenizer option files that travel with a checkpoint.
TOKENIZER_OPTION_FILES = (TOKENIZER_CONFIG, SPECIAL_TOKENS_MAP)


def safetensors_shard_name(index: int, count: int) -> str:
    """The name of shard ``index`` (from 1) of ``count``, as Hugging Face names shards."""
    return f"model-{index:05d}-of-{count:05d}.safetensors"
