"""One factory for every backend test: tiny configs per head, random canonical states, inputs, labels, converters.

Everything here is NumPy; :func:`to_backend` turns arrays into torch or TensorFlow tensors and :func:`build` builds a
backend's model class for a head with a given canonical state. Conventions (those of the former ``tf_helpers``):

* batch ``B = 2``, sequence ``S = 7``, ``C = 3`` choices for multiple choice (inputs ``[B, C, S]``);
* row 0 is full length, row 1 is padded after 4 tokens (``pad_token_id`` there, attention mask 0);
* token types are 0 for the first 3 positions and 1 after;
* labels are valid: token labels have -100 positions (padding among them), span labels have an end position outside
  the sequence.

>>> from albert_core import Head
>>> config = config_for(Head.MULTIPLE_CHOICE)
>>> make_inputs(config, Head.MULTIPLE_CHOICE)["input_ids"].shape
(2, 3, 7)
>>> make_labels(config, Head.QUESTION_ANSWERING)["end_positions"].tolist()
[5, 30]
"""

from __future__ import annotations

import importlib
from typing import Any, Mapping

import numpy as np

from albert_core import AlbertConfig, Head, canonical_specs
from albert_core.heads import HEADS
from conftest import CONFIG_MATRIX, tiny_config

B, S, C = 2, 7, 3  # batch, sequence, choices
PAD_AFTER = 4  # row 1 holds 4 real tokens
BACKENDS = ("pt", "tf")
ALL_HEADS = tuple(HEADS)  # the head table's order


def head_ids(heads) -> list[str]:
    return [h.value for h in heads]


# ---------------------------------------------------------------------------------------------------------------------
# configs and states


def config_for(head: Head, name: str = "default", **overrides) -> AlbertConfig:
    """``tiny_config`` with ``CONFIG_MATRIX[name]`` and ``overrides``; heads with a fixed output width (sentence
    order, QA) get ``num_labels`` set to it, as transformers sizes those outputs by ``num_labels``."""
    config = tiny_config(**{**CONFIG_MATRIX[name], **overrides})
    fixed = HEADS[head].fixed_num_labels
    if fixed is not None and "num_labels" not in overrides and config.num_labels != fixed:
        config = config.copy(num_labels=fixed)
    return config


def random_state(config: AlbertConfig, head: Head, seed: int = 0) -> dict[str, np.ndarray]:
    """A canonical state with nothing trivially 0 or 1: LayerNorm scales near 1, everything else near 0."""
    rng = np.random.default_rng(seed)
    state = {}
    for name, spec in canonical_specs(config, head).items():
        noise = rng.standard_normal(spec.shape).astype(np.float32) * 0.1
        scale = name.endswith("LayerNorm.weight") or "layer_norm.weight" in name
        state[name] = (1.0 + noise) if scale else noise
    return state


# ---------------------------------------------------------------------------------------------------------------------
# inputs and labels


def lead_shape(head: Head) -> tuple[int, ...]:
    """The leading dimensions of the head's inputs: ``(B, C)`` for multiple choice, ``(B,)`` otherwise."""
    return (B, C) if HEADS[head].choices else (B,)


def make_inputs(config: AlbertConfig, head: Head, seed: int = 0) -> dict[str, np.ndarray]:
    """A padded batch with token types: row 0 full length, row 1 padded after 4 tokens (int64 arrays)."""
    rng = np.random.default_rng(seed + 100)
    lead = lead_shape(head)
    ids = rng.integers(4, config.vocab_size, size=lead + (S,)).astype(np.int64)
    mask = np.ones(lead + (S,), dtype=np.int64)
    mask[1, ..., PAD_AFTER:] = 0
    ids[mask == 0] = config.pad_token_id
    types = np.zeros(lead + (S,), dtype=np.int64)
    types[..., 3:] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def make_labels(config: AlbertConfig, head: Head, seed: int = 0) -> dict[str, np.ndarray]:
    """Valid labels for ``head`` (int64): -100 at ignored positions, a span end outside the sequence."""
    rng = np.random.default_rng(seed + 200)
    if head is Head.BASE:
        return {}
    if head in (Head.PRETRAINING, Head.MASKED_LM):
        labels = rng.integers(0, config.vocab_size, size=(B, S)).astype(np.int64)
        labels[:, ::2] = -100
        labels[1, PAD_AFTER:] = -100  # no loss on padding (transformers freezes the pad row's embedding there)
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
        labels[1, PAD_AFTER:] = -100
        return {"labels": labels}
    if head is Head.QUESTION_ANSWERING:
        return {"start_positions": np.array([1, 3], dtype=np.int64),
                "end_positions": np.array([5, 30], dtype=np.int64)}  # 30 > S: clamped and ignored
    raise ValueError(f"no labels for {head}")


