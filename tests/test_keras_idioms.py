"""albert_tf as a Keras 3 user expects it: predict, compiled metrics, functional wrapping, ``.keras`` files,
``model.export``, ``jit_compile``, and transformers' embedding accessors.

The references are Keras itself (its metrics, its losses, ``keras.models.load_model`` and ``tf.saved_model.load`` in
a fresh process), hand-computed numpy values, and transformers (``TFAlbertForMaskedLM.resize_token_embeddings`` and
``count_params`` in a subprocess, since transformers' TF code switches ``tf.keras`` to Keras 2 in its process;
``AlbertForMaskedLM.num_parameters`` in PyTorch).

One subprocess does the fresh-process work; it starts as soon as its files are written and runs beside the other
tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import keras  # Keras 3, as albert_tf uses
import numpy as np
import pytest
import tensorflow as tf

from albert_core import ConfigError, Head, InputError
from albert_core.errors import UsageError
from albert_core.outputs import QuestionAnsweringOutput, SequenceClassifierOutput
from albert_tf import MODEL_CLASSES
from factory import build, config_for, make_inputs, make_labels, random_state

SEQ = Head.SEQUENCE_CLASSIFICATION


def _tiny(head: Head, **overrides):
    return config_for(head, num_hidden_layers=1, **overrides)


def _model(head: Head, seed: int = 0, **overrides):
    config = _tiny(head, **overrides)
    return build("tf", head, config, random_state(config, head, seed=seed))


def _int32(arrays):
    return {k: np.asarray(v, np.int32) for k, v in arrays.items()}


# ---------------------------------------------------------------------------------------------------------------------
# the fresh process: .keras files loaded with no custom_objects; transformers' TF resize_token_embeddings

_CHILD = textwrap.dedent("""
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ.pop("TF_USE_LEGACY_KERAS", None)
    import numpy as np
    work = sys.argv[1]
    report = {}
    # 1. keras.models.load_model without custom_objects (importing the package registers its classes)
    import keras
    import albert_tf  # noqa: F401
    data = np.load(os.path.join(work, "inputs.npz"))
    for name in ("subclassed", "functional"):
        model = keras.models.load_model(os.path.join(work, name + ".keras"))
        out = model.predict({k: data[k] for k in data.files} if name == "subclassed" else data["input_ids"],
                            verbose=0)
        np.save(os.path.join(work, name + "_out.npy"), out.logits if name == "subclassed" else out)
        report[name] = {"class": type(model).__name__, "compiled": bool(model.compiled),
                        "optimizer": type(getattr(model, "optimizer", None)).__name__}
    # 2. transformers' TFAlbertForMaskedLM (Keras 2 from here on): weights saved, then resized
    import transformers
    transformers.logging.set_verbosity_error()
    config = transformers.AlbertConfig(**json.load(open(os.path.join(work, "hf_config.json"))))
    hf = transformers.TFAlbertForMaskedLM(config)
    hf(np.array([[2, 5, 3]]))
    rng = np.random.default_rng(0)
    hf.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.1 for w in hf.get_weights()])
    biases = {w.name.split("/", 1)[1]: w for w in hf.weights if w.name.endswith("bias:0")}
    biases["predictions/decoder/bias:0"].assign(biases["predictions/bias:0"])  # one value, as in real checkpoints
    hf.save_pretrained(os.path.join(work, "hf_before"))
    before = hf.count_params()
    hf.resize_token_embeddings(int(sys.argv[2]))
    bias = [w for w in hf.weights if w.name.endswith("predictions/bias:0")][0]
    np.savez(os.path.join(work, "hf_after.npz"), embeddings=hf.get_input_embeddings().weight.numpy(),
             bias=bias.numpy(), logits=hf(np.array([[2, 5, 3]])).logits.numpy())
    report["hf"] = {"count_before": int(before), "count_after": int(hf.count_params()),
                    "vocab_size": int(hf.config.vocab_size)}
    # 3. transformers' PyTorch num_parameters (on the meta device: no weights needed)
    import torch
    counts = {}
    for name, hf_class in (("mlm", "AlbertForMaskedLM"), ("seq", "AlbertForSequenceClassification")):
        with torch.device("meta"):
            model = getattr(transformers, hf_class)(transformers.AlbertConfig(
                **json.load(open(os.path.join(work, name + "_relative_config.json")))))
        counts[name] = [[model.num_parameters(t, e) for e in (False, True)] for t in (False, True)]
    report["num_parameters"] = counts
    print(json.dumps(report))
