"""ALBERT in TensorFlow / Keras 3, following the original google-research architecture.

Read top to bottom:

1. activations and small building blocks (dense, LayerNorm, embedding table) that create their variables
   explicitly and know their canonical (Hugging Face PyTorch) names;
2. the backbone: embeddings, the shared transformer blocks, the encoder loop and the pooler;
3. the losses (mean cross-entropy over labels that are not -100, as the PyTorch backend computes them);
4. :class:`TFAlbertPreTrainedModel`: weight I/O (canonical names, safetensors), input handling, Keras ``fit``
   support and SavedModel export, shared by every head;
5. the model classes, one per :class:`~albert_core.weights.Head`.

Variables are created in the constructors, so a model has all its weights as soon as it exists. Each layer says
which canonical tensor each variable is (``canonical_variables``); the layout (TF dense kernels are ``[in, out]``)
is decided by :func:`albert_core.weights.to_tf_layout` / :func:`~albert_core.weights.from_tf_layout`.

Mixed precision: under a ``mixed_float16`` / ``mixed_bfloat16`` policy the variables stay float32, matrix products
run in the compute dtype, and LayerNorm, softmax, the logits returned by every head and the losses are float32.

Input checks: shapes are always checked (static shapes, ``None`` dimensions allowed) with
:func:`albert_core.validation.check_model_inputs`. Id values (ids < vocab_size, token types < type_vocab_size,
positions < max_position_embeddings) are checked only when executing eagerly; inside ``tf.function`` / XLA the value
checks are skipped, so that the graph holds no assertion ops that XLA cannot compile.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import tensorflow as tf

from albert_core.checkpoint import read_checkpoint_for_model, save_safetensors_checkpoint, warn_about_partial_load
from albert_core.config import AlbertConfig
from albert_core.errors import InputError
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
from albert_core.weights import (
    Head,
    LoadReport,
    canonical_specs,
    check_names_complete,
    from_tf_layout,
    match_state,
    to_tf_layout,
)

# Keras 3 itself, not ``tf.keras``: transformers' TensorFlow code sets TF_USE_LEGACY_KERAS=1 in os.environ when it
# is imported, after which ``tf.keras`` silently resolves to Keras 2 (tf_keras) in that process and its children.
import keras  # noqa: E402

if keras.backend.backend() != "tensorflow":
    raise ImportError(
        f"albert_tf needs Keras 3 with the TensorFlow backend, but KERAS_BACKEND is {keras.backend.backend()!r}; "
        "set KERAS_BACKEND=tensorflow (or leave it unset) before importing keras"
    )

# ---------------------------------------------------------------------------------------------------------------------
# 1. Activations and building blocks

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + tf.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * tf.pow(x, 3))))


_ACTIVATION_FNS = {
    "gelu": lambda x: 0.5 * x * (1.0 + tf.math.erf(x / math.sqrt(2.0))),
    "gelu_new": _gelu_tanh,
    "gelu_pytorch_tanh": _gelu_tanh,
    "gelu_fast": lambda x: 0.5 * x * (1.0 + tf.tanh(0.7978845608 * x * (1.0 + 0.044715 * x * x))),
    "quick_gelu": lambda x: x * tf.sigmoid(1.702 * x),
    "relu": tf.nn.relu,
    "relu6": tf.nn.relu6,
    "silu": lambda x: x * tf.sigmoid(x),
    "swish": lambda x: x * tf.sigmoid(x),
    "mish": lambda x: x * tf.tanh(tf.math.softplus(x)),
    "tanh": tf.tanh,
    "sigmoid": tf.sigmoid,
    "linear": lambda x: x,
}


def get_activation(name: str):
    """The activation function called ``name`` (one of :data:`albert_core.ACTIVATIONS`).

    >>> import tensorflow as tf
    >>> float(get_activation("relu")(tf.constant(-1.0)))
    0.0
    """
    if name not in _ACTIVATION_FNS:
        raise InputError(f"unknown activation {name!r}; choose one of {sorted(_ACTIVATION_FNS)}")
    return _ACTIVATION_FNS[name]


def _init(config: AlbertConfig):
    # the original ALBERT initialises every weight matrix (embeddings included) from a truncated normal
    return keras.initializers.TruncatedNormal(stddev=config.initializer_range)


class _Block(keras.layers.Layer):
    """Base of the building blocks: variables made in ``__init__``, casts done by hand (no Keras autocast).

    Variables are created with ``autocast=False``: Keras enters a compute-dtype autocast scope around a mixed-policy
    model's call even for layers that opt out of autocasting, and LayerNorm and the embedding tables must read their
    float32 values.
    """

    def __init__(self, **kwargs):
        super().__init__(autocast=False, **kwargs)

    def _finish(self):
        self.built = True

    def __call__(self, *args, **kwargs):
        # Internal blocks skip Keras' per-call machinery (input conversion, autocast scopes, training-flag
        # inference, masking): their variables exist from construction, every cast is explicit and ``training`` is
        # passed down by hand. This makes eager execution several times faster; graphs are identical.
        return self.call(*args, **kwargs)

    def canonical_variables(self, prefix: str) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError


def _dropout(rate: float) -> keras.layers.Layer:
    """A Keras dropout layer, marked built (it has no weights; it is called through ``.call``)."""
    layer = keras.layers.Dropout(rate)
    layer.built = True
    return layer


def _apply_dropout(layer, x, training):
    return layer.call(x, training=training) if training else x


class Dense(_Block):
    """``y = x @ kernel + bias`` over the last axis, kernel ``[in, out]`` (canonical ``weight`` is ``[out, in]``).

    Args: ``in_features``, ``out_features``, the config (for the initialiser). Call: ``x [..., in] -> [..., out]``
    in ``x``'s dtype.

    >>> import tensorflow as tf
        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> Dense(8, 3, cfg)(tf.ones([2, 5, 8])).shape
        TensorShape([2, 5, 3])
    """

    def __init__(self, in_features: int, out_features: int, config: AlbertConfig, **kwargs):
        super().__init__(**kwargs)
        self.kernel = self.add_weight(shape=(in_features, out_features), initializer=_init(config), name="kernel",
                                      autocast=False)
        self.bias = self.add_weight(shape=(out_features,), initializer="zeros", name="bias", autocast=False)
        self._finish()

    def call(self, x):
        y = tf.tensordot(x, tf.cast(self.kernel, x.dtype), axes=1)
        return y + tf.cast(self.bias, x.dtype)

    def canonical_variables(self, prefix):
        return {f"{prefix}.weight": self.kernel, f"{prefix}.bias": self.bias}


class LayerNorm(_Block):
    """Layer normalisation over the last axis, always computed in float32; returns the input's dtype.

    >>> import tensorflow as tf
    >>> y = LayerNorm(4, 1e-12)(tf.constant([[1.0, 2.0, 3.0, 4.0]]))
    >>> [round(float(v), 3) for v in y[0]]
    [-1.342, -0.447, 0.447, 1.342]
    """

    def __init__(self, width: int, eps: float, **kwargs):
        super().__init__(**kwargs)
        self.eps = eps
        self.gamma = self.add_weight(shape=(width,), initializer="ones", name="gamma", autocast=False)
        self.beta = self.add_weight(shape=(width,), initializer="zeros", name="beta", autocast=False)
        self._finish()

    def call(self, x):
        x32 = tf.cast(x, tf.float32)
        mean = tf.reduce_mean(x32, axis=-1, keepdims=True)
        centred = x32 - mean
        var = tf.reduce_mean(tf.square(centred), axis=-1, keepdims=True)
        y = centred * tf.math.rsqrt(var + self.eps) * tf.cast(self.gamma, tf.float32) + tf.cast(self.beta, tf.float32)
        return tf.cast(y, x.dtype)

    def canonical_variables(self, prefix):
        return {f"{prefix}.weight": self.gamma, f"{prefix}.bias": self.beta}


class EmbeddingTable(_Block):
    """A ``[rows, width]`` lookup table; ``call(ids)`` gathers rows (float32): ``ids [...] -> [..., width]``.

    >>> import tensorflow as tf
    >>> from albert_core import AlbertConfig
    >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
    ...            num_attention_heads=2, intermediate_size=16)
    >>> EmbeddingTable(30, 4, cfg)(tf.constant([[1, 2, 3]])).shape
    TensorShape([1, 3, 4])
    """

    def __init__(self, rows: int, width: int, config: AlbertConfig, **kwargs):
        super().__init__(**kwargs)
        self.embeddings = self.add_weight(shape=(rows, width), initializer=_init(config), name="embeddings",
                                          autocast=False)
        self._finish()

    def call(self, ids):
        return tf.gather(tf.convert_to_tensor(self.embeddings), ids)

    def canonical_variables(self, prefix):
        return {f"{prefix}.weight": self.embeddings}


# ---------------------------------------------------------------------------------------------------------------------
# 2. The backbone


class AlbertEmbeddings(_Block):
    """word + position + token-type embeddings (width E) -> LayerNorm -> dropout.

    Call: ``input_ids``, ``position_ids``, ``token_type_ids`` ``[B, S]`` (or ``inputs_embeds [B, S, E]``) ->
    ``[B, S, E]`` in the compute dtype. With a relative position type the absolute table is not added.

    >>> import tensorflow as tf
    >>> from albert_core import AlbertConfig
    >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
    ...            num_attention_heads=2, intermediate_size=16)
    >>> ids = tf.constant([[2, 5, 3]])
    >>> AlbertEmbeddings(cfg)(ids, tf.constant([[0, 1, 2]]), tf.zeros_like(ids)).shape
    TensorShape([1, 3, 4])
    """

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(**kwargs)
        e = config.embedding_size
        self.word_embeddings = EmbeddingTable(config.vocab_size, e, config, name="word_embeddings")
        self.position_embeddings = EmbeddingTable(config.max_position_embeddings, e, config,
                                                  name="position_embeddings")
        self.token_type_embeddings = EmbeddingTable(config.type_vocab_size, e, config, name="token_type_embeddings")
        self.LayerNorm = LayerNorm(e, config.layer_norm_eps, name="LayerNorm")
        self.dropout = _dropout(config.hidden_dropout_prob)
        # with relative position types the absolute table exists (checkpoints keep their shapes) but is not added,
        # as in transformers' PyTorch ALBERT and albert_pt
        self.absolute = config.position_embedding_type == "absolute"
        self._finish()

    def call(self, input_ids, position_ids, token_type_ids, inputs_embeds=None, training=False):
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)
        x = tf.cast(inputs_embeds, tf.float32) + self.token_type_embeddings(token_type_ids)
        if self.absolute:
            x = x + self.position_embeddings(position_ids)
        x = tf.cast(self.LayerNorm(x), self.compute_dtype)
        return _apply_dropout(self.dropout, x, training)

    def canonical_variables(self, prefix):
        out = {}
        for name in ("word_embeddings", "position_embeddings", "token_type_embeddings", "LayerNorm"):
            out.update(getattr(self, name).canonical_variables(f"{prefix}.{name}"))
        return out


class AlbertBlock(_Block):
    """One post-LN transformer block: self-attention -> add & LayerNorm -> feed-forward -> add & LayerNorm.

    >>> import tensorflow as tf
    >>> from albert_core import AlbertConfig
    >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
    ...            num_attention_heads=2, intermediate_size=16)
    >>> out, probs = AlbertBlock(cfg)(tf.ones([1, 3, 8]), tf.zeros([1, 1, 1, 3]))
    >>> out.shape, probs.shape
    (TensorShape([1, 3, 8]), TensorShape([1, 2, 3, 3]))
    """

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(**kwargs)
        h, i = config.hidden_size, config.intermediate_size
        self.config = config
        self.num_heads = config.num_attention_heads
        self.head_size = config.head_size
        self.query = Dense(h, h, config, name="query")
        self.key = Dense(h, h, config, name="key")
        self.value = Dense(h, h, config, name="value")
        self.dense = Dense(h, h, config, name="dense")
        self.attention_norm = LayerNorm(h, config.layer_norm_eps, name="attention_LayerNorm")
        self.relative = config.position_embedding_type != "absolute"
        if self.relative:
            self.distance_embedding = EmbeddingTable(2 * config.max_position_embeddings - 1, self.head_size, config,
                                                     name="distance_embedding")
        self.ffn = Dense(h, i, config, name="ffn")
        self.ffn_output = Dense(i, h, config, name="ffn_output")
        self.full_layer_norm = LayerNorm(h, config.layer_norm_eps, name="full_layer_layer_norm")
        self.activation = get_activation(config.hidden_act)
        self.attention_dropout = _dropout(config.attention_probs_dropout_prob)
        self.output_dropout = _dropout(config.hidden_dropout_prob)
        self.ffn_dropout = _dropout(config.hidden_dropout_prob)
        self._finish()

    def _split_heads(self, x, batch, seq):
        x = tf.reshape(x, [batch, seq, self.num_heads, self.head_size])
        return tf.transpose(x, [0, 2, 1, 3])  # [batch, heads, seq, head_size]

    def call(self, x, mask_bias, head_mask=None, training=False):
        """x ``[B, S, H]``; mask_bias ``[B, 1, 1, S]`` float32 (0 or very negative); head_mask ``[heads]`` or None.

        Returns ``(output [B, S, H], attention probabilities [B, heads, S, S] float32)``.
        """
        shape = tf.shape(x)
        batch, seq = shape[0], shape[1]
        q = self._split_heads(self.query(x), batch, seq)
        k = self._split_heads(self.key(x), batch, seq)
        v = self._split_heads(self.value(x), batch, seq)
        scores = tf.matmul(q, k, transpose_b=True)
        scores = tf.cast(scores, tf.float32) / math.sqrt(self.head_size) + mask_bias
        if self.relative:
            # distance l - r, shifted into [0, 2 * max_positions - 1); added unscaled, after the mask
            positions = tf.range(seq)
            distance = positions[:, None] - positions[None, :] + self.config.max_position_embeddings - 1
            table = tf.cast(self.distance_embedding(distance), q.dtype)  # [S, S, head_size]
            rel = tf.einsum("bhld,lrd->bhlr", q, table)
            if self.config.position_embedding_type == "relative_key_query":
                rel = rel + tf.einsum("bhrd,lrd->bhlr", k, table)
            scores = scores + tf.cast(rel, tf.float32)
        probs = tf.nn.softmax(scores, axis=-1)
        probs = _apply_dropout(self.attention_dropout, probs, training)
        if head_mask is not None:
            probs = probs * tf.reshape(tf.cast(head_mask, tf.float32), [1, self.num_heads, 1, 1])
        context = tf.matmul(tf.cast(probs, v.dtype), v)
        context = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [batch, seq, self.num_heads * self.head_size])
        attended = _apply_dropout(self.output_dropout, self.dense(context), training)
        attention_output = self.attention_norm(x + attended)
        ffn = self.ffn_output(self.activation(self.ffn(attention_output)))
        ffn = _apply_dropout(self.ffn_dropout, ffn, training)
        return self.full_layer_norm(attention_output + ffn), probs

    def canonical_variables(self, prefix):
        out = {}
        out.update(self.full_layer_norm.canonical_variables(f"{prefix}.full_layer_layer_norm"))
        for name in ("query", "key", "value", "dense"):
            out.update(getattr(self, name).canonical_variables(f"{prefix}.attention.{name}"))
        out.update(self.attention_norm.canonical_variables(f"{prefix}.attention.LayerNorm"))
        if self.relative:
            out.update(self.distance_embedding.canonical_variables(f"{prefix}.attention.distance_embedding"))
        out.update(self.ffn.canonical_variables(f"{prefix}.ffn"))
        out.update(self.ffn_output.canonical_variables(f"{prefix}.ffn_output"))
        return out


class AlbertBackbone(_Block):
    """Embeddings, E->H projection, the shared encoder and (optionally) the tanh pooler.

    Layer ``l`` of ``num_hidden_layers`` runs every block of group ``config.group_of_layer(l)``. Call arguments are
    those of :class:`TFAlbertModel` (already converted to tensors); returns a
    :class:`~albert_core.outputs.BaseModelOutput`.

    >>> import tensorflow as tf
    >>> from albert_core import AlbertConfig
    >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
    ...            num_attention_heads=2, intermediate_size=16)
    >>> AlbertBackbone(cfg, with_pooler=False)(tf.constant([[2, 5, 3]])).pooler_output is None
    True
    """

    def __init__(self, config: AlbertConfig, with_pooler: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.embeddings = AlbertEmbeddings(config, name="embeddings")
        self.embedding_hidden_mapping_in = Dense(config.embedding_size, config.hidden_size, config,
                                                 name="embedding_hidden_mapping_in")
        self.groups = [
            [AlbertBlock(config, name=f"group_{g}_block_{i}") for i in range(config.inner_group_num)]
            for g in range(config.num_hidden_groups)
        ]
        self.pooler = Dense(config.hidden_size, config.hidden_size, config, name="pooler") if with_pooler else None
        self._finish()

    def call(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
             inputs_embeds=None, output_attentions=False, output_hidden_states=False, training=False):
        config = self.config
        main = input_ids if input_ids is not None else inputs_embeds
        shape = tf.shape(main)
        batch, seq = shape[0], shape[1]
        if attention_mask is None:
            attention_mask = tf.ones([batch, seq], tf.int32)
        if token_type_ids is None:
            token_type_ids = tf.zeros([batch, seq], tf.int32)
        if position_ids is None:
            position_ids = tf.broadcast_to(tf.range(seq)[None, :], [batch, seq])
        x = self.embeddings(input_ids, position_ids, token_type_ids, inputs_embeds, training=training)
        x = self.embedding_hidden_mapping_in(x)
        # padded keys get the most negative float32, as the reference does
        keep = tf.cast(attention_mask, tf.float32)[:, None, None, :]
        mask_bias = (1.0 - keep) * tf.float32.min
        if head_mask is not None:
            head_mask = tf.cast(head_mask, tf.float32)
            if head_mask.shape.rank == 1:
                head_mask = tf.broadcast_to(head_mask[None, :], [config.num_hidden_layers, config.num_attention_heads])
        hidden_states = [x] if output_hidden_states else None
        attentions = [] if output_attentions else None
        for layer in range(config.num_hidden_layers):
            layer_mask = None if head_mask is None else head_mask[layer]
            for block in self.groups[config.group_of_layer(layer)]:
                x, probs = block(x, mask_bias, layer_mask, training=training)
                if output_attentions:
                    attentions.append(probs)
            if output_hidden_states:
                hidden_states.append(x)
        pooled = None
        if self.pooler is not None:
            pooled = tf.tanh(self.pooler(x[:, 0]))
        return BaseModelOutput(
            last_hidden_state=x,
            pooler_output=pooled,
            hidden_states=tuple(hidden_states) if output_hidden_states else None,
            attentions=tuple(attentions) if output_attentions else None,
        )

    def canonical_variables(self, prefix="albert"):
        out = dict(self.embeddings.canonical_variables(f"{prefix}.embeddings"))
        out.update(self.embedding_hidden_mapping_in.canonical_variables(f"{prefix}.encoder.embedding_hidden_mapping_in"))
        for g, group in enumerate(self.groups):
            for i, block in enumerate(group):
                out.update(block.canonical_variables(f"{prefix}.encoder.albert_layer_groups.{g}.albert_layers.{i}"))
        if self.pooler is not None:
            out.update(self.pooler.canonical_variables(f"{prefix}.pooler"))
        return out


class AlbertMLMHead(_Block):
    """dense H->E, activation, LayerNorm, then logits against the (tied) word embeddings plus a bias.

    Call: ``[B, S, H] -> [B, S, vocab]`` float32 logits.

    >>> import tensorflow as tf
    >>> from albert_core import AlbertConfig
    >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
    ...            num_attention_heads=2, intermediate_size=16)
    >>> backbone = AlbertBackbone(cfg)
    >>> AlbertMLMHead(cfg, backbone.embeddings.word_embeddings)(tf.ones([1, 3, 8])).shape
    TensorShape([1, 3, 30])
    """

    def __init__(self, config: AlbertConfig, word_embeddings: EmbeddingTable, **kwargs):
        super().__init__(**kwargs)
        self.dense = Dense(config.hidden_size, config.embedding_size, config, name="dense")
        self.LayerNorm = LayerNorm(config.embedding_size, config.layer_norm_eps, name="LayerNorm")
        self.activation = get_activation(config.hidden_act)
        self.word_embeddings = word_embeddings  # shared, not owned: its variable belongs to the backbone
        self.bias = self.add_weight(shape=(config.vocab_size,), initializer="zeros", name="bias", autocast=False)
        self._finish()

    def call(self, x):
        x = self.LayerNorm(self.activation(self.dense(x)))
        table = tf.cast(self.word_embeddings.embeddings, x.dtype)
        logits = tf.matmul(tf.reshape(x, [-1, tf.shape(x)[-1]]), table, transpose_b=True)
        logits = tf.reshape(logits, tf.concat([tf.shape(x)[:-1], [-1]], axis=0))
        return tf.cast(logits, tf.float32) + self.bias

    def canonical_variables(self, prefix="predictions"):
        out = {f"{prefix}.bias": self.bias}
        out.update(self.dense.canonical_variables(f"{prefix}.dense"))
        out.update(self.LayerNorm.canonical_variables(f"{prefix}.LayerNorm"))
        return out


# ---------------------------------------------------------------------------------------------------------------------
# 3. Losses (float32, mean over the labels that are not ignored)


def masked_cross_entropy(logits, labels, ignore_index: int = IGNORE_INDEX):
    """Mean softmax cross-entropy of ``logits [..., C]`` against integer ``labels [...]``, skipping ``ignore_index``.

    Returns a float32 scalar; 0 when every label is ignored.

    >>> import tensorflow as tf
    >>> loss = masked_cross_entropy(tf.zeros([2, 4]), tf.constant([1, -100]))
    >>> round(float(loss), 4)  # log(4)
    1.3863
    """
    logits = tf.cast(logits, tf.float32)
    labels = tf.cast(labels, tf.int32)
    num_classes = tf.shape(logits)[-1]
    logits = tf.reshape(logits, [-1, num_classes])
    labels = tf.reshape(labels, [-1])
    keep = tf.not_equal(labels, ignore_index)
    safe = tf.where(keep, labels, tf.zeros_like(labels))
    per_item = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=safe, logits=logits)
    keep_f = tf.cast(keep, tf.float32)
    return tf.math.divide_no_nan(tf.reduce_sum(per_item * keep_f), tf.reduce_sum(keep_f))


# ---------------------------------------------------------------------------------------------------------------------
# 4. Shared model machinery

_INPUT_KEYS = ("input_ids", "attention_mask", "token_type_ids", "position_ids", "head_mask", "inputs_embeds")


def _static_shape(x) -> list[int | None] | None:
    if x is None:
        return None
    return list(x.shape) if hasattr(x, "shape") else list(np.shape(x))


def _to_tensor(x, dtype=None):
    if x is None:
        return None
    if isinstance(x, (tf.Tensor, tf.Variable)) or hasattr(x, "dtype") and not isinstance(x, np.ndarray):
        return x if dtype is None else tf.cast(x, dtype)
    return tf.convert_to_tensor(x, dtype=dtype)


class TFAlbertPreTrainedModel(keras.Model):
    """Base class of every ALBERT Keras model: weight I/O, input checks, Keras training and SavedModel export.

    Subclasses set :attr:`head` and implement ``_forward`` and ``_head_loss``. Not meant to be built directly; use
    :class:`TFAlbertModel` or one of the task heads. Every variable is created by the constructor, so a new model
    can be saved, loaded or inspected without a first call.

    Args:
        config: the model configuration.
        kwargs: passed to :class:`keras.Model` (``name``, ...).

    Example:
        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> model = TFAlbertForQuestionAnswering(cfg)
        >>> isinstance(model, TFAlbertPreTrainedModel), model.head.value, model.label_keys
        (True, 'question_answering', ('start_positions', 'end_positions'))
        >>> from albert_core.weights import canonical_specs
        >>> names = set(model.canonical_state())  # every tensor exists right after construction
        >>> model.built, model.load_report is None, names == set(canonical_specs(cfg, model.head))
        (True, True, True)
    """

    #: the task head this class implements (decides the canonical tensor set, see ``canonical_specs``)
    head: Head = Head.BASE
    #: label arguments of ``call`` (and keys accepted in the input dict or as ``y`` in ``fit``)
    label_keys: tuple[str, ...] = ("labels",)

    def __init__(self, config: AlbertConfig, **kwargs):
        # no autocast: ids and float labels keep their dtype (Keras would cast float inputs to the compute dtype);
        # every cast to the compute dtype is explicit in the layers
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self._allow_non_tensor_positional_args = True  # a dict or list of ids may come first
        self.config = config
        #: what the last :meth:`load_canonical_state` / :meth:`from_pretrained` matched (``None`` before any load)
        self.load_report: LoadReport | None = None

    # -------------------------------------------------------------- inputs

    def _unpack(self, input_ids, kwargs: dict) -> dict:
        """Merge a dict passed as the first argument (as Keras ``fit`` does) with the keyword arguments."""
        if isinstance(input_ids, Mapping):
            merged = dict(input_ids)
            unknown = set(merged) - set(_INPUT_KEYS) - set(self.label_keys)
            if unknown:
                raise InputError(f"unknown input names {sorted(unknown)}; expected some of "
                                 f"{list(_INPUT_KEYS) + list(self.label_keys)}")
            for key, value in kwargs.items():
                if value is not None:
                    merged[key] = value
            return {k: merged.get(k) for k in list(_INPUT_KEYS) + list(self.label_keys)}
        kwargs = dict(kwargs)
        kwargs["input_ids"] = input_ids
        return kwargs

    def _check_inputs(self, inputs: dict, choices: bool = False) -> dict:
        """Convert to tensors, check static shapes, and (eagerly) id ranges. Returns the converted inputs."""
        out = {}
        for key in _INPUT_KEYS:
            value = inputs.get(key)
            if key in ("input_ids", "token_type_ids", "position_ids", "attention_mask") and value is not None:
                value = _to_tensor(value)
                if value.dtype.is_floating and key != "attention_mask":
                    raise InputError(f"{key} must be an integer tensor, got dtype {value.dtype.name}")
                if value.dtype not in (tf.int32, tf.int64):
                    value = tf.cast(value, tf.int32)
            elif value is not None:
                value = _to_tensor(value)
            out[key] = value
        shapes = {k: _static_shape(v) for k, v in out.items()}
        if choices:
            check_choice_inputs(shapes["input_ids"], shapes["inputs_embeds"], shapes["attention_mask"],
                                shapes["token_type_ids"], shapes["position_ids"])
            # check the flattened [batch * choices, seq] view against the config
            flat = {k: (None if s is None else ([None] + s[2:]) if k != "head_mask" else s) for k, s in shapes.items()}
            check_model_inputs(self.config, **flat)
        else:
            check_model_inputs(self.config, **shapes)
        if tf.executing_eagerly():
            for key, limit, limit_name in id_inputs(self.config):
                value = out[key]
                if value is not None and tf.size(value) > 0:
                    check_id_range(key, int(tf.reduce_min(value)), int(tf.reduce_max(value)), limit, limit_name)
        return out

    # -------------------------------------------------------------- weights

    def canonical_variables(self) -> dict[str, Any]:
        """Every variable of the model by canonical name (``albert.``-prefixed HF PyTorch names), in TF layout.

        The values are Keras variables (``.assign``, ``.numpy()``); dense kernels are ``[in, out]``.

        >>> from albert_core import AlbertConfig
        >>> model = TFAlbertModel(AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=1,
        ...                                    num_attention_heads=2, intermediate_size=16))
        >>> tuple(model.canonical_variables()["albert.pooler.weight"].shape)
        (8, 8)
        """
        names = self._canonical_variables()
        check_names_complete(canonical_specs(self.config, self.head), names, f"{type(self).__name__} variables")
        return names

    def _canonical_variables(self) -> dict[str, Any]:
        return self.albert.canonical_variables("albert")

    def canonical_state(self) -> dict[str, np.ndarray]:
        """The weights as numpy arrays by canonical name, in canonical (PyTorch) layout.

        >>> from albert_core import AlbertConfig
        >>> model = TFAlbertForMaskedLM(AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8,
        ...                             num_hidden_layers=1, num_attention_heads=2, intermediate_size=16))
        >>> model.canonical_state()["predictions.dense.weight"].shape  # [out, in]
        (4, 8)
        """
        specs = canonical_specs(self.config, self.head)
        variables = self.canonical_variables()
        return {name: from_tf_layout(specs[name], np.asarray(variables[name].numpy())) for name in specs}

    def load_canonical_state(self, state: Mapping[str, np.ndarray], strict: bool = False) -> LoadReport:
        """Assign a canonical state (names and layout as :meth:`canonical_state`); return the :class:`~albert_core.weights.LoadReport`.

        Shapes must match exactly (:class:`~albert_core.CheckpointError` otherwise); with ``strict=True`` missing or
        unexpected tensors raise too. Tensors missing from ``state`` keep their current values.

        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=1,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> report = TFAlbertForMaskedLM(cfg).load_canonical_state(TFAlbertModel(cfg).canonical_state())
        >>> report.missing[:2], report.unexpected
        (['predictions.bias', 'predictions.dense.weight'], ['albert.pooler.weight', 'albert.pooler.bias'])
        """
        specs = canonical_specs(self.config, self.head)
        report = match_state(specs, state, strict=strict)
        variables = self.canonical_variables()
        for name, array in report.state.items():
            variables[name].assign(to_tf_layout(specs[name], np.asarray(array, dtype=np.float32)))
        return report

    def build_with_dummy_inputs(self) -> None:
        """Run one tiny forward pass. Optional: every variable already exists after construction.

        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> TFAlbertModel(cfg).build_with_dummy_inputs()
        """
        ids = np.zeros((1, 2, 2) if self.head is Head.MULTIPLE_CHOICE else (1, 2), dtype=np.int32)
        self(ids)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str], config: AlbertConfig | None = None,
                        strict: bool = False) -> "TFAlbertPreTrainedModel":
        """Build the model and load a checkpoint directory or weights file.

        Reads every format :func:`albert_core.checkpoint.read_checkpoint` knows (``model.safetensors`` from
        albert_pt or Hugging Face PyTorch, ``pytorch_model.bin``, ``tf_model.h5``, TF1). ``config`` defaults to the
        one beside the weights. What matched is kept in ``model.load_report``.

        >>> import tempfile
        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=1,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     _ = TFAlbertModel(cfg).save_pretrained(d)
        ...     model = TFAlbertForSequenceClassification.from_pretrained(d)
        >>> model.load_report.missing
        ['classifier.weight', 'classifier.bias']
        """
        contents, config = read_checkpoint_for_model(path, config)
        model = cls(config)  # every variable is created by the constructor: nothing to build
        model.load_report = model.load_canonical_state(contents.state, strict=strict)
        warn_about_partial_load(cls.__name__, contents.path, model.load_report)
        return model

    def save_pretrained(self, directory: str | os.PathLike[str], dtype: str | None = None) -> Path:
        """Write ``config.json`` + ``model.safetensors`` in Hugging Face PyTorch naming and layout.

        ``dtype`` (``"float32"``, ``"float16"``, ``"bfloat16"``) converts the floats; albert_pt, Hugging Face
        PyTorch and :meth:`from_pretrained` load the result.

        >>> import tempfile, os
        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=1,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     sorted(os.listdir(TFAlbertModel(cfg).save_pretrained(d)))
        ['config.json', 'model.safetensors']
        """
        return save_safetensors_checkpoint(directory, self.canonical_state(), self.config, self.head, dtype=dtype)

    # -------------------------------------------------------------- forward

    def call(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
             inputs_embeds=None, labels=None, output_attentions=False, output_hidden_states=False, training=False,
             **extra_labels):
        """Run the model (``model(...)``). The heads with more label arguments override it; each class docstring
        says what its labels and outputs are.

        Args:
            input_ids: int32/int64 ``[batch, seq]`` token ids in ``[0, vocab_size)`` (numpy arrays, lists and
                tensors are accepted); or a dict of these arguments, as Keras ``fit`` passes it. Give exactly one of
                ``input_ids`` and ``inputs_embeds``.
            attention_mask: ``[batch, seq]``, 1 for tokens to attend to and 0 for padding (default all ones).
            token_type_ids: integer ``[batch, seq]`` segment ids (default zeros).
            position_ids: integer ``[batch, seq]`` positions (default ``0 .. seq-1``).
            head_mask: float ``[heads]`` or ``[num_hidden_layers, heads]`` multipliers of the attention
                probabilities.
            inputs_embeds: float ``[batch, seq, embedding_size]`` instead of ``input_ids``.
            labels: the head's labels (see the class docstring; -100 marks ignored positions); adds ``loss``.
            output_attentions: also return the ``num_hidden_layers * inner_group_num`` attention-probability
                tensors ``[batch, heads, seq, seq]``.
            output_hidden_states: also return ``num_hidden_layers + 1`` hidden states ``[batch, seq, hidden]``.
            training: bool; enables dropout.
            extra_labels: the head's other label arguments (``sentence_order_label``, ...).

        Returns:
            The head's output container, with float32 logits:
            :class:`~albert_core.outputs.BaseModelOutput` (:class:`TFAlbertModel`),
            :class:`~albert_core.outputs.MaskedLMOutput` (``logits`` ``[batch, seq, vocab_size]``),
            :class:`~albert_core.outputs.SequenceClassifierOutput` (``logits`` ``[batch, num_labels]``),
            :class:`~albert_core.outputs.MultipleChoiceOutput` (``logits`` ``[batch, num_choices]``) or
            :class:`~albert_core.outputs.TokenClassifierOutput` (``logits`` ``[batch, seq, num_labels]``); ``loss``
            is a float32 scalar when labels are given. ``hidden_states`` / ``attentions`` are tuples when requested.

        Raises:
            ~albert_core.InputError: for inconsistent shapes, float ids, or (when executing eagerly) ids out of range.

        Example:
            >>> import numpy as np
            >>> from albert_core import AlbertConfig
            >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
            ...                    num_attention_heads=2, intermediate_size=16)
            >>> model = TFAlbertForTokenClassification(cfg)
            >>> out = model({"input_ids": np.array([[2, 5, 3]]), "labels": np.array([[-100, 1, -100]])})
            >>> tuple(out.logits.shape), out.loss.shape
            ((1, 3, 2), TensorShape([]))
        """
        kwargs = dict(attention_mask=attention_mask, token_type_ids=token_type_ids, position_ids=position_ids,
                      head_mask=head_mask, inputs_embeds=inputs_embeds, labels=labels, **extra_labels)
        unknown = set(extra_labels) - set(self.label_keys)
        if unknown:
            raise TypeError(f"{type(self).__name__}.call got unexpected arguments {sorted(unknown)}")
        inputs = self._unpack(input_ids, kwargs)
        label_values = {k: inputs.get(k) for k in self.label_keys}
        checked = self._check_inputs(inputs, choices=self.head is Head.MULTIPLE_CHOICE)
        output = self._forward(checked, bool(output_attentions), bool(output_hidden_states), bool(training))
        if any(v is not None for v in label_values.values()):
            output.loss = self._head_loss(output, label_values)
        return output

    def _backbone(self, inputs, output_attentions, output_hidden_states, training):
        return self.albert(
            input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
            token_type_ids=inputs["token_type_ids"], position_ids=inputs["position_ids"],
            head_mask=inputs["head_mask"], inputs_embeds=inputs["inputs_embeds"],
            output_attentions=output_attentions, output_hidden_states=output_hidden_states, training=training,
        )

    def _forward(self, inputs, output_attentions, output_hidden_states, training):  # pragma: no cover
        raise NotImplementedError

    def _head_loss(self, output, labels: dict):  # pragma: no cover - heads override
        raise InputError(f"{type(self).__name__} takes no labels")

    # -------------------------------------------------------------- Keras training

    def _labels_from_y(self, y) -> dict:
        if y is None:
            return {}
        if isinstance(y, Mapping):
            unknown = set(y) - set(self.label_keys)
            if unknown:
                raise InputError(f"unknown label names {sorted(unknown)}; expected some of {list(self.label_keys)}")
            return dict(y)
        if len(self.label_keys) != 1:
            raise InputError(f"{type(self).__name__} needs labels as a dict with keys {list(self.label_keys)}")
        return {self.label_keys[0]: y}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The built-in loss for Keras ``fit``/``evaluate``: labels in the input dict or given as ``y``.

        ``y`` is the labels tensor (heads with one label argument) or a dict of label arguments. Sample weights are
        not supported. Any Keras-compiled loss is ignored: the model's own loss is the loss. Returns a float32
        scalar.

        >>> import numpy as np
        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> model = TFAlbertForSequenceClassification(cfg)
        >>> ids = np.array([[2, 5, 3]])
        >>> loss = model.compute_loss(x={"input_ids": ids}, y=np.array([1]), y_pred=model(ids))
        >>> bool(abs(float(loss) - float(model(ids, labels=np.array([1])).loss)) < 1e-6)
        True
        """
        if sample_weight is not None:
            raise InputError("sample_weight is not supported; mask labels with -100 instead")
        labels = self._labels_from_y(y)
        if not labels:
            if y_pred is None or y_pred.get("loss") is None:
                raise InputError("fit/evaluate need labels, in the input dict or as y")
            return y_pred["loss"]
        full = {k: labels.get(k) for k in self.label_keys}
        return self._head_loss(y_pred, full)

    # -------------------------------------------------------------- SavedModel

    def serving_signature(self) -> list[tf.TensorSpec]:
        """The input signature of the serving function: int32 ``input_ids``, ``attention_mask``, ``token_type_ids``.

        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> [tuple(spec.shape) for spec in TFAlbertForMultipleChoice(cfg).serving_signature()][0]
        (None, None, None)
        """
        shape = [None, None, None] if self.head is Head.MULTIPLE_CHOICE else [None, None]
        return [tf.TensorSpec(shape, tf.int32, name=n) for n in ("input_ids", "attention_mask", "token_type_ids")]

    def export_saved_model(self, path: str | os.PathLike[str]) -> Path:
        """Export a TensorFlow SavedModel with a ``serving_default`` signature.

        The signature takes int32 ``input_ids``, ``attention_mask`` and ``token_type_ids`` (``[batch, seq]``, or
        ``[batch, choices, seq]`` for multiple choice; any batch and sequence length) and returns a dict of the
        output tensors (``logits``, or ``start_logits``/``end_logits``, ``prediction_logits``/``sop_logits``,
        ``last_hidden_state``/``pooler_output``). Reload with ``tf.saved_model.load(path)`` (no albert-lite needed).

        >>> import tempfile, numpy as np, tensorflow as tf
        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=1,
        ...                    num_attention_heads=2, intermediate_size=16, num_labels=3)
        >>> model = TFAlbertForSequenceClassification(cfg)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     _ = model.export_saved_model(d)
        ...     serve = tf.saved_model.load(d).signatures["serving_default"]
        ...     out = serve(input_ids=tf.constant([[2, 5, 3]]), attention_mask=tf.ones([1, 3], tf.int32),
        ...                 token_type_ids=tf.zeros([1, 3], tf.int32))
        >>> out["logits"].shape
        TensorShape([1, 3])
        """
        path = Path(path)
        model = self

        def serve(input_ids, attention_mask, token_type_ids):
            out = model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                        training=False)
            return {k: v for k, v in out.items() if v is not None and k != "loss"}

        archive = keras.export.ExportArchive()
        archive.track(self)
        archive.add_endpoint(name="serving_default", fn=serve, input_signature=self.serving_signature())
        archive.write_out(str(path), verbose=False)
        return path

    @property
    def _default_save_signature(self):
        # Keras would trace a float32 signature from the build shapes; export_saved_model defines the real one
        return None

    def get_config(self):
        """Keras serialisation: ``{"config": AlbertConfig.to_dict()}`` (weights are not included).

        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> TFAlbertModel.from_config(TFAlbertModel(cfg).get_config()).config.hidden_size
        8
        """
        return {"config": self.config.to_dict()}

    @classmethod
    def from_config(cls, config):
        """Rebuild a freshly initialised model (new weights) from :meth:`get_config` output.

        Args:
            config: a dict ``{"config": AlbertConfig.to_dict()}``, as :meth:`get_config` returns it.

        Returns:
            an instance of ``cls`` built from that configuration.

        Example:
            >>> from albert_core import AlbertConfig
            >>> cfg = AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
            ...                    num_attention_heads=2, intermediate_size=16, num_labels=3)
            >>> clone = TFAlbertForSequenceClassification.from_config({"config": cfg.to_dict()})
            >>> type(clone).__name__, clone.config == cfg
            ('TFAlbertForSequenceClassification', True)
        """
        return cls(AlbertConfig.from_dict(config["config"]))


