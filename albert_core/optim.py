"""ALBERT's optimisers and learning-rate schedule, defined once in NumPy for both backends.

This module is the reference the PyTorch (:mod:`albert_pt.optim`) and Keras (:mod:`albert_tf.optim`) optimisers are
tested against, and the single home of their hyper-parameter checks, default values, weight-decay exclusion rule and
schedule. It imports numpy only.

Equations (``g`` the gradient after clipping and accumulation, ``w`` a parameter, ``t`` the update number from 1):

* **Adam moments, no bias correction** (the original ALBERT ``lamb_optimizer.py`` and BERT/ALBERT
  ``AdamWeightDecayOptimizer`` in ``optimization.py`` both omit it)::

      m = beta1 * m + (1 - beta1) * g
      v = beta2 * v + (1 - beta2) * g**2
      u = m / (sqrt(v) + eps) + weight_decay * w      # decay term only for parameters not excluded by name

* **LAMB** (You et al. 2019, arXiv:1904.00962, as ALBERT's ``lamb_optimizer.py`` implements it)::

      r = ||w|| / ||u||   if ||w|| > 0 and ||u|| > 0, else 1      # r = 1 for names excluded from adaptation
      w = w - lr * r * u

* **AdamW** (ALBERT's ``AdamWeightDecayOptimizer``): ``w = w - lr * u``. With ``bias_correction=True`` it is
  ``torch.optim.AdamW`` instead: ``w = w - lr * weight_decay * w - lr * (m / (1 - beta1**t)) /
  (sqrt(v) / sqrt(1 - beta2**t) + eps)``.

* **Exclusion by name**: a parameter is excluded when any pattern ``re.search``-es its canonical name, as in the
  original. Defaults: ``("LayerNorm", "layer_norm", "bias")`` (ALBERT ``optimization.create_optimizer``); the
  layer-adaptation list defaults to the weight-decay list (ALBERT ``LAMBOptimizer``). Unlike the original, an
  explicit empty list means "exclude nothing" rather than "fall back to the weight-decay list".

* **Gradient clipping by global norm** before the update (ALBERT ``optimization.py``, ``tf.clip_by_global_norm``):
  ``g = g * clip_norm / max(||all g||, clip_norm)``.

* **Gradient accumulation**: the N micro-batch gradients are summed, divided by N, clipped, then one update is made;
  the schedule advances once per *update*, not per micro-batch.

* **Schedule**: linear warm-up ``lr = peak_lr * step / warmup_steps`` for ``step < warmup_steps``, then polynomial
  decay ``lr = (peak_lr - end_lr) * (1 - p)**power + end_lr`` with ``p = min(step - warmup_steps, D) / D``,
  ``D = total_steps - warmup_steps`` (continuous at the peak, as ``transformers``'
  ``get_polynomial_decay_schedule_with_warmup``). ``decay_from_warmup_end=False`` gives the original ALBERT formula
  instead: the decay counts from step 0 (``p = min(step, total_steps) / total_steps``) and warm-up overrides it.

>>> import numpy as np
>>> opt = NumpyLamb(lr=0.1, weight_decay=0.0)
>>> params = {"dense.weight": np.array([3.0, 4.0]), "dense.bias": np.array([0.0, 0.0])}
>>> new = opt.step(params, {"dense.weight": np.array([1.0, 0.0]), "dense.bias": np.array([1.0, -1.0])})
>>> np.round(new["dense.weight"], 4)  # ||w|| = 5, ||u|| ~ 3.162: the step lr * r * u has length lr * ||w||
array([2.5, 4. ])
>>> np.round(new["dense.bias"], 4)  # bias: no trust ratio, plain lr * m / (sqrt(v) + eps)
array([-0.3162,  0.3162])
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from .errors import ConfigError

#: Names matching any of these patterns get no weight decay (ALBERT ``optimization.create_optimizer``).
DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY: tuple[str, ...] = ("LayerNorm", "layer_norm", "bias")
#: ALBERT's Adam/LAMB moment decay rates and epsilon (``optimization.create_optimizer``).
DEFAULT_BETAS: tuple[float, float] = (0.9, 0.999)
DEFAULT_EPS: float = 1e-6
#: ALBERT's weight-decay rate (``optimization.create_optimizer``).
DEFAULT_WEIGHT_DECAY: float = 0.01
#: ALBERT clips gradients to this global norm before every update (``optimization.create_optimizer``).
DEFAULT_CLIP_NORM: float = 1.0


# ---------------------------------------------------------------------------------------------- checks


def _check_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    if not math.isfinite(float(value)):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    return float(value)


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def check_hyperparameters(
    lr: float | None = None,
    betas: Sequence[float] | None = None,
    eps: float | None = None,
    weight_decay: float | None = None,
    clip_norm: float | None = None,
    accumulation_steps: int | None = None,
    names: Mapping[str, str] | None = None,
) -> None:
    """Raise :class:`~albert_core.ConfigError` naming the first bad optimiser hyper-parameter (``None`` = unchecked).

    ``lr`` and ``weight_decay`` must be >= 0, each beta in ``[0, 1)``, ``eps`` and ``clip_norm`` > 0,
    ``accumulation_steps`` >= 1. ``names`` renames arguments in the message (``{"lr": "learning_rate",
    "betas[0]": "beta_1"}`` for Keras spellings).

    >>> check_hyperparameters(lr=1e-3, betas=(0.9, 0.999), eps=1e-6)
    >>> check_hyperparameters(betas=(0.9, 1.0))
    Traceback (most recent call last):
    ...
    albert_core.errors.ConfigError: betas[1] must be in [0, 1), got 1.0
    """
    def n(name: str) -> str:
        return (names or {}).get(name, name)

    if lr is not None and _check_number(n("lr"), lr) < 0:
        raise ConfigError(f"{n('lr')} must be >= 0, got {lr}")
    if betas is not None:
        if len(betas) != 2:
            raise ConfigError(f"{n('betas')} must be a pair (beta1, beta2), got {betas!r}")
        for i, beta in enumerate(betas):
            if not 0.0 <= _check_number(n(f"betas[{i}]"), beta) < 1.0:
                raise ConfigError(f"{n(f'betas[{i}]')} must be in [0, 1), got {beta}")
    if eps is not None and _check_number(n("eps"), eps) <= 0:
        raise ConfigError(f"{n('eps')} must be > 0, got {eps}")
    if weight_decay is not None and _check_number(n("weight_decay"), weight_decay) < 0:
        raise ConfigError(f"{n('weight_decay')} must be >= 0, got {weight_decay}")
    if clip_norm is not None and _check_number(n("clip_norm"), clip_norm) <= 0:
        raise ConfigError(f"{n('clip_norm')} must be > 0 (or None for no clipping), got {clip_norm}")
    if accumulation_steps is not None:
        _check_int(n("accumulation_steps"), accumulation_steps, 1)


def check_patterns(name: str, patterns: Iterable[str] | None) -> tuple[str, ...] | None:
    """Validate a list of exclusion regexes; return it as a tuple (``None`` stays ``None``).

    A bare string is refused: iterating it would silently turn ``"bias"`` into the patterns ``b``, ``i``, ``a``, ``s``.

    >>> check_patterns("exclude_from_weight_decay", ["bias"])
    ('bias',)
    """
    if patterns is None:
        return None
    if isinstance(patterns, str):
        raise ConfigError(f"{name} must be a list of patterns, not the string {patterns!r}")
    patterns = tuple(patterns)
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise ConfigError(f"{name} must hold strings, got {pattern!r}")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"{name} holds an invalid regex {pattern!r}: {exc}") from None
    return patterns


def is_excluded(name: str, patterns: Iterable[str]) -> bool:
    """Whether any pattern ``re.search``-es ``name`` (the original ALBERT rule).

    >>> is_excluded("albert.embeddings.LayerNorm.weight", DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY)
    True
    >>> is_excluded("albert.encoder.embedding_hidden_mapping_in.weight", DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY)
    False
    """
    return any(re.search(pattern, name) is not None for pattern in patterns)


@dataclass(frozen=True)
class ParameterRule:
    """Which terms of the update apply to one parameter, decided from its name."""

    weight_decay: bool
    layer_adaptation: bool


def parameter_rule(
    name: str,
    exclude_from_weight_decay: Iterable[str] = DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY,
    exclude_from_layer_adaptation: Iterable[str] | None = None,
) -> ParameterRule:
    """The weight-decay / layer-adaptation rule for ``name``; adaptation exclusions default to the decay ones.

    >>> parameter_rule("albert.pooler.bias")
    ParameterRule(weight_decay=False, layer_adaptation=False)
    >>> parameter_rule("albert.pooler.weight")
    ParameterRule(weight_decay=True, layer_adaptation=True)
    """
    decay_patterns = tuple(exclude_from_weight_decay)
    adaptation_patterns = (decay_patterns if exclude_from_layer_adaptation is None
                           else tuple(exclude_from_layer_adaptation))
    return ParameterRule(
        weight_decay=not is_excluded(name, decay_patterns),
        layer_adaptation=not is_excluded(name, adaptation_patterns),
    )


# ---------------------------------------------------------------------------------------------- schedule


def learning_rate(
    step: int | float,
    peak_lr: float,
    total_steps: int,
    warmup_steps: int = 0,
    end_lr: float = 0.0,
    power: float = 1.0,
    decay_from_warmup_end: bool = True,
) -> float:
    """The learning rate for the 0-based update ``step`` (linear warm-up, then polynomial decay to ``end_lr``).

    Steps past ``total_steps`` stay at ``end_lr``. Arguments are not validated here (:class:`Schedule` does that).

    >>> [learning_rate(s, 1.0, total_steps=10, warmup_steps=2) for s in (0, 1, 2, 6, 10, 12)]
    [0.0, 0.5, 1.0, 0.5, 0.0, 0.0]
    >>> learning_rate(2, 1.0, total_steps=10, warmup_steps=2, decay_from_warmup_end=False)  # original ALBERT
    0.8
    """
    if step < warmup_steps:
        return peak_lr * step / warmup_steps
    start = warmup_steps if decay_from_warmup_end else 0
    decay_steps = total_steps - start
    if decay_steps <= 0:
        return end_lr
    progress = min(step - start, decay_steps) / decay_steps
    return (peak_lr - end_lr) * (1.0 - progress) ** power + end_lr


@dataclass(frozen=True)
class Schedule:
    """Linear warm-up then polynomial decay; both backends build their schedulers from this.

    ``Schedule(...)(step)`` is :func:`learning_rate` at the 0-based update ``step``; :meth:`multiplier` is the same
    divided by ``peak_lr`` (the factor ``torch.optim.lr_scheduler.LambdaLR`` wants).

    >>> schedule = Schedule(peak_lr=1e-3, total_steps=100, warmup_steps=10)
    >>> schedule(5), schedule(10), schedule(55), schedule(100)
    (0.0005, 0.001, 0.0005, 0.0)
    >>> Schedule(peak_lr=1e-3, total_steps=10, warmup_steps=20)
    Traceback (most recent call last):
    ...
    albert_core.errors.ConfigError: warmup_steps (20) must not exceed total_steps (10)
    """

    peak_lr: float
    total_steps: int
    warmup_steps: int = 0
    end_lr: float = 0.0
    power: float = 1.0
    decay_from_warmup_end: bool = True

    def __post_init__(self) -> None:
        if _check_number("peak_lr", self.peak_lr) < 0:
            raise ConfigError(f"peak_lr must be >= 0, got {self.peak_lr}")
        _check_int("total_steps", self.total_steps, 1)
        _check_int("warmup_steps", self.warmup_steps, 0)
        if self.warmup_steps > self.total_steps:
            raise ConfigError(f"warmup_steps ({self.warmup_steps}) must not exceed total_steps ({self.total_steps})")
        if _check_number("end_lr", self.end_lr) < 0:
            raise ConfigError(f"end_lr must be >= 0, got {self.end_lr}")
        if _check_number("power", self.power) <= 0:
            raise ConfigError(f"power must be > 0, got {self.power}")

    def __call__(self, step: int | float) -> float:
        return learning_rate(step, self.peak_lr, self.total_steps, self.warmup_steps, self.end_lr, self.power,
                             self.decay_from_warmup_end)

    def multiplier(self, step: int | float) -> float:
        """``self(step) / peak_lr`` (0 when ``peak_lr`` is 0)."""
        return self(step) / self.peak_lr if self.peak_lr else 0.0


# ---------------------------------------------------------------------------------------------- gradients


def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    """The L2 norm of all gradients taken together.

    >>> global_norm({"a": np.array([3.0]), "b": np.array([4.0])})
    5.0
    """
    return float(math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values())))


def clip_by_global_norm(grads: Mapping[str, np.ndarray], clip_norm: float) -> dict[str, np.ndarray]:
    """Scale every gradient by ``clip_norm / max(global_norm, clip_norm)`` (``tf.clip_by_global_norm``).

    >>> clip_by_global_norm({"a": np.array([3.0]), "b": np.array([4.0])}, 1.0)
    {'a': array([0.6]), 'b': array([0.8])}
    """
    scale = clip_norm / max(global_norm(grads), clip_norm)
    return {name: np.asarray(g, np.float64) * scale for name, g in grads.items()}


def average_gradients(micro_batch_grads: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Sum the gradients of N micro-batches then divide by N (what one accumulated update sees).

    >>> average_gradients([{"w": np.array([1.0])}, {"w": np.array([3.0])}])
    {'w': array([2.])}
    """
    if not micro_batch_grads:
        raise ConfigError("average_gradients needs at least one micro-batch")
    count = len(micro_batch_grads)
    return {name: sum(np.asarray(g[name], np.float64) for g in micro_batch_grads) / count
            for name in micro_batch_grads[0]}


