"""ALBERT pre-training with Keras ``compile``/``fit``: the TensorFlow mirror of :mod:`albert_pt.pretraining`.

The data order, loss normalisation, checkpoint layout and metrics are :mod:`albert_core.training`'s, so this loop and
the PyTorch one (same function names, same order) follow the same batches and continue each other's checkpoints::

    from albert_core.training import TrainingConfig
    from albert_tf.pretraining import pretrain
    pretrain(TrainingConfig(data="data/", out="run/", model_config="albert-base-v2", backend="tf",
                            global_batch_size=256, accumulation_steps=8, total_steps=10_000, warmup_steps=500))

What is TensorFlow's own:

* **One Keras step is one update, and so is one Keras epoch**: ``fit(initial_epoch=step, epochs=end_step,
  steps_per_epoch=1)``. The epoch number *is* the update step (resuming is ``initial_epoch``), callbacks at epoch
  ends run at update boundaries (evaluation, history, checkpoints), and :class:`GlobalBatchPreTraining`'s
  ``train_step`` accumulates the micro-batches of the update itself. (Keras' ``gradient_accumulation_steps`` cannot
  run under ``tf.distribute``: its update sits inside a ``cond`` that would hold the cross-replica sum.)
* **Data**: ``strategy.distribute_datasets_from_function`` over a generator of the core's order. Replica ``r`` of
  ``R`` (counted over all workers) takes ``worker_indices(batch, r, R)``, split by
  :func:`~albert_core.training.micro_batches`. Each worker reads the whole global batch: its masked-token count is
  the loss divisor all replicas share, known without a collective.
* **Loss**: each micro-batch adds ``sum(token CE) / masked tokens in the global batch + sum(SOP CE) / global batch
  size``; micro-batch gradients are summed, then the replicas' (the optimizer's cross-replica sum), so N workers match
  one process up to float32 summation order.
* **Optimizer**: :mod:`albert_tf.optim` LAMB/AdamW with :class:`~albert_tf.optim.WarmupPolynomialDecay` read at the
  update count and ``variable_names=model.canonical_variables()``; the global-norm clipping runs *after* the
  cross-replica sum (:class:`ClipAfterAllReduce`; Keras' ``global_clipnorm`` would clip each replica's part).
* **Checkpoints** (the chief only): ``save_pretrained`` plus the moments ``exp_avg``/``exp_avg_sq`` of every variable
  as ``<canonical name>/m`` / ``/v`` in PyTorch layout (dense kernels transposed by
  :func:`albert_core.weights.from_tf_layout`), so :mod:`albert_pt.pretraining` resumes them, and back. The
  schedule position is the optimizer's ``iterations`` (= the step), the data position the step.
* **Dropout**: before each update the Keras dropout seed generators are set from
  :func:`~albert_core.training.step_seed` ``(seed, step)``; they then advance once per micro-batch. A resumed run is
  bit-identical with no RNG stream stored. (All replicas of one update share the seeds; PyTorch also mixes in the
  rank, so dropout masks, unlike everything else, differ between the backends.)
* **Distribution**: ``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names several tasks (call :func:`pretrain`
  first thing in each worker), ``MirroredStrategy`` over several local GPUs, else the default strategy. The chief
  (task ``chief``, else worker 0) writes checkpoints, history and plot.
* **bf16**: the ``mixed_bfloat16`` policy (bfloat16 compute; float32 variables, optimizer slots and loss), refused
  where the device lacks native bfloat16 arithmetic, as in PyTorch (:func:`bf16_support`).

>>> import numpy as np
>>> [b.tolist() for b in replica_micro_batches(np.arange(8), replica=1, num_replicas=2, accumulation_steps=2)]
[[1, 3], [5, 7]]
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import tensorflow as tf

import keras  # Keras 3 directly (never tf.keras: importing transformers can flip tf.keras to Keras 2)

from albert_core.checkpoints.directory import read_directory_config
from albert_core.checkpoints.reading import read_checkpoint
from albert_core.errors import CheckpointError, ConfigError
from albert_core.losses import masked_labels
from albert_core.optim import DEFAULT_BETAS, DEFAULT_EPS, DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY, Schedule
from albert_core.pretraining import PretrainingDataset
from albert_core.training import (
    HISTORY_CSV_FILE,
    HISTORY_PLOT_FILE,
    IGNORE_INDEX,
    History,
    TrainingConfig,
    TrainingProgress,
    check_data_fits_model,
    global_batch,
    load_model_config,
    load_trainer_checkpoint,
    masked_token_count,
    micro_batches,
    mlm_correct,
    plot_history,
    read_batch,
    resolve_resume,
    save_trainer_checkpoint,
    slot_names,
    sop_correct,
    step_seed,
    worker_indices,
    write_history_csv,
)
from albert_core.pretraining.storage import LABEL_FIELDS, MODEL_INPUT_FIELDS
from albert_core.weights import canonical_specs, from_tf_layout, to_tf_layout

from .modeling import TFAlbertForPreTraining
from .optim import AdamW, Lamb, WarmupPolynomialDecay

#: The tensors a forward pass reads from a batch (labels are kept for the loss, computed here).
MODEL_INPUTS = MODEL_INPUT_FIELDS
LABEL_NAMES = LABEL_FIELDS
BACKEND = "tf"


# ---------------------------------------------------------------------------------------------- hardware


def bf16_support() -> tuple[bool, str]:
    """Whether this machine computes in bfloat16 natively, and why not.

    GPUs: compute capability 8.0 (Ampere) or newer, every visible one. No GPU: the CPU needs AVX512-BF16 or AMX
    (TensorFlow would emulate bfloat16 otherwise, slower than float32). A tiny bfloat16 matmul then confirms it.

    >>> supported, reason = bf16_support()
    >>> isinstance(supported, bool) and isinstance(reason, str)
    True
    """
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        for gpu in gpus:
            capability = tuple(tf.config.experimental.get_device_details(gpu).get("compute_capability", (0, 0)))
            if capability < (8, 0):
                return False, f"{gpu.name} has compute capability {capability}; native bfloat16 needs 8.0+ (Ampere)"
        where = "/GPU:0"
    else:
        try:
            flags = set(Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").split())
        except OSError:
            flags = set()
        if not flags & {"avx512_bf16", "amx_bf16"}:
            return False, ("this CPU lacks native bfloat16 instructions (AVX512-BF16 or AMX) and no GPU is visible; "
                           "emulated bfloat16 would be slower than float32")
        where = "/CPU:0"
    try:
        with tf.device(where):
            probe = tf.matmul(tf.ones((4, 4), tf.bfloat16), tf.ones((4, 4), tf.bfloat16))
    except (tf.errors.OpError, RuntimeError) as exc:
        return False, f"a bfloat16 matmul failed on {where}: {exc}"
    if probe.dtype != tf.bfloat16 or float(probe[0, 0]) != 4.0:
        return False, f"{where} did not compute in bfloat16 (got {probe.dtype.name})"
    return True, f"native bfloat16 on {where}"


def set_precision_policy(bf16: bool) -> None:
    """The Keras policy for the models built next: ``mixed_bfloat16`` when ``bf16`` (refused where unsupported),
    else ``float32``.

    >>> set_precision_policy(False); keras.mixed_precision.global_policy().name
    'float32'
    """
    if bf16:
        supported, reason = bf16_support()
        if not supported:
            raise ConfigError(f"bf16: {reason}; run without --bf16")
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if bf16 else "float32")


# ---------------------------------------------------------------------------------------------- distribution


def cluster_task_count() -> int:
    """How many tasks (chief + workers) ``TF_CONFIG`` names; 1 without it.

    >>> cluster_task_count() >= 1
    True
    """
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return 1
    try:
        cluster = json.loads(raw).get("cluster", {})
    except (json.JSONDecodeError, AttributeError) as exc:
        raise ConfigError(f"TF_CONFIG is not a JSON object: {exc}") from None
    return max(1, sum(len(cluster.get(kind, [])) for kind in ("chief", "worker")))


def distribution_strategy() -> tf.distribute.Strategy:
    """``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names several tasks, ``MirroredStrategy`` over several
    local GPUs, else TensorFlow's default strategy (one device: mirroring would only add overhead).

    >>> distribution_strategy().num_replicas_in_sync >= 1
    True
    """
    if cluster_task_count() > 1:
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes checkpoints and history: task ``chief``, else worker 0, else a lone process."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


# ---------------------------------------------------------------------------------------------- the optimizer


class ClipAfterAllReduce:
    """Mix-in for a Keras optimizer: clip the global norm of the *summed* gradient (after the cross-replica sum).

    Keras clips in ``apply`` before ``_backend_update_step`` all-reduces, i.e. each replica's gradient alone; ALBERT
    clips the gradient of the whole batch. Built with ``global_clipnorm=None``; the norm is ``after_reduce_clipnorm``.
    """

    after_reduce_clipnorm: float | None = None

    def _all_reduce_sum_gradients(self, grads_and_vars):  # Keras TF optimizer hook: called on every update
        reduced = list(super()._all_reduce_sum_gradients(grads_and_vars))
        if not self.after_reduce_clipnorm:
            return reduced
        present = [i for i, (grad, _) in enumerate(reduced) if grad is not None]
        clipped, _ = tf.clip_by_global_norm([reduced[i][0] for i in present], self.after_reduce_clipnorm)
        for i, grad in zip(present, clipped):
            reduced[i] = (grad, reduced[i][1])
        return reduced


class ClippedLamb(ClipAfterAllReduce, Lamb):
    """:class:`albert_tf.optim.Lamb` clipping after the cross-replica sum."""


class ClippedAdamW(ClipAfterAllReduce, AdamW):
    """:class:`albert_tf.optim.AdamW` clipping after the cross-replica sum."""


def build_optimizer(model: TFAlbertForPreTraining, config: TrainingConfig) -> keras.optimizers.Optimizer:
    """LAMB or AdamW (ALBERT's, no bias correction) with the warm-up/decay schedule, exclusions by canonical name, and
    clipping after the cross-replica sum; one optimizer step per update.

    >>> from albert_core import AlbertConfig
    >>> cfg = AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
    ...                    intermediate_size=16)
    >>> opt = build_optimizer(TFAlbertForPreTraining(cfg), TrainingConfig("d", "o", "c", optimizer="adamw"))
    >>> type(opt).__name__, opt.after_reduce_clipnorm
    ('ClippedAdamW', 1.0)
    """
    schedule = WarmupPolynomialDecay(Schedule(peak_lr=config.learning_rate, total_steps=config.total_steps,
                                              warmup_steps=config.warmup_steps))
    optimizer_class = ClippedLamb if config.optimizer == "lamb" else ClippedAdamW
    optimizer = optimizer_class(learning_rate=schedule, weight_decay=config.weight_decay,
                                variable_names=model.canonical_variables())
    optimizer.after_reduce_clipnorm = config.clip_norm
    return optimizer


def optimizer_description(config: TrainingConfig) -> dict[str, Any]:
    """The optimiser's name and hyper-parameters, as stored in ``trainer_state.json`` (as :mod:`albert_pt` does)."""
    description = {"name": config.optimizer, "learning_rate": config.learning_rate, "betas": list(DEFAULT_BETAS),
                   "eps": DEFAULT_EPS, "weight_decay": config.weight_decay, "clip_norm": config.clip_norm,
                   "exclude_from_weight_decay": list(DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY),
                   "schedule": {"warmup_steps": config.warmup_steps, "total_steps": config.total_steps,
                                "end_lr": 0.0, "power": 1.0}}
    if config.optimizer == "adamw":
        description["bias_correction"] = False
    return description


