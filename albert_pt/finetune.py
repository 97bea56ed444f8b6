"""Fine-tuning in PyTorch: :func:`finetune` runs a :class:`~albert_core.finetuning.FinetuneConfig` with a plain
training loop.

The loop: AdamW (:class:`albert_pt.optim.AdamW` with ``bias_correction=True``, i.e. ``torch.optim.AdamW``'s update;
no decay on LayerNorm weights and biases), linear warm-up then linear decay
(:class:`albert_pt.optim.WarmupPolynomialDecay` on :func:`albert_core.finetuning.run.make_schedule`), global-norm
clipping, the batch order of :func:`albert_core.finetuning.run.epoch_batches`; after each epoch the task metric on
the evaluation data, and the best
epoch's model and tokenizer saved to ``OUT/best``; a progress bar, ``history.csv``, ``metrics.json`` and
``history.png``. :func:`albert_tf.finetune.finetune` is the Keras mirror (same data order, schedule and metric).

With ``bf16=True`` the forward pass and the loss of training and evaluation run under
``torch.autocast(dtype=torch.bfloat16)`` (matmuls in bfloat16); the weights, the gradients, the optimizer slots and
the loss stay float32. It is refused (:class:`~albert_core.ConfigError`) where
:func:`albert_pt.pretraining.bf16_support` finds no native bfloat16 arithmetic, as in pre-training.

>>> import tempfile
>>> from albert_core.filenames import DEFAULT_MODEL_DIR
>>> from albert_core.finetuning import FinetuneConfig
>>> data = [{"sentence": "My lord, the king.", "label": "verse"}, {"sentence": "Good morrow.", "label": "prose"}]
>>> config = FinetuneConfig(task="classification", model=str(DEFAULT_MODEL_DIR), out=tempfile.mkdtemp(),
...                         epochs=1, batch_size=2, max_length=16, quiet=True)
>>> result = finetune(config, train_data=data, eval_data=data)
>>> result.steps, result.best_epoch, sorted(result.labels.names)
(1, 1, ['prose', 'verse'])
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import torch

from albert_core import AlbertConfig, AlbertTokenizer
from albert_core.errors import ConfigError, PartialLoadWarning
from albert_core.finetuning import FinetuneConfig, FinetuneResult, RunData, prepare_run
from albert_core.finetuning.features import OUTPUT_NAMES, TaskFeatures, evaluate_outputs
from albert_core.finetuning.run import BestTracker, RunRecorder, epoch_batches, progress_bar, save_best

from . import pretraining
from .kernels import use_training_gemm
from .modeling import MODEL_CLASSES
from .optim import AdamW, WarmupPolynomialDecay, clip_grad_norm


def _device(model: torch.nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def _check_bf16(device: torch.device) -> None:
    """Raise :class:`~albert_core.ConfigError` naming the reason unless ``device`` computes in bfloat16 natively."""
    supported, reason = pretraining.bf16_support(device)
    if not supported:
        raise ConfigError(f"bf16: {reason}; run without bf16=True (--bf16)")


def load_model(config: FinetuneConfig, data: RunData) -> torch.nn.Module:
    """The task head of ``config.model`` for the run's labels (a pre-training checkpoint loads into any head: the
    new head is initialised, which ``PartialLoadWarning`` reports; it is silenced when
    ``quiet``)."""
    model_config = data.model_config(AlbertConfig.from_pretrained(config.model))
    with warnings.catch_warnings():
        if config.quiet:
            warnings.simplefilter("ignore", PartialLoadWarning)
        return MODEL_CLASSES[config.head].from_pretrained(config.model, config=model_config)


@torch.no_grad()
def predict_outputs(model: torch.nn.Module, features: TaskFeatures, batch_size: int, bf16: bool = False
                    ) -> dict[str, np.ndarray]:
    """The model's outputs the task's metric reads, on every row of ``features`` (eval mode, batches in order;
    under bfloat16 autocast when ``bf16``), as float32."""
    was_training = model.training
    model.eval()
    names = OUTPUT_NAMES[features.task]
    parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
    device = _device(model)
    for start in range(0, features.num_rows, batch_size):
        inputs = {k: torch.from_numpy(v[start:start + batch_size]).to(device) for k, v in features.inputs.items()}
        with pretraining.bf16_autocast(device, bf16):
            output = model(**inputs)
        for name in names:
            parts[name].append(output[name].float().cpu().numpy())
    model.train(was_training)
    return {name: np.concatenate(arrays) for name, arrays in parts.items()}


def evaluate(model: torch.nn.Module, data: RunData) -> dict[str, float] | None:
    """The task metrics on the run's evaluation data (``None`` without it)."""
    if data.eval is None:
        return None
    outputs = predict_outputs(model, data.eval, data.config.eval_batch_size, data.config.bf16)
    return evaluate_outputs(data.eval, outputs, data.labels,
                            version_2_with_negative=data.config.version_2_with_negative)


