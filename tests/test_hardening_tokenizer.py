"""Tokenizer hardening: nothing silently wrong, every bad input a TokenizerError that names the problem.

Truncation never empties the one sequence it may cut; offsets stay aligned after spacing diacritics and lone
combining marks; lone surrogates and empty batches are named; decode takes arrays and tensors; a broken
``tokenizer_config.json`` names the file and the field.
"""

from __future__ import annotations

import json
import shutil
import unicodedata

import numpy as np
import pytest

from albert_core.errors import TokenizerError
from albert_core.tokenizer import AlbertTokenizer

from spm_fixtures import make_spiece_model

transformers = pytest.importorskip("transformers")
from transformers.utils import logging as hf_logging  # noqa: E402

hf_logging.set_verbosity_error()

OPTIONS = [dict(do_lower_case=lc, keep_accents=ka) for lc in (True, False) for ka in (False, True)]


@pytest.fixture(scope="module")
def spiece(tmp_path_factory) -> str:
    return str(make_spiece_model(tmp_path_factory.mktemp("spm1000"), vocab_size=1000))


@pytest.fixture(scope="module")
def tok(spiece) -> AlbertTokenizer:
    return AlbertTokenizer(spiece)


# ---------------------------------------------------------------------------------------------------- truncation


def _content_length(tok, text) -> int:
    return len(tok.encode(text, add_special_tokens=False))


def test_truncation_that_would_empty_the_cut_sequence_raises(tok, spiece):
    first, second = "Before we proceed any further", "hear me speak"
    la, lb = _content_length(tok, first), _content_length(tok, second)
    assert la > 1 and lb > 1
    hf = transformers.AlbertTokenizer(spiece)
    cases = [  # (pair, truncation, max_length, which sequence would be emptied)
        ((first, second), "only_second", 3 + la, "second"),  # exactly all of the second must go
        ((first, second), "only_second", 3 + la - 1, "second"),  # more than all of it
        ((first, second), "only_first", 3 + lb, "first"),
        ((first, None), "only_first", 2, "first"),
        ((first, None), "longest_first", 2, "first"),  # one sequence: the same rule as only_first
    ]
    for (a, b), truncation, max_length, which in cases:
        with pytest.raises(TokenizerError, match=f"the {which} sequence has .* which would leave nothing of it"):
            tok(a, b, truncation=truncation, max_length=max_length)
        # Hugging Face logs an error and returns the row untruncated, longer than asked
        assert len(hf(a, b, truncation=truncation, max_length=max_length)["input_ids"]) > max_length
    # one token left of the cut sequence is fine, and matches Hugging Face
    for truncation, max_length in (("only_second", 3 + la + 1), ("only_first", 3 + lb + 1)):
        ours = tok(first, second, truncation=truncation, max_length=max_length)
        assert ours["input_ids"] == hf(first, second, truncation=truncation, max_length=max_length)["input_ids"]
        assert len(ours["input_ids"]) == max_length


# -------------------------------------------------------------------------------------------------------- offsets

DIACRITIC_TEXTS = [
    "Romeo ¨ and Juliet",  # spacing diaeresis: NFKD gives " \u0308", a space added after spaces were collapsed
    "\u0301 enough",  # a lone combining mark before a space: dropping it leaves a leading space
    "a \u0301 b",
    "Romeo ¨and",
    "x´ y",
    "naïve ¨ café ˜ done",
    "¨ ¨ a ¨",
    "O Romeo, ¨ ¨ ¨ Romeo! wherefore art thou ¸ Romeo?",
    "tab\t¨\tand ¯ newline\n\u0301\u0302 end",
]


def _normalise(tok: AlbertTokenizer, text: str) -> str:
    """What the reference does to ``text`` before SentencePiece, then SentencePiece's own NFKC and spaces."""
    out = text.replace("``", '"').replace("''", '"')
    if not tok.keep_accents:
        out = "".join(c for c in unicodedata.normalize("NFKD", out) if not unicodedata.combining(c))
    if tok.do_lower_case:
        out = "".join(c.lower() for c in out)
    return unicodedata.normalize("NFKC", " ".join(out.split()))


def _check_against_text(tok, text, offsets, ids):
    special = set(tok.all_special_ids)
    pieces = tok.convert_ids_to_tokens(ids)
    prev_end = 0
    for (s, e), idx, piece in zip(offsets, ids, pieces):
        if idx in special:
            continue
        assert 0 <= prev_end <= s <= e <= len(text), (text, offsets)
        assert _normalise(tok, text[s:e]) == piece.replace("\u2581", ""), (text, text[s:e], piece, offsets)
        prev_end = e


@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: f"lc{int(o['do_lower_case'])}-ka{int(o['keep_accents'])}")
def test_offsets_after_spacing_diacritics_and_lone_marks(spiece, opts):
    tok = AlbertTokenizer(spiece, **opts)
    enc = tok(DIACRITIC_TEXTS, return_offsets_mapping=True)
    plain = tok(DIACRITIC_TEXTS)
    assert enc["input_ids"] == plain["input_ids"]
    for text, offsets, ids in zip(DIACRITIC_TEXTS, enc["offset_mapping"], enc["input_ids"]):
        _check_against_text(tok, text, offsets, ids)


