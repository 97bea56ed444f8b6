"""Multiple choice, RACE style (albert_core.tasks.multiple_choice): a hand-built example, and the rows against
transformers' fast tokenizer on (passage, question+option) pairs with ``truncation="only_first"`` (and
``"longest_first"`` where the question alone overflows)."""

from __future__ import annotations

import numpy as np
import pytest

from albert_core.errors import AlbertWarning, InputError, UsageError
from albert_core.tasks import join_question_option, label_id, prepare_multiple_choice
import task_fixtures as fx

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()


def test_hand_built_example():
    tok = fx.ours()
    passage, question = "the king sat", "who sat ?"
    options = ["the king", "the queen"]
    batch = prepare_multiple_choice(tok, [passage], [question], [options], ["B"], max_length=32)
    assert batch["labels"].tolist() == [1]
    assert batch["input_ids"].shape == batch["token_type_ids"].shape == batch["attention_mask"].shape == (1, 2, 32)
    for c, option in enumerate(options):
        a = tok.encode(passage, add_special_tokens=False)
        b = tok.encode(f"{question} {option}", add_special_tokens=False)
        row = [tok.cls_token_id, *a, tok.sep_token_id, *b, tok.sep_token_id]
        pad = 32 - len(row)
        assert batch["input_ids"][0, c].tolist() == row + [tok.pad_token_id] * pad
        assert batch["token_type_ids"][0, c].tolist() == [0] * (len(a) + 2) + [1] * (len(b) + 1) + [0] * pad
        assert batch["attention_mask"][0, c].tolist() == [1] * len(row) + [0] * pad


def test_blank_convention():
    # RACE: the option replaces every "_" of the question; without a blank it is appended after a space
    assert join_question_option("The man was _ when he left _ .", "happy") == "The man was happy when he left happy ."
    assert join_question_option("What did he do?", "He left.") == "What did he do? He left."
    assert [label_id(x) for x in ("A", "b", "D", 2)] == [0, 1, 3, 2]


@pytest.fixture(scope="module")
def race_like():
    passages = fx.agreeing(fx.paragraphs(8, 6, start=400), minimum=4)[:4]
    questions = ["Who speaks _ first?", "What does the speaker want?", "The citizens are _ .", "Why?"]
    options = [["the king", "Marcius", "a citizen", "all"], ["bread", "corn", "war", "peace"],
               ["hungry", "resolved", "afraid", "idle"], ["because", "it is cheap", "no reason", "the gods"]]
    return passages, questions, options


@pytest.mark.parametrize("max_length", [24, 48, 512])
def test_rows_match_fast_tokenizer_only_first(race_like, max_length):
    passages, questions, options = race_like
    batch = prepare_multiple_choice(fx.ours(), passages, questions, options, ["A", "B", "C", "D"],
                                    max_length=max_length, padding="max_length")
    assert batch["labels"].tolist() == [0, 1, 2, 3]
    firsts = [p for p in passages for _ in range(4)]
    seconds = fx.agreeing([join_question_option(q, o) for q, opts in zip(questions, options) for o in opts],
                          minimum=16)
    assert len(seconds) == 16
    fast = fx.hf_fast()(firsts, seconds, truncation="only_first", max_length=max_length, padding="max_length")
    expected = np.asarray(fast["input_ids"]).reshape(4, 4, max_length)
    assert batch["input_ids"].tolist() == expected.tolist()
    assert batch["token_type_ids"].tolist() == np.asarray(fast["token_type_ids"]).reshape(4, 4, -1).tolist()
    assert batch["attention_mask"].tolist() == np.asarray(fast["attention_mask"]).reshape(4, 4, -1).tolist()
    if max_length == 24:  # the passages really were cut
        assert (batch["attention_mask"].sum(-1) == 24).all()


def test_long_question_falls_back_to_longest_first(race_like):
    passages, _, _ = race_like
    question = " ".join(["who speaks first"] * 12)
    with pytest.warns(AlbertWarning, match="both the passage and the question are cut"):
        batch = prepare_multiple_choice(fx.ours(), passages[:1], [question], [["a", "b"]], max_length=20,
                                        padding="longest")
    fast = fx.hf_fast()([passages[0]] * 2, [f"{question} a", f"{question} b"], truncation="longest_first",
                        max_length=20)
    assert batch["input_ids"][0].tolist() == fast["input_ids"]
    assert "labels" not in batch


@pytest.mark.parametrize("args,kwargs,error,match", [
    ((["p"], ["q"], [["a", "b"]], ["C"]), {}, InputError, "names choice 2, but there are 2 options"),
    ((["p"], ["q"], [["a", "b"]], ["AB"]), {}, InputError, "must be a letter"),
    ((["p", "p"], ["q", "q"], [["a", "b"], ["a"]]), {}, InputError, "same number of options"),
    ((["p"], ["q", "q"], [["a"]]), {}, InputError, "1 passages, 2 questions"),
    ((["p"], ["q"], [["a"]], ["A", "B"]), {}, InputError, "2 labels for 1"),
    (("p", ["q"], [["a"]]), {}, InputError, "passages must be a list"),
    ((["p"], ["q"], [[]]), {}, InputError, "non-empty list"),
    ((["p"], ["q"], [["a"]]), {"padding": False}, UsageError, "padding must be"),
    ((["p"], ["q"], [["a"]]), {"max_length": 2}, UsageError, "max_length must be"),
])
def test_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        prepare_multiple_choice(fx.ours(), *args, **kwargs)