def finetune(config: FinetuneConfig, *, train_data: Any = None, eval_data: Any = None,
             model: torch.nn.Module | None = None, tokenizer: Any = None) -> FinetuneResult:
    """Fine-tune ``config.model`` on the task; see the module docstring for what the loop does and writes.

    Args:
        config: the run's settings.
        train_data, eval_data: the data when not ``config.train``/``config.eval``: a file path, a list of dicts or
            a ``datasets.Dataset``.
        model: start from this model instead of loading ``config.model`` (its head must be the task's).
        tokenizer: use this tokenizer instead of the one in ``config.model``.

    Returns:
        a :class:`~albert_core.finetuning.run.FinetuneResult`.

    Raises:
        ~albert_core.ConfigError: for bad settings, and for ``bf16`` where the device lacks native bfloat16;
            ~albert_core.InputError: for malformed data.
    """
    config.validate()
    device = _device(model) if model is not None else torch.device("cpu")  # load_model loads onto the CPU
    if config.bf16:  # refused before any data is read
        _check_bf16(device)
    tokenizer = tokenizer if tokenizer is not None else AlbertTokenizer.from_pretrained(config.model)
    data = prepare_run(config, tokenizer, train_data, eval_data)
    torch.manual_seed(config.seed)  # the new head's initial weights and dropout
    model = model if model is not None else load_model(config, data)
    use_training_gemm(model.train(), config.gemm)
    optimizer = AdamW(model.named_parameters(), lr=config.learning_rate, weight_decay=config.weight_decay,
                      bias_correction=True)
    scheduler = WarmupPolynomialDecay(optimizer, data.schedule)
    parameters = [p for p in model.parameters() if p.requires_grad]
    recorder = RunRecorder(config.metric_name, bf16=config.bf16)
    tracker = BestTracker(config.metric_name)
    arrays = {k: torch.from_numpy(v).to(device) for k, v in data.train.arrays().items()}
    step, started, best_dir = 0, time.perf_counter(), None
    with progress_bar(config, data.total_steps, "pt") as progress:
        for epoch in range(1, config.epochs + 1):
            losses = []
            for rows in epoch_batches(data.train.num_rows, config.batch_size, config.seed, epoch - 1):
                index = torch.from_numpy(rows).to(device)
                learning_rate = scheduler.get_last_lr()[0]
                with pretraining.bf16_autocast(device, config.bf16):  # the loss comes out float32 either way
                    loss = model(**{k: v[index] for k, v in arrays.items()}).loss
                loss.backward()
                if config.clip_norm is not None:
                    clip_grad_norm(parameters, config.clip_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                losses.append(float(loss.detach()))
                recorder.log_step(step, learning_rate, losses[-1], time.perf_counter() - started)
                progress.update(1, loss=losses[-1], lr=learning_rate)
            metrics = evaluate(model, data)
            recorder.log_epoch(epoch, step, metrics, float(np.mean(losses)))
            improved = tracker.update(epoch, metrics) if metrics is not None else epoch == config.epochs
            if metrics is not None:
                shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
                progress.write(f"epoch {epoch}: train loss {np.mean(losses):.4f}; eval {shown}"
                               + (" (best so far)" if improved else ""))
            if improved:
                best_dir = save_best(config.out, model.save_pretrained, tokenizer, {
                    "epoch": epoch, "step": step, "metrics": metrics, "backend": "pt", "config": config.to_dict()})
    best = {"epoch": tracker.best_epoch, config.metric_name: tracker.best_value}
    files = recorder.write(config.out, best, quiet=config.quiet)
    model.eval()
    return FinetuneResult(model=model, metric=config.metric_name, best_metric=tracker.best_value,
                          best_epoch=tracker.best_epoch, epochs=recorder.epochs, steps=step, best_dir=best_dir,
                          files=files, labels=data.labels, bf16=config.bf16)


__all__ = ["evaluate", "finetune", "load_model", "predict_outputs"]
