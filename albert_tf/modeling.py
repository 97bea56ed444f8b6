"""ALBERT in TensorFlow / Keras 3; read it side by side with :mod:`albert_pt.modeling` (same classes, same order):

1. activations (:data:`ACTIVATION_FNS`, :func:`get_activation`);
2. :class:`TFAlbertOps`, the tf primitives that :mod:`albert_core.losses` computes every loss with;
3. backbone modules: embeddings, attention, one block, a parameter group, the shared encoder;
4. :class:`TFAlbertPreTrainedModel`: building a head, the one loss call, transformers' embedding accessors and
   checkpoint I/O; the Keras idioms (dict inputs, ``fit``/``evaluate``, ``predict``, compiled metrics, serving
   signature, ``export``, ``get_config``) are the mixins of :mod:`albert_tf.keras_idioms` it inherits, and the
   ``.keras`` registration is on each model class; the output classes are registered with ``keras.tree``
   (:func:`register_output_with_keras`) so Keras sees them as nested structures;
5. :class:`TFAlbertModel`, the backbone (input checks, the padding-mask bias, head mask, the pooler);
6. the task heads and :data:`MODEL_CLASSES`.

The Keras counterparts of ``nn.Linear``, ``nn.LayerNorm`` and ``nn.Embedding`` are in :mod:`albert_tf.layers`.
Variables exist from construction and stay float32 under mixed precision (products run in the compute dtype;
LayerNorm, softmax, logits and losses are float32). Id values are range-checked when executing eagerly. Label values
are checked eagerly and, inside ``tf.function``, by a run-time assertion that ``fit``/``evaluate`` report as
:class:`~albert_core.InputError`; under XLA, which compiles assertions to nothing, ``fit``/``evaluate`` check the
labels before the compiled step instead.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping

import numpy as np
import tensorflow as tf

from albert_core.checkpoints import save_safetensors_checkpoint
from albert_core.config import ACTIVATION_FUNCTIONS, AlbertConfig
from albert_core.errors import InputError
from albert_core.heads import HEADS, part_outputs
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
from albert_core.weights import (
    BACKBONE_PREFIX,
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

from .keras_idioms import _CHECK_END, _CHECK_START, KerasExportMixin, KerasTrainingMixin  # noqa: E402
from .layers import Block, Dense, EmbeddingTable, LayerNorm, apply_dropout, dropout_layer  # noqa: E402

if keras.backend.backend() != "tensorflow":
    raise ImportError(
        f"albert_tf needs Keras 3 with the TensorFlow backend, but KERAS_BACKEND is {keras.backend.backend()!r}; "
        "set KERAS_BACKEND=tensorflow (or leave it unset) before importing keras"
    )


def register_output_with_keras(cls: type[ModelOutput]) -> type[ModelOutput]:
    """Make ``keras.tree`` see an output class as a nested structure of its set fields (and return the class).

    Keras 3 flattens model outputs with ``optree`` in its own namespace, where a dict subclass is a leaf unless
    registered. Registered, an output behaves as the nested structure Keras expects: ``predict`` fills the output
    class with numpy arrays, a symbolic call (``keras.Input``) gives the output class holding ``KerasTensor``
    objects, and compiled metrics see its tensors. Every output class of ``albert_core.outputs`` is registered
    when :mod:`albert_tf` is imported; call this for an output class of your own.

    >>> import keras, numpy as np
    >>> from albert_core.outputs import SequenceClassifierOutput
    >>> out = SequenceClassifierOutput(logits=np.zeros((1, 2)))
    >>> keras.tree.is_nested(out), type(keras.tree.map_structure(lambda t: t + 1, out)).__name__
    (True, 'SequenceClassifierOutput')
    """
    try:
        import optree
    except ImportError:  # pragma: no cover - Keras then uses dm-tree, which already treats a Mapping as nested
        return cls

    def flatten(out):
        keys = tuple(out.keys())
        return [out[k] for k in keys], keys, keys

    def unflatten(keys, children):
        return cls(**dict(zip(keys, children)))

    try:
        optree.register_pytree_node(cls, flatten, unflatten, namespace="keras")
    except ValueError:  # already registered (a module reload)
        pass
    return cls


def _output_classes(base: type = ModelOutput) -> list[type]:
    found = []
    for sub in base.__subclasses__():
        found.append(sub)
        found.extend(_output_classes(sub))
    return found


for _output_class in _output_classes():
    register_output_with_keras(_output_class)

# ---------------------------------------------------------------------------------------------------------------------
# 1. Activations

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)

#: The activation functions, keyed by the function names of :data:`albert_core.config.ACTIVATION_FUNCTIONS`.
ACTIVATION_FNS: dict[str, Callable[[tf.Tensor], tf.Tensor]] = {
    "gelu": lambda x: 0.5 * x * (1.0 + tf.math.erf(x / math.sqrt(2.0))),
    "gelu_tanh": lambda x: 0.5 * x * (1.0 + tf.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * tf.pow(x, 3)))),
    "quick_gelu": lambda x: x * tf.sigmoid(1.702 * x),
    "relu": tf.nn.relu,
    "relu6": tf.nn.relu6,
    "silu": lambda x: x * tf.sigmoid(x),
    "mish": lambda x: x * tf.tanh(tf.math.softplus(x)),
    "tanh": tf.tanh,
    "sigmoid": tf.sigmoid,
    "linear": lambda x: x,
}


def get_activation(name: str) -> Callable[[tf.Tensor], tf.Tensor]:
    """The activation called ``name`` (one of :data:`albert_core.ACTIVATIONS`, e.g. ``"gelu_new"``).

    >>> import tensorflow as tf
    >>> float(get_activation("relu")(tf.constant(-1.0)))
    0.0
    """
    if name not in ACTIVATION_FUNCTIONS:
        raise InputError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATION_FUNCTIONS)}")
    return ACTIVATION_FNS[ACTIVATION_FUNCTIONS[name]]


# ---------------------------------------------------------------------------------------------------------------------
# 2. The tf primitives of albert_core.losses

# guard_range wraps its message in keras_idioms' markers, where the Keras entry points find it in the
# tf.errors.InvalidArgumentError of a failed check and raise InputError instead.


class TFAlbertOps(TensorOps):
    """:class:`~albert_core.losses.TensorOps` on TensorFlow tensors; every loss comes out float32.

    >>> import numpy as np, tensorflow as tf
    >>> from albert_core import AlbertConfig
    >>> from albert_core.losses import head_loss
    >>> cfg = AlbertConfig(vocab_size=10, embedding_size=4, hidden_size=8, num_hidden_layers=1,
    ...                    num_attention_heads=2, intermediate_size=8, num_labels=3)
    >>> loss = head_loss("sequence_classification", cfg, {"logits": tf.zeros([2, 3])},
    ...                  {"labels": tf.constant([0, 2])}, TFAlbertOps())
    >>> round(float(loss), 4), loss.dtype.name  # log(3)
    (1.0986, 'float32')
    """

    def shape(self, x):
        return tuple(x.shape.as_list())

    def dim(self, x, axis):
        static = x.shape[axis]
        return static if static is not None else tf.shape(x)[axis]

    def is_integer(self, x):
        return tf.as_dtype(x.dtype).is_integer

    def reshape(self, x, shape):
        return tf.reshape(x, shape)

    def clip(self, x, low, high):
        return tf.clip_by_value(x, tf.cast(low, x.dtype), tf.cast(high, x.dtype))

    def cross_entropy_sum(self, logits, labels, ignore_index):
        logits = tf.cast(logits, tf.float32)
        labels = tf.cast(labels, tf.int32)
        keep = tf.not_equal(labels, tf.cast(ignore_index, tf.int32))
        safe = tf.where(keep, labels, tf.zeros_like(labels))  # any valid class; the term is masked out below
        per_label = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=safe, logits=logits)
        keep = tf.cast(keep, tf.float32)
        return tf.reduce_sum(per_label * keep), tf.reduce_sum(keep)

    def divide_or_zero(self, total, count):
        return tf.math.divide_no_nan(total, count)

    def mse(self, predictions, targets):
        return tf.reduce_mean(tf.square(tf.cast(predictions, tf.float32) - tf.cast(targets, tf.float32)))

    def binary_cross_entropy(self, logits, targets):
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.cast(targets, tf.float32),
                                                                      logits=tf.cast(logits, tf.float32)))

    def value_range(self, x, ignore_index):
        if not tf.executing_eagerly():
            return None
        values = tf.boolean_mask(x, tf.not_equal(x, tf.cast(ignore_index, x.dtype)))
        if int(tf.size(values)) == 0:
            return None
        return int(tf.reduce_min(values)), int(tf.reduce_max(values))

    def guard_range(self, x, high, ignore_index, message):
        if tf.executing_eagerly():  # value_range saw the values: nothing is left to check
            return x
        ignored = tf.equal(x, tf.cast(ignore_index, x.dtype))
        inside = tf.logical_and(x >= 0, x < tf.cast(high, x.dtype))
        check = tf.debugging.Assert(tf.reduce_all(tf.logical_or(ignored, inside)),
                                    [f"{_CHECK_START}{message}{_CHECK_END}"])
        with tf.control_dependencies([check]):
            return tf.identity(x)

    def labelled_rows(self, x, labels, ignore_index):
        return tf.expand_dims(tf.boolean_mask(x, tf.not_equal(labels, tf.cast(ignore_index, labels.dtype))), 0)


# ---------------------------------------------------------------------------------------------------------------------
# 3. Backbone modules


class AlbertEmbeddings(Block):
    """Word + position (absolute only) + token-type embeddings (width E), LayerNorm and dropout.

    Absent ``token_type_ids`` mean all zeros and absent ``position_ids`` mean ``0 .. S-1``. The E -> H projection
    lives in the encoder, where the canonical names put it. Returns ``[B, S, E]`` in the compute dtype.

    >>> import tensorflow as tf
    >>> from albert_core import AlbertConfig
    >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
    ...                    num_attention_heads=2, intermediate_size=16)
    >>> AlbertEmbeddings(cfg)(tf.constant([[2, 5, 3]]), None, None, None).shape
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
        self.dropout = dropout_layer(config.hidden_dropout_prob)
        # with relative position types the absolute table exists (checkpoints keep their shapes) but is not added
        self.absolute = config.position_embedding_type == "absolute"
        self.finish_init()

    def call(self, input_ids, token_type_ids, position_ids, inputs_embeds, training=False):
        x = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds
        x = tf.cast(x, tf.float32)
        if token_type_ids is None:
            x = x + self.token_type_embeddings.embeddings[0]  # all-zero token types
        else:
            x = x + self.token_type_embeddings(token_type_ids)
        if self.absolute:
            if position_ids is None:
                x = x + self.position_embeddings.embeddings[: tf.shape(x)[1]]
            else:
                x = x + self.position_embeddings(position_ids)
        x = tf.cast(self.LayerNorm(x), self.compute_dtype)
        return apply_dropout(self.dropout, x, training)

    def canonical_variables(self, prefix):
        out = {}
        for name in ("word_embeddings", "position_embeddings", "token_type_embeddings", "LayerNorm"):
            out.update(getattr(self, name).canonical_variables(f"{prefix}.{name}"))
        return out


