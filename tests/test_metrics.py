"""albert_core.metrics against independent oracles: the official SQuAD v1.1/v2.0 evaluation definitions (transcribed
below), seqeval (default and strict modes), scikit-learn and scipy, plus hand-computed values."""

from __future__ import annotations

import collections
import re
import string
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from albert_core.errors import InputError, UsageError
from albert_core.metrics import (
    accuracy,
    classification_metrics,
    entity_metrics,
    f1,
    get_entities,
    matthews_corrcoef,
    normalize_answer,
    pearson,
    regression_metrics,
    spearman,
    squad_f1,
    squad_metrics,
)

seqeval_metrics = pytest.importorskip("seqeval.metrics")
seqeval_scheme = pytest.importorskip("seqeval.scheme")
sklearn_metrics = pytest.importorskip("sklearn.metrics")
scipy_stats = pytest.importorskip("scipy.stats")

# ---------------------------------------------------------------------------------------------------------------------
# SQuAD: the official scripts' definitions, transcribed from the published evaluate-v1.1.py / evaluate-v2.0.py


def official_normalize(s):
    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def official_v1_f1(prediction, ground_truth):
    prediction_tokens = official_normalize(prediction).split()
    ground_truth_tokens = official_normalize(ground_truth).split()
    common = collections.Counter(prediction_tokens) & collections.Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def official_v1(predictions, references):
    em = f1_total = 0.0
    for prediction, golds in zip(predictions, references):
        em += max(official_normalize(prediction) == official_normalize(g) for g in golds)
        f1_total += max(official_v1_f1(prediction, g) for g in golds)
    return {"exact_match": 100.0 * em / len(predictions), "f1": 100.0 * f1_total / len(predictions)}


def official_v2_tokens(s):
    if not s:
        return []
    return official_normalize(s).split()


def official_v2_f1(a_gold, a_pred):
    gold_toks = official_v2_tokens(a_gold)
    pred_toks = official_v2_tokens(a_pred)
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        return int(gold_toks == pred_toks)
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(pred_toks)
    recall = 1.0 * num_same / len(gold_toks)
    return (2 * precision * recall) / (precision + recall)


def official_v2(predictions, references):
    exact, f1s, has_ans = [], [], []
    for prediction, answers in zip(predictions, references):
        has_ans.append(bool(answers))
        golds = [a for a in answers if official_normalize(a)] or [""]
        exact.append(max(int(official_normalize(a) == official_normalize(prediction)) for a in golds))
        f1s.append(max(official_v2_f1(a, prediction) for a in golds))
    out = {"exact_match": 100.0 * sum(exact) / len(exact), "f1": 100.0 * sum(f1s) / len(f1s), "total": len(exact)}
    for name, keep in (("HasAns", True), ("NoAns", False)):
        idx = [i for i, h in enumerate(has_ans) if h == keep]
        if idx:
            out[f"{name}_exact"] = 100.0 * sum(exact[i] for i in idx) / len(idx)
            out[f"{name}_f1"] = 100.0 * sum(f1s[i] for i in idx) / len(idx)
            out[f"{name}_total"] = len(idx)
    return out


WORDS = ["the", "The", "a", "An", "an", "cat", "Cat.", "dog", "dog,", "(dog)", "sat", "mat!", "thé", "", " ", "--",
         "theater", "another", "Paris", "paris's", "ÉCOLE", "école", "1,000", "1000"]
