"""albert_tf as a Keras / TensorFlow citizen: compile + fit on tf.data, XLA, mixed precision, SavedModel export."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import keras  # Keras 3, as albert_tf uses (tf.keras may be Keras 2 once transformers is imported)
import numpy as np
import pytest
import tensorflow as tf

from albert_core import Head, InputError
from albert_tf import MODEL_CLASSES
from factory import assert_outputs_close, build, config_for, make_inputs, make_labels, random_state


def _classification_data(n=32, seq=8, seed=0):
    """Separable toy task: the label is whether token 5 appears in the sequence."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(6, 99, size=(n, seq)).astype(np.int32)
    labels = (np.arange(n) % 2).astype(np.int32)
    ids[labels == 1, 3] = 5
    ids[:, 0] = 2
    return {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}, labels


@pytest.mark.parametrize("labels_in", ["dict", "y"])
def test_compile_and_fit_decreases_loss(labels_in):
    keras.utils.set_random_seed(0)
    model = MODEL_CLASSES[Head.SEQUENCE_CLASSIFICATION](config_for(Head.SEQUENCE_CLASSIFICATION, num_labels=2))
    x, y = _classification_data()
    if labels_in == "dict":
        dataset = tf.data.Dataset.from_tensor_slices({**x, "labels": y}).batch(8)
    else:
        dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    before = float(model(**{k: v[:16] for k, v in x.items()}, labels=y[:16]).loss)
    history = model.fit(dataset, epochs=4, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0] and losses[-1] < before, losses
    ev = model.evaluate(dataset, verbose=0, return_dict=True)
    assert np.isfinite(ev["loss"])


def test_fit_question_answering_with_dict_labels():
    keras.utils.set_random_seed(1)
    model = MODEL_CLASSES[Head.QUESTION_ANSWERING](config_for(Head.QUESTION_ANSWERING))
    x, _ = _classification_data(n=16)
    y = {"start_positions": np.full(16, 3, np.int32), "end_positions": np.full(16, 5, np.int32)}
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(8), epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


# ---------------------------------------------------------------------------------------------------------------------
# out-of-range labels under fit / evaluate: the graph's run-time check comes out as the eager InputError

_NUM_LABELS_MESSAGE = r"labels has a value outside \[0, num_labels=2\) \(use -100 to ignore an example\)"


def _bad_label_data(n=8):
    x, y = _classification_data(n=n)
    y = y.copy()
    y[5] = 2  # num_labels is 2
    return x, y


@pytest.mark.parametrize("source", ["dataset_y", "dataset_labels_in_x", "arrays"])
def test_fit_with_out_of_range_labels_raises_input_error(source):
    model = MODEL_CLASSES[Head.SEQUENCE_CLASSIFICATION](config_for(Head.SEQUENCE_CLASSIFICATION, num_labels=2))
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    x, y = _bad_label_data()
    with pytest.raises(InputError, match=_NUM_LABELS_MESSAGE) as caught:
        if source == "dataset_y":
            model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(4), epochs=1, verbose=0)
        elif source == "dataset_labels_in_x":
            model.fit(tf.data.Dataset.from_tensor_slices({**x, "labels": y}).batch(4), epochs=1, verbose=0)
        else:
            model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert isinstance(caught.value.__cause__, tf.errors.InvalidArgumentError)  # the run-time check fired


@pytest.mark.parametrize("source", ["dataset_y", "dataset_labels_in_x", "arrays"])
def test_xla_fit_checks_labels_before_the_compiled_step(source):
    # XLA compiles run-time assertions to nothing: without the pipeline check a bad label gives a NaN loss
    model = MODEL_CLASSES[Head.SEQUENCE_CLASSIFICATION](config_for(Head.SEQUENCE_CLASSIFICATION, num_labels=2))
    model.compile(optimizer=keras.optimizers.SGD(0.01), jit_compile=True)
    x, y = _bad_label_data()
    data = {"dataset_y": (tf.data.Dataset.from_tensor_slices((x, y)).batch(4), None),
            "dataset_labels_in_x": (tf.data.Dataset.from_tensor_slices({**x, "labels": y}).batch(4), None),
            "arrays": (x, y)}[source]
    with pytest.raises(InputError, match=r"labels (has a value|contains 2,) outside \[0, num_labels=2\)"):
        model.fit(*data, epochs=1, verbose=0)
    y[5] = 1  # in range, the compiled step trains
    history = model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(4), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_xla_fit_checks_multiple_choice_labels_against_the_choices():
    model = MODEL_CLASSES[Head.MULTIPLE_CHOICE](config_for(Head.MULTIPLE_CHOICE))
    model.compile(optimizer=keras.optimizers.SGD(0.01), jit_compile=True)
    ids = np.array([[[2, 5, 3], [2, 6, 3]]] * 2)
    dataset = tf.data.Dataset.from_tensor_slices(({"input_ids": ids}, np.array([1, 2]))).batch(2)
    with pytest.raises(InputError, match=r"labels has a value outside \[0, num_choices=2\)"):
        model.fit(dataset, epochs=1, verbose=0)