# ---------------------------------------------------------------------------------------------------------------------
# backends


def backend_module(backend: str):
    """``albert_pt`` or ``albert_tf``."""
    return importlib.import_module({"pt": "albert_pt", "tf": "albert_tf"}[backend])


def model_class(backend: str, head: Head):
    return backend_module(backend).MODEL_CLASSES[head]


def to_backend(arrays: Any, backend: str) -> Any:
    """NumPy arrays (a dict, list or tuple of them, or one array; ``None`` passes) as torch or TF tensors."""
    if arrays is None:
        return None
    if isinstance(arrays, Mapping):
        return {k: to_backend(v, backend) for k, v in arrays.items()}
    if isinstance(arrays, (list, tuple)):
        return type(arrays)(to_backend(v, backend) for v in arrays)
    array = np.asarray(arrays)
    if backend == "pt":
        import torch

        return torch.from_numpy(np.ascontiguousarray(array))
    if backend == "tf":
        import tensorflow as tf

        return tf.constant(array)
    raise ValueError(f"unknown backend {backend!r}")


def make_batch(backend: str, config: AlbertConfig, head: Head, seed: int = 0, labels: bool = False) -> dict:
    """:func:`make_inputs` (and, with ``labels``, :func:`make_labels`) as the backend's tensors."""
    arrays = make_inputs(config, head, seed)
    if labels:
        arrays = {**arrays, **make_labels(config, head, seed)}
    return to_backend(arrays, backend)


def to_numpy(x: Any) -> Any:
    """A torch / TF tensor (or a tuple or list of them) as NumPy; ``None`` passes."""
    if x is None:
        return None
    if isinstance(x, (tuple, list)):
        return [to_numpy(v) for v in x]
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def build(backend: str, head: Head, config: AlbertConfig, state: Mapping[str, np.ndarray] | None = None):
    """The backend's model class for ``head`` on ``config``, with ``state`` loaded strictly (eval mode)."""
    model = model_class(backend, head)(config)
    if state is not None:
        model.load_canonical_state(state, strict=True)
    if backend == "pt":
        model.eval()
    return model


def run(backend: str, model, arrays: Mapping[str, Any] | None = None, **kwargs):
    """Call ``model`` with NumPy ``arrays`` converted to the backend's tensors (plus plain ``kwargs`` such as
    ``output_attentions``; array-valued kwargs are converted too). PyTorch runs without autograd."""
    call = {**to_backend(dict(arrays or {}), backend)}
    for key, value in kwargs.items():
        call[key] = to_backend(value, backend) if isinstance(value, np.ndarray) else value
    if backend == "pt":
        import torch

        with torch.no_grad():
            return model(**call)
    return model(**call)


def assert_outputs_close(ours, theirs, keys=None, atol: float = 1e-5, rtol: float = 1e-5, what: str = ""):
    """Every field of ``ours`` (an output container or mapping) that ``theirs`` also holds agrees within tolerance;
    tuples (hidden states, attentions) entry by entry. Returns the compared keys."""
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


def random_sequences(config, count: int, seed: int, max_len: int | None = None):
    """``count`` random id sequences of lengths 1 .. ``max_len`` (the first one the longest possible) and their
    segment ids (0 over the first half, 1 after): the variable-length batches of the fast-path tests."""
    rng = np.random.default_rng(seed)
    max_len = max_len or config.max_position_embeddings
    lengths = rng.integers(1, max_len + 1, size=count)
    lengths[0] = max_len  # the longest possible sequence is in the batch
    ids = [rng.integers(4, config.vocab_size, size=n).tolist() for n in lengths]
    types = [(np.arange(n) >= n // 2).astype(int).tolist() for n in lengths]
    return ids, types


def right_padded(ids, types):
    """``(input_ids, attention_mask, token_type_ids)`` int64 arrays of the sequences padded on the right."""
    longest = max(map(len, ids))
    batch = np.zeros((len(ids), longest), np.int64)
    tt, mask = np.zeros_like(batch), np.zeros_like(batch)
    for i, (s, t) in enumerate(zip(ids, types)):
        batch[i, : len(s)], tt[i, : len(s)], mask[i, : len(s)] = s, t, 1
    return batch, mask, tt