# ---------------------------------------------------------------------------------------------- checkpoint state


def optimizer_slots(model: TFAlbertForPreTraining, optimizer: keras.optimizers.Optimizer) -> dict[str, np.ndarray]:
    """The optimizer's moments by canonical name: ``<name>/m`` (``exp_avg``), ``<name>/v`` (``exp_avg_sq``), in
    PyTorch layout (dense kernels transposed back to ``[out, in]``), float32."""
    specs = canonical_specs(model.config, model.head)
    slots: dict[str, np.ndarray] = {}
    for name, variable in model.canonical_variables().items():
        index = optimizer._get_variable_index(variable)
        first, second = slot_names(name)
        slots[first] = from_tf_layout(specs[name], np.asarray(optimizer._exp_avgs[index].numpy(), np.float32))
        slots[second] = from_tf_layout(specs[name], np.asarray(optimizer._exp_avg_sqs[index].numpy(), np.float32))
    return slots


def load_optimizer_slots(model: TFAlbertForPreTraining, optimizer: keras.optimizers.Optimizer,
                         slots: Mapping[str, np.ndarray]) -> None:
    """Assign canonical slots (either backend's checkpoint) to the built optimizer's moment variables.

    Raises :class:`~albert_core.CheckpointError` when a slot is missing, unexpected or of the wrong shape.
    """
    specs = canonical_specs(model.config, model.head)
    variables = model.canonical_variables()
    expected = {slot for name in variables for slot in slot_names(name)}
    missing, unexpected = sorted(expected - set(slots)), sorted(set(slots) - expected)
    if missing or unexpected:
        raise CheckpointError(f"optimizer slots do not match the model: missing {missing[:4]}, "
                              f"unexpected {unexpected[:4]}")
    for name, variable in variables.items():
        index = optimizer._get_variable_index(variable)
        for slot_name, slot in zip(slot_names(name), (optimizer._exp_avgs[index], optimizer._exp_avg_sqs[index])):
            value = to_tf_layout(specs[name], np.asarray(slots[slot_name], np.float32))
            if tuple(value.shape) != tuple(slot.shape):
                raise CheckpointError(f"optimizer slot {slot_name}: shape {value.shape} (TF layout) does not fit "
                                      f"{tuple(slot.shape)}")
            slot.assign(value)