answer_text = st.lists(st.sampled_from(WORDS), max_size=6).map(lambda ws: " ".join(ws))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(answer_text, st.lists(answer_text, min_size=0, max_size=3)), min_size=1, max_size=6))
def test_squad_matches_official_definitions(pairs):
    predictions = [p for p, _ in pairs]
    references = [golds for _, golds in pairs]
    for prediction, golds in pairs:
        assert normalize_answer(prediction) == official_normalize(prediction)
    ours_v2 = squad_metrics(predictions, references, version_2_with_negative=True)
    theirs_v2 = official_v2(predictions, references)
    assert ours_v2.keys() == theirs_v2.keys()
    for key in theirs_v2:
        assert ours_v2[key] == pytest.approx(theirs_v2[key], abs=1e-12), key
    if all(references):
        ours_v1 = squad_metrics(predictions, references)
        theirs_v1 = official_v1(predictions, references)
        assert ours_v1["exact_match"] == pytest.approx(theirs_v1["exact_match"], abs=1e-12)
        assert ours_v1["f1"] == pytest.approx(theirs_v1["f1"], abs=1e-12)


def test_squad_hand_computed():
    # "a red cat" -> ["red", "cat"]; gold "the red cat sat" -> ["red", "cat", "sat"]: P = 1, R = 2/3, F1 = 0.8
    assert squad_f1("a red cat", "the red cat sat") == pytest.approx(0.8)
    # best of the golds: the second gives exact match
    result = squad_metrics(["Red Cat!", "dog"], [["the red cat sat", "red cat"], ["cat"]])
    assert result == {"exact_match": 50.0, "f1": 50.0, "total": 2}
    # v2: no-answer gold is "" (an all-article answer counts as none); predicting "" there scores 1
    v2 = squad_metrics(["", "x", ""], [[], ["the"], ["cat"]], version_2_with_negative=True)
    assert (v2["exact_match"], v2["HasAns_total"], v2["NoAns_total"]) == (pytest.approx(100 / 3), 2, 1)
    assert v2["HasAns_exact"] == 0.0 and v2["NoAns_exact"] == 100.0
    # v1.1 gives two empty answers F1 0, v2.0 gives them 1
    assert squad_f1("", "") == 0.0 and squad_f1("", "", version_2_with_negative=True) == 1.0
    assert normalize_answer("Théâtre,  an ÉCOLE") == "théâtre école"


@pytest.mark.parametrize("args,match", [
    ((["a"], [["a"], ["b"]]), "1 predictions for 2 questions"),
    ((["a"], [[]]), "no gold answer"),
    (([], []), "at least one"),
    (("a", [["a"]]), "not a str"),
])
def test_squad_bad_input(args, match):
    with pytest.raises(InputError, match=match):
        squad_metrics(*args)


# ---------------------------------------------------------------------------------------------------------------------
# seqeval

IOB2_TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
IOBES_TAGS = IOB2_TAGS + ["E-PER", "S-PER", "E-LOC", "S-LOC"]


def _seqeval_default_entities(tags):
    # seqeval's end is inclusive; ours is exclusive
    return [(t, s, e + 1) for t, s, e in seqeval_metrics.sequence_labeling.get_entities(list(tags))]


def _seqeval_strict_entities(tags, scheme):
    tokens = seqeval_scheme.Tokens(list(tags), scheme=scheme)
    return [(e.tag, e.start, e.end) for e in tokens.entities]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(IOBES_TAGS), max_size=14))
def test_get_entities_matches_seqeval(tags):
    assert get_entities(tags) == _seqeval_default_entities(tags)
    assert get_entities(tags, mode="strict", scheme="BIOES") == _seqeval_strict_entities(tags, seqeval_scheme.IOBES)
    iob2 = [t if t[0] in "OBI" else "O" for t in tags]
    assert get_entities(iob2, mode="strict", scheme="BIO") == _seqeval_strict_entities(iob2, seqeval_scheme.IOB2)


