"""LAMB, AdamW, the schedule, clipping and accumulation: PyTorch and Keras against the NumPy reference and each other.

Tolerances: the NumPy reference runs in float64, the backends in float32, so backend-vs-reference and
PyTorch-vs-Keras comparisons use ``atol=2e-6, rtol=1e-5`` on weights of order 1 after several updates (float32 rounding
of a few ops per step, plus torch's ``clip_grad_norm_`` adding 1e-6 to the norm). Our bias-corrected AdamW against
``torch.optim.AdamW`` is compared bit for bit; resumed runs must equal uninterrupted ones bit for bit.
"""

from __future__ import annotations

import copy

import keras
import numpy as np
import pytest
import torch

from albert_core import ConfigError, Head
from albert_core.optim import (
    DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY,
    NumpyAdamW,
    NumpyLamb,
    Schedule,
    learning_rate,
    parameter_rule,
)
from albert_pt import optim as pt_optim
from albert_tf import optim as tf_optim
from conftest import tiny_config

ATOL, RTOL = 2e-6, 1e-5
SCHEDULE = Schedule(peak_lr=0.02, total_steps=6, warmup_steps=1)
UPDATES = 4

#: canonical names covering every rule: decayed + adapted weight, excluded bias and LayerNorm, a zero-norm weight
SHAPES = {
    "albert.encoder.embedding_hidden_mapping_in.weight": (4, 3),
    "albert.encoder.embedding_hidden_mapping_in.bias": (4,),
    "albert.embeddings.LayerNorm.weight": (3,),
    "albert.encoder.albert_layer_groups.0.albert_layers.0.full_layer_layer_norm.bias": (3,),
    "albert.pooler.weight": (3, 3),
}
ZERO_NORM = "albert.pooler.weight"


def initial_params() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    params = {name: rng.normal(size=shape).astype(np.float32) for name, shape in SHAPES.items()}
    params[ZERO_NORM] = np.zeros(SHAPES[ZERO_NORM], np.float32)
    return params


def micro_batch_grads(updates: int, accumulation: int, scale: float = 1.0) -> list[list[dict[str, np.ndarray]]]:
    """``[update][micro_batch] -> {name: grad}``; scale 3 puts the global norm well above 1 so clipping acts."""
    rng = np.random.default_rng(1)
    return [[{name: (scale * rng.normal(size=shape)).astype(np.float32) for name, shape in SHAPES.items()}
             for _ in range(accumulation)] for _ in range(updates)]


# ---------------------------------------------------------------------------------------------- runners


def run_numpy(kind: str, grads, clip_norm, **kwargs) -> dict[str, np.ndarray]:
    cls = NumpyLamb if kind == "lamb" else NumpyAdamW
    optimizer = cls(lr=SCHEDULE, clip_norm=clip_norm, **kwargs)
    params = initial_params()
    for micro in grads:
        params = optimizer.accumulated_step(params, micro)
    return params


def run_torch(kind: str, grads, clip_norm, **kwargs) -> dict[str, np.ndarray]:
    named = [(name, torch.nn.Parameter(torch.from_numpy(value.copy()))) for name, value in initial_params().items()]
    cls = pt_optim.Lamb if kind == "lamb" else pt_optim.AdamW
    optimizer = cls(named, lr=SCHEDULE.peak_lr, **kwargs)
    scheduler = pt_optim.WarmupPolynomialDecay(optimizer, SCHEDULE)
    accumulator = pt_optim.GradientAccumulator(optimizer, len(grads[0]), clip_norm, scheduler)
    for micro in grads:
        for grad in micro:
            for name, param in named:  # what loss.backward() does: sum into .grad
                g = torch.from_numpy(grad[name])
                param.grad = g.clone() if param.grad is None else param.grad + g
            accumulator.step()
    return {name: param.detach().numpy() for name, param in named}


def run_keras(kind: str, grads, clip_norm, **kwargs) -> dict[str, np.ndarray]:
    variables = {name: keras.Variable(value, name=f"v{i}") for i, (name, value) in enumerate(initial_params().items())}
    cls = tf_optim.Lamb if kind == "lamb" else tf_optim.AdamW
    accumulation = len(grads[0])
    optimizer = cls(tf_optim.WarmupPolynomialDecay(SCHEDULE), global_clipnorm=clip_norm, variable_names=variables,
                    gradient_accumulation_steps=accumulation, **kwargs)
    for micro in grads:
        for grad in micro:
            optimizer.apply([grad[name] for name in variables], list(variables.values()))
    assert int(optimizer.iterations) == len(grads)
    return {name: variable.numpy() for name, variable in variables.items()}