def load_model_weights(model: TFAlbertForPreTraining, checkpoint: str | os.PathLike[str]) -> None:
    """Assign the weights of a trainer checkpoint (either backend's ``model.safetensors``); every tensor must fit."""
    model.load_canonical_state(read_checkpoint(checkpoint, model.config).state, strict=True)


def dropout_seed_states(model: keras.Model) -> list[Any]:
    """The state variables of the model's Keras dropout seed generators, in a stable order."""
    return [v for v in model.non_trainable_variables if v.path.endswith("seed_generator_state")]


def seed_dropout(model: keras.Model, seed: int, step: int) -> None:
    """Set every dropout seed generator from ``step_seed(seed, step)``: the masks of update ``step`` depend on
    nothing else, so a resumed run draws the same ones."""
    base = step_seed(seed, step)
    for position, state in enumerate(dropout_seed_states(model)):
        state.assign(np.array([base, position], dtype=state.dtype))


# ---------------------------------------------------------------------------------------------- the loss


def pretraining_loss_sums(prediction_logits: Any, sop_logits: Any, labels: Any,
                          sentence_order_label: Any) -> tuple[tf.Tensor, tf.Tensor]:
    """``(sum of MLM token cross-entropies, sum of SOP cross-entropies)`` of one micro-batch, in float32.

    >>> import numpy as np
    >>> mlm, sop = pretraining_loss_sums(np.zeros((1, 2, 4), "float32"), np.zeros((1, 2), "float32"),
    ...                                  np.array([[1, -100]]), np.array([0]))
    >>> bool(np.isclose(mlm, np.log(4))), bool(np.isclose(sop, np.log(2)))
    (True, True)
    """
    labels = tf.cast(labels, tf.int32)
    chosen = tf.not_equal(labels, IGNORE_INDEX)
    token_ce = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.where(chosen, labels, 0), logits=tf.cast(prediction_logits, tf.float32))
    order = tf.reshape(tf.cast(sentence_order_label, tf.int32), [-1])
    order_chosen = tf.not_equal(order, IGNORE_INDEX)
    sop_ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.where(order_chosen, order, 0),
                                                            logits=tf.cast(sop_logits, tf.float32))
    return (tf.reduce_sum(tf.where(chosen, token_ce, 0.0)), tf.reduce_sum(tf.where(order_chosen, sop_ce, 0.0)))


