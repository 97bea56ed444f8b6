"""The tiny pre-training set-up shared by ``test_pretraining_pt.py`` and ``test_pretraining_tf.py``.

A 400-piece SentencePiece model, train / held-out data from the first 3000 lines of tiny Shakespeare, and two
2-layer, hidden-32 ALBERT configs (``model`` without dropout, ``model_dropout`` with 0.1).
"""

from __future__ import annotations

import itertools
import socket
from pathlib import Path

import numpy as np

from albert_core import AlbertConfig, train_sentencepiece
from albert_core.checkpoints.safetensors import read_safetensors
from albert_core.pretraining import build_pretraining_data
from albert_core.tokenizer import AlbertTokenizer
from albert_core.training import TrainingConfig

from conftest import SHAKESPEARE


def tiny_pretraining_setup(root: Path) -> dict[str, Path]:
    """Build the set-up under ``root``; returns the paths ``root``, ``train``, ``heldout``, ``model`` and
    ``model_dropout``."""
    lines = [line.rstrip("\n") for line in itertools.islice(open(SHAKESPEARE, encoding="utf-8"), 3000)]
    tokenizer = AlbertTokenizer(train_sentencepiece(lines, root, vocab_size=400))
    train = build_pretraining_data(lines[:2500], root / "train", tokenizer, max_seq_length=32, dupe_factor=1,
                                   progress=False)
    heldout = build_pretraining_data(lines[2500:], root / "heldout", tokenizer, max_seq_length=32, dupe_factor=1,
                                     seed=7, progress=False)
    paths = {"root": root, "train": train, "heldout": heldout}
    for name, dropout in (("model", 0.0), ("model_dropout", 0.1)):
        AlbertConfig(vocab_size=len(tokenizer), embedding_size=16, hidden_size=32, num_hidden_layers=2,
                     num_attention_heads=4, intermediate_size=64, max_position_embeddings=32,
                     hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout,
                     classifier_dropout_prob=dropout).save_pretrained(root / name)
        paths[name] = root / name
    return paths


def short_run_config(tiny: dict[str, Path], out: Path, **overrides) -> TrainingConfig:
    """Six updates of batch 8 on the set-up's train data, quiet, no evaluation or checkpoints unless overridden."""
    settings = dict(data=str(tiny["train"]), out=str(out), model_config=str(tiny["model"]),
                    learning_rate=1e-2, warmup_steps=2, total_steps=6, global_batch_size=8, eval_every=0,
                    save_every=0, log_every=1, max_eval_examples=64, resume="auto", quiet=True)
    settings.update(overrides)
    return TrainingConfig(**settings)


def weights_of(checkpoint: Path) -> dict[str, np.ndarray]:
    return read_safetensors(checkpoint / "model.safetensors")[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
