"""ALBERT in PyTorch: activations, the loss primitives, the backbone modules, the shared base class and every head.

Read it top to bottom; :mod:`albert_tf.modeling` has the same sections, classes and order, so the two files can be
read side by side:

1. activations (:data:`ACTIVATION_FNS`, :func:`get_activation`);
2. :class:`AlbertOps`, the torch primitives that :mod:`albert_core.losses` computes every loss with;
3. backbone modules: embeddings, attention, one block, a parameter group, the shared encoder;
4. :class:`AlbertPreTrainedModel`: initialisation, canonical state, checkpoints, the one loss call;
5. :class:`AlbertModel`, the backbone (input checks, the padding-mask bias, the pooler);
6. the task heads and :data:`MODEL_CLASSES`.

The equations are the original google-research ALBERT's: embeddings ``LayerNorm(word + position + token_type)`` ->
dropout -> dense ``E -> H``; layer ``l`` runs the ``inner_group_num`` blocks of group ``config.group_of_layer(l)``;
a block is post-LN, ``a = LN(x + dropout(dense(attention(x))))``, ``y = LN(a + dropout(ffn_output(act(ffn(a)))))``;
the pooler is ``tanh(dense(h[:, 0]))``. Where they deliberately differ from ``transformers`` is listed in
``docs/model_doc/albert.rst``. What a head *is* (label arguments, outputs, loss rule, pooler) is read from
:data:`albert_core.heads.HEADS`. Parameter names are the canonical names of :mod:`albert_core.weights` (the Hugging
Face PyTorch state-dict names). A masked-LM head's ``state_dict()`` also lists the tied decoder
(``predictions.decoder.weight`` is the word-embedding table, ``predictions.decoder.bias`` is ``predictions.bias``), as
transformers' does, so state dicts load strictly in both directions; ``named_parameters()`` and the saved
checkpoints hold each tensor once, under its canonical name.

The PyTorch and transformers idioms (outputs registered as pytrees for ``torch.export`` / ``torch.compile`` / the
ONNX exporter, gradient checkpointing with ``gradient_checkpointing_kwargs``, the embedding accessors and
``resize_token_embeddings``, ``num_parameters``, ``device``, ``dtype``, ``from_pretrained`` with label and config
overrides and ``torch_dtype``) are shown in ``docs/pytorch_idioms.rst``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch.utils import _pytree as pytree
from torch import nn

from albert_core.checkpoints import save_safetensors_checkpoint
from albert_core.config import ACTIVATION_FUNCTIONS, AlbertConfig
from albert_core.errors import InputError, UsageError
from albert_core.loading import prepare_pretrained, warn_about_load
from albert_core.heads import HEADS, Head, part_outputs
from albert_core.losses import TensorOps, flatten_choices, head_loss, masked_positions, unflatten_choices
from albert_core.outputs import (
    BaseModelOutput,
    MaskedLMOutput,
    ModelOutput,
    MultipleChoiceOutput,
    PreTrainingOutput,
    QuestionAnsweringOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from albert_core.validation import (
    check_attention_mask_dtype,
    check_attention_mask_values,
    check_choice_inputs,
    check_id_dtype,
    check_id_range,
    check_model_inputs,
    id_inputs,
)
from albert_core.weights import BACKBONE_PREFIX, LoadReport, canonical_specs, match_state

logger = logging.getLogger(__name__)

#: Use ``F.scaled_dot_product_attention`` when nothing forces the explicit path (see ``benchmarks/bench_pt.py``).
USE_SDPA = True


def _is_tracing() -> bool:
    """True under torch.compile / torch.fx / torch.jit tracing, where tensor values are not available."""
    if torch.compiler.is_compiling() or torch.jit.is_tracing():
        return True
    try:
        from torch.fx._symbolic_trace import is_fx_symbolic_tracing as fx_tracing
    except ImportError:  # pragma: no cover - older torch
        from torch.fx._symbolic_trace import is_fx_tracing as fx_tracing
    return fx_tracing()


def _shape(t: torch.Tensor | None) -> tuple[int, ...] | None:
    return None if t is None else tuple(t.shape)


# ---------------------------------------------------------------------------------------------------------------------
# 1. Activations


#: The ten activation functions, keyed by the function names of :data:`albert_core.config.ACTIVATION_FUNCTIONS`.
ACTIVATION_FNS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
    "relu": F.relu,
    "relu6": F.relu6,
    "silu": F.silu,
    "mish": F.mish,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "linear": lambda x: x,
}


def get_activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The activation called ``name`` (any name of :data:`albert_core.ACTIVATIONS`, aliases included).

    Raises :class:`~albert_core.InputError` for other names (as :mod:`albert_tf` does).

    >>> import torch
    >>> get_activation("swish") is get_activation("silu"), float(get_activation("relu")(torch.tensor(-1.0)))
    (True, 0.0)
    """
    if name not in ACTIVATION_FUNCTIONS:
        raise InputError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATION_FUNCTIONS)}")
    return ACTIVATION_FNS[ACTIVATION_FUNCTIONS[name]]


# ---------------------------------------------------------------------------------------------------------------------
# 2. AlbertOps: the torch primitives of albert_core.losses