# ---------------------------------------------------------------------------------------------------------------------
# 5. The models

_EXAMPLE_CONFIG = """
        >>> import numpy as np
        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=16, num_labels=3)"""

_CALL_ARGS = """
    Calling the model (``model(...)``; a dict holding these may also be passed as the first argument, as Keras
    ``fit`` does) takes:

    - ``input_ids``: int ``[batch, seq]`` token ids (or ``inputs_embeds`` float ``[batch, seq, embedding_size]``).
    - ``attention_mask``: ``[batch, seq]``, 1 for tokens to attend to, 0 for padding (default all ones).
    - ``token_type_ids``: ``[batch, seq]`` segment ids (default zeros).
    - ``position_ids``: ``[batch, seq]`` (default ``0 .. seq-1``).
    - ``head_mask``: ``[heads]`` or ``[num_hidden_layers, heads]``; row ``l`` multiplies the attention
      probabilities of every block of layer ``l``.
    - ``output_attentions``: also return the attention probabilities of every block run
      (``num_hidden_layers * inner_group_num`` tensors ``[batch, heads, seq, seq]``, in order).
    - ``output_hidden_states``: also return ``num_hidden_layers + 1`` hidden states ``[batch, seq, hidden]``.
    - ``training``: enables dropout.
"""


class TFAlbertModel(TFAlbertPreTrainedModel):
    __doc__ = f"""The bare ALBERT backbone: returns a :class:`~albert_core.outputs.BaseModelOutput`.

    ``last_hidden_state`` ``[batch, seq, hidden]``, ``pooler_output`` ``[batch, hidden]``.
    {_CALL_ARGS}
    Example:{_EXAMPLE_CONFIG}
        >>> out = TFAlbertModel(cfg)(np.array([[2, 7, 9, 3]]))
        >>> tuple(out.last_hidden_state.shape), tuple(out.pooler_output.shape)
        ((1, 4, 8), (1, 8))
    """

    head = Head.BASE
    label_keys = ()

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(config, **kwargs)
        self.albert = AlbertBackbone(config, with_pooler=True, name="albert")
        self.built = True  # every variable exists now; no build step is needed

    def _forward(self, inputs, output_attentions, output_hidden_states, training):
        return self._backbone(inputs, output_attentions, output_hidden_states, training)