class GlobalBatchPreTraining(TFAlbertForPreTraining):
    """:class:`~albert_tf.TFAlbertForPreTraining` whose Keras ``train_step`` makes one update from one global batch.

    ``fit`` data, per replica: ``(features, labels, scales)``, the ``accumulation_steps`` micro-batches stacked on a
    leading axis, and the update's ``mlm_scale = 1 / masked tokens in the global batch`` and ``sop_scale = 1 /
    global batch size``. The step sums the gradients of each micro-batch's share of the loss in a ``tf.while_loop``
    (one micro-batch in memory at a time) and applies them once; the optimizer sums the replicas. Logs ``loss``,
    ``mlm_loss``, ``sop_loss`` of the update. Weights, names and checkpoints are the parent's.
    """

    def __init__(self, config: Any, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.loss_trackers = {name: keras.metrics.Mean(name=name) for name in ("loss", "mlm_loss", "sop_loss")}

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.loss_trackers.values())  # fit resets them each epoch (= update)

    def _maybe_symbolic_build(self, iterator: Any = None, data_batch: Any = None) -> None:
        # Keras hook in fit: pulls a batch and MEAN-reduces it across replicas to build what is unbuilt, which fails
        # for dict batches under MultiWorkerMirroredStrategy. Nothing is unbuilt: the model and the optimizer are
        # built before fit, and nothing but the optimizer is compiled.
        return

    def train_step(self, data: tuple[dict, dict, dict]) -> dict[str, Any]:
        features, labels, scales = data
        variables = self.trainable_variables
        micro_count = tf.shape(features["input_ids"])[0]

        def micro_step(index, mlm_sum, sop_sum, grad_sums):
            token_labels = labels["labels"][index]
            with tf.GradientTape() as tape:
                # the masked-LM head runs at the masked positions only, as in the original recipe
                out = self({name: value[index] for name, value in features.items()}, labels=token_labels,
                           training=True, masked_positions_only=True)
                mlm, sop = pretraining_loss_sums(out["prediction_logits"], out["sop_logits"],
                                                 masked_labels(token_labels, self.ops),
                                                 labels["sentence_order_label"][index])
                loss = mlm * scales["mlm_scale"] + sop * scales["sop_scale"]
            grads = tape.gradient(loss, variables)
            # the tied word embeddings get IndexedSlices plus a dense part: loop variables must be dense tensors
            return (index + 1, mlm_sum + mlm, sop_sum + sop,
                    [total + tf.convert_to_tensor(grad) for total, grad in zip(grad_sums, grads)])

        zeros = [tf.zeros(v.shape, v.dtype) for v in variables]
        _, mlm, sop, grads = tf.while_loop(lambda index, *_: index < micro_count, micro_step,
                                           (tf.constant(0), tf.constant(0.0), tf.constant(0.0), zeros))
        self.optimizer.apply_gradients(zip(grads, variables))
        # each replica holds its share; fit averages the logs over replicas, hence the factor
        replicas = float(tf.distribute.get_strategy().num_replicas_in_sync)
        mlm_loss, sop_loss = mlm * scales["mlm_scale"] * replicas, sop * scales["sop_scale"] * replicas
        values = {"loss": mlm_loss + sop_loss, "mlm_loss": mlm_loss, "sop_loss": sop_loss}
        for name, tracker in self.loss_trackers.items():
            tracker.update_state(values[name])
        # shape [1], not a scalar: fit MEAN-reduces logs along axis 0 under MultiWorkerMirroredStrategy
        return {name: tf.reshape(tracker.result(), [1]) for name, tracker in self.loss_trackers.items()}


