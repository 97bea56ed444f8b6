"""An independent NumPy (float64) implementation of the ALBERT forward pass in eval mode: a test oracle.

Written from the original google-research ALBERT equations (``modeling.py`` of the TF1 release), not from either
backend, so that both backends can be checked against it:

* ``emb = LayerNorm(word[ids] + token_type[tt] + position[0..S-1])`` (the position term only for absolute
  positions), then ``h0 = emb @ W_in + b_in`` (the E -> H projection);
* layer ``l`` (of ``L``) uses group ``int(l * G / L)`` and runs that group's ``inner_group_num`` blocks in order;
* a block: ``a = LN(x + dense(MHA(x)))``, ``y = LN(a + ffn_output(act(ffn(a))))`` (dropout is off in eval);
* attention: ``softmax(q k^T / sqrt(d) + bias + (1 - mask) * -10000)`` with an optional per-layer ``head_mask``
  row multiplying the probabilities; relative position types add ``q . D[l - r + P - 1]`` (and ``k . D[...]``)
  as the Hugging Face extension defines them;
* pooler ``tanh(h[:, 0] @ W_p + b_p)``; MLM ``LN(act(h W_d + b_d)) @ word^T + bias``; SOP / classifiers linear.

Everything is keyed by canonical names (PyTorch layout, a dense weight is ``[out, in]``).

API: ``numpy_forward(config, state, head, input_ids, attention_mask, token_type_ids, head_mask=None)`` returns a dict
with ``hidden_states`` (L + 1 arrays, the projected embeddings first), ``attentions`` (one ``[B, heads, S, S]`` array
per block run), ``last_hidden_state``, ``pooler_output`` (when the state has a pooler) and the head's outputs:
``prediction_logits`` + ``sop_logits`` (pretraining), ``logits`` (masked LM, sequence/token classification, multiple
choice: ``[B, C]`` with inputs ``[B, C, S]``), ``start_logits`` + ``end_logits`` (QA). ``head_mask`` is ``[heads]``
or ``[L, heads]`` (row ``l`` for layer ``l``).
"""

from __future__ import annotations

import math

import numpy as np

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


ACTIVATIONS = {
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))),
    "gelu_new": _gelu_tanh,
    "gelu_pytorch_tanh": _gelu_tanh,
    "gelu_fast": lambda x: 0.5 * x * (1.0 + np.tanh(0.7978845608 * x * (1.0 + 0.044715 * x * x))),
    "quick_gelu": lambda x: x * _sigmoid(1.702 * x),
    "relu": lambda x: np.maximum(x, 0.0),
    "relu6": lambda x: np.minimum(np.maximum(x, 0.0), 6.0),
    "silu": lambda x: x * _sigmoid(x),
    "swish": lambda x: x * _sigmoid(x),
    "mish": lambda x: x * np.tanh(np.log1p(np.exp(x))),
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "linear": lambda x: x,
}


def _layer_norm(x, gamma, beta, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def _dense(x, state, prefix):
    return x @ state[prefix + ".weight"].T + state[prefix + ".bias"]


def _softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def _block(config, state, p, x, mask_bias, head_row):
    b, s, h = x.shape
    n, d = config.num_attention_heads, config.head_size

    def heads(t):
        return t.reshape(b, s, n, d).transpose(0, 2, 1, 3)

    q, k, v = (heads(_dense(x, state, f"{p}.attention.{name}")) for name in ("query", "key", "value"))
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d)
    if config.position_embedding_type != "absolute":
        table = state[f"{p}.attention.distance_embedding.weight"]
        idx = np.arange(s)[:, None] - np.arange(s)[None, :] + config.max_position_embeddings - 1
        dist = table[idx]  # [S, S, d]
        scores = scores + np.einsum("bhld,lrd->bhlr", q, dist)
        if config.position_embedding_type == "relative_key_query":
            scores = scores + np.einsum("bhrd,lrd->bhlr", k, dist)
    probs = _softmax(scores + mask_bias)
    if head_row is not None:
        probs = probs * head_row[None, :, None, None]
    context = (probs @ v).transpose(0, 2, 1, 3).reshape(b, s, h)
    eps = config.layer_norm_eps
    a = _layer_norm(x + _dense(context, state, f"{p}.attention.dense"),
                    state[f"{p}.attention.LayerNorm.weight"], state[f"{p}.attention.LayerNorm.bias"], eps)
    act = ACTIVATIONS[config.hidden_act]
    y = _dense(act(_dense(a, state, f"{p}.ffn")), state, f"{p}.ffn_output")
    out = _layer_norm(a + y, state[f"{p}.full_layer_layer_norm.weight"], state[f"{p}.full_layer_layer_norm.bias"],
                      eps)
    return out, probs