@dataclass(eq=False)
class TFAlbertForPreTrainingOutput(PreTrainingOutput):
    """Output of :class:`TFAlbertForPreTraining` (the fields of :class:`~albert_core.outputs.PreTrainingOutput`).

    - ``loss``: float32 scalar, present when ``labels`` and/or ``sentence_order_label`` were given;
    - ``prediction_logits``: float32 ``[batch, seq, vocab_size]`` masked-LM logits;
    - ``sop_logits``: float32 ``[batch, 2]`` sentence-order logits (0: in order, 1: swapped);
    - ``hidden_states`` / ``attentions``: as in :class:`~albert_core.outputs.BaseModelOutput`, when requested.

    It is a mapping of its set fields, so ``tf.nest`` (and ``tf.function``) can flatten and rebuild it:

    >>> import tensorflow as tf
    >>> out = TFAlbertForPreTrainingOutput(prediction_logits=tf.zeros([1, 4, 20]), sop_logits=tf.zeros([1, 2]))
    >>> list(out.keys()), out.loss is None, out[1] is out.sop_logits
    (['prediction_logits', 'sop_logits'], True, True)
    >>> type(tf.nest.map_structure(lambda t: t + 1, out)).__name__
    'TFAlbertForPreTrainingOutput'
    """


class TFAlbertForPreTraining(TFAlbertPreTrainedModel):
    __doc__ = f"""ALBERT with the masked-LM and sentence-order-prediction heads.

    Returns :class:`TFAlbertForPreTrainingOutput`: ``prediction_logits`` ``[batch, seq, vocab]``, ``sop_logits``
    ``[batch, 2]``; ``loss`` is the masked-LM cross-entropy (``labels`` ``[batch, seq]``, -100 ignored) plus the
    sentence-order cross-entropy (``sentence_order_label`` ``[batch]``), each term present when its labels are given.
    {_CALL_ARGS}
    Example:{_EXAMPLE_CONFIG}
        >>> out = TFAlbertForPreTraining(cfg)(np.array([[2, 7, 9, 3]]), labels=np.array([[-100, 7, -100, -100]]),
        ...                                   sentence_order_label=np.array([1]))
        >>> tuple(out.prediction_logits.shape), tuple(out.sop_logits.shape), out.loss.shape
        ((1, 4, 30), (1, 2), TensorShape([]))
    """

    head = Head.PRETRAINING
    label_keys = ("labels", "sentence_order_label")

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(config, **kwargs)
        self.albert = AlbertBackbone(config, with_pooler=True, name="albert")
        self.predictions = AlbertMLMHead(config, self.albert.embeddings.word_embeddings, name="predictions")
        self.sop_classifier = Dense(config.hidden_size, 2, config, name="sop_classifier")
        self.built = True  # every variable exists now; no build step is needed

    def call(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
             inputs_embeds=None, labels=None, sentence_order_label=None, output_attentions=False,
             output_hidden_states=False, training=False):
        """Masked-LM and sentence-order logits (``model(...)``).

        Args:
            input_ids: int32/int64 ``[batch, seq]`` token ids in ``[0, vocab_size)`` (numpy arrays, lists and
                tensors are accepted); or a dict of these arguments, as Keras ``fit`` passes it. Give exactly one of
                ``input_ids`` and ``inputs_embeds``.
            attention_mask: ``[batch, seq]``, 1 for tokens to attend to and 0 for padding (default all ones).
            token_type_ids: integer ``[batch, seq]`` segment ids (default zeros).
            position_ids: integer ``[batch, seq]`` positions (default ``0 .. seq-1``).
            head_mask: float ``[heads]`` or ``[num_hidden_layers, heads]`` multipliers of the attention
                probabilities.
            inputs_embeds: float ``[batch, seq, embedding_size]`` instead of ``input_ids``.
            labels: integer ``[batch, seq]`` masked-LM target ids, -100 where no loss is taken.
            sentence_order_label: integer ``[batch]``, 0 for segments in their original order, 1 for swapped.
            output_attentions: also return the ``num_hidden_layers * inner_group_num`` attention-probability
                tensors ``[batch, heads, seq, seq]``.
            output_hidden_states: also return ``num_hidden_layers + 1`` hidden states ``[batch, seq, hidden]``.
            training: bool; enables dropout.

        Returns:
            :class:`TFAlbertForPreTrainingOutput` with ``prediction_logits`` ``[batch, seq, vocab_size]`` and
            ``sop_logits`` ``[batch, 2]`` (float32). ``loss`` (float32 scalar) is the masked-LM cross-entropy plus
            the sentence-order cross-entropy, or the one part whose labels were given, or ``None`` without labels.

        Example:
            >>> import keras, numpy as np, tensorflow as tf
            >>> from albert_core import AlbertConfig
            >>> cfg = AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
            ...                    num_attention_heads=2, intermediate_size=16)
            >>> keras.utils.set_random_seed(0)
            >>> model = TFAlbertForPreTraining(cfg)
            >>> order = np.array([0, 1])
            >>> out = model(np.array([[2, 5, 7, 3], [2, 7, 5, 3]]), sentence_order_label=order)
            >>> tuple(out.prediction_logits.shape), tuple(out.sop_logits.shape), out.sop_logits.dtype.name
            ((2, 4, 20), (2, 2), 'float32')
            >>> sop = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(order, out.sop_logits))
            >>> bool(np.isclose(out.loss, sop))  # only the sentence-order part: no masked-LM labels given
            True
        """
        return super().call(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                            position_ids=position_ids, head_mask=head_mask, inputs_embeds=inputs_embeds,
                            labels=labels, sentence_order_label=sentence_order_label,
                            output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                            training=training)

    def _canonical_variables(self):
        out = self.albert.canonical_variables("albert")
        out.update(self.predictions.canonical_variables("predictions"))
        out.update(self.sop_classifier.canonical_variables("sop_classifier.classifier"))
        return out

    def _forward(self, inputs, output_attentions, output_hidden_states, training):
        base = self._backbone(inputs, output_attentions, output_hidden_states, training)
        # no dropout before the sentence-order classifier, as in the original get_sentence_order_output
        return TFAlbertForPreTrainingOutput(
            prediction_logits=self.predictions(base.last_hidden_state),
            sop_logits=tf.cast(self.sop_classifier(base.pooler_output), tf.float32),
            hidden_states=base.hidden_states, attentions=base.attentions,
        )

    def _head_loss(self, output, labels):
        loss = None
        if labels.get("labels") is not None:
            check_labels_shape("labels", _static_shape(labels["labels"]), output.prediction_logits.shape[:-1])
            loss = masked_cross_entropy(output.prediction_logits, labels["labels"])
        if labels.get("sentence_order_label") is not None:
            check_labels_shape("sentence_order_label", _static_shape(labels["sentence_order_label"]),
                               output.sop_logits.shape[:1])
            sop = masked_cross_entropy(output.sop_logits, labels["sentence_order_label"])
            loss = sop if loss is None else loss + sop
        return loss


