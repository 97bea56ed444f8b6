"""Fine-tuning with Keras: :func:`finetune` runs a :class:`~albert_core.finetuning.FinetuneConfig` with
``model.compile`` and ``model.fit``.

The mirror of :func:`albert_pt.finetune.finetune`: the same rows in the same batches
(:class:`FinetuneBatches`, a ``tf.data`` pipeline following :func:`albert_core.finetuning.run.epoch_batches`), AdamW
(:class:`albert_tf.optim.AdamW` with ``bias_correction=True``; decay excluded by canonical name as in PyTorch) on the
warm-up/decay schedule as a Keras ``LearningRateSchedule`` (:class:`albert_tf.optim.WarmupPolynomialDecay`),
``global_clipnorm`` clipping, and three callbacks: :class:`TaskMetricCallback` (the task metric on the evaluation
data after each epoch, added to the logs as ``eval_<name>``), :class:`BestPretrainedCheckpoint` (``save_pretrained``
and the tokenizer into ``OUT/best`` when the metric improves) and :class:`StepHistory` (one history row per update).

With ``bf16=True`` the model is built under the Keras ``mixed_bfloat16`` policy
(``albert_tf.pretraining.set_precision_policy``): layers compute in bfloat16, the variables, the optimizer slots
and the loss stay float32, and the caller's global policy is restored afterwards (also after an error). It is refused
(:class:`~albert_core.ConfigError`) where :func:`albert_tf.pretraining.bf16_support` finds no native bfloat16
arithmetic, as in pre-training. A model passed in must then have been built under ``mixed_bfloat16`` itself.

>>> import tempfile
>>> from albert_core.filenames import DEFAULT_MODEL_DIR
>>> from albert_core.finetuning import FinetuneConfig
>>> data = [{"sentence": "My lord, the king.", "label": "verse"}, {"sentence": "Good morrow.", "label": "prose"}]
>>> config = FinetuneConfig(task="classification", model=str(DEFAULT_MODEL_DIR), out=tempfile.mkdtemp(),
...                         epochs=1, batch_size=2, max_length=16, quiet=True, backend="tf")
>>> result = finetune(config, train_data=data, eval_data=data)
>>> result.steps, result.best_epoch, sorted(result.labels.names)
(1, 1, ['prose', 'verse'])
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import keras
import numpy as np

from albert_core import AlbertConfig, AlbertTokenizer
from albert_core.errors import ConfigError, PartialLoadWarning
from albert_core.finetuning import FinetuneConfig, FinetuneResult, RunData, prepare_run
from albert_core.finetuning.features import OUTPUT_NAMES, TaskFeatures, evaluate_outputs
from albert_core.finetuning.run import BestTracker, RunRecorder, epoch_batches, progress_bar, save_best
from albert_core.training import TrainingProgress

from .modeling import MODEL_CLASSES
from .optim import AdamW, WarmupPolynomialDecay
from .pretraining import set_precision_policy


def load_model(config: FinetuneConfig, data: RunData) -> keras.Model:
    """The task head of ``config.model`` for the run's labels (the new head is initialised; the
    ``PartialLoadWarning`` saying so is silenced when ``quiet``)."""
    model_config = data.model_config(AlbertConfig.from_pretrained(config.model))
    with warnings.catch_warnings():
        if config.quiet:
            warnings.simplefilter("ignore", PartialLoadWarning)
        return MODEL_CLASSES[config.head].from_pretrained(config.model, config=model_config)


class FinetuneBatches:
    """The training batches of every epoch in the order of :func:`albert_core.finetuning.run.epoch_batches` (the
    PyTorch loop's order), as one ``tf.data.Dataset`` of ``(inputs, labels)`` dicts over all epochs.

    ``fit`` reads it with ``steps_per_epoch=len(batches)``, so Keras carries one iterator across the epochs and the
    order cannot depend on when Keras prefetches or calls back.
    """

    def __init__(self, features: TaskFeatures, batch_size: int, seed: int) -> None:
        self.features, self.batch_size, self.seed = features, batch_size, seed

    def __len__(self) -> int:
        return math.ceil(self.features.num_rows / self.batch_size)

    def batch_rows(self, epoch: int, index: int) -> np.ndarray:
        """The rows of batch ``index`` of 0-based ``epoch``."""
        return epoch_batches(self.features.num_rows, self.batch_size, self.seed, epoch)[index]

    def dataset(self, epochs: int) -> Any:
        """Every batch of ``epochs`` epochs, in order."""
        import tensorflow as tf

        inputs, labels = self.features.inputs, self.features.labels

        def generate():
            for epoch in range(epochs):
                for rows in epoch_batches(self.features.num_rows, self.batch_size, self.seed, epoch):
                    yield {k: v[rows] for k, v in inputs.items()}, {k: v[rows] for k, v in labels.items()}

        def spec(arrays: dict[str, np.ndarray]) -> dict[str, Any]:
            return {k: tf.TensorSpec((None, *v.shape[1:]), tf.as_dtype(v.dtype)) for k, v in arrays.items()}

        return tf.data.Dataset.from_generator(generate, output_signature=(spec(inputs), spec(labels)))


def predict_outputs(model: keras.Model, features: TaskFeatures, batch_size: int) -> dict[str, np.ndarray]:
    """The model's outputs the task's metric reads, on every row of ``features`` (inference mode)."""
    names = OUTPUT_NAMES[features.task]
    parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for start in range(0, features.num_rows, batch_size):
        output = model({k: v[start:start + batch_size] for k, v in features.inputs.items()}, training=False)
        for name in names:
            parts[name].append(np.asarray(output[name], dtype=np.float32))
    return {name: np.concatenate(arrays) for name, arrays in parts.items()}


class TaskMetricCallback(keras.callbacks.Callback):
    """After each epoch, the task metrics of :func:`albert_core.finetuning.features.evaluate_outputs` on the evaluation
    data, added to the epoch's logs as ``eval_<name>`` (so Keras' ``History`` and later callbacks see them)."""

    def __init__(self, data: RunData) -> None:
        super().__init__()
        self.data = data
        self.results: list[dict[str, float]] = []

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        assert self.data.eval is not None
        outputs = predict_outputs(self.model, self.data.eval, self.data.config.eval_batch_size)
        metrics = evaluate_outputs(self.data.eval, outputs, self.data.labels,
                                   version_2_with_negative=self.data.config.version_2_with_negative)
        self.results.append(metrics)
        if logs is not None:
            logs.update({f"eval_{k}": v for k, v in metrics.items()})


class BestPretrainedCheckpoint(keras.callbacks.Callback):
    """Saves the model (``save_pretrained``), the tokenizer and ``finetune.json`` into ``OUT/best`` when the
    epoch's ``eval_<metric>`` (from :class:`TaskMetricCallback`) is the best so far (every epoch's end when there
    is no evaluation: the last one stays)."""

    def __init__(self, config: FinetuneConfig, tokenizer: Any, evaluating: bool) -> None:
        super().__init__()
        self.config, self.tokenizer, self.evaluating = config, tokenizer, evaluating
        self.tracker = BestTracker(config.metric_name)
        self.best_dir = None
        self.improved: list[bool] = []

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        logs = logs or {}
        metrics = {k[len("eval_"):]: v for k, v in logs.items() if k.startswith("eval_")} if self.evaluating else None
        improved = self.tracker.update(epoch + 1, metrics) if metrics is not None else True
        self.improved.append(improved)
        if improved:
            step = int(self.model.optimizer.iterations.numpy())
            self.best_dir = save_best(self.config.out, self.model.save_pretrained, self.tokenizer, {
                "epoch": epoch + 1, "step": step, "metrics": metrics, "backend": "tf",
                "config": self.config.to_dict()})


class StepHistory(keras.callbacks.Callback):
    """One :class:`~albert_core.finetuning.run.RunRecorder` row per update (learning rate, the batch's loss), the
    epoch records, and the progress bar.

    Keras logs the running mean of the loss over the epoch, weighted by batch size; the batch's own loss is
    recovered from two consecutive means."""

    def __init__(self, recorder: RunRecorder, batches: FinetuneBatches, schedule: Any, progress: TrainingProgress,
                 evaluating: bool) -> None:
        super().__init__()
        self.recorder, self.batches, self.schedule, self.progress = recorder, batches, schedule, progress
        self.evaluating = evaluating
        self.started = time.perf_counter()
        self.step = 0

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._epoch, self._seen, self._mean, self._losses = epoch, 0, 0.0, []

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        size = len(self.batches.batch_rows(self._epoch, batch))
        mean = float(logs["loss"])
        loss = (mean * (self._seen + size) - self._mean * self._seen) / size
        self._seen, self._mean = self._seen + size, mean
        self._losses.append(loss)
        learning_rate = float(self.schedule(self.step))
        self.step += 1
        self.recorder.log_step(self.step, learning_rate, loss, time.perf_counter() - self.started)
        self.progress.update(1, loss=loss, lr=learning_rate)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        logs = logs or {}
        metrics = {k[len("eval_"):]: v for k, v in logs.items() if k.startswith("eval_")} if self.evaluating else None
        self.recorder.log_epoch(epoch + 1, self.step, metrics, self._mean)
        if metrics:
            shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
            self.progress.write(f"epoch {epoch + 1}: train loss {self._mean:.4f}; eval {shown}")


def finetune(config: FinetuneConfig, *, train_data: Any = None, eval_data: Any = None,
             model: keras.Model | None = None, tokenizer: Any = None) -> FinetuneResult:
    """Fine-tune ``config.model`` on the task with Keras ``fit``; arguments and result as
    :func:`albert_pt.finetune.finetune`.

    Raises:
        ~albert_core.ConfigError: for bad settings, for ``bf16`` where bfloat16 is not native or with a ``model``
            passed in that does not compute in bfloat16; ~albert_core.InputError: for malformed data.
    """
    config.validate()
    policy = keras.mixed_precision.global_policy()
    try:
        set_precision_policy(config.bf16)  # refused before any data is read; the model built next follows it
        return _finetune(config, train_data, eval_data, model, tokenizer)
    finally:  # the model keeps its policy; the caller's models built later get theirs back
        keras.mixed_precision.set_global_policy(policy)


def _finetune(config: FinetuneConfig, train_data: Any, eval_data: Any, model: keras.Model | None,
              tokenizer: Any) -> FinetuneResult:
    tokenizer = tokenizer if tokenizer is not None else AlbertTokenizer.from_pretrained(config.model)
    data = prepare_run(config, tokenizer, train_data, eval_data)
    keras.utils.set_random_seed(config.seed)  # the new head's initial weights and dropout
    model = model if model is not None else load_model(config, data)
    if config.bf16 and model.compute_dtype != "bfloat16":
        raise ConfigError(f"bf16: the model passed in computes in {model.compute_dtype}, not bfloat16; build it "
                          "under the Keras 'mixed_bfloat16' policy, or leave model out")
    schedule = WarmupPolynomialDecay(data.schedule)
    optimizer = AdamW(learning_rate=schedule, weight_decay=config.weight_decay, bias_correction=True,
                      global_clipnorm=config.clip_norm, variable_names=model.canonical_variables())
    model.compile(optimizer=optimizer, jit_compile=False)
    batches = FinetuneBatches(data.train, config.batch_size, config.seed)
    recorder = RunRecorder(config.metric_name, bf16=config.bf16)
    evaluating = data.eval is not None
    checkpoint = BestPretrainedCheckpoint(config, tokenizer, evaluating)
    with progress_bar(config, data.total_steps, "tf") as progress:
        callbacks: list[keras.callbacks.Callback] = []
        if evaluating:
            callbacks.append(TaskMetricCallback(data))
        callbacks += [checkpoint, StepHistory(recorder, batches, data.schedule, progress, evaluating)]
        model.fit(batches.dataset(config.epochs), epochs=config.epochs, steps_per_epoch=len(batches),
                  shuffle=False, callbacks=callbacks, verbose=0)
    tracker = checkpoint.tracker
    best = {"epoch": tracker.best_epoch, config.metric_name: tracker.best_value}
    files = recorder.write(config.out, best, quiet=config.quiet)
    return FinetuneResult(model=model, metric=config.metric_name, best_metric=tracker.best_value,
                          best_epoch=tracker.best_epoch, epochs=recorder.epochs,
                          steps=int(model.optimizer.iterations.numpy()), best_dir=checkpoint.best_dir, files=files,
                          labels=data.labels, bf16=config.bf16)


__all__ = ["BestPretrainedCheckpoint", "FinetuneBatches", "StepHistory", "TaskMetricCallback",
           "finetune",
           "load_model", "predict_outputs"]