class AlbertAttention(Block):
    """Multi-head self-attention, output projection, dropout and the residual LayerNorm of one block.

    Call: ``x [B, S, H]``, ``mask_bias`` float32 ``[B, 1, 1, S]`` (0 or very negative; ``None`` masks nothing),
    ``head_mask`` ``[1, heads, 1, 1]`` or ``None``. Returns ``(output [B, S, H], probabilities [B, heads, S, S])``,
    the probabilities in float32.

    >>> import tensorflow as tf
    >>> from albert_core import AlbertConfig
    >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
    ...                    num_attention_heads=2, intermediate_size=16)
    >>> out, probs = AlbertAttention(cfg)(tf.ones([1, 3, 8]), tf.zeros([1, 1, 1, 3]))
    >>> out.shape, probs.shape
    (TensorShape([1, 3, 8]), TensorShape([1, 2, 3, 3]))
    """

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(**kwargs)
        h = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.head_size = config.head_size
        self.query = Dense(h, h, config, name="query")
        self.key = Dense(h, h, config, name="key")
        self.value = Dense(h, h, config, name="value")
        self.dense = Dense(h, h, config, name="dense")
        self.LayerNorm = LayerNorm(h, config.layer_norm_eps, name="LayerNorm")
        self.attention_dropout = dropout_layer(config.attention_probs_dropout_prob)
        self.output_dropout = dropout_layer(config.hidden_dropout_prob)
        self.position_embedding_type = config.position_embedding_type
        self.max_position_embeddings = config.max_position_embeddings
        if self.position_embedding_type != "absolute":
            self.distance_embedding = EmbeddingTable(2 * config.max_position_embeddings - 1, self.head_size, config,
                                                     name="distance_embedding")
        self.finish_init()

    def _split(self, x, batch, seq):  # [B, S, H] -> [B, heads, S, head_size]
        x = tf.reshape(x, [batch, seq, self.num_heads, self.head_size])
        return tf.transpose(x, [0, 2, 1, 3])

    def call(self, x, mask_bias, head_mask=None, training=False, first_only=False):
        """``first_only``: attend from every position but return only the first one's output, ``[B, 1, H]``."""
        shape = tf.shape(x)
        batch, seq = shape[0], shape[1]
        q = self._split(self.query(x), batch, seq)
        k = self._split(self.key(x), batch, seq)
        v = self._split(self.value(x), batch, seq)
        scores = tf.cast(tf.matmul(q, k, transpose_b=True), tf.float32) / math.sqrt(self.head_size)
        if mask_bias is not None:
            scores = scores + mask_bias
        if self.position_embedding_type != "absolute":
            # distance l - r, shifted into [0, 2 * max_positions - 1); added unscaled, after the mask
            positions = tf.range(seq)
            distance = tf.expand_dims(positions, 1) - tf.expand_dims(positions, 0) + self.max_position_embeddings - 1
            table = tf.cast(self.distance_embedding(distance), q.dtype)  # [S, S, head_size]
            relative = tf.einsum("bhld,lrd->bhlr", q, table)
            if self.position_embedding_type == "relative_key_query":
                relative = relative + tf.einsum("bhrd,lrd->bhlr", k, table)
            scores = scores + tf.cast(relative, tf.float32)
        probs = apply_dropout(self.attention_dropout, tf.nn.softmax(scores, axis=-1), training)
        if head_mask is not None:
            probs = probs * head_mask
        context = tf.matmul(tf.cast(probs, v.dtype), v)
        context = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [batch, seq, self.num_heads * self.head_size])
        if first_only:
            x, context = x[:, :1], context[:, :1]
        out = self.LayerNorm(x + apply_dropout(self.output_dropout, self.dense(context), training))
        return out, probs

    def canonical_variables(self, prefix):
        out = {}
        for name in ("query", "key", "value", "dense", "LayerNorm"):
            out.update(getattr(self, name).canonical_variables(f"{prefix}.{name}"))
        if self.position_embedding_type != "absolute":
            out.update(self.distance_embedding.canonical_variables(f"{prefix}.distance_embedding"))
        return out


