"""Extractive QA (albert_core.tasks.question_answering) against transformers: windows against the fast tokenizer's
overflowing rows, labels against the SQuAD label rule of transformers' run_qa.py (transcribed here and applied to the
fast tokenizer's rows), span decoding against the question-answering pipeline, plus hand-built examples."""

from __future__ import annotations

import numpy as np
import pytest

from albert_core.errors import AlbertWarning, InputError, UsageError
from albert_core.tasks import QAFeatures, decode_qa, prepare_qa_features
import task_fixtures as fx

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")
transformers.logging.set_verbosity_error()

QUESTIONS = ["Who spoke first?", "What did the citizens want?", "Where is the king?", "Why?"]


@pytest.fixture(scope="module")
def data():
    contexts = fx.agreeing(fx.paragraphs(24, 5, start=10), minimum=12)[:12]
    questions = fx.agreeing([QUESTIONS[i % len(QUESTIONS)] for i in range(len(contexts))], minimum=len(contexts))
    return questions, contexts


def _fast_rows(questions, contexts, max_length, stride):
    return fx.hf_fast()(questions, contexts, truncation="only_second", max_length=max_length, stride=stride,
                        return_overflowing_tokens=True, return_offsets_mapping=True)


@pytest.mark.parametrize("max_length,stride", [(48, 8), (40, 0), (64, 30), (384, 128), (32, 12)])
def test_windows_match_fast_tokenizer(data, max_length, stride):
    questions, contexts = data
    ours = prepare_qa_features(fx.ours(), questions, contexts, max_length=max_length, doc_stride=stride,
                               padding=False)
    fast = _fast_rows(questions, contexts, max_length, stride)
    assert len(ours["input_ids"]) == len(fast["input_ids"])
    if max_length == 48:
        assert len(ours["input_ids"]) > 2 * len(contexts)  # long contexts really are cut into several windows
    assert ours["input_ids"] == fast["input_ids"]
    assert ours["token_type_ids"] == fast["token_type_ids"]
    assert ours["attention_mask"] == fast["attention_mask"]
    assert ours["example_id"] == fast["overflow_to_sample_mapping"]
    for row, (offsets, fast_offsets) in enumerate(zip(ours["offset_mapping"], fast["offset_mapping"])):
        context = contexts[ours["example_id"][row]]
        sequence_ids = fast.sequence_ids(row)
        assert ours["input_ids"][row][ours["cls_index"][row]] == fx.ours().cls_token_id
        for k, (ours_span, fast_span, seq) in enumerate(zip(offsets, fast_offsets, sequence_ids)):
            if seq != 1:
                assert ours_span is None
                assert ours["p_mask"][row][k] == (0 if k == ours["cls_index"][row] else 1)
                continue
            assert ours["p_mask"][row][k] == 0
            if ours_span[0] == ours_span[1]:  # a lone "▁" covers no character (fast gives it the next one)
                assert fast_span[0] <= ours_span[0] <= fast_span[1]
                continue
            # the fast tokenizer counts the space before a word into its first piece; ours starts at the word
            assert ours_span[1] == fast_span[1]
            assert fast_span[0] <= ours_span[0] and context[fast_span[0]:ours_span[0]].strip() == ""


def run_qa_labels(fast, answers):
    """The labels of transformers' examples/pytorch/question-answering/run_qa.py, on the fast tokenizer's rows."""
    starts, ends = [], []
    for i, offsets in enumerate(fast["offset_mapping"]):
        input_ids = fast["input_ids"][i]
        cls_index = input_ids.index(fx.hf_fast().cls_token_id)
        sequence_ids = fast.sequence_ids(i)
        answer = answers[fast["overflow_to_sample_mapping"][i]]
        if len(answer["answer_start"]) == 0:
            starts.append(cls_index)
            ends.append(cls_index)
            continue
        start_char = answer["answer_start"][0]
        end_char = start_char + len(answer["text"][0])
        token_start_index = 0
        while sequence_ids[token_start_index] != 1:
            token_start_index += 1
        token_end_index = len(input_ids) - 1
        while sequence_ids[token_end_index] != 1:
            token_end_index -= 1
        if not (offsets[token_start_index][0] <= start_char and offsets[token_end_index][1] >= end_char):
            starts.append(cls_index)
            ends.append(cls_index)
        else:
            while token_start_index < len(offsets) and offsets[token_start_index][0] <= start_char:
                token_start_index += 1
            starts.append(token_start_index - 1)
            while offsets[token_end_index][1] >= end_char:
                token_end_index -= 1
            ends.append(token_end_index + 1)
    return starts, ends


