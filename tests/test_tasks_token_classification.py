"""Token classification (albert_core.tasks.token_classification) against transformers: rows and word ids against the
fast tokenizer with ``is_split_into_words=True``, label alignment against the rule of transformers' run_ner.py
(transcribed here, on the fast tokenizer's word ids), entity decoding against the token-classification pipeline,
and the BIOES extensions against hand-built examples."""

from __future__ import annotations

import numpy as np
import pytest

from albert_core.errors import InputError, UsageError
from albert_core.tasks import IGNORE_INDEX, align_labels, decode_entities, tokenize_and_align_labels
import task_fixtures as fx

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")
transformers.logging.set_verbosity_error()

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


@pytest.fixture(scope="module")
def sentences():
    """Word lists from the corpus (first words capitalised are tagged PER, words after "of"/"to" LOC)."""
    lines = fx.agreeing([" ".join(line.split()) for line in fx.paragraphs(40, 1, start=200)], minimum=20)[:20]
    words, tags = [], []
    for line in lines:
        ws = line.split()
        sentence_tags, previous = [], "O"
        for k, w in enumerate(ws):
            if w[0].isupper():
                tag = "I-PER" if previous in ("B-PER", "I-PER") else "B-PER"
            elif k and ws[k - 1] in ("of", "to"):
                tag = "B-LOC"
            else:
                tag = "O"
            sentence_tags.append(tag)
            previous = tag
        words.append(ws)
        tags.append(sentence_tags)
    fast = fx.hf_fast()
    kept = [(w, t) for w, t in zip(words, tags)
            if fast(w, is_split_into_words=True)["input_ids"]
            == tokenize_and_align_labels(fx.ours(), [w])["input_ids"][0]]
    assert len(kept) >= 15
    return [w for w, _ in kept], [t for _, t in kept]


def run_ner_labels(word_ids, word_labels, label_all_tokens):
    """transformers' examples/pytorch/token-classification/run_ner.py alignment (with its B- to I- map)."""
    label_to_id = {label: i for i, label in enumerate(LABELS)}
    b_to_i_label = []
    for idx, label in enumerate(LABELS):
        if label.startswith("B-") and label.replace("B-", "I-") in LABELS:
            b_to_i_label.append(LABELS.index(label.replace("B-", "I-")))
        else:
            b_to_i_label.append(idx)
    previous_word_idx = None
    label_ids = []
    for word_idx in word_ids:
        if word_idx is None:
            label_ids.append(-100)
        elif word_idx != previous_word_idx:
            label_ids.append(label_to_id[word_labels[word_idx]])
        else:
            if label_all_tokens:
                label_ids.append(b_to_i_label[label_to_id[word_labels[word_idx]]])
            else:
                label_ids.append(-100)
        previous_word_idx = word_idx
    return label_ids


@pytest.mark.parametrize("label_all_tokens", [False, True])
def test_alignment_matches_fast_tokenizer_and_run_ner(sentences, label_all_tokens):
    words, tags = sentences
    ours = tokenize_and_align_labels(fx.ours(), words, tags, label_list=LABELS, label_all_tokens=label_all_tokens)
    fast = fx.hf_fast()(words, is_split_into_words=True)
    assert ours["input_ids"] == fast["input_ids"]
    split = 0
    for i in range(len(words)):
        assert ours["word_ids"][i] == fast.word_ids(i)
        assert ours["labels"][i] == run_ner_labels(fast.word_ids(i), tags[i], label_all_tokens)
        split += len(fast.word_ids(i)) - 2 > len(words[i])
    assert split >= 5  # many sentences have words of several pieces


def test_padding_and_truncation(sentences):
    words, tags = sentences
    padded = tokenize_and_align_labels(fx.ours(), words[:3], tags[:3], label_list=LABELS, padding=True)
    length = max(len(row) - row.count(fx.ours().pad_token_id) for row in padded["input_ids"])
    assert {len(row) for row in padded["input_ids"]} == {length}
    short = min(range(3), key=lambda i: padded["attention_mask"][i].count(1))
    n = padded["attention_mask"][short].count(1)
    assert padded["labels"][short][n:] == [IGNORE_INDEX] * (length - n)
    assert padded["word_ids"][short][n:] == [None] * (length - n)
    with pytest.raises(InputError, match="pass truncation=True"):
        tokenize_and_align_labels(fx.ours(), words[:1], tags[:1], label_list=LABELS, max_length=5)
    cut = tokenize_and_align_labels(fx.ours(), words[:1], tags[:1], label_list=LABELS, max_length=5,
                                    truncation=True, padding="max_length")
    assert len(cut["input_ids"][0]) == 5 and cut["input_ids"][0][-1] == fx.ours().sep_token_id