class AlbertLayer(Block):
    """One post-LN transformer block: the attention sub-block, then feed-forward, dropout and LayerNorm.

    Call arguments and results as :class:`AlbertAttention`.
    """

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(**kwargs)
        self.attention = AlbertAttention(config, name="attention")
        self.ffn = Dense(config.hidden_size, config.intermediate_size, config, name="ffn")
        self.ffn_output = Dense(config.intermediate_size, config.hidden_size, config, name="ffn_output")
        self.full_layer_layer_norm = LayerNorm(config.hidden_size, config.layer_norm_eps,
                                               name="full_layer_layer_norm")
        self.activation = get_activation(config.hidden_act)
        self.dropout = dropout_layer(config.hidden_dropout_prob)  # on the FFN output, as in the original
        self.finish_init()

    def call(self, x, mask_bias, head_mask=None, training=False, first_only=False):
        attended, probs = self.attention(x, mask_bias, head_mask, training=training, first_only=first_only)
        y = apply_dropout(self.dropout, self.ffn_output(self.activation(self.ffn(attended))), training)
        return self.full_layer_layer_norm(attended + y), probs

    def canonical_variables(self, prefix):
        out = self.full_layer_layer_norm.canonical_variables(f"{prefix}.full_layer_layer_norm")
        out.update(self.attention.canonical_variables(f"{prefix}.attention"))
        out.update(self.ffn.canonical_variables(f"{prefix}.ffn"))
        out.update(self.ffn_output.canonical_variables(f"{prefix}.ffn_output"))
        return out


class AlbertLayerGroup(Block):
    """The ``inner_group_num`` blocks of one parameter group, run in order for each layer using the group.

    Returns ``(output, [probabilities of every block])``.
    """

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(**kwargs)
        self.albert_layers = [AlbertLayer(config, name=f"albert_layers_{i}") for i in range(config.inner_group_num)]
        self.finish_init()

    def call(self, x, mask_bias, head_mask=None, training=False, first_only=False):
        """``first_only``: the group's last block returns only the first position (see :class:`AlbertAttention`)."""
        all_probs = []
        last = len(self.albert_layers) - 1
        for i, block in enumerate(self.albert_layers):
            x, probs = block(x, mask_bias, head_mask, training=training, first_only=first_only and i == last)
            all_probs.append(probs)
        return x, all_probs

    def canonical_variables(self, prefix):
        out = {}
        for i, block in enumerate(self.albert_layers):
            out.update(block.canonical_variables(f"{prefix}.albert_layers.{i}"))
        return out


class AlbertTransformer(Block):
    """The E -> H projection and the shared encoder; returns ``(last, hidden_states, attentions)``.

    Layer ``l`` runs group ``config.layer_groups()[l]``. ``hidden_states`` (when requested) holds the projected
    embeddings and then every layer's output; ``attentions`` one ``[B, heads, S, S]`` tensor per block run.
    """

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(**kwargs)
        self.embedding_hidden_mapping_in = Dense(config.embedding_size, config.hidden_size, config,
                                                 name="embedding_hidden_mapping_in")
        self.albert_layer_groups = [AlbertLayerGroup(config, name=f"albert_layer_groups_{g}")
                                    for g in range(config.num_hidden_groups)]
        self.layer_groups = config.layer_groups()
        self.finish_init()

    def call(self, x, mask_bias=None, head_mask=None, output_attentions=False, output_hidden_states=False,
             training=False, first_only=False):
        """x: ``[B, S, E]`` embeddings; mask_bias: ``[B, 1, 1, S]`` or None; head_mask: ``[L, 1, heads, 1, 1]``
        or None.

        ``first_only``: the last block computes only each sequence's first position past attention, so ``last`` is
        ``[B, 1, H]`` (for the heads that read nothing else; not with ``output_hidden_states``).
        """
        x = self.embedding_hidden_mapping_in(x)
        hidden_states = [x] if output_hidden_states else None
        attentions = [] if output_attentions else None
        for layer, group_index in enumerate(self.layer_groups):
            row = None if head_mask is None else head_mask[layer]
            first = first_only and layer == len(self.layer_groups) - 1
            x, probs = self.albert_layer_groups[group_index](x, mask_bias, row, training=training, first_only=first)
            if attentions is not None:
                attentions.extend(probs)
            if hidden_states is not None:
                hidden_states.append(x)
        return (
            x,
            None if hidden_states is None else tuple(hidden_states),
            None if attentions is None else tuple(attentions),
        )

    def canonical_variables(self, prefix):
        out = self.embedding_hidden_mapping_in.canonical_variables(f"{prefix}.embedding_hidden_mapping_in")
        for g, group in enumerate(self.albert_layer_groups):
            out.update(group.canonical_variables(f"{prefix}.albert_layer_groups.{g}"))
        return out


# ---------------------------------------------------------------------------------------------------------------------
# 4. Shared model machinery

#: The input arguments every model takes (besides its labels), in call order.
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids", "position_ids", "head_mask", "inputs_embeds")


def _to_tensor(x, dtype=None):
    if x is None:
        return None
    if isinstance(x, (tf.Tensor, tf.Variable)) or hasattr(x, "dtype") and not isinstance(x, np.ndarray):
        return x if dtype is None else tf.cast(x, dtype)
    return tf.convert_to_tensor(x, dtype=dtype)


def _static_shape(x) -> list[int | None] | None:
    if x is None:
        return None
    return list(x.shape) if hasattr(x, "shape") else list(np.shape(x))