def _word_answers(contexts, seed):
    """One answer per context: a run of 1-4 whole words at a random place; every fourth question has none."""
    rng = np.random.default_rng(seed)
    answers = []
    for k, context in enumerate(contexts):
        if k % 4 == 3:
            answers.append({"text": [], "answer_start": []})
            continue
        words, position, spans = context.split(" "), 0, []
        for word in words:
            spans.append((position, position + len(word)))
            position += len(word) + 1
        first = int(rng.integers(0, len(words)))
        last = min(len(words) - 1, first + int(rng.integers(0, 4)))
        start, end = spans[first][0], spans[last][1]
        answers.append({"text": [context[start:end]], "answer_start": [start]})
    return answers


@pytest.mark.parametrize("max_length,stride,seed", [(48, 8, 0), (40, 16, 1), (384, 128, 2)])
def test_labels_match_run_qa(data, max_length, stride, seed):
    questions, contexts = data
    answers = _word_answers(contexts, seed)
    ours = prepare_qa_features(fx.ours(), questions, contexts, max_length=max_length, doc_stride=stride,
                               answers=answers)
    fast = _fast_rows(questions, contexts, max_length, stride)
    starts, ends = run_qa_labels(fast, answers)
    assert ours["start_positions"] == starts and ours["end_positions"] == ends
    inside = [i for i, s in enumerate(starts) if s != 0]
    assert len(inside) >= len(contexts) // 2  # the windows hold most answers
    for row in inside:  # every labelled span reads the answer back
        context = contexts[ours["example_id"][row]]
        offsets = ours["offset_mapping"][row]
        text = answers[ours["example_id"][row]]["text"][0]
        assert context[offsets[starts[row]][0]:offsets[ends[row]][1]] == text


def test_features_are_padded_model_inputs(data):
    questions, contexts = data
    feats = prepare_qa_features(fx.ours(), questions[:3], contexts[:3], max_length=64, doc_stride=16)
    arrays = feats.model_inputs()
    assert arrays["input_ids"].shape == (len(feats["example_id"]), 64)
    assert all(len(row) == 64 for row in feats["offset_mapping"])
    row = feats["input_ids"][-1]
    assert row[-1] == fx.ours().pad_token_id and feats["attention_mask"][-1][-1] == 0 and feats["p_mask"][-1][-1] == 1
    longest = prepare_qa_features(fx.ours(), "Who?", "the king", max_length=64, doc_stride=16, padding="longest")
    assert len(longest["input_ids"][0]) == len(fx.ours().encode("Who?")) + len(fx.ours().encode("the king")) - 1


# ---------------------------------------------------------------------------------------------------------------------
# decoding


@pytest.fixture(scope="module")
def qa_model():
    config = transformers.AlbertConfig(vocab_size=len(fx.ours()), embedding_size=16, hidden_size=32,
                                       num_hidden_layers=1, num_attention_heads=4, intermediate_size=37,
                                       max_position_embeddings=512)
    torch.manual_seed(0)
    model = transformers.AlbertForQuestionAnswering(config).eval()
    with torch.no_grad():  # spread the logits so that the span ranking is decided, not a near tie
        model.qa_outputs.weight.mul_(200.0)
    return model


def _logits(model, feats):
    with torch.no_grad():
        out = model(**{k: torch.tensor(v) for k, v in feats.model_inputs().items()})
    return out.start_logits.numpy(), out.end_logits.numpy()


