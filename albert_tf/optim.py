"""Keras 3 LAMB and AdamW as ALBERT trains with them, and the warm-up/decay schedule.

The equations, defaults and exclusion rules are :mod:`albert_core.optim`'s (its NumPy reference is what the tests
compare against); the PyTorch mirror is :mod:`albert_pt.optim` (same class names; arguments follow each framework's
spelling: ``learning_rate``/``beta_1``/``beta_2``/``epsilon`` here, ``lr``/``betas``/``eps`` there).

* **Exclusion by name.** A variable's name is its canonical (PyTorch) name when ``variable_names`` maps it (pass
  ``model.canonical_variables()``), else its Keras ``variable.path`` (e.g. ``LayerNorm/gamma``, ``dense/bias``, which
  the default patterns also catch). Keras' own ``exclude_from_weight_decay()`` method is honoured too.
* **Clipping**: Keras ``global_clipnorm`` is exactly the original's ``tf.clip_by_global_norm``; ALBERT used 1.0
  (:data:`~albert_core.optim.DEFAULT_CLIP_NORM`). Keras clips *after* averaging accumulated gradients.
* **Accumulation**: Keras ``gradient_accumulation_steps=N`` sums N gradients, divides by N, clips and updates once.
  Keras reads learning-rate schedules at the *micro-batch* count; these optimizers read them at the *update* count
  (``optimizer.iterations``), so the schedule advances once per update as in :mod:`albert_pt.optim`.
* **Under** ``tf.distribute`` Keras' ``global_clipnorm`` clips each replica's gradient *before* the cross-replica
  sum, and ``gradient_accumulation_steps`` fails; :func:`albert_tf.pretraining.pretrain` therefore clips after the
  sum and accumulates inside its train step. Use these two options on one device only.

>>> import numpy as np, keras
>>> from albert_core.optim import Schedule
>>> weight = keras.Variable(np.ones((2, 2), "float32"), name="kernel")
>>> optimizer = Lamb(WarmupPolynomialDecay(Schedule(peak_lr=1e-2, total_steps=10, warmup_steps=1)),
...                  global_clipnorm=1.0, gradient_accumulation_steps=2)
>>> for _ in range(4):  # 4 micro-batches = 2 updates; the first update is at lr 0 (warm-up step 0)
...     optimizer.apply([keras.ops.ones((2, 2))], [weight])
>>> int(optimizer.iterations), np.round(weight.numpy().astype(float), 4).tolist()
(2, [[0.99, 0.99], [0.99, 0.99]])
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Mapping

import keras
from keras import ops

from albert_core.optim import (
    DEFAULT_BETAS,
    DEFAULT_EPS,
    DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY,
    DEFAULT_WEIGHT_DECAY,
    ParameterRule,
    Schedule,
    check_hyperparameters,
    check_patterns,
    parameter_rule,
)

#: Keras spellings of the arguments :func:`albert_core.optim.check_hyperparameters` names in its messages.
_KERAS_NAMES = {"lr": "learning_rate", "betas[0]": "beta_1", "betas[1]": "beta_2", "eps": "epsilon",
                "clip_norm": "global_clipnorm", "accumulation_steps": "gradient_accumulation_steps"}


@keras.saving.register_keras_serializable(package="albert_lite")
class WarmupPolynomialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Keras schedule following :class:`albert_core.optim.Schedule` (computed in float32).

    >>> schedule = WarmupPolynomialDecay(Schedule(peak_lr=1.0, total_steps=4, warmup_steps=2))
    >>> [round(float(schedule(step)), 6) for step in range(6)]
    [0.0, 0.5, 1.0, 0.5, 0.0, 0.0]
    """

    def __init__(self, schedule: Schedule) -> None:
        if not isinstance(schedule, Schedule):
            raise TypeError(f"schedule must be an albert_core.optim.Schedule, got {type(schedule).__name__}")
        self.schedule = schedule

    def __call__(self, step: Any) -> Any:
        s = self.schedule
        step = ops.cast(step, "float32")
        warmup = s.peak_lr * step / max(s.warmup_steps, 1)
        start = s.warmup_steps if s.decay_from_warmup_end else 0
        decay_steps = s.total_steps - start
        if decay_steps <= 0:
            decayed = ops.full_like(step, s.end_lr)
        else:
            progress = ops.minimum(step - start, float(decay_steps)) / decay_steps
            # clamp at 0 so the (masked) warm-up steps never raise a negative base to a fractional power
            decayed = (s.peak_lr - s.end_lr) * ops.power(ops.maximum(1.0 - progress, 0.0), s.power) + s.end_lr
        return ops.where(step < s.warmup_steps, warmup, decayed)

    def get_config(self) -> dict[str, Any]:
        return dataclasses.asdict(self.schedule)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "WarmupPolynomialDecay":
        return cls(Schedule(**config))