def test_bioes_continuation_by_hand():
    tags = ["O", "B-PER", "I-PER", "E-PER", "S-LOC", "B-LOC", "I-LOC", "E-LOC", "S-PER"]
    word_ids = [None, 0, 1, 1, 1, 2, None]
    # a three-piece S-LOC word reads B-LOC I-LOC E-LOC; without label_all_tokens only its first piece is labelled
    assert align_labels(word_ids, ["O", "S-LOC", "B-PER"], label_list=tags, scheme="BIOES",
                        label_all_tokens=True) == [-100, 0, 5, 6, 7, 1, -100]
    assert align_labels(word_ids, ["O", "S-LOC", "B-PER"], label_list=tags, scheme="BIOES") == \
        [-100, 0, 4, -100, -100, 1, -100]
    # E-PER over three pieces reads I-PER I-PER E-PER; B-PER reads B-PER I-PER I-PER
    assert align_labels([0, 0, 0, 1, 1, 1], ["E-PER", "B-PER"], label_list=tags, scheme="BIOES",
                        label_all_tokens=True) == [2, 2, 3, 1, 2, 2]
    # BIO: B continues as I; ids without a label_list are copied
    assert align_labels([0, 0, 1], ["B-LOC", "O"], label_list=LABELS, label_all_tokens=True) == [3, 4, 0]
    assert align_labels([0, 0, 1], [7, 8], label_all_tokens=True) == [7, 7, 8]


@pytest.mark.parametrize("call,error,match", [
    (lambda: align_labels([0, 1], ["O", "B-ORG"], label_list=LABELS), InputError, "'B-ORG' is not in the tag set"),
    (lambda: align_labels([0, 1], ["O", 9], label_list=LABELS), InputError, "label id 9 is not in the tag set"),
    (lambda: align_labels([0, 1], ["O", "B-PER"]), InputError, "pass label_list"),
    (lambda: align_labels([0, 2], ["O", "O"], label_list=LABELS), InputError, "word id 2 has no label"),
    (lambda: align_labels([1, 0], ["O", "O"], label_list=LABELS), InputError, "must not go backwards"),
    (lambda: align_labels([0], ["O"], label_list=LABELS, scheme="IOE"), UsageError, "scheme must be"),
    (lambda: tokenize_and_align_labels(fx.ours(), [["a", "b"]], [["O"]], label_list=LABELS), InputError,
     "2 words but 1 labels"),
    (lambda: tokenize_and_align_labels(fx.ours(), [["a"]], [["O"], ["O"]]), InputError, "2 label lists for 1"),
    (lambda: tokenize_and_align_labels(fx.ours(), [["a", ""]]), InputError, "tokenizes to nothing"),
    (lambda: tokenize_and_align_labels(fx.ours(), ["a b"]), InputError, "must be a list of words"),
    (lambda: tokenize_and_align_labels(fx.ours(), [["a"]], padding="left"), UsageError, "padding must be"),
])
def test_alignment_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------------------------------------------------------------
# decoding


@pytest.fixture(scope="module")
def ner_model():
    config = transformers.AlbertConfig(vocab_size=len(fx.ours()), embedding_size=16, hidden_size=32,
                                       num_hidden_layers=1, num_attention_heads=4, intermediate_size=37,
                                       max_position_embeddings=128, num_labels=len(LABELS),
                                       id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)})
    torch.manual_seed(1)
    model = transformers.AlbertForTokenClassification(config).eval()
    with torch.no_grad():  # confident, varied predictions: every label shows up, entities of several tokens too
        model.classifier.weight.mul_(150.0)
        model.classifier.bias.copy_(torch.tensor([1.0, 0.0, 0.5, 0.0, 0.5]))
    return model


