"""Helpers shared by the albert_tf test files: random canonical states, inputs, labels and output comparison."""

from __future__ import annotations

import numpy as np

from albert_core import AlbertConfig, Head, canonical_specs

B, S, C = 2, 7, 3  # batch, sequence, choices


def head_config(config: AlbertConfig, head: Head) -> AlbertConfig:
    """transformers sizes the sentence-order and QA outputs by num_labels; use 2 there so every framework agrees."""
    return config.copy(num_labels=2) if head in (Head.PRETRAINING, Head.QUESTION_ANSWERING) else config


def random_state(config: AlbertConfig, head: Head, seed: int = 0) -> dict[str, np.ndarray]:
    """A canonical state with nothing trivially 0 or 1: LayerNorm scales near 1, everything else around 0."""
    rng = np.random.default_rng(seed)
    state = {}
    for name, spec in canonical_specs(config, head).items():
        noise = rng.standard_normal(spec.shape).astype(np.float32) * 0.1
        state[name] = (1.0 + noise) if name.endswith("LayerNorm.weight") or "layer_norm.weight" in name else noise
    return state


def make_inputs(config: AlbertConfig, head: Head, seed: int = 0) -> dict[str, np.ndarray]:
    """A padded batch with token types: row 0 full length, row 1 padded after 4 tokens."""
    rng = np.random.default_rng(seed + 100)
    lead = (B, C) if head is Head.MULTIPLE_CHOICE else (B,)
    ids = rng.integers(4, config.vocab_size, size=lead + (S,)).astype(np.int64)
    mask = np.ones(lead + (S,), dtype=np.int64)
    mask[1, ..., 4:] = 0
    ids[mask == 0] = config.pad_token_id
    types = np.zeros(lead + (S,), dtype=np.int64)
    types[..., 3:] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def make_labels(config: AlbertConfig, head: Head, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed + 200)
    if head is Head.BASE:
        return {}
    if head in (Head.PRETRAINING, Head.MASKED_LM):
        labels = rng.integers(0, config.vocab_size, size=(B, S)).astype(np.int64)
        labels[:, ::2] = -100
        out = {"labels": labels}
        if head is Head.PRETRAINING:
            out["sentence_order_label"] = np.array([0, 1], dtype=np.int64)
        return out
    if head is Head.SEQUENCE_CLASSIFICATION:
        return {"labels": np.array([1, 2], dtype=np.int64) % config.num_labels}
    if head is Head.MULTIPLE_CHOICE:
        return {"labels": np.array([2, 0], dtype=np.int64)}
    if head is Head.TOKEN_CLASSIFICATION:
        labels = rng.integers(0, config.num_labels, size=(B, S)).astype(np.int64)
        labels[1, 4:] = -100
        return {"labels": labels}
    return {"start_positions": np.array([1, 3], dtype=np.int64), "end_positions": np.array([5, 30], dtype=np.int64)}


def to_numpy(x):
    if x is None:
        return None
    if isinstance(x, (tuple, list)):
        return [to_numpy(v) for v in x]
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def assert_outputs_close(ours, theirs, keys=None, atol=1e-5, rtol=1e-5, what=""):
    """Every field of ``ours`` (a model output) that ``theirs`` also holds agrees within tolerance."""
    keys = keys or [k for k in ours.keys() if theirs.get(k) is not None]
    assert keys, f"{what}: nothing to compare"
    for key in keys:
        a, b = to_numpy(ours[key]), to_numpy(theirs[key])
        assert b is not None, f"{what}: {key} missing on the other side"
        if isinstance(a, list):
            assert len(a) == len(b), f"{what}: {key} has {len(a)} vs {len(b)} entries"
            for i, (x, y) in enumerate(zip(a, b)):
                np.testing.assert_allclose(x, y, atol=atol, rtol=rtol, err_msg=f"{what}: {key}[{i}]")
        else:
            np.testing.assert_allclose(a, b, atol=atol, rtol=rtol, err_msg=f"{what}: {key}")
    return keys
