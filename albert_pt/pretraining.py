"""ALBERT pre-training in PyTorch: MLM + SOP, LAMB/AdamW, accumulation, bf16, DDP/FSDP under torchrun, exact resume.

The data order, loss normalisation, checkpoint layout and metrics are :mod:`albert_core.training`'s, so this loop and
the Keras one in :mod:`albert_tf.pretraining` (same function names) follow the same batches and continue each other's
checkpoints. One process::

    from albert_core.training import TrainingConfig
    from albert_pt.pretraining import pretrain
    pretrain(TrainingConfig(data="data/", out="run/", model_config="albert-base-v2", global_batch_size=256,
                            accumulation_steps=8, total_steps=10_000, warmup_steps=500))

Several processes: ``torchrun --nproc_per_node N`` (or several nodes) running the same call or ``albert pretrain``;
each process reads only its slice of every global batch (``indices[rank::N]``), gradients are averaged by
DistributedDataParallel (gloo on CPU, NCCL on GPUs), rank 0 writes the checkpoints. ``fsdp=True`` shards parameters,
gradients and optimizer slots instead (FSDP2 ``fully_shard``), for models that do not fit one device; checkpoints
are gathered to full tensors on rank 0, so they look exactly like the unsharded ones.

**Exactness.** The gradient of an update is that of ``sum(token CE) / masked tokens in the global batch + sum(SOP
CE) / global batch size``, whatever the split over workers and micro-batches, so N workers match one process up to
float32 summation order. Dropout is re-seeded per micro-batch from ``(seed, step, rank, micro-batch)``
(:func:`albert_core.training.step_seed`), and the data position is the step, so a resumed run is bit-identical to an
uninterrupted one without storing any RNG stream.

**bf16** (``bf16=True``): the forward pass runs under ``torch.autocast(dtype=torch.bfloat16)``, the weights, optimizer
slots and the loss stay float32. It is refused (:class:`~albert_core.ConfigError`) where the hardware lacks native
bfloat16 arithmetic, since emulation is slower than float32 (see :func:`bf16_support`).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from albert_core.checkpoints import save_safetensors_checkpoint
from albert_core.errors import CheckpointError, ConfigError
from albert_core.heads import Head
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

from albert_core.pretraining.storage import MODEL_INPUT_FIELDS

from .kernels import use_training_gemm
from .modeling import AlbertForPreTraining, AlbertOps
from .optim import AdamW, Lamb, clip_grad_norm

#: The tensors a forward pass reads from a batch (labels are kept for the loss, computed here).
MODEL_INPUTS = MODEL_INPUT_FIELDS


# ---------------------------------------------------------------------------------------------- hardware


def bf16_support(device: torch.device | str = "cpu") -> tuple[bool, str]:
    """Whether ``device`` computes in bfloat16 natively, and why not.

    CUDA: ``torch.cuda.is_bf16_supported`` without emulation (Ampere or newer). CPU: oneDNN's bfloat16 check
    (AVX512-BF16 or AMX instructions); without them PyTorch emulates bfloat16, slower than float32. A tiny
    autocast matmul then confirms the kernels run and really produce bfloat16.

    >>> supported, reason = bf16_support("cpu")
    >>> isinstance(supported, bool) and isinstance(reason, str)
    True
    """
    device = torch.device(device)
    if device.type == "cuda":
        try:
            native = torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:  # older torch has no including_emulation
            native = torch.cuda.is_bf16_supported()
        if not native:
            return False, f"{torch.cuda.get_device_name(device)} has no native bfloat16 support (needs Ampere+)"
    elif device.type == "cpu":
        capability = torch.backends.cpu.get_cpu_capability()
        try:
            native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):  # private oneDNN probe gone: fall back to the ISA level torch reports
            native = "AVX512" in capability or "AMX" in capability
        if not (torch.backends.mkldnn.is_available() and native):
            return False, (f"this CPU (PyTorch capability {capability}) lacks native bfloat16 instructions "
                           "(AVX512-BF16 or AMX); emulated bfloat16 would be slower than float32")
    else:
        return False, f"bf16 autocast is not supported on device type {device.type!r} by this trainer"
    try:
        with torch.autocast(device.type, dtype=torch.bfloat16):
            probe = torch.ones(4, 4, device=device) @ torch.ones(4, 4, device=device)
    except RuntimeError as exc:
        return False, f"a bfloat16 autocast matmul failed on {device}: {exc}"
    if probe.dtype != torch.bfloat16 or float(probe[0, 0]) != 4.0:
        return False, f"autocast on {device} did not compute in bfloat16 (got {probe.dtype})"
    return True, f"native bfloat16 on {device}"


# ---------------------------------------------------------------------------------------------- distribution


@dataclass
class DistributedContext:
    """Rank, world size and device of this process; ``created`` when :meth:`from_environment` started the group."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    created: bool = False

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_environment(cls) -> "DistributedContext":
        """Join the process group torchrun describes (``WORLD_SIZE``/``RANK``/``MASTER_ADDR``, env:// init).

        GPUs use NCCL with one device per local rank; CPUs use gloo. Without torchrun's variables this is one
        process on ``cuda:0`` or the CPU.
        """
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        cuda = torch.cuda.is_available()
        device = torch.device(f"cuda:{local_rank}" if cuda else "cpu")
        if cuda:
            torch.cuda.set_device(device)
        if world_size <= 1:
            return cls(device=device)
        created = False
        if not torch.distributed.is_initialized():
            torch.distributed.init_process_group(backend="nccl" if cuda else "gloo", init_method="env://")
            created = True
        return cls(rank=torch.distributed.get_rank(), world_size=torch.distributed.get_world_size(),
                   local_rank=local_rank, device=device, created=created)

    def all_sum(self, values: list[float]) -> list[float]:
        """Sum a few numbers over all processes (float64 so counts stay exact)."""
        if not self.distributed:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        torch.distributed.all_reduce(tensor)
        return tensor.tolist()

    def barrier(self) -> None:
        if self.distributed:
            torch.distributed.barrier()

    def broadcast_object(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank (so all ranks resume from the same checkpoint)."""
        if not self.distributed:
            return value
        box = [value]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def close(self) -> None:
        if self.created and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


# ---------------------------------------------------------------------------------------------- optimizer


def build_optimizer(model: torch.nn.Module, config: TrainingConfig) -> torch.optim.Optimizer:
    """LAMB or AdamW (ALBERT's, no bias correction) over ``model.named_parameters()`` at ``config.learning_rate``.

    >>> from albert_core import AlbertConfig
    >>> from albert_core.training import TrainingConfig
    >>> cfg = AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
    ...                    intermediate_size=16)
    >>> opt = build_optimizer(AlbertForPreTraining(cfg), TrainingConfig("d", "o", "c", optimizer="adamw"))
    >>> type(opt).__name__, opt.param_groups[0]["lr"]
    ('AdamW', 0.00176)
    """
    named = list(model.named_parameters())
    if config.optimizer == "lamb":
        return Lamb(named, lr=config.learning_rate, weight_decay=config.weight_decay)
    return AdamW(named, lr=config.learning_rate, weight_decay=config.weight_decay, bias_correction=False)


def optimizer_description(config: TrainingConfig) -> dict[str, Any]:
    """The optimiser's name and hyper-parameters, as stored in ``trainer_state.json``."""
    description = {"name": config.optimizer, "learning_rate": config.learning_rate, "betas": list(DEFAULT_BETAS),
                   "eps": DEFAULT_EPS, "weight_decay": config.weight_decay, "clip_norm": config.clip_norm,
                   "exclude_from_weight_decay": list(DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY),
                   "schedule": {"warmup_steps": config.warmup_steps, "total_steps": config.total_steps,
                                "end_lr": 0.0, "power": 1.0}}
    if config.optimizer == "adamw":
        description["bias_correction"] = False
    return description


def optimizer_slots(model: AlbertForPreTraining, optimizer: torch.optim.Optimizer) -> dict[str, np.ndarray]:
    """The Adam moments of every trainable parameter as ``<canonical name>/m`` and ``/v`` (float32, PyTorch layout).

    Parameters without state yet (no update made) get zeros, which is what the first update starts from.
    ``model`` is the unwrapped model (its parameter names are the canonical names).
    """
    slots: dict[str, np.ndarray] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        state = optimizer.state.get(param, {})
        m_name, v_name = slot_names(name)
        for slot, key in ((m_name, "exp_avg"), (v_name, "exp_avg_sq")):
            value = state.get(key)
            slots[slot] = (np.zeros(tuple(param.shape), np.float32) if value is None
                           else value.detach().to("cpu", torch.float32).numpy().copy())
    return slots


def load_optimizer_slots(model: AlbertForPreTraining, optimizer: torch.optim.Optimizer,
                         slots: dict[str, np.ndarray], step: int) -> None:
    """Put canonical ``/m``, ``/v`` slots (from either backend) into the optimizer state of ``model``'s parameters.

    Raises :class:`~albert_core.CheckpointError` when a trainable tensor has no slots or a shape differs.
    """
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        m_name, v_name = slot_names(name)
        if m_name not in slots or v_name not in slots:
            raise CheckpointError(f"optimizer slots for {name} are missing from the checkpoint")
        state = {"step": torch.tensor(float(step), dtype=torch.float32)}
        for slot, key in ((m_name, "exp_avg"), (v_name, "exp_avg_sq")):
            array = np.asarray(slots[slot], dtype=np.float32)
            if tuple(array.shape) != tuple(param.shape):
                raise CheckpointError(f"optimizer slot {slot} has shape {array.shape}, the parameter "
                                      f"{tuple(param.shape)}")
            state[key] = torch.from_numpy(array.copy()).to(param.device, param.dtype)
        optimizer.state[param] = state


# ---------------------------------------------------------------------------------------------- the loss


def _to_device(batch: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    return {name: torch.from_numpy(array).to(device) for name, array in batch.items()}


def bf16_autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager:
    """``torch.autocast`` to bfloat16 on ``device``'s type when ``bf16``, else a context that changes nothing (the
    mixed-precision scope of pre-training and fine-tuning).

    >>> with bf16_autocast(torch.device("cpu"), True):
    ...     (torch.ones(2, 2) @ torch.ones(2, 2)).dtype
    torch.bfloat16
    """
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def pretraining_loss_sums(model: torch.nn.Module, batch: dict[str, torch.Tensor], bf16: bool = False
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(sum of MLM token cross-entropies, sum of SOP cross-entropies)`` of one micro-batch, in float32.

    The masked-LM head runs at the masked positions only (``masked_positions_only``), as in the original recipe.
    """
    labels = batch["labels"]
    with bf16_autocast(labels.device, bf16):
        out = model(**{name: batch[name] for name in MODEL_INPUTS}, labels=labels, masked_positions_only=True)
    logits = out.prediction_logits.float()
    mlm = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), masked_labels(labels, AlbertOps()).reshape(-1),
                          reduction="sum")
    sop = F.cross_entropy(out.sop_logits.float(), batch["sentence_order_label"].reshape(-1),
                          ignore_index=IGNORE_INDEX, reduction="sum")
    return mlm, sop


# ---------------------------------------------------------------------------------------------- evaluation


@torch.no_grad()
def evaluate(model: torch.nn.Module, dataset: PretrainingDataset, *, batch_size: int,
             max_examples: int | None = None, bf16: bool = False, context: DistributedContext | None = None,
             ) -> dict[str, float]:
    """MLM accuracy (over masked tokens), SOP accuracy and the mean losses on the first ``max_examples`` examples.

    Under several processes each evaluates ``indices[rank::world]`` and the counts are summed, so the result is the
    one process's. Returns ``eval_mlm_accuracy``, ``eval_sop_accuracy``, ``eval_mlm_loss``, ``eval_sop_loss``.
    """
    context = context or DistributedContext()
    count = len(dataset) if max_examples is None else min(len(dataset), max_examples)
    mine = worker_indices(np.arange(count - count % context.world_size), context.rank, context.world_size)
    # the examples that do not split evenly go to rank 0, so every example counts exactly once
    if context.is_main and count % context.world_size:
        mine = np.concatenate([mine, np.arange(count - count % context.world_size, count)])
    # every rank runs the same number of forward passes: FSDP gathers parameters collectively in each one
    # rank 0 holds the most examples; every rank makes as many passes as it does
    passes = math.ceil((count // context.world_size + count % context.world_size) / batch_size)
    was_training = model.training
    model.eval()
    totals = np.zeros(6)  # mlm correct, mlm counted, sop correct, sop counted, mlm loss sum, sop loss sum
    for index in range(passes):
        chunk = mine[index * batch_size:(index + 1) * batch_size]
        weight = 1.0
        if len(chunk) == 0:  # this rank ran out: a dummy pass that keeps FSDP's collectives in step
            chunk, weight = np.arange(min(batch_size, count)), 0.0
        batch = _to_device(read_batch(dataset, chunk), context.device)
        labels, order = batch["labels"], batch["sentence_order_label"].reshape(-1)
        with bf16_autocast(context.device, bf16):
            out = model(**{name: batch[name] for name in MODEL_INPUTS}, labels=labels, masked_positions_only=True)
        logits, sop_logits = out.prediction_logits.float(), out.sop_logits.float()
        labels = masked_labels(labels, AlbertOps())  # the positions of the logits rows
        mlm_loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="sum")
        sop_loss = F.cross_entropy(sop_logits, order, ignore_index=IGNORE_INDEX, reduction="sum")
        totals += weight * np.array([*mlm_correct(logits.cpu().numpy(), labels.cpu().numpy()),
                                     *sop_correct(sop_logits.cpu().numpy(), order.cpu().numpy()),
                                     float(mlm_loss), float(sop_loss)])
    model.train(was_training)
    if hasattr(model, "reshard"):  # FSDP keeps the root's gathered parameters after a forward without backward
        model.reshard()
    mlm_right, mlm_total, sop_right, sop_total, mlm_sum, sop_sum = context.all_sum(totals.tolist())
    return {"eval_mlm_accuracy": mlm_right / mlm_total if mlm_total else float("nan"),
            "eval_sop_accuracy": sop_right / sop_total if sop_total else float("nan"),
            "eval_mlm_loss": mlm_sum / mlm_total if mlm_total else float("nan"),
            "eval_sop_loss": sop_sum / sop_total if sop_total else float("nan")}


# ---------------------------------------------------------------------------------------------- wrapping


def _wrap(model: AlbertForPreTraining, config: TrainingConfig, context: DistributedContext) -> torch.nn.Module:
    """DDP, FSDP (``fully_shard``: parameters become DTensors sharded on dim 0, in place) or the model itself."""
    if config.fsdp:
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import fully_shard

        if not context.distributed:
            raise ConfigError("fsdp needs several processes: launch with torchrun --nproc_per_node N")
        # ALBERT shares one layer group across depth, so the whole model is one FSDP unit; fully_shard (FSDP2)
        # also runs on CPU hosts with gloo, unlike the older FullyShardedDataParallel wrapper
        mesh = init_device_mesh(context.device.type, (context.world_size,))
        # the outputs are only read out of place here, so FSDP's warning about returning views does not apply
        warnings.filterwarnings("ignore", message=r"FSDP2-wrapped module .* returned a view tensor")
        return fully_shard(model, mesh=mesh)
    if not context.distributed:
        return model
    device_ids = [context.device.index] if context.device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)


def _full(tensor: torch.Tensor) -> np.ndarray:
    """A float32 numpy copy of a tensor; DTensor shards are all-gathered first (a collective under FSDP)."""
    if hasattr(tensor, "full_tensor"):
        tensor = tensor.full_tensor()
    return tensor.detach().to("cpu", torch.float32).numpy().copy()


def _gather_checkpoint_tensors(model: AlbertForPreTraining, optimizer: torch.optim.Optimizer, config: TrainingConfig
                               ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Canonical weights and optimizer slots as full tensors (every rank must call it under FSDP)."""
    if not config.fsdp:
        return model.canonical_state(), optimizer_slots(model, optimizer)
    model.reshard()  # register the sharded parameters again: they are the optimizer's keys
    weights: dict[str, np.ndarray] = {}
    slots: dict[str, np.ndarray] = {}
    for name, param in model.named_parameters():  # the same order on every rank keeps the gathers matched
        weights[name] = _full(param)
        state = optimizer.state.get(param, {})
        for slot, key in zip(slot_names(name), ("exp_avg", "exp_avg_sq")):
            slots[slot] = np.zeros_like(weights[name]) if key not in state else _full(state[key])
    return weights, slots


def _load_sharded_optimizer_slots(model: AlbertForPreTraining, optimizer: torch.optim.Optimizer,
                                  slots: dict[str, np.ndarray], step: int) -> None:
    """:func:`load_optimizer_slots` for FSDP: each rank keeps the shard of every full slot its parameter has."""
    from torch.distributed.tensor import distribute_tensor

    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        state = {"step": torch.tensor(float(step), dtype=torch.float32)}
        for slot, key in zip(slot_names(name), ("exp_avg", "exp_avg_sq")):
            if slot not in slots:
                raise CheckpointError(f"optimizer slot {slot} is missing from the checkpoint")
            full = torch.from_numpy(np.asarray(slots[slot], np.float32).copy()).to(param.device_mesh.device_type)
            if tuple(full.shape) != tuple(param.shape):
                raise CheckpointError(f"optimizer slot {slot} has shape {tuple(full.shape)}, the parameter "
                                      f"{tuple(param.shape)}")
            state[key] = distribute_tensor(full, param.device_mesh, param.placements)
        optimizer.state[param] = state


def _gradient_sync(wrapped: torch.nn.Module, config: TrainingConfig, context: DistributedContext, sync: bool
                   ) -> contextlib.AbstractContextManager:
    """Skip the gradient all-reduce on all but the last micro-batch of an update (DDP ``no_sync``, FSDP flag)."""
    if not context.distributed or sync:
        if config.fsdp:
            wrapped.set_requires_gradient_sync(True)
        return contextlib.nullcontext()
    if config.fsdp:
        wrapped.set_requires_gradient_sync(False)
        return contextlib.nullcontext()
    return wrapped.no_sync()


# ---------------------------------------------------------------------------------------------- the loop


def pretrain(config: TrainingConfig) -> dict[str, Any]:
    """Run (or resume) pre-training as ``config`` says; return a summary.

    The summary holds ``step`` (updates done), ``checkpoint`` (the last one written, or ``None``), ``resumed_from``,
    ``history`` (rows), ``history_csv``, ``plot`` (``None`` without matplotlib), ``final_loss`` and ``eval`` (the
    last evaluation, if any), ``world_size`` and ``bf16``.

    Raises:
        ~albert_core.ConfigError: a bad setting, data that does not fit the model, or ``bf16`` where unsupported.
        ~albert_core.CheckpointError: a resume checkpoint that is broken or does not fit the model.
    """
    context = DistributedContext.from_environment()
    try:
        return _pretrain(config, context)
    finally:
        context.close()


def _pretrain(config: TrainingConfig, context: DistributedContext) -> dict[str, Any]:
    config.validate(context.world_size)
    if config.bf16:
        supported, reason = bf16_support(context.device)
        if not supported:
            raise ConfigError(f"bf16: {reason}; run without --bf16")
    train_data = PretrainingDataset(config.data)
    heldout = PretrainingDataset(config.heldout) if config.heldout else None
    out = Path(config.out)
    resume_from = context.broadcast_object(resolve_resume(config) if context.is_main else None)
    history = History()
    start_step = 0
    slots: dict[str, np.ndarray] | None = None
    if resume_from is not None:
        state, slots = load_trainer_checkpoint(resume_from)
        model = AlbertForPreTraining.from_pretrained(resume_from, strict=True)
        start_step = state.step
        history = History(state.history)
        history.truncate(start_step)
        if state.config.optimizer != config.optimizer:
            raise ConfigError(f"optimizer: the checkpoint {resume_from} was trained with {state.config.optimizer}, "
                              f"not {config.optimizer}")
        changed = [name for name in ("global_batch_size", "seed") if getattr(state.config, name) !=
                   getattr(config, name)]
        if changed and context.is_main and not config.quiet:
            print(f"note: {', '.join(changed)} differ from the checkpoint's; the data order from here on is not "
                  "that of an uninterrupted run", file=sys.stderr)
    else:
        torch.manual_seed(config.seed)  # the same initial weights on every rank (DDP would broadcast them anyway)
        model = AlbertForPreTraining(load_model_config(config.model_config))
    check_data_fits_model(train_data.index, model.config, "data")
    if heldout is not None:
        check_data_fits_model(heldout.index, model.config, "heldout")
    use_training_gemm(model.to(context.device).train(), config.gemm)
    wrapped = _wrap(model, config, context)
    # fully_shard replaced the parameters by DTensor shards: the optimizer is built on those
    optimizer = build_optimizer(model, config)
    if slots is not None:
        if config.fsdp:
            _load_sharded_optimizer_slots(model, optimizer, slots, start_step)
        else:
            load_optimizer_slots(model, optimizer, slots, start_step)
    schedule = Schedule(peak_lr=config.learning_rate, total_steps=config.total_steps,
                        warmup_steps=config.warmup_steps)
    micro_size = config.micro_batch_size_for(context.world_size)
    elapsed_before = history.elapsed
    started = time.perf_counter()
    last_checkpoint: Path | None = None
    last_eval: dict[str, float] | None = None
    interval_examples, interval_start = 0, time.perf_counter()
    step_loss = float("nan")

    def save(step: int) -> Path | None:
        weights, slot_arrays = _gather_checkpoint_tensors(model, optimizer, config)
        path = None
        if context.is_main:
            path = save_trainer_checkpoint(
                out, step, config=config, backend="pt", optimizer=optimizer_description(config),
                model_writer=lambda d: save_safetensors_checkpoint(d, weights, model.config, Head.PRETRAINING),
                optimizer_slots=slot_arrays, rng_state={"scheme": "step_seed", "seed": config.seed},
                history=history, keep=config.keep_checkpoints)
            write_history_csv(history, out / HISTORY_CSV_FILE)
        context.barrier()  # no rank runs ahead (or exits) before the checkpoint is complete
        return path

    progress = TrainingProgress(config.total_steps, start_step, enabled=context.is_main and not config.quiet,
                                every=config.log_every)
    with progress:
        if context.is_main and resume_from is not None:
            progress.write(f"resuming from {resume_from} at step {start_step}")
        end_step = config.total_steps if config.stop_at_step is None else min(config.stop_at_step,
                                                                                config.total_steps)
        for step in range(start_step, end_step):
            lr = schedule(step)
            for group in optimizer.param_groups:  # the schedule is a function of the step: nothing to restore
                group["lr"] = lr
            indices, epochs = global_batch(train_data, step, config.global_batch_size, config.seed)
            mine = worker_indices(np.arange(len(indices)), context.rank, context.world_size)
            batches = [read_batch(train_data, indices[part], epochs[part])
                       for part in micro_batches(mine, config.accumulation_steps)]
            local_masked = sum(int(np.count_nonzero(b["labels"] != IGNORE_INDEX)) for b in batches)
            global_masked = max(context.all_sum([float(local_masked)])[0], 1.0)
            sums = np.zeros(2)
            for micro, batch in enumerate(batches):
                torch.manual_seed(step_seed(config.seed, step, context.rank, micro))
                tensors = _to_device(batch, context.device)
                last = micro == len(batches) - 1
                # DDP and FSDP average gradients over workers; scaling by world_size makes that the global sum
                with _gradient_sync(wrapped, config, context, sync=last):
                    mlm, sop = pretraining_loss_sums(wrapped, tensors, config.bf16)
                    loss = (mlm / global_masked + sop / config.global_batch_size) * context.world_size
                    loss.backward()
                sums += [float(mlm.detach()), float(sop.detach())]
            if config.clip_norm is not None:
                # on FSDP's DTensor gradients the norm is reduced over all shards
                clip_grad_norm(model.parameters(), config.clip_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            mlm_total, sop_total = context.all_sum(sums.tolist())
            mlm_loss, sop_loss = mlm_total / global_masked, sop_total / config.global_batch_size
            step_loss = mlm_loss + sop_loss
            done = step + 1
            interval_examples += config.global_batch_size
            evaluate_now = heldout is not None and (done == config.total_steps or
                                                    (config.eval_every and done % config.eval_every == 0))
            if evaluate_now:
                last_eval = evaluate(model, heldout, batch_size=micro_size,
                                     max_examples=config.max_eval_examples, bf16=config.bf16, context=context)
            if evaluate_now or done % config.log_every == 0 or done == config.total_steps:
                now = time.perf_counter()
                history.append(step=done, learning_rate=lr, loss=step_loss, mlm_loss=mlm_loss, sop_loss=sop_loss,
                               eval_mlm_accuracy=last_eval["eval_mlm_accuracy"] if evaluate_now else None,
                               eval_sop_accuracy=last_eval["eval_sop_accuracy"] if evaluate_now else None,
                               examples_per_second=interval_examples / max(now - interval_start, 1e-9),
                               elapsed_seconds=elapsed_before + now - started)
                interval_examples, interval_start = 0, now
                if evaluate_now:
                    progress.write(f"step {done}: eval MLM accuracy {last_eval['eval_mlm_accuracy']:.4f}, "
                                   f"SOP accuracy {last_eval['eval_sop_accuracy']:.4f}")
            progress.update(1, loss=step_loss, lr=lr)
            if done == end_step or (config.save_every and done % config.save_every == 0):
                last_checkpoint = save(done)
    plot = None
    if context.is_main:
        write_history_csv(history, out / HISTORY_CSV_FILE)
        plot = plot_history(history, out / HISTORY_PLOT_FILE, verbose=not config.quiet)
    return {"step": max(start_step, end_step), "checkpoint": last_checkpoint, "resumed_from": resume_from,
            "history": history.rows, "history_csv": out / HISTORY_CSV_FILE, "plot": plot,
            "final_loss": step_loss, "eval": last_eval, "world_size": context.world_size, "bf16": config.bf16}


__all__ = [
    "DistributedContext",
    "MODEL_INPUTS",
    "bf16_support",
    "build_optimizer",
    "evaluate",
    "load_optimizer_slots",
    "optimizer_description",
    "optimizer_slots",
    "pretrain",
    "pretraining_loss_sums",
]