def _dense(gradient: Any) -> Any:
    """A ``tf.IndexedSlices`` gradient as the dense tensor it sums to (repeated indices added); others unchanged."""
    if type(gradient).__name__ == "IndexedSlices":  # TensorFlow's sparse gradient (Keras 3 may run on another backend)
        import tensorflow as tf

        return tf.convert_to_tensor(gradient)
    return gradient


class _AdamFamily(keras.optimizers.Optimizer):
    """Adam moments without bias correction, per-variable exclusion rules, update-count schedules."""

    def __init__(
        self,
        learning_rate: Any,
        beta_1: float,
        beta_2: float,
        epsilon: float,
        weight_decay: float,
        exclude_from_weight_decay: Iterable[str],
        exclude_from_layer_adaptation: Iterable[str] | None,
        variable_names: Mapping[str, Any] | None,
        name: str,
        **kwargs: Any,
    ) -> None:
        lr_value = learning_rate if isinstance(learning_rate, (int, float)) else None
        if kwargs.get("gradient_accumulation_steps") == 1:  # Keras refuses 1; here it means none, as in PyTorch
            kwargs["gradient_accumulation_steps"] = None
        check_hyperparameters(lr=lr_value, betas=(beta_1, beta_2), eps=epsilon, weight_decay=weight_decay,
                              clip_norm=kwargs.get("global_clipnorm"),
                              accumulation_steps=kwargs.get("gradient_accumulation_steps"), names=_KERAS_NAMES)
        # Keras' own decay runs before update_step; LAMB needs it inside the update (before the trust ratio)
        super().__init__(learning_rate=learning_rate, weight_decay=None, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.weight_decay_rate = float(weight_decay)
        self.weight_decay_exclusions = check_patterns("exclude_from_weight_decay", exclude_from_weight_decay)
        self.layer_adaptation_exclusions = check_patterns("exclude_from_layer_adaptation",
                                                          exclude_from_layer_adaptation)
        # keep keys, not the variables: Keras would track variables stored here as optimizer state (and save them)
        self._names_by_key = {self._var_key(v): name for name, v in (variable_names or {}).items()}

    def apply(self, grads: Any, trainable_variables: Any = None) -> Any:
        # An embedding lookup's gradient is a tf.IndexedSlices holding one slice per occurrence of a token. The
        # moments and global-norm clipping are defined on the summed gradient (as in PyTorch and the reference);
        # applied slice by slice, frequent rows would get a smaller second moment and norm.
        grads = [_dense(g) for g in grads]
        return super().apply(grads, trainable_variables)

    def variable_name(self, variable: Any) -> str:
        """The name exclusion patterns are matched against: canonical if ``variable_names`` has it, else the path."""
        name = self._names_by_key.get(self._var_key(variable))  # Keras' key: the same for tf.Variable and wrapper
        return name if name is not None else (getattr(variable, "path", None) or variable.name)

    def variable_rule(self, variable: Any) -> ParameterRule:
        """Which update terms apply to ``variable`` (from its :meth:`variable_name` and Keras' own exclusions)."""
        rule = parameter_rule(self.variable_name(variable), self.weight_decay_exclusions,
                              self.layer_adaptation_exclusions)
        keras_allows_decay = self._use_weight_decay(variable)  # Keras' exclude_from_weight_decay() method
        return ParameterRule(weight_decay=rule.weight_decay and keras_allows_decay and self.weight_decay_rate > 0,
                             layer_adaptation=rule.layer_adaptation)

    def build(self, variables: list[Any]) -> None:
        if self.built:
            return
        super().build(variables)
        self._exp_avgs = [self.add_variable_from_reference(v, name="exp_avg") for v in variables]
        self._exp_avg_sqs = [self.add_variable_from_reference(v, name="exp_avg_sq") for v in variables]
        # decided once, in Python: the rules are static per variable, so traced update steps stay branch-free
        self._rules = {self._var_key(v): self.variable_rule(v) for v in variables}

    def _get_current_learning_rate(self) -> Any:
        # Keras evaluates schedules at the micro-batch count; ALBERT's schedule counts updates
        if isinstance(self._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
            return self._learning_rate(self.iterations)
        return super()._get_current_learning_rate()

    def _moments(self, gradient: Any, variable: Any) -> tuple[Any, Any, ParameterRule]:
        index = self._get_variable_index(variable)
        gradient = ops.cast(gradient, variable.dtype)
        exp_avg, exp_avg_sq = self._exp_avgs[index], self._exp_avg_sqs[index]
        self.assign(exp_avg, ops.add(ops.multiply(exp_avg, self.beta_1), ops.multiply(gradient, 1.0 - self.beta_1)))
        self.assign(exp_avg_sq, ops.add(ops.multiply(exp_avg_sq, self.beta_2),
                                        ops.multiply(ops.square(gradient), 1.0 - self.beta_2)))
        return exp_avg, exp_avg_sq, self._rules[self._var_key(variable)]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            weight_decay=self.weight_decay_rate,
            exclude_from_weight_decay=list(self.weight_decay_exclusions),
        )
        return config  # variable_names (live variables) cannot be serialised: pass it again after loading


@keras.saving.register_keras_serializable(package="albert_lite")
class Lamb(_AdamFamily):
    """LAMB (You et al. 2019) as the original ALBERT ``lamb_optimizer.py``: no bias correction, trust ratio per tensor.

    ``u = m / (sqrt(v) + epsilon) + weight_decay * w``; ``w -= lr * r * u`` with ``r = ||w|| / ||u||`` (1 when either
    norm is 0 or the name is excluded from layer adaptation). See :mod:`albert_core.optim`.

    >>> Lamb(learning_rate=1e-3, beta_2=1.5)
    Traceback (most recent call last):
    ...
    albert_core.errors.ConfigError: beta_2 must be in [0, 1), got 1.5
    """

    def __init__(
        self,
        learning_rate: Any = 1e-3,
        beta_1: float = DEFAULT_BETAS[0],
        beta_2: float = DEFAULT_BETAS[1],
        epsilon: float = DEFAULT_EPS,
        weight_decay: float = DEFAULT_WEIGHT_DECAY,
        exclude_from_weight_decay: Iterable[str] = DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY,
        exclude_from_layer_adaptation: Iterable[str] | None = None,
        variable_names: Mapping[str, Any] | None = None,
        name: str = "lamb",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay, exclude_from_weight_decay,
                         exclude_from_layer_adaptation, variable_names, name, **kwargs)

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        exp_avg, exp_avg_sq, rule = self._moments(gradient, variable)
        update = ops.divide(exp_avg, ops.add(ops.sqrt(exp_avg_sq), self.epsilon))
        if rule.weight_decay:
            update = ops.add(update, ops.multiply(variable, self.weight_decay_rate))
        if rule.layer_adaptation:
            w_norm = ops.sqrt(ops.sum(ops.square(variable)))
            u_norm = ops.sqrt(ops.sum(ops.square(update)))
            # the original's guard: a zero-norm weight or update keeps ratio 1 (divide_no_nan avoids inf in the
            # branch where() discards)
            ratio = ops.where(ops.logical_and(w_norm > 0, u_norm > 0), ops.divide_no_nan(w_norm, u_norm), 1.0)
            update = ops.multiply(update, ratio)
        self.assign_sub(variable, ops.multiply(update, ops.cast(learning_rate, variable.dtype)))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        exclusions = self.layer_adaptation_exclusions
        config["exclude_from_layer_adaptation"] = None if exclusions is None else list(exclusions)
        return config


@keras.saving.register_keras_serializable(package="albert_lite")
class AdamW(_AdamFamily):
    """AdamW with decoupled decay: ALBERT's ``AdamWeightDecayOptimizer`` (no bias correction) by default.

    ``bias_correction=True`` gives ``torch.optim.AdamW``'s update (the tests compare it with torch).

    >>> import numpy as np, keras
    >>> weight = keras.Variable(np.array([1.0], "float32"), name="kernel")
    >>> AdamW(learning_rate=0.1, weight_decay=0.0, bias_correction=True).apply([keras.ops.array([2.0])], [weight])
    >>> np.round(weight.numpy().astype(float), 4)  # first bias-corrected Adam step: lr * sign(g)
    array([0.9])
    """

    def __init__(
        self,
        learning_rate: Any = 1e-3,
        beta_1: float = DEFAULT_BETAS[0],
        beta_2: float = DEFAULT_BETAS[1],
        epsilon: float = DEFAULT_EPS,
        weight_decay: float = DEFAULT_WEIGHT_DECAY,
        exclude_from_weight_decay: Iterable[str] = DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY,
        bias_correction: bool = False,
        variable_names: Mapping[str, Any] | None = None,
        name: str = "adamw",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay, exclude_from_weight_decay, None,
                         variable_names, name, **kwargs)
        self.bias_correction = bool(bias_correction)

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        exp_avg, exp_avg_sq, rule = self._moments(gradient, variable)
        lr = ops.cast(learning_rate, variable.dtype)
        denom = ops.sqrt(exp_avg_sq)
        step_size = lr
        if self.bias_correction:
            # iterations counts updates (not micro-batches) and is read before Keras increments it
            t = ops.cast(self.iterations + 1, variable.dtype)
            step_size = lr / (1.0 - ops.power(self.beta_1, t))
            denom = denom / ops.sqrt(1.0 - ops.power(self.beta_2, t))
        delta = ops.multiply(ops.divide(exp_avg, ops.add(denom, self.epsilon)), step_size)
        if rule.weight_decay:  # decoupled: from the pre-update weight
            delta = ops.add(delta, ops.multiply(variable, lr * self.weight_decay_rate))
        self.assign_sub(variable, delta)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["bias_correction"] = self.bias_correction
        return config


__all__ = ["AdamW", "Lamb", "WarmupPolynomialDecay"]