def _sentences(tag_set):
    return st.lists(st.lists(st.sampled_from(tag_set), min_size=1, max_size=10), min_size=1, max_size=5)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_entity_metrics_match_seqeval(data):
    tag_set, scheme_name, scheme = data.draw(st.sampled_from([(IOB2_TAGS, "BIO", seqeval_scheme.IOB2),
                                                             (IOBES_TAGS, "BIOES", seqeval_scheme.IOBES)]))
    y_true = data.draw(_sentences(tag_set))
    y_pred = [data.draw(st.lists(st.sampled_from(tag_set), min_size=len(s), max_size=len(s))) for s in y_true]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns on 0/0
        for mode, kwargs in (("default", {}), ("strict", {"mode": "strict", "scheme": scheme})):
            ours = entity_metrics(y_true, y_pred, mode=mode, scheme=scheme_name)
            assert ours["precision"] == pytest.approx(seqeval_metrics.precision_score(y_true, y_pred, **kwargs))
            assert ours["recall"] == pytest.approx(seqeval_metrics.recall_score(y_true, y_pred, **kwargs))
            assert ours["f1"] == pytest.approx(seqeval_metrics.f1_score(y_true, y_pred, **kwargs))
            assert ours["accuracy"] == pytest.approx(seqeval_metrics.accuracy_score(y_true, y_pred))
            report = seqeval_metrics.classification_report(y_true, y_pred, output_dict=True, **kwargs)
            for kind, scores in ours["per_type"].items():
                if kind in report:
                    assert scores["precision"] == pytest.approx(report[kind]["precision"])
                    assert scores["recall"] == pytest.approx(report[kind]["recall"])
                    assert scores["f1"] == pytest.approx(report[kind]["f1-score"])
                    assert scores["support"] == report[kind]["support"]
                else:  # seqeval's report lists only types with gold entities
                    assert scores["support"] == 0 and scores["recall"] == 0.0


def test_entity_metrics_hand_computed():
    y_true = [["B-PER", "E-PER", "O", "S-LOC"], ["S-LOC", "O"]]
    y_pred = [["B-PER", "E-PER", "O", "I-LOC"], ["S-LOC", "B-PER"]]
    # default: PER(0,2) right, LOC(3,4) right (I-LOC after O opens an entity), LOC right, PER(1:1,2) wrong
    m = entity_metrics(y_true, y_pred)
    assert (m["precision"], m["recall"]) == (0.75, 1.0)
    # strict BIOES: the I-LOC entity and the lone B-PER are not entities; 2 of 3 gold found
    m = entity_metrics(y_true, y_pred, mode="strict", scheme="BIOES")
    assert (m["precision"], m["recall"]) == (1.0, pytest.approx(2 / 3))
    assert m["per_type"]["LOC"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}


@pytest.mark.parametrize("call,error,match", [
    (lambda: get_entities(["B-PER", "X-PER"]), InputError, "not in the tag set"),
    (lambda: get_entities(["S-PER"], mode="strict", scheme="BIO"), InputError, "not in the tag set"),
    (lambda: get_entities(["PER"]), InputError, "not in the tag set"),
    (lambda: get_entities(["O"], mode="lenient"), UsageError, "mode must be"),
    (lambda: get_entities(["O"], scheme="IOE2"), UsageError, "scheme must be"),
    (lambda: entity_metrics([["O", "O"]], [["O"]]), InputError, "2 gold tags but 1"),
    (lambda: entity_metrics([["O"]], [["O"], ["O"]]), InputError, "as many sentences"),
])
def test_entity_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------------------------------------------------------------
# classification and regression


@pytest.mark.parametrize("seed", range(6))
def test_classification_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    n, classes = int(rng.integers(5, 60)), int(rng.integers(2, 6))
    y = rng.integers(0, classes, n)
    p = np.where(rng.random(n) < 0.6, y, rng.integers(0, classes, n))
    assert accuracy(p, y) == pytest.approx(sklearn_metrics.accuracy_score(y, p))
    assert matthews_corrcoef(p, y) == pytest.approx(sklearn_metrics.matthews_corrcoef(y, p))
    for average in ("macro", "micro"):
        assert f1(p, y, average=average) == pytest.approx(sklearn_metrics.f1_score(y, p, average=average))
    yb, pb = y % 2, p % 2
    assert f1(pb, yb) == pytest.approx(sklearn_metrics.f1_score(yb, pb))
    assert f1(pb, yb, pos_label=0) == pytest.approx(sklearn_metrics.f1_score(yb, pb, pos_label=0))
    # string labels work as well
    names = np.array(["neg", "pos", "neu", "x", "y", "z"])
    assert f1(names[p], names[y], average="macro") == pytest.approx(f1(p, y, average="macro"))


