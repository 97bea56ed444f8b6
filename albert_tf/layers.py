"""Keras counterparts of ``torch.nn.Linear``, ``torch.nn.LayerNorm``, ``torch.nn.Embedding`` and ``nn.Dropout``.

:mod:`albert_tf.modeling` builds every ALBERT module from these, so that it reads like :mod:`albert_pt.modeling`.
They differ from the stock Keras layers in three ways, all on purpose:

* variables are created in ``__init__`` (a model has every weight as soon as it exists, no build step);
* casts are explicit and variables are never autocast: under a mixed-precision policy the variables stay float32,
  dense products run in the input's dtype and LayerNorm computes in float32;
* ``__call__`` goes straight to ``call`` (see :class:`Block`), which makes eager execution several times faster.

Each layer knows the canonical (Hugging Face PyTorch) names of its variables (``canonical_variables``); the layout
conversion (TF dense kernels are ``[in, out]``) is done by :mod:`albert_core.weights`.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from albert_core.config import AlbertConfig


def weight_initializer(config: AlbertConfig) -> keras.initializers.Initializer:
    """The original ALBERT's initialiser of every weight matrix and embedding table: a truncated normal."""
    return keras.initializers.TruncatedNormal(stddev=config.initializer_range)


class Block(keras.layers.Layer):
    """Base of albert_tf's layers: variables made in ``__init__``, casts done by hand (no Keras autocast).

    Variables are created with ``autocast=False``: Keras enters a compute-dtype autocast scope around a mixed-policy
    model's call even for layers that opt out of autocasting, and LayerNorm and the embedding tables must read their
    float32 values. A subclass creates its variables and sub-layers, then calls :meth:`finish_init`.
    """

    def __init__(self, **kwargs):
        super().__init__(autocast=False, **kwargs)

    def finish_init(self) -> None:
        """Mark the layer built: every variable exists, so Keras must not try to build it from an input."""
        self.built = True

    def __call__(self, *args, **kwargs):
        # These layers skip Keras' per-call machinery (input conversion, autocast scopes, training-flag inference,
        # masking): their variables exist from construction, every cast is explicit and ``training`` is passed down
        # by hand. This makes eager execution several times faster; graphs are identical.
        return self.call(*args, **kwargs)

    def canonical_variables(self, prefix: str) -> dict[str, Any]:  # pragma: no cover - every subclass overrides it
        """This layer's variables by canonical name, each name starting with ``prefix``."""
        raise NotImplementedError

    def replace_weight(self, name: str, value: Any) -> keras.Variable:
        """Swap the variable held in attribute ``name`` for a new float32 one holding ``value`` (any shape).

        The old variable is untracked, so the layer's and its model's weights hold only the new one, under the
        same name and path.
        """
        old = getattr(self, name)
        value = np.asarray(value, dtype=np.float32)
        trainable = old.trainable
        delattr(self, name)  # Keras untracks a deleted variable
        variable = self.add_weight(shape=value.shape, initializer="zeros", name=name, trainable=trainable,
                                   autocast=False)
        variable.assign(value)
        setattr(self, name, variable)
        return variable


def dropout_layer(rate: float) -> keras.layers.Dropout:
    """A Keras dropout layer, marked built (it has no weights; :func:`apply_dropout` calls its ``call``)."""
    layer = keras.layers.Dropout(rate)
    layer.built = True
    return layer


def apply_dropout(layer: keras.layers.Dropout, x: tf.Tensor, training: bool) -> tf.Tensor:
    """``layer``'s dropout of ``x`` when ``training``; ``x`` itself otherwise (no op in inference graphs)."""
    return layer.call(x, training=training) if training else x


class Dense(Block):
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
        self.kernel = self.add_weight(shape=(in_features, out_features), initializer=weight_initializer(config),
                                      name="kernel", autocast=False)
        self.bias = self.add_weight(shape=(out_features,), initializer="zeros", name="bias", autocast=False)
        self.finish_init()

    def call(self, x: tf.Tensor) -> tf.Tensor:
        y = tf.tensordot(x, tf.cast(self.kernel, x.dtype), axes=1)
        return y + tf.cast(self.bias, x.dtype)

    def canonical_variables(self, prefix: str) -> dict[str, Any]:
        return {f"{prefix}.weight": self.kernel, f"{prefix}.bias": self.bias}


class LayerNorm(Block):
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
        self.finish_init()

    def call(self, x: tf.Tensor) -> tf.Tensor:
        x32 = tf.cast(x, tf.float32)
        mean = tf.reduce_mean(x32, axis=-1, keepdims=True)
        centred = x32 - mean
        var = tf.reduce_mean(tf.square(centred), axis=-1, keepdims=True)
        y = centred * tf.math.rsqrt(var + self.eps) * tf.cast(self.gamma, tf.float32) + tf.cast(self.beta, tf.float32)
        return tf.cast(y, x.dtype)

    def canonical_variables(self, prefix: str) -> dict[str, Any]:
        return {f"{prefix}.weight": self.gamma, f"{prefix}.bias": self.beta}


class EmbeddingTable(Block):
    """A ``[rows, width]`` float32 lookup table; ``call(ids)`` gathers rows: ``ids [...] -> [..., width]``.

    >>> import tensorflow as tf
    >>> from albert_core import AlbertConfig
    >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
    ...                    num_attention_heads=2, intermediate_size=16)
    >>> EmbeddingTable(30, 4, cfg)(tf.constant([[1, 2, 3]])).shape
    TensorShape([1, 3, 4])
    """

    def __init__(self, rows: int, width: int, config: AlbertConfig, **kwargs):
        super().__init__(**kwargs)
        self.embeddings = self.add_weight(shape=(rows, width), initializer=weight_initializer(config),
                                          name="embeddings", autocast=False)
        self.finish_init()

    def call(self, ids: tf.Tensor) -> tf.Tensor:
        return tf.gather(tf.convert_to_tensor(self.embeddings), ids)

    def resize_rows(self, rows: int, config: AlbertConfig) -> None:
        """Give the table ``rows`` rows: the first ``min(old, rows)`` keep their values, new ones are drawn from
        :func:`weight_initializer`.

        >>> import numpy as np
        >>> from albert_core import AlbertConfig
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> table = EmbeddingTable(3, 4, cfg)
        >>> old = table.embeddings.numpy()
        >>> table.resize_rows(5, cfg)
        >>> tuple(table.embeddings.shape), bool(np.array_equal(table.embeddings.numpy()[:3], old))
        ((5, 4), True)
        """
        old = np.asarray(self.embeddings.numpy())
        width = old.shape[1]
        new = np.array(weight_initializer(config)(shape=(rows, width), dtype="float32"))
        keep = min(rows, old.shape[0])
        new[:keep] = old[:keep]
        self.replace_weight("embeddings", new)

    def canonical_variables(self, prefix: str) -> dict[str, Any]:
        return {f"{prefix}.weight": self.embeddings}