def test_evaluate_and_batch_methods_with_out_of_range_labels_raise_input_error():
    model = MODEL_CLASSES[Head.SEQUENCE_CLASSIFICATION](config_for(Head.SEQUENCE_CLASSIFICATION, num_labels=2))
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    x, y = _bad_label_data()
    with pytest.raises(InputError, match=_NUM_LABELS_MESSAGE):
        model.evaluate(tf.data.Dataset.from_tensor_slices((x, y)).batch(4), verbose=0)
    with pytest.raises(InputError, match=_NUM_LABELS_MESSAGE):
        model.train_on_batch(x, y)
    with pytest.raises(InputError, match=_NUM_LABELS_MESSAGE):
        model.test_on_batch(x, y)
    # in range, the same calls work
    y[5] = 1
    assert np.isfinite(model.train_on_batch(x, y))


def test_fit_pretraining_with_out_of_range_labels_raises_input_error():
    config = config_for(Head.PRETRAINING)
    model = MODEL_CLASSES[Head.PRETRAINING](config)
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    inputs, labels = make_inputs(config, Head.PRETRAINING), make_labels(config, Head.PRETRAINING)
    bad_order = {**labels, "sentence_order_label": np.array([0, 2])}
    with pytest.raises(InputError, match=r"sentence_order_label has a value outside \[0, 2\)"):
        model.fit(tf.data.Dataset.from_tensors((inputs, bad_order)), epochs=1, verbose=0)
    mlm = labels["labels"].copy()
    mlm[0, 1] = config.vocab_size
    with pytest.raises(InputError, match=r"labels has a value outside \[0, vocab_size=99\)"):
        model.fit(tf.data.Dataset.from_tensors({**inputs, **labels, "labels": mlm}), epochs=1, verbose=0)


def test_fit_run_eagerly_raises_the_eager_input_error():
    model = MODEL_CLASSES[Head.SEQUENCE_CLASSIFICATION](config_for(Head.SEQUENCE_CLASSIFICATION, num_labels=2))
    model.compile(optimizer=keras.optimizers.SGD(0.01), run_eagerly=True)
    x, y = _bad_label_data()
    with pytest.raises(InputError, match=r"labels contains 2, outside \[0, num_labels=2\)"):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)


# ---------------------------------------------------------------------------------------------------------------------
# XLA


@pytest.fixture(scope="module")
def pretraining_model():
    config = config_for(Head.PRETRAINING)
    return build("tf", Head.PRETRAINING, config, random_state(config, Head.PRETRAINING, seed=5))


def test_xla_forward_matches_eager(pretraining_model):
    model = pretraining_model
    inputs = make_inputs(model.config, Head.PRETRAINING)
    inputs = {k: tf.constant(v, tf.int32) for k, v in inputs.items()}

    @tf.function(jit_compile=True)
    def forward(ids, mask, types):
        return model(input_ids=ids, attention_mask=mask, token_type_ids=types, output_hidden_states=True,
                     output_attentions=True)

    compiled = forward(inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"])
    eager = model(**inputs, output_hidden_states=True, output_attentions=True)
    assert_outputs_close(compiled, eager, atol=1e-5, what="XLA forward")


def test_xla_train_step_matches_eager(pretraining_model):
    model = pretraining_model
    inputs = {k: tf.constant(v, tf.int32) for k, v in make_inputs(model.config, Head.PRETRAINING).items()}
    labels = {k: tf.constant(v, tf.int32) for k, v in make_labels(model.config, Head.PRETRAINING).items()}
    variables = model.trainable_variables

    def loss_and_grads(batch, targets):
        with tf.GradientTape() as tape:
            loss = model(**batch, **targets, training=True).loss
        return loss, tape.gradient(loss, variables)

    xla_step = tf.function(loss_and_grads, jit_compile=True)
    loss_x, grads_x = xla_step(inputs, labels)
    loss_e, grads_e = loss_and_grads(inputs, labels)
    np.testing.assert_allclose(float(loss_x), float(loss_e), atol=1e-5, rtol=1e-5)
    for v, gx, ge in zip(variables, grads_x, grads_e):
        np.testing.assert_allclose(tf.convert_to_tensor(gx), tf.convert_to_tensor(ge), atol=1e-5, rtol=1e-4,
                                   err_msg=v.path)

    # a full optimizer step compiled with XLA, as Keras does with compile(jit_compile=True)
    clone = MODEL_CLASSES[Head.PRETRAINING](model.config)
    clone.load_canonical_state(model.canonical_state(), strict=True)
    clone.compile(optimizer=keras.optimizers.SGD(0.1), jit_compile=True)
    data = tf.data.Dataset.from_tensors({**inputs, **labels})
    first = clone.fit(data, epochs=2, verbose=0).history["loss"]
    assert first[1] < first[0]


# ---------------------------------------------------------------------------------------------------------------------
# mixed precision


def test_mixed_bfloat16_close_to_float32():
    head = Head.SEQUENCE_CLASSIFICATION
    config = config_for(head)
    state = random_state(config, head, seed=9)
    inputs = make_inputs(config, head)
    labels = make_labels(config, head)
    reference = MODEL_CLASSES[head](config)
    reference.load_canonical_state(state, strict=True)
    ref = reference(**inputs, **labels, output_hidden_states=True)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = MODEL_CLASSES[head](config)
        model.load_canonical_state(state, strict=True)
        assert all(v.dtype == "float32" for v in model.trainable_variables)  # master weights stay float32
        out = model(**inputs, **labels, output_hidden_states=True)
        assert out.hidden_states[-1].dtype == tf.bfloat16  # the matrix products run in bfloat16
        assert out.logits.dtype == tf.float32 and out.loss.dtype == tf.float32
        np.testing.assert_allclose(out.logits, ref.logits, atol=0.05, rtol=0.05)
        np.testing.assert_allclose(float(out.loss), float(ref.loss), rtol=0.03)
        # and it trains
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        x, y = _classification_data(n=8)
        history = model.fit(tf.data.Dataset.from_tensor_slices((x, y % 3)).batch(4), epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][-1])
        # the state saved from a mixed-precision model is float32 and equals the float32 weights
        assert model.canonical_state()["classifier.weight"].dtype == np.float32
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert keras.mixed_precision.global_policy().name == "float32"


