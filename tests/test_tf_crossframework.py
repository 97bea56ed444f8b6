"""albert_tf against the PyTorch implementations (albert_pt and transformers' PyTorch ALBERT), the NumPy reference
and transformers' own TFAlbert classes, on identical random weights moved through checkpoints in both directions.

Oracles and what they can run:

* albert_pt: every config and head, per-layer ``[L, heads]`` head masks, training-mode gradients.
* transformers PyTorch ``AlbertFor*``: every config of CONFIG_MATRIX (eager attention); its head_mask rows are
  indexed by group, not by layer, so it gets a ``[heads]`` mask (the same row for every layer) instead.
* transformers ``TFAlbert*`` (tf-keras): only ``inner_group_num == 1`` (it fails with more inner blocks) and absolute
  positions (it has no relative position types), so those configs are skipped for this oracle.
* ``tests/numpy_reference.py`` (float64): used for the configs that transformers' TF classes cannot run.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import tensorflow as tf

from albert_core import Head
from albert_core.checkpoints import read_checkpoint
from albert_core.heads import HEADS as HEAD_SPECS
from albert_tf import MODEL_CLASSES as TF_CLASSES
from conftest import CONFIG_MATRIX
from factory import assert_outputs_close, config_for, make_inputs, make_labels, random_state, to_numpy

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()
albert_pt = pytest.importorskip("albert_pt")
from numpy_reference import numpy_forward  # noqa: E402  (written alongside albert_pt)
from oracles import hf_pt_class  # noqa: E402

HEADS = list(Head)
ATOL = 1e-5
torch.set_num_threads(1)  # TF and torch thread pools fight over the 2 cores otherwise (10x slower tiny ops)


def _tf_call(model, inputs, labels=None, head_mask=None, training=False):
    kwargs = {k: tf.constant(v) for k, v in inputs.items()}
    for k, v in (labels or {}).items():
        kwargs[k] = tf.constant(v)
    if head_mask is not None:
        kwargs["head_mask"] = tf.constant(head_mask)
    return model(**kwargs, output_hidden_states=True, output_attentions=True, training=training)


def _pt_call(model, inputs, labels=None, head_mask=None):
    kwargs = {k: torch.as_tensor(v) for k, v in inputs.items()}
    for k, v in (labels or {}).items():
        kwargs[k] = torch.as_tensor(v)
    if head_mask is not None:
        kwargs["head_mask"] = torch.as_tensor(head_mask)
    with torch.no_grad():
        return model(**kwargs, output_hidden_states=True, output_attentions=True)


def _head_mask_rows(config, seed=0):
    rng = np.random.default_rng(seed + 300)
    mask = rng.uniform(0.2, 1.0, size=(config.num_hidden_layers, config.num_attention_heads)).astype(np.float32)
    mask[0, 0] = 0.0
    return mask


# ---------------------------------------------------------------------------------------------------------------------
# every config x every head, both directions, albert_pt and transformers PyTorch


@pytest.mark.parametrize("head", HEADS, ids=[h.value for h in HEADS])
@pytest.mark.parametrize("name", sorted(CONFIG_MATRIX))
def test_matches_pytorch_both_directions(name, head, tmp_path):
    config = config_for(head, name)
    state = random_state(config, head, seed=hash((name, head.value)) % 1000)
    inputs, labels = make_inputs(config, head), make_labels(config, head)
    hm_rows = _head_mask_rows(config)
    hm_vec = hm_rows[1]

    # albert_pt -> checkpoint -> albert_tf
    pt = albert_pt.MODEL_CLASSES[head](config)
    pt.load_canonical_state(state, strict=True)
    pt.eval()
    pt.save_pretrained(tmp_path / "from_pt")
    ours = TF_CLASSES[head].from_pretrained(tmp_path / "from_pt", strict=True)
    assert not ours.load_report.missing and not ours.load_report.unexpected
    got = ours.canonical_state()
    for key, value in state.items():
        np.testing.assert_array_equal(got[key], value, err_msg=key)
    tf_out = _tf_call(ours, inputs, labels)
    compared = assert_outputs_close(tf_out, _pt_call(pt, inputs, labels), atol=ATOL, what=f"albert_pt {name}")
    assert "hidden_states" in compared and "attentions" in compared
    if head is not Head.BASE:
        assert "loss" in compared
    if head is Head.BASE:  # head masks act on the backbone only: checked once per config
        # per-layer head mask (row l for layer l)
        assert_outputs_close(_tf_call(ours, inputs, head_mask=hm_rows), _pt_call(pt, inputs, head_mask=hm_rows),
                             atol=ATOL, what=f"albert_pt head_mask {name}")

    # albert_tf -> checkpoint -> albert_pt and transformers PyTorch
    ours.save_pretrained(tmp_path / "from_tf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pt2 = albert_pt.MODEL_CLASSES[head].from_pretrained(tmp_path / "from_tf", strict=True)
        hf = hf_pt_class(head).from_pretrained(tmp_path / "from_tf", attn_implementation="eager").eval()
    assert_outputs_close(tf_out, _pt_call(pt2, inputs, labels), atol=ATOL, what=f"tf->albert_pt {name}")
    assert_outputs_close(tf_out, _pt_call(hf, inputs, labels), atol=ATOL, what=f"tf->transformers {name}")
    if head is Head.BASE:
        assert_outputs_close(_tf_call(ours, inputs, head_mask=hm_vec), _pt_call(hf, inputs, head_mask=hm_vec),
                             atol=ATOL, what=f"transformers head_mask {name}")

    # transformers PyTorch -> checkpoint -> albert_tf: the same tensors come back (first scrambled, then reloaded)
    hf.save_pretrained(tmp_path / "from_hf", safe_serialization=True)
    ours.load_canonical_state(random_state(config, head, seed=999), strict=True)
    report = ours.load_canonical_state(read_checkpoint(tmp_path / "from_hf").state, strict=True)
    assert not report.missing and not report.unexpected
    got = ours.canonical_state()
    for key, value in state.items():
        np.testing.assert_array_equal(got[key], value, err_msg=f"from transformers: {key}")


# ---------------------------------------------------------------------------------------------------------------------
# training-mode gradients (dropout 0), one config per head


_GRAD_CONFIGS = dict(zip(HEADS, ["inner2", "relative_key_query", "uneven_groups", "groups2_inner2", "relative_key",
                                 "gelu_exact", "groups2"]))


#: every head, and the masked-LM heads once more with TensorFlow computing their head at the labelled positions only
_GRAD_CASES = [(h, False) for h in HEADS] + [(Head.PRETRAINING, True), (Head.MASKED_LM, True)]


@pytest.mark.parametrize("head,masked_positions_only", _GRAD_CASES,
                         ids=[h.value + ("-masked_positions_only" if m else "") for h, m in _GRAD_CASES])
def test_training_gradients_match_pytorch(head, masked_positions_only):
    name = _GRAD_CONFIGS[head]
    config = config_for(head, name)
    state = random_state(config, head, seed=7)
    inputs, labels = make_inputs(config, head), make_labels(config, head)

    pt = albert_pt.MODEL_CLASSES[head](config)
    pt.load_canonical_state(state, strict=True)
    pt.train()
    out = pt(**{k: torch.as_tensor(v) for k, v in {**inputs, **labels}.items()})
    target = out.loss if head is not Head.BASE else (out.last_hidden_state ** 2).mean() + out.pooler_output.sum()
    target.backward()
    pt_grads = {}
    for pname, param in pt.named_parameters():
        cname = pt._param_to_canonical(pname)
        pt_grads[cname] = None if param.grad is None else param.grad.numpy()

    ours = TF_CLASSES[head](config)
    ours.load_canonical_state(state, strict=True)
    variables = ours.canonical_variables()
    names = list(variables)
    with tf.GradientTape() as tape:
        extra = {"masked_positions_only": True} if masked_positions_only else {}
        res = ours(**{k: tf.constant(v) for k, v in {**inputs, **labels}.items()}, training=True, **extra)
        tf_target = res.loss if head is not Head.BASE else (
            tf.reduce_mean(res.last_hidden_state ** 2) + tf.reduce_sum(res.pooler_output))
    grads = tape.gradient(tf_target, [variables[n] for n in names])
    np.testing.assert_allclose(float(tf_target), float(target.detach()), atol=ATOL, rtol=1e-5)
    from albert_core.weights import canonical_specs, from_tf_layout

    specs = canonical_specs(config, head)
    checked = 0
    for n, g in zip(names, grads):
        expected = pt_grads[n]
        if expected is None:
            assert g is None or not np.any(to_numpy(tf.convert_to_tensor(g))), n
            continue
        assert g is not None, f"no TF gradient for {n}"
        g = tf.convert_to_tensor(g)  # IndexedSlices for gathered tables
        np.testing.assert_allclose(from_tf_layout(specs[n], g.numpy()), expected, atol=ATOL, rtol=1e-4, err_msg=n)
        checked += 1
    assert checked >= len(names) - 4


# ---------------------------------------------------------------------------------------------------------------------
# the NumPy reference, for the configs transformers' TF classes cannot run


@pytest.mark.parametrize("name", ["inner2", "groups2_inner2", "relative_key", "relative_key_query"])
@pytest.mark.parametrize("head", [Head.PRETRAINING, Head.MULTIPLE_CHOICE, Head.QUESTION_ANSWERING],
                         ids=lambda h: h.value)
def test_matches_numpy_reference(name, head):
    config = config_for(head, name)
    state = random_state(config, head, seed=3)
    inputs = make_inputs(config, head)
    hm = _head_mask_rows(config)
    ours = TF_CLASSES[head](config)
    ours.load_canonical_state(state, strict=True)
    out = _tf_call(ours, inputs, head_mask=hm)
    ref = numpy_forward(config, state, head, inputs["input_ids"], inputs["attention_mask"],
                        inputs["token_type_ids"], head_mask=hm)
    assert_outputs_close(out, ref, atol=1e-4, rtol=1e-4, what=f"numpy {name}")


# ---------------------------------------------------------------------------------------------------------------------
# transformers' TFAlbert classes (tf-keras)

_HF_TF_CONFIGS = [n for n, o in sorted(CONFIG_MATRIX.items())
                  if o.get("inner_group_num", 1) == 1 and o.get("position_embedding_type", "absolute") == "absolute"]


def _hf_tf_outputs(hf_tf, inputs, labels):
    kwargs = {k: tf.constant(v) for k, v in {**inputs, **labels}.items()}
    return hf_tf(**kwargs, output_hidden_states=True, output_attentions=True, training=False)


def _sync_hf_tf_decoder_bias(hf_tf, state):
    """transformers' TF MLM head keeps a second output bias (``decoder_bias``) that it only fills from a PyTorch
    ``predictions.decoder.bias``; canonical checkpoints store the bias once, so copy it over for the oracle."""
    predictions = getattr(hf_tf, "predictions", None)
    if predictions is not None and "predictions.bias" in state:
        predictions.decoder_bias.assign(state["predictions.bias"])


def _compare_hf_tf(ours, hf_tf, head, inputs, labels, what):
    # transformers' TF losses are unreduced per-example vectors (and its QA loss does not clamp positions), so the
    # losses are checked against the PyTorch oracles above; here every other output is compared
    theirs = dict(_hf_tf_outputs(hf_tf, inputs, {}))
    return assert_outputs_close(_tf_call(ours, inputs, labels), theirs, atol=ATOL, what=what)


@pytest.mark.parametrize("head", HEADS, ids=[h.value for h in HEADS])
def test_matches_transformers_tf_all_heads(head, tmp_path):
    config = config_for(head)
    state = random_state(config, head, seed=11)
    inputs, labels = make_inputs(config, head), make_labels(config, head)
    ours = TF_CLASSES[head](config)
    ours.load_canonical_state(state, strict=True)
    ours.save_pretrained(tmp_path)
    hf_tf = getattr(transformers, HEAD_SPECS[head].hf_tf_class).from_pretrained(tmp_path, from_pt=True)
    _sync_hf_tf_decoder_bias(hf_tf, state)
    keys = _compare_hf_tf(ours, hf_tf, head, inputs, labels, HEAD_SPECS[head].hf_tf_class)
    assert "hidden_states" in keys and "attentions" in keys


@pytest.mark.parametrize("name", [n for n in _HF_TF_CONFIGS if n != "default"])
def test_matches_transformers_tf_configs(name, tmp_path):
    head = Head.MASKED_LM
    config = config_for(head, name)
    state = random_state(config, head, seed=12)
    ours = TF_CLASSES[head](config)
    ours.load_canonical_state(state, strict=True)
    ours.save_pretrained(tmp_path)
    hf_tf = transformers.TFAlbertForMaskedLM.from_pretrained(tmp_path, from_pt=True)
    _sync_hf_tf_decoder_bias(hf_tf, state)
    _compare_hf_tf(ours, hf_tf, head, make_inputs(config, head), make_labels(config, head), f"TF {name}")


@pytest.mark.parametrize("head", [Head.PRETRAINING, Head.SEQUENCE_CLASSIFICATION, Head.QUESTION_ANSWERING],
                         ids=lambda h: h.value)
def test_transformers_tf_model_h5_loads(head, tmp_path):
    """A tf_model.h5 written by transformers loads into albert_tf (through albert_core.formats' hf-tf reader)."""
    config = config_for(head, "groups2")  # 4 layers in 2 groups
    state = random_state(config, head, seed=13)
    source = TF_CLASSES[head](config)
    source.load_canonical_state(state, strict=True)
    source.save_pretrained(tmp_path / "pt")
    hf_tf = getattr(transformers, HEAD_SPECS[head].hf_tf_class).from_pretrained(tmp_path / "pt", from_pt=True)
    _sync_hf_tf_decoder_bias(hf_tf, state)
    hf_tf.save_pretrained(tmp_path / "h5")
    assert (tmp_path / "h5" / "tf_model.h5").is_file()
    ours = TF_CLASSES[head].from_pretrained(tmp_path / "h5")
    assert not ours.load_report.missing, ours.load_report.summary()
    got = ours.canonical_state()
    for key, value in state.items():
        np.testing.assert_allclose(got[key], value, atol=0, err_msg=key)
    inputs, labels = make_inputs(config, head), make_labels(config, head)
    _compare_hf_tf(ours, hf_tf, head, inputs, labels, "tf_model.h5")


@pytest.mark.parametrize("head", [Head.MASKED_LM, Head.TOKEN_CLASSIFICATION, Head.QUESTION_ANSWERING])
def test_all_ignored_labels_give_zero_gradients_in_both_backends(head):
    # A batch whose labels are all ignored (no masked token; answers outside the sequence) has zero gradients, in
    # PyTorch and TensorFlow alike (its loss is 0, not NaN: a contract test; transformers' PyTorch returns NaN here).
    from albert_pt import MODEL_CLASSES as PT_CLASSES

    config = config_for(head)
    state = random_state(config, head)
    inputs = make_inputs(config, head)
    if head is Head.QUESTION_ANSWERING:
        labels = {"start_positions": np.array([50, 99]), "end_positions": np.array([70, 64])}  # clamped, ignored
    else:
        labels = {"labels": np.full(inputs["input_ids"].shape, -100, dtype=np.int64)}
    pt = PT_CLASSES[head](config)
    pt.load_canonical_state(state, strict=True)
    pt.eval()
    pt_loss = pt(**{k: torch.from_numpy(v) for k, v in {**inputs, **labels}.items()}).loss
    pt_loss.backward()
    assert pt_loss.item() == 0.0
    assert all(p.grad is None or torch.count_nonzero(p.grad) == 0 for p in pt.parameters())
    tf_model = TF_CLASSES[head](config)
    tf_model.load_canonical_state(state, strict=True)
    variables = tf_model.trainable_variables
    with tf.GradientTape() as tape:
        tf_loss = _tf_call(tf_model, inputs, labels).loss
    assert float(tf_loss) == 0.0
    for variable, grad in zip(variables, tape.gradient(tf_loss, variables)):
        assert grad is None or not np.any(tf.convert_to_tensor(grad).numpy()), variable.path