# ---------------------------------------------------------------------------------------------- evaluation


def evaluate(model: TFAlbertForPreTraining, dataset: PretrainingDataset, *, batch_size: int,
             max_examples: int | None = None) -> dict[str, float]:
    """MLM accuracy (over masked tokens), SOP accuracy and the mean losses on the first ``max_examples`` examples.

    Dropout is off. Every worker evaluates the same examples (no collective needed); returns ``eval_mlm_accuracy``,
    ``eval_sop_accuracy``, ``eval_mlm_loss``, ``eval_sop_loss``, as :func:`albert_pt.pretraining.evaluate`.
    """
    count = len(dataset) if max_examples is None else min(len(dataset), max_examples)
    totals = np.zeros(6)  # mlm correct, mlm counted, sop correct, sop counted, mlm loss sum, sop loss sum
    for start in range(0, count, batch_size):
        batch = read_batch(dataset, np.arange(start, min(start + batch_size, count)))
        out = model({name: batch[name].astype(np.int32) for name in MODEL_INPUTS}, labels=batch["labels"],
                    training=False, masked_positions_only=True)
        logits, sop_logits = np.asarray(out.prediction_logits, np.float32), np.asarray(out.sop_logits, np.float32)
        labels = np.asarray(masked_labels(tf.constant(batch["labels"]), model.ops))  # the logits rows' positions
        mlm_loss, sop_loss = pretraining_loss_sums(logits, sop_logits, labels, batch["sentence_order_label"])
        totals += np.array([*mlm_correct(logits, labels),
                            *sop_correct(sop_logits, batch["sentence_order_label"]),
                            float(mlm_loss), float(sop_loss)])
    mlm_right, mlm_total, sop_right, sop_total, mlm_sum, sop_sum = totals.tolist()
    return {"eval_mlm_accuracy": mlm_right / mlm_total if mlm_total else float("nan"),
            "eval_sop_accuracy": sop_right / sop_total if sop_total else float("nan"),
            "eval_mlm_loss": mlm_sum / mlm_total if mlm_total else float("nan"),
            "eval_sop_loss": sop_sum / sop_total if sop_total else float("nan")}


