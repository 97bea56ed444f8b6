"""Fine-tuning data: readers for the usual layouts (incl. malformed files), labels, features against the slow
transformers tokenizer, and the task metrics against scikit-learn / seqeval / hand-computed values."""

from __future__ import annotations

import json

import numpy as np
import pytest

from albert_core import AlbertTokenizer
from albert_core.errors import ConfigError, InputError
from albert_core.filenames import DEFAULT_MODEL_DIR
from albert_core.finetuning import (FinetuneConfig, build_features, evaluate_outputs, infer_labels, load_examples,
                                    make_schedule)
from albert_core.finetuning.data import dataset_label_names


@pytest.fixture(scope="module")
def tokenizer():
    return AlbertTokenizer.from_pretrained(DEFAULT_MODEL_DIR)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------- readers


def test_glue_jsonl_csv_tsv(tmp_path):
    jsonl = write(tmp_path, "a.jsonl", '{"sentence": "Good", "label": 1}\n\n{"sentence": "Bad", "label": 0}\n')
    assert load_examples("classification", jsonl) == [{"text": "Good", "text_pair": None, "label": 1},
                                                       {"text": "Bad", "text_pair": None, "label": 0}]
    csv_file = write(tmp_path, "b.csv", 'sentence1,sentence2,label\n"A, b",C,entailment\nD,E,neutral\n')
    assert load_examples("text-classification", csv_file)[0] == {"text": "A, b", "text_pair": "C",
                                                                "label": "entailment"}
    tsv = write(tmp_path, "c.tsv", "question\tsentence\tlabel\nWho?\tHim.\t0\n")
    assert load_examples("glue", tsv) == [{"text": "Who?", "text_pair": "Him.", "label": "0"}]


@pytest.mark.parametrize("text, message", [
    ('{"sentence": "a", "label": 1}\n{"sentence": "b"}\n', "b.jsonl, line 2: missing field 'label'"),
    ('{"sentence": "a", "label": 1}\n{"sentence": "b", \n', "b.jsonl, line 2: not valid JSON"),
    ('{"label": 1}\n', "line 1: missing field 'sentence'"),
    ('[1, 2]\n', "line 1: expected a JSON object"),
    ('{"sentence": 3, "label": 1}\n', "field 'sentence' must be a string"),
])
def test_malformed_jsonl_names_file_line_and_field(tmp_path, text, message):
    path = write(tmp_path, "b.jsonl", text)
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        load_examples("classification", path)


def test_malformed_csv_and_missing_file(tmp_path):
    path = write(tmp_path, "bad.csv", "sentence,label\nfine,1\ntoo,many,cells\n")
    with pytest.raises(InputError, match="bad.csv, line 3: more cells"):
        load_examples("classification", path)
    with pytest.raises(InputError, match="no such data file"):
        load_examples("classification", tmp_path / "missing.jsonl")
    with pytest.raises(InputError, match="unknown data file type '.xml'"):
        load_examples("classification", write(tmp_path, "x.xml", "<a/>"))


SQUAD_V2 = {"version": "v2.0", "data": [{"title": "T", "paragraphs": [{"context": "Romeo loves Juliet.", "qas": [
    {"id": "a", "question": "Who loves?", "answers": [{"text": "Romeo", "answer_start": 0}], "is_impossible": False},
    {"id": "b", "question": "Who hates?", "answers": [], "plausible_answers": [], "is_impossible": True}]}]}]}


def test_squad_json_and_flat_jsonl(tmp_path):
    examples = load_examples("squad", write(tmp_path, "train.json", json.dumps(SQUAD_V2)))
    assert [(e["id"], e["answers"]) for e in examples] == [
        ("a", {"text": ["Romeo"], "answer_start": [0]}), ("b", {"text": [], "answer_start": []})]
    flat = write(tmp_path, "flat.jsonl", json.dumps({"question": "Who?", "context": "Romeo loves Juliet.",
                                                     "answers": {"text": ["Juliet"], "answer_start": [12]}}) + "\n")
    assert load_examples("qa", flat)[0]["answers"]["text"] == ["Juliet"]
    wrong = write(tmp_path, "wrong.jsonl", json.dumps({"question": "Who?", "context": "Romeo loves Juliet.",
                                                      "answers": {"text": ["Juliet"], "answer_start": [3]}}) + "\n")
    with pytest.raises(InputError, match="wrong.jsonl, line 1: the answer 'Juliet' is not at answer_start 3"):
        load_examples("qa", wrong)
    broken = dict(SQUAD_V2, data=[{"paragraphs": [{"qas": []}]}])
    with pytest.raises(InputError, match=r"data\[0\].paragraphs\[0\]: missing field 'context'"):
        load_examples("qa", write(tmp_path, "broken.json", json.dumps(broken)))


