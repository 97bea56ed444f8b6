"""Initial weights in numpy, the same in every framework: what ``albert convert --allow-partial`` fills in.

The backends initialise a fresh model with their own random generators, so a tensor a checkpoint lacks would get
different values in PyTorch and TensorFlow. :func:`initial_state` computes them once, from the configuration and a
seed, with the original ALBERT's initialiser: a normal distribution of standard deviation ``initializer_range``
truncated at two standard deviations (``tf.truncated_normal_initializer``) for kernels and embeddings, ones for
LayerNorm scales, zeros for biases and LayerNorm shifts.
"""

from __future__ import annotations

import zlib
from typing import Iterable

import numpy as np

from ..config import AlbertConfig
from ..heads import Head
from ..weights import Role, canonical_specs

#: Seed of :func:`initial_state` unless one is given.
DEFAULT_INIT_SEED = 0


def truncated_normal(rng: np.random.Generator, shape: tuple[int, ...], stddev: float) -> np.ndarray:
    """Normal samples of standard deviation ``stddev``, redrawn until they lie within two standard deviations."""
    out = rng.standard_normal(shape)
    outside = np.abs(out) > 2.0
    while outside.any():
        out[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(out) > 2.0
    return (out * stddev).astype(np.float32)


def initial_state(config: AlbertConfig, head: Head | str, names: Iterable[str] | None = None,
                  seed: int = DEFAULT_INIT_SEED) -> dict[str, np.ndarray]:
    """Initial values of the canonical tensors ``names`` (default: all) of the model with ``head``, as float32.

    Each tensor's values depend only on ``seed``, its name and the configuration, not on which other tensors are
    asked for, so the same call gives the same arrays everywhere.

    >>> cfg = AlbertConfig(vocab_size=10, embedding_size=4, hidden_size=8, num_hidden_layers=1,
    ...                    num_attention_heads=2, intermediate_size=8)
    >>> state = initial_state(cfg, "base", ["albert.pooler.bias", "albert.embeddings.LayerNorm.weight"])
    >>> state["albert.pooler.bias"].tolist() == [0.0] * 8, float(state["albert.embeddings.LayerNorm.weight"].min())
    (True, 1.0)
    """
    specs = canonical_specs(config, head)
    wanted = list(specs) if names is None else list(names)
    out: dict[str, np.ndarray] = {}
    for name in wanted:
        spec = specs[name]
        if spec.role in (Role.DENSE_KERNEL, Role.EMBEDDING, Role.CLASSIFIER_WEIGHTS):
            rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
            out[name] = truncated_normal(rng, spec.shape, float(config.initializer_range))
        elif spec.role is Role.NORM_SCALE:
            out[name] = np.ones(spec.shape, np.float32)
        else:
            out[name] = np.zeros(spec.shape, np.float32)
    return out


__all__ = ["DEFAULT_INIT_SEED", "initial_state", "truncated_normal"]