@pytest.mark.parametrize("aggregation", ["none", "simple", "first", "average", "max"])
def test_entities_match_pipeline(sentences, ner_model, aggregation):
    import warnings

    from transformers.pipelines.token_classification import TokenClassificationPipeline

    words, _ = sentences
    pipe = TokenClassificationPipeline(model=ner_model, tokenizer=fx.hf_fast(), framework="pt")
    total = 0
    for text in (" ".join(w) for w in words[:10]):
        enc = fx.ours()(text, return_offsets_mapping=True, return_special_tokens_mask=True)
        with torch.no_grad():
            logits = ner_model(input_ids=torch.tensor([enc["input_ids"]])).logits[0].numpy()
        ours = decode_entities(logits, text, enc["offset_mapping"], LABELS, input_ids=enc["input_ids"],
                               special_tokens_mask=enc["special_tokens_mask"], tokenizer=fx.ours(),
                               aggregation=aggregation)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Tokenizer does not support real words, using fallback heuristic"
            theirs = pipe(text, aggregation_strategy=aggregation)
        key = "entity" if aggregation == "none" else "entity_group"
        assert [e[key] for e in ours] == [e[key] for e in theirs], (text, ours, theirs, enc["offset_mapping"])
        if aggregation in ("none", "simple"):
            assert [e["word"] for e in ours] == [e["word"] for e in theirs]
        else:  # the pipeline joins the words of a group without their spaces ("youready"); we keep them
            assert [e["word"].replace(" ", "") for e in ours] == [e["word"] for e in theirs]
        np.testing.assert_allclose([e["score"] for e in ours], [float(e["score"]) for e in theirs], rtol=1e-5)
        assert [e["end"] for e in ours] == [e["end"] for e in theirs]
        for o, t in zip(ours, theirs):  # the fast tokenizer counts the space before a word into it
            assert t["start"] <= o["start"] and text[t["start"]:o["start"]].strip() == ""
        if aggregation == "none":
            assert [e["index"] for e in ours] == [e["index"] for e in theirs]
        total += len(ours)
    assert total >= 10


def test_entities_from_word_ids_and_without_tokenizer():
    # "Ann Lee-Smith sat": pieces Ann | Lee | -Smith | sat; word ids say pieces 2 and 3 are one word
    logits = np.log(np.array([
        [0.1, 0.7, 0.1, 0.05, 0.05],  # B-PER 0.7
        [0.1, 0.1, 0.6, 0.1, 0.1],  # I-PER 0.6
        [0.1, 0.1, 0.2, 0.5, 0.1],  # B-LOC 0.5 (a continuation piece: "first" takes the word's first piece)
        [0.9, 0.025, 0.025, 0.025, 0.025],  # O
    ]))
    text = "Ann Lee-Smith sat"
    offsets = [(0, 3), (4, 7), (7, 13), (14, 17)]
    first = decode_entities(logits, text, offsets, LABELS, word_ids=[0, 1, 1, 2], aggregation="first")
    assert first == [{"entity_group": "PER", "score": pytest.approx(0.65), "word": "Ann Lee-Smith", "start": 0,
                      "end": 13}]
    simple = decode_entities(logits, text, offsets, LABELS)
    assert [(e["entity_group"], e["word"]) for e in simple] == [("PER", "Ann Lee"), ("LOC", "-Smith")]
    average = decode_entities(logits, text, offsets, LABELS, word_ids=[0, 1, 1, 2], aggregation="average")
    # word 1 averages [.1, .1, .4, .3, .1]: I-PER 0.4
    assert average[0]["score"] == pytest.approx((0.7 + 0.4) / 2)


def test_bioes_grouping_by_hand():
    tags = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "S-LOC"]

    def one_hot(labels):
        out = np.full((len(labels), len(tags)), -10.0)
        for k, label in enumerate(labels):
            out[k, tags.index(label)] = 10.0
        return out

    text = "a b c d e f g"
    offsets = [(2 * k, 2 * k + 1) for k in range(7)]
    labels = ["B-PER", "E-PER", "I-PER", "S-PER", "S-PER", "O", "S-LOC"]
    got = decode_entities(one_hot(labels), text, offsets, tags, scheme="BIOES")
    # E closes "a b"; the I after it opens "c"; each S stands alone
    assert [(e["entity_group"], e["word"]) for e in got] == [("PER", "a b"), ("PER", "c"), ("PER", "d"),
                                                             ("PER", "e"), ("LOC", "g")]
    # read as BIO, E-/S- are plain labels: B-PER merges nothing with them
    bio = decode_entities(one_hot(labels), text, offsets, tags, scheme="BIO")
    assert [e["entity_group"] for e in bio] == ["PER", "PER", "PER", "PER", "LOC"]
    assert [e["word"] for e in bio] == ["a", "b", "c", "d e", "g"]


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(aggregation="mean"), UsageError, "aggregation must be"),
    (dict(scheme="IOE2"), UsageError, "scheme must be"),
    (dict(offsets=[(0, 1)]), InputError, "offsets has 1 entries for 2 tokens"),
    (dict(id2label=["O"]), InputError, "no name for label ids"),
    (dict(special_tokens_mask=[0]), InputError, "special_tokens_mask has 1 entries"),
])
def test_decode_bad_input(kwargs, error, match):
    args = dict(logits=np.zeros((2, 2)), sentence="a b", offsets=[(0, 1), (2, 3)], id2label=["O", "B-PER"])
    args.update(kwargs)
    with pytest.raises(error, match=match):
        decode_entities(args.pop("logits"), args.pop("sentence"), args.pop("offsets"), args.pop("id2label"), **args)