def test_conll_and_token_jsonl(tmp_path):
    conll = write(tmp_path, "d.conll", "-DOCSTART- -X- O O\n\nRomeo NNP B-PER\nspeaks VBZ O\n\n\nJuliet NNP B-PER\n")
    assert load_examples("ner", conll) == [{"tokens": ["Romeo", "speaks"], "tags": ["B-PER", "O"]},
                                           {"tokens": ["Juliet"], "tags": ["B-PER"]}]
    bad = write(tmp_path, "bad.conll", "Romeo B-PER\nspeaks\n")
    with pytest.raises(InputError, match="bad.conll, line 2: expected a token and its tag"):
        load_examples("ner", bad)
    jsonl = write(tmp_path, "t.jsonl", '{"tokens": ["a", "b"], "ner_tags": [0, 1]}\n'
                                       '{"tokens": ["a"], "ner_tags": [0, 1]}\n')
    with pytest.raises(InputError, match="t.jsonl, line 2: 1 tokens but 2 tags"):
        load_examples("token-classification", jsonl)


def test_race_layout(tmp_path):
    path = write(tmp_path, "r.jsonl", '{"article": "A", "question": "Q _", "options": ["a", "b"], "answer": "B"}\n'
                                      '{"article": "A", "question": "Q", "options": ["a", "b"], "answer": "E"}\n')
    with pytest.raises(InputError, match="r.jsonl, line 2: field 'answer'.*names choice 4"):
        load_examples("race", path)
    assert load_examples("mc", path, limit=1)[0]["answer"] == "B"


class FakeDataset:
    """What the readers use of a ``datasets.Dataset``: column_names, features, indexing and len (no __iter__)."""

    class _ClassLabel:
        names = ["neg", "pos"]

    def __init__(self, rows):
        self.rows = rows
        self.column_names = list(rows[0])
        self.features = {"label": self._ClassLabel()}

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        if not 0 <= i < len(self.rows):
            raise IndexError(i)
        return self.rows[i]


def test_duck_typed_dataset():
    dataset = FakeDataset([{"sentence": "Good", "label": 1}, {"sentence": "Bad"}])
    assert dataset_label_names(dataset, "label") == ["neg", "pos"]
    with pytest.raises(InputError, match="dataset row 1: missing field 'label'"):
        load_examples("classification", dataset)
    assert load_examples("classification", dataset, limit=1)[0]["label"] == 1


def test_real_datasets_dataset_if_installed():
    datasets = pytest.importorskip("datasets")
    features = datasets.Features({"sentence": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["neg", "pos"])})
    dataset = datasets.Dataset.from_dict({"sentence": ["a", "b"], "label": [1, 0]}, features=features)
    assert [e["label"] for e in load_examples("classification", dataset)] == [1, 0]
    assert dataset_label_names(dataset, "label") == ["neg", "pos"]


# ---------------------------------------------------------------------------------------------- labels, config


def test_label_inference():
    assert infer_labels("classification", [{"label": "1"}, {"label": "0"}]).names == ["0", "1"]
    regression = infer_labels("classification", [{"label": "3.8"}, {"label": 1}])
    assert regression.problem_type == "regression" and regression.model_config_changes()["num_labels"] == 1
    assert infer_labels("classification", [{"label": "b"}, {"label": "a"}]).names == ["a", "b"]
    with pytest.raises(InputError, match="integer NER tags need their names"):
        infer_labels("ner", [{"tags": [0, 1]}])
    with pytest.raises(InputError, match="label 'c' is not one of the labels"):
        infer_labels("classification", [{"label": "a"}]).encode("c", "x")