class AlbertOps(TensorOps):
    """:class:`~albert_core.losses.TensorOps` on torch tensors; every loss comes out in float32.

    Label values are checked only eagerly. Under torch.compile / fx / jit tracing values are not available:
    :meth:`~albert_core.losses.TensorOps.value_range` returns ``None`` and
    :meth:`~albert_core.losses.TensorOps.guard_range` returns the labels unchanged (a value check would
    need a data-dependent branch, which breaks the graph), so a traced model does not report out-of-range labels.

    >>> import torch
    >>> ops = AlbertOps()
    >>> total, count = ops.cross_entropy_sum(torch.zeros(3, 4), torch.tensor([1, -100, 3]), -100)
    >>> round(float(ops.divide_or_zero(total, count)), 4), ops.value_range(torch.tensor([-100, 2, 7]), -100)
    (1.3863, (2, 7))
    """

    def shape(self, x: torch.Tensor) -> tuple[int, ...]:
        return tuple(x.shape)

    def dim(self, x: torch.Tensor, axis: int) -> int:
        return x.shape[axis]

    def is_integer(self, x: torch.Tensor) -> bool:
        return not x.dtype.is_floating_point

    def reshape(self, x: torch.Tensor, shape: Sequence[Any]) -> torch.Tensor:
        return x.reshape(list(shape))

    def clip(self, x: torch.Tensor, low: Any, high: Any) -> torch.Tensor:
        return x.clamp(low, high)

    def cross_entropy_sum(self, logits: torch.Tensor, labels: torch.Tensor,
                          ignore_index: Any) -> tuple[torch.Tensor, torch.Tensor]:
        labels = labels.long()
        total = F.cross_entropy(logits.float(), labels, ignore_index=ignore_index, reduction="sum")
        return total, (labels != ignore_index).sum().float()

    def divide_or_zero(self, total: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        # with no kept label the sum has no terms and is exactly 0, so clamping the count gives 0 (and zero
        # gradients) without a data-dependent branch that torch.compile would have to break the graph for
        return total / count.clamp(min=1)

    def mse(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(predictions.float(), targets.float())

    def binary_cross_entropy(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits.float(), targets.float())

    def value_range(self, x: torch.Tensor, ignore_index: int) -> tuple[int, int] | None:
        if _is_tracing():
            return None
        kept = x[x != ignore_index]
        if kept.numel() == 0:
            return None
        low, high = torch.aminmax(kept)
        return int(low), int(high)

    def guard_range(self, x: torch.Tensor, high: Any, ignore_index: int, message: str) -> torch.Tensor:
        return x  # only reached while tracing: no run-time check (see the class docstring)

    def labelled_rows(self, x: torch.Tensor, labels: torch.Tensor, ignore_index: int) -> torch.Tensor:
        return x[labels != ignore_index].unsqueeze(0)


# ---------------------------------------------------------------------------------------------------------------------
# 3. Backbone modules


class AlbertEmbeddings(nn.Module):
    """Word + position + token-type embeddings (width E), LayerNorm and dropout.

    Absent ``token_type_ids`` mean all zeros and absent ``position_ids`` mean ``0 .. S-1``. Absolute position
    embeddings are added only for ``position_embedding_type="absolute"``. The E -> H projection lives in the encoder
    (``encoder.embedding_hidden_mapping_in``), where the canonical names put it.
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
        # the defaults add a broadcast row instead of gathering from an index tensor of zeros / 0..S-1
        if token_type_ids is None:
            x = x + self.token_type_embeddings.weight[0]
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

    def forward(self, x, mask, head_mask=None, output_attentions=False, first_only=False):
        """x: [B, S, H]; mask: additive [B, 1, 1, S] or None; head_mask: [1, heads, 1, 1] or None.

        ``first_only``: attend from every position but return only the first one's output, ``[B, 1, H]``.
        """
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
        if first_only:
            x, context = x[:, :1], context[:, :1]
        out = self.LayerNorm(x + self.output_dropout(self.dense(context)))
        return out, probs


class AlbertLayer(nn.Module):
    """One post-LN transformer block: the attention sub-block, then feed-forward and the full-layer LayerNorm."""

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        self.attention = AlbertAttention(config)
        self.ffn = nn.Linear(config.hidden_size, config.intermediate_size)
        self.ffn_output = nn.Linear(config.intermediate_size, config.hidden_size)
        self.full_layer_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.activation = get_activation(config.hidden_act)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)  # on the FFN output, as in the original

    def forward(self, x, mask, head_mask=None, output_attentions=False, first_only=False):
        a, probs = self.attention(x, mask, head_mask, output_attentions, first_only)
        y = self.dropout(self.ffn_output(self.activation(self.ffn(a))))
        return self.full_layer_layer_norm(a + y), probs


class AlbertLayerGroup(nn.Module):
    """The ``inner_group_num`` blocks of one parameter group, run in order for each layer using the group."""

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        self.albert_layers = nn.ModuleList(AlbertLayer(config) for _ in range(config.inner_group_num))

    def forward(self, x, mask, head_mask=None, output_attentions=False, first_only=False):
        """``first_only``: the group's last block returns only the first position (see :class:`AlbertAttention`)."""
        all_probs = []
        last = len(self.albert_layers) - 1
        for i, block in enumerate(self.albert_layers):
            x, probs = block(x, mask, head_mask, output_attentions, first_only and i == last)
            all_probs.append(probs)
        return x, all_probs


class AlbertTransformer(nn.Module):
    """The E -> H projection and the shared encoder; returns ``(last, hidden_states, attentions)``.

    Layer ``l`` runs group ``config.layer_groups()[l]``. ``hidden_states`` (when requested) holds the projected
    embeddings and then the output of every layer; ``attentions`` holds one ``[B, heads, S, S]`` tensor per block
    run (``num_hidden_layers * inner_group_num``, as transformers does).
    """

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding_hidden_mapping_in = nn.Linear(config.embedding_size, config.hidden_size)
        self.albert_layer_groups = nn.ModuleList(AlbertLayerGroup(config) for _ in range(config.num_hidden_groups))
        self.layer_groups = config.layer_groups()
        self.gradient_checkpointing = bool(config.extra.get("gradient_checkpointing", False))
        #: keyword arguments of ``torch.utils.checkpoint.checkpoint`` (``use_reentrant`` defaults to False here)
        self.gradient_checkpointing_kwargs: dict[str, Any] = {}

    def forward(self, x, mask=None, head_mask=None, output_attentions=False, output_hidden_states=False,
                first_only=False):
        """x: [B, S, E] embeddings; mask: additive [B, 1, 1, S] or None; head_mask: [L, 1, heads, 1, 1] or None.

        ``first_only``: the last block computes only each sequence's first position past attention, so ``last`` is
        ``[B, 1, H]`` (for the heads that read nothing else; not with ``output_hidden_states``).
        """
        x = self.embedding_hidden_mapping_in(x)
        hidden_states = [x] if output_hidden_states else None
        attentions = [] if output_attentions else None
        for layer, group_index in enumerate(self.layer_groups):
            group = self.albert_layer_groups[group_index]
            row = None if head_mask is None else head_mask[layer]
            first = first_only and layer == len(self.layer_groups) - 1
            # ---- PyTorch idiom: gradient checkpointing (recompute the layer in backward instead of storing it)
            if self.gradient_checkpointing and self.training and torch.is_grad_enabled():
                x, probs = torch.utils.checkpoint.checkpoint(
                    group, x, mask, row, output_attentions, first,
                    **{"use_reentrant": False, **self.gradient_checkpointing_kwargs}
                )
            # ---- end of gradient checkpointing
            else:
                x, probs = group(x, mask, row, output_attentions, first)
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
# 4. Shared model machinery


class AlbertPreTrainedModel(nn.Module):
    """Base of every ALBERT model: initialisation, canonical state, checkpoints and the loss of every head.

    Subclasses set :attr:`head` and build their modules in ``__init__``. Not meant to be built directly; use
    :class:`AlbertModel` or one of the task heads.

    Args:
        config: the model configuration; validated again here. A ``transformers.AlbertConfig`` is converted with
            :meth:`~albert_core.AlbertConfig.from_dict` (then ``model.config`` is the converted copy).

    Raises:
        ~albert_core.ConfigError: when ``config`` is not an :class:`~albert_core.AlbertConfig` (or a transformers
            configuration) or does not validate.

    Example:
        >>> from albert_core import AlbertConfig, ConfigError
        >>> from albert_pt import AlbertForMaskedLM, AlbertModel, AlbertPreTrainedModel
        >>> cfg = AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> model = AlbertForMaskedLM(cfg)
        >>> isinstance(model, AlbertPreTrainedModel), model.head.value, model.config is cfg, model.load_report
        (True, 'masked_lm', True, None)
        >>> AlbertModel({"hidden_size": 8, "num_attention_heads": 2}).config.hidden_size  # a config.json mapping
        8
        >>> try:
        ...     AlbertModel("config.json")
        ... except ConfigError as exc:
        ...     print(exc)
        expected an albert_core.AlbertConfig, a config.json mapping or a transformers AlbertConfig, got str
    """

    #: the task head this class implements (its row of :data:`albert_core.heads.HEADS`)
    head: Head = Head.BASE
    #: the torch primitives :func:`albert_core.losses.head_loss` computes losses with
    ops: ClassVar[TensorOps] = AlbertOps()
    #: prefix of the backbone's canonical names inside this module's ``state_dict`` (``""`` for AlbertModel)
    _state_prefix = BACKBONE_PREFIX

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        config = AlbertConfig.coerce(config)  # also a transformers.AlbertConfig or a config.json mapping
        config.validate()
        self.config = config
        #: what the last :meth:`load_canonical_state` / :meth:`from_pretrained` matched (``None`` before any load)
        self.load_report: LoadReport | None = None

    # ------------------------------------------------------------------ building a head from its HEADS row

    def _backbone(self) -> AlbertModel:
        """The head's ``albert`` backbone, with the pooler exactly when the head uses it."""
        return AlbertModel(self.config, add_pooling_layer=HEADS[self.head].pooler)

    def _part_width(self, prefix: str) -> int:
        """The output width of the head part named ``prefix``, as the head table sets it."""
        part = next(part for part in HEADS[self.head].parts if part.prefix == prefix)
        return part_outputs(part, vars(self.config))

    def _linear_part(self, prefix: str) -> nn.Linear:
        """The ``H -> outputs`` linear layer of the head part named ``prefix``."""
        return nn.Linear(self.config.hidden_size, self._part_width(prefix))

    # ------------------------------------------------------------------ the loss

    def _head_output(self, output_class: type[ModelOutput], backbone: BaseModelOutput,
                     label_values: tuple[torch.Tensor | None, ...], **outputs: torch.Tensor) -> ModelOutput:
        """``output_class`` holding ``outputs``, the backbone's hidden states / attentions, and the head's loss.

        ``label_values`` are the head's label arguments in the order of ``HEADS[head].label_names``;
        :func:`albert_core.losses.head_loss` checks them and decides the loss (``None`` without labels).
        """
        labels = dict(zip(HEADS[self.head].label_names, label_values))
        loss = head_loss(self.head, self.config, outputs, labels, self.ops)
        return output_class(loss=loss, **outputs, hidden_states=backbone.hidden_states,
                            attentions=backbone.attentions)

    def _masked_lm_rows(self, hidden: torch.Tensor, labels: torch.Tensor | None, masked_positions_only: bool
                        ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """What a masked-LM head runs on and is scored against: every position, or only the labelled ones."""
        return masked_positions(hidden, labels, self.ops) if masked_positions_only else (hidden, labels)

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
        # the tied decoder holds the word embeddings (initialised as an embedding) and predictions.bias (zeroed)
        skipped |= {m.decoder for m in self.modules() if isinstance(m, AlbertMLMHead)}
        with torch.no_grad():
            for module in self.modules():
                if module not in skipped:
                    self._init_weights(module)
            predictions = getattr(self, "predictions", None)
            if isinstance(predictions, AlbertMLMHead):
                predictions.bias.zero_()

    # ------------------------------------------------------------------ PyTorch idiom: gradient checkpointing

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs: Mapping[str, Any] | None = None) -> None:
        """Recompute each layer's activations in the backward pass instead of storing them (train mode only).

        transformers' ``Trainer(args=TrainingArguments(gradient_checkpointing=True, ...))`` calls this. Setting
        ``config.extra["gradient_checkpointing"] = True`` before building the model does the same.

        Args:
            gradient_checkpointing_kwargs: keyword arguments of :func:`torch.utils.checkpoint.checkpoint`
                (``{"use_reentrant": True}``, ...); ``use_reentrant`` defaults to ``False`` (the non-reentrant
                variant, which needs no input that requires grad).

        Raises:
            ~albert_core.errors.UsageError: when ``gradient_checkpointing_kwargs`` is not a mapping of names.

        >>> from albert_core import AlbertConfig
        >>> from albert_pt import AlbertModel
        >>> model = AlbertModel(AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                                  num_attention_heads=2, intermediate_size=16))
        >>> model.gradient_checkpointing_enable({"use_reentrant": True})
        >>> model.is_gradient_checkpointing, model.encoder.gradient_checkpointing_kwargs
        (True, {'use_reentrant': True})
        """
        if gradient_checkpointing_kwargs is None:
            gradient_checkpointing_kwargs = {}
        if not isinstance(gradient_checkpointing_kwargs, Mapping) or not all(
                isinstance(k, str) for k in gradient_checkpointing_kwargs):
            raise UsageError("gradient_checkpointing_kwargs must be a mapping of keyword names to values, got "
                             f"{gradient_checkpointing_kwargs!r:.100}")
        self._set_gradient_checkpointing(True, dict(gradient_checkpointing_kwargs))

    def gradient_checkpointing_disable(self) -> None:
        """Store activations again (the default); undoes :meth:`gradient_checkpointing_enable`.

        >>> from albert_core import AlbertConfig
        >>> from albert_pt import AlbertModel
        >>> model = AlbertModel(AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
        ...                                  num_attention_heads=2, intermediate_size=16))
        >>> model.gradient_checkpointing_enable()
        >>> model.gradient_checkpointing_disable()
        >>> model.encoder.gradient_checkpointing, model.is_gradient_checkpointing
        (False, False)
        """
        self._set_gradient_checkpointing(False, {})

    @property
    def is_gradient_checkpointing(self) -> bool:
        """Whether gradient checkpointing is on (see :meth:`gradient_checkpointing_enable`)."""
        return any(m.gradient_checkpointing for m in self.modules() if isinstance(m, AlbertTransformer))

    #: transformers' Trainer checks this before calling :meth:`gradient_checkpointing_enable`
    supports_gradient_checkpointing: ClassVar[bool] = True

    def _set_gradient_checkpointing(self, enabled: bool, kwargs: dict[str, Any]) -> None:
        for module in self.modules():
            if isinstance(module, AlbertTransformer):
                module.gradient_checkpointing = enabled
                module.gradient_checkpointing_kwargs = dict(kwargs)

    # ------------------------------------------------------------------ transformers-compatible surface

    def _base_model(self) -> "AlbertModel":
        """The backbone: the model itself for :class:`AlbertModel`, ``self.albert`` for a head."""
        return self if isinstance(self, AlbertModel) else self.albert

    @property
    def device(self) -> torch.device:
        """The device of the parameters (``cpu``, ``cuda:0``, ...)."""
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the floating parameters (``torch.float32`` unless converted or loaded with ``torch_dtype``)."""
        return next(p.dtype for p in self.parameters() if p.dtype.is_floating_point)

    def num_parameters(self, only_trainable: bool = False, exclude_embeddings: bool = False) -> int:
        """How many numbers the model holds; tied tensors (the masked-LM decoder) count once, as in transformers.

        Args:
            only_trainable: count only parameters with ``requires_grad``.
            exclude_embeddings: leave out the weights of every :class:`torch.nn.Embedding` (word, position and
                token-type tables, and the relative-position table when there is one).

        >>> from albert_core import AlbertConfig
        >>> from albert_pt import AlbertForMaskedLM
        >>> model = AlbertForMaskedLM(AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8,
        ...     num_hidden_layers=1, num_attention_heads=2, intermediate_size=16, max_position_embeddings=16))
        >>> model.num_parameters() - model.num_parameters(exclude_embeddings=True)  # (20 + 16 + 2) * 4
        152
        """
        embeddings = {id(m.weight) for m in self.modules() if isinstance(m, nn.Embedding)}
        return sum(p.numel() for p in self.parameters()
                   if (p.requires_grad or not only_trainable) and not (exclude_embeddings and id(p) in embeddings))

    def get_input_embeddings(self) -> nn.Embedding:
        """The word-embedding table, an :class:`torch.nn.Embedding` with weight ``[vocab_size, embedding_size]``.

        The masked-LM decoder of the heads reuses this table (tied weights).

        >>> from albert_core import AlbertConfig
        >>> from albert_pt import AlbertForMaskedLM
        >>> model = AlbertForMaskedLM(AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=16,
        ...                                        num_hidden_layers=1, num_attention_heads=2, intermediate_size=16))
        >>> tuple(model.get_input_embeddings().weight.shape)
        (20, 8)
        >>> model.get_output_embeddings().weight is model.get_input_embeddings().weight
        True
        """
        return self._base_model().embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        """Use ``value`` as the word-embedding table (the masked-LM decoder follows it).

        Raises:
            ~albert_core.errors.UsageError: unless ``value`` is an :class:`torch.nn.Embedding` of shape
                ``[vocab_size, embedding_size]`` (change the vocabulary with :meth:`resize_token_embeddings`).
        """
        if not isinstance(value, nn.Embedding):
            raise UsageError(f"input embeddings must be a torch.nn.Embedding, got {type(value).__name__}")
        expected = (self.config.vocab_size, self.config.embedding_size)
        if tuple(value.weight.shape) != expected:
            raise UsageError(f"input embeddings must have shape {expected} (vocab_size, embedding_size), got "
                             f"{tuple(value.weight.shape)}; use resize_token_embeddings() to change the vocabulary")
        self._base_model().embeddings.word_embeddings = value
        self.tie_weights()

    def get_output_embeddings(self) -> nn.Linear | None:
        """The masked-LM decoder (an :class:`torch.nn.Linear` tied to the word embeddings and to
        ``predictions.bias``), or ``None`` for a model without a masked-LM head."""
        predictions = getattr(self, "predictions", None)
        return predictions.decoder if isinstance(predictions, AlbertMLMHead) else None

    def set_output_embeddings(self, value: nn.Linear) -> None:
        """Use ``value`` as the masked-LM decoder.

        ALBERT ties the decoder to the word embeddings, so ``value.weight`` becomes the word-embedding table as well
        and ``value.bias`` becomes ``predictions.bias``.

        Raises:
            ~albert_core.errors.UsageError: for a model without a masked-LM head, or unless ``value`` is an
                :class:`torch.nn.Linear` with a bias and a weight of shape ``[vocab_size, embedding_size]``.
        """
        predictions = getattr(self, "predictions", None)
        if not isinstance(predictions, AlbertMLMHead):
            raise UsageError(f"{type(self).__name__} has no masked-LM decoder")
        expected = (self.config.vocab_size, self.config.embedding_size)
        if not isinstance(value, nn.Linear) or value.bias is None or tuple(value.weight.shape) != expected:
            raise UsageError(f"output embeddings must be a torch.nn.Linear with a bias and weight shape {expected}, "
                             f"got {value!r:.100}")
        self.get_input_embeddings().weight = value.weight
        predictions.bias = value.bias
        predictions.decoder = value
        self.tie_weights()

    def tie_weights(self) -> None:
        """Tie the masked-LM decoder to the current word embeddings and ``predictions.bias`` (no-op without one).

        Called by :meth:`set_input_embeddings`, :meth:`set_output_embeddings` and :meth:`resize_token_embeddings`.
        """
        predictions = getattr(self, "predictions", None)
        if isinstance(predictions, AlbertMLMHead):
            predictions.tie_to(self.get_input_embeddings())

    def resize_token_embeddings(self, new_num_tokens: int | None = None,
                                pad_to_multiple_of: int | None = None) -> nn.Embedding:
        """Give the model ``new_num_tokens`` word embeddings (after adding tokens to the tokenizer); return them.

        The first ``min(old, new)`` rows (and masked-LM bias entries) are kept; new rows are drawn as at
        initialisation (truncated normal, ``config.initializer_range``) and new bias entries are 0. The masked-LM
        decoder stays tied to the new table, and ``model.config`` becomes a copy with the new ``vocab_size`` (the
        configuration object the model was built from is left alone). The parameters are new tensors: build the
        optimizer afterwards.

        Args:
            new_num_tokens: the new vocabulary size; ``None`` keeps it (the table is returned unchanged unless
                ``pad_to_multiple_of`` rounds it up).
            pad_to_multiple_of: round the size up to a multiple of this (tensor-core friendly sizes).

        Raises:
            ~albert_core.errors.UsageError: for a size or multiple that is not a positive integer.
            ~albert_core.ConfigError: when the new size leaves ``pad_token_id`` / ``bos_token_id`` /
                ``eos_token_id`` outside the vocabulary (nothing is changed then).

        >>> from albert_core import AlbertConfig
        >>> from albert_pt import AlbertForMaskedLM
        >>> model = AlbertForMaskedLM(AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8,
        ...                                        num_hidden_layers=1, num_attention_heads=2, intermediate_size=16))
        >>> tuple(model.resize_token_embeddings(21, pad_to_multiple_of=8).weight.shape), model.config.vocab_size
        ((24, 4), 24)
        >>> (tuple(model.predictions.bias.shape),
        ...  model.get_output_embeddings().weight is model.get_input_embeddings().weight)
        ((24,), True)
        """
        old = self.get_input_embeddings()
        for name, value in (("new_num_tokens", new_num_tokens), ("pad_to_multiple_of", pad_to_multiple_of)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise UsageError(f"{name} must be a positive integer, got {value!r}")
        size = old.num_embeddings if new_num_tokens is None else new_num_tokens
        if pad_to_multiple_of is not None:
            size = -(-size // pad_to_multiple_of) * pad_to_multiple_of
        if size == old.num_embeddings:
            return old
        new_config = self.config.copy(vocab_size=size)  # validates the special ids before any change
        keep = min(size, old.num_embeddings)
        weight = old.weight
        new = nn.Embedding(size, weight.shape[1], device=weight.device, dtype=weight.dtype)
        r = self.config.initializer_range
        with torch.no_grad():
            nn.init.trunc_normal_(new.weight, mean=0.0, std=r, a=-2 * r, b=2 * r)
            new.weight[:keep] = weight[:keep]
        new.weight.requires_grad_(weight.requires_grad)
        self._base_model().embeddings.word_embeddings = new
        predictions = getattr(self, "predictions", None)
        if isinstance(predictions, AlbertMLMHead):
            bias = torch.zeros(size, device=predictions.bias.device, dtype=predictions.bias.dtype)
            with torch.no_grad():
                bias[:keep] = predictions.bias[:keep]
            predictions.bias = nn.Parameter(bias, requires_grad=predictions.bias.requires_grad)
        # a copy, not an in-place change: other models built from the same config object keep their vocabulary
        old_config = self.config
        for module in self.modules():
            if getattr(module, "config", None) is old_config:
                module.config = new_config
        self.tie_weights()
        return new

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
    def from_pretrained(cls, path: str | os.PathLike[str], config: AlbertConfig | Any = None,
                        strict: bool = False, *, num_labels: int | None = None,
                        id2label: Mapping[Any, str] | None = None, label2id: Mapping[str, Any] | None = None,
                        ignore_mismatched_sizes: bool = False, torch_dtype: Any = None, dtype: Any = None,
                        **config_overrides: Any):
        """Build the model from a checkpoint (directory or weights file) in any format :mod:`albert_core` reads.

        Args:
            path: a checkpoint directory (``model.safetensors`` or ``pytorch_model.bin``, plus ``config.json``) or a
                weights file.
            config: the configuration; defaults to the one stored beside the weights. A ``config.json`` mapping or
                a ``transformers.AlbertConfig`` is accepted too.
            strict: raise :class:`~albert_core.CheckpointError` when a tensor is missing or unused, or holds NaN
                or infinite values (otherwise a :class:`~albert_core.errors.NonFiniteWeightsWarning`).
            num_labels, id2label, label2id: the classification labels of the model to build (``id2label`` alone
                sets the other two; ``num_labels`` alone names them ``LABEL_i``), as in transformers.
            ignore_mismatched_sizes: re-initialise the tensors whose shape in the checkpoint differs from the
                model's (a classifier for another number of labels, ...) instead of raising
                :class:`~albert_core.CheckpointError` naming them.
            torch_dtype, dtype: the parameters' dtype: ``"float32"`` (default), ``"float16"``, ``"bfloat16"``, the
                matching ``torch`` dtypes, or ``"auto"`` for the dtype the checkpoint was stored in (give one of
                the two names; ``dtype`` is transformers' newer spelling).
            config_overrides: other configuration fields to change (``hidden_dropout_prob=0.1``, ...); a keyword
                that is no field (nor a key kept in the configuration's ``extra``) raises ``TypeError``.

        A base checkpoint loads into any head (the head is freshly initialised) and a head checkpoint into
        :class:`AlbertModel`; what was re-initialised, left new or not used is reported in one
        ``PartialLoadWarning`` and kept on ``model.load_report`` (a
        :class:`~albert_core.loading.PretrainedLoadReport`). The model is returned in eval mode (call ``.train()``
        to fine-tune).

        >>> import tempfile, warnings
        >>> from albert_core import AlbertConfig
        >>> from albert_pt import AlbertForSequenceClassification
        >>> cfg = AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> with tempfile.TemporaryDirectory() as d, warnings.catch_warnings(record=True) as caught:
        ...     _ = AlbertForSequenceClassification(cfg).save_pretrained(d)
        ...     model = AlbertForSequenceClassification.from_pretrained(
        ...         d, id2label={0: "neg", 1: "neu", 2: "pos"}, ignore_mismatched_sizes=True, torch_dtype="bfloat16")
        >>> model.config.label2id, model.dtype, [str(m) for m in model.load_report.mismatched]
        ({'neg': 0, 'neu': 1, 'pos': 2}, torch.bfloat16, ['classifier.weight: checkpoint (2, 8) vs model (3, 8)',
         'classifier.bias: checkpoint (2,) vs model (3,)'])
        """
        if torch_dtype is not None and dtype is not None and torch_dtype != dtype:
            raise UsageError(f"torch_dtype={torch_dtype!r} and dtype={dtype!r} disagree; give one of them")
        prepared = prepare_pretrained(path, cls.head, config, strict=strict,
                                      ignore_mismatched_sizes=ignore_mismatched_sizes,
                                      dtype=dtype if dtype is not None else torch_dtype, num_labels=num_labels,
                                      id2label=id2label, label2id=label2id, **config_overrides)
        model = cls(prepared.config)
        model.load_report = prepared.report(model.load_canonical_state(prepared.state, strict=strict))
        warn_about_load(cls.__name__, prepared.contents.path, model.load_report)
        if prepared.dtype is not None:
            model.to(getattr(torch, prepared.dtype))
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


# ---------------------------------------------------------------------------------------------------------------------
# 5. The backbone


#: torch has no min/max (nor boolean indexing) for these "shell" dtypes, and casting uint64 to int64 wraps around,
#: so their values are checked through numpy
_WIDE_UNSIGNED = tuple(getattr(torch, n) for n in ("uint16", "uint32", "uint64") if hasattr(torch, n))


def _dtype_name(tensor) -> str:
    """The dtype's framework-neutral name (``int64``, ``uint8``, ``float32``): the same in both backends' messages."""
    return str(tensor.dtype).removeprefix("torch.")


def _id_tensor(name: str, tensor, limit: int, limit_name: str):
    """An id input checked on its original dtype and values, then cast to an index dtype the lookups take.

    Any integer dtype is accepted; the range check runs before the cast so no id wraps around. Under tracing the
    values are unknown and only the dtype is checked.
    """
    if tensor is None:
        return None
    check_id_dtype(name, _dtype_name(tensor))
    if tensor.numel() and not _is_tracing():
        if tensor.dtype in _WIDE_UNSIGNED:
            values = tensor.cpu().numpy()
            low, high = int(values.min()), int(values.max())
        else:
            low, high = (int(v) for v in torch.aminmax(tensor))
        check_id_range(name, low, high, limit, limit_name)
    # nn.Embedding takes int32/int64 indices only (int8/uint8/int16 would raise); the values fit after the check
    return tensor if tensor.dtype in (torch.int32, torch.int64) else tensor.long()


def _mask_tensor(mask):
    """``attention_mask`` checked to be boolean or 0/1 (values only when not tracing)."""
    if mask is None:
        return None
    check_attention_mask_dtype(_dtype_name(mask))
    if mask.dtype != torch.bool and mask.numel() and not _is_tracing():
        values = mask.cpu().numpy() if mask.dtype in _WIDE_UNSIGNED else mask
        bad = values[(values != 0) & (values != 1)]  # NaN compares unequal to both, so it is caught too
        check_attention_mask_values(len(bad), bad[0].item() if len(bad) else None)
    return mask.long() if mask.dtype in _WIDE_UNSIGNED else mask


class AlbertModel(AlbertPreTrainedModel):
    """The ALBERT backbone: embeddings, shared encoder and (optionally) the tanh pooler.

    Args:
        config: the model configuration.
        add_pooling_layer: build the pooler (``pooler.weight`` / ``pooler.bias``). The task heads build it exactly
            when ``HEADS[head].pooler`` says they use it, like transformers.

    Parameters are named without the ``albert.`` prefix (``embeddings.word_embeddings.weight``, ...), as a
    stand-alone transformers ``AlbertModel`` names them; :meth:`~AlbertPreTrainedModel.canonical_state` adds the prefix.
    """

    head = Head.BASE
    _state_prefix = ""

    def __init__(self, config: AlbertConfig, add_pooling_layer: bool = True) -> None:
        super().__init__(config)
        config = self.config  # coerced: also a transformers config or a config.json mapping
        self.embeddings = AlbertEmbeddings(config)
        self.encoder = AlbertTransformer(config)
        self.pooler = nn.Linear(config.hidden_size, config.hidden_size) if add_pooling_layer else None
        self.init_weights()

    def _check_ids(self, input_ids, token_type_ids, position_ids, attention_mask):
        """Check the id inputs and the attention mask (:mod:`albert_core.validation`); return them ready to use."""
        tensors = {"input_ids": input_ids, "token_type_ids": token_type_ids, "position_ids": position_ids}
        for name, limit, limit_name in id_inputs(self.config):
            tensors[name] = _id_tensor(name, tensors[name], limit, limit_name)
        return tensors["input_ids"], tensors["token_type_ids"], tensors["position_ids"], _mask_tensor(attention_mask)

    def _mask_bias(self, attention_mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
        """``[B, S]`` keep-mask -> additive ``[B, 1, 1, S]`` bias (``finfo.min`` on padded keys), or ``None``."""
        if attention_mask is None or (not _is_tracing() and bool(attention_mask.all())):
            return None  # an all-ones mask changes nothing; dropping it lets SDPA use its unmasked kernel
        keep = attention_mask.to(dtype)[:, None, None, :]
        return (1.0 - keep) * torch.finfo(dtype).min

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
        first_only: bool = False,
    ) -> BaseModelOutput:
        """Run the backbone. These arguments (but ``first_only``) are also the common arguments of every head's
        ``forward``.

        ``B`` is the batch size, ``S`` the sequence length, ``E`` ``embedding_size``, ``H`` ``hidden_size`` and ``L``
        ``num_hidden_layers``.

        Args:
            input_ids: integer ``[B, S]`` token ids in ``[0, vocab_size)``, of any integer dtype (checked before it
                is cast to ``long``; float, bool and complex ids raise). Give exactly one of ``input_ids`` and
                ``inputs_embeds``.
            attention_mask: ``[B, S]`` (bool, integer or float) holding only 1 for real tokens and 0 for padding
                (default all ones); other values raise. Value checks (id ranges, mask values) are skipped under
                ``torch.compile`` / tracing, where values are unknown.
            token_type_ids: integer ``[B, S]`` segment ids in ``[0, type_vocab_size)`` (default zeros).
            position_ids: integer ``[B, S]`` positions in ``[0, max_position_embeddings)`` (default ``0 .. S-1``).
            head_mask: float ``[heads]`` or ``[L, heads]`` multipliers of the attention probabilities (row ``l``
                for layer ``l``; 0 switches a head off).
            inputs_embeds: float ``[B, S, E]`` word embeddings to use instead of looking up ``input_ids``.
            output_attentions: also return the attention probabilities of every block run.
            output_hidden_states: also return the projected embeddings and every layer's output.
            first_only: compute the last layer past attention for the first position only, so
                ``last_hidden_state`` is ``[B, 1, H]`` (the pooled heads read nothing else; ignored with
                ``output_hidden_states``).

        Returns:
            :class:`~albert_core.outputs.BaseModelOutput` with

            - ``last_hidden_state``: ``[B, S, H]``;
            - ``pooler_output``: ``[B, H]``, ``tanh(dense(last_hidden_state[:, 0]))`` (``None`` without a pooler);
            - ``hidden_states``: with ``output_hidden_states``, a tuple of ``L + 1`` tensors ``[B, S, H]``;
            - ``attentions``: with ``output_attentions``, a tuple of ``L * inner_group_num`` tensors
              ``[B, heads, S, S]``.

        Raises:
            ~albert_core.InputError: for inconsistent shapes, non-integer or out-of-range ids, an attention mask
                other than 0/1 (and, in the heads, for bad labels).

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
        input_ids, token_type_ids, position_ids, attention_mask = self._check_ids(input_ids, token_type_ids,
                                                                                  position_ids, attention_mask)
        x = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds)
        last, hidden_states, attentions = self.encoder(
            x, self._mask_bias(attention_mask, x.dtype), self._head_mask(head_mask), output_attentions,
            output_hidden_states, first_only and not output_hidden_states
        )
        pooled = torch.tanh(self.pooler(last[:, 0])) if self.pooler is not None else None
        return BaseModelOutput(last_hidden_state=last, pooler_output=pooled, hidden_states=hidden_states,
                               attentions=attentions)


# ---------------------------------------------------------------------------------------------------------------------
# 6. Heads
#
# Every head's forward takes the arguments of AlbertModel.forward (documented there, once) plus its own label
# arguments, and returns its output class with ``loss`` from albert_core.losses.head_loss (float32; None without
# labels). Out-of-range class labels raise albert_core.InputError naming the argument.


class AlbertMLMHead(nn.Module):
    """dense H -> E, activation, LayerNorm(E), then the tied decoder ``word_embeddings^T + bias``.

    ``decoder`` is an :class:`torch.nn.Linear` whose ``weight`` *is* the word-embedding table's parameter and whose
    ``bias`` *is* :attr:`bias` (the same :class:`torch.nn.Parameter` objects, as in transformers), so the state dict
    lists ``predictions.decoder.*`` while ``named_parameters()`` holds each tensor once.
    """

    def __init__(self, config: AlbertConfig, word_embeddings: nn.Embedding) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.embedding_size)
        self.activation = get_activation(config.hidden_act)
        self.LayerNorm = nn.LayerNorm(config.embedding_size, eps=config.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        # built on the meta device: its own weight and bias are replaced by the tied parameters right away
        self.decoder = nn.Linear(config.embedding_size, config.vocab_size, device="meta")
        self.tie_to(word_embeddings)

    def tie_to(self, word_embeddings: nn.Embedding) -> None:
        """Make the decoder use ``word_embeddings``' weight and this head's :attr:`bias` (after either changed)."""
        self.decoder.weight = word_embeddings.weight
        self.decoder.bias = self.bias
        self.decoder.out_features, self.decoder.in_features = word_embeddings.weight.shape

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.LayerNorm(self.activation(self.dense(hidden))))