def test_offsets_of_the_reported_examples(tok):
    for text, word, start in (("Romeo ¨ and Juliet", "and", 8), ("Romeo ¨ and Juliet", "Juliet", 12),
                              ("\u0301 enough", "enough", 2)):
        enc = tok(text, return_offsets_mapping=True, add_special_tokens=False)
        covering = [(s, e) for s, e in enc["offset_mapping"] if s >= start and e <= start + len(word) and e > s]
        assert covering and covering[0][0] == start and covering[-1][1] == start + len(word), enc["offset_mapping"]


def _fast_span(tok, text, span):
    """A fast-tokenizer span without the leading characters that normalise to nothing or to white space (the
    fast tokenizer gives a piece's ``▁`` the space before it; ours start at the first character of the word)."""
    s, e = span
    while s < e and _normalise(tok, text[s]) == "":
        s += 1
    return s, e if s < e else s


def test_offsets_match_the_fast_tokenizer_where_ids_agree(spiece):
    tok = AlbertTokenizer(spiece)
    fast = transformers.AlbertTokenizerFast(vocab_file=spiece, from_slow=True)
    compared = 0
    for text in DIACRITIC_TEXTS + ["First Citizen: Before we proceed any further, hear me speak."]:
        ours = tok(text, return_offsets_mapping=True, add_special_tokens=False)
        theirs = fast(text, return_offsets_mapping=True, add_special_tokens=False)
        if ours["input_ids"] != theirs["input_ids"]:
            continue
        pieces = tok.convert_ids_to_tokens(ours["input_ids"])
        for ours_span, fast_span, piece in zip(ours["offset_mapping"], theirs["offset_mapping"], pieces):
            if piece.replace("\u2581", "") and _normalise(tok, text[slice(*fast_span)]):
                assert ours_span == _fast_span(tok, text, fast_span), (text, piece, ours_span, fast_span)
                compared += 1
    assert compared >= 20


# ------------------------------------------------------------------------------- surrogates and empty batches


@pytest.mark.parametrize("call", [
    lambda t: t("\ud800"),
    lambda t: t(["fine", "a\udc00b"]),
    lambda t: t("fine", "caf\u00e9 \udbff"),
    lambda t: t.encode("x\ud800"),
    lambda t: t.tokenize("\ud800 y"),
    lambda t: t(["\ud800"], return_offsets_mapping=True),
    lambda t: t(["fine", "also fine"], ["ok", "not \udfff ok"]),  # among ASCII texts: the batch check must see it
], ids=["single", "batch", "pair", "encode", "tokenize", "offsets", "batch-of-pairs"])
def test_lone_surrogates_raise_a_tokenizer_error(tok, call):
    with pytest.raises(TokenizerError, match=r"lone surrogate U\+D[8-9A-F][0-9A-F]{2} at index \d+"):
        call(tok)


@pytest.mark.parametrize("args", [([],), ((),), ([], []), ([], None)], ids=["list", "tuple", "pairs", "none"])
def test_empty_batch_raises_a_tokenizer_error(tok, args):
    with pytest.raises(TokenizerError, match="empty batch"):
        tok(*args)
    with pytest.raises(TokenizerError, match="empty batch"):
        tok(*args, return_tensors="np", padding=True)


# ------------------------------------------------------------------------------------------------------ decoding


def test_decode_accepts_sequences_arrays_and_tensors(tok):
    import tensorflow as tf
    import torch

    ids = tok.encode("hear me speak, Romeo")
    expected = tok.decode(ids)
    for value in (tuple(ids), np.array(ids), np.array(ids, dtype=np.int32), np.array(ids, dtype=np.uint16),
                  torch.tensor(ids), torch.tensor(ids, dtype=torch.int32), tf.constant(ids),
                  tf.constant(ids, dtype=tf.int64)):
        assert tok.decode(value) == expected, type(value)
        assert tok.decode(value, skip_special_tokens=True) == tok.decode(ids, skip_special_tokens=True)
    single = ids[1]
    for value in (np.int64(single), np.array(single), torch.tensor(single), tf.constant(single)):
        assert tok.decode(value) == tok.decode([single]), type(value)
    rows = tok(["hear me speak", "Romeo"], padding=True)["input_ids"]
    expected_rows = tok.batch_decode(rows)
    for value in (np.array(rows), torch.tensor(rows), tf.constant(rows), [np.array(r) for r in rows],
                  [torch.tensor(r) for r in rows], tuple(tuple(r) for r in rows)):
        assert tok.batch_decode(value) == expected_rows, type(value)