@pytest.mark.parametrize("handle_impossible", [False, True])
def test_decoding_matches_pipeline_span_selection(data, qa_model, handle_impossible):
    """Single-window examples, on the logits of a random transformers QA model: our n-best against the candidates of
    transformers' QA pipeline (its ``select_starts_ends``: product of start and end softmax probabilities over the
    context and [CLS], spans of at most ``max_answer_len`` tokens, the [CLS] product as null score). The pipeline
    then adds up candidates with the same text; we keep the best of the spans that cover the same characters, so the
    oracle list is reduced that way before the comparison."""
    from transformers.pipelines.question_answering import select_starts_ends

    questions, contexts = data[0][:8], data[1][:8]
    compared = nulls = 0
    for question, context in zip(questions, contexts):
        for short in (context[:120].rsplit(" ", 1)[0], context[:60].rsplit(" ", 1)[0]):
            feats = prepare_qa_features(fx.ours(), question, short, padding=False)
            assert len(feats["input_ids"]) == 1
            start, end = _logits(qa_model, feats)
            ours = decode_qa(start, end, feats, n_best_size=6, max_answer_length=15,
                             version_2_with_negative=handle_impossible)[0]
            fast = fx.hf_fast()(question, short, return_offsets_mapping=True)
            assert fast["input_ids"] == feats["input_ids"][0]
            p_mask = np.array([0 if s == 1 else 1 for s in fast.sequence_ids()])
            p_mask[0] = 0  # [CLS] may be the null answer
            starts, ends, probs, null = select_starts_ends(start, end, p_mask, np.ones_like(p_mask), top_k=200,
                                                           handle_impossible_answer=True, max_answer_len=15)
            offsets = feats["offset_mapping"][0]
            expected, seen = [], set()
            for s_, e_, prob in zip(starts, ends, probs):
                if prob == 0.0:  # [CLS] and spans outside the band get probability 0 there
                    continue
                chars = (offsets[s_][0], offsets[e_][1])
                text = short[chars[0]:chars[1]]
                chars = (chars[0] + len(text) - len(text.lstrip()), chars[1] - len(text) + len(text.rstrip()))
                if chars not in seen and chars[0] < chars[1]:
                    seen.add(chars)
                    expected.append((chars, float(prob)))
            spans = [c for c in ours["n_best"] if c["answer"]]
            assert [(c["start"], c["end"]) for c in spans] == [chars for chars, _ in expected][: len(spans)]
            assert len(spans) == min(6, len(expected))
            # probabilities are exp(score) up to one factor per row
            ratios = np.array([p for _, p in expected[: len(spans)]]) / expected[0][1]
            scores = np.array([c["score"] for c in spans])
            np.testing.assert_allclose(ratios, np.exp(scores - scores[0]), rtol=1e-4)
            if handle_impossible:
                null_wins = null > expected[0][1]
                assert (ours["answer"] == "") == null_wins
                np.testing.assert_allclose(null / expected[0][1], np.exp(ours["null_score"] - scores[0]), rtol=1e-4)
                nulls += null_wins
            else:
                assert ours["answer"] == spans[0]["answer"]
            compared += 1
    assert compared == 2 * len(contexts)
    if handle_impossible:
        assert 0 < nulls < compared  # both outcomes of the null decision were compared


def test_top_answer_matches_pipeline(data, qa_model):
    """End to end against transformers' QuestionAnsweringPipeline (fast tokenizer, same model): the best answer,
    where the pipeline's summing of same-text candidates does not change the winner."""
    from transformers.pipelines.question_answering import QuestionAnsweringPipeline

    questions, contexts = data[0][:8], data[1][:8]
    pipe = QuestionAnsweringPipeline(model=qa_model, tokenizer=fx.hf_fast(), framework="pt")
    checked = 0
    for question, context in zip(questions, contexts):
        short = context[:150].rsplit(" ", 1)[0]
        feats = prepare_qa_features(fx.ours(), question, short, padding=False)
        ours = decode_qa(*_logits(qa_model, feats), feats, n_best_size=20, max_answer_length=15)[0]
        theirs = pipe(question=question, context=short, top_k=1, max_answer_len=15, align_to_words=False)
        texts = [c["answer"].lower() for c in ours["n_best"]]
        if texts.count(texts[0]) > 1:
            continue
        assert ours["answer"] == theirs["answer"].strip()
        assert ours["end"] == theirs["end"] and short[theirs["start"]:ours["start"]].strip() == ""
        checked += 1
    assert checked >= len(contexts) // 2


def test_decoding_hand_built_multi_window():
    tok = fx.ours()
    context = " ".join(["the king of rome sat on the throne"] * 8)
    answer_start = context.index("rome", 60)
    feats = prepare_qa_features(tok, "where?", context, max_length=24, doc_stride=6)
    rows = len(feats["input_ids"])
    assert rows >= 3
    start = np.zeros((rows, 24))
    end = np.zeros((rows, 24))
    hits = []  # (row, first token, last token) of "rome" in every window that holds it
    for row, offsets in enumerate(feats["offset_mapping"]):
        firsts = [k for k, span in enumerate(offsets) if span is not None and span[0] == answer_start]
        lasts = [k for k, span in enumerate(offsets) if span is not None and span[1] == answer_start + 4]
        if firsts and lasts:
            hits.append((row, firsts[0], lasts[0]))
    assert len(hits) >= 2
    for row, first, last in hits:  # the same answer in overlapping windows: found once, best score kept
        start[row, first] = 4.0 + row
        end[row, last] = 3.0
    best = decode_qa(start, end, feats)[0]
    assert (best["answer"], best["start"], best["end"]) == ("rome", answer_start, answer_start + 4)
    assert best["score"] == pytest.approx(7.0 + hits[-1][0])
    assert [(c["start"], c["end"]) for c in best["n_best"]].count((answer_start, answer_start + 4)) == 1
    assert sum(c["probability"] for c in best["n_best"]) == pytest.approx(1.0)
    # SQuAD 2.0: the null score is the lowest [CLS] score over the windows; 6 - (7 + last row) decides
    start[:, 0], end[:, 0] = 3.0, 3.0
    start[0, 0] = 5.0 + hits[-1][0]  # one window's [CLS] higher: the minimum is 6
    v2 = decode_qa(start, end, feats, version_2_with_negative=True)[0]
    assert v2["null_score"] == 6.0 and v2["answer"] == "rome"
    assert v2["score_diff"] == pytest.approx(6.0 - (7.0 + hits[-1][0]))
    start[:, 0] = 20.0
    v2 = decode_qa(start, end, feats, version_2_with_negative=True)[0]
    assert (v2["answer"], v2["start"], v2["end"], v2["score"]) == ("", 0, 0, 23.0)
    assert v2["n_best"][0]["answer"] == ""
    raised = decode_qa(start, end, feats, version_2_with_negative=True, null_score_diff_threshold=100.0)[0]
    assert raised["answer"] == "rome"
    # max_answer_length: a span of 3 tokens is not allowed with max_answer_length=2
    start[:] = 0.0
    end[:] = 0.0
    row, first, _ = hits[0]
    start[row, first], end[row, first + 2] = 9.0, 9.0
    assert decode_qa(start, end, feats)[0]["score"] == 18.0
    assert decode_qa(start, end, feats, max_answer_length=2)[0]["score"] == 9.0