class TFAlbertPreTrainedModel(KerasTrainingMixin, KerasExportMixin, keras.Model):
    """Base of every ALBERT Keras model: config check, canonical weight I/O, the loss, and (inherited from the
    mixins of :mod:`albert_tf.keras_idioms`) the Keras idioms.

    Subclasses set :attr:`head`, build their layers in ``__init__`` and implement ``call``. Not meant to be built
    directly; use :class:`TFAlbertModel` or one of the task heads. Every variable is created by the constructor
    (with the original ALBERT's initialisers, see :mod:`albert_tf.layers`), so a new model can be saved, loaded or
    inspected without a first call.

    Args:
        config: the model configuration; validated again here.
        kwargs: passed to :class:`keras.Model` (``name``, ...).

    Raises:
        ~albert_core.ConfigError: when ``config`` is not an :class:`~albert_core.AlbertConfig` or does not validate.

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
    #: label arguments of ``call``, also accepted in the input dict or as ``y`` in ``fit``: the head's
    #: ``HEADS[head].label_names``
    label_keys: tuple[str, ...] = ()
    #: the tf primitives :func:`albert_core.losses.head_loss` computes every loss with
    ops: ClassVar[TensorOps] = TFAlbertOps()
    # for the Keras mixins (albert_tf.keras_idioms): the inputs a dict in the first argument may hold besides the
    # labels, and the conversion of label values to tensors
    _input_names: ClassVar[tuple[str, ...]] = INPUT_NAMES
    _to_tensor = staticmethod(_to_tensor)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.label_keys = HEADS[cls.head].label_names

    def __init__(self, config: AlbertConfig, **kwargs):
        config = AlbertConfig.coerce(config)  # also a transformers.AlbertConfig or a config.json mapping
        config.validate()
        # no autocast: ids and float labels keep their dtype (Keras would cast float inputs to the compute dtype);
        # every cast to the compute dtype is explicit in the layers
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self._allow_non_tensor_positional_args = True  # a dict or list of ids may come first
        self.config = config
        #: what the last :meth:`load_canonical_state` / :meth:`from_pretrained` matched (``None`` before any load)
        self.load_report: LoadReport | None = None

    # ------------------------------------------------------------------ building a head from its HEADS row

    def _backbone(self) -> "TFAlbertModel":
        """The head's ``albert`` backbone, with the pooler exactly when the head uses it."""
        return TFAlbertModel(self.config, add_pooling_layer=HEADS[self.head].pooler, name="albert")

    def _part_width(self, prefix: str) -> int:
        """The output width of the head part named ``prefix``, as the head table sets it."""
        part = next(part for part in HEADS[self.head].parts if part.prefix == prefix)
        return part_outputs(part, vars(self.config))

    def _linear_part(self, prefix: str) -> Dense:
        """The ``H -> outputs`` dense layer of the head part named ``prefix``."""
        return Dense(self.config.hidden_size, self._part_width(prefix), self.config, name=prefix)

    # ------------------------------------------------------------------ the loss

    def _head_output(self, output_class: type[ModelOutput], backbone: BaseModelOutput,
                     label_values: tuple[Any, ...], **outputs: tf.Tensor) -> ModelOutput:
        """``output_class`` holding ``outputs``, the backbone's hidden states / attentions, and the head's loss.

        ``label_values`` are the head's label arguments in the order of ``HEADS[head].label_names``;
        :func:`albert_core.losses.head_loss` checks them and decides the float32 loss (``None`` without labels).
        """
        labels = {name: _to_tensor(value) for name, value in zip(HEADS[self.head].label_names, label_values)}
        loss = head_loss(self.head, self.config, outputs, labels, self.ops)
        return output_class(loss=loss, **outputs, hidden_states=backbone.hidden_states,
                            attentions=backbone.attentions)

    def _masked_lm_rows(self, hidden: tf.Tensor, labels: Any, masked_positions_only: bool) -> tuple[tf.Tensor, Any]:
        """What a masked-LM head runs on and is scored against: every position, or only the labelled ones."""
        if not masked_positions_only:
            return hidden, labels
        return masked_positions(hidden, None if labels is None else _to_tensor(labels), self.ops)

    # ------------------------------------------------------------------ token embeddings (transformers' names)

    def _albert_backbone(self) -> "TFAlbertModel":
        return self if isinstance(self, TFAlbertModel) else self.albert

    def get_input_embeddings(self) -> EmbeddingTable:
        """The word-embedding table: an :class:`~albert_tf.layers.EmbeddingTable`, variable
        ``.embeddings`` ``[vocab_size, embedding_size]``.

        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> tuple(TFAlbertForMaskedLM(cfg).get_input_embeddings().embeddings.shape)
        (20, 8)
        """
        return self._albert_backbone().embeddings.word_embeddings

    def set_input_embeddings(self, value: Any) -> None:
        """Replace the word embeddings by ``value``'s: an :class:`~albert_tf.layers.EmbeddingTable`, a variable or
        an array ``[rows, embedding_size]``.

        The values are copied into the model's own table (which the masked-LM decoder stays tied to); a different
        number of rows resizes the vocabulary first, as :meth:`resize_token_embeddings`.

        Raises:
            ~albert_core.InputError: when ``value`` is not ``[rows, embedding_size]``.

        >>> import numpy as np
        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> model = TFAlbertForMaskedLM(cfg)
        >>> model.set_input_embeddings(np.ones((24, 8), np.float32))
        >>> model.config.vocab_size, float(model.get_output_embeddings().embeddings[23, 0])
        (24, 1.0)
        """
        table = value.embeddings if isinstance(value, EmbeddingTable) else value
        array = np.asarray(table.numpy() if hasattr(table, "numpy") else table, dtype=np.float32)
        if array.ndim != 2 or array.shape[1] != self.config.embedding_size:
            raise InputError(f"input embeddings must be [rows, embedding_size={self.config.embedding_size}], "
                             f"got shape {list(array.shape)}")
        if array.shape[0] != self.config.vocab_size:
            self.resize_token_embeddings(array.shape[0])
        self.get_input_embeddings().embeddings.assign(array)

    def get_output_embeddings(self) -> EmbeddingTable | None:
        """The masked-LM decoder's matrix, which is the word-embedding table itself (tied: logits are
        ``hidden @ table^T + bias``); ``None`` for heads without a masked-LM decoder.

        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> model = TFAlbertForMaskedLM(cfg)
        >>> model.get_output_embeddings() is model.get_input_embeddings()
        True
        >>> TFAlbertForSequenceClassification(cfg).get_output_embeddings() is None
        True
        """
        return self.get_input_embeddings() if isinstance(getattr(self, "predictions", None), AlbertMLMHead) else None

    def resize_token_embeddings(self, new_num_tokens: int | None = None) -> EmbeddingTable:
        """Give the vocabulary ``new_num_tokens`` rows; return the word-embedding table.

        Existing rows keep their values (the last ones are dropped when shrinking); new rows are drawn from the
        model's initialiser (truncated normal, ``initializer_range``). The masked-LM bias is resized with it (new
        entries 0), the decoder stays tied to the table, and ``config.vocab_size`` is updated. ``None`` changes
        nothing. The compiled ``fit``/``predict`` functions are dropped; compile again, with a new optimizer,
        before training on.

        Raises:
            ~albert_core.InputError: when ``new_num_tokens`` is not a positive integer.
            ~albert_core.ConfigError: when the config would not validate with it (e.g. ``pad_token_id`` outside).

        >>> import numpy as np
        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> model = TFAlbertForMaskedLM(cfg)
        >>> old = model.get_input_embeddings().embeddings.numpy()
        >>> table = model.resize_token_embeddings(25)
        >>> tuple(table.embeddings.shape), tuple(model.predictions.bias.shape), model.config.vocab_size
        ((25, 8), (25,), 25)
        >>> bool(np.array_equal(table.embeddings.numpy()[:20], old))
        True
        >>> tuple(model(np.array([[2, 24, 3]])).logits.shape)
        (1, 3, 25)
        """
        table = self.get_input_embeddings()
        if new_num_tokens is None:
            return table
        if isinstance(new_num_tokens, bool) or not isinstance(new_num_tokens, (int, np.integer)) \
                or new_num_tokens < 1:
            raise InputError(f"new_num_tokens must be a positive integer, got {new_num_tokens!r}")
        new_num_tokens = int(new_num_tokens)
        if new_num_tokens == self.config.vocab_size:
            return table
        self.config.copy(vocab_size=new_num_tokens)  # raises ConfigError before anything changes
        table.resize_rows(new_num_tokens, self.config)
        head = getattr(self, "predictions", None)
        if isinstance(head, AlbertMLMHead):
            head.resize_bias(new_num_tokens)
        self.config.vocab_size = new_num_tokens
        # traced functions hold the old variables
        self.train_function = self.test_function = self.predict_function = None
        return table

    def num_parameters(self, only_trainable: bool = False, exclude_embeddings: bool = False) -> int:
        """The number of weights (tied ones once), as transformers' ``num_parameters``.

        ``exclude_embeddings`` leaves out every embedding table (word, position, token type and, with relative
        positions, the distance table).

        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> model = TFAlbertModel(cfg)
        >>> model.num_parameters() == model.count_params()
        True
        >>> model.num_parameters() - model.num_parameters(exclude_embeddings=True)  # (20 + 512 + 2) * 8
        4272
        """
        variables = self.trainable_variables if only_trainable else self.variables
        if exclude_embeddings:
            tables = {id(v) for name, v in self.canonical_variables().items()
                      if name.endswith(("_embeddings.weight", "distance_embedding.weight"))}
            variables = [v for v in variables if id(v) not in tables]
        return int(sum(int(np.prod(v.shape)) for v in variables))

    # ------------------------------------------------------------------ canonical state

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

    def _canonical_variables(self) -> dict[str, Any]:  # pragma: no cover - every model overrides it
        raise NotImplementedError

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
        """Assign a canonical state (names and layout as :meth:`canonical_state`); return its
        :class:`~albert_core.weights.LoadReport`.

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
        ids = np.zeros((1, 2, 2) if HEADS[self.head].choices else (1, 2), dtype=np.int32)
        self(ids)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str], config: AlbertConfig | Any = None,
                        strict: bool = False, *, num_labels: int | None = None,
                        id2label: Mapping[Any, str] | None = None, label2id: Mapping[str, Any] | None = None,
                        ignore_mismatched_sizes: bool = False, dtype: Any = None,
                        **config_overrides: Any) -> "TFAlbertPreTrainedModel":
        """Build the model and load a checkpoint directory or weights file.

        Reads every format :func:`albert_core.checkpoints.read_checkpoint` knows (``model.safetensors`` from
        albert_pt or Hugging Face PyTorch, ``pytorch_model.bin``, ``tf_model.h5``, TF1). ``config`` defaults to the
        one beside the weights (a ``config.json`` mapping or a ``transformers.AlbertConfig`` is accepted too).
        What was re-initialised, left new or not used is reported in one
        ``PartialLoadWarning`` and kept in ``model.load_report`` (a
        :class:`~albert_core.loading.PretrainedLoadReport`). ``strict=True`` raises
        :class:`~albert_core.CheckpointError` when a tensor is missing or unused, or holds NaN or infinite values
        (otherwise a :class:`~albert_core.errors.NonFiniteWeightsWarning`).

        ``num_labels``, ``id2label``, ``label2id``, ``ignore_mismatched_sizes`` and ``config_overrides`` work as in
        :meth:`albert_pt.AlbertPreTrainedModel.from_pretrained` (see :func:`albert_core.loading.prepare_pretrained`).
        ``dtype`` sets the Keras dtype policy the model is built under: ``"float32"`` (default), ``"float16"`` or
        ``"bfloat16"`` (the mixed policies ``mixed_float16`` / ``mixed_bfloat16``: variables stay float32, as every
        variable here does, and the layers compute in the half type), a policy name, a ``tf`` dtype, or ``"auto"``
        for the dtype the checkpoint was stored in.

        >>> import tempfile
        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=1,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     _ = TFAlbertModel(cfg).save_pretrained(d)
        ...     model = TFAlbertForSequenceClassification.from_pretrained(d, num_labels=4, dtype="bfloat16")
        >>> model.load_report.missing, model.config.num_labels, model.dtype_policy.name
        (['classifier.weight', 'classifier.bias'], 4, 'mixed_bfloat16')
        """
        from albert_core.loading import prepare_pretrained, warn_about_load

        policy = dtype if isinstance(dtype, str) and dtype.startswith("mixed_") else None
        prepared = prepare_pretrained(path, cls.head, config, strict=strict,
                                      ignore_mismatched_sizes=ignore_mismatched_sizes,
                                      dtype=None if policy else dtype, num_labels=num_labels, id2label=id2label,
                                      label2id=label2id, **config_overrides)
        policy = policy or cls._DTYPE_POLICIES.get(prepared.dtype)
        model = cls._build_under_policy(prepared.config, policy)  # every variable exists after construction
        model.load_report = prepared.report(model.load_canonical_state(prepared.state, strict=strict))
        warn_about_load(cls.__name__, prepared.contents.path, model.load_report)
        return model

    #: ``from_pretrained(dtype=...)`` name -> Keras dtype policy (variables stay float32 under every policy here)
    _DTYPE_POLICIES: ClassVar[dict[str, str]] = {"float32": "float32", "float16": "mixed_float16",
                                                 "bfloat16": "mixed_bfloat16"}

    @classmethod
    def _build_under_policy(cls, config: AlbertConfig, policy: str | None) -> "TFAlbertPreTrainedModel":
        """``cls(config)`` with every layer built under the Keras dtype policy ``policy`` (``None``: the current
        global policy); the global policy is restored afterwards."""
        if policy is None:
            return cls(config)
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(policy)
        try:
            return cls(config)
        finally:
            keras.config.set_dtype_policy(previous)

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


# ---------------------------------------------------------------------------------------------------------------------
# 5. The backbone


def _dtype_name(tensor) -> str:
    """The dtype's framework-neutral name (``int64``, ``uint8``, ``float32``): the same in both backends' messages."""
    return tf.as_dtype(tensor.dtype).name


def _id_tensor(name: str, tensor, limit: int, limit_name: str):
    """An id input checked on its original dtype and values, then cast to an index dtype the lookups take.

    Any integer dtype is accepted; the range check runs before the cast so no id wraps around (a uint64
    ``2**32 + 5`` used to become id 5). Inside ``tf.function`` / XLA the values are unknown and only the dtype is
    checked.
    """
    if tensor is None:
        return None
    check_id_dtype(name, _dtype_name(tensor))
    if tf.executing_eagerly() and tf.size(tensor) > 0:
        check_id_range(name, int(tf.reduce_min(tensor)), int(tf.reduce_max(tensor)), limit, limit_name)
    # gathers take int32/int64 indices; the values fit after the check
    return tensor if tensor.dtype in (tf.int32, tf.int64) else tf.cast(tensor, tf.int32)


def _mask_tensor(mask):
    """``attention_mask`` checked to be boolean or 0/1 (values only when executing eagerly)."""
    if mask is None:
        return None
    check_attention_mask_dtype(_dtype_name(mask))
    if mask.dtype != tf.bool and tf.executing_eagerly() and tf.size(mask) > 0:
        bad = tf.boolean_mask(mask, (mask != 0) & (mask != 1))  # NaN compares unequal to both, so it is caught too
        check_attention_mask_values(int(tf.size(bad)), bad[0].numpy().item() if tf.size(bad) > 0 else None)
    return mask


@keras.saving.register_keras_serializable(package="albert_lite")
class TFAlbertModel(TFAlbertPreTrainedModel):
    """The ALBERT backbone: embeddings, shared encoder and (optionally) the tanh pooler.

    Args:
        config: the model configuration.
        add_pooling_layer: build the pooler. The heads that do not use it (masked LM, token classification, QA)
            build their backbone (``model.albert``, a :class:`TFAlbertModel`) without it.

    Example:
        >>> import numpy as np
        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> out = TFAlbertModel(cfg)(np.array([[2, 7, 9, 3]]))
        >>> tuple(out.last_hidden_state.shape), tuple(out.pooler_output.shape)
        ((1, 4, 8), (1, 8))
    """

    head = Head.BASE

    def __init__(self, config: AlbertConfig, add_pooling_layer: bool = True, **kwargs):
        super().__init__(config, **kwargs)
        config = self.config  # coerced: also a transformers config or a config.json mapping
        self.embeddings = AlbertEmbeddings(config, name="embeddings")
        self.encoder = AlbertTransformer(config, name="encoder")
        self.pooler = Dense(config.hidden_size, config.hidden_size, config, name="pooler") if add_pooling_layer \
            else None
        self.built = True  # every variable exists now; no build step is needed

    def get_config(self):
        """Keras serialisation: :meth:`TFAlbertPreTrainedModel.get_config` and ``add_pooling_layer``.

        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=1,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> TFAlbertModel(cfg, add_pooling_layer=False).get_config()["add_pooling_layer"]
        False
        """
        return {**super().get_config(), "add_pooling_layer": self.pooler is not None}

    def _canonical_variables(self):
        out = self.embeddings.canonical_variables(f"{BACKBONE_PREFIX}embeddings")
        out.update(self.encoder.canonical_variables(f"{BACKBONE_PREFIX}encoder"))
        if self.pooler is not None:
            out.update(self.pooler.canonical_variables(f"{BACKBONE_PREFIX}pooler"))
        return out

    def _check_ids(self, input_ids, token_type_ids, position_ids, attention_mask):
        """Check the id inputs and the attention mask (:mod:`albert_core.validation`); return them ready to use."""
        tensors = {"input_ids": input_ids, "token_type_ids": token_type_ids, "position_ids": position_ids}
        for name, limit, limit_name in id_inputs(self.config):
            tensors[name] = _id_tensor(name, tensors[name], limit, limit_name)
        return tensors["input_ids"], tensors["token_type_ids"], tensors["position_ids"], _mask_tensor(attention_mask)

    def _head_mask(self, head_mask: tf.Tensor | None) -> tf.Tensor | None:
        """``[heads]`` or ``[L, heads]`` -> float32 ``[L, 1, heads, 1, 1]`` (row ``l`` for layer ``l``)."""
        if head_mask is None:
            return None
        layers, heads = self.config.num_hidden_layers, self.config.num_attention_heads
        head_mask = tf.reshape(tf.cast(head_mask, tf.float32), [-1, 1, heads, 1, 1])
        return tf.broadcast_to(head_mask, [layers, 1, heads, 1, 1])

    def call(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
             inputs_embeds=None, output_attentions=False, output_hidden_states=False, training=False,
             first_only=False):
        """Run the backbone. Every head takes these arguments (but ``first_only``) too (multiple choice with an extra
        choices axis).

        ``B`` is the batch size, ``S`` the sequence length, ``E`` ``embedding_size``, ``H`` ``hidden_size`` and ``L``
        ``num_hidden_layers``. Numpy arrays, lists and tensors are accepted; instead of keyword arguments a dict of
        them (labels included) may be passed first, as Keras ``fit`` does.

        Args:
            input_ids: integer ``[B, S]`` token ids in ``[0, vocab_size)``, of any integer dtype (checked before it
                is cast to int32; float, bool and string ids raise). Give exactly one of ``input_ids`` and
                ``inputs_embeds``.
            attention_mask: ``[B, S]`` (bool, integer or float) holding only 1 for tokens to attend to and 0 for
                padding (default all ones); other values raise. Value checks (id ranges, mask values) run only when
                executing eagerly; inside ``tf.function`` / XLA the values are unknown and they are skipped.
            token_type_ids: integer ``[B, S]`` segment ids in ``[0, type_vocab_size)`` (default zeros).
            position_ids: integer ``[B, S]`` positions in ``[0, max_position_embeddings)`` (default ``0 .. S-1``).
            head_mask: float ``[heads]`` or ``[L, heads]`` multipliers of the attention probabilities (row ``l``
                for every block of layer ``l``; 0 switches a head off).
            inputs_embeds: float ``[B, S, E]`` word embeddings to use instead of looking up ``input_ids``.
            output_attentions: also return the attention probabilities of every block run.
            output_hidden_states: also return the projected embeddings and every layer's output.
            training: bool; enables dropout.
            first_only: compute the last layer past attention for the first position only, so
                ``last_hidden_state`` is ``[B, 1, H]`` (the pooled heads read nothing else; ignored with
                ``output_hidden_states``).

        Returns:
            :class:`~albert_core.outputs.BaseModelOutput` with

            - ``last_hidden_state``: ``[B, S, H]``;
            - ``pooler_output``: ``[B, H]``, ``tanh(dense(last_hidden_state[:, 0]))`` (``None`` without a pooler);
            - ``hidden_states``: with ``output_hidden_states``, a tuple of ``L + 1`` tensors ``[B, S, H]``;
            - ``attentions``: with ``output_attentions``, a tuple of ``L * inner_group_num`` float32 tensors
              ``[B, heads, S, S]``.

        Raises:
            ~albert_core.InputError: for inconsistent shapes, non-integer ids, or (when executing eagerly) ids out
                of range or an attention mask other than 0/1.

        Example:
            >>> import numpy as np
            >>> from albert_core import AlbertConfig
            >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
            ...                    num_attention_heads=2, intermediate_size=16)
            >>> model = TFAlbertModel(cfg)
            >>> out = model({"input_ids": np.array([[2, 5, 3], [2, 6, 0]]), "attention_mask": [[1, 1, 1], [1, 1, 0]]},
            ...             output_attentions=True, output_hidden_states=True)
            >>> len(out.hidden_states), tuple(out.attentions[0].shape)
            (3, (2, 2, 3, 3))
            >>> float(np.abs(out.attentions[0][1, :, :, 2]).max())  # the padded key gets no attention
            0.0
        """
        input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds = (
            _to_tensor(v) for v in (input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds)
        )
        check_model_inputs(self.config, _static_shape(input_ids), _static_shape(attention_mask),
                           _static_shape(token_type_ids), _static_shape(position_ids), _static_shape(inputs_embeds),
                           _static_shape(head_mask))
        input_ids, token_type_ids, position_ids, attention_mask = self._check_ids(input_ids, token_type_ids,
                                                                                  position_ids, attention_mask)
        x = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds, training=training)
        mask_bias = None
        if attention_mask is not None:
            # padded keys get the most negative float32, as transformers does. [B, 1, 1, S] by ExpandDims: the
            # strided slice of x[:, None, None, :] has no TFLite built-in kernel at dynamic shapes
            keep = tf.expand_dims(tf.expand_dims(tf.cast(attention_mask, tf.float32), 1), 1)
            mask_bias = (1.0 - keep) * tf.float32.min
        last, hidden_states, attentions = self.encoder(x, mask_bias, self._head_mask(head_mask),
                                                       bool(output_attentions), bool(output_hidden_states),
                                                       training=bool(training),
                                                       first_only=bool(first_only) and not output_hidden_states)
        pooled = tf.tanh(self.pooler(last[:, 0])) if self.pooler is not None else None
        return BaseModelOutput(last_hidden_state=last, pooler_output=pooled, hidden_states=hidden_states,
                               attentions=attentions)


# ---------------------------------------------------------------------------------------------------------------------
# 6. Heads
#
# A head runs its backbone with ``self.albert.call(...)``: the backbone is a Keras model nested in the head, and
# calling ``call`` skips a second pass through Keras' per-call machinery (the head's own ``__call__`` did it).


class AlbertMLMHead(Block):
    """dense H -> E, activation, LayerNorm(E), then the tied decoder ``word_embeddings^T + bias``; float32 logits.

    >>> import tensorflow as tf
    >>> from albert_core import AlbertConfig
    >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
    ...                    num_attention_heads=2, intermediate_size=16)
    >>> table = TFAlbertModel(cfg).embeddings.word_embeddings.embeddings
    >>> AlbertMLMHead(cfg)(tf.ones([1, 3, 8]), table).shape
    TensorShape([1, 3, 30])
    """

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(**kwargs)
        self.dense = Dense(config.hidden_size, config.embedding_size, config, name="dense")
        self.activation = get_activation(config.hidden_act)
        self.LayerNorm = LayerNorm(config.embedding_size, config.layer_norm_eps, name="LayerNorm")
        self.bias = self.add_weight(shape=(config.vocab_size,), initializer="zeros", name="bias", autocast=False)
        self.finish_init()

    def call(self, hidden, word_embeddings):
        """hidden ``[B, S, H]``; word_embeddings the backbone's ``[vocab_size, E]`` table -> ``[B, S, vocab_size]``."""
        x = self.LayerNorm(self.activation(self.dense(hidden)))
        table = tf.cast(word_embeddings, x.dtype)
        logits = tf.matmul(tf.reshape(x, [-1, tf.shape(x)[-1]]), table, transpose_b=True)
        logits = tf.reshape(logits, tf.concat([tf.shape(x)[:-1], [-1]], axis=0))
        return tf.cast(logits, tf.float32) + self.bias

    def resize_bias(self, rows: int) -> None:
        """Give the output bias ``rows`` entries: the first ``min(old, rows)`` kept, new ones 0."""
        old = np.asarray(self.bias.numpy())
        new = np.zeros((rows,), np.float32)
        keep = min(rows, old.shape[0])
        new[:keep] = old[:keep]
        self.replace_weight("bias", new)

    def canonical_variables(self, prefix):
        out = {f"{prefix}.bias": self.bias}
        out.update(self.dense.canonical_variables(f"{prefix}.dense"))
        out.update(self.LayerNorm.canonical_variables(f"{prefix}.LayerNorm"))
        return out