def assert_params_close(actual: dict, expected: dict) -> None:
    for name in expected:
        np.testing.assert_allclose(actual[name], expected[name], atol=ATOL, rtol=RTOL, err_msg=name)


CASES = [
    pytest.param(kind, clip, accumulation, id=f"{kind}-{'clip' if clip else 'noclip'}-acc{accumulation}")
    for kind in ("lamb", "adamw") for clip in (None, 1.0) for accumulation in (1, 3)
]


# ---------------------------------------------------------------------------------------------- equations


@pytest.mark.parametrize("kind, clip_norm, accumulation", CASES)
def test_pytorch_and_keras_match_numpy_reference_and_each_other(kind, clip_norm, accumulation):
    grads = micro_batch_grads(UPDATES, accumulation, scale=3.0)
    expected = run_numpy(kind, grads, clip_norm)
    from_torch = run_torch(kind, grads, clip_norm)
    from_keras = run_keras(kind, grads, clip_norm)
    assert_params_close(from_torch, expected)
    assert_params_close(from_keras, expected)
    assert_params_close(from_keras, from_torch)
    # the test would be vacuous if the parameters had not moved, or clipping / accumulation changed nothing
    assert not np.allclose(expected[ZERO_NORM], 0.0)
    other = run_numpy(kind, micro_batch_grads(UPDATES, accumulation, scale=3.0), None if clip_norm else 1.0)
    assert not np.allclose(other["albert.pooler.weight"], expected["albert.pooler.weight"])


def test_reference_lamb_rules_by_hand():
    """One step, lr 1, no decay: adapted tensors move by exactly ||w||, excluded ones by u, zero-norm ones by u."""
    opt = NumpyLamb(lr=1.0, weight_decay=0.0)
    params = {"a.weight": np.array([3.0, 4.0]), "a.bias": np.array([1.0, 1.0]), "b.weight": np.zeros(2)}
    grads = {"a.weight": np.array([1.0, -1.0]), "a.bias": np.array([2.0, 0.0]), "b.weight": np.array([1.0, 1.0])}
    new = opt.step(params, grads)
    def u(g: float) -> float:  # m / (sqrt(v) + eps) at the first step: m = 0.1 g, v = 0.001 g**2
        return 0.1 * g / (np.sqrt(0.001) * abs(g) + 1e-6)

    np.testing.assert_allclose(np.linalg.norm(new["a.weight"] - params["a.weight"]), 5.0)
    np.testing.assert_allclose(new["a.bias"], [1.0 - u(2.0), 1.0])
    np.testing.assert_allclose(new["b.weight"], [-u(1.0), -u(1.0)])  # zero-norm weight: trust ratio 1


def test_reference_weight_decay_and_exclusion_lists():
    """Decay enters u (so LAMB's trust ratio sees it); exclude_from_layer_adaptation defaults to the decay list."""
    grads = {"w": np.array([0.0, 0.0])}
    adam = NumpyAdamW(lr=0.1, weight_decay=0.5)
    np.testing.assert_allclose(adam.step({"w": np.array([2.0, 0.0])}, grads)["w"], [2.0 - 0.1 * 0.5 * 2.0, 0.0])
    assert parameter_rule("x.bias") == parameter_rule("x.bias", exclude_from_layer_adaptation=None)
    assert parameter_rule("x.bias", exclude_from_layer_adaptation=()).layer_adaptation
    assert not parameter_rule("x.weight", ["weight"], []).weight_decay


def test_adamw_bias_correction_matches_torch_adamw_exactly():
    rng = np.random.default_rng(2)
    start = rng.normal(size=(5, 4)).astype(np.float32)
    ours = torch.nn.Parameter(torch.from_numpy(start.copy()))
    oracle = torch.nn.Parameter(torch.from_numpy(start.copy()))
    kwargs = dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)
    ours_opt = pt_optim.AdamW([("w", ours)], bias_correction=True, **kwargs)
    oracle_opt = torch.optim.AdamW([oracle], foreach=False, **kwargs)
    reference = NumpyAdamW(bias_correction=True, **kwargs)
    keras_var = keras.Variable(start.copy(), name="w")
    keras_opt = tf_optim.AdamW(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-6, weight_decay=0.1,
                               bias_correction=True)
    params = {"w": start}
    for _ in range(5):
        grad = rng.normal(size=start.shape).astype(np.float32)
        ours.grad, oracle.grad = torch.from_numpy(grad.copy()), torch.from_numpy(grad.copy())
        ours_opt.step()
        oracle_opt.step()
        keras_opt.apply([grad], [keras_var])
        params = reference.step(params, {"w": grad})
    assert torch.equal(ours, oracle)
    np.testing.assert_allclose(params["w"], oracle.detach().numpy(), atol=ATOL, rtol=RTOL)
    np.testing.assert_allclose(keras_var.numpy(), oracle.detach().numpy(), atol=ATOL, rtol=RTOL)