@pytest.mark.parametrize("p,y", [
    ([1, 1, 1, 1], [1, 0, 1, 0]),  # constant predictions
    ([0, 0, 0], [0, 0, 0]),  # a single class on both sides
    ([0, 0, 0], [1, 1, 1]),
    ([2, 2, 2, 2], [0, 1, 2, 2]),
])
def test_classification_degenerate_cases_match_sklearn(p, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns where a ratio is 0/0
        assert matthews_corrcoef(p, y) == sklearn_metrics.matthews_corrcoef(y, p)
        assert f1(p, y, average="macro") == pytest.approx(sklearn_metrics.f1_score(y, p, average="macro"))
        assert f1(p, y, average="micro") == pytest.approx(sklearn_metrics.f1_score(y, p, average="micro"))
        if set(p) | set(y) <= {0, 1}:
            assert f1(p, y) == sklearn_metrics.f1_score(y, p)


def test_classification_hand_computed():
    # tp=1, fp=1, fn=1: F1 = 2/4; MCC of [[1,1],[1,1]] = 0
    assert f1([1, 1, 0, 0], [1, 0, 1, 0]) == 0.5
    assert matthews_corrcoef([1, 1, 0, 0], [1, 0, 1, 0]) == 0.0
    assert matthews_corrcoef([0, 1, 0, 1], [1, 0, 1, 0]) == -1.0
    out = classification_metrics([1, 0, 1, 1], [1, 0, 0, 1])
    assert out["accuracy"] == 0.75 and out["f1"] == pytest.approx(0.8)


@pytest.mark.parametrize("seed", range(6))
def test_correlations_match_scipy(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 50))
    x = rng.normal(size=n)
    y = 0.5 * x + rng.normal(size=n)
    if seed % 2:  # many ties
        x, y = np.round(x), np.round(y * 2) / 2
    assert pearson(x, y) == pytest.approx(scipy_stats.pearsonr(x, y)[0], abs=1e-12)
    assert spearman(x, y) == pytest.approx(scipy_stats.spearmanr(x, y)[0], abs=1e-12)
    assert spearman(list(x), list(y)) == pytest.approx(scipy_stats.spearmanr(x, y)[0], abs=1e-12)
    out = regression_metrics(x, y)
    assert out["mse"] == pytest.approx(float(np.mean((x - y) ** 2)))


def test_constant_input_correlation_is_nan_like_scipy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns about the constant input
        assert np.isnan(scipy_stats.pearsonr([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])[0])
        assert np.isnan(scipy_stats.spearmanr([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])[0])
    assert np.isnan(pearson([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))
    assert np.isnan(spearman([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]))
    assert pearson([1, 2], [3, 1]) == pytest.approx(-1.0)


@pytest.mark.parametrize("call,error,match", [
    (lambda: accuracy([1, 2], [1]), InputError, "2 predictions but 1 labels"),
    (lambda: accuracy([], []), InputError, "at least one"),
    (lambda: accuracy([[1]], [[1]]), InputError, "1-D"),
    (lambda: f1([0, 1, 2], [0, 1, 2]), InputError, "at most two classes"),
    (lambda: f1([0, 1], [0, 1], pos_label=5), InputError, "pos_label=5"),
    (lambda: f1([0, 1], [0, 1], average="weighted"), UsageError, "average must be"),
    (lambda: pearson([1.0], [2.0]), InputError, "at least two"),
    (lambda: spearman([1.0, float("nan")], [2.0, 3.0]), InputError, "NaN"),
    (lambda: pearson(["a", "b"], ["c", "d"]), InputError, "needs numbers"),
])
def test_classification_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