class AlbertSOPHead(Block):
    """Sentence-order prediction: a linear classifier on the pooled output; float32 logits ``[B, num_classes]``.

    No dropout before it, as in the original's ``get_sentence_order_output``.
    """

    def __init__(self, config: AlbertConfig, num_classes: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.classifier = Dense(config.hidden_size, num_classes, config, name="classifier")
        self.finish_init()

    def call(self, pooled):
        return tf.cast(self.classifier(pooled), tf.float32)

    def canonical_variables(self, prefix):
        return self.classifier.canonical_variables(f"{prefix}.classifier")


@register_output_with_keras
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


@keras.saving.register_keras_serializable(package="albert_lite")
class TFAlbertForPreTraining(TFAlbertPreTrainedModel):
    """Backbone + masked-LM head + sentence-order head, as in ALBERT pre-training.

    Returns :class:`TFAlbertForPreTrainingOutput`. ``loss`` is the masked-LM cross-entropy (``labels``
    ``[batch, seq]``, -100 ignored) plus the sentence-order cross-entropy (``sentence_order_label`` ``[batch]``: 0
    in order, 1 swapped), or the one part whose labels were given.

    Example:
        >>> import numpy as np
        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> out = TFAlbertForPreTraining(cfg)(np.array([[2, 7, 9, 3]]), labels=np.array([[-100, 7, -100, -100]]),
        ...                                   sentence_order_label=np.array([1]))
        >>> tuple(out.prediction_logits.shape), tuple(out.sop_logits.shape), out.loss.shape
        ((1, 4, 30), (1, 2), TensorShape([]))
    """

    head = Head.PRETRAINING
    metric_outputs = {"prediction_logits": "labels", "sop_logits": "sentence_order_label"}

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(config, **kwargs)
        config = self.config  # coerced: also a transformers config or a config.json mapping
        self.albert = self._backbone()
        self.predictions = AlbertMLMHead(config, name="predictions")
        self.sop_classifier = AlbertSOPHead(config, self._part_width("sop_classifier.classifier"),
                                            name="sop_classifier")
        self.built = True  # every variable exists now; no build step is needed

    def _canonical_variables(self):
        out = self.albert._canonical_variables()
        out.update(self.predictions.canonical_variables("predictions"))
        out.update(self.sop_classifier.canonical_variables("sop_classifier"))
        return out

    def call(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
             inputs_embeds=None, labels=None, sentence_order_label=None, output_attentions=False,
             output_hidden_states=False, training=False, masked_positions_only=False):
        """Masked-LM and sentence-order logits; the inputs are those of :meth:`TFAlbertModel.call`.

        Args:
            labels: integer ``[batch, seq]`` masked-LM target ids in ``[0, vocab_size)``, -100 where no loss is
                taken.
            sentence_order_label: integer ``[batch]``, 0 for segments in their original order, 1 for swapped.
            masked_positions_only: run the masked-LM head only at the N positions whose label is not -100, as the
                original pre-training does (see :func:`albert_core.losses.masked_positions`): the same loss and
                gradients; ``prediction_logits`` is then ``[1, N, vocab_size]``. Needs ``labels``.

        Example:
            >>> import keras, numpy as np, tensorflow as tf
            >>> from albert_core import AlbertConfig
            >>> cfg = AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
            ...                    num_attention_heads=2, intermediate_size=16)
            >>> keras.utils.set_random_seed(0)
            >>> model = TFAlbertForPreTraining(cfg)
            >>> order = np.array([0, 1])
            >>> out = model(np.array([[2, 5, 7, 3], [2, 7, 5, 3]]), sentence_order_label=order)
            >>> sop = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(order, out.sop_logits))
            >>> bool(np.isclose(out.loss, sop))  # only the sentence-order part: no masked-LM labels given
            True
        """
        out = self.albert.call(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                               output_attentions, output_hidden_states, training)
        hidden, labels = self._masked_lm_rows(out.last_hidden_state, labels, masked_positions_only)
        prediction_logits = self.predictions(hidden, self.albert.embeddings.word_embeddings.embeddings)
        sop_logits = self.sop_classifier(out.pooler_output)
        return self._head_output(TFAlbertForPreTrainingOutput, out, (labels, sentence_order_label),
                                 prediction_logits=prediction_logits, sop_logits=sop_logits)


@keras.saving.register_keras_serializable(package="albert_lite")
class TFAlbertForMaskedLM(TFAlbertPreTrainedModel):
    """Backbone (no pooler) + the masked-LM head, whose decoder is tied to the word embeddings.

    Returns :class:`~albert_core.outputs.MaskedLMOutput`: ``logits`` ``[batch, seq, vocab_size]``; ``loss`` the mean
    cross-entropy over the positions whose ``labels`` (``[batch, seq]``, ids in ``[0, vocab_size)``) are not -100.

    Example:
        >>> import numpy as np
        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> out = TFAlbertForMaskedLM(cfg)(np.array([[2, 7, 9, 3]]), labels=np.array([[-100, 7, -100, -100]]))
        >>> tuple(out.logits.shape), out.loss.shape
        ((1, 4, 30), TensorShape([]))
    """

    head = Head.MASKED_LM
    metric_outputs = {"logits": "labels"}

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(config, **kwargs)
        config = self.config  # coerced: also a transformers config or a config.json mapping
        self.albert = self._backbone()
        self.predictions = AlbertMLMHead(config, name="predictions")
        self.built = True  # every variable exists now; no build step is needed

    def _canonical_variables(self):
        out = self.albert._canonical_variables()
        out.update(self.predictions.canonical_variables("predictions"))
        return out

    def call(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
             inputs_embeds=None, labels=None, output_attentions=False, output_hidden_states=False, training=False,
             masked_positions_only=False):
        """Vocabulary logits for every position; inputs as :meth:`TFAlbertModel.call`, ``labels`` as above.

        With ``masked_positions_only`` the head runs only at the N positions whose label is not -100, as in
        :meth:`TFAlbertForPreTraining.call`: the same loss, ``logits`` ``[1, N, vocab_size]``.
        """
        out = self.albert.call(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                               output_attentions, output_hidden_states, training)
        hidden, labels = self._masked_lm_rows(out.last_hidden_state, labels, masked_positions_only)
        logits = self.predictions(hidden, self.albert.embeddings.word_embeddings.embeddings)
        return self._head_output(MaskedLMOutput, out, (labels,), logits=logits)


@keras.saving.register_keras_serializable(package="albert_lite")
class TFAlbertForSequenceClassification(TFAlbertPreTrainedModel):
    """Backbone + dropout + linear classifier ``H -> num_labels`` on the pooled output.

    Returns :class:`~albert_core.outputs.SequenceClassifierOutput`: ``logits`` ``[batch, num_labels]``. The loss
    follows ``config.infer_problem_type``: regression (float ``labels``; MSE), single-label (integer ``labels``
    ``[batch]`` in ``[0, num_labels)``, cross-entropy, -100 ignored) or multi-label (float multi-hot ``labels``
    ``[batch, num_labels]``, mean binary cross-entropy).

    Example:
        >>> import numpy as np
        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=16, num_labels=3)
        >>> out = TFAlbertForSequenceClassification(cfg)(np.array([[2, 7, 9, 3]]), labels=np.array([2]))
        >>> tuple(out.logits.shape), out.loss.shape
        ((1, 3), TensorShape([]))
    """

    head = Head.SEQUENCE_CLASSIFICATION
    metric_outputs = {"logits": "labels"}

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(config, **kwargs)
        config = self.config  # coerced: also a transformers config or a config.json mapping
        self.albert = self._backbone()
        self.dropout = dropout_layer(config.effective_classifier_dropout)
        self.classifier = self._linear_part("classifier")
        self.built = True  # every variable exists now; no build step is needed

    def _canonical_variables(self):
        out = self.albert._canonical_variables()
        out.update(self.classifier.canonical_variables("classifier"))
        return out

    def call(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
             inputs_embeds=None, labels=None, output_attentions=False, output_hidden_states=False, training=False):
        """Class logits for each sequence; inputs as :meth:`TFAlbertModel.call`, ``labels`` as above."""
        out = self.albert.call(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                               output_attentions, output_hidden_states, training,
                               first_only=HEADS[self.head].first_token_only)
        logits = self.classifier(apply_dropout(self.dropout, out.pooler_output, training))
        logits = tf.cast(logits, tf.float32)
        return self._head_output(SequenceClassifierOutput, out, (labels,), logits=logits)


@keras.saving.register_keras_serializable(package="albert_lite")
class TFAlbertForMultipleChoice(TFAlbertPreTrainedModel):
    """Backbone + dropout + linear scorer ``H -> 1`` on each choice's pooled output.

    Inputs are ``[batch, num_choices, seq]`` (``inputs_embeds`` ``[batch, num_choices, seq, E]``); every choice is
    encoded as its own sequence of a ``[batch * num_choices, seq]`` batch, to which ``hidden_states`` and
    ``attentions`` belong. Returns :class:`~albert_core.outputs.MultipleChoiceOutput`: ``logits``
    ``[batch, num_choices]``; ``loss`` the cross-entropy against ``labels`` ``[batch]`` in ``[0, num_choices)``.

    Example:
        >>> import numpy as np
        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> out = TFAlbertForMultipleChoice(cfg)(np.array([[[2, 7, 3], [2, 8, 3]]]), labels=np.array([1]))
        >>> tuple(out.logits.shape), out.loss.shape
        ((1, 2), TensorShape([]))
    """

    head = Head.MULTIPLE_CHOICE
    metric_outputs = {"logits": "labels"}

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(config, **kwargs)
        config = self.config  # coerced: also a transformers config or a config.json mapping
        self.albert = self._backbone()
        self.dropout = dropout_layer(config.effective_classifier_dropout)
        self.classifier = self._linear_part("classifier")
        self.built = True  # every variable exists now; no build step is needed

    def _canonical_variables(self):
        out = self.albert._canonical_variables()
        out.update(self.classifier.canonical_variables("classifier"))
        return out

    def call(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
             inputs_embeds=None, labels=None, output_attentions=False, output_hidden_states=False, training=False):
        """One score per choice; inputs as :meth:`TFAlbertModel.call` with a choices axis, ``labels`` as above."""
        choices = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids,
                   "position_ids": position_ids, "inputs_embeds": inputs_embeds}
        choices = {name: _to_tensor(value) for name, value in choices.items()}
        check_choice_inputs(*(_static_shape(choices[name]) for name in
                              ("input_ids", "inputs_embeds", "attention_mask", "token_type_ids", "position_ids")))
        main = choices["input_ids"] if choices["input_ids"] is not None else choices["inputs_embeds"]
        num_choices = self.ops.dim(main, 1)
        flat = flatten_choices(choices, self.ops)
        out = self.albert.call(flat["input_ids"], flat["attention_mask"], flat["token_type_ids"],
                               flat["position_ids"], head_mask, flat["inputs_embeds"], output_attentions,
                               output_hidden_states, training, first_only=HEADS[self.head].first_token_only)
        scores = self.classifier(apply_dropout(self.dropout, out.pooler_output, training))
        logits = unflatten_choices(tf.cast(scores, tf.float32), num_choices, self.ops)
        return self._head_output(MultipleChoiceOutput, out, (labels,), logits=logits)


