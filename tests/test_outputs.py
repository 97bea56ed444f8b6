"""Output containers: named fields, tuple access skipping unset fields, and tf.nest compatibility."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from albert_core.outputs import BaseModelOutput, PreTrainingOutput, QuestionAnsweringOutput


def test_named_and_positional_access_skip_unset_fields():
    logits, sop = np.ones((1, 3, 5)), np.zeros((1, 2))
    out = PreTrainingOutput(prediction_logits=logits, sop_logits=sop)
    assert dataclasses.is_dataclass(out)
    assert out.loss is None and "loss" not in out
    assert out[0] is logits and out[1] is sop  # loss is unset, so index 0 is the first set field
    assert out["sop_logits"] is sop
    assert list(out.keys()) == ["prediction_logits", "sop_logits"]
    assert len(out.to_tuple()) == 2
    with pytest.raises(KeyError):
        out["loss"]


def test_setting_a_field_keeps_declaration_order():
    out = QuestionAnsweringOutput(start_logits=np.zeros(2), end_logits=np.ones(2))
    out.loss = np.float32(1.5)
    assert list(out.keys()) == ["loss", "start_logits", "end_logits"]
    assert out[0] == np.float32(1.5)


def test_rebuild_from_pairs_as_tf_nest_does():
    out = BaseModelOutput(last_hidden_state=np.ones((1, 2, 3)), pooler_output=np.zeros((1, 3)))
    rebuilt = BaseModelOutput((k, v) for k, v in out.items())
    assert list(rebuilt.keys()) == ["last_hidden_state", "pooler_output"]
    assert rebuilt.pooler_output is out.pooler_output


def test_tf_nest_round_trip():
    tf = pytest.importorskip("tensorflow")
    out = BaseModelOutput(last_hidden_state=tf.ones((1, 2)), pooler_output=tf.zeros((1, 2)))
    doubled = tf.nest.map_structure(lambda t: t * 2, out)
    assert isinstance(doubled, BaseModelOutput)
    np.testing.assert_array_equal(doubled.last_hidden_state.numpy(), np.full((1, 2), 2.0))