def test_config_validation_and_schedule():
    with pytest.raises(ConfigError, match="unknown task 'summarize'"):
        FinetuneConfig(task="summarize", model="m", out="o")
    with pytest.raises(ConfigError, match="warmup_ratio must be in"):
        FinetuneConfig(task="qa", model="m", out="o", warmup_ratio=2.0).validate()
    schedule = make_schedule(FinetuneConfig(task="qa", model="m", out="o", epochs=1, learning_rate=0.1,
                                            warmup_ratio=0.2), steps_per_epoch=10)
    # hand-computed: 2 warm-up steps (0, 0.05), peak 0.1 at step 2, then linear to 0 at step 10
    expected = [0.0, 0.05, 0.1, 0.0875, 0.075, 0.0625, 0.05, 0.0375, 0.025, 0.0125]
    assert np.allclose([schedule(k) for k in range(10)], expected)


# ---------------------------------------------------------------------------------------------- features


def test_classification_features_match_transformers_tokenizer(tokenizer):
    transformers = pytest.importorskip("transformers")
    oracle = transformers.AlbertTokenizer(str(DEFAULT_MODEL_DIR / "spiece.model"))
    examples = [{"text": "My lord, the king is come.", "text_pair": "Good morrow.", "label": "a"},
                {"text": "Speak, speak.", "text_pair": "O Romeo, Romeo! wherefore art thou Romeo?", "label": "b"}]
    labels = infer_labels("classification", examples)
    with pytest.warns(UserWarning, match="of 2 examples have more than max_length=14"):
        features = build_features("classification", examples, tokenizer, labels, max_length=14)
    expected = oracle([e["text"] for e in examples], [e["text_pair"] for e in examples], truncation=True,
                      max_length=14, padding=True, return_tensors="np")
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        np.testing.assert_array_equal(features.inputs[key], expected[key])
    assert features.labels["labels"].tolist() == [0, 1]


def test_token_features_and_entity_metrics_match_seqeval(tokenizer):
    seqeval = pytest.importorskip("seqeval.metrics")
    examples = [{"tokens": ["Romeo", "loves", "Juliet", "Capulet"], "tags": ["B-PER", "O", "B-PER", "I-PER"]},
                {"tokens": ["Speak", "Marcius"], "tags": ["O", "B-PER"]}]
    labels = infer_labels("ner", examples)
    assert labels.names == ["O", "B-PER", "I-PER"]
    features = build_features("ner", examples, tokenizer, labels, max_length=32)
    # first sub-word of each word gets the word's label, the others and the special tokens -100
    for k, example in enumerate(examples):
        word_ids = features.extra["word_ids"][k]
        firsts = [i for i, w in enumerate(word_ids) if w is not None and (i == 0 or word_ids[i - 1] != w)]
        assert [labels.names[features.labels["labels"][k][i]] for i in firsts] == example["tags"]
        others = [i for i in range(len(word_ids)) if i not in firsts]
        assert all(features.labels["labels"][k][i] == -100 for i in others)
    # predict: sentence 0 gets "Juliet" as B-PER and "Capulet" as O (a wrong entity); sentence 1 right
    predicted_tags = [["B-PER", "O", "B-PER", "O"], ["O", "B-PER"]]
    logits = np.zeros(features.inputs["input_ids"].shape + (3,))
    for k, tags in enumerate(predicted_tags):
        for i, w in enumerate(features.extra["word_ids"][k]):
            if w is not None:
                logits[k, i, labels.names.index(tags[w])] = 5.0
    result = evaluate_outputs(features, {"logits": logits}, labels)
    gold = [e["tags"] for e in examples]
    assert result["f1"] == pytest.approx(seqeval.f1_score(gold, predicted_tags))
    assert result["precision"] == pytest.approx(seqeval.precision_score(gold, predicted_tags))
    assert result["recall"] == pytest.approx(seqeval.recall_score(gold, predicted_tags))


