"""Sequence classification and regression (albert_core.tasks.sequence_classification) against transformers'
text-classification pipeline on single texts and pairs, and the predictions fed to the metrics against
scikit-learn/scipy."""

from __future__ import annotations

import numpy as np
import pytest

from albert_core.errors import InputError, UsageError
from albert_core.metrics import classification_metrics, regression_metrics
from albert_core.tasks import classify, predictions
import task_fixtures as fx

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")
sklearn_metrics = pytest.importorskip("sklearn.metrics")
scipy_stats = pytest.importorskip("scipy.stats")
transformers.logging.set_verbosity_error()

TEXTS = ["First Citizen: Before we proceed any further, hear me speak.", "You are all resolved rather to die",
         "Speak, speak."]
PAIRS = [("We know it.", "Let us kill him"), ("Is it a verdict?", "No more talking on it")]


def _model(num_labels, problem_type=None):
    config = transformers.AlbertConfig(vocab_size=len(fx.ours()), embedding_size=16, hidden_size=32,
                                       num_hidden_layers=1, num_attention_heads=4, intermediate_size=37,
                                       max_position_embeddings=128, num_labels=num_labels, problem_type=problem_type,
                                       id2label={i: f"class_{i}" for i in range(num_labels)})
    torch.manual_seed(num_labels)
    model = transformers.AlbertForSequenceClassification(config).eval()
    with torch.no_grad():
        model.classifier.weight.mul_(30.0)
    return model


@pytest.mark.parametrize("num_labels,problem_type,top_k", [(3, None, None), (3, None, 1), (1, None, 1),
                                                           (4, "multi_label_classification", 2),
                                                           (1, "regression", 1)])
def test_matches_text_classification_pipeline(num_labels, problem_type, top_k):
    from transformers.pipelines.text_classification import TextClassificationPipeline

    model = _model(num_labels, problem_type)
    pipe = TextClassificationPipeline(model=model, tokenizer=fx.hf_fast(), framework="pt")
    inputs = [(t, None) for t in fx.agreeing(TEXTS, minimum=2)] + PAIRS
    id2label = model.config.id2label
    for text, pair in inputs:
        enc = fx.ours()(text, pair, return_tensors="np") if pair else fx.ours()(text, return_tensors="np")
        fast = fx.hf_fast()(text, pair) if pair else fx.hf_fast()(text)
        assert enc["input_ids"][0].tolist() == fast["input_ids"]
        with torch.no_grad():
            logits = model(**{k: torch.tensor(v) for k, v in enc.items()}).logits.numpy()
        ours = classify(logits, id2label, problem_type=problem_type, top_k=top_k)[0]
        theirs = pipe({"text": text, "text_pair": pair} if pair else text, top_k=top_k)
        theirs = theirs if isinstance(theirs, list) else [theirs]
        assert [o["label"] for o in ours] == [t["label"] for t in theirs]
        np.testing.assert_allclose([o["score"] for o in ours], [t["score"] for t in theirs], rtol=1e-5)


def test_functions_by_hand():
    # softmax of [0, ln 3] = [1/4, 3/4]; sigmoid(0) = 1/2; "none" keeps the logits
    out = classify(np.log([[1.0, 3.0]]), ["no", "yes"], top_k=None)[0]
    assert [(o["label"], o["score"]) for o in out] == [("yes", pytest.approx(0.75)), ("no", pytest.approx(0.25))]
    assert classify([[0.0]], ["score"])[0] == [{"label": "score", "score": 0.5}]
    assert classify([[2.5]], ["score"], problem_type="regression")[0][0]["score"] == 2.5
    assert classify([[1.0, 1.0, 0.0]], {0: "a", 1: "b", 2: "c"}, top_k=2)[0][0]["label"] == "a"  # ties: id order
    assert classify([4.0, 1.0], ["a", "b"], function_to_apply="none")[0][0]["score"] == 4.0  # one row as 1-D


@pytest.mark.parametrize("seed", range(3))
def test_predictions_feed_the_metrics(seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(40, 3))
    labels = rng.integers(0, 3, 40)
    predicted = predictions(logits)
    assert predicted.tolist() == logits.argmax(-1).tolist()
    metrics = classification_metrics(predicted, labels)
    assert metrics["accuracy"] == pytest.approx(sklearn_metrics.accuracy_score(labels, predicted))
    assert metrics["f1_macro"] == pytest.approx(sklearn_metrics.f1_score(labels, predicted, average="macro"))
    assert metrics["matthews_corrcoef"] == pytest.approx(sklearn_metrics.matthews_corrcoef(labels, predicted))
    values = rng.normal(size=(30, 1))
    targets = values[:, 0] + rng.normal(size=30)
    reg = regression_metrics(predictions(values, problem_type="regression"), targets)
    assert reg["pearson"] == pytest.approx(scipy_stats.pearsonr(values[:, 0], targets)[0])
    assert reg["spearman"] == pytest.approx(scipy_stats.spearmanr(values[:, 0], targets)[0])
    multi = predictions(logits, problem_type="multi_label_classification", threshold=0.5)
    assert multi.tolist() == (logits > 0).astype(int).tolist()


@pytest.mark.parametrize("call,error,match", [
    (lambda: classify(np.zeros((2, 3)), ["a", "b"]), InputError, r"no name for label ids \[2\]"),
    (lambda: classify(np.zeros((2, 2, 2)), ["a", "b"]), InputError, "must be"),
    (lambda: classify(np.zeros((1, 2)), ["a", "b"], function_to_apply="tanh"), UsageError, "function_to_apply"),
    (lambda: classify(np.zeros((1, 2)), ["a", "b"], top_k=0), UsageError, "top_k"),
    (lambda: classify(np.zeros((1, 2)), ["a", "b"], problem_type="ranking"), UsageError, "problem_type"),
    (lambda: predictions(np.zeros((2, 2)), problem_type="regression"), InputError, "one logit per row"),
])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
