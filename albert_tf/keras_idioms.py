"""The Keras idioms of :class:`albert_tf.TFAlbertPreTrainedModel`: what a ``keras.Model`` needs and
:class:`albert_pt.AlbertPreTrainedModel` has no twin for, kept out of :mod:`albert_tf.modeling` so that the two
``modeling.py`` files read side by side.

1. :class:`KerasTrainingMixin`: inputs (and labels) as one dict; ``fit``/``evaluate``/``train_on_batch``/
   ``test_on_batch`` with the model's own loss (:meth:`~KerasTrainingMixin.compute_loss`) and label checks reported
   as :class:`~albert_core.InputError` (checked before the compiled step under XLA); ``predict`` returning the
   head's output class; compiled metrics per output;
2. :class:`KerasExportMixin`: the serving signature and SavedModel ``export``; ``get_config`` / ``from_config``
   for ``.keras`` files.

The mixins define no ``__init__`` and hold no state of their own. They use what the model class provides:
``config``, ``head``, ``label_keys``, ``ops`` (its :class:`~albert_core.losses.TensorOps`), ``_input_names`` (the
non-label arguments of ``call``) and ``_to_tensor`` (values to tensors); this module does not import
:mod:`albert_tf.modeling`. They come before ``keras.Model`` in the model's bases, so their methods override
Keras' and their ``super()`` calls reach Keras' implementations.

>>> from albert_tf import TFAlbertPreTrainedModel
>>> [base.__name__ for base in TFAlbertPreTrainedModel.__bases__]
['KerasTrainingMixin', 'KerasExportMixin', 'Model']
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import ClassVar, Iterator, Mapping

import keras  # Keras 3 itself, not ``tf.keras`` (see albert_tf.modeling)
import numpy as np
import tensorflow as tf

from albert_core.config import AlbertConfig
from albert_core.errors import InputError, UsageError
from albert_core.heads import HEADS
from albert_core.losses import NumpyOps, TensorOps, check_label_ranges, head_loss
from albert_core.weights import Head

# A failed label check inside tf.function (TFAlbertOps.guard_range in albert_tf.modeling) surfaces as
# tf.errors.InvalidArgumentError; these markers around its message let the Keras entry points below find it and
# raise InputError instead (see _label_errors_as_input_errors).
_CHECK_START, _CHECK_END = "<<albert-lite InputError: ", ">>"


def _message_of_label_check(error: tf.errors.InvalidArgumentError) -> str | None:
    """The InputError message carried by a failed :meth:`TFAlbertOps.guard_range` check, if ``error`` is one."""
    found = re.search(re.escape(_CHECK_START) + "(.*?)" + re.escape(_CHECK_END), str(error.message), re.DOTALL)
    return found.group(1) if found else None


@contextlib.contextmanager
def _label_errors_as_input_errors() -> Iterator[None]:
    try:
        yield
    except tf.errors.InvalidArgumentError as error:
        message = _message_of_label_check(error)
        if message is None:
            raise
        raise InputError(message) from error


def _clone_metric(metric):
    """A fresh copy of a Keras metric object (same class and config, new state) or the identifier itself."""
    if isinstance(metric, keras.metrics.Metric):
        return type(metric).from_config(metric.get_config())
    return metric


class KerasTrainingMixin:
    """Keras training and inference plumbing of :class:`~albert_tf.TFAlbertPreTrainedModel`.

    Dict inputs, ``fit``/``evaluate``/``train_on_batch``/``test_on_batch`` with the model's own loss and label
    checks, ``predict`` returning the head's output class, and ``compile`` with metrics computed per output.

    >>> import numpy as np
    >>> from albert_core import AlbertConfig
    >>> from albert_tf import TFAlbertForSequenceClassification
    >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=1,
    ...                    num_attention_heads=2, intermediate_size=16)
    >>> model = TFAlbertForSequenceClassification(cfg)
    >>> isinstance(model, KerasTrainingMixin), tuple(model({"input_ids": np.array([[2, 5, 3]])}).logits.shape)
    (True, (1, 2))
    """

    # ------------------------------------------------------------------ Keras: inputs as one dict

    def __call__(self, *args, **kwargs):
        # Keras fit passes the inputs (and labels) as one dict in the first argument; spread it into keyword
        # arguments so that ``call`` has one signature. Keyword arguments given as well take precedence.
        if args and isinstance(args[0], Mapping):
            inputs = dict(args[0])
            known = self._input_names + self.label_keys
            unknown = sorted(set(inputs) - set(known))
            if unknown:
                raise InputError(f"unknown input names {unknown}; expected some of {list(known)}")
            inputs.update({key: value for key, value in kwargs.items() if value is not None})
            args, kwargs = args[1:], inputs
        return super().__call__(*args, **kwargs)

    # ------------------------------------------------------------------ Keras: fit / evaluate

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
        >>> from albert_tf import TFAlbertForSequenceClassification
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
        if labels:
            labels = {name: self._to_tensor(value) for name, value in labels.items()}
            loss = head_loss(self.head, self.config, y_pred, labels, self.ops)
        else:  # the labels came in the input dict: call computed the loss
            loss = None if y_pred is None else y_pred.get("loss")
        if loss is None:
            raise InputError(f"fit/evaluate need labels ({', '.join(self.label_keys)}), in the input dict or as y")
        # Keras sums the replicas' gradients and un-scales the logged loss: each replica's share is 1/R of it
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return loss / replicas if replicas > 1 else loss

    # Inside fit/evaluate the label-range check is a run-time assertion (TFAlbertOps.guard_range); these entry
    # points report its failure as the InputError an eager call raises. Under XLA (compile(jit_compile=True), which
    # Keras' default "auto" picks on GPUs) an assertion compiles to nothing, so there the labels are checked before
    # they reach the compiled step: arrays at once, tf.data datasets by a check mapped over the pipeline.

    def _labels_checked_before_xla(self, x, y):
        if self.run_eagerly or not self.jit_compile:
            return x, y
        if isinstance(x, tf.data.Dataset):
            return x.map(self._check_element_labels), y
        self._check_labels(x, y, NumpyOps())
        return x, y

    def _check_labels(self, x, y, ops: TensorOps) -> dict:
        labels = {k: v for k, v in x.items() if k in self.label_keys} if isinstance(x, Mapping) else {}
        labels.update(self._labels_from_y(y))
        ids = x.get("input_ids") if isinstance(x, Mapping) else x
        num_choices = ids.shape[1] if HEADS[self.head].choices and ids is not None and len(ids.shape) == 3 else None
        if ops is not self.ops:
            labels = {k: np.asarray(v) for k, v in labels.items() if v is not None}
        return check_label_ranges(self.head, self.config, labels, ops, num_choices=num_choices)

    def _check_element_labels(self, *element):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(element if len(element) > 1 else element[0])
        checked = self._check_labels(x, y, self.ops)
        if isinstance(x, Mapping):
            x = {k: checked.get(k, v) if k in self.label_keys else v for k, v in x.items()}
        if y is not None:
            y = {k: checked[k] for k in y} if isinstance(y, Mapping) else checked[self.label_keys[0]]
        return keras.utils.pack_x_y_sample_weight(x, y, sample_weight)

    def fit(self, x=None, y=None, *args, **kwargs):
        """Keras ``fit``; labels out of range raise :class:`~albert_core.InputError` naming the argument."""
        with _label_errors_as_input_errors():
            x, y = self._labels_checked_before_xla(x, y)
            return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """Keras ``evaluate``; labels out of range raise :class:`~albert_core.InputError` naming the argument."""
        with _label_errors_as_input_errors():
            x, y = self._labels_checked_before_xla(x, y)
            return super().evaluate(x, y, *args, **kwargs)

    def train_on_batch(self, x, y=None, *args, **kwargs):
        """Keras ``train_on_batch``; labels out of range raise :class:`~albert_core.InputError`."""
        with _label_errors_as_input_errors():
            x, y = self._labels_checked_before_xla(x, y)
            return super().train_on_batch(x, y, *args, **kwargs)

    def test_on_batch(self, x, y=None, *args, **kwargs):
        """Keras ``test_on_batch``; labels out of range raise :class:`~albert_core.InputError`."""
        with _label_errors_as_input_errors():
            x, y = self._labels_checked_before_xla(x, y)
            return super().test_on_batch(x, y, *args, **kwargs)

    # ------------------------------------------------------------------ Keras: predict

    def predict_step(self, data):
        """Keras ``predict`` on one batch: the output class without ``loss``, labels in the batch ignored.

        ``predict`` and ``predict_on_batch`` therefore return the head's output class (e.g.
        :class:`~albert_core.outputs.SequenceClassifierOutput`) filled with numpy arrays, one row per example
        (``out.logits``, ``out["logits"]``; ``dict(out)`` is the plain dict keyed by the output names).

        >>> import numpy as np
        >>> from albert_core import AlbertConfig
        >>> from albert_tf import TFAlbertForSequenceClassification
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=1,
        ...                    num_attention_heads=2, intermediate_size=16, num_labels=3)
        >>> out = TFAlbertForSequenceClassification(cfg).predict(np.array([[2, 5, 3], [2, 6, 3]]), verbose=0)
        >>> type(out).__name__, type(out.logits).__name__, out.logits.shape
        ('SequenceClassifierOutput', 'ndarray', (2, 3))
        """
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        if isinstance(x, Mapping):
            x = {k: v for k, v in x.items() if k not in self.label_keys}
        out = self(x, training=False)
        return type(out)(**{k: v for k, v in out.items() if k != "loss"})

    # ------------------------------------------------------------------ Keras: compiled metrics

    #: the output whose compiled metrics each label argument feeds, as ``{output name: label name}``
    metric_outputs: ClassVar[dict[str, str]] = {}

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                **kwargs):
        """Keras ``compile``; ``metrics`` are computed on the head's outputs against its labels.

        The loss is always the model's own (:meth:`compute_loss`). ``metrics`` (names such as ``"accuracy"`` or
        Keras metric objects) follow :attr:`metric_outputs`: a list applies to every output of the head (a head
        with two outputs logs ``start_logits_accuracy`` and ``end_logits_accuracy``), a dict keyed by output name
        picks outputs. Labels the loss ignores (-100; question-answering positions outside the sequence) carry
        no weight in any metric, so both ``metrics`` and ``weighted_metrics`` are weighted by that mask.

        >>> import numpy as np, keras
        >>> from albert_core import AlbertConfig
        >>> from albert_tf import TFAlbertForTokenClassification
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=1,
        ...                    num_attention_heads=2, intermediate_size=16, num_labels=3)
        >>> model = TFAlbertForTokenClassification(cfg)
        >>> model.compile(optimizer="sgd", metrics=["accuracy"])
        >>> result = model.evaluate({"input_ids": np.array([[2, 5, 3]])}, np.array([[-100, 1, -100]]),
        ...                         verbose=0, return_dict=True)
        >>> sorted(result), result["accuracy"] in (0.0, 1.0)  # one labelled token: right or wrong
        (['accuracy', 'loss'], True)
        """
        combined = self._metrics_per_output(metrics, weighted_metrics)
        super().compile(optimizer=optimizer, loss=loss, loss_weights=loss_weights, metrics=None,
                        weighted_metrics=combined, **kwargs)

    def compile_from_config(self, config):
        """Compile again from a saved ``.keras`` file's compile config (optimizer, metrics), as Keras does."""
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)  # its slots, before the saved values are loaded

    def _metrics_per_output(self, metrics, weighted_metrics):
        given = [m for m in (metrics, weighted_metrics) if m]
        if not given:
            return None
        outputs = list(self.metric_outputs)
        if not outputs:
            raise UsageError(f"{type(self).__name__} takes no labels, so it has no metrics to compute")
        per_output: dict[str, list] = {name: [] for name in outputs}
        for group in given:
            if isinstance(group, Mapping):
                unknown = sorted(set(group) - set(outputs))
                if unknown:
                    raise UsageError(f"metrics for unknown outputs {unknown}; {type(self).__name__} computes "
                                     f"metrics on {outputs}")
                for name, entry in group.items():
                    per_output[name].extend(entry if isinstance(entry, (list, tuple)) else [entry])
            elif isinstance(group, (list, tuple)):
                for i, name in enumerate(outputs):  # each output gets its own metric object
                    per_output[name].extend(m if i == 0 or isinstance(m, str) else _clone_metric(m) for m in group)
            else:
                raise UsageError(f"metrics must be a list or a dict keyed by output name, got {type(group).__name__}")
        if len(outputs) == 1:
            return per_output[outputs[0]]
        return {name: entries for name, entries in per_output.items() if entries}

    def _metric_targets(self, x, y, y_pred):
        """``(y_true, y_pred, sample_weight)`` for the compiled metrics (``None`` without labels).

        One tensor each for heads with one output, dicts keyed by output name otherwise. The weight is 0 where
        the loss ignores the label, which is then replaced by 0 (any valid class).
        """
        labels = {k: v for k, v in x.items() if k in self.label_keys} if isinstance(x, Mapping) else {}
        labels.update(self._labels_from_y(y))
        y_true, preds, weights = {}, {}, {}
        for output, label_name in self.metric_outputs.items():
            if labels.get(label_name) is None or output not in y_pred:
                continue
            label = tf.convert_to_tensor(labels[label_name])
            pred = y_pred[output]
            if label.dtype.is_integer:
                if self.head is Head.QUESTION_ANSWERING:  # positions clamp to [0, seq]; seq means outside
                    seq = tf.cast(tf.shape(pred)[-1], label.dtype)
                    label = tf.clip_by_value(tf.reshape(label, [-1]), tf.zeros([], label.dtype), seq)
                    keep = tf.not_equal(label, seq)
                else:
                    keep = tf.not_equal(label, tf.cast(-100, label.dtype))
                label = tf.where(keep, label, tf.zeros_like(label))
                weight = tf.cast(keep, tf.float32)
            else:  # regression / multi-label targets: every value counts
                weight = tf.ones(tf.shape(label)[:1], tf.float32)
            y_true[output], preds[output], weights[output] = label, pred, weight
        if not y_true:
            return None
        if len(self.metric_outputs) == 1:
            (output,) = y_true
            return y_true[output], preds[output], weights[output]
        return y_true, preds, weights

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Update the compiled metrics from the head's outputs and labels (see :meth:`compile`)."""
        targets = self._metric_targets(x, y, y_pred) if y_pred is not None else None
        if targets is None:
            return self.get_metrics_result()
        y_true, preds, weights = targets
        return super().compute_metrics(x, y_true, preds, sample_weight=weights)