def test_too_long_ner_sentence_is_an_error(tokenizer):
    examples = [{"tokens": ["word"] * 20, "tags": ["O"] * 20}]
    with pytest.raises(InputError, match="sentence 0 has 22 tokens.*raise max_length"):
        build_features("ner", examples, tokenizer, infer_labels("ner", examples), max_length=10)


def test_classification_metrics_match_sklearn(tokenizer):
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    examples = [{"text": f"line {i}", "text_pair": None, "label": int(rng.integers(0, 2))} for i in range(20)]
    labels = infer_labels("classification", examples)
    features = build_features("classification", examples, tokenizer, labels, max_length=16)
    logits = rng.standard_normal((20, 2))
    result = evaluate_outputs(features, {"logits": logits}, labels)
    gold, predicted = features.labels["labels"], logits.argmax(-1)
    assert result["accuracy"] == pytest.approx(sklearn_metrics.accuracy_score(gold, predicted))
    assert result["f1"] == pytest.approx(sklearn_metrics.f1_score(gold, predicted))
    assert result["matthews_corrcoef"] == pytest.approx(sklearn_metrics.matthews_corrcoef(gold, predicted))


def test_regression_metrics_match_scipy(tokenizer):
    stats = pytest.importorskip("scipy.stats")
    examples = [{"text": f"line {i}", "text_pair": None, "label": v} for i, v in enumerate([0.5, 1.5, 2.25, 4.0])]
    labels = infer_labels("regression", examples)
    features = build_features("regression", examples, tokenizer, labels, max_length=16)
    predicted = np.array([[0.4], [2.0], [1.9], [3.5]])
    result = evaluate_outputs(features, {"logits": predicted}, labels)
    assert result["pearson"] == pytest.approx(stats.pearsonr(predicted[:, 0], [0.5, 1.5, 2.25, 4.0])[0])
    assert result["spearman"] == pytest.approx(stats.spearmanr(predicted[:, 0], [0.5, 1.5, 2.25, 4.0])[0])


def test_qa_features_and_squad_metrics(tokenizer):
    examples = [{"id": "a", "question": "Who loves?", "context": "Romeo loves Juliet.",
                 "answers": {"text": ["Romeo"], "answer_start": [0]}},
                {"id": "b", "question": "Who is loved?", "context": "Romeo loves Juliet.",
                 "answers": {"text": ["Juliet"], "answer_start": [12]}}]
    features = build_features("qa", examples, tokenizer, infer_labels("qa", examples), max_length=32,
                              doc_stride=8)
    starts, ends = features.labels["start_positions"], features.labels["end_positions"]
    offsets = features.extra["qa_features"]["offset_mapping"]
    for k, example in enumerate(examples):  # the labelled tokens cover the answer's characters
        begin, end = offsets[k][starts[k]][0], offsets[k][ends[k]][1]
        assert example["context"][begin:end].strip() == example["answers"]["text"][0]
    # predict the gold span for question 0 and question 0's span ("Romeo") for question 1: EM 50, F1 50
    start_logits = np.zeros(features.inputs["input_ids"].shape)
    end_logits = np.zeros_like(start_logits)
    for k in range(2):
        start_logits[k, starts[0]] = end_logits[k, ends[0]] = 10.0
    result = evaluate_outputs(features, {"start_logits": start_logits, "end_logits": end_logits},
                              infer_labels("qa", examples))
    assert result == {"exact_match": 50.0, "f1": 50.0}


def test_multiple_choice_features(tokenizer):
    examples = [{"article": "Romeo loves Juliet.", "question": "Who loves _?", "options": ["Juliet", "Rome"],
                 "answer": "A"},
                {"article": "Speak.", "question": "What?", "options": ["x", "y"], "answer": 1}]
    features = build_features("mc", examples, tokenizer, infer_labels("mc", examples), max_length=24)
    assert features.inputs["input_ids"].shape[:2] == (2, 2) and features.labels["labels"].tolist() == [0, 1]
    result = evaluate_outputs(features, {"logits": np.array([[1.0, 0.0], [1.0, 0.0]])},
                              infer_labels("mc", examples))
    assert result == {"accuracy": 0.5}
