"""``albert export``: ONNX (onnxruntime), SavedModel (tf.saved_model.load) and TFLite (tf.lite.Interpreter) artefacts
checked against transformers' PyTorch models loaded from the same checkpoint, on shapes the export never saw.

One full export + parity run per format (ONNX masked LM with the dynamo exporter, SavedModel sequence classification,
TFLite base model); the other heads get a cheaper check of the same serving code (TorchScript ONNX export, the traced
SavedModel function, the frozen TFLite function without the converter).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from albert_cli import cli, export_command, parity
from albert_core import Head
from albert_core.checkpoints import save_safetensors_checkpoint
from factory import config_for, random_state

#: A config whose weights outweigh the graph, so that the ONNX size check means something (about 90k parameters).
ONNX_SIZES = dict(vocab_size=1000, embedding_size=32, hidden_size=64, intermediate_size=128, num_attention_heads=4)


def make_checkpoint(directory: Path, head: Head, **overrides) -> tuple[Path, dict]:
    config = config_for(head, **overrides)
    state = random_state(config, head, seed=3)
    save_safetensors_checkpoint(directory, state, config, head)
    return directory, state


def probe(config_vocab: int, lead: tuple[int, ...], seq: int, seed: int = 7) -> dict[str, np.ndarray]:
    """A batch the exports never traced: its own shape, padding in the last row, both token types."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, config_vocab, size=lead + (seq,)).astype(np.int64)
    mask = np.ones_like(ids)
    mask[-1, ..., seq // 2:] = 0
    ids[mask == 0] = 0
    types = np.zeros_like(ids)
    types[..., seq // 3:] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def transformers_outputs(directory: Path, cls_name: str, batch: dict[str, np.ndarray], names) -> dict[str, np.ndarray]:
    import torch
    import transformers

    model = getattr(transformers, cls_name).from_pretrained(str(directory)).eval()
    with torch.no_grad():
        out = model(**{k: torch.from_numpy(v) for k, v in batch.items()})
    return {name: getattr(out, name).numpy() for name in names}


def test_onnx_masked_lm_dynamo_shares_weights_and_matches_transformers(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper

    src, state = make_checkpoint(tmp_path / "src", Head.MASKED_LM, **ONNX_SIZES)
    dst = tmp_path / "onnx"
    assert cli.main(["export", str(src), str(dst), "--format", "onnx", "--exporter", "dynamo"]) == 0
    out = capsys.readouterr().out
    assert "torch.onnx dynamo exporter, opset 18" in out and "masked_lm: pt vs onnxruntime [3x20]" in out
    assert out.strip().splitlines()[-1].startswith("parity OK: 2 outputs")
    assert {"model.onnx", "config.json"} <= {p.name for p in dst.iterdir()}
    assert not list(tmp_path.glob(".onnx.staging-*"))

    model = onnx.load(str(dst / "model.onnx"))
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [18]
    dims = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
    assert list(dims) == ["input_ids", "attention_mask", "token_type_ids"]
    assert all(isinstance(d, str) for shape in dims.values() for d in shape), dims  # batch and sequence symbolic
    assert [o.name for o in model.graph.output] == ["logits"]

    # every weight once: the shared layer (run num_hidden_layers=3 times) and the decoder tied to the embeddings
    initializers = [numpy_helper.to_array(i) for i in model.graph.initializer]
    weight_bytes = sum(a.nbytes for a in state.values())
    assert sum(a.nbytes for a in initializers) <= 1.01 * weight_bytes
    for name in ("albert.embeddings.word_embeddings.weight",
                 "albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight",
                 "albert.encoder.albert_layer_groups.0.albert_layers.0.attention.query.weight"):
        weight = state[name]
        copies = [a for a in initializers if a.size == weight.size
                  and (np.array_equal(a.reshape(weight.shape), weight) or np.array_equal(a.T, weight))]
        assert len(copies) == 1, (name, len(copies))
    assert (dst / "model.onnx").stat().st_size < 1.3 * weight_bytes

    import onnxruntime

    session = onnxruntime.InferenceSession(str(dst / "model.onnx"), providers=["CPUExecutionProvider"])
    for lead, seq in (((1,), 5), ((4,), 33)):
        batch = probe(1000, lead, seq)
        (logits,) = session.run(["logits"], batch)
        expected = transformers_outputs(src, "AlbertForMaskedLM", batch, ["logits"])["logits"]
        np.testing.assert_allclose(logits, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("head, cls_name", [(Head.BASE, "AlbertModel"),
                                            (Head.SEQUENCE_CLASSIFICATION, "AlbertForSequenceClassification"),
                                            (Head.MULTIPLE_CHOICE, "AlbertForMultipleChoice")])
def test_onnx_torchscript_export_of_other_heads(tmp_path, head, cls_name):
    pytest.importorskip("onnxruntime")
    import albert_pt

    src, _ = make_checkpoint(tmp_path / "src", head)
    model = albert_pt.MODEL_CLASSES[head].from_pretrained(src)
    described, warned = export_command.export_onnx(model, tmp_path / "m.onnx", head, model.config,
                                                   exporter="torchscript")
    assert "TorchScript" in described and warned == []
    run = export_command.onnx_runner(tmp_path / "m.onnx")
    lead = (3, 2) if head is Head.MULTIPLE_CHOICE else (3,)
    batch = probe(99, lead, 11)
    names = export_command.output_names(head)
    expected = transformers_outputs(src, cls_name, batch, names)
    got = run(batch)
    assert list(got) == list(names)
    for name in names:
        np.testing.assert_allclose(got[name], expected[name], atol=1e-4, rtol=1e-4, err_msg=name)


def test_saved_model_sequence_classification_matches_transformers(tmp_path, capsys):
    tf = pytest.importorskip("tensorflow")
    src, _ = make_checkpoint(tmp_path / "src", Head.SEQUENCE_CLASSIFICATION)
    dst = tmp_path / "sm"
    assert cli.main(["export", str(src), str(dst), "--format", "saved_model"]) == 0
    out = capsys.readouterr().out
    assert "sequence_classification: tf vs tf.saved_model [2x12]" in out and "parity OK" in out
    serve = tf.saved_model.load(str(dst)).signatures["serving_default"]
    assert sorted(serve.structured_input_signature[1]) == ["attention_mask", "input_ids", "token_type_ids"]
    for lead, seq in (((1,), 4), ((5,), 17)):
        batch = probe(99, lead, seq)
        got = serve(**{k: tf.constant(v.astype(np.int32)) for k, v in batch.items()})
        expected = transformers_outputs(src, "AlbertForSequenceClassification", batch, ["logits"])
        np.testing.assert_allclose(got["logits"].numpy(), expected["logits"], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("head", [Head.MASKED_LM, Head.BASE, Head.MULTIPLE_CHOICE])
def test_saved_model_serving_function_of_other_heads(head):
    # the traced serving function (what tf.saved_model.save writes) against the model it wraps
    tf = pytest.importorskip("tensorflow")
    import albert_tf

    config = config_for(head)
    model = albert_tf.MODEL_CLASSES[head](config)
    model.load_canonical_state(random_state(config, head))
    module = export_command.serving_module(model, head)
    lead = (2, 3) if head is Head.MULTIPLE_CHOICE else (4,)
    batch = {k: tf.constant(v.astype(np.int32)) for k, v in probe(99, lead, 9).items()}
    got = module.serve(**batch)
    out = model(**batch, training=False)
    assert sorted(got) == sorted(export_command.output_names(head))
    for name in got:
        np.testing.assert_allclose(got[name].numpy(), getattr(out, name).numpy(), atol=1e-6)


def test_tflite_base_model_quiet_matches_transformers(tmp_path, capfd):
    tf = pytest.importorskip("tensorflow")
    capfd.readouterr()  # TensorFlow's own lines on its first import in this process are not the export's
    src, _ = make_checkpoint(tmp_path / "src", Head.BASE)
    dst = tmp_path / "tflite"
    assert cli.main(["export", str(src), str(dst), "--format", "tflite", "--quiet"]) == 0
    captured = capfd.readouterr()  # file-descriptor level: TensorFlow's native lines would show here
    assert captured.err == ""
    lines = captured.out.strip().splitlines()
    assert lines[0].startswith("exported base") and "built-in ops only" in lines[0]
    assert lines[-1] == "parity OK: 4 outputs within atol=0.0001"
    assert len(lines) == 1 + 2 + 4 + 1  # the result line, the table (header, rule, 4 rows), the summary

    interpreter = tf.lite.Interpreter(model_path=str(dst / "model.tflite"))
    runner = interpreter.get_signature_runner("serving_default")
    inputs, outputs = runner.get_input_details(), runner.get_output_details()
    del runner  # a live signature runner holds the interpreter's buffers, and resize_tensor_input refuses then
    assert sorted(outputs) == ["last_hidden_state", "pooler_output"]
    assert all(list(d["shape_signature"]) == [-1, -1] for d in inputs.values())  # dynamic batch and sequence
    for lead, seq in (((1,), 6), ((4,), 25)):
        batch = probe(99, lead, seq)
        for name, array in batch.items():
            interpreter.resize_tensor_input(inputs[name]["index"], array.shape)
        interpreter.allocate_tensors()
        for name, array in batch.items():
            interpreter.set_tensor(inputs[name]["index"], array.astype(np.int32))
        interpreter.invoke()
        expected = transformers_outputs(src, "AlbertModel", batch, sorted(outputs))
        for name in outputs:
            np.testing.assert_allclose(interpreter.get_tensor(outputs[name]["index"]), expected[name],
                                       atol=1e-4, rtol=1e-4, err_msg=name)


@pytest.mark.parametrize("head", [Head.MASKED_LM, Head.SEQUENCE_CLASSIFICATION])
def test_tflite_frozen_function_of_other_heads(head):
    # what the TFLite converter receives: variables frozen, and no strided slice inserting new axes (which has no
    # TFLite built-in kernel at dynamic shapes; the model broadcasts its mask with ExpandDims)
    tf = pytest.importorskip("tensorflow")
    import albert_tf

    config = config_for(head)
    model = albert_tf.MODEL_CLASSES[head](config)
    model.load_canonical_state(random_state(config, head))
    module = export_command.tflite_module(model, head)
    graph = module.serve.get_concrete_function().graph.as_graph_def()
    ops = {n.op for n in graph.node} | {n.op for f in graph.library.function for n in f.node_def}
    assert not {"ReadVariableOp", "VarHandleOp"} & ops
    nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
    assert "ExpandDims" in ops
    assert not [n.name for n in nodes if n.op == "StridedSlice" and n.attr["new_axis_mask"].i]
    batch = {k: tf.constant(v.astype(np.int32)) for k, v in probe(99, (3,), 10).items()}
    got = module.serve(**batch)
    out = model(**batch, training=False)
    for name in export_command.output_names(head):
        np.testing.assert_allclose(got[name].numpy(), getattr(out, name).numpy(), atol=1e-6)


def test_export_refuses_a_head_the_checkpoint_lacks(tmp_path, capsys):
    src, _ = make_checkpoint(tmp_path / "src", Head.MASKED_LM)
    assert cli.main(["export", str(src), str(tmp_path / "out"), "--format", "onnx", "--head",
                     "sequence_classification"]) == 2
    err = capsys.readouterr().err
    assert "no complete sequence_classification head" in err and "masked_lm" in err
    assert not (tmp_path / "out").exists()


def test_export_parity_failure_exits_1_and_writes_nothing(tmp_path, capsys, monkeypatch):
    pytest.importorskip("onnxruntime")
    real = parity.LOADERS["pt"]

    def tampered(directory, head, config):
        run = real(directory, head, config)
        return lambda inputs: {k: v + 1e-2 for k, v in run(inputs).items()}

    monkeypatch.setitem(parity.LOADERS, "pt", tampered)
    src, _ = make_checkpoint(tmp_path / "src", Head.SEQUENCE_CLASSIFICATION)
    dst = tmp_path / "out"
    assert cli.main(["export", str(src), str(dst), "--format", "onnx", "--exporter", "torchscript"]) == 1
    captured = capsys.readouterr()
    assert "FAIL" in captured.err and "parity FAILED: logits" in captured.err
    assert not dst.exists() and not list(tmp_path.glob(".out.staging-*"))


def test_onnx_without_the_export_extra_names_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    src, _ = make_checkpoint(tmp_path / "src", Head.MASKED_LM)
    assert cli.main(["export", str(src), str(tmp_path / "out"), "--format", "onnx"]) == 2
    err = capsys.readouterr().err
    assert "onnxruntime" in err and "pip install 'albert-lite[export]'" in err
    assert not (tmp_path / "out").exists()


def test_onnx_only_flags_are_refused_for_tensorflow_formats(tmp_path, capsys):
    assert cli.main(["export", str(tmp_path), str(tmp_path / "o"), "--format", "tflite", "--opset", "17"]) == 2
    assert "--opset applies to --format onnx only" in capsys.readouterr().err


def test_auto_exporter_falls_back_to_torchscript_with_a_warning(tmp_path, capsys, monkeypatch):
    pytest.importorskip("onnxruntime")
    import torch

    real = torch.onnx.export

    def without_dynamo(*args, dynamo=True, **kwargs):
        if dynamo:
            raise RuntimeError("cannot trace this model")
        return real(*args, dynamo=False, **kwargs)

    monkeypatch.setattr(torch.onnx, "export", without_dynamo)
    src, _ = make_checkpoint(tmp_path / "src", Head.SEQUENCE_CLASSIFICATION)
    assert cli.main(["export", str(src), str(tmp_path / "out"), "--format", "onnx", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ("warning: the dynamo ONNX exporter failed (RuntimeError: cannot trace this model); used "
                            "the TorchScript exporter\n")
    assert "torch.onnx TorchScript exporter, opset 18" in captured.out and "parity OK" in captured.out
