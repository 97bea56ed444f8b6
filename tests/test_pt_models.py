"""albert_pt models against transformers (oracle), the NumPy reference, and their own contracts.

Every comparison uses random weights with nothing trivially 0 or 1 (LayerNorm scales and all biases are random too)
and eval mode unless the test is about training.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from albert_core import AlbertConfig, Head, InputError, canonical_specs
from albert_core.heads import HEADS
from albert_pt import MODEL_CLASSES, AlbertForPreTrainingOutput, AlbertModel
from albert_pt import modeling as pt_modeling
from conftest import CONFIG_MATRIX, tiny_config
from numpy_reference import numpy_forward

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()

HEADS = list(Head)
B, S, C = 2, 7, 3  # batch, sequence, choices


# ---------------------------------------------------------------------------------------------------------------------
# helpers (also used by test_pt_checkpoints.py)


def head_config(config: AlbertConfig, head: Head) -> AlbertConfig:
    """transformers sizes the sentence-order and QA outputs by num_labels; use 2 there so both agree."""
    return config.copy(num_labels=2) if head in (Head.PRETRAINING, Head.QUESTION_ANSWERING) else config


def hf_model(config: AlbertConfig, head: Head, seed: int = 0):
    data = {k: v for k, v in config.to_dict().items() if k != "model_type"}
    hf_config = transformers.AlbertConfig(**data)
    hf_config._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = getattr(transformers, HEADS[head].hf_class)(hf_config)
    randomize(model, seed)
    return model.eval()


def randomize(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Fill every parameter with random values: scales near 1, everything else around 0 (biases included)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=gen) * 0.1
            if "LayerNorm.weight" in name or "layer_norm.weight" in name:
                param.copy_(1.0 + noise)
            else:
                param.copy_(noise)
    return model


def make_inputs(config: AlbertConfig, head: Head, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    shape = (B, C, S) if head is Head.MULTIPLE_CHOICE else (B, S)
    ids = torch.randint(0, config.vocab_size, shape, generator=gen)
    mask = torch.ones(shape, dtype=torch.long)
    mask[1, ..., S - 3:] = 0  # padding at the end of the second example
    types = torch.randint(0, config.type_vocab_size, shape, generator=gen)
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def make_labels(config: AlbertConfig, head: Head, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed + 1)
    if head in (Head.PRETRAINING, Head.MASKED_LM):
        labels = torch.randint(0, config.vocab_size, (B, S), generator=gen)
        labels[:, ::2] = -100
        out = {"labels": labels}
        if head is Head.PRETRAINING:
            out["sentence_order_label"] = torch.tensor([0, 1])
        return out
    if head is Head.SEQUENCE_CLASSIFICATION:
        return {"labels": torch.randint(0, config.num_labels, (B,), generator=gen)}
    if head is Head.MULTIPLE_CHOICE:
        return {"labels": torch.tensor([2, 0])}
    if head is Head.TOKEN_CLASSIFICATION:
        labels = torch.randint(0, config.num_labels, (B, S), generator=gen)
        labels[1, S - 3:] = -100
        return {"labels": labels}
    if head is Head.QUESTION_ANSWERING:
        return {"start_positions": torch.tensor([1, 100]), "end_positions": torch.tensor([3, 2])}
    return {}


def assert_close(ours, ref, name, atol=1e-5, rtol=1e-5):
    ours = ours.detach().float() if isinstance(ours, torch.Tensor) else torch.as_tensor(np.asarray(ours)).float()
    ref = ref.detach().float() if isinstance(ref, torch.Tensor) else torch.as_tensor(np.asarray(ref)).float()
    assert ours.shape == ref.shape, f"{name}: shape {tuple(ours.shape)} vs {tuple(ref.shape)}"
    torch.testing.assert_close(ours, ref, atol=atol, rtol=rtol, msg=lambda m: f"{name}: {m}")


def compare_outputs(ours, ref, config: AlbertConfig, keys=None):
    """Every field the reference returns (HF ModelOutput or dict), hidden states and attentions one by one."""
    keys = keys or [k for k in ref.keys() if ref[k] is not None]
    assert keys
    for key in keys:
        a, b = ours[key], ref[key]
        if key == "hidden_states":
            assert len(a) == len(b) == config.num_hidden_layers + 1
            for i, (x, y) in enumerate(zip(a, b)):
                assert_close(x, y, f"hidden_states[{i}]")
        elif key == "attentions":
            assert len(a) == len(b) == config.num_hidden_layers * config.inner_group_num
            for i, (x, y) in enumerate(zip(a, b)):
                assert_close(x, y, f"attentions[{i}]")
        else:
            assert_close(a, b, key)


def forward_both(ours, ref, config, head, with_labels=True, **extra):
    inputs = make_inputs(config, head)
    labels = make_labels(config, head) if with_labels else {}
    kwargs = dict(inputs, **labels, output_attentions=True, output_hidden_states=True, **extra)
    with torch.no_grad():
        return ours(**kwargs), ref(**kwargs)


MAIN_KEYS = {
    Head.BASE: ["last_hidden_state", "pooler_output"],
    Head.PRETRAINING: ["prediction_logits", "sop_logits"],
    Head.QUESTION_ANSWERING: ["start_logits", "end_logits"],
}


# ---------------------------------------------------------------------------------------------------------------------
# transformers <-> albert_pt, every head on every matrix configuration


@pytest.mark.parametrize("head", HEADS, ids=[h.value for h in HEADS])
def test_hf_checkpoint_loads_and_matches(matrix_config, head, tmp_path):
    config = head_config(matrix_config, head)
    ref = hf_model(config, head)
    ref.save_pretrained(tmp_path)
    ours = MODEL_CLASSES[head].from_pretrained(tmp_path, strict=True)
    assert ours.load_report.missing == [] and ours.load_report.unexpected == []
    assert not ours.training
    out, expected = forward_both(ours, ref, config, head)
    compare_outputs(out, expected, config)
    if head is not Head.BASE:
        assert out.loss is not None
    # the fast attention path (no attention weights requested) gives the same numbers
    inputs = make_inputs(config, head)
    keys = MAIN_KEYS.get(head, ["logits"])
    with torch.no_grad():
        compare_outputs(ours(**inputs), ref(**inputs), config, keys)
        # a [heads] head_mask means the same in both implementations
        head_mask = torch.tensor([1.0, 0.0, 0.5, 1.0])
        compare_outputs(ours(**inputs, head_mask=head_mask), ref(**inputs, head_mask=head_mask), config, keys)


@pytest.mark.parametrize("problem", ["regression", "single_label", "multi_label"])
def test_sequence_classification_losses_match_hf(problem, tmp_path):
    config = tiny_config(num_labels=1) if problem == "regression" else tiny_config()
    ref = hf_model(config, Head.SEQUENCE_CLASSIFICATION)
    ref.save_pretrained(tmp_path)
    ours = MODEL_CLASSES[Head.SEQUENCE_CLASSIFICATION].from_pretrained(tmp_path)
    gen = torch.Generator().manual_seed(3)
    labels = {
        "regression": torch.randn(B, generator=gen),
        "single_label": torch.tensor([0, 2]),
        "multi_label": torch.randint(0, 2, (B, config.num_labels), generator=gen).float(),
    }[problem]
    inputs = make_inputs(config, Head.SEQUENCE_CLASSIFICATION)
    with torch.no_grad():
        out = ours(**inputs, labels=labels)
        expected = ref(**inputs, labels=labels)
    assert_close(out.loss, expected.loss, "loss")
    assert_close(out.logits, expected.logits, "logits")


# ---------------------------------------------------------------------------------------------------------------------
# training: gradients agree with transformers step by step


GRAD_CASES = [(h, "default") for h in HEADS if h is not Head.BASE] + [
    (Head.PRETRAINING, "groups2_inner2"),
    (Head.PRETRAINING, "uneven_groups"),
    (Head.MASKED_LM, "relative_key_query"),
    (Head.SEQUENCE_CLASSIFICATION, "relative_key"),
]


@pytest.mark.parametrize("head,name", GRAD_CASES, ids=[f"{h.value}-{n}" for h, n in GRAD_CASES])
def test_sgd_steps_match_hf_gradients(head, name, tmp_path):
    config = head_config(tiny_config(**CONFIG_MATRIX[name]), head)
    ref = hf_model(config, head)
    ref.save_pretrained(tmp_path)
    ours = MODEL_CLASSES[head].from_pretrained(tmp_path, strict=True)
    ours.train()
    ref.train()
    ref_params = dict(ref.named_parameters())
    our_params = dict(ours.named_parameters())
    assert set(our_params) <= set(ref_params)
    opt_ours = torch.optim.SGD(ours.parameters(), lr=0.1)
    opt_ref = torch.optim.SGD(ref.parameters(), lr=0.1)
    kwargs = dict(make_inputs(config, head), **make_labels(config, head))
    for step in range(3):
        opt_ours.zero_grad()
        opt_ref.zero_grad()
        loss_ours = ours(**kwargs).loss
        loss_ref = ref(**kwargs).loss
        assert_close(loss_ours, loss_ref, f"step {step} loss")
        loss_ours.backward()
        loss_ref.backward()
        for pname, param in our_params.items():
            g, r = param.grad, ref_params[pname].grad
            if r is None:  # unused in both (position table with relative positions)
                assert g is None or not g.any(), pname
                continue
            assert g is not None, pname
            scale = max(float(r.abs().max()), 1e-3)
            assert float((g - r).abs().max()) <= 1e-5 * scale + 1e-7, f"step {step} grad {pname}"
        opt_ours.step()
        opt_ref.step()
    for pname, param in our_params.items():
        assert_close(param, ref_params[pname], f"after training {pname}")


# ---------------------------------------------------------------------------------------------------------------------
# the NumPy reference (original equations)


def _numpy_check(config, head, head_mask=None, seed=0):
    torch.manual_seed(seed)
    model = randomize(MODEL_CLASSES[head](config), seed).eval()
    inputs = make_inputs(config, head, seed)
    np_inputs = {k: v.numpy() for k, v in inputs.items()}
    expected = numpy_forward(config, model.canonical_state(), head, head_mask=None if head_mask is None else
                             head_mask.numpy(), **np_inputs)
    with torch.no_grad():
        full = model(**inputs, head_mask=head_mask, output_attentions=True, output_hidden_states=True)
        fast = model(**inputs, head_mask=head_mask)
    keys = MAIN_KEYS.get(head, ["logits"])
    compare_outputs(full, expected, config, keys + ["hidden_states", "attentions"])
    compare_outputs(fast, expected, config, keys)


@pytest.mark.parametrize("head", HEADS, ids=[h.value for h in HEADS])
def test_numpy_reference_matrix(matrix_config, head):
    _numpy_check(head_config(matrix_config, head), head)


def test_numpy_reference_inner_group_larger_than_layers_per_group():
    # 4 layers in 2 groups (2 layers per group) with 3 inner blocks: transformers raises IndexError here
    config = tiny_config(num_hidden_layers=4, num_hidden_groups=2, inner_group_num=3)
    for head in (Head.BASE, Head.MASKED_LM):
        _numpy_check(config, head)
    _numpy_check(tiny_config(num_hidden_layers=2, inner_group_num=4), Head.BASE)


@pytest.mark.parametrize("name", ["default", "uneven_groups", "groups2_inner2"])
def test_head_mask_rows_index_layers(name):
    config = tiny_config(**CONFIG_MATRIX[name])
    gen = torch.Generator().manual_seed(5)
    head_mask = torch.rand(config.num_hidden_layers, config.num_attention_heads, generator=gen)
    head_mask[0, 1] = 0.0
    head_mask[-1, 2] = 0.0
    _numpy_check(config, Head.BASE, head_mask=head_mask)
    # and it really is per layer: masking only the last layer changes nothing before it
    model = randomize(AlbertModel(config)).eval()
    inputs = make_inputs(config, Head.BASE)
    hm = torch.ones(config.num_hidden_layers, config.num_attention_heads)
    hm[-1] = 0.0
    with torch.no_grad():
        plain = model(**inputs, output_hidden_states=True).hidden_states
        masked = model(**inputs, head_mask=hm, output_hidden_states=True).hidden_states
    for i in range(config.num_hidden_layers):
        assert_close(masked[i], plain[i], f"hidden_states[{i}] before the masked layer")
    assert not torch.allclose(masked[-1], plain[-1])


def test_ffn_output_dropout_is_applied_in_training():
    config = tiny_config(hidden_dropout_prob=0.5)
    model = randomize(AlbertModel(config))
    inputs = make_inputs(config, Head.BASE)
    seen = []

    def hook(module, args, output):
        seen.append((args[0].detach(), output.detach()))

    layer = model.encoder.albert_layer_groups[0].albert_layers[0]
    handle = layer.dropout.register_forward_hook(hook)
    model.eval()
    with torch.no_grad():
        eval_out = model(**inputs).last_hidden_state
    assert len(seen) == config.num_hidden_layers  # called once per layer that uses the block
    for x, y in seen:
        assert torch.equal(x, y)  # identity in eval
    seen.clear()
    # train mode with every other dropout switched off: only the FFN-output dropout can change anything
    model.train()
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout) and module is not layer.dropout:
            module.eval()
    torch.manual_seed(0)
    with torch.no_grad():
        train_out = model(**inputs).last_hidden_state
    handle.remove()
    assert len(seen) == config.num_hidden_layers
    for x, y in seen:
        kept = y != 0
        assert 0.2 < kept.float().mean() < 0.8
        torch.testing.assert_close(y[kept], x[kept] / 0.5)
    assert not torch.allclose(train_out, eval_out)
    # the same RNG state gives the same mask
    model.train()
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout) and module is not layer.dropout:
            module.eval()
    torch.manual_seed(0)
    with torch.no_grad():
        again = model(**inputs).last_hidden_state
    assert torch.equal(again, train_out)


# ---------------------------------------------------------------------------------------------------------------------
# behaviour


@pytest.mark.parametrize("name", ["default", "relative_key_query", "groups2_inner2"])
@pytest.mark.parametrize("head", [Head.BASE, Head.TOKEN_CLASSIFICATION, Head.QUESTION_ANSWERING, Head.MASKED_LM,
                                  Head.SEQUENCE_CLASSIFICATION])
def test_padding_does_not_change_real_positions(name, head):
    config = tiny_config(**CONFIG_MATRIX[name])
    model = randomize(MODEL_CLASSES[head](config)).eval()
    gen = torch.Generator().manual_seed(2)
    ids = torch.randint(4, config.vocab_size, (2, 5), generator=gen)
    types = torch.randint(0, 2, (2, 5), generator=gen)
    padded_ids = torch.cat([ids, torch.zeros(2, 4, dtype=torch.long)], dim=1)
    padded_types = torch.cat([types, torch.zeros(2, 4, dtype=torch.long)], dim=1)
    mask = torch.cat([torch.ones(2, 5), torch.zeros(2, 4)], dim=1)
    with torch.no_grad():
        short = model(ids, token_type_ids=types)
        long = model(padded_ids, attention_mask=mask, token_type_ids=padded_types)
    for key in MAIN_KEYS.get(head, ["logits"]):
        a, b = short[key], long[key]
        if a.ndim >= 2 and key not in ("pooler_output",) and head is not Head.SEQUENCE_CLASSIFICATION:
            b = b[:, :5]
        assert_close(b, a, key)


def test_output_classes_and_tuple_access():
    config = head_config(tiny_config(), Head.PRETRAINING)
    model = MODEL_CLASSES[Head.PRETRAINING](config).eval()
    out = model(**make_inputs(config, Head.PRETRAINING))
    assert isinstance(out, AlbertForPreTrainingOutput)
    assert out.loss is None
    assert out[0] is out.prediction_logits and out[1] is out.sop_logits
    assert out["sop_logits"].shape == (B, 2)
    for head, cls in MODEL_CLASSES.items():
        assert cls.head is head
        model = cls(head_config(tiny_config(), head))
        names = set(model.canonical_state())
        assert names == set(canonical_specs(model.config, head)), head
        if head is Head.BASE:
            assert all(not n.startswith("albert.") for n in model.state_dict())
        else:
            assert not any("decoder" in n for n in model.state_dict())


def test_default_ids_and_positions():
    config = tiny_config()
    model = randomize(AlbertModel(config)).eval()
    ids = make_inputs(config, Head.BASE)["input_ids"]
    with torch.no_grad():
        a = model(ids).last_hidden_state
        b = model(ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids),
                  position_ids=torch.arange(S).expand(B, S)).last_hidden_state
        embeds = model.embeddings.word_embeddings(ids)
        c = model(inputs_embeds=embeds).last_hidden_state
    assert_close(a, b, "defaults")
    assert_close(a, c, "inputs_embeds")


def test_initialisation_is_truncated_normal():
    config = tiny_config(vocab_size=2000, initializer_range=0.05)
    model = MODEL_CLASSES[Head.PRETRAINING](config)
    w = model.albert.embeddings.word_embeddings.weight
    assert float(w.detach().abs().max()) <= 0.1 + 1e-6
    assert 0.035 < float(w.detach().std()) < 0.05  # truncation at 2 std shrinks the std to ~0.88 r
    assert torch.count_nonzero(model.predictions.bias) == 0
    assert torch.count_nonzero(model.albert.encoder.embedding_hidden_mapping_in.bias) == 0
    assert torch.all(model.albert.embeddings.LayerNorm.weight == 1)


@pytest.mark.parametrize("act", sorted(pt_modeling.ACT_FNS))
def test_every_activation_matches_reference(act):
    from numpy_reference import ACTIVATIONS as NP_ACTS
    from transformers.activations import ACT2FN

    x = torch.linspace(-6, 6, 241, dtype=torch.float64)
    ours = pt_modeling.ACT_FNS[act](x)
    torch.testing.assert_close(ours, torch.as_tensor(NP_ACTS[act](x.numpy())), atol=1e-7, rtol=1e-7)
    hf_name = "silu" if act == "swish" else act
    if hf_name in ACT2FN:
        torch.testing.assert_close(ours.float(), ACT2FN[hf_name](x.float()), atol=1e-6, rtol=1e-6)


# ---------------------------------------------------------------------------------------------------------------------
# bad inputs


@pytest.fixture(scope="module")
def small_model():
    return AlbertModel(tiny_config()).eval()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"input_ids": torch.zeros(5, dtype=torch.long)}, r"input_ids must have shape \[batch, seq\], got rank 1"),
        ({"input_ids": torch.zeros(1, 2, 3, dtype=torch.long)}, r"got rank 3"),
        ({"input_ids": torch.tensor([[1, 99]])}, r"input_ids contains id 99, outside \[0, vocab_size=99\)"),
        ({"input_ids": torch.tensor([[1, -1]])}, r"input_ids contains the negative id -1"),
        ({"input_ids": torch.ones(1, 65, dtype=torch.long)}, r"sequence length 65 exceeds max_position_embeddings=64"),
        ({"input_ids": torch.ones(2, 4, dtype=torch.long), "attention_mask": torch.ones(2, 5)},
         r"attention_mask must have shape \[batch, seq\] = \[2, 4\]"),
        ({"input_ids": torch.ones(2, 4, dtype=torch.long), "token_type_ids": torch.full((2, 4), 2)},
         r"token_type_ids contains id 2, outside \[0, type_vocab_size=2\)"),
        ({"input_ids": torch.ones(2, 4, dtype=torch.long), "position_ids": torch.full((2, 4), 64)},
         r"position_ids contains id 64, outside \[0, max_position_embeddings=64\)"),
        ({"input_ids": torch.ones(2, 4)}, r"input_ids must be an integer tensor"),
        ({}, r"exactly one of input_ids and inputs_embeds"),
        ({"input_ids": torch.ones(2, 4, dtype=torch.long), "head_mask": torch.ones(3)}, r"head_mask must have shape"),
        ({"inputs_embeds": torch.ones(2, 4, 7)}, r"inputs_embeds must have shape"),
    ],
)
def test_bad_inputs_raise_input_error(small_model, kwargs, match):
    with pytest.raises(InputError, match=match):
        small_model(**kwargs)


def test_bad_labels_and_choice_inputs():
    config = tiny_config()
    ids = torch.ones(2, 4, dtype=torch.long)
    with pytest.raises(InputError, match=r"labels must have shape \[2, 4\]"):
        MODEL_CLASSES[Head.MASKED_LM](config)(ids, labels=torch.ones(2, 5, dtype=torch.long))
    with pytest.raises(InputError, match=r"labels must have shape \[2\]"):
        MODEL_CLASSES[Head.SEQUENCE_CLASSIFICATION](config)(ids, labels=torch.ones(3, dtype=torch.long))
    with pytest.raises(InputError, match=r"multiple-choice input_ids must have shape \[batch, num_choices, seq\]"):
        MODEL_CLASSES[Head.MULTIPLE_CHOICE](config)(ids)
    with pytest.raises(InputError, match=r"input_ids contains id 99"):
        MODEL_CLASSES[Head.MULTIPLE_CHOICE](config)(torch.full((1, 2, 3), 99))


# ---------------------------------------------------------------------------------------------------------------------
# torch.compile and gradient checkpointing


def test_encoder_compiles_without_graph_breaks():
    import torch._dynamo

    config = tiny_config(num_hidden_layers=2, num_hidden_groups=2)
    model = randomize(AlbertModel(config)).eval()
    x = torch.randn(2, 5, config.embedding_size)
    mask = torch.zeros(2, 1, 1, 5)
    torch._dynamo.reset()
    explanation = torch._dynamo.explain(model.encoder)(x, mask)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    compiled = torch.compile(model.encoder, fullgraph=True, backend="eager")
    with torch.no_grad():
        torch.testing.assert_close(compiled(x, mask)[0], model.encoder(x, mask)[0])
    # the whole model compiles too (id range checks are skipped while tracing) and gives the same numbers
    ids = make_inputs(config, Head.BASE)["input_ids"]
    mask = make_inputs(config, Head.BASE)["attention_mask"]
    head_model = randomize(MODEL_CLASSES[Head.SEQUENCE_CLASSIFICATION](config)).eval()
    explanation = torch._dynamo.explain(head_model)(ids, attention_mask=mask)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    whole = torch.compile(model, backend="eager")
    with torch.no_grad():
        torch.testing.assert_close(whole(ids).last_hidden_state, model(ids).last_hidden_state)


def test_gradient_checkpointing_gives_same_gradients():
    config = tiny_config(num_hidden_layers=4, num_hidden_groups=2, inner_group_num=2)
    head = Head.SEQUENCE_CLASSIFICATION
    kwargs = dict(make_inputs(config, head), **make_labels(config, head))

    def grads(enable: bool):
        torch.manual_seed(0)
        model = randomize(MODEL_CLASSES[head](config)).train()
        if enable:
            model.gradient_checkpointing_enable()
        model(**kwargs).loss.backward()
        return {n: p.grad.clone() for n, p in model.named_parameters()}

    plain, checkpointed = grads(False), grads(True)
    for name in plain:
        torch.testing.assert_close(checkpointed[name], plain[name], atol=1e-7, rtol=1e-6, msg=name)
    # and the config flag switches it on too
    model = MODEL_CLASSES[head](config.copy(extra={"gradient_checkpointing": True}))
    assert model.albert.encoder.gradient_checkpointing


def test_sdpa_and_explicit_attention_agree(monkeypatch):
    config = tiny_config()
    model = randomize(AlbertModel(config)).eval()
    inputs = make_inputs(config, Head.BASE)
    with torch.no_grad():
        monkeypatch.setattr(pt_modeling, "USE_SDPA", True)
        a = model(**inputs).last_hidden_state
        monkeypatch.setattr(pt_modeling, "USE_SDPA", False)
        b = model(**inputs).last_hidden_state
    assert_close(a, b, "sdpa vs explicit")


def test_no_warnings_on_exact_load(tmp_path):
    config = tiny_config()
    AlbertModel(config).save_pretrained(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AlbertModel.from_pretrained(tmp_path)