class TFAlbertForMaskedLM(TFAlbertPreTrainedModel):
    __doc__ = f"""ALBERT with the masked-LM head (decoder tied to the word embeddings); no pooler.

    Returns :class:`~albert_core.outputs.MaskedLMOutput`: ``logits`` ``[batch, seq, vocab]``; ``loss`` the mean
    cross-entropy over positions whose ``labels`` (``[batch, seq]``) are not -100.
    {_CALL_ARGS}
    Example:{_EXAMPLE_CONFIG}
        >>> out = TFAlbertForMaskedLM(cfg)(np.array([[2, 7, 9, 3]]), labels=np.array([[-100, 7, -100, -100]]))
        >>> tuple(out.logits.shape)
        (1, 4, 30)
    """

    head = Head.MASKED_LM

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(config, **kwargs)
        self.albert = AlbertBackbone(config, with_pooler=False, name="albert")
        self.predictions = AlbertMLMHead(config, self.albert.embeddings.word_embeddings, name="predictions")
        self.built = True  # every variable exists now; no build step is needed

    def _canonical_variables(self):
        out = self.albert.canonical_variables("albert")
        out.update(self.predictions.canonical_variables("predictions"))
        return out

    def _forward(self, inputs, output_attentions, output_hidden_states, training):
        base = self._backbone(inputs, output_attentions, output_hidden_states, training)
        return MaskedLMOutput(logits=self.predictions(base.last_hidden_state), hidden_states=base.hidden_states,
                              attentions=base.attentions)

    def _head_loss(self, output, labels):
        check_labels_shape("labels", _static_shape(labels["labels"]), output.logits.shape[:-1])
        return masked_cross_entropy(output.logits, labels["labels"])