# ---------------------------------------------------------------------------------------------- the data


def replica_micro_batches(indices: np.ndarray, replica: int, num_replicas: int,
                          accumulation_steps: int) -> list[np.ndarray]:
    """The micro-batches of global replica ``replica``: its ``worker_indices`` slice, split as the core splits it."""
    return micro_batches(worker_indices(indices, replica, num_replicas), accumulation_steps)


def iter_replica_batches(dataset: PretrainingDataset, config: TrainingConfig, start_step: int, replicas: list[int],
                         num_replicas: int) -> Iterator[tuple[dict, dict, dict]]:
    """``(features, labels, scales)`` of each update from ``start_step`` on, for each of ``replicas`` (this worker's
    global replica ids) in turn, as ``distribute_datasets_from_function`` deals them to the local replicas.

    Arrays are ``[accumulation_steps, micro_batch, ...]`` int32; ``scales`` are the update's ``mlm_scale``
    (1 / masked tokens of the global batch) and ``sop_scale`` (1 / global batch size).
    """
    step = start_step
    while True:  # fit stops after end_step updates
        indices, epochs = global_batch(dataset, step, config.global_batch_size, config.seed)
        # each worker reads the whole global batch: its masked-token count is the loss divisor every replica
        # shares, known without a collective (the cost: workers read each other's examples too)
        batch = read_batch(dataset, indices, epochs)
        scales = {"mlm_scale": np.float32(1.0 / max(masked_token_count(batch["labels"]), 1)),
                  "sop_scale": np.float32(1.0 / config.global_batch_size)}
        positions = np.arange(len(indices))  # positions, not indices: an epoch boundary may repeat an example
        for replica in replicas:
            parts = replica_micro_batches(positions, replica, num_replicas, config.accumulation_steps)
            stacked = {name: np.stack([array[part] for part in parts]).astype(np.int32)
                       for name, array in batch.items()}
            yield ({name: stacked[name] for name in MODEL_INPUTS}, {name: stacked[name] for name in LABEL_NAMES},
                   scales)
        step += 1


def replica_dataset(context: tf.distribute.InputContext, dataset: PretrainingDataset, config: TrainingConfig,
                    start_step: int) -> tf.data.Dataset:
    """The ``tf.data`` pipeline of one worker (input pipeline) for ``distribute_datasets_from_function``."""
    num_replicas = context.num_replicas_in_sync
    local = num_replicas // context.num_input_pipelines
    replicas = [context.input_pipeline_id * local + k for k in range(local)]
    shape = (config.accumulation_steps, config.micro_batch_size_for(num_replicas))
    length = dataset.max_seq_length
    features = {name: tf.TensorSpec((*shape, length), tf.int32) for name in MODEL_INPUTS}
    labels = {"labels": tf.TensorSpec((*shape, length), tf.int32),
              "sentence_order_label": tf.TensorSpec(shape, tf.int32)}
    scales = {name: tf.TensorSpec((), tf.float32) for name in ("mlm_scale", "sop_scale")}
    pipeline = tf.data.Dataset.from_generator(
        lambda: iter_replica_batches(dataset, config, start_step, replicas, num_replicas),
        output_signature=(features, labels, scales))
    return pipeline.prefetch(2)


# ---------------------------------------------------------------------------------------------- the loop