@keras.saving.register_keras_serializable(package="albert_lite")
class TFAlbertForTokenClassification(TFAlbertPreTrainedModel):
    """Backbone (no pooler) + dropout + linear classifier ``H -> num_labels`` on every token.

    Returns :class:`~albert_core.outputs.TokenClassifierOutput`: ``logits`` ``[batch, seq, num_labels]``; ``loss``
    the mean cross-entropy over the tokens whose ``labels`` (``[batch, seq]``, ids in ``[0, num_labels)``) are not
    -100.

    Example:
        >>> import numpy as np
        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=16, num_labels=3)
        >>> model = TFAlbertForTokenClassification(cfg)
        >>> out = model({"input_ids": np.array([[2, 7, 9, 3]]), "labels": np.array([[-100, 1, 2, -100]])})
        >>> tuple(out.logits.shape), out.loss.shape
        ((1, 4, 3), TensorShape([]))
    """

    head = Head.TOKEN_CLASSIFICATION
    metric_outputs = {"logits": "labels"}

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(config, **kwargs)
        config = self.config  # coerced: also a transformers config or a config.json mapping
        self.albert = self._backbone()
        self.dropout = dropout_layer(config.effective_classifier_dropout)
        self.classifier = self._linear_part("classifier")
        self.built = True  # every variable exists now; no build step is needed

    def _canonical_variables(self):
        out = self.albert._canonical_variables()
        out.update(self.classifier.canonical_variables("classifier"))
        return out

    def call(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
             inputs_embeds=None, labels=None, output_attentions=False, output_hidden_states=False, training=False):
        """Class logits for every token; inputs as :meth:`TFAlbertModel.call`, ``labels`` as above."""
        out = self.albert.call(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                               output_attentions, output_hidden_states, training)
        logits = self.classifier(apply_dropout(self.dropout, out.last_hidden_state, training))
        logits = tf.cast(logits, tf.float32)
        return self._head_output(TokenClassifierOutput, out, (labels,), logits=logits)