class KerasExportMixin:
    """Keras export and serialisation of :class:`~albert_tf.TFAlbertPreTrainedModel`: the serving signature,
    SavedModel ``export``, and ``get_config`` / ``from_config`` (``.keras`` files).

    >>> from albert_core import AlbertConfig
    >>> from albert_tf import TFAlbertForMaskedLM
    >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=1,
    ...                    num_attention_heads=2, intermediate_size=16)
    >>> model = TFAlbertForMaskedLM(cfg)
    >>> isinstance(model, KerasExportMixin), [spec.name for spec in model.serving_signature()]
    (True, ['input_ids', 'attention_mask', 'token_type_ids'])
    """

    # ------------------------------------------------------------------ Keras: serving signature, SavedModel

    def serving_signature(self) -> list[tf.TensorSpec]:
        """The input signature of the serving function: int32 ``input_ids``, ``attention_mask``, ``token_type_ids``.

        >>> from albert_core import AlbertConfig
        >>> from albert_tf import TFAlbertForMultipleChoice
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> [tuple(spec.shape) for spec in TFAlbertForMultipleChoice(cfg).serving_signature()][0]
        (None, None, None)
        """
        shape = [None, None, None] if HEADS[self.head].choices else [None, None]
        return [tf.TensorSpec(shape, tf.int32, name=n) for n in ("input_ids", "attention_mask", "token_type_ids")]

    def export_saved_model(self, path: str | os.PathLike[str], verbose: bool = False) -> Path:
        """Export a TensorFlow SavedModel with a ``serving_default`` signature.

        The signature takes int32 ``input_ids``, ``attention_mask`` and ``token_type_ids`` (``[batch, seq]``, or
        ``[batch, choices, seq]`` for multiple choice; any batch and sequence length) and returns a dict of the
        output tensors (``logits``, or ``start_logits``/``end_logits``, ``prediction_logits``/``sop_logits``,
        ``last_hidden_state``/``pooler_output``). Reload with ``tf.saved_model.load(path)`` (no albert-lite needed).

        >>> import tempfile, numpy as np, tensorflow as tf
        >>> from albert_core import AlbertConfig
        >>> from albert_tf import TFAlbertForSequenceClassification
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
        # the first endpoint is also written as the "serving_default" signature
        archive.add_endpoint(name="serve", fn=serve, input_signature=self.serving_signature())
        archive.write_out(str(path), verbose=verbose)
        return path

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs):
        """Keras ``export``: a SavedModel with :meth:`serving_signature` unless ``input_signature`` is given.

        Works right after construction (every variable exists) and after ``fit``. The artefact's ``serve``
        endpoint (also its ``serving_default`` signature) takes int32 ``input_ids``, ``attention_mask`` and
        ``token_type_ids`` of any batch and sequence length and returns a dict of the output tensors, as
        :meth:`export_saved_model`. With an explicit ``input_signature`` (or another ``format``) Keras' own
        exporter runs, calling the model positionally (``input_ids, attention_mask, token_type_ids``).

        >>> import tempfile, numpy as np, tensorflow as tf
        >>> from albert_core import AlbertConfig
        >>> from albert_tf import TFAlbertForMaskedLM
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=1,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     TFAlbertForMaskedLM(cfg).export(d, verbose=False)
        ...     ids = tf.constant([[2, 5, 6, 3]])
        ...     loaded = tf.saved_model.load(d)  # keep it referenced while its functions run
        ...     out = loaded.serve(ids, tf.ones_like(ids), tf.zeros_like(ids))
        >>> tuple(out["logits"].shape)
        (1, 4, 30)
        """
        if format == "tf_saved_model" and input_signature is None and not kwargs:
            self.export_saved_model(filepath, verbose=bool(verbose))
            return
        if input_signature is None:
            input_signature = self.serving_signature()
        super().export(filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs)

    @property
    def _default_save_signature(self):
        # Keras would trace a float32 signature from the build shapes; export_saved_model defines the real one
        return None

    # ------------------------------------------------------------------ Keras: get_config / from_config

    def get_config(self):
        """Keras serialisation: the :class:`~albert_core.AlbertConfig` as a dict, the layer name and ``trainable``.

        The classes are registered with ``keras.saving.register_keras_serializable(package="albert_lite")``, so
        ``model.save("m.keras")`` and ``keras.models.load_model("m.keras")`` need no ``custom_objects`` (the
        weights travel in the ``.keras`` file, not in this dict).

        >>> from albert_core import AlbertConfig
        >>> from albert_tf import TFAlbertModel
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=16)
        >>> TFAlbertModel.from_config(TFAlbertModel(cfg).get_config()).config.hidden_size
        8
        """
        return {"config": self.config.to_dict(), "name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        """Rebuild a freshly initialised model (new weights) from :meth:`get_config` output.

        Args:
            config: a dict holding ``"config"`` (``AlbertConfig.to_dict()``) and optionally ``name``,
                ``trainable`` and (for :class:`~albert_tf.TFAlbertModel`) ``add_pooling_layer``, as :meth:`get_config`
                returns it.

        Returns:
            an instance of ``cls`` built from that configuration.

        Example:
            >>> from albert_core import AlbertConfig
            >>> from albert_tf import TFAlbertForSequenceClassification
            >>> cfg = AlbertConfig(vocab_size=20, embedding_size=8, hidden_size=8, num_hidden_layers=1,
            ...                    num_attention_heads=2, intermediate_size=16, num_labels=3)
            >>> clone = TFAlbertForSequenceClassification.from_config({"config": cfg.to_dict()})
            >>> type(clone).__name__, clone.config == cfg
            ('TFAlbertForSequenceClassification', True)
        """
        config = dict(config)
        albert_config = config.pop("config")
        if not isinstance(albert_config, AlbertConfig):
            albert_config = AlbertConfig.from_dict(albert_config)
        trainable = config.pop("trainable", True)
        model = cls(albert_config, **config)
        model.trainable = trainable
        return model


__all__ = ["KerasExportMixin", "KerasTrainingMixin"]