# ---------------------------------------------------------------------------------------------- schedule


def test_schedule_values_by_hand():
    linear = Schedule(peak_lr=1e-3, total_steps=100, warmup_steps=10)
    assert [linear(s) for s in (0, 5, 10, 55, 100, 150)] == pytest.approx([0.0, 5e-4, 1e-3, 5e-4, 0.0, 0.0])
    squared = Schedule(peak_lr=1e-3, total_steps=100, warmup_steps=10, end_lr=1e-5, power=2.0)
    # mid-decay: (1e-3 - 1e-5) * 0.5**2 + 1e-5
    assert [squared(s) for s in (10, 55, 100)] == pytest.approx([1e-3, 2.575e-4, 1e-5])
    original = Schedule(peak_lr=1e-3, total_steps=100, warmup_steps=10, decay_from_warmup_end=False)
    assert [original(s) for s in (9, 10, 55)] == pytest.approx([9e-4, 9e-4, 4.5e-4])  # ALBERT: decay from step 0
    assert Schedule(peak_lr=1.0, total_steps=5).multiplier(0) == 1.0  # no warm-up: the peak at once
    assert learning_rate(3, 1.0, total_steps=3, warmup_steps=3, end_lr=0.25) == 0.25


def test_schedules_agree_in_both_backends():
    schedule = Schedule(peak_lr=1e-3, total_steps=20, warmup_steps=5, end_lr=1e-4, power=0.5)
    expected = [schedule(step) for step in range(25)]
    keras_schedule = tf_optim.WarmupPolynomialDecay(schedule)
    np.testing.assert_allclose([float(keras_schedule(step)) for step in range(25)], expected, rtol=1e-6, atol=1e-10)
    optimizer = pt_optim.AdamW(torch.nn.Linear(1, 1).parameters(), lr=1e-3)
    scheduler = pt_optim.WarmupPolynomialDecay(optimizer, schedule)
    seen = []
    for _ in range(25):
        seen.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    np.testing.assert_allclose(seen, expected, rtol=1e-12)
    restored = tf_optim.WarmupPolynomialDecay.from_config(keras_schedule.get_config())
    assert restored.schedule == schedule


# ---------------------------------------------------------------------------------------------- resume


def test_torch_state_dicts_resume_identically():
    grads = micro_batch_grads(6, 2)

    def fresh(params):
        named = [(n, torch.nn.Parameter(torch.from_numpy(v.copy()))) for n, v in params.items()]
        optimizer = pt_optim.Lamb(named, lr=SCHEDULE.peak_lr)
        scheduler = pt_optim.WarmupPolynomialDecay(optimizer, SCHEDULE)
        return named, optimizer, scheduler, pt_optim.GradientAccumulator(optimizer, 2, 1.0, scheduler)

    def train(named, accumulator, updates):
        for micro in updates:
            for grad in micro:
                for name, param in named:
                    g = torch.from_numpy(grad[name])
                    param.grad = g.clone() if param.grad is None else param.grad + g
                accumulator.step()

    named, optimizer, scheduler, accumulator = fresh(initial_params())
    train(named, accumulator, grads[:3])
    saved = copy.deepcopy({"params": {n: p.detach().numpy() for n, p in named}, "optimizer": optimizer.state_dict(),
                           "scheduler": scheduler.state_dict(), "accumulator": accumulator.state_dict()})
    train(named, accumulator, grads[3:])

    named2, optimizer2, scheduler2, accumulator2 = fresh(saved["params"])
    optimizer2.load_state_dict(saved["optimizer"])
    scheduler2.load_state_dict(saved["scheduler"])
    accumulator2.load_state_dict(saved["accumulator"])
    train(named2, accumulator2, grads[3:])
    for (name, a), (_, b) in zip(named, named2):
        assert torch.equal(a, b), name
    assert scheduler2.get_last_lr() == scheduler.get_last_lr()
    assert optimizer2.param_groups[0]["param_names"] == optimizer.param_groups[0]["param_names"]