class PretrainingCallback(keras.callbacks.Callback):
    """Around each update (one Keras epoch): dropout seeds; then history, progress, evaluation, checkpoints."""

    def __init__(self, config: TrainingConfig, model: GlobalBatchPreTraining, heldout: PretrainingDataset | None,
                 history: History, *, chief: bool, start_step: int, end_step: int,
                 progress: TrainingProgress) -> None:
        super().__init__()
        self.config, self.albert, self.heldout, self.history = config, model, heldout, history
        self.chief, self.end_step, self.progress = chief, end_step, progress
        self.schedule = Schedule(peak_lr=config.learning_rate, total_steps=config.total_steps,
                                 warmup_steps=config.warmup_steps)
        self.last_checkpoint: Path | None = None
        self.last_eval: dict[str, float] | None = None
        self.step_loss = float("nan")
        self._elapsed_before = history.elapsed
        self._started = time.perf_counter()
        self._interval_examples, self._interval_start = 0, time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        seed_dropout(self.albert, self.config.seed, epoch)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        config, done = self.config, epoch + 1  # epoch = the 0-based update just made
        losses = {name: float(np.asarray(logs[name]).reshape(-1)[0]) for name in ("loss", "mlm_loss", "sop_loss")}
        self.step_loss = losses["loss"]
        lr = self.schedule(epoch)
        self._interval_examples += config.global_batch_size
        evaluate_now = self.heldout is not None and (done == config.total_steps or
                                                     (config.eval_every and done % config.eval_every == 0))
        if evaluate_now:
            self.last_eval = evaluate(self.albert, self.heldout, batch_size=config.micro_batch_size,
                                      max_examples=config.max_eval_examples)
        if evaluate_now or done % config.log_every == 0 or done == config.total_steps:
            now = time.perf_counter()
            self.history.append(step=done, learning_rate=lr, loss=losses["loss"], mlm_loss=losses["mlm_loss"],
                                sop_loss=losses["sop_loss"],
                                eval_mlm_accuracy=self.last_eval["eval_mlm_accuracy"] if evaluate_now else None,
                                eval_sop_accuracy=self.last_eval["eval_sop_accuracy"] if evaluate_now else None,
                                examples_per_second=self._interval_examples / max(now - self._interval_start, 1e-9),
                                elapsed_seconds=self._elapsed_before + now - self._started)
            self._interval_examples, self._interval_start = 0, now
            if evaluate_now:
                self.progress.write(f"step {done}: eval MLM accuracy {self.last_eval['eval_mlm_accuracy']:.4f}, "
                                    f"SOP accuracy {self.last_eval['eval_sop_accuracy']:.4f}")
        self.progress.update(1, loss=losses["loss"], lr=lr)
        if done == self.end_step or (config.save_every and done % config.save_every == 0):
            self.last_checkpoint = self.save(done)

    def save(self, step: int) -> Path | None:
        """The chief writes ``out/checkpoint-STEP`` and the history CSV; other workers write nothing."""
        if not self.chief:
            return None
        path = save_trainer_checkpoint(
            self.config.out, step, config=self.config, backend=BACKEND, optimizer=optimizer_description(self.config),
            model_writer=self.albert.save_pretrained,
            optimizer_slots=optimizer_slots(self.albert, self.albert.optimizer),
            rng_state={"scheme": "step_seed", "seed": self.config.seed}, history=self.history,
            keep=self.config.keep_checkpoints)
        write_history_csv(self.history, Path(self.config.out) / HISTORY_CSV_FILE)
        return path


def pretrain(config: TrainingConfig) -> dict[str, Any]:
    """Run (or resume) pre-training as ``config`` says; return a summary.

    The summary holds ``step`` (updates done), ``checkpoint`` (the last one written, or ``None``; always ``None`` on
    non-chief workers), ``resumed_from``, ``history`` (rows), ``history_csv``, ``plot`` (``None`` without
    matplotlib), ``final_loss`` and ``eval`` (the last evaluation, if any), ``world_size`` (replicas over all
    workers) and ``bf16``: the keys of :func:`albert_pt.pretraining.pretrain`. Under ``TF_CONFIG`` call it first
    thing in each worker process: collective ops must be configured before TensorFlow starts.

    Raises:
        ~albert_core.ConfigError: a bad setting, data that does not fit the model, or ``bf16`` where unsupported.
        ~albert_core.CheckpointError: a resume checkpoint that is broken or does not fit the model.
    """
    strategy = distribution_strategy()  # first: MultiWorkerMirroredStrategy needs an unstarted TensorFlow context
    policy = keras.mixed_precision.global_policy()
    try:
        return _pretrain(config, strategy)
    finally:  # the model keeps its policy; the caller's models built later get theirs back
        keras.mixed_precision.set_global_policy(policy)