class TFAlbertForSequenceClassification(TFAlbertPreTrainedModel):
    __doc__ = f"""ALBERT with dropout + a linear classifier on the pooled output.

    Returns :class:`~albert_core.outputs.SequenceClassifierOutput`: ``logits`` ``[batch, num_labels]``. The loss
    follows ``config.infer_problem_type``: regression (MSE; one label: ``labels`` ``[batch]``), single-label
    (integer ``labels`` ``[batch]``, cross-entropy, -100 ignored) or multi-label (float multi-hot ``labels``
    ``[batch, num_labels]``, mean binary cross-entropy).
    {_CALL_ARGS}
    Example:{_EXAMPLE_CONFIG}
        >>> out = TFAlbertForSequenceClassification(cfg)(np.array([[2, 7, 9, 3]]), labels=np.array([2]))
        >>> tuple(out.logits.shape), out.loss.shape
        ((1, 3), TensorShape([]))
    """

    head = Head.SEQUENCE_CLASSIFICATION

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(config, **kwargs)
        self.albert = AlbertBackbone(config, with_pooler=True, name="albert")
        self.dropout = _dropout(config.effective_classifier_dropout)
        self.classifier = Dense(config.hidden_size, config.num_labels, config, name="classifier")
        self.built = True  # every variable exists now; no build step is needed

    def _canonical_variables(self):
        out = self.albert.canonical_variables("albert")
        out.update(self.classifier.canonical_variables("classifier"))
        return out

    def _forward(self, inputs, output_attentions, output_hidden_states, training):
        base = self._backbone(inputs, output_attentions, output_hidden_states, training)
        logits = self.classifier(_apply_dropout(self.dropout, base.pooler_output, training))
        return SequenceClassifierOutput(logits=tf.cast(logits, tf.float32), hidden_states=base.hidden_states,
                                        attentions=base.attentions)

    def _head_loss(self, output, labels):
        y = _to_tensor(labels["labels"])
        logits = output.logits
        problem = self.config.infer_problem_type(not y.dtype.is_floating)
        batch = logits.shape[0]
        if problem == "regression":
            y = tf.cast(y, tf.float32)
            if self.config.num_labels == 1:
                check_labels_shape("labels", _static_shape(y), [batch, 1] if y.shape.rank == 2 else [batch])
                return tf.reduce_mean(tf.square(tf.reshape(logits, [-1]) - tf.reshape(y, [-1])))
            check_labels_shape("labels", _static_shape(y), [batch, self.config.num_labels])
            return tf.reduce_mean(tf.square(logits - y))
        if problem == "single_label_classification":
            check_labels_shape("labels", _static_shape(y), [batch])
            return masked_cross_entropy(logits, y)
        check_labels_shape("labels", _static_shape(y), [batch, self.config.num_labels])
        y = tf.cast(y, tf.float32)
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))


