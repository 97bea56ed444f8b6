"""PyTorch and transformers idioms of albert_pt, each against the real thing.

* outputs as pytrees: ``torch.export`` (every head, dynamic batch and sequence, run at another shape than the
  example), ``torch.compile(fullgraph=True)`` (one head) and the dynamo ONNX exporter run by onnxruntime (one head),
  all compared with the eager model;
* state dicts that transformers loads strictly, and that load strictly from transformers (every head), while the
  saved checkpoint keeps its canonical names;
* the embedding accessors, ``resize_token_embeddings``, ``num_parameters``, ``device`` and ``dtype`` against
  transformers doing the same on the same weights;
* gradient checkpointing driven by transformers' ``Trainer(gradient_checkpointing=True)``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import albert_pt.modeling as pt_modeling
from albert_core import Head
from albert_core.checkpoints import read_safetensors
from albert_core.heads import HEADS as HEAD_SPECS
from albert_pt import MODEL_CLASSES
from factory import build, config_for, make_inputs, random_state, to_backend
from oracles import assert_close, hf_model, hf_pt_class, main_keys

transformers = pytest.importorskip("transformers")

ALL_HEADS = list(Head)


def _model(head: Head, seed: int = 0, **overrides):
    config = config_for(head, num_hidden_layers=1, **overrides)
    return build("pt", head, config, random_state(config, head, seed)), config


def _batch(config, head: Head, batch: int, seq: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """A padded batch of ``batch`` rows of ``seq`` tokens (the last row padded after 3 tokens)."""
    rng = np.random.default_rng(seed)
    lead = (batch, 3) if HEAD_SPECS[head].choices else (batch,)
    ids = rng.integers(4, config.vocab_size, size=lead + (seq,))
    mask = np.ones(lead + (seq,), dtype=np.int64)
    mask[batch - 1, ..., 3:] = 0
    ids[mask == 0] = config.pad_token_id
    types = np.zeros_like(ids)
    types[..., seq // 2:] = 1
    return to_backend({"input_ids": ids, "attention_mask": mask, "token_type_ids": types}, "pt")


def _dynamic_shapes(head: Head, names) -> dict:
    batch, seq = torch.export.Dim("batch", max=64), torch.export.Dim("seq", max=64)
    last = 2 if HEAD_SPECS[head].choices else 1
    return {name: {0: batch, last: seq} for name in names}


def _assert_same_outputs(got, expected, what: str):
    assert type(got) is type(expected), what
    assert list(got.keys()) == list(expected.keys()), what
    for key in expected.keys():
        assert_close(got[key], expected[key], f"{what}: {key}", atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------------------------------------------------------------
# outputs as pytrees: torch.export, torch.compile, ONNX


@pytest.mark.parametrize("head", ALL_HEADS, ids=[h.value for h in ALL_HEADS])
def test_torch_export_with_dynamic_batch_and_sequence(head, tmp_path):
    model, config = _model(head)
    example = _batch(config, head, batch=2, seq=7)
    program = torch.export.export(model, (), kwargs=example, dynamic_shapes=_dynamic_shapes(head, example))
    other = _batch(config, head, batch=3, seq=11, seed=1)  # another batch size and length than the example
    with torch.no_grad():
        expected = model(**other)
    _assert_same_outputs(program.module()(**other), expected, f"exported {head.value}")
    if head is Head.QUESTION_ANSWERING:  # saving needs the pytree's serialized type name
        torch.export.save(program, tmp_path / "qa.pt2")
        loaded = torch.export.load(tmp_path / "qa.pt2")
        _assert_same_outputs(loaded.module()(**other), expected, "saved and loaded program")


def test_torch_compile_fullgraph_dynamic():
    import torch._dynamo

    head = Head.SEQUENCE_CLASSIFICATION
    model, config = _model(head)
    torch._dynamo.reset()
    compiled = torch.compile(model, fullgraph=True, dynamic=True, backend="aot_eager")
    with torch.no_grad():
        for batch, seq in ((2, 7), (3, 11)):
            inputs = _batch(config, head, batch, seq)
            _assert_same_outputs(compiled(**inputs), model(**inputs), f"compiled at {batch}x{seq}")


def test_onnx_dynamo_export_runs_in_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    head = Head.QUESTION_ANSWERING
    model, config = _model(head)
    example = _batch(config, head, 2, 7)
    path = tmp_path / "qa.onnx"
    torch.onnx.export(model, (), str(path), kwargs=example, dynamo=True,
                      dynamic_shapes=_dynamic_shapes(head, example), verbose=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(example)
    other = _batch(config, head, 3, 12, seed=3)
    got = session.run(None, {name: tensor.numpy() for name, tensor in other.items()})
    with torch.no_grad():
        expected = model(**other)
    assert len(got) == 2
    for array, key in zip(got, ("start_logits", "end_logits")):
        np.testing.assert_allclose(array, expected[key].numpy(), atol=1e-5, rtol=1e-5, err_msg=key)


# ---------------------------------------------------------------------------------------------------------------------
# state dicts, strictly, both directions


@pytest.mark.parametrize("head", ALL_HEADS, ids=[h.value for h in ALL_HEADS])
def test_state_dict_loads_strictly_into_transformers_and_back(head):
    ours, config = _model(head, seed=1)
    theirs = hf_model(config, head, seed=2)
    inputs = to_backend(make_inputs(config, head), "pt")
    # ours -> transformers
    theirs.load_state_dict(ours.state_dict(), strict=True)
    with torch.no_grad():
        a, b = ours(**inputs), theirs(**inputs)
    for key in main_keys(head):
        assert_close(a[key], b[key], f"ours -> transformers: {key}")
    # transformers -> ours
    other = hf_model(config, head, seed=3)
    fresh = MODEL_CLASSES[head](config).eval()
    fresh.load_state_dict(other.state_dict(), strict=True)
    with torch.no_grad():
        a, b = fresh(**inputs), other(**inputs)
    for key in main_keys(head):
        assert_close(a[key], b[key], f"transformers -> ours: {key}")
    if HEAD_SPECS[head].parts and HEAD_SPECS[head].parts[0].kind == "mlm":
        assert set(ours.state_dict()) >= {"predictions.decoder.weight", "predictions.decoder.bias"}
        assert fresh.get_output_embeddings().weight is fresh.get_input_embeddings().weight  # still tied
        assert fresh.predictions.decoder.bias is fresh.predictions.bias


@pytest.mark.parametrize("head", [Head.MASKED_LM, Head.PRETRAINING], ids=lambda h: h.value)
def test_saved_checkpoint_keeps_canonical_names(head, tmp_path):
    ours, config = _model(head)
    ours.save_pretrained(tmp_path)
    names, _ = read_safetensors(tmp_path / "model.safetensors")
    params = {name for name, _ in ours.named_parameters()}
    assert set(names) == params and not any("decoder" in n for n in names)
    # transformers reads the decoder from the tied embeddings: no missing key, same logits
    ref, info = hf_pt_class(head).from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    inputs = to_backend(make_inputs(config, head), "pt")
    with torch.no_grad():
        assert_close(ours(**inputs)[main_keys(head)[0]], ref.eval()(**inputs)[main_keys(head)[0]], "logits")


# ---------------------------------------------------------------------------------------------------------------------
# embeddings, resize, num_parameters, device, dtype


@pytest.mark.parametrize("head", [Head.MASKED_LM, Head.PRETRAINING, Head.BASE], ids=lambda h: h.value)
@pytest.mark.parametrize("new_size", [120, 90])
def test_resize_token_embeddings_matches_transformers(head, new_size):
    ours, config = _model(head)
    old = config.vocab_size
    theirs = hf_model(config, head)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    returned = ours.resize_token_embeddings(new_size)
    theirs.resize_token_embeddings(new_size, mean_resizing=False)
    keep = min(old, new_size)
    assert returned is ours.get_input_embeddings()
    assert ours.config.vocab_size == theirs.config.vocab_size == new_size
    assert ours.get_input_embeddings().weight.shape == theirs.get_input_embeddings().weight.shape
    assert_close(ours.get_input_embeddings().weight[:keep], theirs.get_input_embeddings().weight[:keep], "old rows")
    if head is not Head.BASE:
        out_ours, out_theirs = ours.get_output_embeddings(), theirs.get_output_embeddings()
        assert out_ours.weight.shape == out_theirs.weight.shape and out_ours.bias.shape == out_theirs.bias.shape
        assert out_ours.weight is ours.get_input_embeddings().weight  # still tied
        assert out_ours.bias is ours.predictions.bias
        assert_close(ours.predictions.bias[:keep], theirs.predictions.bias[:keep], "old bias entries")
        # the old vocabulary scores the same; the new size is accepted as input
        inputs = to_backend(make_inputs(config, head), "pt")
        inputs["input_ids"].clamp_(max=keep - 1)
        with torch.no_grad():
            a, b = ours(**inputs)[main_keys(head)[0]], theirs(**inputs)[main_keys(head)[0]]
            assert a.shape[-1] == b.shape[-1] == new_size
            assert_close(a[..., :keep], b[..., :keep], "logits of the old vocabulary")
            inputs["input_ids"][0, 1] = new_size - 1  # the last id of the new size is accepted
            assert ours(**inputs)[main_keys(head)[0]].shape[-1] == new_size
    assert ours.num_parameters() == theirs.num_parameters()


def test_resize_keeps_training_tied_and_checks_sizes():
    ours, config = _model(Head.MASKED_LM)
    sibling = MODEL_CLASSES[Head.BASE](config)  # built from the same config object
    ours.resize_token_embeddings(101, pad_to_multiple_of=8)
    assert ours.config.vocab_size == 104 and ours.predictions.bias.shape == (104,)
    assert ours.albert.config is ours.config and ours.albert.encoder.config is ours.config
    assert config.vocab_size == sibling.config.vocab_size == 99  # the shared config is not changed in place
    ours.train()
    inputs = to_backend(make_inputs(ours.config, Head.MASKED_LM), "pt")
    ours(**inputs).logits.sum().backward()
    # one gradient for the tied table, from the lookup and from the decoder
    grads = {name: p.grad for name, p in ours.named_parameters()}
    assert "predictions.decoder.weight" not in grads and grads["albert.embeddings.word_embeddings.weight"] is not None
    from albert_core import ConfigError
    from albert_core.errors import UsageError

    with pytest.raises(UsageError, match="new_num_tokens must be a positive integer"):
        ours.resize_token_embeddings(0)
    with pytest.raises(ConfigError, match=r"_token_id=\d is not an id in \[0, vocab_size=2\)"):
        ours.resize_token_embeddings(2)
    assert ours.config.vocab_size == 104  # unchanged after the refusal


def test_set_input_and_output_embeddings_follow_transformers():
    head = Head.MASKED_LM
    ours, config = _model(head)
    new = torch.nn.Embedding(config.vocab_size, config.embedding_size)
    torch.nn.init.normal_(new.weight)
    ours.set_input_embeddings(new)
    assert ours.get_input_embeddings() is new and ours.get_output_embeddings().weight is new.weight
    theirs = hf_model(config, head)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    inputs = to_backend(make_inputs(config, head), "pt")
    with torch.no_grad():
        assert_close(ours(**inputs).logits, theirs(**inputs).logits, "after set_input_embeddings")
    decoder = torch.nn.Linear(config.embedding_size, config.vocab_size)
    ours.set_output_embeddings(decoder)
    assert ours.get_input_embeddings().weight is decoder.weight and ours.predictions.bias is decoder.bias
    from albert_core.errors import UsageError

    with pytest.raises(UsageError, match="resize_token_embeddings"):
        ours.set_input_embeddings(torch.nn.Embedding(5, config.embedding_size))
    assert MODEL_CLASSES[Head.BASE](config).get_output_embeddings() is None
    assert theirs.get_output_embeddings() is not None and transformers.AlbertModel(
        transformers.AlbertConfig(**{k: v for k, v in config.to_dict().items() if k != "model_type"})
    ).get_output_embeddings() is None


@pytest.mark.parametrize("head", ALL_HEADS, ids=[h.value for h in ALL_HEADS])
@pytest.mark.parametrize("name", ["default", "relative_key"])
def test_num_parameters_equal_transformers(head, name):
    config = config_for(head, name)
    ours, theirs = MODEL_CLASSES[head](config), hf_model(config, head)
    for model in (ours, theirs):  # freeze the same tensor in both
        model.get_input_embeddings().weight.requires_grad_(False)
    for only_trainable in (False, True):
        for exclude_embeddings in (False, True):
            assert ours.num_parameters(only_trainable, exclude_embeddings) == theirs.num_parameters(
                only_trainable=only_trainable, exclude_embeddings=exclude_embeddings), (only_trainable,
                                                                                       exclude_embeddings)


def test_device_and_dtype_follow_conversion_like_transformers():
    head = Head.MASKED_LM
    ours, config = _model(head)
    theirs = hf_model(config, head)
    assert ours.device == theirs.device == torch.device("cpu")
    assert ours.dtype == theirs.dtype == torch.float32
    ours.to(torch.bfloat16), theirs.to(torch.bfloat16)
    assert ours.dtype == theirs.dtype == torch.bfloat16
    assert ours.get_output_embeddings().weight is ours.get_input_embeddings().weight  # conversion keeps the tie


# ---------------------------------------------------------------------------------------------------------------------
# gradient checkpointing with transformers' Trainer


def _dataset(config, n: int = 8):
    rng = np.random.default_rng(5)
    rows = []
    for i in range(n):
        ids = rng.integers(4, config.vocab_size, size=6)
        rows.append({"input_ids": torch.tensor(ids), "attention_mask": torch.ones(6, dtype=torch.long),
                     "labels": torch.tensor(i % config.num_labels)})
    return rows


def _train_two_steps(tmp_path, checkpointing: bool, kwargs=None):
    head = Head.SEQUENCE_CLASSIFICATION
    config = config_for(head, num_hidden_layers=2)
    model = build("pt", head, config, random_state(config, head, seed=4))
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=4, learning_rate=1e-2,
        gradient_checkpointing=checkpointing, gradient_checkpointing_kwargs=kwargs, report_to=[],
        save_strategy="no", logging_strategy="no", use_cpu=True, seed=0, data_seed=0, dataloader_num_workers=0,
        disable_tqdm=True,
    )
    trainer = transformers.Trainer(model=model, args=args, train_dataset=_dataset(config))
    trainer.train()
    return model


def test_trainer_gradient_checkpointing_matches_plain_training(tmp_path, monkeypatch):
    calls = []
    real = torch.utils.checkpoint.checkpoint

    def spy(*args, **kwargs):
        calls.append(kwargs.get("use_reentrant"))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.utils.checkpoint, "checkpoint", spy)
    plain = _train_two_steps(tmp_path / "plain", checkpointing=False)
    assert calls == []
    checkpointed = _train_two_steps(tmp_path / "ckpt", checkpointing=True, kwargs={"use_reentrant": True})
    assert checkpointed.is_gradient_checkpointing
    assert calls and set(calls) == {True}  # the Trainer's kwargs reached torch.utils.checkpoint (2 layers x 2 steps)
    assert len(calls) == 4
    trained = dict(checkpointed.named_parameters())
    start = random_state(checkpointed.config, Head.SEQUENCE_CLASSIFICATION, seed=4)
    for name, param in plain.named_parameters():
        torch.testing.assert_close(trained[name], param, atol=1e-6, rtol=1e-5, msg=name)
    moved = [n for n, p in plain.named_parameters() if not np.allclose(p.detach().numpy(), start[n])]
    assert "classifier.weight" in moved  # the two steps did train


@pytest.mark.parametrize("use_reentrant", [True])  # the default (False) is tested in test_pt_models.py
def test_checkpointed_gradients_equal_plain(use_reentrant):
    head = Head.PRETRAINING
    config = config_for(head, num_hidden_layers=2, inner_group_num=2)
    state = random_state(config, head)
    kwargs = to_backend({**make_inputs(config, head)}, "pt")

    def grads(enable: bool):
        model = build("pt", head, config, state).train()
        if enable:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": use_reentrant})
        out = model(**kwargs)
        (out.prediction_logits.square().mean() + out.sop_logits.sum()).backward()
        return {n: p.grad.clone() for n, p in model.named_parameters()}

    plain, checkpointed = grads(False), grads(True)
    for name in plain:
        torch.testing.assert_close(checkpointed[name], plain[name], atol=1e-7, rtol=1e-6, msg=name)


def test_gradient_checkpointing_switches():
    model, _ = _model(Head.BASE)
    assert not model.is_gradient_checkpointing
    model.gradient_checkpointing_enable()
    assert model.is_gradient_checkpointing and model.encoder.gradient_checkpointing_kwargs == {}
    model.gradient_checkpointing_disable()
    assert not model.is_gradient_checkpointing
    from albert_core.errors import UsageError

    with pytest.raises(UsageError, match="gradient_checkpointing_kwargs must be a mapping"):
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=["use_reentrant"])
    assert pt_modeling.AlbertPreTrainedModel.supports_gradient_checkpointing