class AlbertSOPHead(nn.Module):
    """Sentence-order prediction: a linear classifier on the pooled output (no dropout, as in the original)."""

    def __init__(self, config: AlbertConfig, num_classes: int = 2) -> None:
        super().__init__()
        self.classifier = nn.Linear(config.hidden_size, num_classes)

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
    """Backbone + masked-LM head + sentence-order head, as in ALBERT pre-training."""

    head = Head.PRETRAINING

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__(config)
        config = self.config  # coerced: also a transformers config or a config.json mapping
        self.albert = self._backbone()
        self.predictions = AlbertMLMHead(config, self.albert.embeddings.word_embeddings)
        self.sop_classifier = AlbertSOPHead(config, self._part_width("sop_classifier.classifier"))
        self.init_weights(skip_backbone=True)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
                inputs_embeds=None, labels=None, sentence_order_label=None, output_attentions=False,
                output_hidden_states=False, masked_positions_only: bool = False) -> AlbertForPreTrainingOutput:
        """Masked-LM and sentence-order logits; the other arguments are those of :meth:`AlbertModel.forward`.

        Args:
            labels: integer ``[B, S]`` masked-LM target ids in ``[0, vocab_size)``, -100 where no loss is taken.
            sentence_order_label: integer ``[B]``, 0 for the original order, 1 for swapped segments (-100 ignored).
            masked_positions_only: run the masked-LM head only at the N positions whose label is not -100, as the
                original pre-training does (see :func:`albert_core.losses.masked_positions`): the same loss and
                gradients, without the vocabulary projection of every other position. Needs ``labels``.

        Returns:
            :class:`AlbertForPreTrainingOutput` with ``prediction_logits`` ``[B, S, vocab_size]`` (``[1, N,
            vocab_size]`` with ``masked_positions_only``, in row-major order of the positions) and ``sop_logits``
            ``[B, 2]``. ``loss`` is the MLM plus the SOP cross-entropy, or either alone when only its labels are
            given.

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
        hidden, labels = self._masked_lm_rows(out.last_hidden_state, labels, masked_positions_only)
        prediction_logits = self.predictions(hidden)
        sop_logits = self.sop_classifier(out.pooler_output)
        return self._head_output(AlbertForPreTrainingOutput, out, (labels, sentence_order_label),
                                 prediction_logits=prediction_logits, sop_logits=sop_logits)


class AlbertForMaskedLM(AlbertPreTrainedModel):
    """Backbone (no pooler) + masked-LM head with the decoder tied to the word embeddings."""

    head = Head.MASKED_LM

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__(config)
        config = self.config  # coerced: also a transformers config or a config.json mapping
        self.albert = self._backbone()
        self.predictions = AlbertMLMHead(config, self.albert.embeddings.word_embeddings)
        self.init_weights(skip_backbone=True)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
                inputs_embeds=None, labels=None, output_attentions=False,
                output_hidden_states=False, masked_positions_only: bool = False) -> MaskedLMOutput:
        """Vocabulary logits for every position; the other arguments are those of :meth:`AlbertModel.forward`.

        Args:
            labels: integer ``[B, S]`` target ids in ``[0, vocab_size)``, -100 where no loss is taken.
            masked_positions_only: the head runs only at the N positions whose label is not -100, as in
                :meth:`AlbertForPreTraining.forward`: the same loss, for training. Needs ``labels``.

        Returns:
            :class:`~albert_core.outputs.MaskedLMOutput` with ``logits`` ``[B, S, vocab_size]`` (``[1, N,
            vocab_size]`` with ``masked_positions_only``) and, with ``labels``, ``loss``: the mean cross-entropy
            over the positions whose label is not -100 (0 when there are none).

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
            >>> only = model(ids, labels=torch.tensor([[-100, 9, -100, -100]]), masked_positions_only=True)
            >>> tuple(only.logits.shape), bool(torch.allclose(only.loss, out.loss))
            ((1, 1, 20), True)
        """
        out = self.albert(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                          output_attentions, output_hidden_states)
        hidden, labels = self._masked_lm_rows(out.last_hidden_state, labels, masked_positions_only)
        logits = self.predictions(hidden)
        return self._head_output(MaskedLMOutput, out, (labels,), logits=logits)


class AlbertForSequenceClassification(AlbertPreTrainedModel):
    """Backbone + dropout + linear classifier ``H -> num_labels`` on the pooled output."""

    head = Head.SEQUENCE_CLASSIFICATION

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__(config)
        config = self.config  # coerced: also a transformers config or a config.json mapping
        self.num_labels = config.num_labels
        self.albert = self._backbone()
        self.dropout = nn.Dropout(config.effective_classifier_dropout)
        self.classifier = self._linear_part("classifier")
        self.init_weights(skip_backbone=True)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
                inputs_embeds=None, labels=None, output_attentions=False,
                output_hidden_states=False) -> SequenceClassifierOutput:
        """Class logits from the pooled first token; the other arguments are those of :meth:`AlbertModel.forward`.

        Args:
            labels: integer ``[B]`` class ids in ``[0, num_labels)`` (single-label, -100 ignored), float
                ``[B, num_labels]`` multi-hot targets (multi-label), or float ``[B]`` / ``[B, 1]`` targets
                (regression, ``num_labels == 1``); :meth:`~albert_core.AlbertConfig.infer_problem_type` picks the
                loss unless ``config.problem_type`` is set.

        Returns:
            :class:`~albert_core.outputs.SequenceClassifierOutput` with ``logits`` ``[B, num_labels]`` and, with
            ``labels``, ``loss``: cross-entropy, binary cross-entropy with logits, or mean squared error.

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
                          output_attentions, output_hidden_states, first_only=HEADS[self.head].first_token_only)
        logits = self.classifier(self.dropout(out.pooler_output))
        return self._head_output(SequenceClassifierOutput, out, (labels,), logits=logits)


