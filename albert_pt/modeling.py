"""ALBERT in PyTorch, in one file: embeddings, the shared encoder, the pooler and every task head.

Read it top to bottom: activations, embeddings, one transformer block, the shared encoder, the backbone
(:class:`AlbertModel`), then the heads. Parameter names are the canonical names of :mod:`albert_core.weights` (the
Hugging Face PyTorch state-dict names), so ``model.state_dict()`` of a head model *is* a canonical state (without the
tied decoder) and a stand-alone :class:`AlbertModel` names its tensors without the ``albert.`` prefix, as transformers
does.

The equations are those of the original google-research ALBERT (``modeling.py`` of the TF1 release):

* embeddings: ``LayerNorm(word[ids] + position[pos] + token_type[tt])`` -> dropout -> dense ``E -> H``
  (``encoder.embedding_hidden_mapping_in``, always present, also when ``E == H``);
* ``num_hidden_layers`` layers share ``num_hidden_groups`` parameter groups; layer ``l`` uses group
  ``config.group_of_layer(l)`` and runs the ``inner_group_num`` blocks of that group in order;
* a block is post-LN: ``a = LN(x + dropout(dense(attention(x))))``, ``y = LN(a + dropout(ffn_output(act(ffn(a)))))``;
* the pooler is ``tanh(dense(h[:, 0]))``.

Deviations from ``transformers.AlbertModel`` (4.57), each on purpose:

1. **FFN-output dropout.** The original applies ``hidden_dropout_prob`` dropout to the feed-forward output before the
   residual LayerNorm; transformers' PyTorch block does not. We apply it (train mode only, so eval outputs agree).
2. **head_mask rows index layers.** A ``[num_hidden_layers, heads]`` mask applies row ``l`` to layer ``l``.
   transformers slices the mask by *group* (with one group every layer uses row 0). With ``inner_group_num > 1`` the
   same row ``l`` applies to every inner block of layer ``l``. A ``[heads]`` mask applies to every layer in both.
3. **inner_group_num > num_hidden_layers / num_hidden_groups works.** transformers slices ``head_mask`` per group and
   raises ``IndexError`` there; we simply run every inner block.
4. **Layer-to-group mapping** uses ``config.group_of_layer``: the original's ``int(l / L * G)`` in double precision.
   transformers computes ``int(l / (L / G))``, which rounds differently for some shapes (18 layers in 14 groups:
   layer 9 uses group 7 in the original and here, group 6 in transformers).
5. **Initialisation** is the original's truncated normal (``trunc_normal_(std=r, a=-2r, b=2r)``) for dense kernels
   and embeddings, zero biases, LayerNorm 1/0; transformers uses a plain normal and zeroes the ``pad_token_id`` row
   of the word embeddings (the original does neither; we do not either).
6. **Sentence-order head** always has two classes (the canonical spec), whatever ``num_labels`` is
   (transformers sizes it by ``num_labels``), and has no dropout before it, as in the original's
   ``get_sentence_order_output``; transformers applies ``classifier_dropout_prob`` dropout there.
7. **Classifier dropout** of every classification head is ``classifier_dropout_prob``, or ``hidden_dropout_prob``
   when that is ``None`` (transformers does this fallback only in the token-classification head, and fails with
   ``None`` in the others).
8. **Relative position types**: like transformers (checked numerically in the tests), the absolute position
   embeddings are *not* added in the embeddings when ``position_embedding_type`` is ``relative_key`` or
   ``relative_key_query``; the position table still exists (and is saved) so checkpoints keep their shapes.
   ``position_ids`` are then only range-checked. The relative scores are ``q . d[l - r + max_pos - 1]``
   (``relative_key``) plus ``k . d[...]`` (``relative_key_query``), added to ``q . k / sqrt(head_size)``.
9. **Attention kernel**: without attention weights to return, without ``head_mask`` and with absolute positions we
   call :func:`torch.nn.functional.scaled_dot_product_attention` when :data:`USE_SDPA` is true (measured faster on
   CPU by ``benchmarks/bench_pt.py``), else explicit matmuls, which are also used whenever attention weights or
   ``head_mask`` are requested.
10. **Inputs are validated** up front (:mod:`albert_core.validation`): bad shapes and out-of-range ids raise
    :class:`~albert_core.InputError` instead of an index error from inside an embedding.
11. The padded-key mask adds ``torch.finfo(dtype).min`` (like transformers; the original adds ``-10000``): masked
    keys get probability exactly 0 either way.
12. **Pre-training loss** with only one of ``labels`` / ``sentence_order_label`` is that part's loss alone;
    transformers returns no loss unless both are given (with both, the sum agrees).

As in transformers, ``attentions`` holds one tensor per block run, i.e. ``num_hidden_layers * inner_group_num``
tensors (``num_hidden_layers`` in the usual ``inner_group_num == 1`` case), while ``hidden_states`` holds the
projected embeddings and then one tensor per *layer* (``num_hidden_layers + 1``).
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from albert_core.checkpoint import read_checkpoint_for_model, save_safetensors_checkpoint, warn_about_partial_load
from albert_core.config import AlbertConfig
from albert_core.errors import ConfigError, InputError
from albert_core.outputs import (
    BaseModelOutput,
    MaskedLMOutput,
    MultipleChoiceOutput,
    PreTrainingOutput,
    QuestionAnsweringOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from albert_core.validation import (
    IGNORE_INDEX,
    check_choice_inputs,
    check_id_range,
    check_labels_shape,
    check_model_inputs,
    id_inputs,
)
from albert_core.weights import BACKBONE_PREFIX, Head, LoadReport, canonical_specs, match_state

logger = logging.getLogger(__name__)

#: Use ``F.scaled_dot_product_attention`` when nothing forces the explicit path (see ``benchmarks/bench_pt.py``).
USE_SDPA = True

# ---------------------------------------------------------------------------------------------------------------------
# Activations


def _gelu_fast(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x * (1.0 + torch.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)))


def _gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x, approximate="tanh")


#: Every name of :data:`albert_core.ACTIVATIONS`, as a function of a tensor.
ACT_FNS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "gelu": F.gelu,
    "gelu_new": _gelu_tanh,
    "gelu_pytorch_tanh": _gelu_tanh,
    "gelu_fast": _gelu_fast,
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
    "relu": F.relu,
    "relu6": F.relu6,
    "silu": F.silu,
    "swish": F.silu,
    "mish": F.mish,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "linear": lambda x: x,
}


def _is_tracing() -> bool:
    """True under torch.compile / torch.fx / torch.jit tracing, where tensor values are not available."""
    if torch.compiler.is_compiling() or torch.jit.is_tracing():
        return True
    try:
        from torch.fx._symbolic_trace import is_fx_symbolic_tracing as fx_tracing
    except ImportError:  # pragma: no cover - older torch
        from torch.fx._symbolic_trace import is_fx_tracing as fx_tracing
    return fx_tracing()


# ---------------------------------------------------------------------------------------------------------------------
# Backbone modules


class AlbertEmbeddings(nn.Module):
    """Word + position + token-type embeddings (width E), LayerNorm and dropout.

    The E -> H projection lives in the encoder (``encoder.embedding_hidden_mapping_in``), where the canonical names
    put it. Absolute position embeddings are added only for ``position_embedding_type="absolute"``.
    """

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        e = config.embedding_size
        self.word_embeddings = nn.Embedding(config.vocab_size, e)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, e)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, e)
        self.LayerNorm = nn.LayerNorm(e, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.absolute = config.position_embedding_type == "absolute"

    def forward(self, input_ids, token_type_ids, position_ids, inputs_embeds) -> torch.Tensor:
        x = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds
        seq = x.shape[1]
        if token_type_ids is None:
            x = x + self.token_type_embeddings.weight[0]  # all-zero token types
        else:
            x = x + self.token_type_embeddings(token_type_ids)
        if self.absolute:
            if position_ids is None:
                x = x + self.position_embeddings.weight[:seq]
            else:
                x = x + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(x))


class AlbertAttention(nn.Module):
    """Multi-head self-attention, output projection, dropout and the residual LayerNorm of one block."""

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        h = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.head_size = config.head_size
        self.query = nn.Linear(h, h)
        self.key = nn.Linear(h, h)
        self.value = nn.Linear(h, h)
        self.dense = nn.Linear(h, h)
        self.LayerNorm = nn.LayerNorm(h, eps=config.layer_norm_eps)
        self.attention_dropout = nn.Dropout(config.attention_probs_dropout_prob)
        self.output_dropout = nn.Dropout(config.hidden_dropout_prob)
        self.position_embedding_type = config.position_embedding_type
        self.max_position_embeddings = config.max_position_embeddings
        if self.position_embedding_type != "absolute":
            self.distance_embedding = nn.Embedding(2 * config.max_position_embeddings - 1, self.head_size)

    def _split(self, x: torch.Tensor) -> torch.Tensor:  # [B, S, H] -> [B, heads, S, head_size]
        b, s, _ = x.shape
        return x.view(b, s, self.num_heads, self.head_size).transpose(1, 2)

    def forward(self, x, mask, head_mask=None, output_attentions=False):
        """x: [B, S, H]; mask: additive [B, 1, 1, S] or None; head_mask: [1, heads, 1, 1] or None."""
        b, s, h = x.shape
        q, k, v = self._split(self.query(x)), self._split(self.key(x)), self._split(self.value(x))
        probs = None
        if USE_SDPA and not output_attentions and head_mask is None and self.position_embedding_type == "absolute":
            p = self.attention_dropout.p if self.training else 0.0
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        else:
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_size)
            if self.position_embedding_type != "absolute":
                pos = torch.arange(s, device=x.device)
                distance = pos.view(-1, 1) - pos.view(1, -1) + (self.max_position_embeddings - 1)
                d = self.distance_embedding(distance).to(q.dtype)  # [S, S, head_size]
                scores = scores + torch.einsum("bhld,lrd->bhlr", q, d)
                if self.position_embedding_type == "relative_key_query":
                    scores = scores + torch.einsum("bhrd,lrd->bhlr", k, d)
            if mask is not None:
                scores = scores + mask
            probs = self.attention_dropout(torch.softmax(scores, dim=-1))
            if head_mask is not None:
                probs = probs * head_mask
            context = torch.matmul(probs, v)
        context = context.transpose(1, 2).reshape(b, s, h)
        out = self.LayerNorm(x + self.output_dropout(self.dense(context)))
        return out, probs


class AlbertLayer(nn.Module):
    """One post-LN transformer block: attention sub-block, then feed-forward sub-block."""

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        self.attention = AlbertAttention(config)
        self.ffn = nn.Linear(config.hidden_size, config.intermediate_size)
        self.ffn_output = nn.Linear(config.intermediate_size, config.hidden_size)
        self.full_layer_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.activation = ACT_FNS[config.hidden_act]
        self.dropout = nn.Dropout(config.hidden_dropout_prob)  # on the FFN output, as in the original

    def forward(self, x, mask, head_mask=None, output_attentions=False):
        a, probs = self.attention(x, mask, head_mask, output_attentions)
        y = self.dropout(self.ffn_output(self.activation(self.ffn(a))))
        return self.full_layer_layer_norm(a + y), probs


class AlbertLayerGroup(nn.Module):
    """The ``inner_group_num`` blocks of one parameter group, run in order for each layer using the group."""

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        self.albert_layers = nn.ModuleList(AlbertLayer(config) for _ in range(config.inner_group_num))

    def forward(self, x, mask, head_mask=None, output_attentions=False):
        all_probs = []
        for block in self.albert_layers:
            x, probs = block(x, mask, head_mask, output_attentions)
            all_probs.append(probs)
        return x, all_probs


class AlbertTransformer(nn.Module):
    """The E -> H projection and the shared encoder; returns ``(last, hidden_states, attentions)``.

    ``hidden_states`` (when requested) holds the projected embeddings and then the output of every layer;
    ``attentions`` holds one ``[B, heads, S, S]`` tensor per layer (per inner block when ``inner_group_num > 1``,
    as transformers does).
    """

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding_hidden_mapping_in = nn.Linear(config.embedding_size, config.hidden_size)
        self.albert_layer_groups = nn.ModuleList(AlbertLayerGroup(config) for _ in range(config.num_hidden_groups))
        self.layer_groups = config.layer_groups()
        self.gradient_checkpointing = bool(config.extra.get("gradient_checkpointing", False))

    def forward(self, x, mask=None, head_mask=None, output_attentions=False, output_hidden_states=False):
        """x: [B, S, E] embeddings; mask: additive [B, 1, 1, S] or None; head_mask: [L, 1, heads, 1, 1] or None."""
        x = self.embedding_hidden_mapping_in(x)
        hidden_states = [x] if output_hidden_states else None
        attentions = [] if output_attentions else None
        for layer, group_index in enumerate(self.layer_groups):
            group = self.albert_layer_groups[group_index]
            row = None if head_mask is None else head_mask[layer]
            if self.gradient_checkpointing and self.training and torch.is_grad_enabled():
                x, probs = torch.utils.checkpoint.checkpoint(
                    group, x, mask, row, output_attentions, use_reentrant=False
                )
            else:
                x, probs = group(x, mask, row, output_attentions)
            if attentions is not None:
                attentions.extend(probs)
            if hidden_states is not None:
                hidden_states.append(x)
        return (
            x,
            None if hidden_states is None else tuple(hidden_states),
            None if attentions is None else tuple(attentions),
        )


# ---------------------------------------------------------------------------------------------------------------------
# Shared model machinery: initialisation, validation, checkpoints


class AlbertPreTrainedModel(nn.Module):
    """Base of every ALBERT model: weight initialisation and checkpoint loading/saving in canonical names.

    Subclasses set :attr:`head` and build their modules in ``__init__``. Not meant to be built directly; use
    :class:`AlbertModel` or one of the task heads.

    Args:
        config: the model configuration; validated again here.

    Raises:
        ~albert_core.ConfigError: when ``config`` is not an :class:`~albert_core.AlbertConfig` or does not validate.

    Example:
        >>> from albert_core import AlbertConfig, ConfigError
        >>> from albert_pt import AlbertForMaskedLM, AlbertModel, AlbertPreTrainedModel
        >>> cfg = AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> model = AlbertForMaskedLM(cfg)
        >>> isinstance(model, AlbertPreTrainedModel), model.head.value, model.config is cfg, model.load_report
        (True, 'masked_lm', True, None)
        >>> try:
        ...     AlbertModel({"hidden_size": 8})
        ... except ConfigError as exc:
        ...     print(exc)
        expected an albert_core.AlbertConfig, got dict
    """

    #: the task head this class implements (decides the canonical tensor set, see ``canonical_specs``)
    head: Head = Head.BASE
    #: prefix of the backbone's canonical names inside this module's ``state_dict`` (``""`` for AlbertModel)
    _state_prefix = BACKBONE_PREFIX

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        if not isinstance(config, AlbertConfig):
            raise ConfigError(f"expected an albert_core.AlbertConfig, got {type(config).__name__}")
        config.validate()
        self.config = config
        #: what the last :meth:`load_canonical_state` / :meth:`from_pretrained` matched (``None`` before any load)
        self.load_report: LoadReport | None = None

    # ------------------------------------------------------------------ initialisation

    def _init_weights(self, module: nn.Module) -> None:
        r = self.config.initializer_range
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.trunc_normal_(module.weight, mean=0.0, std=r, a=-2 * r, b=2 * r)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def init_weights(self, skip_backbone: bool = False) -> None:
        """(Re-)initialise parameters as the original ALBERT does (truncated normal, zero biases, LayerNorm 1/0).

        Dense kernels and embedding tables are drawn from a normal distribution with standard deviation
        ``config.initializer_range``, truncated at two standard deviations; the masked-LM output bias is zeroed.

        Args:
            skip_backbone: leave the ``albert`` sub-module alone (the heads use it after building a backbone that
                has initialised itself).

        Example:
            >>> import torch
            >>> from albert_core import AlbertConfig
            >>> from albert_pt import AlbertModel
            >>> cfg = AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
            ...                    num_attention_heads=2, intermediate_size=16)
            >>> _ = torch.manual_seed(0)
            >>> model = AlbertModel(cfg)
            >>> with torch.no_grad():
            ...     _ = model.embeddings.LayerNorm.weight.fill_(5.0)
            >>> model.init_weights()
            >>> bool((model.embeddings.LayerNorm.weight == 1).all()), bool((model.pooler.bias == 0).all())
            (True, True)
            >>> bool(model.get_input_embeddings().weight.abs().max() <= 2 * cfg.initializer_range)
            True
        """
        backbone = getattr(self, "albert", None) if skip_backbone else None
        skipped = set(backbone.modules()) if isinstance(backbone, nn.Module) else set()
        with torch.no_grad():
            for module in self.modules():
                if module not in skipped:
                    self._init_weights(module)
            predictions = getattr(self, "predictions", None)
            if isinstance(predictions, AlbertMLMHead):
                predictions.bias.zero_()

    def gradient_checkpointing_enable(self) -> None:
        """Recompute each layer's activations in the backward pass instead of storing them (train mode only).

        Setting ``config.extra["gradient_checkpointing"] = True`` before building the model does the same.

        >>> from albert_core import AlbertConfig
        >>> from albert_pt import AlbertModel
        >>> model = AlbertModel(AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                                  num_attention_heads=2, intermediate_size=16))
        >>> model.gradient_checkpointing_enable()
        >>> model.encoder.gradient_checkpointing
        True
        """
        for module in self.modules():
            if isinstance(module, AlbertTransformer):
                module.gradient_checkpointing = True

    def gradient_checkpointing_disable(self) -> None:
        """Store activations again (the default); undoes :meth:`gradient_checkpointing_enable`.

        >>> from albert_core import AlbertConfig
        >>> from albert_pt import AlbertModel
        >>> model = AlbertModel(AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
        ...                                  num_attention_heads=2, intermediate_size=16))
        >>> model.gradient_checkpointing_enable()
        >>> model.gradient_checkpointing_disable()
        >>> model.encoder.gradient_checkpointing
        False
        """
        for module in self.modules():
            if isinstance(module, AlbertTransformer):
                module.gradient_checkpointing = False

    # ------------------------------------------------------------------ canonical state

    def _canonical_to_param(self, name: str) -> str:
        if self._state_prefix == "" and name.startswith(BACKBONE_PREFIX):
            return name[len(BACKBONE_PREFIX):]
        return name

    def _param_to_canonical(self, name: str) -> str:
        return BACKBONE_PREFIX + name if self._state_prefix == "" else name

    def _specs(self):
        specs = canonical_specs(self.config, self.head)
        own = {self._param_to_canonical(n) for n, _ in self.named_parameters()}
        return {name: spec for name, spec in specs.items() if name in own}

    def canonical_state(self) -> dict[str, np.ndarray]:
        """Every parameter as a float32 numpy copy, by canonical name (``albert.``-prefixed, PyTorch layout).

        >>> from albert_core import AlbertConfig
        >>> from albert_pt import AlbertModel
        >>> cfg = AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> state = AlbertModel(cfg).canonical_state()
        >>> state["albert.encoder.embedding_hidden_mapping_in.weight"].shape
        (8, 4)
        """
        return {
            self._param_to_canonical(name): param.detach().to("cpu", torch.float32).numpy().copy()
            for name, param in self.named_parameters()
        }

    def load_canonical_state(self, state: Mapping[str, np.ndarray], strict: bool = False) -> LoadReport:
        """Copy a canonical state (numpy arrays, PyTorch layout) into the parameters.

        Tensors the state lacks keep their current values; tensors the model lacks are ignored. Both are listed in
        the returned :class:`~albert_core.weights.LoadReport` (also stored as :attr:`load_report`); with
        ``strict=True`` either raises :class:`~albert_core.CheckpointError`, as does any shape mismatch.

        >>> from albert_core import AlbertConfig
        >>> from albert_pt import AlbertModel, AlbertForMaskedLM
        >>> cfg = AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> report = AlbertForMaskedLM(cfg).load_canonical_state(AlbertModel(cfg).canonical_state())
        >>> sorted(report.missing)[:2], sorted(report.unexpected)
        (['predictions.LayerNorm.bias', 'predictions.LayerNorm.weight'], ['albert.pooler.bias', 'albert.pooler.weight'])
        """
        report = match_state(self._specs(), state, strict=strict)
        params = dict(self.named_parameters())
        with torch.no_grad():
            for name, array in report.state.items():
                param = params[self._canonical_to_param(name)]
                param.copy_(torch.as_tensor(np.asarray(array, dtype=np.float32)).to(param.dtype))
        self.load_report = report
        return report

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str], config: AlbertConfig | None = None,
                        strict: bool = False):
        """Build the model from a checkpoint (directory or weights file) in any format :mod:`albert_core` reads.

        Args:
            path: a checkpoint directory (``model.safetensors`` or ``pytorch_model.bin``, plus ``config.json``) or a
                weights file.
            config: the configuration; defaults to the one stored beside the weights.
            strict: raise :class:`~albert_core.CheckpointError` when a tensor is missing or unused.

        A base checkpoint loads into any head (the head is freshly initialised) and a head checkpoint into
        :class:`AlbertModel`; what did not match is warned about and kept on ``model.load_report``. The model is
        returned in eval mode (call ``.train()`` to fine-tune).

        >>> import tempfile
        >>> from albert_core import AlbertConfig
        >>> from albert_pt import AlbertModel
        >>> cfg = AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     _ = AlbertModel(cfg).save_pretrained(d)
        ...     model = AlbertModel.from_pretrained(d)
        >>> model.load_report.missing
        []
        """
        contents, config = read_checkpoint_for_model(path, config)
        model = cls(config)
        report = model.load_canonical_state(contents.state, strict=strict)
        warn_about_partial_load(cls.__name__, contents.path, report)
        model.eval()
        return model

    def save_pretrained(self, directory: str | os.PathLike[str], dtype: str | None = None) -> Path:
        """Write ``config.json`` and ``model.safetensors`` (Hugging Face layout) into ``directory``; return it.

        ``dtype`` (``"float32"``, ``"float16"``, ``"bfloat16"``) converts the stored weights. The result loads in
        ``transformers.AlbertFor*.from_pretrained`` too.

        >>> import os, tempfile
        >>> from albert_core import AlbertConfig
        >>> from albert_pt import AlbertForMaskedLM
        >>> cfg = AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     sorted(os.listdir(AlbertForMaskedLM(cfg).save_pretrained(d, dtype="bfloat16")))
        ['config.json', 'model.safetensors']
        """
        return save_safetensors_checkpoint(directory, self.canonical_state(), self.config, self.head, dtype=dtype)

    # ------------------------------------------------------------------ input validation

    def _check_ids(self, input_ids, token_type_ids, position_ids) -> None:
        tensors = {"input_ids": input_ids, "token_type_ids": token_type_ids, "position_ids": position_ids}
        for name, limit, limit_name in id_inputs(self.config):
            tensor = tensors[name]
            if tensor is None:
                continue
            if tensor.dtype.is_floating_point or tensor.dtype.is_complex or tensor.dtype == torch.bool:
                raise InputError(f"{name} must be an integer tensor, got dtype {tensor.dtype}")
            if tensor.numel() and not _is_tracing():
                check_id_range(name, int(tensor.min()), int(tensor.max()), limit, limit_name)


def _shape(t: torch.Tensor | None):
    return None if t is None else tuple(t.shape)


def _ce(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    # mean over the labelled positions; 0 (not NaN) when every label is ignored, in both backends
    labels = labels.reshape(-1).long()
    summed = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels, ignore_index=ignore_index,
                             reduction="sum")
    return summed / (labels != ignore_index).sum().clamp(min=1)


# ---------------------------------------------------------------------------------------------------------------------
# The backbone


class AlbertModel(AlbertPreTrainedModel):
    """The ALBERT backbone: embeddings, shared encoder and (optionally) the tanh pooler.

    Args:
        config: the model configuration.
        add_pooling_layer: build the pooler (``pooler.weight`` / ``pooler.bias``). Heads that do not use it
            (masked LM, token classification, QA) build the backbone without it, like transformers.

    Parameters are named without the ``albert.`` prefix (``embeddings.word_embeddings.weight``, ...), as a
    stand-alone transformers ``AlbertModel`` names them; :meth:`~AlbertPreTrainedModel.canonical_state` adds the prefix.

    >>> import torch
    >>> from albert_core import AlbertConfig
    >>> from albert_pt import AlbertModel
    >>> cfg = AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_hidden_layers=2,
    ...                    num_attention_heads=2, intermediate_size=16)
    >>> out = AlbertModel(cfg).eval()(torch.tensor([[2, 5, 7, 3]]), output_hidden_states=True)
    >>> tuple(out.last_hidden_state.shape), tuple(out.pooler_output.shape), len(out.hidden_states)
    ((1, 4, 8), (1, 8), 3)
    """

    head = Head.BASE
    _state_prefix = ""

    def __init__(self, config: AlbertConfig, add_pooling_layer: bool = True) -> None:
        super().__init__(config)
        self.embeddings = AlbertEmbeddings(config)
        self.encoder = AlbertTransformer(config)
        self.pooler = nn.Linear(config.hidden_size, config.hidden_size) if add_pooling_layer else None
        self.init_weights()

    def get_input_embeddings(self) -> nn.Embedding:
        """The word-embedding table, an :class:`torch.nn.Embedding` with weight ``[vocab_size, embedding_size]``.

        The masked-LM decoder of the heads reuses this table (tied weights).

        >>> from albert_core import AlbertConfig
        >>> from albert_pt import AlbertModel
        >>> model = AlbertModel(AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=16, num_hidden_layers=1,
        ...                                  num_attention_heads=2, intermediate_size=16))
        >>> tuple(model.get_input_embeddings().weight.shape)
        (20, 8)
        >>> model.get_input_embeddings() is model.embeddings.word_embeddings
        True
        """
        return self.embeddings.word_embeddings

    def _head_mask(self, head_mask: torch.Tensor | None) -> torch.Tensor | None:
        """``[heads]`` or ``[L, heads]`` -> ``[L, 1, heads, 1, 1]`` (row ``l`` for layer ``l``)."""
        if head_mask is None:
            return None
        L, n = self.config.num_hidden_layers, self.config.num_attention_heads
        head_mask = head_mask.to(self.embeddings.word_embeddings.weight.dtype)
        return head_mask.reshape(-1, 1, n, 1, 1).expand(L, 1, n, 1, 1)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> BaseModelOutput:
        """Run the backbone.

        ``B`` is the batch size, ``S`` the sequence length, ``E`` ``embedding_size``, ``H`` ``hidden_size`` and ``L``
        ``num_hidden_layers``.

        Args:
            input_ids: integer (``torch.long``) ``[B, S]`` token ids in ``[0, vocab_size)``. Give exactly one of
                ``input_ids`` and ``inputs_embeds``.
            attention_mask: ``[B, S]`` (integer, bool or float), 1 for real tokens and 0 for padding (default all
                ones).
            token_type_ids: integer ``[B, S]`` segment ids in ``[0, type_vocab_size)`` (default zeros).
            position_ids: integer ``[B, S]`` positions in ``[0, max_position_embeddings)`` (default ``0 .. S-1``).
            head_mask: float ``[heads]`` or ``[L, heads]`` multipliers of the attention probabilities (row ``l``
                for layer ``l``; 0 switches a head off).
            inputs_embeds: float ``[B, S, E]`` word embeddings to use instead of looking up ``input_ids``.
            output_attentions: also return the attention probabilities of every block run.
            output_hidden_states: also return the projected embeddings and every layer's output.

        Returns:
            :class:`~albert_core.outputs.BaseModelOutput` with

            - ``last_hidden_state``: ``[B, S, H]``;
            - ``pooler_output``: ``[B, H]``, ``tanh(dense(last_hidden_state[:, 0]))`` (``None`` without a pooler);
            - ``hidden_states``: with ``output_hidden_states``, a tuple of ``L + 1`` tensors ``[B, S, H]``;
            - ``attentions``: with ``output_attentions``, a tuple of ``L * inner_group_num`` tensors
              ``[B, heads, S, S]``.

        Raises:
            ~albert_core.InputError: for inconsistent shapes or ids out of range.

        Example:
            >>> import torch
            >>> from albert_core import AlbertConfig
            >>> cfg = AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
            ...                    num_attention_heads=2, intermediate_size=16)
            >>> _ = torch.manual_seed(0)
            >>> model = AlbertModel(cfg).eval()
            >>> ids = torch.tensor([[2, 5, 7, 3], [2, 6, 3, 0]])
            >>> mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
            >>> out = model(ids, attention_mask=mask, output_attentions=True, output_hidden_states=True)
            >>> tuple(out.last_hidden_state.shape), tuple(out.pooler_output.shape)
            ((2, 4, 8), (2, 8))
            >>> len(out.hidden_states), tuple(out.attentions[0].shape)
            (2, (2, 2, 4, 4))
            >>> out.attentions[0][1, :, :, 3].abs().max().item()  # the padded key gets no attention
            0.0
        """
        check_model_inputs(self.config, _shape(input_ids), _shape(attention_mask), _shape(token_type_ids),
                           _shape(position_ids), _shape(inputs_embeds), _shape(head_mask))
        self._check_ids(input_ids, token_type_ids, position_ids)
        x = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds)
        mask = None
        if attention_mask is not None and (_is_tracing() or not bool(attention_mask.all())):
            # (an all-ones mask changes nothing; dropping it lets SDPA use its unmasked kernel)
            keep = attention_mask.to(x.dtype)[:, None, None, :]
            mask = (1.0 - keep) * torch.finfo(x.dtype).min
        last, hidden_states, attentions = self.encoder(
            x, mask, self._head_mask(head_mask), output_attentions, output_hidden_states
        )
        pooled = torch.tanh(self.pooler(last[:, 0])) if self.pooler is not None else None
        return BaseModelOutput(last_hidden_state=last, pooler_output=pooled, hidden_states=hidden_states,
                               attentions=attentions)


# ---------------------------------------------------------------------------------------------------------------------
# Heads


class AlbertMLMHead(nn.Module):
    """dense H -> E, activation, LayerNorm(E), then the tied decoder ``word_embeddings^T + bias``."""

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.embedding_size)
        self.activation = ACT_FNS[config.hidden_act]
        self.LayerNorm = nn.LayerNorm(config.embedding_size, eps=config.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden: torch.Tensor, word_embeddings: torch.Tensor) -> torch.Tensor:
        return F.linear(self.LayerNorm(self.activation(self.dense(hidden))), word_embeddings, self.bias)


class AlbertSOPHead(nn.Module):
    """Sentence-order prediction: a two-class linear classifier on the pooled output."""

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        self.classifier = nn.Linear(config.hidden_size, 2)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.classifier(pooled)


@dataclass(eq=False)
class AlbertForPreTrainingOutput(PreTrainingOutput):
    """Output of :meth:`AlbertForPreTraining.forward`; the fields of :class:`~albert_core.outputs.PreTrainingOutput`.

    - ``loss``: float32 scalar, present when ``labels`` and/or ``sentence_order_label`` were given;
    - ``prediction_logits``: ``[B, S, vocab_size]`` masked-LM logits;
    - ``sop_logits``: ``[B, 2]`` sentence-order logits (0: in order, 1: swapped);
    - ``hidden_states`` / ``attentions``: as in :class:`~albert_core.outputs.BaseModelOutput`, when requested.

    Fields are attributes, keys (only the set ones) and positions (unset fields skipped):

    >>> import torch
    >>> from albert_pt import AlbertForPreTrainingOutput
    >>> out = AlbertForPreTrainingOutput(prediction_logits=torch.zeros(1, 4, 20), sop_logits=torch.zeros(1, 2))
    >>> list(out.keys()), out.loss is None
    (['prediction_logits', 'sop_logits'], True)
    >>> out[1] is out.sop_logits is out["sop_logits"]
    True
    """


class AlbertForPreTraining(AlbertPreTrainedModel):
    """Backbone + masked-LM head + sentence-order head, as in ALBERT pre-training.

    >>> import torch
    >>> from albert_core import AlbertConfig
    >>> from albert_pt import AlbertForPreTraining
    >>> cfg = AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_hidden_layers=2,
    ...                    num_attention_heads=2, intermediate_size=16)
    >>> ids = torch.tensor([[2, 5, 7, 3]])
    >>> out = AlbertForPreTraining(cfg)(ids, labels=ids, sentence_order_label=torch.tensor([1]))
    >>> tuple(out.prediction_logits.shape), tuple(out.sop_logits.shape), out.loss.ndim
    ((1, 4, 20), (1, 2), 0)
    """

    head = Head.PRETRAINING

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__(config)
        self.albert = AlbertModel(config)
        self.predictions = AlbertMLMHead(config)
        self.sop_classifier = AlbertSOPHead(config)
        self.init_weights(skip_backbone=True)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
                inputs_embeds=None, labels=None, sentence_order_label=None, output_attentions=False,
                output_hidden_states=False) -> AlbertForPreTrainingOutput:
        """Masked-LM and sentence-order logits.

        Args:
            input_ids: integer (``torch.long``) ``[B, S]`` token ids in ``[0, vocab_size)``; or give
                ``inputs_embeds``.
            attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds: optional, as in
                :meth:`AlbertModel.forward` (``[B, S]``, ``[B, S]``, ``[B, S]``, ``[heads]`` or ``[L, heads]``,
                float ``[B, S, E]``).
            labels: integer ``[B, S]`` masked-LM target ids, -100 where no loss is taken.
            sentence_order_label: integer ``[B]``, 0 for the original order, 1 for swapped segments.
            output_attentions, output_hidden_states: bool; fill ``attentions`` / ``hidden_states`` of the output
                (shapes as in :meth:`AlbertModel.forward`).

        Returns:
            :class:`AlbertForPreTrainingOutput` with ``prediction_logits`` ``[B, S, vocab_size]`` and ``sop_logits``
            ``[B, 2]``. ``loss`` (float32 scalar) is the MLM cross-entropy plus the SOP cross-entropy when both
            label tensors are given, the MLM loss alone with only ``labels``, the SOP loss alone with only
            ``sentence_order_label``, and ``None`` without labels.

        Example:
            >>> import torch
            >>> from albert_core import AlbertConfig
            >>> cfg = AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
            ...                    num_attention_heads=2, intermediate_size=16)
            >>> _ = torch.manual_seed(0)
            >>> model = AlbertForPreTraining(cfg).eval()
            >>> order = torch.tensor([0, 1])
            >>> out = model(torch.tensor([[2, 5, 7, 3], [2, 7, 5, 3]]), sentence_order_label=order)
            >>> tuple(out.prediction_logits.shape), tuple(out.sop_logits.shape)
            ((2, 4, 20), (2, 2))
            >>> bool(torch.allclose(out.loss, torch.nn.functional.cross_entropy(out.sop_logits, order)))  # SOP only
            True
        """
        out = self.albert(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                          output_attentions, output_hidden_states)
        batch, seq = out.last_hidden_state.shape[:2]
        check_labels_shape("labels", _shape(labels), (batch, seq))
        check_labels_shape("sentence_order_label", _shape(sentence_order_label), (batch,))
        logits = self.predictions(out.last_hidden_state, self.albert.embeddings.word_embeddings.weight)
        sop = self.sop_classifier(out.pooler_output)
        loss = None
        if labels is not None:
            loss = _ce(logits, labels)
        if sentence_order_label is not None:
            sop_loss = _ce(sop, sentence_order_label)
            loss = sop_loss if loss is None else loss + sop_loss
        return AlbertForPreTrainingOutput(loss=loss, prediction_logits=logits, sop_logits=sop,
                                          hidden_states=out.hidden_states, attentions=out.attentions)


class AlbertForMaskedLM(AlbertPreTrainedModel):
    """Backbone (no pooler) + masked-LM head with the decoder tied to the word embeddings.

    >>> import torch
    >>> from albert_core import AlbertConfig
    >>> from albert_pt import AlbertForMaskedLM
    >>> cfg = AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_hidden_layers=2,
    ...                    num_attention_heads=2, intermediate_size=16)
    >>> out = AlbertForMaskedLM(cfg)(torch.tensor([[2, 5, 7, 3]]), labels=torch.tensor([[-100, 5, -100, -100]]))
    >>> tuple(out.logits.shape), out.loss.ndim
    ((1, 4, 20), 0)
    """

    head = Head.MASKED_LM

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__(config)
        self.albert = AlbertModel(config, add_pooling_layer=False)
        self.predictions = AlbertMLMHead(config)
        self.init_weights(skip_backbone=True)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
                inputs_embeds=None, labels=None, output_attentions=False,
                output_hidden_states=False) -> MaskedLMOutput:
        """Vocabulary logits for every position.

        Args:
            input_ids: integer (``torch.long``) ``[B, S]`` token ids in ``[0, vocab_size)``; or give
                ``inputs_embeds``.
            attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds: optional, as in
                :meth:`AlbertModel.forward` (``[B, S]``, ``[B, S]``, ``[B, S]``, ``[heads]`` or ``[L, heads]``,
                float ``[B, S, E]``).
            labels: integer ``[B, S]`` target ids, -100 where no loss is taken.
            output_attentions, output_hidden_states: bool; fill ``attentions`` / ``hidden_states`` of the output
                (shapes as in :meth:`AlbertModel.forward`).

        Returns:
            :class:`~albert_core.outputs.MaskedLMOutput` with ``logits`` ``[B, S, vocab_size]`` and, with
            ``labels``, ``loss``: the float32 mean cross-entropy over the positions whose label is not -100 (0 when
            there are none).

        Example:
            >>> import torch
            >>> from albert_core import AlbertConfig
            >>> cfg = AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
            ...                    num_attention_heads=2, intermediate_size=16)
            >>> _ = torch.manual_seed(0)
            >>> model = AlbertForMaskedLM(cfg).eval()
            >>> ids = torch.tensor([[2, 4, 7, 3]])  # 4 is [MASK] in the ALBERT vocabulary
            >>> out = model(ids, labels=torch.tensor([[-100, 9, -100, -100]]))
            >>> tuple(out.logits.shape)
            (1, 4, 20)
            >>> bool(torch.allclose(out.loss, torch.nn.functional.cross_entropy(out.logits[0, 1:2], torch.tensor([9]))))
            True
            >>> model(ids, labels=torch.full((1, 4), -100)).loss.item()  # nothing to learn from: 0, not NaN
            0.0
        """
        out = self.albert(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                          output_attentions, output_hidden_states)
        check_labels_shape("labels", _shape(labels), tuple(out.last_hidden_state.shape[:2]))
        logits = self.predictions(out.last_hidden_state, self.albert.embeddings.word_embeddings.weight)
        loss = _ce(logits, labels) if labels is not None else None
        return MaskedLMOutput(loss=loss, logits=logits, hidden_states=out.hidden_states, attentions=out.attentions)


class AlbertForSequenceClassification(AlbertPreTrainedModel):
    """Backbone + dropout + linear classifier ``H -> num_labels`` on the pooled output.

    The loss follows ``config.infer_problem_type``: MSE for regression (``num_labels == 1``), cross-entropy for
    integer labels, binary cross-entropy with logits for float multi-hot labels.

    >>> import torch
    >>> from albert_core import AlbertConfig
    >>> from albert_pt import AlbertForSequenceClassification
    >>> cfg = AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_hidden_layers=2,
    ...                    num_attention_heads=2, intermediate_size=16, num_labels=3)
    >>> out = AlbertForSequenceClassification(cfg)(torch.tensor([[2, 5, 7, 3]]), labels=torch.tensor([2]))
    >>> tuple(out.logits.shape), out.loss.ndim
    ((1, 3), 0)
    """

    head = Head.SEQUENCE_CLASSIFICATION

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.albert = AlbertModel(config)
        self.dropout = nn.Dropout(config.effective_classifier_dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.init_weights(skip_backbone=True)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
                inputs_embeds=None, labels=None, output_attentions=False,
                output_hidden_states=False) -> SequenceClassifierOutput:
        """Class logits from the pooled first token.

        Args:
            input_ids: integer (``torch.long``) ``[B, S]`` token ids in ``[0, vocab_size)``; or give
                ``inputs_embeds``.
            attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds: optional, as in
                :meth:`AlbertModel.forward` (``[B, S]``, ``[B, S]``, ``[B, S]``, ``[heads]`` or ``[L, heads]``,
                float ``[B, S, E]``).
            labels: integer ``[B]`` class ids (single-label, -100 ignored), float ``[B, num_labels]`` multi-hot
                targets (multi-label), or float ``[B]`` / ``[B, 1]`` targets (regression, ``num_labels == 1``);
                :meth:`~albert_core.AlbertConfig.infer_problem_type` picks the loss unless ``problem_type`` is set.
            output_attentions, output_hidden_states: bool; fill ``attentions`` / ``hidden_states`` of the output
                (shapes as in :meth:`AlbertModel.forward`).

        Returns:
            :class:`~albert_core.outputs.SequenceClassifierOutput` with ``logits`` ``[B, num_labels]`` and, with
            ``labels``, ``loss`` (float32 scalar: cross-entropy, binary cross-entropy with logits, or mean squared
            error).

        Example:
            >>> import torch
            >>> from albert_core import AlbertConfig
            >>> cfg = AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
            ...                    num_attention_heads=2, intermediate_size=16, num_labels=3)
            >>> _ = torch.manual_seed(0)
            >>> model = AlbertForSequenceClassification(cfg).eval()
            >>> targets = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])  # float labels: multi-label
            >>> out = model(torch.tensor([[2, 5, 7, 3], [2, 6, 3, 0]]), labels=targets)
            >>> tuple(out.logits.shape)
            (2, 3)
            >>> bce = torch.nn.functional.binary_cross_entropy_with_logits(out.logits, targets)
            >>> bool(torch.allclose(out.loss, bce))
            True
        """
        out = self.albert(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                          output_attentions, output_hidden_states)
        logits = self.classifier(self.dropout(out.pooler_output))
        loss = None
        if labels is not None:
            problem = self.config.infer_problem_type(not labels.dtype.is_floating_point)
            batch = logits.shape[0]
            if problem == "regression":
                if self.num_labels == 1:
                    if labels.ndim == 2:
                        check_labels_shape("labels", _shape(labels), (batch, 1))
                    else:
                        check_labels_shape("labels", _shape(labels), (batch,))
                    loss = F.mse_loss(logits.reshape(-1).float(), labels.reshape(-1).float())
                else:
                    check_labels_shape("labels", _shape(labels), (batch, self.num_labels))
                    loss = F.mse_loss(logits.float(), labels.float())
            elif problem == "single_label_classification":
                check_labels_shape("labels", _shape(labels), (batch,))
                loss = _ce(logits, labels)
            else:
                check_labels_shape("labels", _shape(labels), (batch, self.num_labels))
                loss = F.binary_cross_entropy_with_logits(logits.float(), labels.float())
        return SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                        attentions=out.attentions)


class AlbertForMultipleChoice(AlbertPreTrainedModel):
    """Backbone + dropout + linear scorer ``H -> 1`` on each choice's pooled output.

    Inputs are ``[B, num_choices, S]``; every choice is encoded as its own sequence.

    >>> import torch
    >>> from albert_core import AlbertConfig
    >>> from albert_pt import AlbertForMultipleChoice
    >>> cfg = AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_hidden_layers=2,
    ...                    num_attention_heads=2, intermediate_size=16)
    >>> out = AlbertForMultipleChoice(cfg)(torch.tensor([[[2, 5, 3], [2, 6, 3]]]), labels=torch.tensor([1]))
    >>> tuple(out.logits.shape)
    (1, 2)
    """

    head = Head.MULTIPLE_CHOICE

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__(config)
        self.albert = AlbertModel(config)
        self.dropout = nn.Dropout(config.effective_classifier_dropout)
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.init_weights(skip_backbone=True)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
                inputs_embeds=None, labels=None, output_attentions=False,
                output_hidden_states=False) -> MultipleChoiceOutput:
        """One score per choice; each choice is encoded as its own sequence of a ``[B * num_choices, S]`` batch.

        Args:
            input_ids: integer ``[B, num_choices, S]`` token ids; or give ``inputs_embeds``.
            attention_mask, token_type_ids, position_ids: ``[B, num_choices, S]``, as in :meth:`AlbertModel.forward`.
            head_mask: float ``[heads]`` or ``[L, heads]``, as in :meth:`AlbertModel.forward`.
            inputs_embeds: float ``[B, num_choices, S, E]`` instead of ``input_ids``.
            labels: integer ``[B]`` index of the right choice (-100 ignored).
            output_attentions, output_hidden_states: bool; fill ``attentions`` (tensors
                ``[B * num_choices, heads, S, S]``) / ``hidden_states`` (``[B * num_choices, S, H]``), which belong
                to the flattened batch.

        Returns:
            :class:`~albert_core.outputs.MultipleChoiceOutput` with ``logits`` ``[B, num_choices]`` and, with
            ``labels``, the float32 cross-entropy ``loss``.

        Example:
            >>> import torch
            >>> from albert_core import AlbertConfig
            >>> cfg = AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
            ...                    num_attention_heads=2, intermediate_size=16)
            >>> _ = torch.manual_seed(0)
            >>> model = AlbertForMultipleChoice(cfg).eval()
            >>> ids = torch.tensor([[[2, 5, 3], [2, 6, 3]]])  # 1 question, 2 choices, 3 tokens each
            >>> out = model(ids, attention_mask=torch.ones_like(ids), labels=torch.tensor([1]),
            ...             output_hidden_states=True)
            >>> tuple(out.logits.shape), tuple(out.hidden_states[-1].shape)
            ((1, 2), (2, 3, 8))
            >>> bool(torch.allclose(out.loss, torch.nn.functional.cross_entropy(out.logits, torch.tensor([1]))))
            True
        """
        check_choice_inputs(_shape(input_ids), _shape(inputs_embeds), _shape(attention_mask),
                            _shape(token_type_ids), _shape(position_ids))
        main = input_ids if input_ids is not None else inputs_embeds
        batch, choices = main.shape[0], main.shape[1]

        def flat(t):
            return None if t is None else t.reshape(batch * choices, t.shape[-1])

        embeds = None if inputs_embeds is None else inputs_embeds.reshape(batch * choices, *inputs_embeds.shape[2:])
        out = self.albert(flat(input_ids), flat(attention_mask), flat(token_type_ids), flat(position_ids),
                          head_mask, embeds, output_attentions, output_hidden_states)
        logits = self.classifier(self.dropout(out.pooler_output)).view(batch, choices)
        check_labels_shape("labels", _shape(labels), (batch,))
        loss = _ce(logits, labels) if labels is not None else None
        return MultipleChoiceOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                    attentions=out.attentions)


class AlbertForTokenClassification(AlbertPreTrainedModel):
    """Backbone (no pooler) + dropout + linear classifier ``H -> num_labels`` on every token.

    >>> import torch
    >>> from albert_core import AlbertConfig
    >>> from albert_pt import AlbertForTokenClassification
    >>> cfg = AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_hidden_layers=2,
    ...                    num_attention_heads=2, intermediate_size=16, num_labels=5)
    >>> out = AlbertForTokenClassification(cfg)(torch.tensor([[2, 5, 7, 3]]), labels=torch.tensor([[-100, 1, 4, -100]]))
    >>> tuple(out.logits.shape)
    (1, 4, 5)
    """

    head = Head.TOKEN_CLASSIFICATION

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.albert = AlbertModel(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(config.effective_classifier_dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.init_weights(skip_backbone=True)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
                inputs_embeds=None, labels=None, output_attentions=False,
                output_hidden_states=False) -> TokenClassifierOutput:
        """Class logits for every token.

        Args:
            input_ids: integer (``torch.long``) ``[B, S]`` token ids in ``[0, vocab_size)``; or give
                ``inputs_embeds``.
            attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds: optional, as in
                :meth:`AlbertModel.forward` (``[B, S]``, ``[B, S]``, ``[B, S]``, ``[heads]`` or ``[L, heads]``,
                float ``[B, S, E]``).
            labels: integer ``[B, S]`` class ids in ``[0, num_labels)``, -100 where no loss is taken (special
                tokens, padding, continuation pieces).
            output_attentions, output_hidden_states: bool; fill ``attentions`` / ``hidden_states`` of the output
                (shapes as in :meth:`AlbertModel.forward`).

        Returns:
            :class:`~albert_core.outputs.TokenClassifierOutput` with ``logits`` ``[B, S, num_labels]`` and, with
            ``labels``, ``loss``: the float32 mean cross-entropy over the tokens whose label is not -100.

        Example:
            >>> import torch
            >>> from albert_core import AlbertConfig
            >>> cfg = AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
            ...                    num_attention_heads=2, intermediate_size=16, num_labels=5)
            >>> _ = torch.manual_seed(0)
            >>> model = AlbertForTokenClassification(cfg).eval()
            >>> labels = torch.tensor([[-100, 1, 4, -100]])
            >>> out = model(torch.tensor([[2, 5, 7, 3]]), labels=labels)
            >>> tuple(out.logits.shape)
            (1, 4, 5)
            >>> bool(torch.allclose(out.loss, torch.nn.functional.cross_entropy(out.logits[0, 1:3], labels[0, 1:3])))
            True
        """
        out = self.albert(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                          output_attentions, output_hidden_states)
        check_labels_shape("labels", _shape(labels), tuple(out.last_hidden_state.shape[:2]))
        logits = self.classifier(self.dropout(out.last_hidden_state))
        loss = _ce(logits, labels) if labels is not None else None
        return TokenClassifierOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                     attentions=out.attentions)


class AlbertForQuestionAnswering(AlbertPreTrainedModel):
    """Backbone (no pooler) + linear ``H -> 2`` giving span start and end logits per token.

    >>> import torch
    >>> from albert_core import AlbertConfig
    >>> from albert_pt import AlbertForQuestionAnswering
    >>> cfg = AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_hidden_layers=2,
    ...                    num_attention_heads=2, intermediate_size=16)
    >>> model = AlbertForQuestionAnswering(cfg)
    >>> out = model(torch.tensor([[2, 5, 7, 3]]), start_positions=torch.tensor([1]), end_positions=torch.tensor([2]))
    >>> tuple(out.start_logits.shape), tuple(out.end_logits.shape), out.loss.ndim
    ((1, 4), (1, 4), 0)
    """

    head = Head.QUESTION_ANSWERING

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__(config)
        self.albert = AlbertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)
        self.init_weights(skip_backbone=True)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
                inputs_embeds=None, start_positions=None, end_positions=None, output_attentions=False,
                output_hidden_states=False) -> QuestionAnsweringOutput:
        """Span start and end logits for every token.

        Args:
            input_ids: integer (``torch.long``) ``[B, S]`` token ids in ``[0, vocab_size)``; or give
                ``inputs_embeds``.
            attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds: optional, as in
                :meth:`AlbertModel.forward` (``[B, S]``, ``[B, S]``, ``[B, S]``, ``[heads]`` or ``[L, heads]``,
                float ``[B, S, E]``).
            start_positions, end_positions: integer ``[B]`` (or ``[B, 1]``) token indices of the answer span; both
                are needed for a loss. Positions outside ``[0, S)`` are clamped to ``S`` and ignored.
            output_attentions, output_hidden_states: bool; fill ``attentions`` / ``hidden_states`` of the output
                (shapes as in :meth:`AlbertModel.forward`).

        Returns:
            :class:`~albert_core.outputs.QuestionAnsweringOutput` with ``start_logits`` and ``end_logits``, each
            ``[B, S]``, and, with both position tensors, ``loss``: the float32 mean of the start and end
            cross-entropies.

        Example:
            >>> import torch
            >>> from albert_core import AlbertConfig
            >>> cfg = AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
            ...                    num_attention_heads=2, intermediate_size=16)
            >>> _ = torch.manual_seed(0)
            >>> model = AlbertForQuestionAnswering(cfg).eval()
            >>> ids = torch.tensor([[2, 5, 7, 3]])
            >>> out = model(ids, start_positions=torch.tensor([1]), end_positions=torch.tensor([2]))
            >>> tuple(out.start_logits.shape), tuple(out.end_logits.shape), out.loss.dtype
            ((1, 4), (1, 4), torch.float32)
            >>> model(ids, start_positions=torch.tensor([9]), end_positions=torch.tensor([9])).loss.item()  # outside
            0.0
        """
        out = self.albert(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                          output_attentions, output_hidden_states)
        logits = self.qa_outputs(out.last_hidden_state)
        start_logits, end_logits = logits[..., 0].contiguous(), logits[..., 1].contiguous()
        loss = None
        if start_positions is not None and end_positions is not None:
            batch, seq = start_logits.shape
            positions = []
            for name, pos in (("start_positions", start_positions), ("end_positions", end_positions)):
                if pos.ndim == 2:
                    check_labels_shape(name, _shape(pos), (batch, 1))
                    pos = pos.squeeze(-1)
                check_labels_shape(name, _shape(pos), (batch,))
                positions.append(pos.long().clamp(0, seq))
            start_loss = _ce(start_logits, positions[0], ignore_index=seq)
            end_loss = _ce(end_logits, positions[1], ignore_index=seq)
            loss = (start_loss + end_loss) / 2
        return QuestionAnsweringOutput(loss=loss, start_logits=start_logits, end_logits=end_logits,
                                       hidden_states=out.hidden_states, attentions=out.attentions)


#: The model class of every head.
MODEL_CLASSES: dict[Head, type] = {
    Head.BASE: AlbertModel,
    Head.PRETRAINING: AlbertForPreTraining,
    Head.MASKED_LM: AlbertForMaskedLM,
    Head.SEQUENCE_CLASSIFICATION: AlbertForSequenceClassification,
    Head.MULTIPLE_CHOICE: AlbertForMultipleChoice,
    Head.TOKEN_CLASSIFICATION: AlbertForTokenClassification,
    Head.QUESTION_ANSWERING: AlbertForQuestionAnswering,
}