def test_question_truncation_warns(data):
    question = " ".join(["who"] * 80)
    with pytest.warns(AlbertWarning, match="cut to max_query_length=64"):
        feats = prepare_qa_features(fx.ours(), question, "the king", max_length=96, doc_stride=8)
    assert feats["input_ids"][0].count(fx.ours().sep_token_id) == 2
    first_segment = feats["attention_mask"][0].count(1) - feats["token_type_ids"][0].count(1)
    assert first_segment == 64 + 2  # [CLS], the 64 kept question tokens, [SEP]


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(questions=["a"], contexts=["b", "c"]), InputError, "1 questions for 2 contexts"),
    (dict(questions="a", contexts=["b"]), InputError, "1 questions for 1 contexts"),
    (dict(questions=[], contexts=[]), InputError, "at least one"),
    (dict(questions=[3], contexts=["b"]), InputError, r"questions\[0\] must be a str"),
    (dict(doc_stride=45, max_length=48), UsageError, "doc_stride=45 must be smaller"),
    (dict(max_length=4), UsageError, "leaves no room"),
    (dict(doc_stride=-1), UsageError, "doc_stride must be"),
    (dict(padding="left"), UsageError, "padding must be"),
    (dict(answers=[{"text": ["king"], "answer_start": [0]}]), InputError, "not at character 0"),
    (dict(answers=[{"text": ["king"], "answer_start": [1, 2]}]), InputError, "1 texts but 2"),
    (dict(answers=[]), InputError, "0 answers for 1"),
    (dict(answers=["king"]), InputError, "SQuAD layout"),
])
def test_bad_input(kwargs, error, match):
    args = dict(questions=["who is it?"], contexts=["the king of rome"], max_length=48, doc_stride=8)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        prepare_qa_features(fx.ours(), args.pop("questions"), args.pop("contexts"), **args)


def test_decode_bad_input():
    feats = prepare_qa_features(fx.ours(), "who?", "the king", max_length=16, doc_stride=2)
    with pytest.raises(InputError, match=r"must both be \[1, seq\]"):
        decode_qa(np.zeros((2, 16)), np.zeros((2, 16)), feats)
    with pytest.raises(InputError, match="longest row has 16"):
        decode_qa(np.zeros((1, 8)), np.zeros((1, 8)), feats)
    with pytest.raises(InputError, match="QAFeatures"):
        decode_qa(np.zeros((1, 16)), np.zeros((1, 16)), dict(feats))
    with pytest.raises(UsageError, match="n_best_size"):
        decode_qa(np.zeros((1, 16)), np.zeros((1, 16)), feats, n_best_size=0)
    assert isinstance(feats, QAFeatures) and feats.contexts == ["the king"]


def test_no_possible_span():
    # an empty context: one row, no context token; SQuAD 1.1 gives "" with no score, SQuAD 2.0 the null answer
    feats = prepare_qa_features(fx.ours(), "who?", "", max_length=16, doc_stride=2)
    assert len(feats["input_ids"]) == 1 and all(o is None for o in feats["offset_mapping"][0])
    start, end = np.zeros((1, 16)), np.zeros((1, 16))
    start[0, 0], end[0, 0] = -5.0, -5.0
    assert decode_qa(start, end, feats)[0] == {"answer": "", "start": 0, "end": 0, "score": None, "n_best": []}
    v2 = decode_qa(start, end, feats, version_2_with_negative=True)[0]
    assert (v2["answer"], v2["score"], v2["score_diff"]) == ("", -10.0, float("inf"))
    feats.contexts.append("a second question without rows")
    with pytest.raises(InputError, match="question 1 has no row"):
        decode_qa(start, end, feats)
