"""Examples -> numpy model inputs and labels for each fine-tuning task, and model outputs -> the task's metrics.

The numpy task logic is :mod:`albert_core.tasks` (QA windows and span decoding, NER label alignment, RACE packing)
and the metrics are :mod:`albert_core.metrics`; this module only wires them to the fine-tuning examples of
:mod:`albert_core.finetuning.data`. Rows are padded to the longest row of the data set (at most ``max_length``).

>>> from albert_core import AlbertTokenizer
>>> from albert_core.filenames import DEFAULT_MODEL_DIR
>>> tok = AlbertTokenizer.from_pretrained(DEFAULT_MODEL_DIR)
>>> examples = [{"text": "My lord", "text_pair": None, "label": "a"}, {"text": "Good", "text_pair": None, "label": "b"}]
>>> labels = infer_labels("text-classification", examples)
>>> features = build_features("text-classification", examples, tok, labels, max_length=16)
>>> labels.names, features.labels["labels"].tolist(), features.inputs["input_ids"].shape[0]
(['a', 'b'], [0, 1], 2)
>>> evaluate_outputs(features, {"logits": np.array([[1.0, 0.0], [1.0, 0.0]])}, labels)["accuracy"]
0.5
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import AlbertWarning, ConfigError, InputError
from .config import canonical_task

REGRESSION = "regression"
SINGLE_LABEL = "single_label_classification"


@dataclass
class LabelSpace:
    """The labels of a run: their names in id order (``None`` for regression, QA and multiple choice) and the
    classification problem type."""

    names: list[str] | None = None
    problem_type: str | None = None

    @property
    def num_labels(self) -> int | None:
        """How many outputs the classifier needs (1 for regression; ``None``: the head decides)."""
        if self.problem_type == REGRESSION:
            return 1
        return len(self.names) if self.names is not None else None

    def model_config_changes(self) -> dict[str, Any]:
        """The :class:`~albert_core.AlbertConfig` fields a model for these labels needs."""
        if self.problem_type == REGRESSION:
            return {"num_labels": 1, "problem_type": REGRESSION}
        if self.names is None:
            return {}
        changes: dict[str, Any] = {"id2label": dict(enumerate(self.names))}
        if self.problem_type is not None:
            changes["problem_type"] = self.problem_type
        return changes

    def encode(self, label: Any, where: str) -> Any:
        """The id (or float for regression) of one label."""
        if self.problem_type == REGRESSION:
            return float(label)
        assert self.names is not None
        if isinstance(label, str) and label in self.names:
            return self.names.index(label)
        number = _as_int(label)
        if number is not None and 0 <= number < len(self.names) and (
                not isinstance(label, str) or str(number) not in self.names or self.names[number] == str(number)):
            return number
        raise InputError(f"{where}: label {label!r} is not one of the labels {self.names}")


def _as_int(label: Any) -> int | None:
    if isinstance(label, bool):
        return None
    if isinstance(label, (int, np.integer)):
        return int(label)
    if isinstance(label, float) and label.is_integer():
        return int(label)
    if isinstance(label, str) and label.strip().lstrip("-").isdigit():
        return int(label)
    return None


def _as_float(label: Any) -> float | None:
    if isinstance(label, bool):
        return None
    if isinstance(label, (int, float, np.integer, np.floating)):
        return float(label)
    if isinstance(label, str):
        try:
            return float(label)
        except ValueError:
            return None
    return None


def infer_labels(task: str, examples: Sequence[Mapping[str, Any]], names: Sequence[str] | None = None) -> LabelSpace:
    """The :class:`LabelSpace` of the training examples.

    Classification: ``names`` when given; else float labels that are not all whole numbers mean regression, whole
    numbers (also as CSV text) mean class ids ``0..max``, and other strings are class names (sorted). Token
    classification: ``names`` when given, else the tag names seen (``O`` first, then sorted); integer tags need
    ``names``.

    >>> infer_labels("classification", [{"label": 0.5}, {"label": "2.25"}]).problem_type
    'regression'
    >>> infer_labels("ner", [{"tags": ["B-PER", "O", "I-PER"]}]).names
    ['O', 'B-PER', 'I-PER']
    """
    task = canonical_task(task)
    if task == "text-classification":
        labels = [e["label"] for e in examples]
        if names is not None:
            return LabelSpace(list(names), SINGLE_LABEL)
        floats = [_as_float(label) for label in labels]
        if all(value is not None for value in floats):
            if not all(float(v).is_integer() for v in floats):  # type: ignore[union-attr]
                return LabelSpace(None, REGRESSION)
            ints = [int(v) for v in floats]  # type: ignore[arg-type]
            if min(ints) < 0:
                raise InputError(f"class ids must be >= 0, got {min(ints)}")
            return LabelSpace([str(i) for i in range(max(ints) + 1)], SINGLE_LABEL)
        if not all(isinstance(label, str) for label in labels):
            kinds = sorted({type(label).__name__ for label in labels})
            raise InputError(f"classification labels must all be names (str) or all numbers, got {kinds}")
        return LabelSpace(sorted(set(labels)), SINGLE_LABEL)
    if task == "token-classification":
        if names is not None:
            return LabelSpace(list(names))
        tags = {tag for e in examples for tag in (e["tags"] or [])}
        if not all(isinstance(tag, str) for tag in tags):
            raise InputError("integer NER tags need their names: pass labels=[...] (e.g. ['O', 'B-PER', 'I-PER'])")
        ordered = sorted(tags - {"O"}, key=lambda t: (t[2:], t[:2]) if len(t) > 2 and t[1] == "-" else (t, ""))
        return LabelSpace((["O"] if "O" in tags else []) + ordered)
    return LabelSpace()


@dataclass
class TaskFeatures:
    """The rows of one data set: ``inputs`` (int64 model inputs), ``labels`` (the head's label arguments; empty
    without labels), the ``examples`` they came from and what evaluation needs (``extra``)."""

    task: str
    inputs: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    examples: list[dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_rows(self) -> int:
        """Rows (QA windows may outnumber the examples)."""
        return int(self.inputs["input_ids"].shape[0])

    def arrays(self) -> dict[str, np.ndarray]:
        """Inputs and labels in one dict (keyword arguments of the model)."""
        return {**self.inputs, **self.labels}

    def batch(self, rows: np.ndarray | slice) -> dict[str, np.ndarray]:
        """The inputs and labels of ``rows``."""
        return {k: v[rows] for k, v in self.arrays().items()}


def _check_lengths(where: str, lengths: Sequence[int], max_length: int) -> None:
    longer = sum(1 for n in lengths if n > max_length)
    if longer:
        warnings.warn(f"{where}: {longer} of {len(lengths)} examples have more than max_length={max_length} tokens "
                      "and are cut to it", AlbertWarning, stacklevel=3)


def build_features(task: str, examples: Sequence[Mapping[str, Any]], tokenizer: Any, labels: LabelSpace, *,
                   max_length: int = 128, doc_stride: int = 32, max_query_length: int = 64,
                   label_all_tokens: bool = False, with_labels: bool = True, name: str = "data") -> TaskFeatures:
    """Numpy rows for ``examples`` (from :func:`albert_core.finetuning.data.load_examples`).

    Args:
        task: the task name.
        examples: the examples.
        tokenizer: an ``AlbertTokenizer``.
        labels: from :func:`infer_labels` on the training examples.
        max_length: tokens per row. Classification rows that are longer are cut (with a warning); a token
            classification sentence that is longer raises :class:`~albert_core.InputError`; QA contexts are cut
            into windows that overlap by ``doc_stride`` tokens (questions longer than ``max_query_length`` are cut).
        label_all_tokens: token classification: label every sub-word.
        with_labels: build the label arrays.
        name: names the data set in messages.
    """
    task = canonical_task(task)
    examples = list(examples)
    if not examples:
        raise InputError(f"{name}: no examples")
    if task == "text-classification":
        texts = [e["text"] for e in examples]
        pairs = [e["text_pair"] for e in examples]
        has_pairs = any(p is not None for p in pairs)
        if has_pairs and not all(p is not None for p in pairs):
            raise InputError(f"{name}: some examples are pairs and some single texts; use one layout")
        full = tokenizer(texts, pairs if has_pairs else None)["input_ids"]
        _check_lengths(name, [len(ids) for ids in full], max_length)
        enc = tokenizer(texts, pairs if has_pairs else None, truncation=True, max_length=max_length, padding=True,
                        return_tensors="np")
        inputs = {k: np.asarray(enc[k], dtype=np.int64) for k in ("input_ids", "token_type_ids", "attention_mask")}
        out = {}
        if with_labels:
            values = [labels.encode(e["label"], f"{name}, example {i}") for i, e in enumerate(examples)]
            dtype = np.float32 if labels.problem_type == REGRESSION else np.int64
            out["labels"] = np.asarray(values, dtype=dtype)
        return TaskFeatures(task, inputs, out, examples)
    if task == "token-classification":
        words = [e["tokens"] for e in examples]
        tags = [e["tags"] for e in examples] if with_labels else None
        if tags is not None and labels.names is not None:
            tags = [[labels.names[labels.encode(t, f"{name}, sentence {k}")] for t in sentence]
                    for k, sentence in enumerate(tags)]
        try:
            enc = _tokenize_words(tokenizer, words, tags, labels, label_all_tokens, max_length)
        except InputError as exc:
            raise InputError(f"{name}: {exc}".replace("pass truncation=True to cut it (the labels of cut words are "
                                                      "lost)", "raise max_length")) from None
        inputs = {k: np.asarray(enc[k], dtype=np.int64) for k in ("input_ids", "token_type_ids", "attention_mask")}
        out = {"labels": np.asarray(enc["labels"], dtype=np.int64)} if tags is not None else {}
        return TaskFeatures(task, inputs, out, examples, {"word_ids": enc["word_ids"], "gold_tags": tags})
    if task == "question-answering":
        from ..tasks import prepare_qa_features

        answers = None
        if with_labels:
            answers = [e["answers"] if e["answers"] and e["answers"]["text"] else None for e in examples]
        features = prepare_qa_features(tokenizer, [e["question"] for e in examples], [e["context"] for e in examples],
                                       max_length=max_length, doc_stride=doc_stride,
                                       max_query_length=max_query_length, answers=answers, padding="longest")
        out = {}
        if answers is not None:
            out = {k: np.asarray(features[k], dtype=np.int64) for k in ("start_positions", "end_positions")}
        return TaskFeatures(task, features.model_inputs(), out, examples, {"qa_features": features})
    if task == "multiple-choice":
        from ..tasks import prepare_multiple_choice

        answers = [e["answer"] for e in examples] if with_labels else None
        batch = prepare_multiple_choice(tokenizer, [e["article"] for e in examples],
                                        [e["question"] for e in examples], [list(e["options"]) for e in examples],
                                        answers, max_length=max_length, padding="longest")
        inputs = {k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
        out = {"labels": batch["labels"]} if answers is not None else {}
        return TaskFeatures(task, inputs, out, examples)
    raise ConfigError(f"no features for task {task!r}")  # pragma: no cover - canonical_task checked it


def _tokenize_words(tokenizer: Any, words: list, tags: list | None, labels: LabelSpace, label_all_tokens: bool,
                    max_length: int) -> dict[str, list]:
    from ..tasks import tokenize_and_align_labels

    return tokenize_and_align_labels(tokenizer, words, tags, label_list=labels.names,
                                     label_all_tokens=label_all_tokens, max_length=max_length, truncation=False,
                                     padding="longest")


def _word_predictions(logits: np.ndarray, word_ids: Sequence[int | None], names: Sequence[str], n_words: int
                      ) -> list[str]:
    """The tag of each word: the prediction at its first sub-word."""
    predicted = np.asarray(logits).argmax(axis=-1)
    tags = ["O"] * n_words
    seen = set()
    for position, word in enumerate(word_ids):
        if word is not None and word not in seen:
            seen.add(word)
            tags[word] = names[int(predicted[position])]
    return tags


def evaluate_outputs(features: TaskFeatures, outputs: Mapping[str, np.ndarray], labels: LabelSpace, *,
                     version_2_with_negative: bool | None = None) -> dict[str, float]:
    """The task's metrics from the model outputs on every row of ``features`` (numpy arrays by output name).

    ==========================  =================================================================================
    task                        metrics (:mod:`albert_core.metrics`)
    ==========================  =================================================================================
    classification              ``accuracy``, ``f1_macro``, ``f1_micro``, ``matthews_corrcoef`` (+ ``f1`` for 0/1)
    regression                  ``pearson``, ``spearman``, ``pearson_spearman_mean``, ``mse``
    token classification        entity ``precision``, ``recall``, ``f1`` (seqeval semantics) and token ``accuracy``
    question answering          SQuAD ``exact_match`` and ``f1`` (percentages)
    multiple choice             ``accuracy``
    ==========================  =================================================================================
    """
    from .. import metrics

    task = features.task
    if not features.labels:
        raise InputError("evaluation needs labelled data")
    if task == "text-classification":
        from ..tasks import predictions

        predicted = predictions(outputs["logits"], problem_type=labels.problem_type)
        gold = features.labels["labels"]
        if labels.problem_type == REGRESSION:
            return metrics.regression_metrics(predicted.tolist(), gold.tolist())
        return metrics.classification_metrics(predicted.tolist(), gold.tolist())
    if task == "token-classification":
        assert labels.names is not None
        gold = features.extra["gold_tags"]
        predicted = [_word_predictions(outputs["logits"][k], features.extra["word_ids"][k], labels.names, len(tags))
                     for k, tags in enumerate(gold)]
        result = metrics.entity_metrics(gold, predicted)
        return {k: float(result[k]) for k in ("precision", "recall", "f1", "accuracy")}
    if task == "question-answering":
        from ..tasks import decode_qa

        golds = [e["answers"]["text"] if e["answers"] else [] for e in features.examples]
        v2 = any(not g for g in golds) if version_2_with_negative is None else version_2_with_negative
        answers = decode_qa(outputs["start_logits"], outputs["end_logits"], features.extra["qa_features"],
                            version_2_with_negative=v2)
        result = metrics.squad_metrics([a["answer"] for a in answers], golds, version_2_with_negative=v2)
        return {k: float(v) for k, v in result.items() if k in ("exact_match", "f1", "HasAns_f1", "NoAns_f1")}
    if task == "multiple-choice":
        predicted = np.asarray(outputs["logits"]).argmax(axis=-1)
        return {"accuracy": metrics.accuracy(predicted.tolist(), features.labels["labels"].tolist())}
    raise ConfigError(f"no metrics for task {task!r}")  # pragma: no cover


#: The output names each task's evaluation reads.
OUTPUT_NAMES = {
    "text-classification": ("logits",),
    "token-classification": ("logits",),
    "question-answering": ("start_logits", "end_logits"),
    "multiple-choice": ("logits",),
}


__all__ = ["OUTPUT_NAMES", "LabelSpace", "TaskFeatures", "build_features", "evaluate_outputs", "infer_labels"]
