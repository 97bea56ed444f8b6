"""Shared test fixtures: tiny configurations covering every architecture option, and environment set-up."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest

from albert_core import AlbertConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
SHAKESPEARE = REPO_ROOT.parent / "shared" / "corpus" / "tinyshakespeare.txt"


def tiny_config(**overrides) -> AlbertConfig:
    """A few-thousand-parameter ALBERT: fast enough to run every head in every test."""
    base = dict(
        vocab_size=99,
        embedding_size=16,
        hidden_size=32,
        num_hidden_layers=3,
        num_hidden_groups=1,
        num_attention_heads=4,
        intermediate_size=37,
        inner_group_num=1,
        hidden_act="gelu_new",
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        classifier_dropout_prob=0.0,
        max_position_embeddings=64,
        type_vocab_size=2,
        num_labels=3,
    )
    base.update(overrides)
    return AlbertConfig(**base)


#: The architecture matrix every backend is tested on. Names are test ids.
CONFIG_MATRIX: dict[str, dict] = {
    "default": {},
    "groups2": {"num_hidden_layers": 4, "num_hidden_groups": 2},
    "uneven_groups": {"num_hidden_layers": 5, "num_hidden_groups": 3},
    "inner2": {"inner_group_num": 2},
    "groups2_inner2": {"num_hidden_layers": 4, "num_hidden_groups": 2, "inner_group_num": 2},
    "embedding_eq_hidden": {"embedding_size": 32},
    "gelu_exact": {"hidden_act": "gelu"},
    "relu": {"hidden_act": "relu"},
    "silu": {"hidden_act": "silu"},
    "relative_key": {"position_embedding_type": "relative_key"},
    "relative_key_query": {"position_embedding_type": "relative_key_query"},
}


@pytest.fixture(params=sorted(CONFIG_MATRIX), ids=sorted(CONFIG_MATRIX))
def matrix_config(request) -> AlbertConfig:
    return tiny_config(**CONFIG_MATRIX[request.param])


@pytest.fixture
def shakespeare_path() -> Path:
    if not SHAKESPEARE.is_file():
        pytest.fail(f"the shared corpus is missing at {SHAKESPEARE}")
    return SHAKESPEARE