class TFAlbertForMultipleChoice(TFAlbertPreTrainedModel):
    __doc__ = f"""ALBERT scoring each of ``num_choices`` candidate sequences with a one-output classifier.

    Inputs are ``[batch, num_choices, seq]`` (``inputs_embeds`` ``[batch, num_choices, seq, E]``); they run through
    the backbone as ``[batch * num_choices, seq]``. Returns :class:`~albert_core.outputs.MultipleChoiceOutput`:
    ``logits`` ``[batch, num_choices]``; ``loss`` the cross-entropy against ``labels`` ``[batch]``. Hidden states
    and attentions are those of the flattened batch.
    {_CALL_ARGS}
    Example:{_EXAMPLE_CONFIG}
        >>> out = TFAlbertForMultipleChoice(cfg)(np.array([[[2, 7, 3], [2, 8, 3]]]), labels=np.array([1]))
        >>> tuple(out.logits.shape)
        (1, 2)
    """

    head = Head.MULTIPLE_CHOICE

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(config, **kwargs)
        self.albert = AlbertBackbone(config, with_pooler=True, name="albert")
        self.dropout = _dropout(config.effective_classifier_dropout)
        self.classifier = Dense(config.hidden_size, 1, config, name="classifier")
        self.built = True  # every variable exists now; no build step is needed

    def _canonical_variables(self):
        out = self.albert.canonical_variables("albert")
        out.update(self.classifier.canonical_variables("classifier"))
        return out

    def _forward(self, inputs, output_attentions, output_hidden_states, training):
        main = inputs["input_ids"] if inputs["input_ids"] is not None else inputs["inputs_embeds"]
        num_choices = tf.shape(main)[1]
        flat = dict(inputs)
        for key in ("input_ids", "attention_mask", "token_type_ids", "position_ids"):
            if flat[key] is not None:
                flat[key] = tf.reshape(flat[key], [-1, tf.shape(flat[key])[-1]])
        if flat["inputs_embeds"] is not None:
            e = flat["inputs_embeds"]
            flat["inputs_embeds"] = tf.reshape(e, [-1, tf.shape(e)[2], tf.shape(e)[3]])
        base = self._backbone(flat, output_attentions, output_hidden_states, training)
        logits = self.classifier(_apply_dropout(self.dropout, base.pooler_output, training))
        logits = tf.reshape(tf.cast(logits, tf.float32), [-1, num_choices])
        return MultipleChoiceOutput(logits=logits, hidden_states=base.hidden_states, attentions=base.attentions)

    def _head_loss(self, output, labels):
        check_labels_shape("labels", _static_shape(labels["labels"]), output.logits.shape[:1])
        return masked_cross_entropy(output.logits, labels["labels"])


