"""Oracle helpers: transformers' PyTorch ALBERT built on a config, and the comparisons against it.

Configs, inputs, labels and canonical states come from :mod:`factory`; this module only adds what an oracle needs:
:func:`hf_model` (a transformers ``AlbertFor*`` with random weights, eager attention), :func:`randomize` (random
weights for any torch module, used for transformers' models), :func:`forward_both` (one batch through ours and the
oracle), and :func:`compare_outputs` / :func:`assert_close` (field by field, hidden states and attentions one by one).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from albert_core import AlbertConfig, Head
from albert_core.heads import HEADS as HEAD_SPECS
from factory import make_batch

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()

#: the outputs compared when only the head's main outputs are (no hidden states / attentions requested)
MAIN_KEYS = {
    Head.BASE: ["last_hidden_state", "pooler_output"],
    Head.PRETRAINING: ["prediction_logits", "sop_logits"],
    Head.QUESTION_ANSWERING: ["start_logits", "end_logits"],
}


def main_keys(head: Head) -> list[str]:
    return MAIN_KEYS.get(head, ["logits"])


def hf_pt_class(head: Head):
    """transformers' PyTorch class for ``head``."""
    return getattr(transformers, HEAD_SPECS[head].hf_class)


def hf_model(config: AlbertConfig, head: Head, seed: int = 0):
    """transformers' PyTorch model for ``head`` on ``config`` (eager attention), randomised, in eval mode."""
    data = {k: v for k, v in config.to_dict().items() if k != "model_type"}
    hf_config = transformers.AlbertConfig(**data)
    hf_config._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = hf_pt_class(head)(hf_config)
    randomize(model, seed)
    # transformers' word embedding is nn.Embedding(padding_idx=pad_token_id): the pad token's row gets no gradient
    # from the lookup. The original ALBERT, albert_pt and albert_tf train that row like any other, and the factory's
    # batches hold pad tokens (whose positions feed the QA softmax), so the oracle trains it too (forward unchanged).
    getattr(model, "albert", model).embeddings.word_embeddings.padding_idx = None
    return model.eval()


def ours_and_reference(model_classes, config: AlbertConfig, head: Head, directory):
    """``(ours, ref)``: :func:`hf_model` saved to ``directory`` and loaded strictly into ``model_classes[head]`` (either
    backend's ``MODEL_CLASSES``), so both hold the same random weights."""
    ref = hf_model(config, head)
    ref.save_pretrained(directory)
    return model_classes[head].from_pretrained(directory, strict=True), ref


def randomize(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Fill every parameter with random values: scales near 1, everything else around 0 (biases included)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=gen) * 0.1
            if "LayerNorm.weight" in name or "layer_norm.weight" in name:
                param.copy_(1.0 + noise)
            else:
                param.copy_(noise)
    return model


def assert_close(ours, ref, name, atol=1e-5, rtol=1e-5):
    ours = ours.detach().float() if isinstance(ours, torch.Tensor) else torch.as_tensor(np.asarray(ours)).float()
    ref = ref.detach().float() if isinstance(ref, torch.Tensor) else torch.as_tensor(np.asarray(ref)).float()
    assert ours.shape == ref.shape, f"{name}: shape {tuple(ours.shape)} vs {tuple(ref.shape)}"
    torch.testing.assert_close(ours, ref, atol=atol, rtol=rtol, msg=lambda m: f"{name}: {m}")


def compare_outputs(ours, ref, config: AlbertConfig, keys=None):
    """Every field the reference returns (HF ModelOutput or dict), hidden states and attentions one by one."""
    keys = keys or [k for k in ref.keys() if ref[k] is not None]
    assert keys
    for key in keys:
        a, b = ours[key], ref[key]
        if key == "hidden_states":
            assert len(a) == len(b) == config.num_hidden_layers + 1
            for i, (x, y) in enumerate(zip(a, b)):
                assert_close(x, y, f"hidden_states[{i}]")
        elif key == "attentions":
            assert len(a) == len(b) == config.num_hidden_layers * config.inner_group_num
            for i, (x, y) in enumerate(zip(a, b)):
                assert_close(x, y, f"attentions[{i}]")
        else:
            assert_close(a, b, key)


def forward_both(ours, ref, config, head, with_labels=True, **extra):
    """The factory's batch (with its labels unless ``with_labels`` is false) through ``ours`` and ``ref``, with
    hidden states and attentions, without autograd."""
    kwargs = dict(make_batch("pt", config, head, labels=with_labels), output_attentions=True,
                  output_hidden_states=True, **extra)
    with torch.no_grad():
        return ours(**kwargs), ref(**kwargs)