""")

_RESIZE_TO = 104  # the tiny configs have 99 tokens


_RELATIVE_CONFIGS = {f"{name}_relative": _tiny(head, position_embedding_type="relative_key")
                     for name, head in (("mlm", Head.MASKED_LM), ("seq", SEQ))}


@pytest.fixture(scope="module", autouse=True)
def fresh_process(tmp_path_factory):
    """Save a compiled model and a functional wrapper as ``.keras``; start the child process on them."""
    work = tmp_path_factory.mktemp("keras_idioms")
    config = _tiny(SEQ)
    model = build("tf", SEQ, config, random_state(config, SEQ, seed=3))
    inputs = _int32(make_inputs(config, SEQ))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), metrics=["accuracy"])
    model.save(work / "subclassed.keras")
    ids = keras.Input(shape=(None,), dtype="int32", name="input_ids")
    wrapper = keras.Model(ids, model(ids).logits)
    wrapper.save(work / "functional.keras")
    np.savez(work / "inputs.npz", **inputs)
    for name, config in (("hf", _tiny(Head.MASKED_LM)), *_RELATIVE_CONFIGS.items()):
        data = config.to_dict()
        data.pop("model_type", None)
        (work / f"{name}_config.json").write_text(json.dumps(data))
    env = {k: v for k, v in os.environ.items() if k not in ("TF_USE_LEGACY_KERAS", "USE_TF", "USE_TORCH")}
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(work), str(_RESIZE_TO)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    expected = {"subclassed": model.predict(inputs, verbose=0).logits,
                "functional": wrapper.predict(inputs["input_ids"], verbose=0)}
    result = {}

    def finish():
        if not result:
            stdout, stderr = proc.communicate(timeout=400)
            assert proc.returncode == 0, stderr[-4000:]
            result.update(json.loads(stdout.strip().splitlines()[-1]))
        return result

    yield work, expected, finish
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


# ---------------------------------------------------------------------------------------------------------------------
# 1. predict


def test_predict_arrays_dicts_datasets_and_on_batch():
    model = _model(SEQ)
    inputs = _int32(make_inputs(model.config, SEQ))
    labels = make_labels(model.config, SEQ)["labels"]
    direct = model(**inputs)
    assert isinstance(direct, SequenceClassifierOutput) and direct.logits is direct["logits"]
    expected = direct.logits.numpy()
    unmasked = model(inputs["input_ids"]).logits.numpy()
    cases = {
        "array": (inputs["input_ids"], unmasked),
        "dict": (inputs, expected),
        "dataset": (tf.data.Dataset.from_tensor_slices(inputs).batch(1), expected),
        "dataset_with_y": (tf.data.Dataset.from_tensor_slices((inputs, labels)).batch(2), expected),
        "dataset_labels_in_x": (tf.data.Dataset.from_tensor_slices({**inputs, "labels": labels}).batch(2), expected),
    }
    for name, (x, want) in cases.items():
        out = model.predict(x, verbose=0)
        assert isinstance(out, SequenceClassifierOutput), name
        assert list(out.keys()) == ["logits"], name  # no loss, even with labels in the data
        assert isinstance(out.logits, np.ndarray), name
        np.testing.assert_allclose(out.logits, want, atol=1e-5, err_msg=name)
        np.testing.assert_allclose(dict(out)["logits"], want, atol=1e-5, err_msg=name)
    on_batch = model.predict_on_batch(inputs)
    assert isinstance(on_batch.logits, np.ndarray)
    np.testing.assert_allclose(on_batch.logits, expected, atol=1e-5)


def test_predict_question_answering_keeps_both_outputs():
    model = _model(Head.QUESTION_ANSWERING)
    inputs = _int32(make_inputs(model.config, Head.QUESTION_ANSWERING))
    out = model.predict(tf.data.Dataset.from_tensor_slices(inputs).batch(1), verbose=0)
    direct = model(**inputs)
    assert isinstance(out, QuestionAnsweringOutput) and list(out) == ["start_logits", "end_logits"]
    np.testing.assert_allclose(out.start_logits, direct.start_logits.numpy(), atol=1e-5)
    np.testing.assert_allclose(out.end_logits, direct.end_logits.numpy(), atol=1e-5)


# ---------------------------------------------------------------------------------------------------------------------
# 2. compiled metrics


def _accuracy(logits: np.ndarray, labels: np.ndarray, keep: np.ndarray) -> float:
    """Hand-computed accuracy over the kept labels."""
    hits = (np.argmax(logits, axis=-1) == labels) & keep
    return float(hits.sum() / keep.sum())


@pytest.mark.parametrize("head", [SEQ, Head.TOKEN_CLASSIFICATION, Head.MULTIPLE_CHOICE, Head.QUESTION_ANSWERING],
                         ids=lambda h: h.value)
def test_evaluate_reports_compiled_metrics_per_head(head):
    model = _model(head, seed=1)
    inputs = _int32(make_inputs(model.config, head))
    labels = make_labels(model.config, head)
    metric = keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")
    model.compile(optimizer=keras.optimizers.SGD(0.0), metrics=["accuracy", metric])
    y = labels if head is Head.QUESTION_ANSWERING else labels["labels"]
    result = model.evaluate(inputs, y, batch_size=2, verbose=0, return_dict=True)
    out = model(**inputs, **labels)
    np.testing.assert_allclose(result["loss"], float(out.loss), rtol=1e-5)
    if head is Head.QUESTION_ANSWERING:
        seq = inputs["input_ids"].shape[-1]
        for side in ("start", "end"):
            positions = np.clip(labels[f"{side}_positions"], 0, seq)
            keep = positions != seq  # the end position 30 lies outside: ignored, as in the loss
            logits = out[f"{side}_logits"].numpy()
            want = _accuracy(logits, positions, keep)
            assert result[f"{side}_logits_accuracy"] == pytest.approx(want), result
            top2 = np.argsort(-logits, axis=-1)[:, :2]
            hits = np.array([p in row for p, row in zip(positions, top2)]) & keep
            assert result[f"{side}_logits_top2"] == pytest.approx(hits.sum() / keep.sum()), result
        return
    target = labels["labels"]
    keep = target != -100
    want = _accuracy(out.logits.numpy(), target, keep)
    # the reference: Keras' own metric on the kept labels only
    kept_logits, kept_labels = out.logits.numpy()[keep], target[keep]
    reference = keras.metrics.SparseCategoricalAccuracy()
    reference.update_state(kept_labels, kept_logits)
    assert float(reference.result()) == pytest.approx(want)
    assert result["accuracy"] == pytest.approx(want), result
    top2 = keras.metrics.SparseTopKCategoricalAccuracy(k=2)
    top2.update_state(kept_labels, kept_logits)
    assert result["top2"] == pytest.approx(float(top2.result())), result
    if head is Head.TOKEN_CLASSIFICATION:
        assert 0 < keep.sum() < keep.size  # -100 labels were present and left out


def test_metrics_for_unknown_outputs_and_on_the_backbone_raise_usage_error():
    with pytest.raises(UsageError, match=r"unknown outputs \['logits'\]"):
        _model(Head.QUESTION_ANSWERING).compile(optimizer="sgd", metrics={"logits": ["accuracy"]})
    with pytest.raises(UsageError, match="takes no labels"):
        _model(Head.BASE).compile(optimizer="sgd", metrics=["accuracy"])


# ---------------------------------------------------------------------------------------------------------------------
# 3. functional wrapping


def test_functional_wrapping_builds_predicts_and_trains():
    model = _model(SEQ, seed=4)
    inputs = _int32(make_inputs(model.config, SEQ))
    ids = keras.Input(shape=(None,), dtype="int32", name="input_ids")
    mask = keras.Input(shape=(None,), dtype="int32", name="attention_mask")
    only_ids = keras.Model(ids, model(ids).logits)
    with_mask = keras.Model({"input_ids": ids, "attention_mask": mask},
                            model(ids, attention_mask=mask).logits)
    np.testing.assert_allclose(only_ids.predict(inputs["input_ids"], verbose=0),
                               model(inputs["input_ids"]).logits.numpy(), atol=1e-5)
    masked = {k: inputs[k] for k in ("input_ids", "attention_mask")}
    np.testing.assert_allclose(with_mask.predict(masked, verbose=0), model(**masked).logits.numpy(), atol=1e-5)
    # trains with a plain Keras loss on the logits; the loss Keras logs is Keras' own cross-entropy
    labels = make_labels(model.config, SEQ)["labels"]
    with_mask.compile(optimizer=keras.optimizers.Adam(1e-2),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    before = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, model(**masked).logits))
    history = with_mask.fit(masked, labels, epochs=2, verbose=0).history
    assert history["loss"][0] == pytest.approx(before, rel=1e-4)
    assert history["loss"][-1] < history["loss"][0]


# ---------------------------------------------------------------------------------------------------------------------
# 4. .keras files in a fresh process


def test_keras_files_load_in_a_fresh_process_without_custom_objects(fresh_process):
    work, expected, finish = fresh_process
    report = finish()
    assert report["subclassed"] == {"class": "TFAlbertForSequenceClassification", "compiled": True,
                                    "optimizer": "Adam"}
    assert report["functional"]["class"] == "Functional"
    for name in ("subclassed", "functional"):
        np.testing.assert_allclose(np.load(work / f"{name}_out.npy"), expected[name], atol=1e-6, err_msg=name)


def test_get_config_round_trip_keeps_config_name_and_pooler():
    config = _tiny(Head.BASE)
    backbone = MODEL_CLASSES[Head.BASE](config, add_pooling_layer=False, name="encoder_only")
    clone = type(backbone).from_config(json.loads(json.dumps(backbone.get_config())))  # as a .keras file holds it
    assert clone.name == "encoder_only" and clone.pooler is None and clone.config == config
    assert keras.saving.get_registered_name(type(backbone)) == "albert_lite>TFAlbertModel"


# ---------------------------------------------------------------------------------------------------------------------
# 5. model.export and jit_compile


def _serve_both_shapes(path, model, config):
    loaded = tf.saved_model.load(str(path))  # keep the object: its variables live as long as it does
    serve = loaded.serve
    for batch, seq in ((1, 5), (3, 9)):
        rng = np.random.default_rng(batch)
        ids = rng.integers(4, config.vocab_size, size=(batch, seq)).astype(np.int32)
        mask = np.ones_like(ids)
        mask[-1, seq - 2:] = 0
        types = (np.arange(seq)[None, :] >= 2).astype(np.int32).repeat(batch, 0)
        out = serve(tf.constant(ids), tf.constant(mask), tf.constant(types))
        want = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits.numpy()
        np.testing.assert_allclose(out["logits"].numpy(), want, atol=1e-5)


def test_export_without_a_call_and_after_jit_compiled_fit(tmp_path):
    model = _model(Head.TOKEN_CLASSIFICATION, seed=5)
    config = model.config
    model.export(tmp_path / "fresh", verbose=False)  # never called, never fit
    _serve_both_shapes(tmp_path / "fresh", model, config)
    loaded = tf.saved_model.load(str(tmp_path / "fresh"))
    specs = loaded.signatures["serving_default"].structured_input_signature[1]
    assert {k: (v.shape.as_list(), v.dtype) for k, v in specs.items()} == {
        name: ([None, None], tf.int32) for name in ("input_ids", "attention_mask", "token_type_ids")}

    inputs = _int32(make_inputs(config, Head.TOKEN_CLASSIFICATION))
    labels = make_labels(config, Head.TOKEN_CLASSIFICATION)["labels"]
    model.compile(optimizer=keras.optimizers.SGD(0.5), jit_compile=True, metrics=["accuracy"])
    before = model(**inputs).logits.numpy()
    history = model.fit(inputs, labels, epochs=2, verbose=0).history
    assert set(history) == {"loss", "accuracy"}  # the built-in loss and the compiled metric, per epoch
    assert history["loss"][1] < history["loss"][0]
    after = model(**inputs).logits.numpy()
    assert not np.allclose(before, after)  # the compiled step changed the weights
    np.testing.assert_allclose(model.predict(inputs, verbose=0).logits, after, atol=1e-5)  # XLA predict
    model.export(tmp_path / "trained", verbose=False)
    _serve_both_shapes(tmp_path / "trained", model, config)


# ---------------------------------------------------------------------------------------------------------------------
# 6. embedding accessors


def test_resize_token_embeddings_matches_transformers_tf(fresh_process):
    work, _, finish = fresh_process
    report = finish()
    # transformers' weights (tf_model.h5); strict: every tensor matched
    ours = MODEL_CLASSES[Head.MASKED_LM].from_pretrained(work / "hf_before", strict=True)
    old_table = ours.get_input_embeddings().embeddings.numpy().copy()
    old_bias = ours.predictions.bias.numpy().copy()
    vocab = ours.config.vocab_size
    # transformers' TF MLM head keeps a second, unused decoder bias of vocab_size entries, which count_params counts
    assert ours.count_params() == report["hf"]["count_before"] - vocab
    table = ours.resize_token_embeddings(_RESIZE_TO)
    hf = np.load(work / "hf_after.npz")
    assert table.embeddings.shape == hf["embeddings"].shape == (_RESIZE_TO, ours.config.embedding_size)
    assert ours.predictions.bias.shape == hf["bias"].shape == (_RESIZE_TO,)
    np.testing.assert_array_equal(table.embeddings.numpy()[:vocab], hf["embeddings"][:vocab])
    np.testing.assert_array_equal(table.embeddings.numpy()[:vocab], old_table)
    np.testing.assert_array_equal(ours.predictions.bias.numpy()[:vocab], old_bias)
    np.testing.assert_array_equal(ours.predictions.bias.numpy()[:vocab], hf["bias"][:vocab])
    np.testing.assert_array_equal(ours.predictions.bias.numpy()[vocab:], hf["bias"][vocab:])  # new entries 0
    assert ours.config.vocab_size == report["hf"]["vocab_size"] == _RESIZE_TO
    assert ours.count_params() == report["hf"]["count_after"] - _RESIZE_TO
    # the old tokens' logits are unchanged; the decoder is still the (resized) table
    assert ours.get_output_embeddings() is table
    ids = np.array([[2, 5, 3]])
    np.testing.assert_allclose(ours(ids).logits.numpy()[..., :vocab], hf["logits"][..., :vocab], atol=1e-5)
    assert len(ours.weights) == len(MODEL_CLASSES[Head.MASKED_LM](ours.config).weights)  # old variables untracked


def test_resized_model_trains_saves_and_reloads(tmp_path):
    model = _model(Head.MASKED_LM, seed=6)
    model.resize_token_embeddings(model.config.vocab_size + 3)
    new_id = model.config.vocab_size - 1
    inputs = {"input_ids": np.array([[2, new_id, 7, 3]] * 2, np.int32)}
    labels = np.array([[-100, new_id, -100, -100]] * 2, np.int32)
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    row_before = model.get_input_embeddings().embeddings.numpy()[new_id].copy()
    model.fit(inputs, labels, epochs=1, verbose=0)
    assert not np.allclose(model.get_input_embeddings().embeddings.numpy()[new_id], row_before)  # a new row learns
    model.save_pretrained(tmp_path)
    again = MODEL_CLASSES[Head.MASKED_LM].from_pretrained(tmp_path, strict=True)
    assert again.config.vocab_size == model.config.vocab_size
    np.testing.assert_allclose(again(**inputs).logits.numpy(), model(**inputs).logits.numpy(), atol=1e-6)


def test_embedding_accessor_errors_and_set_input_embeddings():
    model = _model(Head.MASKED_LM)
    with pytest.raises(InputError, match="positive integer"):
        model.resize_token_embeddings(0)
    with pytest.raises(ConfigError, match="eos_token_id=3"):
        model.resize_token_embeddings(model.config.eos_token_id)  # [SEP]'s id would fall outside
    assert model.config.vocab_size == 99 and model.get_input_embeddings().embeddings.shape[0] == 99
    with pytest.raises(InputError, match=r"embedding_size=16"):
        model.set_input_embeddings(np.zeros((99, 5), np.float32))
    values = np.arange(99 * 16, dtype=np.float32).reshape(99, 16) / 1000.0
    model.set_input_embeddings(values)
    np.testing.assert_array_equal(model.get_output_embeddings().embeddings.numpy(), values)
    assert _model(SEQ).get_output_embeddings() is None


def test_num_parameters_matches_transformers_pytorch(fresh_process):
    _, _, finish = fresh_process
    counts = finish()["num_parameters"]
    for name, head in (("mlm", Head.MASKED_LM), ("seq", SEQ)):
        ours = MODEL_CLASSES[head](_RELATIVE_CONFIGS[f"{name}_relative"])  # has a distance-embedding table too
        mine = [[ours.num_parameters(t, e) for e in (False, True)] for t in (False, True)]
        assert mine == counts[name], name
        assert ours.num_parameters() == ours.count_params()