# ---------------------------------------------------------------------------------------------------------------------
# SavedModel


@pytest.mark.parametrize("head", [Head.SEQUENCE_CLASSIFICATION, Head.MULTIPLE_CHOICE], ids=lambda h: h.value)
def test_saved_model_reloads_in_fresh_process(head, tmp_path):
    config = config_for(head)
    model = build("tf", head, config, random_state(config, head, seed=4))
    model.export_saved_model(tmp_path / "export")
    inputs = make_inputs(config, head)
    np.savez(tmp_path / "inputs.npz", **{k: v.astype(np.int32) for k, v in inputs.items()})
    script = textwrap.dedent(f"""
        import json, os, sys
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np, tensorflow as tf
        assert "albert_tf" not in sys.modules
        loaded = tf.saved_model.load({str(tmp_path / "export")!r})
        serve = loaded.signatures["serving_default"]
        data = np.load({str(tmp_path / "inputs.npz")!r})
        out = serve(**{{k: tf.constant(data[k]) for k in data.files}})
        np.save({str(tmp_path / "logits.npy")!r}, out["logits"].numpy())
        # a different batch and sequence length through the same signature
        shape = list(data["input_ids"].shape)
        shape[0] += 1; shape[-1] += 2
        other = serve(input_ids=tf.ones(shape, tf.int32), attention_mask=tf.ones(shape, tf.int32),
                      token_type_ids=tf.zeros(shape, tf.int32))
        print(json.dumps({{"keys": sorted(out), "other": list(other["logits"].shape),
                          "modules": "albert_tf" in sys.modules}}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["keys"] == ["logits"] and not report["modules"]
    expected = model(**inputs).logits.numpy()
    np.testing.assert_allclose(np.load(tmp_path / "logits.npy"), expected, atol=1e-5)
    b = inputs["input_ids"].shape[0]
    assert report["other"] == ([b + 1, 3] if head is Head.MULTIPLE_CHOICE else [b + 1, config.num_labels])


def test_keras3_even_after_transformers_forces_legacy_keras(tmp_path):
    # transformers' TF code sets TF_USE_LEGACY_KERAS=1 on import, which turns tf.keras into Keras 2 for the rest of
    # the process; albert_tf must still build Keras 3 models that compile and fit with Keras 3 optimizers.
    import os
    import subprocess
    import sys

    code = """
import os
os.environ.pop("TF_USE_LEGACY_KERAS", None)
import transformers.modeling_tf_utils  # sets TF_USE_LEGACY_KERAS=1
assert os.environ["TF_USE_LEGACY_KERAS"] == "1"
import numpy as np, keras
from albert_core import AlbertConfig
from albert_tf import TFAlbertForSequenceClassification
cfg = AlbertConfig(vocab_size=30, embedding_size=8, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                   intermediate_size=16, num_labels=2)
model = TFAlbertForSequenceClassification(cfg)
assert isinstance(model, keras.Model), type(model).__mro__
model.compile(optimizer=keras.optimizers.Adam(1e-3))
model.fit({"input_ids": np.array([[2, 5, 6, 3]] * 4)}, np.array([0, 1, 0, 1]), epochs=1, verbose=0)
print("keras3 ok")
"""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_USE_LEGACY_KERAS", "USE_TF", "USE_TORCH")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "keras3 ok" in result.stdout