def numpy_backbone(config, state, input_ids, attention_mask=None, token_type_ids=None, head_mask=None) -> dict:
    """Backbone outputs for ``input_ids`` ``[B, S]``; see the module docstring."""
    state = {k: np.asarray(v, dtype=np.float64) for k, v in state.items()}
    input_ids = np.asarray(input_ids)
    b, s = input_ids.shape
    attention_mask = np.ones((b, s)) if attention_mask is None else np.asarray(attention_mask, dtype=np.float64)
    token_type_ids = np.zeros((b, s), dtype=np.int64) if token_type_ids is None else np.asarray(token_type_ids)
    e = state["albert.embeddings.word_embeddings.weight"][input_ids]
    e = e + state["albert.embeddings.token_type_embeddings.weight"][token_type_ids]
    if config.position_embedding_type == "absolute":
        e = e + state["albert.embeddings.position_embeddings.weight"][:s][None]
    e = _layer_norm(e, state["albert.embeddings.LayerNorm.weight"], state["albert.embeddings.LayerNorm.bias"],
                    config.layer_norm_eps)
    x = _dense(e, state, "albert.encoder.embedding_hidden_mapping_in")
    mask_bias = ((1.0 - attention_mask) * -10000.0)[:, None, None, :]
    L = config.num_hidden_layers
    if head_mask is not None:
        head_mask = np.asarray(head_mask, dtype=np.float64)
        if head_mask.ndim == 1:
            head_mask = np.broadcast_to(head_mask, (L, head_mask.shape[0]))
    hidden_states, attentions = [x], []
    for layer in range(L):
        group = int(layer * config.num_hidden_groups / L)  # the original's int(l / L * G), exact for small ints
        for inner in range(config.inner_group_num):
            p = f"albert.encoder.albert_layer_groups.{group}.albert_layers.{inner}"
            x, probs = _block(config, state, p, x, mask_bias, None if head_mask is None else head_mask[layer])
            attentions.append(probs)
        hidden_states.append(x)
    out = {"last_hidden_state": x, "hidden_states": hidden_states, "attentions": attentions}
    if "albert.pooler.weight" in state:
        out["pooler_output"] = np.tanh(_dense(x[:, 0], state, "albert.pooler"))
    return out, state


def numpy_forward(config, state, head, input_ids, attention_mask=None, token_type_ids=None, head_mask=None) -> dict:
    """Eval-mode outputs of the model with ``head`` (a :class:`albert_core.Head` or its value); see module doc."""
    head = getattr(head, "value", head)
    input_ids = np.asarray(input_ids)
    if head == "multiple_choice":
        b, c, s = input_ids.shape
        flat = lambda t: None if t is None else np.asarray(t).reshape(b * c, s)  # noqa: E731
        out, st = numpy_backbone(config, state, flat(input_ids), flat(attention_mask), flat(token_type_ids),
                                 head_mask)
        out["logits"] = _dense(out["pooler_output"], st, "classifier").reshape(b, c)
        return out
    out, st = numpy_backbone(config, state, input_ids, attention_mask, token_type_ids, head_mask)
    h = out["last_hidden_state"]
    if head in ("pretraining", "masked_lm"):
        t = ACTIVATIONS[config.hidden_act](_dense(h, st, "predictions.dense"))
        t = _layer_norm(t, st["predictions.LayerNorm.weight"], st["predictions.LayerNorm.bias"], config.layer_norm_eps)
        logits = t @ st["albert.embeddings.word_embeddings.weight"].T + st["predictions.bias"]
        if head == "masked_lm":
            out["logits"] = logits
        else:
            out["prediction_logits"] = logits
            out["sop_logits"] = _dense(out["pooler_output"], st, "sop_classifier.classifier")
    elif head == "sequence_classification":
        out["logits"] = _dense(out["pooler_output"], st, "classifier")
    elif head == "token_classification":
        out["logits"] = _dense(h, st, "classifier")
    elif head == "question_answering":
        logits = _dense(h, st, "qa_outputs")
        out["start_logits"], out["end_logits"] = logits[..., 0], logits[..., 1]
    elif head != "base":
        raise ValueError(f"unknown head {head!r}")
    return out