def _pretrain(config: TrainingConfig, strategy: tf.distribute.Strategy) -> dict[str, Any]:
    world_size = strategy.num_replicas_in_sync
    config.validate(world_size)
    if config.backend != BACKEND:
        raise ConfigError(f"backend: albert_tf.pretraining runs backend 'tf', got {config.backend!r}")
    set_precision_policy(config.bf16)
    chief = is_chief(strategy)
    train_data = PretrainingDataset(config.data)
    heldout = PretrainingDataset(config.heldout) if config.heldout else None
    out = Path(config.out)
    resume_from = resolve_resume(config)
    history = History()
    start_step = 0
    slots: dict[str, np.ndarray] | None = None
    model_config = load_model_config(config.model_config)
    if resume_from is not None:
        state, slots = load_trainer_checkpoint(resume_from)
        start_step = state.step
        history = History(state.history)
        history.truncate(start_step)
        model_config = read_directory_config(resume_from) or model_config  # the checkpoint's own architecture
        if state.config.optimizer != config.optimizer:
            raise ConfigError(f"optimizer: the checkpoint {resume_from} was trained with {state.config.optimizer}, "
                              f"not {config.optimizer}")
        changed = [name for name in ("global_batch_size", "seed") if getattr(state.config, name) !=
                   getattr(config, name)]
        if changed and chief and not config.quiet:
            print(f"note: {', '.join(changed)} differ from the checkpoint's; the data order from here on is not "
                  "that of an uninterrupted run", file=sys.stderr)
    check_data_fits_model(train_data.index, model_config, "data")
    if heldout is not None:
        check_data_fits_model(heldout.index, model_config, "heldout")
    keras.utils.set_random_seed(config.seed)  # the same initial weights on every worker
    with strategy.scope():
        model = GlobalBatchPreTraining(model_config)
        optimizer = build_optimizer(model, config)
        optimizer.build(model.trainable_variables)
        if resume_from is not None:
            load_model_weights(model, resume_from)
            load_optimizer_slots(model, optimizer, slots)
            optimizer.iterations.assign(start_step)  # the schedule position: one optimizer step per update
        model.compile(optimizer=optimizer, jit_compile=False)
    end_step = config.total_steps if config.stop_at_step is None else min(config.stop_at_step, config.total_steps)
    progress = TrainingProgress(config.total_steps, start_step, enabled=chief and not config.quiet,
                                every=config.log_every)
    callback = PretrainingCallback(config, model, heldout, history, chief=chief, start_step=start_step,
                                   end_step=end_step, progress=progress)
    with progress:
        if chief and resume_from is not None:
            progress.write(f"resuming from {resume_from} at step {start_step}")
        if start_step < end_step:
            dataset = strategy.distribute_datasets_from_function(
                lambda context: replica_dataset(context, train_data, config, start_step))
            model.fit(dataset, initial_epoch=start_step, epochs=end_step, steps_per_epoch=1, callbacks=[callback],
                      shuffle=False, verbose=0)
    plot = None
    if chief:
        write_history_csv(history, out / HISTORY_CSV_FILE)
        plot = plot_history(history, out / HISTORY_PLOT_FILE, verbose=not config.quiet)
    return {"step": max(start_step, end_step), "checkpoint": callback.last_checkpoint, "resumed_from": resume_from,
            "history": history.rows, "history_csv": out / HISTORY_CSV_FILE, "plot": plot,
            "final_loss": callback.step_loss, "eval": callback.last_eval, "world_size": world_size,
            "bf16": config.bf16}


__all__ = [
    "ClippedAdamW",
    "ClippedLamb",
    "GlobalBatchPreTraining",
    "MODEL_INPUTS",
    "bf16_support",
    "build_optimizer",
    "distribution_strategy",
    "evaluate",
    "is_chief",
    "load_optimizer_slots",
    "optimizer_description",
    "optimizer_slots",
    "pretrain",
    "pretraining_loss_sums",
    "replica_dataset",
]