class TFAlbertForTokenClassification(TFAlbertPreTrainedModel):
    __doc__ = f"""ALBERT with dropout + a linear classifier on every token; no pooler.

    Returns :class:`~albert_core.outputs.TokenClassifierOutput`: ``logits`` ``[batch, seq, num_labels]``; ``loss``
    the mean cross-entropy over tokens whose ``labels`` (``[batch, seq]``) are not -100.
    {_CALL_ARGS}
    Example:{_EXAMPLE_CONFIG}
        >>> out = TFAlbertForTokenClassification(cfg)(np.array([[2, 7, 9, 3]]), labels=np.array([[-100, 1, 2, -100]]))
        >>> tuple(out.logits.shape)
        (1, 4, 3)
    """

    head = Head.TOKEN_CLASSIFICATION

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(config, **kwargs)
        self.albert = AlbertBackbone(config, with_pooler=False, name="albert")
        self.dropout = _dropout(config.effective_classifier_dropout)
        self.classifier = Dense(config.hidden_size, config.num_labels, config, name="classifier")
        self.built = True  # every variable exists now; no build step is needed

    def _canonical_variables(self):
        out = self.albert.canonical_variables("albert")
        out.update(self.classifier.canonical_variables("classifier"))
        return out

    def _forward(self, inputs, output_attentions, output_hidden_states, training):
        base = self._backbone(inputs, output_attentions, output_hidden_states, training)
        logits = self.classifier(_apply_dropout(self.dropout, base.last_hidden_state, training))
        return TokenClassifierOutput(logits=tf.cast(logits, tf.float32), hidden_states=base.hidden_states,
                                     attentions=base.attentions)

    def _head_loss(self, output, labels):
        check_labels_shape("labels", _static_shape(labels["labels"]), output.logits.shape[:-1])
        return masked_cross_entropy(output.logits, labels["labels"])