def test_decode_rejects_what_is_not_ids(tok):
    import tensorflow as tf
    import torch

    bad_decode = [np.array([[5, 6]]), torch.tensor([[5, 6]]), tf.constant([[5, 6]]), np.array([5.0, 6.0]),
                  torch.tensor([5.5]), np.array([True]), np.array(5.0), "5 6", b"\x05"]
    for value in bad_decode:
        with pytest.raises(TokenizerError):
            tok.decode(value)
    bad_batch = [np.array([5, 6]), torch.tensor([5, 6]), tf.constant([5, 6]), np.zeros((1, 2, 2), np.int64), 5]
    for value in bad_batch:
        with pytest.raises(TokenizerError):
            tok.batch_decode(value)


# --------------------------------------------------------------------------------------- tokenizer_config.json

BAD_FIELDS = [
    ("mask_token", None), ("mask_token", 4), ("mask_token", {"lstrip": True}), ("mask_token", {"content": 5}),
    ("pad_token", ""), ("pad_token", ["<pad>"]), ("cls_token", "\ud800"), ("unk_token", True),
    ("do_lower_case", "false"), ("do_lower_case", 1), ("do_lower_case", None), ("keep_accents", "yes"),
    ("remove_space", [True]), ("model_max_length", "512"), ("model_max_length", -1), ("model_max_length", 1.5),
    ("model_max_length", True), ("model_max_length", [512]),
]


def _pretrained_dir(tmp_path, spiece, config_text: str):
    directory = tmp_path / "tok"
    directory.mkdir()
    shutil.copyfile(spiece, directory / "spiece.model")
    (directory / "tokenizer_config.json").write_text(config_text, encoding="utf-8")
    return directory


@pytest.mark.parametrize("field,value", BAD_FIELDS, ids=[f"{k}={v!r}" for k, v in BAD_FIELDS])
def test_wrongly_typed_fields_name_the_file_and_the_field(tmp_path, spiece, field, value):
    directory = _pretrained_dir(tmp_path, spiece, json.dumps({"do_lower_case": True, field: value}))
    with pytest.raises(TokenizerError) as info:
        AlbertTokenizer.from_pretrained(directory)
    message = str(info.value)
    assert "tokenizer_config.json" in message and repr(field) in message, message


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,
    '{"mask_token": ' + "[" * 100_000 + "]" * 100_000 + "}",
    '{"a": ' * 100_000 + "1" + "}" * 100_000,
], ids=["array", "in_field", "objects"])
def test_deeply_nested_json_is_a_tokenizer_error(tmp_path, spiece, text):
    directory = _pretrained_dir(tmp_path, spiece, text)
    with pytest.raises(TokenizerError, match="tokenizer_config.json"):
        AlbertTokenizer.from_pretrained(directory)


@pytest.mark.parametrize("value,expected", [(None, 512), (1e30, 512), (int(1e30), 512), (128.0, 128), (64, 64)])
def test_model_max_length_sentinels_and_numbers_still_load(tmp_path, spiece, value, expected):
    directory = _pretrained_dir(tmp_path, spiece, json.dumps({"model_max_length": value,
                                                              "mask_token": {"content": "[MASK]", "lstrip": True}}))
    assert AlbertTokenizer.from_pretrained(directory).model_max_length == expected


# ------------------------------------------------------------------------ added tokens, pad, results (issue 12)


@pytest.mark.parametrize("decoder, message", [
    ({"x": {"content": "<a>"}}, "not an integer id"),
    ({"5": {"content": "<a>"}}, "which is the piece"),
    ({"5000": {"content": "<a>"}}, "next free id"),
    ({"1000": {"content": "<a>", "special": "yes"}}, "special must be a bool"),
    ({"1000": {"content": 7}}, "non-empty string"),
    ({"1000": {"content": "<a>", "single_word": True}}, "single_word"),
])
def test_bad_added_tokens_name_the_file(tmp_path, spiece, decoder, message):
    shutil.copyfile(spiece, tmp_path / "spiece.model")
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"added_tokens_decoder": decoder}))
    with pytest.raises(TokenizerError, match=message) as info:
        AlbertTokenizer.from_pretrained(tmp_path)
    assert "tokenizer_config.json" in str(info.value)


def test_pad_never_cuts_and_keeps_other_fields(tok):
    long_row = tok("word " * 30)
    short = tok("a b")
    out = tok.pad([{**long_row, "id": "x"}, {**short, "id": "y"}], padding="max_length", max_length=8)
    assert out["input_ids"][0] == long_row["input_ids"]  # longer than max_length: left whole
    assert len(out["input_ids"][1]) == 8 and out["id"] == ["x", "y"]
    with pytest.raises(TokenizerError, match="cannot be made into a tensor|strings"):
        tok.pad([{**short, "id": "x"}, {**short, "id": [1, 2]}], return_tensors="np")


def test_results_pickle_with_their_maps(tok):
    import pickle

    enc = tok(["a b c d e f", "the end"], ["x", "y z"], truncation="only_first", max_length=8,
              return_overflowing_tokens=True, return_offsets_mapping=True)
    assert len(enc["input_ids"]) > 2  # several windows of the first input
    again = pickle.loads(pickle.dumps(enc))
    assert again == enc
    for row in range(len(enc["input_ids"])):
        assert again.word_ids(row) == enc.word_ids(row) and again.sequence_ids(row) == enc.sequence_ids(row)