@pytest.mark.parametrize("kind", ["lamb", "adamw"])
def test_keras_optimizer_variables_resume_identically(kind):
    grads = micro_batch_grads(5, 2)
    cls = tf_optim.Lamb if kind == "lamb" else tf_optim.AdamW
    extra = {"bias_correction": True} if kind == "adamw" else {}

    def fresh(params):
        variables = [keras.Variable(v, name=f"v{i}") for i, v in enumerate(params.values())]
        optimizer = cls(tf_optim.WarmupPolynomialDecay(SCHEDULE), global_clipnorm=1.0, gradient_accumulation_steps=2,
                        variable_names=dict(zip(params, variables)), **extra)
        optimizer.build(variables)
        return variables, optimizer

    def train(variables, optimizer, updates):
        for micro in updates:
            for grad in micro:
                optimizer.apply(list(grad.values()), variables)

    variables, optimizer = fresh(initial_params())
    # slots only: iteration, 2 moments and 1 accumulator per variable (the named model variables are not state)
    assert len(optimizer.variables) == 1 + 3 * len(variables)
    train(variables, optimizer, grads[:2])
    optimizer.apply(list(grads[2][0].values()), variables)  # stop mid-accumulation: the accumulators are state too
    saved_params = {n: v.numpy() for n, v in zip(SHAPES, variables)}
    store: dict[str, np.ndarray] = {}
    optimizer.save_own_variables(store)
    optimizer.apply(list(grads[2][1].values()), variables)
    train(variables, optimizer, grads[3:])

    variables2, optimizer2 = fresh(saved_params)
    optimizer2.load_own_variables(store)
    optimizer2.apply(list(grads[2][1].values()), variables2)
    train(variables2, optimizer2, grads[3:])
    for a, b in zip(variables, variables2):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    config = optimizer.get_config()
    restored = cls.from_config(copy.deepcopy(config))
    assert restored._learning_rate.schedule == SCHEDULE
    config.pop("learning_rate")
    assert {k: v for k, v in restored.get_config().items() if k != "learning_rate"} == config


# ---------------------------------------------------------------------------------------------- names and models


def test_weight_decay_exclusion_by_canonical_name_in_both_backends():
    """Both backends exclude the same canonical tensors; Keras paths alone give the same answer for this model."""
    from albert_pt import MODEL_CLASSES as PT_MODELS
    from albert_tf import MODEL_CLASSES as TF_MODELS

    config = tiny_config(num_hidden_layers=1)
    pt_model = PT_MODELS[Head.MASKED_LM](config)
    groups = pt_optim.Lamb(pt_model.named_parameters(), lr=1e-3).param_groups
    pt_rules = {name: (group["weight_decay"] > 0, group["layer_adaptation"])
                for group in groups for name in group["param_names"]}
    expected = {name: tuple(vars(parameter_rule(name)).values()) for name in pt_rules}
    assert pt_rules == expected
    assert {n for n, (decays, _) in pt_rules.items() if not decays} >= {"albert.embeddings.LayerNorm.weight",
                                                                        "predictions.bias"}

    tf_model = TF_MODELS[Head.MASKED_LM](config)
    canonical = tf_model.canonical_variables()
    by_name = tf_optim.Lamb(variable_names=canonical)
    by_path = tf_optim.Lamb()
    for name, variable in canonical.items():
        if name not in pt_rules:  # tied decoder weight: the same tensor as the word embeddings in PyTorch
            continue
        assert by_name.variable_name(variable) == name
        assert tuple(vars(by_name.variable_rule(variable)).values()) == pt_rules[name], name
        assert tuple(vars(by_path.variable_rule(variable)).values()) == pt_rules[name], variable.path
    # Keras' own exclude_from_weight_decay() is honoured on top of the name patterns
    kernel = canonical["albert.encoder.embedding_hidden_mapping_in.weight"]
    keras_excluded = tf_optim.Lamb(variable_names=canonical)
    keras_excluded.exclude_from_weight_decay(var_list=[kernel])
    assert not keras_excluded.variable_rule(kernel).weight_decay