class TFAlbertForQuestionAnswering(TFAlbertPreTrainedModel):
    __doc__ = f"""ALBERT with a two-output linear layer giving start and end logits per token; no pooler.

    Returns :class:`~albert_core.outputs.QuestionAnsweringOutput`: ``start_logits`` and ``end_logits``
    ``[batch, seq]``. With ``start_positions`` and ``end_positions`` (``[batch]``) the loss is the mean of the start
    and end cross-entropies; positions are clamped to ``[0, seq]`` and those equal to ``seq`` are ignored.
    {_CALL_ARGS}
    Example:{_EXAMPLE_CONFIG}
        >>> out = TFAlbertForQuestionAnswering(cfg)(np.array([[2, 7, 9, 3]]), start_positions=np.array([1]),
        ...                                         end_positions=np.array([2]))
        >>> tuple(out.start_logits.shape), out.loss.shape
        ((1, 4), TensorShape([]))
    """

    head = Head.QUESTION_ANSWERING
    label_keys = ("start_positions", "end_positions")

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(config, **kwargs)
        self.albert = AlbertBackbone(config, with_pooler=False, name="albert")
        self.qa_outputs = Dense(config.hidden_size, 2, config, name="qa_outputs")
        self.built = True  # every variable exists now; no build step is needed

    def _canonical_variables(self):
        out = self.albert.canonical_variables("albert")
        out.update(self.qa_outputs.canonical_variables("qa_outputs"))
        return out

    def call(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
             inputs_embeds=None, start_positions=None, end_positions=None, output_attentions=False,
             output_hidden_states=False, training=False):
        """Span start and end logits for every token (``model(...)``).

        Args:
            input_ids: int32/int64 ``[batch, seq]`` token ids in ``[0, vocab_size)`` (numpy arrays, lists and
                tensors are accepted); or a dict of these arguments, as Keras ``fit`` passes it. Give exactly one of
                ``input_ids`` and ``inputs_embeds``.
            attention_mask: ``[batch, seq]``, 1 for tokens to attend to and 0 for padding (default all ones).
            token_type_ids: integer ``[batch, seq]`` segment ids (default zeros).
            position_ids: integer ``[batch, seq]`` positions (default ``0 .. seq-1``).
            head_mask: float ``[heads]`` or ``[num_hidden_layers, heads]`` multipliers of the attention
                probabilities.
            inputs_embeds: float ``[batch, seq, embedding_size]`` instead of ``input_ids``.
            start_positions, end_positions: integer ``[batch]`` (or ``[batch, 1]``) token indices of the answer
                span; give both for a loss. Positions are clamped to ``[0, seq]`` and those equal to ``seq`` (outside
                the sequence) are ignored. ``labels`` is not an argument of this head.
            output_attentions: also return the ``num_hidden_layers * inner_group_num`` attention-probability
                tensors ``[batch, heads, seq, seq]``.
            output_hidden_states: also return ``num_hidden_layers + 1`` hidden states ``[batch, seq, hidden]``.
            training: bool; enables dropout.

        Returns:
            :class:`~albert_core.outputs.QuestionAnsweringOutput` with float32 ``start_logits`` and ``end_logits``,
            each ``[batch, seq]``; with both position tensors, ``loss``: the float32 mean of the start and end
            cross-entropies.

        Raises:
            ~albert_core.InputError: when only one of ``start_positions`` and ``end_positions`` is given.

        Example:
            >>> import keras, numpy as np, tensorflow as tf
            >>> from albert_core import AlbertConfig
            >>> cfg = AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
            ...                    num_attention_heads=2, intermediate_size=16)
            >>> keras.utils.set_random_seed(0)
            >>> model = TFAlbertForQuestionAnswering(cfg)
            >>> ids = np.array([[2, 5, 7, 3]])
            >>> out = model(ids, start_positions=np.array([1]), end_positions=np.array([2]))
            >>> tuple(out.start_logits.shape), tuple(out.end_logits.shape), out.loss.shape
            ((1, 4), (1, 4), TensorShape([]))
            >>> float(model(ids, start_positions=np.array([9]), end_positions=np.array([9])).loss)  # outside: ignored
            0.0
        """
        return super().call(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                            position_ids=position_ids, head_mask=head_mask, inputs_embeds=inputs_embeds,
                            output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                            training=training, start_positions=start_positions, end_positions=end_positions)

    def _unpack(self, input_ids, kwargs):
        kwargs.pop("labels", None)
        return super()._unpack(input_ids, kwargs)

    def _forward(self, inputs, output_attentions, output_hidden_states, training):
        base = self._backbone(inputs, output_attentions, output_hidden_states, training)
        logits = tf.cast(self.qa_outputs(base.last_hidden_state), tf.float32)
        start, end = tf.unstack(logits, num=2, axis=-1)
        return QuestionAnsweringOutput(start_logits=start, end_logits=end, hidden_states=base.hidden_states,
                                       attentions=base.attentions)

    def _head_loss(self, output, labels):
        if labels.get("start_positions") is None or labels.get("end_positions") is None:
            raise InputError("pass both start_positions and end_positions for the loss")
        seq = tf.shape(output.start_logits)[1]
        losses = []
        for key, logits in (("start_positions", output.start_logits), ("end_positions", output.end_logits)):
            positions = _to_tensor(labels[key])
            batch = logits.shape[0]
            check_labels_shape(key, _static_shape(positions), [batch, 1] if positions.shape.rank == 2 else [batch])
            positions = tf.reshape(tf.cast(positions, tf.int32), [-1])
            positions = tf.clip_by_value(positions, 0, seq)
            losses.append(masked_cross_entropy(logits, positions, ignore_index=seq))
        return (losses[0] + losses[1]) / 2.0


#: Model class for every head.
MODEL_CLASSES: dict[Head, type] = {
    Head.BASE: TFAlbertModel,
    Head.PRETRAINING: TFAlbertForPreTraining,
    Head.MASKED_LM: TFAlbertForMaskedLM,
    Head.SEQUENCE_CLASSIFICATION: TFAlbertForSequenceClassification,
    Head.MULTIPLE_CHOICE: TFAlbertForMultipleChoice,
    Head.TOKEN_CLASSIFICATION: TFAlbertForTokenClassification,
    Head.QUESTION_ANSWERING: TFAlbertForQuestionAnswering,
}

__all__ = [
    "MODEL_CLASSES",
    "TFAlbertForMaskedLM",
    "TFAlbertForMultipleChoice",
    "TFAlbertForPreTraining",
    "TFAlbertForPreTrainingOutput",
    "TFAlbertForQuestionAnswering",
    "TFAlbertForSequenceClassification",
    "TFAlbertForTokenClassification",
    "TFAlbertModel",
    "TFAlbertPreTrainedModel",
    "get_activation",
    "masked_cross_entropy",
]