@keras.saving.register_keras_serializable(package="albert_lite")
class TFAlbertForQuestionAnswering(TFAlbertPreTrainedModel):
    """Backbone (no pooler) + linear ``H -> 2`` giving span start and end logits per token.

    Returns :class:`~albert_core.outputs.QuestionAnsweringOutput`: ``start_logits`` and ``end_logits``
    ``[batch, seq]``. With both ``start_positions`` and ``end_positions`` (integer ``[batch]`` or ``[batch, 1]``) the
    loss is the mean of the start and end cross-entropies; positions are clamped to ``[0, seq]`` and those equal to
    ``seq`` (outside the sequence) are ignored.

    Example:
        >>> import numpy as np
        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> model = TFAlbertForQuestionAnswering(cfg)
        >>> ids = np.array([[2, 7, 9, 3]])
        >>> out = model(ids, start_positions=np.array([1]), end_positions=np.array([2]))
        >>> tuple(out.start_logits.shape), tuple(out.end_logits.shape), out.loss.shape
        ((1, 4), (1, 4), TensorShape([]))
        >>> float(model(ids, start_positions=np.array([9]), end_positions=np.array([9])).loss)  # outside: ignored
        0.0
    """

    head = Head.QUESTION_ANSWERING
    metric_outputs = {"start_logits": "start_positions", "end_logits": "end_positions"}

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(config, **kwargs)
        config = self.config  # coerced: also a transformers config or a config.json mapping
        self.albert = self._backbone()
        self.qa_outputs = self._linear_part("qa_outputs")
        self.built = True  # every variable exists now; no build step is needed

    def _canonical_variables(self):
        out = self.albert._canonical_variables()
        out.update(self.qa_outputs.canonical_variables("qa_outputs"))
        return out

    def call(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
             inputs_embeds=None, start_positions=None, end_positions=None, output_attentions=False,
             output_hidden_states=False, training=False):
        """Span start and end logits for every token; inputs as :meth:`TFAlbertModel.call`, positions as above."""
        out = self.albert.call(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                               output_attentions, output_hidden_states, training)
        logits = tf.cast(self.qa_outputs(out.last_hidden_state), tf.float32)
        start_logits, end_logits = tf.unstack(logits, num=2, axis=-1)
        return self._head_output(QuestionAnsweringOutput, out, (start_positions, end_positions),
                                 start_logits=start_logits, end_logits=end_logits)


#: The model class of every head.
MODEL_CLASSES: dict[Head, type[TFAlbertPreTrainedModel]] = {
    Head.BASE: TFAlbertModel,
    Head.PRETRAINING: TFAlbertForPreTraining,
    Head.MASKED_LM: TFAlbertForMaskedLM,
    Head.SEQUENCE_CLASSIFICATION: TFAlbertForSequenceClassification,
    Head.MULTIPLE_CHOICE: TFAlbertForMultipleChoice,
    Head.TOKEN_CLASSIFICATION: TFAlbertForTokenClassification,
    Head.QUESTION_ANSWERING: TFAlbertForQuestionAnswering,
}

__all__ = [
    "ACTIVATION_FNS",
    "MODEL_CLASSES",
    "TFAlbertForMaskedLM",
    "TFAlbertForMultipleChoice",
    "TFAlbertForPreTraining",
    "TFAlbertForPreTrainingOutput",
    "TFAlbertForQuestionAnswering",
    "TFAlbertForSequenceClassification",
    "TFAlbertForTokenClassification",
    "TFAlbertModel",
    "TFAlbertOps",
    "TFAlbertPreTrainedModel",
    "get_activation",
]