class AlbertForMultipleChoice(AlbertPreTrainedModel):
    """Backbone + dropout + linear scorer ``H -> 1`` on each choice's pooled output."""

    head = Head.MULTIPLE_CHOICE

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__(config)
        config = self.config  # coerced: also a transformers config or a config.json mapping
        self.albert = self._backbone()
        self.dropout = nn.Dropout(config.effective_classifier_dropout)
        self.classifier = self._linear_part("classifier")
        self.init_weights(skip_backbone=True)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
                inputs_embeds=None, labels=None, output_attentions=False,
                output_hidden_states=False) -> MultipleChoiceOutput:
        """One score per choice; each choice is encoded as its own sequence of a ``[B * num_choices, S]`` batch.

        The arguments are those of :meth:`AlbertModel.forward` with a choice dimension: ``input_ids``,
        ``attention_mask``, ``token_type_ids`` and ``position_ids`` are ``[B, num_choices, S]``, ``inputs_embeds``
        ``[B, num_choices, S, E]``; ``hidden_states`` and ``attentions`` belong to the flattened batch.

        Args:
            labels: integer ``[B]`` index of the right choice in ``[0, num_choices)`` (-100 ignored).

        Returns:
            :class:`~albert_core.outputs.MultipleChoiceOutput` with ``logits`` ``[B, num_choices]`` and, with
            ``labels``, the cross-entropy ``loss``.

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
        num_choices = (input_ids if input_ids is not None else inputs_embeds).shape[1]
        flat = flatten_choices({"input_ids": input_ids, "attention_mask": attention_mask,
                                "token_type_ids": token_type_ids, "position_ids": position_ids,
                                "inputs_embeds": inputs_embeds}, self.ops)
        out = self.albert(**flat, head_mask=head_mask, output_attentions=output_attentions,
                          output_hidden_states=output_hidden_states, first_only=HEADS[self.head].first_token_only)
        scores = self.classifier(self.dropout(out.pooler_output))
        logits = unflatten_choices(scores, num_choices, self.ops)
        return self._head_output(MultipleChoiceOutput, out, (labels,), logits=logits)


class AlbertForTokenClassification(AlbertPreTrainedModel):
    """Backbone (no pooler) + dropout + linear classifier ``H -> num_labels`` on every token."""

    head = Head.TOKEN_CLASSIFICATION

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__(config)
        config = self.config  # coerced: also a transformers config or a config.json mapping
        self.num_labels = config.num_labels
        self.albert = self._backbone()
        self.dropout = nn.Dropout(config.effective_classifier_dropout)
        self.classifier = self._linear_part("classifier")
        self.init_weights(skip_backbone=True)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
                inputs_embeds=None, labels=None, output_attentions=False,
                output_hidden_states=False) -> TokenClassifierOutput:
        """Class logits for every token; the other arguments are those of :meth:`AlbertModel.forward`.

        Args:
            labels: integer ``[B, S]`` class ids in ``[0, num_labels)``, -100 where no loss is taken (special
                tokens, padding, continuation pieces).

        Returns:
            :class:`~albert_core.outputs.TokenClassifierOutput` with ``logits`` ``[B, S, num_labels]`` and, with
            ``labels``, ``loss``: the mean cross-entropy over the tokens whose label is not -100.

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
        logits = self.classifier(self.dropout(out.last_hidden_state))
        return self._head_output(TokenClassifierOutput, out, (labels,), logits=logits)