# ---------------------------------------------------------------------------------------------- reference optimisers


class _NumpyAdamFamily:
    """Shared state and step loop of the NumPy references (moments per parameter name, update counter)."""

    def __init__(
        self,
        lr: float | Schedule,
        betas: Sequence[float],
        eps: float,
        weight_decay: float,
        exclude_from_weight_decay: Iterable[str],
        clip_norm: float | None,
    ) -> None:
        if not isinstance(lr, Schedule):
            check_hyperparameters(lr=lr)
        check_hyperparameters(betas=betas, eps=eps, weight_decay=weight_decay, clip_norm=clip_norm)
        self.lr = lr
        self.beta1, self.beta2 = (float(b) for b in betas)
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.exclude_from_weight_decay = check_patterns("exclude_from_weight_decay", exclude_from_weight_decay)
        self.clip_norm = clip_norm
        #: updates made so far; the schedule is read at this 0-based index
        self.updates = 0
        self.exp_avg: dict[str, np.ndarray] = {}
        self.exp_avg_sq: dict[str, np.ndarray] = {}

    def current_lr(self) -> float:
        """The learning rate the next update uses."""
        return self.lr(self.updates) if isinstance(self.lr, Schedule) else float(self.lr)

    def step(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One update: clip ``grads`` by global norm (if ``clip_norm``), then update; returns new float64 params."""
        if self.clip_norm is not None:
            grads = clip_by_global_norm(grads, self.clip_norm)
        lr = self.current_lr()
        self.updates += 1
        new_params = {}
        for name, value in params.items():
            w = np.asarray(value, np.float64)
            g = np.asarray(grads[name], np.float64)
            m = self.beta1 * self.exp_avg.get(name, np.zeros_like(w)) + (1.0 - self.beta1) * g
            v = self.beta2 * self.exp_avg_sq.get(name, np.zeros_like(w)) + (1.0 - self.beta2) * g * g
            self.exp_avg[name], self.exp_avg_sq[name] = m, v
            new_params[name] = self._apply(name, w, m, v, lr)
        return new_params

    def accumulated_step(self, params: Mapping[str, np.ndarray],
                         micro_batch_grads: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
        """One update from N micro-batch gradients: average, clip, update (the schedule advances once)."""
        return self.step(params, average_gradients(micro_batch_grads))

    def _apply(self, name: str, w: np.ndarray, m: np.ndarray, v: np.ndarray, lr: float) -> np.ndarray:
        raise NotImplementedError


class NumpyLamb(_NumpyAdamFamily):
    """LAMB as the original ALBERT ``lamb_optimizer.py`` defines it, stepping dicts of arrays by name (float64).

    >>> opt = NumpyLamb(lr=0.01)
    >>> w = opt.step({"w": np.ones(4)}, {"w": np.full(4, 0.5)})["w"]
    >>> np.round(w, 6)  # u = 0.05/(sqrt(0.00025)+1e-6) + 0.01 ~ 3.1723 per entry; r = 2/6.3446; step 0.01*r*u = 0.01
    array([0.99, 0.99, 0.99, 0.99])
    """

    def __init__(
        self,
        lr: float | Schedule = 1e-3,
        betas: Sequence[float] = DEFAULT_BETAS,
        eps: float = DEFAULT_EPS,
        weight_decay: float = DEFAULT_WEIGHT_DECAY,
        exclude_from_weight_decay: Iterable[str] = DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY,
        exclude_from_layer_adaptation: Iterable[str] | None = None,
        clip_norm: float | None = None,
    ) -> None:
        super().__init__(lr, betas, eps, weight_decay, exclude_from_weight_decay, clip_norm)
        self.exclude_from_layer_adaptation = check_patterns("exclude_from_layer_adaptation",
                                                            exclude_from_layer_adaptation)

    def _apply(self, name: str, w: np.ndarray, m: np.ndarray, v: np.ndarray, lr: float) -> np.ndarray:
        rule = parameter_rule(name, self.exclude_from_weight_decay, self.exclude_from_layer_adaptation)
        update = m / (np.sqrt(v) + self.eps)
        if rule.weight_decay:
            update = update + self.weight_decay * w
        ratio = 1.0
        if rule.layer_adaptation:
            w_norm, u_norm = np.linalg.norm(w), np.linalg.norm(update)
            ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
        return w - lr * ratio * update


class NumpyAdamW(_NumpyAdamFamily):
    """AdamW with decoupled weight decay: ALBERT's ``AdamWeightDecayOptimizer``, or ``torch.optim.AdamW``.

    ``bias_correction=False`` (default) is the original (no bias correction); ``True`` is ``torch.optim.AdamW``.

    >>> opt = NumpyAdamW(lr=0.1, weight_decay=0.0, bias_correction=True)
    >>> np.round(opt.step({"w": np.array([1.0])}, {"w": np.array([2.0])})["w"], 6)  # first Adam step: lr * sign(g)
    array([0.9])
    """

    def __init__(
        self,
        lr: float | Schedule = 1e-3,
        betas: Sequence[float] = DEFAULT_BETAS,
        eps: float = DEFAULT_EPS,
        weight_decay: float = DEFAULT_WEIGHT_DECAY,
        exclude_from_weight_decay: Iterable[str] = DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY,
        clip_norm: float | None = None,
        bias_correction: bool = False,
    ) -> None:
        super().__init__(lr, betas, eps, weight_decay, exclude_from_weight_decay, clip_norm)
        self.bias_correction = bool(bias_correction)

    def _apply(self, name: str, w: np.ndarray, m: np.ndarray, v: np.ndarray, lr: float) -> np.ndarray:
        decay = self.weight_decay if parameter_rule(name, self.exclude_from_weight_decay).weight_decay else 0.0
        if self.bias_correction:
            t = self.updates
            m = m / (1.0 - self.beta1**t)
            v = v / (1.0 - self.beta2**t)
        return w - lr * decay * w - lr * m / (np.sqrt(v) + self.eps)


__all__ = [
    "DEFAULT_BETAS",
    "DEFAULT_CLIP_NORM",
    "DEFAULT_EPS",
    "DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY",
    "DEFAULT_WEIGHT_DECAY",
    "NumpyAdamW",
    "NumpyLamb",
    "ParameterRule",
    "Schedule",
    "average_gradients",
    "check_hyperparameters",
    "check_patterns",
    "clip_by_global_norm",
    "global_norm",
    "is_excluded",
    "learning_rate",
    "parameter_rule",
]
