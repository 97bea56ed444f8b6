"""The task-facing tokenizer API (issue 12, item 1) against Hugging Face's tokenizers.

Oracles: ``transformers.AlbertTokenizer`` (slow) for ids, masks, lengths, added tokens and ``decode``;
``transformers.AlbertTokenizerFast`` built from the same ``spiece.model`` for overflow windows, sequence ids,
word ids and offsets. The fast tokenizer's ids differ from the slow ones on some texts (see
``test_tokenizer.py::test_slow_fast_disagreements_are_pinned``: white space around special tokens, ALBERT's symbols
inside words such as ``a.b``, white-space-only text), so every comparison with the fast tokenizer runs only on
inputs where each text's ids (without special tokens) are equal in the slow and the fast tokenizer;
:func:`_agree` is that test (hypothesis counts only the examples that pass it towards ``max_examples``).

Texts are random stretches of the tiny-shakespeare corpus.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from albert_core.errors import TokenizerError, UsageError
from albert_core.tokenizer import AlbertTokenizer, BatchEncoding, Encoding

from spm_fixtures import corpus_lines, make_spiece_model

transformers = pytest.importorskip("transformers")
from transformers.utils import logging as hf_logging  # noqa: E402

hf_logging.set_verbosity_error()

LINES = corpus_lines(4000)
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def spiece(tmp_path_factory) -> str:
    return str(make_spiece_model(tmp_path_factory.mktemp("spm_tasks"), vocab_size=1000))


@pytest.fixture(scope="module")
def tok(spiece) -> AlbertTokenizer:
    return AlbertTokenizer(spiece)


@pytest.fixture(scope="module")
def slow(spiece):
    return transformers.AlbertTokenizer(spiece)


@pytest.fixture(scope="module")
def fast(spiece):
    return transformers.AlbertTokenizerFast(vocab_file=spiece, from_slow=True)


def _text(start: int, n_lines: int) -> str:
    return " ".join(LINES[start % len(LINES) : start % len(LINES) + n_lines])


corpus_text = st.builds(_text, st.integers(0, len(LINES) - 1), st.integers(1, 6))
short_text = st.builds(_text, st.integers(0, len(LINES) - 1), st.just(1))


def _agree(slow, fast, *texts) -> bool:
    """Whether the slow and the fast tokenizer give the same content ids for every text."""
    return all(slow.encode(t, add_special_tokens=False) == fast.encode(t, add_special_tokens=False) for t in texts)


def _fast_span(text: str, span) -> tuple[int, int]:
    """A fast-tokenizer span without its leading white space (fast gives a piece's ``▁`` the space before it;
    ours start at the word's first character)."""
    s, e = span
    while s < e and text[s].isspace():
        s += 1
    return (s, e)


# ---------------------------------------------------------------------------------------------------- inputs


def test_text_and_text_pair_in_every_form_match_slow(tok, slow):
    a = ["First Citizen: Before we proceed any further, hear me speak.", "Speak, speak."]
    b = ["You are all resolved rather to die than to famish?", "Resolved. resolved."]
    keys = ("input_ids", "token_type_ids", "attention_mask", "special_tokens_mask", "length")
    kw = dict(padding=True, return_special_tokens_mask=True, return_length=True)
    ref = slow(text=a, text_pair=b, **kw)
    ref_length = [len(r) for r in ref["input_ids"]]  # the fast tokenizer's (and ours): the padded length
    for ours in (tok(text=a, text_pair=b, **kw), tok(a, b, **kw), tok(list(zip(a, b)), **kw),
                 tok(text=[tuple(p) for p in zip(a, b)], **kw), tok.batch_encode_plus(list(zip(a, b)), **kw)):
        for key in keys[:-1]:
            assert ours[key] == ref[key], key
        assert ours["length"] == ref_length
    single = tok(text=a[0], text_pair=b[0], return_special_tokens_mask=True)
    ref_single = slow(text=a[0], text_pair=b[0], return_special_tokens_mask=True)
    for key in keys[:-1]:
        assert single[key] == ref_single[key]
    assert tok.encode(a[0], b[0]) == slow.encode(a[0], b[0])
    assert tok.encode_plus(a[0], b[0])["input_ids"] == slow.encode_plus(a[0], b[0])["input_ids"]
    # without padding the slow tokenizer's batch lengths are the row lengths too
    assert tok(a, return_length=True)["length"] == slow(a, return_length=True)["length"]


@pytest.mark.parametrize("truncation", ["longest_first", "only_first", "only_second", True])
@pytest.mark.parametrize("truncation_side", ["right", "left"])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_truncation_strategies_and_sides_match_slow(spiece, truncation, truncation_side, padding_side):
    pairs = [(_text(i * 37, 1 + i % 3), _text(i * 53 + 5, 1 + (i + 1) % 3)) for i in range(8)]
    ours = AlbertTokenizer(spiece, truncation_side=truncation_side, padding_side=padding_side)
    ref = transformers.AlbertTokenizer(spiece, truncation_side=truncation_side, padding_side=padding_side)
    kw = dict(truncation=truncation, max_length=24, padding="max_length", return_special_tokens_mask=True)
    compared = 0
    for a, b in pairs:
        try:
            got = ours(a, b, **kw)
        except TokenizerError:  # the one sequence that may be cut is too short: we raise, HF logs and overflows
            continue
        expected = ref(a, b, **kw)
        for key in ("input_ids", "token_type_ids", "attention_mask", "special_tokens_mask"):
            assert got[key] == expected[key], (key, a, b)
        compared += 1
    assert compared >= 3
    # the same sides given as call keywords to a default tokenizer
    default = AlbertTokenizer(spiece)
    a, b = pairs[0]
    if truncation != "only_first":
        got = default(a, b, truncation_side=truncation_side, padding_side=padding_side, **kw)
        assert got["input_ids"] == ref(a, b, **kw)["input_ids"]


def test_sides_are_saved_loaded_and_validated(spiece, tmp_path):
    ours = AlbertTokenizer(spiece, padding_side="left", truncation_side="left")
    ours.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert config["padding_side"] == "left" and config["truncation_side"] == "left"
    ref = transformers.AlbertTokenizer.from_pretrained(tmp_path)
    assert ref.padding_side == "left" and ref.truncation_side == "left"
    again = AlbertTokenizer.from_pretrained(tmp_path)
    assert (again.padding_side, again.truncation_side) == ("left", "left")
    texts = ["Speak, speak.", "You are all resolved rather to die than to famish?"]
    kw = dict(padding=True, truncation=True, max_length=10)
    assert again(texts, **kw)["input_ids"] == ref(texts, **kw)["input_ids"]
    assert again(texts, **kw)["input_ids"][0][0] == again.pad_token_id
    # HF writes them too: we read them back
    transformers.AlbertTokenizer(spiece, padding_side="left").save_pretrained(tmp_path / "hf")
    assert AlbertTokenizer.from_pretrained(tmp_path / "hf").padding_side == "left"
    with pytest.raises(UsageError, match="padding_side"):
        AlbertTokenizer(spiece, padding_side="middle")
    with pytest.raises(UsageError, match="truncation_side"):
        ours.truncation_side = "top"
    config["padding_side"] = "middle"
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(TokenizerError, match="tokenizer_config.json.*padding_side"):
        AlbertTokenizer.from_pretrained(tmp_path)


# ---------------------------------------------------------------------------------------------- windows (QA)


@settings(max_examples=25, **SETTINGS)
@given(question=short_text, context=corpus_text, max_length=st.integers(20, 60), stride=st.integers(0, 8),
       strategy=st.sampled_from(["only_second", "only_first"]), side=st.sampled_from(["right", "left"]),
       offsets=st.booleans())
def test_overflow_windows_match_fast(tok, slow, fast, question, context, max_length, stride, strategy, side,
                                     offsets):
    # QA layout: question + context (only_second); the mirrored layout for padding on the left (only_first)
    first, second = (question, context) if strategy == "only_second" else (context, question)
    assume(_agree(slow, fast, first, second))
    kept = max_length - 3 - len(slow.encode(question, add_special_tokens=False))
    assume(kept > stride)
    kw = dict(truncation=strategy, max_length=max_length, stride=stride, return_overflowing_tokens=True,
              padding="max_length", return_offsets_mapping=offsets, return_special_tokens_mask=True)
    fast.truncation_side = side
    try:
        expected = fast([first, first], [second, second[: len(second) // 2] or "x"], **kw)
    finally:
        fast.truncation_side = "right"
    assume(_agree(slow, fast, second[: len(second) // 2] or "x"))
    got = tok([first, first], [second, second[: len(second) // 2] or "x"], truncation_side=side, **kw)
    assert got["overflow_to_sample_mapping"] == expected["overflow_to_sample_mapping"]
    for key in ("input_ids", "token_type_ids", "attention_mask", "special_tokens_mask"):
        assert got[key] == expected[key], key
    texts = [(first, second), (first, second[: len(second) // 2] or "x")]
    for row in range(len(got["input_ids"])):
        assert got.sequence_ids(row) == expected.sequence_ids(row)
        assert got.word_ids(row) == expected.word_ids(row)
        if offsets:
            pair = texts[got["overflow_to_sample_mapping"][row]]
            pieces = tok.convert_ids_to_tokens(got["input_ids"][row])
            for k, (span, ref_span, seq) in enumerate(zip(got["offset_mapping"][row], expected["offset_mapping"][row],
                                                          got.sequence_ids(row))):
                if seq is None or pieces[k] == "\u2581":
                    assert seq is not None or span == (0, 0)
                    continue
                assert span == _fast_span(pair[seq], ref_span), (row, k, pieces[k])


def test_windows_of_a_single_text_and_their_overlap(tok, slow, fast):
    text = _text(100, 8)
    assert _agree(slow, fast, text)
    kw = dict(truncation=True, max_length=32, stride=6, return_overflowing_tokens=True, return_offsets_mapping=True)
    got, expected = tok(text, **kw), fast(text, **kw)
    assert len(got["input_ids"]) > 3 and got["input_ids"] == expected["input_ids"]
    assert got["overflow_to_sample_mapping"] == expected["overflow_to_sample_mapping"] == [0] * len(got["input_ids"])
    rows = got["input_ids"]
    for prev, nxt in zip(rows, rows[1:]):  # consecutive windows share exactly `stride` content tokens
        assert prev[1:-1][-6:] == nxt[1:-1][:6]
    assert sum(len(r) - 2 for r in rows) - 6 * (len(rows) - 1) == len(slow.encode(text, add_special_tokens=False))
    # windows padded for tensors
    arr = tok([text, "Speak."], padding=True, return_tensors="np", **kw)
    assert arr["input_ids"].shape[0] == len(rows) + 1 and arr["overflow_to_sample_mapping"].tolist()[-1] == 1
    short = fast("Speak.").word_ids()
    assert arr.word_ids(len(rows)) == short + [None] * (arr["input_ids"].shape[1] - len(short))


def test_window_errors_and_no_silent_truncation(tok):
    text = _text(10, 4)
    with pytest.raises(UsageError, match="stride=40 must be smaller"):
        tok(text, truncation=True, max_length=30, stride=40, return_overflowing_tokens=True)
    with pytest.raises(UsageError, match="stride"):
        tok(text, truncation=True, max_length=30, stride=-1)
    with pytest.raises(UsageError, match="only_first' or 'only_second"):
        tok(text, text, truncation="longest_first", max_length=30, return_overflowing_tokens=True)
    # overflow without truncation: one whole row per input, with a warning, never cut
    with pytest.warns(UserWarning, match="truncation is off"):
        enc = tok([text, "a"], max_length=10, return_overflowing_tokens=True, padding_side="left", padding=True)
    assert len(enc["input_ids"][0]) == len(tok.encode(text)) > 10
    assert enc["overflow_to_sample_mapping"] == [0, 1]


# ------------------------------------------------------------------------------------------ word ids (NER)


@settings(max_examples=30, **SETTINGS)
@given(text=corpus_text, pair=short_text)
def test_word_and_sequence_ids_match_fast(tok, slow, fast, text, pair):
    assume(_agree(slow, fast, text, pair))
    got, expected = tok([text, pair], [pair, text]), fast([text, pair], [pair, text])
    for row in range(2):
        assert got["input_ids"][row] == expected["input_ids"][row]
        assert got.word_ids(row) == expected.word_ids(row)
        assert got.sequence_ids(row) == expected.sequence_ids(row)
    single = tok(text, return_offsets_mapping=True)
    ref = fast(text, return_offsets_mapping=True)
    assert single.word_ids() == ref.word_ids()
    for token in range(len(single["input_ids"])):
        assert single.token_to_word(token) == ref.token_to_word(token)
    pieces = tok.convert_ids_to_tokens(single["input_ids"])
    for char in range(0, len(text), 7):
        if not text[char].isspace():
            # fast gives a word-initial lone '▁' piece the word's first character; ours, the piece after it
            expected = ref.char_to_token(char)
            expected += pieces[expected] == "\u2581"
            assert single.char_to_token(char) == expected, char


@settings(max_examples=30, **SETTINGS)
@given(text=corpus_text, cut=st.integers(0, 3))
def test_split_into_words_matches_slow_ids_and_fast_words(tok, slow, fast, text, cut):
    words = text.split()[cut:]
    assume(words)
    assume(_agree(slow, fast, *words))
    half = words[: max(1, len(words) // 2)]
    got = tok([words, half], is_split_into_words=True, return_offsets_mapping=True, padding=True)
    assert got["input_ids"] == slow([words, half], is_split_into_words=True, padding=True)["input_ids"]
    expected = fast([words, half], is_split_into_words=True, return_offsets_mapping=True, padding=True)
    assert got["input_ids"] == expected["input_ids"]
    for row in range(2):
        assert got.word_ids(row) == expected.word_ids(row)
        pieces = tok.convert_ids_to_tokens(got["input_ids"][row])
        for span, ref_span, word, piece in zip(got["offset_mapping"][row], expected["offset_mapping"][row],
                                               got.word_ids(row), pieces):
            if word is not None and piece != "\u2581":  # spans within each word (a lone '▁' has none in ours)
                assert span == _fast_span(words[word] if row == 0 else half[word], ref_span)


def test_split_into_words_single_pairs_and_truncation(tok, slow, fast):
    a, b = "Before we proceed any further".split(), "hear me speak".split()
    got, expected = tok(a, b, is_split_into_words=True), fast(a, b, is_split_into_words=True)
    assert got["input_ids"] == slow(a, b, is_split_into_words=True)["input_ids"] == expected["input_ids"]
    assert got.word_ids() == expected.word_ids() and got.sequence_ids() == expected.sequence_ids()
    batch = tok([(a, b)], is_split_into_words=True)
    assert batch["input_ids"] == [expected["input_ids"]]
    # windows over pre-split words keep each token's word
    kw = dict(is_split_into_words=True, truncation="only_second", max_length=12, stride=2,
              return_overflowing_tokens=True)
    long_b = _text(300, 3).split()
    assert _agree(slow, fast, *long_b, *a)
    got, expected = tok([a], [long_b], **kw), fast([a], [long_b], **kw)
    assert got["input_ids"] == expected["input_ids"] and len(got["input_ids"]) > 2
    assert [got.word_ids(i) for i in range(len(got["input_ids"]))] == [
        expected.word_ids(i) for i in range(len(got["input_ids"]))]
    with pytest.raises(TokenizerError, match="list of words"):
        tok("not split", is_split_into_words=True, text_pair=5)
    with pytest.raises(TokenizerError, match="mixes"):
        tok(["single", ("a", "pair")])


# -------------------------------------------------------------------------------------------- pad + collators


def test_pad_matches_slow(tok, slow):
    texts = [_text(i * 11, 1 + i % 3) for i in range(5)]
    for kw in (dict(), dict(padding="max_length", max_length=80), dict(pad_to_multiple_of=8),
               dict(padding_side="left"), dict(padding=False), dict(return_attention_mask=False)):
        ours_features = [dict(tok(t, return_special_tokens_mask=True)) for t in texts]
        ref_features = [dict(slow(t, return_special_tokens_mask=True)) for t in texts]
        assert ours_features == ref_features
        assert dict(tok.pad(ours_features, **kw)) == dict(slow.pad(ref_features, **kw)), kw
    arr = tok.pad([dict(tok(t)) for t in texts], return_tensors="np")
    ref = slow.pad([dict(slow(t)) for t in texts], return_tensors="np")
    for key in ref:
        np.testing.assert_array_equal(arr[key], ref[key])
    with pytest.raises(UsageError, match="padding_side"):
        tok.pad([dict(tok("a"))], padding_side="middle")
    with pytest.raises(UsageError, match="input_ids"):
        tok.pad([{"labels": [1]}])
    with pytest.raises(TokenizerError, match="different lengths"):
        tok.pad([dict(tok(t)) for t in texts], padding=False, return_tensors="np")


def test_real_collators_work_with_our_tokenizer(tok, slow):
    # numpy tensors keep torch out of this module's run time; the collators' code paths are the same
    from transformers import (DataCollatorForLanguageModeling, DataCollatorForTokenClassification,
                              DataCollatorWithPadding)

    texts = [_text(i * 13, 1 + i % 2) for i in range(4)]

    def same(got, expected, what):
        assert set(got) == set(expected), what
        for key in expected:
            assert np.asarray(got[key]).dtype == np.asarray(expected[key]).dtype, (what, key)
            np.testing.assert_array_equal(got[key], expected[key], err_msg=f"{what} {key}")

    # sequence classification: labels pass through the padding
    features = [{**tok(t), "label": i % 2} for i, t in enumerate(texts)]
    ref_features = [{**slow(t), "label": i % 2} for i, t in enumerate(texts)]
    for kw in (dict(), dict(pad_to_multiple_of=8), dict(padding="max_length", max_length=90)):
        got = DataCollatorWithPadding(tok, return_tensors="np", **kw)(features)
        assert "labels" in got
        same(got, DataCollatorWithPadding(slow, return_tensors="np", **kw)(ref_features), kw)
    # token classification: labels aligned with word_ids (first sub-word labelled), padded with -100
    ner = []
    for t in texts:
        enc = tok(t.split(), is_split_into_words=True)
        words = enc.word_ids()
        labels = [-100 if w is None or (k and words[k - 1] == w) else w % 3 for k, w in enumerate(words)]
        ner.append({**enc, "labels": labels})
    for side in ("right", "left"):
        tok.padding_side = slow.padding_side = side
        try:
            got = DataCollatorForTokenClassification(tok, return_tensors="np")(ner)
            expected = DataCollatorForTokenClassification(slow, return_tensors="np")(ner)
        finally:
            tok.padding_side = slow.padding_side = "right"
        same(got, expected, side)
    # masked LM: the same seed gives the same masks
    lm_features = [{"input_ids": tok(t)["input_ids"]} for t in texts]
    np.random.seed(0)
    got = DataCollatorForLanguageModeling(tok, mlm_probability=0.3, return_tensors="np")(lm_features)
    np.random.seed(0)
    expected = DataCollatorForLanguageModeling(slow, mlm_probability=0.3, return_tensors="np")(lm_features)
    same(got, expected, "mlm")
    assert (got["labels"] != -100).any()


# ------------------------------------------------------------------------------------------------ added tokens


def _both_add(tokenizers, *, tokens=None, special=None):
    counts = []
    for t in tokenizers:
        counts.append(t.add_tokens(tokens) if tokens is not None else t.add_special_tokens(special))
    return counts


def test_added_tokens_match_slow_and_survive_save_load(spiece, tmp_path):
    ours, ref = AlbertTokenizer(spiece), transformers.AlbertTokenizer(spiece)
    # "." is already a piece: it keeps its id but is now split out as an added token
    c1 = _both_add((ours, ref), tokens=["Romeo_X", "<city>", "the", "<city>", "."])
    c2 = _both_add((ours, ref), special={"additional_special_tokens": ["<ent>", "[MASK]"]})
    c3 = _both_add((ours, ref), tokens=[transformers.AddedToken("<tight>", lstrip=True, rstrip=True)])
    assert c1[0] == c1[1] == 3 and c2[0] == c2[1] and c3[0] == c3[1]
    assert len(ours) == len(ref) and ours.get_vocab() == ref.get_vocab()
    assert ours.all_special_tokens == ref.all_special_tokens and ours.all_special_ids == ref.all_special_ids
    assert ours.additional_special_tokens == ref.additional_special_tokens
    assert ours.special_tokens_map == {k: str(v) if not isinstance(v, list) else v
                                       for k, v in ref.special_tokens_map.items()}
    texts = ["Thy ROMEO_X of the <city>, <ent>the king<ent> and", "a <tight>  b  <tight>c", "romeo_x<city>thee",
             "the other [MASK] mother"]
    ids_before = []
    for text in texts:
        ids = ours.encode(text)
        assert ids == ref.encode(text), text
        assert ours.tokenize(text) == ref.tokenize(text)
        ids_before.append(ids)
        for skip in (False, True):
            assert ours.decode(ids, skip_special_tokens=skip) == ref.decode(ids, skip_special_tokens=skip)
        assert ours.get_special_tokens_mask(ids, already_has_special_tokens=True) == ref.get_special_tokens_mask(
            ids, already_has_special_tokens=True)
    assert max(ids_before[0]) >= ours.vocab_size  # ids after the SentencePiece vocabulary
    ours.save_pretrained(tmp_path / "ours")
    loaded_ref = transformers.AlbertTokenizer.from_pretrained(tmp_path / "ours")
    loaded = AlbertTokenizer.from_pretrained(tmp_path / "ours")
    ref.save_pretrained(tmp_path / "ref")
    from_ref = AlbertTokenizer.from_pretrained(tmp_path / "ref")
    for text, ids in zip(texts, ids_before):
        assert loaded.encode(text) == loaded_ref.encode(text) == from_ref.encode(text) == ids
    assert loaded.all_special_tokens == ref.all_special_tokens == from_ref.all_special_tokens
    assert len(loaded) == len(from_ref) == len(ref)
    # word ids: an added token is a word of its own
    enc = ours("thy <city> king")
    at = enc["input_ids"].index(ours.convert_tokens_to_ids("<city>"))
    words = enc.word_ids()
    assert words[1] == 0 and words[at - 1] < words[at] < words[at + 1]


def test_added_role_token_and_errors(spiece):
    ours, ref = AlbertTokenizer(spiece), transformers.AlbertTokenizer(spiece)
    assert ours.add_special_tokens({"cls_token": "<cls2>"}) == ref.add_special_tokens({"cls_token": "<cls2>"})
    assert ours.cls_token == "<cls2>" and ours.cls_token_id == ref.cls_token_id
    assert ours.encode("to be") == ref.encode("to be")
    with pytest.raises(UsageError, match="unknown key"):
        ours.add_special_tokens({"sparkle_token": "*"})
    with pytest.raises(UsageError, match="new_tokens"):
        ours.add_tokens(5)
    with pytest.raises(UsageError, match="single_word"):
        ours.add_tokens(transformers.AddedToken("<w>", single_word=True))


# ------------------------------------------------------------------------------------------------------ decode


def test_decode_where_skipped_tokens_meet_spaces(tok, slow):
    # an unknown character before a comma: '▁in', '▁', '<unk>', ',' -- skipping '<unk>' leaves the lone '▁'
    ids = slow.encode("He was born in \u4e2d, and died.")
    assert tok.encode("He was born in \u4e2d, and died.") == ids and tok.unk_token_id in ids
    assert slow.decode(ids, skip_special_tokens=True) == "he was born in , and died."
    assert tok.decode(ids, skip_special_tokens=True) == "he was born in , and died."
    assert slow.clean_up_tokenization_spaces is False and tok.clean_up_tokenization_spaces is False
    for clean in (None, True, False):
        for skip in (True, False):
            assert tok.decode(ids, skip, clean) == slow.decode(ids, skip_special_tokens=skip,
                                                               clean_up_tokenization_spaces=clean)
    assert tok.batch_decode([ids, ids[:3]], skip_special_tokens=True) == slow.batch_decode(
        [ids, ids[:3]], skip_special_tokens=True)


@settings(max_examples=60, **SETTINGS)
@given(ids=st.lists(st.one_of(st.integers(0, 12), st.integers(0, 999)), max_size=25), skip=st.booleans(),
       clean=st.sampled_from([None, True, False]), spaces=st.booleans())
def test_decode_matches_slow_on_random_ids(tok, slow, ids, skip, clean, spaces):
    assert tok.decode(ids, skip_special_tokens=skip, clean_up_tokenization_spaces=clean,
                      spaces_between_special_tokens=spaces) == slow.decode(
        ids, skip_special_tokens=skip, clean_up_tokenization_spaces=clean, spaces_between_special_tokens=spaces)


@settings(max_examples=40, **SETTINGS)
@given(ids=st.lists(st.integers(0, 1003), max_size=20), skip=st.booleans(), spaces=st.booleans())
def test_decode_with_added_tokens_matches_slow(spiece, ids, skip, spaces):
    ours, ref = _added_pair(spiece)
    assert ours.decode(ids, skip_special_tokens=skip, spaces_between_special_tokens=spaces) == ref.decode(
        ids, skip_special_tokens=skip, spaces_between_special_tokens=spaces)


_ADDED: dict[str, tuple] = {}


def _added_pair(spiece):
    if spiece not in _ADDED:
        ours, ref = AlbertTokenizer(spiece), transformers.AlbertTokenizer(spiece)
        for t in (ours, ref):
            t.add_tokens(["<city>", "<town>"])
            t.add_special_tokens({"additional_special_tokens": ["<ent>", "<rel>"]})
        assert len(ours) == len(ref) == 1004
        _ADDED[spiece] = (ours, ref)
    return _ADDED[spiece]


# ------------------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize("kwargs, argument", [
    (dict(padding_side="middle"), "padding_side"),
    (dict(truncation_side="up"), "truncation_side"),
    (dict(stride=-2), "stride"),
    (dict(stride=1.5), "stride"),
    (dict(return_length="yes"), "return_length"),
    (dict(return_overflowing_tokens=1), "return_overflowing_tokens"),
    (dict(is_split_into_words="no"), "is_split_into_words"),
    (dict(padding="sideways"), "padding"),
    (dict(truncation="only_third"), "truncation"),
    (dict(return_tensors="jax"), "return_tensors"),
])
def test_bad_keyword_values_name_the_argument(tok, kwargs, argument):
    with pytest.raises(UsageError, match=argument) as info:
        tok("Speak, speak.", **kwargs)
    assert isinstance(info.value, TokenizerError)


def test_result_maps_validate(tok):
    enc = tok(["a b", "c"])
    assert isinstance(enc, BatchEncoding) and BatchEncoding is Encoding
    with pytest.raises(UsageError, match="out of range"):
        enc.word_ids(2)
    with pytest.raises(UsageError, match="return_offsets_mapping"):
        enc.char_to_token(0, 0)
    with pytest.raises(UsageError, match="tokenizer call"):
        tok.pad([dict(tok("a"))]).word_ids(0)
    with pytest.raises(UsageError, match="batch_index must be 0"):
        tok("a b").word_ids(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tok("a b", return_tensors="np").word_ids(0)[0] is None