class AlbertForQuestionAnswering(AlbertPreTrainedModel):
    """Backbone (no pooler) + linear ``H -> 2`` giving span start and end logits per token."""

    head = Head.QUESTION_ANSWERING

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__(config)
        config = self.config  # coerced: also a transformers config or a config.json mapping
        self.albert = self._backbone()
        self.qa_outputs = self._linear_part("qa_outputs")
        self.init_weights(skip_backbone=True)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
                inputs_embeds=None, start_positions=None, end_positions=None, output_attentions=False,
                output_hidden_states=False) -> QuestionAnsweringOutput:
        """Span start and end logits for every token; the other arguments are those of :meth:`AlbertModel.forward`.

        Args:
            start_positions, end_positions: integer ``[B]`` (or ``[B, 1]``) token indices of the answer span; both
                are needed for a loss. Positions outside ``[0, S)`` are clamped to ``S`` and ignored.

        Returns:
            :class:`~albert_core.outputs.QuestionAnsweringOutput` with ``start_logits`` and ``end_logits``, each
            ``[B, S]``, and, with both position tensors, ``loss``: the mean of the start and end cross-entropies.

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
        return self._head_output(QuestionAnsweringOutput, out, (start_positions, end_positions),
                                 start_logits=start_logits, end_logits=end_logits)


#: The model class of every head.
MODEL_CLASSES: dict[Head, type[AlbertPreTrainedModel]] = {
    Head.BASE: AlbertModel,
    Head.PRETRAINING: AlbertForPreTraining,
    Head.MASKED_LM: AlbertForMaskedLM,
    Head.SEQUENCE_CLASSIFICATION: AlbertForSequenceClassification,
    Head.MULTIPLE_CHOICE: AlbertForMultipleChoice,
    Head.TOKEN_CLASSIFICATION: AlbertForTokenClassification,
    Head.QUESTION_ANSWERING: AlbertForQuestionAnswering,
}


# ---------------------------------------------------------------------------------------------------------------------
# PyTorch idiom: outputs as pytrees


def register_output_pytree(output_class: type[ModelOutput]) -> None:
    """Register an output dataclass as a pytree node, so ``torch.export``, ``torch.compile`` and the dynamo ONNX
    exporter can flatten a model's output into tensors and rebuild it.

    The children are the set fields (``None`` fields are left out, as they are of the mapping), keyed by name; the
    context is the list of their names. Every output class of ``albert_core.outputs`` that a model here returns is
    registered on import; call this for an output subclass of your own. Registering a class twice is a no-op.

    >>> import torch
    >>> from torch.utils import _pytree as pytree
    >>> from albert_core.outputs import SequenceClassifierOutput
    >>> leaves, spec = pytree.tree_flatten(SequenceClassifierOutput(logits=torch.ones(1, 2)))
    >>> len(leaves), type(pytree.tree_unflatten(leaves, spec)).__name__
    (1, 'SequenceClassifierOutput')
    """
    if output_class in pytree.SUPPORTED_NODES:
        return
    names = [f.name for f in dataclasses.fields(output_class)]

    def flatten(output):
        present = [name for name in names if getattr(output, name) is not None]
        return [getattr(output, name) for name in present], present

    def flatten_with_keys(output):
        present = [name for name in names if getattr(output, name) is not None]
        return [(pytree.MappingKey(name), getattr(output, name)) for name in present], present

    def unflatten(values, context):
        return output_class(**dict(zip(context, values)))

    pytree.register_pytree_node(output_class, flatten, unflatten,
                                serialized_type_name=f"{output_class.__module__}.{output_class.__qualname__}",
                                flatten_with_keys_fn=flatten_with_keys)


for _output_class in (BaseModelOutput, AlbertForPreTrainingOutput, *(spec.output_class for spec in HEADS.values())):
    register_output_pytree(_output_class)
