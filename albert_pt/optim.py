"""PyTorch LAMB and AdamW as ALBERT trains with them, the warm-up/decay schedule, clipping and accumulation.

The equations, defaults and exclusion rules are :mod:`albert_core.optim`'s (its NumPy reference is what the tests
compare against); the Keras mirror is :mod:`albert_tf.optim` (same class names).

Weight-decay and trust-ratio exclusion need parameter *names*: pass ``model.named_parameters()`` (split into groups
by :func:`parameter_groups`), or build the groups yourself. Plain tensors without names all get decay and adaptation.

A training loop with accumulation, clipping and the schedule (one scheduler step per update, not per micro-batch):

>>> import torch
>>> from albert_core.optim import Schedule
>>> model = torch.nn.Linear(3, 2)
>>> optimizer = Lamb(model.named_parameters(), lr=1e-3)
>>> scheduler = WarmupPolynomialDecay(optimizer, Schedule(peak_lr=1e-3, total_steps=10, warmup_steps=2))
>>> accumulator = GradientAccumulator(optimizer, accumulation_steps=2, clip_norm=1.0, scheduler=scheduler)
>>> for _ in range(4):  # 4 micro-batches = 2 updates
...     model(torch.randn(5, 3)).square().mean().backward()
...     updated = accumulator.step()
>>> accumulator.updates, scheduler.get_last_lr()  # one lr per group: the decayed weight, the excluded bias
(2, [0.001, 0.001])
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import torch

from albert_core.errors import ConfigError
from albert_core.optim import (
    DEFAULT_BETAS,
    DEFAULT_CLIP_NORM,
    DEFAULT_EPS,
    DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY,
    DEFAULT_WEIGHT_DECAY,
    Schedule,
    check_hyperparameters,
    check_patterns,
    parameter_rule,
)

ParamsT = Iterable[torch.Tensor] | Iterable[tuple[str, torch.Tensor]] | Iterable[dict[str, Any]]


def parameter_groups(
    named_parameters: Iterable[tuple[str, torch.Tensor]],
    weight_decay: float = DEFAULT_WEIGHT_DECAY,
    exclude_from_weight_decay: Iterable[str] = DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY,
    exclude_from_layer_adaptation: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """Split named parameters into optimizer groups by the :func:`albert_core.optim.parameter_rule` of each name.

    Each group holds ``(name, tensor)`` pairs (torch records the names as ``param_names``), ``weight_decay`` (0 for
    excluded names) and ``layer_adaptation`` (read by :class:`Lamb` only). Frozen parameters are skipped.

    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.LayerNorm(2))
    >>> [(g["weight_decay"], g["layer_adaptation"], [n for n, _ in g["params"]]) for g in parameter_groups(
    ...     model.named_parameters(), 0.01, exclude_from_weight_decay=["bias", r"^1\\."])]
    [(0.01, True, ['0.weight']), (0.0, False, ['0.bias', '1.weight', '1.bias'])]
    """
    check_hyperparameters(weight_decay=weight_decay)
    decay_patterns = check_patterns("exclude_from_weight_decay", exclude_from_weight_decay)
    adaptation_patterns = check_patterns("exclude_from_layer_adaptation", exclude_from_layer_adaptation)
    groups: dict[tuple[bool, bool], list[tuple[str, torch.Tensor]]] = {}
    for name, param in named_parameters:
        if not param.requires_grad:
            continue
        rule = parameter_rule(name, decay_patterns, adaptation_patterns)
        groups.setdefault((rule.weight_decay, rule.layer_adaptation), []).append((name, param))
    return [
        {"params": params, "weight_decay": weight_decay if decays else 0.0, "layer_adaptation": adapts}
        for (decays, adapts), params in groups.items()
    ]


def _as_groups(params: ParamsT, weight_decay: float, exclude_from_weight_decay: Iterable[str],
               exclude_from_layer_adaptation: Iterable[str] | None) -> list[Any]:
    """Route ``named_parameters()`` through :func:`parameter_groups`; pass tensors and explicit groups unchanged."""
    params = list(params)
    if params and isinstance(params[0], tuple):
        return parameter_groups(params, weight_decay, exclude_from_weight_decay, exclude_from_layer_adaptation)
    return params


class _AdamFamily(torch.optim.Optimizer):
    """Adam moments without bias correction (unless asked), shared by :class:`Lamb` and :class:`AdamW`."""

    def _moments(self, param: torch.Tensor, grad: torch.Tensor, beta1: float, beta2: float
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        state = self.state[param]
        if not state:
            state["step"] = torch.zeros((), dtype=torch.float32)
            state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        state["step"] += 1
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        # the same op order as torch.optim.AdamW (lerp / mul+addcmul) so bias-corrected AdamW matches it bit for bit
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        return exp_avg, exp_avg_sq, state["step"]


class Lamb(_AdamFamily):
    """LAMB (You et al. 2019) as the original ALBERT ``lamb_optimizer.py``: no bias correction, trust ratio per tensor.

    ``u = m / (sqrt(v) + eps) + weight_decay * w``; ``w -= lr * r * u`` with ``r = ||w|| / ||u||`` (1 when either
    norm is 0 or the group has ``layer_adaptation=False``). See :mod:`albert_core.optim`.

    >>> model = torch.nn.Linear(4, 4)
    >>> optimizer = Lamb(model.named_parameters(), lr=1e-3)
    >>> [(g["weight_decay"], g["layer_adaptation"]) for g in optimizer.param_groups]  # weight; bias excluded
    [(0.01, True), (0.0, False)]
    >>> Lamb(model.parameters(), lr=-1.0)
    Traceback (most recent call last):
    ...
    albert_core.errors.ConfigError: lr must be >= 0, got -1.0
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: Sequence[float] = DEFAULT_BETAS,
        eps: float = DEFAULT_EPS,
        weight_decay: float = DEFAULT_WEIGHT_DECAY,
        exclude_from_weight_decay: Iterable[str] = DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY,
        exclude_from_layer_adaptation: Iterable[str] | None = None,
    ) -> None:
        check_hyperparameters(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, layer_adaptation=True)
        super().__init__(_as_groups(params, weight_decay, exclude_from_weight_decay, exclude_from_layer_adaptation),
                         defaults)

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        """One LAMB update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                if param.grad.is_sparse:
                    raise ConfigError("Lamb does not support sparse gradients")
                exp_avg, exp_avg_sq, _ = self._moments(param, param.grad, beta1, beta2)
                update = exp_avg / (exp_avg_sq.sqrt() + group["eps"])
                if group["weight_decay"]:
                    update.add_(param, alpha=group["weight_decay"])
                if group["layer_adaptation"]:
                    w_norm, u_norm = torch.linalg.vector_norm(param), torch.linalg.vector_norm(update)
                    # the original's guard: a zero-norm weight (fresh bias-like tensor) or update keeps ratio 1
                    ratio = torch.where((w_norm > 0) & (u_norm > 0), w_norm / u_norm, torch.ones_like(w_norm))
                    update.mul_(ratio)
                param.add_(update, alpha=-group["lr"])
        return loss


class AdamW(_AdamFamily):
    """AdamW with decoupled decay: ALBERT's ``AdamWeightDecayOptimizer`` (no bias correction) by default.

    ``bias_correction=True`` reproduces ``torch.optim.AdamW`` (same op order; the tests check it bit for bit).

    >>> model = torch.nn.Linear(2, 1)
    >>> optimizer = AdamW(model.named_parameters(), lr=1e-3, bias_correction=True)
    >>> [g["weight_decay"] for g in optimizer.param_groups]
    [0.01, 0.0]
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: Sequence[float] = DEFAULT_BETAS,
        eps: float = DEFAULT_EPS,
        weight_decay: float = DEFAULT_WEIGHT_DECAY,
        exclude_from_weight_decay: Iterable[str] = DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY,
        bias_correction: bool = False,
    ) -> None:
        check_hyperparameters(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        bias_correction=bool(bias_correction))
        groups = _as_groups(params, weight_decay, exclude_from_weight_decay, None)
        for group in groups:  # AdamW has no trust ratio; drop the key parameter_groups adds for Lamb
            if isinstance(group, dict):
                group.pop("layer_adaptation", None)
        super().__init__(groups, defaults)

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        """One AdamW update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps = group["lr"], group["eps"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                if param.grad.is_sparse:
                    raise ConfigError("AdamW does not support sparse gradients")
                # decay first, from the pre-update weight, as both the original and torch.optim.AdamW do
                param.mul_(1 - lr * group["weight_decay"])
                exp_avg, exp_avg_sq, step = self._moments(param, param.grad, beta1, beta2)
                if group["bias_correction"]:
                    t = step.item()
                    correction1, correction2_sqrt = 1 - beta1**t, (1 - beta2**t) ** 0.5
                    denom = (exp_avg_sq.sqrt() / correction2_sqrt).add_(eps)
                    param.addcdiv_(exp_avg, denom, value=-lr / correction1)
                else:
                    param.addcdiv_(exp_avg, exp_avg_sq.sqrt().add_(eps), value=-lr)
        return loss


class WarmupPolynomialDecay(torch.optim.lr_scheduler.LambdaLR):
    """``LambdaLR`` following :class:`albert_core.optim.Schedule`; set the optimizer's ``lr`` to ``schedule.peak_lr``.

    Call ``step()`` once per optimizer *update*; after ``k`` calls the lr is ``schedule(k)``.

    >>> optimizer = Lamb(torch.nn.Linear(2, 2).parameters(), lr=1.0)
    >>> scheduler = WarmupPolynomialDecay(optimizer, Schedule(peak_lr=1.0, total_steps=4, warmup_steps=2))
    >>> lrs = []
    >>> for _ in range(5):
    ...     lrs.append(scheduler.get_last_lr()[0])
    ...     optimizer.step()
    ...     scheduler.step()
    >>> lrs
    [0.0, 0.5, 1.0, 0.5, 0.0]
    """

    def __init__(self, optimizer: torch.optim.Optimizer, schedule: Schedule, last_epoch: int = -1) -> None:
        if not isinstance(schedule, Schedule):
            raise ConfigError(f"schedule must be an albert_core.optim.Schedule, got {type(schedule).__name__}")
        for group in optimizer.param_groups:
            if group["lr"] != schedule.peak_lr:
                # LambdaLR multiplies the group's lr; any other base would silently rescale the whole schedule
                raise ConfigError(f"optimizer lr ({group['lr']}) must equal schedule.peak_lr ({schedule.peak_lr})")
        self.schedule = schedule
        super().__init__(optimizer, schedule.multiplier, last_epoch)


def clip_grad_norm(parameters: Iterable[torch.Tensor] | torch.Tensor, clip_norm: float = DEFAULT_CLIP_NORM
                   ) -> torch.Tensor:
    """Clip gradients in place to a global L2 norm of ``clip_norm``; returns the norm before clipping.

    This is ``torch.nn.utils.clip_grad_norm_``, whose scale ``clip_norm / (norm + 1e-6)`` differs from the
    original's ``clip_norm / norm`` by a relative ``1e-6 / norm`` (under 1e-6 whenever it clips).

    >>> p = torch.nn.Parameter(torch.zeros(2)); p.grad = torch.tensor([3.0, 4.0])
    >>> float(clip_grad_norm([p], 1.0)), [round(x, 4) for x in p.grad.tolist()]
    (5.0, [0.6, 0.8])
    """
    check_hyperparameters(clip_norm=clip_norm)
    return torch.nn.utils.clip_grad_norm_(parameters, clip_norm)


class GradientAccumulator:
    """Turns N ``backward()`` calls into one update: average the summed gradients, clip, step, schedule, zero.

    Call :meth:`step` after every micro-batch's ``loss.backward()`` (backward sums into ``.grad``); on every N-th call
    it divides the gradients by N, clips them (``clip_norm=None`` to skip), steps the optimizer and the scheduler
    once, and zeroes the gradients. ``accumulation_steps=1`` gives the plain clip-step-schedule loop. Save
    :meth:`state_dict` with the optimizer's to resume mid-accumulation.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        accumulation_steps: int = 1,
        clip_norm: float | None = DEFAULT_CLIP_NORM,
        scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    ) -> None:
        check_hyperparameters(accumulation_steps=accumulation_steps, clip_norm=clip_norm)
        self.optimizer = optimizer
        self.accumulation_steps = accumulation_steps
        self.clip_norm = clip_norm
        self.scheduler = scheduler
        #: micro-batches seen since the last update, and updates made
        self.micro_steps = 0
        self.updates = 0

    def _parameters(self) -> list[torch.Tensor]:
        return [p for group in self.optimizer.param_groups for p in group["params"] if p.grad is not None]

    def step(self) -> bool:
        """Register one micro-batch's gradients; returns ``True`` when this call made an update."""
        self.micro_steps += 1
        if self.micro_steps < self.accumulation_steps:
            return False
        params = self._parameters()
        if self.accumulation_steps > 1:
            with torch.no_grad():
                for param in params:
                    param.grad.div_(self.accumulation_steps)
        if self.clip_norm is not None and params:
            clip_grad_norm(params, self.clip_norm)
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.micro_steps = 0
        self.updates += 1
        return True

    def state_dict(self) -> dict[str, int]:
        """The counters (the gradients themselves live in ``.grad``; the optimizer has its own state dict)."""
        return {"micro_steps": self.micro_steps, "updates": self.updates}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Restore :meth:`state_dict`."""
        self.micro_steps, self.updates = int(state["micro_steps"]), int(state["updates"])


__all__ = ["AdamW", "GradientAccumulator", "Lamb", "WarmupPolynomialDecay", "clip_grad_norm", "parameter_groups"]