def test_keras_fit_with_lamb_accumulation_and_schedule():
    """Traced training (model.fit) runs the same update rule: one schedule step per accumulated update."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.LayerNormalization(),
                              keras.layers.Dense(1)])
    optimizer = tf_optim.Lamb(tf_optim.WarmupPolynomialDecay(SCHEDULE), global_clipnorm=1.0,
                              gradient_accumulation_steps=2)
    model.compile(optimizer=optimizer, loss="mse")
    x, y = np.random.default_rng(3).normal(size=(8, 3)), np.zeros((8, 1))
    before = [w.numpy().copy() for w in model.trainable_weights]
    model.fit(x, y, batch_size=2, epochs=1, verbose=0)  # 4 micro-batches
    assert int(optimizer.iterations) == 2
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights))
    assert float(optimizer.learning_rate) == pytest.approx(SCHEDULE(2), rel=1e-6)
    rules = {w.path: optimizer.variable_rule(w).weight_decay for w in model.trainable_weights}
    assert [path for path, decays in rules.items() if not decays] == [
        p for p in rules if p.endswith(("bias", "beta", "gamma"))]


# ---------------------------------------------------------------------------------------------- bad values


@pytest.mark.parametrize("build, argument", [
    (lambda: NumpyLamb(lr=-1.0), "lr"),
    (lambda: NumpyAdamW(betas=(1.0, 0.999)), "betas[0]"),
    (lambda: pt_optim.Lamb(torch.nn.Linear(1, 1).parameters(), lr=-0.1), "lr"),
    (lambda: pt_optim.AdamW(torch.nn.Linear(1, 1).parameters(), betas=(0.9, -0.1)), "betas[1]"),
    (lambda: pt_optim.AdamW(torch.nn.Linear(1, 1).parameters(), eps=0.0), "eps"),
    (lambda: pt_optim.Lamb(torch.nn.Linear(1, 1).parameters(), weight_decay=-1.0), "weight_decay"),
    (lambda: pt_optim.parameter_groups([], exclude_from_weight_decay="bias"), "exclude_from_weight_decay"),
    (lambda: pt_optim.GradientAccumulator(torch.optim.SGD(torch.nn.Linear(1, 1).parameters()), 0),
     "accumulation_steps"),
    (lambda: pt_optim.clip_grad_norm([], -1.0), "clip_norm"),
    (lambda: tf_optim.Lamb(learning_rate=-1.0), "learning_rate"),
    (lambda: tf_optim.AdamW(beta_1=1.0), "beta_1"),
    (lambda: tf_optim.Lamb(global_clipnorm=-1.0), "global_clipnorm"),
    (lambda: Schedule(peak_lr=1e-3, total_steps=10, warmup_steps=11), "warmup_steps"),
    (lambda: Schedule(peak_lr=-1e-3, total_steps=10), "peak_lr"),
    (lambda: Schedule(peak_lr=1e-3, total_steps=0), "total_steps"),
    (lambda: Schedule(peak_lr=1e-3, total_steps=10, power=0.0), "power"),
])
def test_bad_hyperparameters_raise_config_error_naming_the_argument(build, argument):
    with pytest.raises(ConfigError) as info:
        build()
    assert str(info.value).startswith(argument)


def test_scheduler_refuses_an_optimizer_lr_that_is_not_the_peak():
    optimizer = pt_optim.Lamb(torch.nn.Linear(1, 1).parameters(), lr=1.0)
    with pytest.raises(ConfigError, match="peak_lr"):
        pt_optim.WarmupPolynomialDecay(optimizer, Schedule(peak_lr=2.0, total_steps=3))
    assert DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY == ("LayerNorm", "layer_norm", "bias")


@pytest.mark.parametrize("kind", ["lamb", "adamw"])
def test_keras_sums_repeated_embedding_rows_before_the_update(kind):
    """Embedding lookups give ``tf.IndexedSlices`` with one slice per occurrence of a token. The update equations
    and global-norm clipping are defined on the summed (dense) gradient, as PyTorch and the NumPy reference see it:
    squaring each slice before summing would shrink the second moment and the norm of frequent rows."""
    import tensorflow as tf

    grads = micro_batch_grads(UPDATES, 1, scale=3.0)
    expected = run_numpy(kind, grads, 1.0)
    variables = {name: keras.Variable(value, name=f"v{i}") for i, (name, value) in enumerate(initial_params().items())}
    optimizer = (tf_optim.Lamb if kind == "lamb" else tf_optim.AdamW)(
        tf_optim.WarmupPolynomialDecay(SCHEDULE), global_clipnorm=1.0, variable_names=variables)
    rng = np.random.default_rng(2)
    for (micro,) in grads:
        applied = []
        for name in variables:
            dense = micro[name]
            if dense.ndim == 2:  # every row as two slices of the same index, in shuffled order
                part = rng.normal(size=dense.shape).astype(np.float32)
                values = np.concatenate([part, dense - part])
                indices = np.concatenate([np.arange(len(dense))] * 2)
                order = rng.permutation(len(indices))
                applied.append(tf.IndexedSlices(tf.constant(values[order]), tf.constant(indices[order]),
                                                tf.constant(dense.shape)))
            else:
                applied.append(dense)
        optimizer.apply(applied, list(variables.values()))
    assert_params_close({name: v.numpy() for name, v in variables.items()}, expected)
