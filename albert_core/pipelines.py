"""Pipelines: raw text in, plain Python answers out, for every ALBERT task, shared by both backends.

A pipeline does everything but the forward pass here, on numpy: it checks the inputs, tokenizes them, sorts the rows
by length and cuts them into batches of similar lengths (so that little padding is computed), calls a backend
*runner* on each batch, puts the outputs back in the caller's order, and turns them into answers with the task logic
of ``albert_core.tasks``. A runner is any callable that maps a dict of int64 arrays (``input_ids``,
``token_type_ids``, ``attention_mask``, each ``[batch, seq]``, or ``[batch, choices, seq]`` for multiple choice) to a
dict of float arrays (the model's output fields: ``logits``, ``start_logits``, ``last_hidden_state``, ...).
:func:`albert_pt.pipelines.pipeline` and :func:`albert_tf.pipelines.pipeline` build the runner from a model and call
:func:`make_pipeline`.

The tasks, their inputs and results, and their defaults follow transformers' pipelines of the same name
(``multiple-choice`` has no transformers twin); ``docs/pipelines.rst`` has the table:

* :class:`FillMaskPipeline` (``fill-mask``): a text with ``[MASK]`` -> its best fills;
* :class:`TextClassificationPipeline` (``text-classification``): a text or a pair -> label and score;
* :class:`TokenClassificationPipeline` (``token-classification``): a text -> its entities;
* :class:`QuestionAnsweringPipeline` (``question-answering``): a question and a context -> the answer span;
* :class:`MultipleChoicePipeline` (``multiple-choice``): a question, its options and a passage -> the best option;
* :class:`FeatureExtractionPipeline` (``feature-extraction``): a text -> the last hidden state.

One input gives one result, a list of inputs a list of results in the same order. Nothing is cut silently: a text
longer than the model's positions raises :class:`~albert_core.errors.InputError` (question answering slides windows
over long contexts instead).

>>> import numpy as np
>>> from albert_core import AlbertConfig, AlbertTokenizer
>>> from albert_core.filenames import DEFAULT_MODEL_DIR
>>> tok = AlbertTokenizer.from_pretrained(DEFAULT_MODEL_DIR)
>>> config = AlbertConfig.from_pretrained(DEFAULT_MODEL_DIR).copy(id2label={0: "bad", 1: "good"})
>>> def runner(batch):  # a stand-in for a model: "good" when the row holds the piece of "lord"
...     lord = tok.convert_tokens_to_ids("▁lord")
...     hits = (batch["input_ids"] == lord).any(axis=-1).astype(float)
...     return {"logits": np.stack([1 - hits, hits], axis=-1) * 2.0}
>>> classify = make_pipeline("text-classification", runner, tok, config)
>>> classify(["my good lord", "the king"])
[{'label': 'good', 'score': 0.8807970779778823}, {'label': 'bad', 'score': 0.8807970779778823}]
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path
from typing import Any, Callable, ContextManager, Mapping, Sequence

import numpy as np

from .errors import AlbertWarning, InputError, UsageError
from .filenames import DEFAULT_MODEL_DIR
from .heads import Head
from .tasks import classify, decode_entities, fill_mask_predictions, prepare_multiple_choice, prepare_qa_features
from .tasks import join_question_option, resolve_targets

__all__ = [
    "TASKS",
    "TASK_ALIASES",
    "FeatureExtractionPipeline",
    "FillMaskPipeline",
    "MultipleChoicePipeline",
    "Pipeline",
    "QuestionAnsweringPipeline",
    "Runner",
    "TextClassificationPipeline",
    "TokenClassificationPipeline",
    "check_task",
    "build_pipeline",
    "make_pipeline",
    "quiet_load",
    "run_batched",
    "task_heads",
]

#: The type of a backend's forward pass, from model inputs (int64 arrays) to output fields (float arrays), batch first.
Runner = Callable[[Mapping[str, np.ndarray]], Mapping[str, np.ndarray]]

#: The tasks, in the order of the documentation.
TASKS = ("fill-mask", "text-classification", "token-classification", "question-answering", "multiple-choice",
         "feature-extraction")
#: Other names transformers accepts for the same tasks.
TASK_ALIASES = {"sentiment-analysis": "text-classification", "ner": "token-classification"}

_INPUT_KEYS = ("input_ids", "token_type_ids", "attention_mask")
_NOT_GIVEN: Any = object()


def check_task(task: str) -> str:
    """The canonical name of ``task`` (aliases resolved).

    >>> check_task("ner")
    'token-classification'

    Raises:
        UsageError: for a task that is not one of :data:`TASKS` (or an alias).
    """
    if not isinstance(task, str):
        raise UsageError(f"task must be a str, got {type(task).__name__}")
    task = TASK_ALIASES.get(task, task)
    if task not in TASKS:
        raise UsageError(f"unknown pipeline task {task!r}; the tasks are {', '.join(TASKS)} "
                         f"(aliases: {', '.join(TASK_ALIASES)})")
    return task


def task_heads(task: str) -> tuple[Head, ...]:
    """The heads a model for ``task`` may have, the one to build first (fill-mask also runs a pre-training model;
    feature extraction runs the bare :class:`~albert_core.heads.Head` ``BASE`` model).

    >>> [h.value for h in task_heads("fill-mask")]
    ['masked_lm', 'pretraining']
    """
    return {
        "fill-mask": (Head.MASKED_LM, Head.PRETRAINING),
        "text-classification": (Head.SEQUENCE_CLASSIFICATION,),
        "token-classification": (Head.TOKEN_CLASSIFICATION,),
        "question-answering": (Head.QUESTION_ANSWERING,),
        "multiple-choice": (Head.MULTIPLE_CHOICE,),
        "feature-extraction": (Head.BASE,),
    }[check_task(task)]


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise UsageError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def run_batched(runner: Runner, rows: Sequence[Mapping[str, Any]], *, batch_size: int, pad_token_id: int,
                token_outputs: Sequence[str] = ()) -> list[dict[str, np.ndarray]]:
    """Run ``runner`` on ``rows`` of different lengths with little padding, and return one output per row, in the
    order of ``rows``.

    Rows are sorted by length (stable) and cut into batches of ``batch_size``; each batch is padded on the right to
    its longest row (``input_ids`` with ``pad_token_id``, the other inputs with 0). Rows whose leading shape differs
    (multiple choice with different numbers of options) never share a batch. Output fields named in
    ``token_outputs`` (``[batch, seq, ...]``) are cut back to each row's own length.

    Args:
        runner: see :data:`Runner`.
        rows: per row, ``input_ids`` and the other inputs as int sequences of the same shape ``[seq]`` (or
            ``[choices, seq]``), unpadded.
        batch_size: rows per call of ``runner``.
        pad_token_id: the tokenizer's pad id.
        token_outputs: the output fields with a sequence axis.

    >>> seen = []
    >>> def runner(batch):
    ...     seen.append(batch["input_ids"].shape)
    ...     return {"logits": batch["input_ids"].sum(axis=1, keepdims=True).astype(float)}
    >>> rows = [{"input_ids": ids} for ids in ([1, 2, 3], [4], [5, 6, 7, 8], [9])]
    >>> [out["logits"].tolist() for out in run_batched(runner, rows, batch_size=2, pad_token_id=0)]
    [[6.0], [4.0], [26.0], [9.0]]
    >>> seen  # [4] and [9] together, then the two long rows
    [(2, 1), (2, 4)]
    """
    batch_size = _positive_int(batch_size, "batch_size")
    arrays = []
    for k, row in enumerate(rows):
        if "input_ids" not in row:
            raise InputError(f"row {k} has no input_ids")
        converted = {key: np.asarray(value, dtype=np.int64) for key, value in row.items() if key in _INPUT_KEYS}
        shape = converted["input_ids"].shape
        if not shape or shape[-1] == 0:
            raise InputError(f"row {k} has no tokens")
        for key, value in converted.items():
            if value.shape != shape:
                raise InputError(f"row {k}: {key} has shape {value.shape}, input_ids {shape}")
        arrays.append(converted)
    order = sorted(range(len(arrays)), key=lambda i: (arrays[i]["input_ids"].shape[:-1],
                                                      arrays[i]["input_ids"].shape[-1]))
    results: list[dict[str, np.ndarray] | None] = [None] * len(arrays)
    position = 0
    while position < len(order):
        lead = arrays[order[position]]["input_ids"].shape[:-1]
        chunk = [order[position]]
        while (len(chunk) < batch_size and position + len(chunk) < len(order)
               and arrays[order[position + len(chunk)]]["input_ids"].shape[:-1] == lead):
            chunk.append(order[position + len(chunk)])
        position += len(chunk)
        lengths = [arrays[i]["input_ids"].shape[-1] for i in chunk]
        longest = max(lengths)
        batch = {}
        for key in arrays[chunk[0]]:
            fill = pad_token_id if key == "input_ids" else 0
            padded = np.full((len(chunk), *lead, longest), fill, dtype=np.int64)
            for j, i in enumerate(chunk):
                padded[j, ..., : lengths[j]] = arrays[i][key]
            batch[key] = padded
        if "attention_mask" not in batch:
            mask = np.zeros((len(chunk), *lead, longest), dtype=np.int64)
            for j, length in enumerate(lengths):
                mask[j, ..., :length] = 1
            batch["attention_mask"] = mask
        outputs = runner(batch)
        for j, i in enumerate(chunk):
            out = {}
            for key, value in outputs.items():
                value = np.asarray(value)[j]
                out[key] = value[: lengths[j]] if key in token_outputs else value
            results[i] = out
    return results  # type: ignore[return-value]


class Pipeline:
    """What every task's pipeline shares: the runner, the tokenizer, the model's configuration, the batch size and
    the call options (given when the pipeline is made, overridden per call).

    Subclasses set ``task`` and ``options`` (the call options and their defaults) and implement ``_run``; call a
    pipeline with one input or a list of inputs.
    """

    task: str = ""
    #: The call options of the task and their defaults.
    options: dict[str, Any] = {}

    def __init__(self, runner: Runner, tokenizer: Any, config: Any, *, batch_size: int = 8,
                 **options: Any) -> None:
        if not callable(runner):
            raise UsageError(f"runner must be callable, got {type(runner).__name__}")
        if tokenizer is None:
            raise UsageError(f"the {self.task} pipeline needs a tokenizer")
        self.runner = runner
        #: The backend model the runner calls, when the pipeline was built by a backend's ``pipeline``.
        self.model: Any = None
        self.tokenizer = tokenizer
        self.config = config
        self.batch_size = _positive_int(batch_size, "batch_size")
        self.defaults = self._checked(options)

    def _checked(self, options: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            raise UsageError(f"the {self.task} pipeline has no option {', '.join(map(repr, unknown))}; its options "
                             f"are {', '.join(self.options) or 'none'}")
        return dict(options)

    def _settings(self, options: Mapping[str, Any]) -> dict[str, Any]:
        return {**self.options, **self.defaults, **self._checked(options)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(task={self.task!r}, batch_size={self.batch_size})"

    @property
    def max_length(self) -> int:
        """The longest row the model takes (the smaller of its position count and the tokenizer's
        ``model_max_length``)."""
        limits = [int(getattr(self.config, "max_position_embeddings", 0) or 0),
                  int(getattr(self.tokenizer, "model_max_length", 0) or 0)]
        return min(x for x in limits if x > 0)

    def _batched(self, rows: Sequence[Mapping[str, Any]], token_outputs: Sequence[str] = ()) -> list[dict]:
        return run_batched(self.runner, rows, batch_size=self.batch_size, pad_token_id=self.tokenizer.pad_token_id,
                           token_outputs=token_outputs)

    def _encode_texts(self, texts: Sequence[str], pairs: Sequence[str | None] | None = None,
                      **kwargs: Any) -> list[dict[str, Any]]:
        """One unpadded encoding per text (with its pair), checked against :attr:`max_length`."""
        rows: list[dict[str, Any] | None] = [None] * len(texts)
        singles = [k for k in range(len(texts)) if pairs is None or pairs[k] is None]
        doubles = [k for k in range(len(texts)) if pairs is not None and pairs[k] is not None]
        for group, with_pairs in ((singles, False), (doubles, True)):
            if not group:
                continue
            first = [texts[k] for k in group]
            second = [pairs[k] for k in group] if with_pairs else None  # type: ignore[index]
            enc = self.tokenizer(first, second, **kwargs) if with_pairs else self.tokenizer(first, **kwargs)
            for j, k in enumerate(group):
                rows[k] = {key: enc[key][j] for key in enc.keys() if key != "overflow_to_sample_mapping"}
        limit = self.max_length
        for k, row in enumerate(rows):
            assert row is not None
            if len(row["input_ids"]) > limit:
                raise InputError(f"input {k} has {len(row['input_ids'])} tokens, more than the {limit} the model "
                                 "takes; shorten it (pipelines never cut a text silently)")
        return rows  # type: ignore[return-value]

    @staticmethod
    def _as_batch(inputs: Any, what: str, kind: type | tuple[type, ...]) -> tuple[list[Any], bool]:
        """``inputs`` as a list and whether it was a single input."""
        if isinstance(inputs, kind) and not (isinstance(inputs, list) and kind is not list):
            return [inputs], True
        if isinstance(inputs, (list, tuple)):
            if not inputs:
                raise InputError(f"got an empty list of {what}")
            for k, item in enumerate(inputs):
                if not isinstance(item, kind):
                    raise InputError(f"{what} {k} must be {_kind_name(kind)}, got {type(item).__name__}")
            return list(inputs), False
        raise InputError(f"expected {_kind_name(kind)} or a list of them as {what}, got {type(inputs).__name__}")

    def __call__(self, inputs: Any = _NOT_GIVEN, **options: Any) -> Any:
        settings = self._settings(options)
        return self._run(inputs, settings, options)

    def _run(self, inputs: Any, settings: dict[str, Any], given: Mapping[str, Any]) -> Any:  # pragma: no cover
        raise NotImplementedError


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def _texts(inputs: Any) -> tuple[list[str], bool]:
    if inputs is _NOT_GIVEN:
        raise InputError("the pipeline needs a text or a list of texts")
    texts, single = Pipeline._as_batch(inputs, "texts", str)
    return texts, single


class FillMaskPipeline(Pipeline):
    """``fill-mask``: the ``top_k`` most likely tokens for each ``[MASK]`` (see
    ``albert_core.tasks.fill_mask_predictions``); ``targets`` restricts the candidates.

    A text with one mask gives a list of ``top_k`` dicts, a text with several masks a list of such lists (one per
    mask, in text order), as transformers does.
    """

    task = "fill-mask"
    options = {"top_k": 5, "targets": None}

    def _run(self, inputs, settings, given):
        texts, single = _texts(inputs)
        top_k = _positive_int(settings["top_k"], "top_k")
        target_ids = resolve_targets(self.tokenizer, settings["targets"]) if settings["targets"] is not None else None
        rows = self._encode_texts(texts)
        mask_id = self.tokenizer.mask_token_id
        for k, row in enumerate(rows):
            if mask_id not in row["input_ids"]:
                raise InputError(f"text {k} has no {self.tokenizer.mask_token} to fill: {texts[k]!r:.80}")
        outputs = self._batched(rows, token_outputs=("logits", "prediction_logits"))
        results = []
        for row, out in zip(rows, outputs):
            logits = out["logits"] if "logits" in out else out["prediction_logits"]
            fills = fill_mask_predictions(logits, row["input_ids"], mask_id, self.tokenizer, top_k, target_ids)
            results.append(fills[0] if len(fills) == 1 else fills)
        return results[0] if single else results


class TextClassificationPipeline(Pipeline):
    """``text-classification``: labels and scores of single texts or pairs (``{"text": ..., "text_pair": ...}``),
    by ``albert_core.tasks.classify`` (``function_to_apply``: softmax for several labels, sigmoid for one label
    or multi-label models, none for regression).

    As in transformers: without ``top_k`` each input gives its best ``{"label", "score"}`` (a single text a list
    holding it); with ``top_k`` (an int, or ``None`` for every label) each input gives a list of that many, best
    first.
    """

    task = "text-classification"
    options = {"top_k": _NOT_GIVEN, "function_to_apply": None}

    def _run(self, inputs, settings, given):
        if inputs is _NOT_GIVEN:
            raise InputError("the text-classification pipeline needs a text, a {'text', 'text_pair'} dict or a list")
        items, single = self._as_batch(inputs, "inputs", (str, dict))
        texts, pairs = [], []
        for k, item in enumerate(items):
            if isinstance(item, dict):
                extra = sorted(set(item) - {"text", "text_pair"})
                if "text" not in item or extra or not isinstance(item["text"], str) or not isinstance(
                        item.get("text_pair", ""), (str, type(None))):
                    raise InputError(f"input {k}: a dict input must be {{'text': str, 'text_pair': str}}, got keys "
                                     f"{sorted(item)}")
                texts.append(item["text"])
                pairs.append(item.get("text_pair"))
            else:
                texts.append(item)
                pairs.append(None)
        legacy = settings["top_k"] is _NOT_GIVEN
        top_k = 1 if legacy else settings["top_k"]
        rows = self._encode_texts(texts, pairs)
        outputs = self._batched(rows)
        logits = np.stack([out["logits"] for out in outputs])
        function = settings["function_to_apply"]
        if isinstance(function, str):
            function = function.lower()
            function = None if function == "default" else function
        ranked = classify(logits, self.config.id2label, problem_type=getattr(self.config, "problem_type", None),
                          function_to_apply=function, top_k=top_k)
        if legacy:
            results = [r[0] for r in ranked]
            return [results[0]] if single and isinstance(inputs, str) else (results[0] if single else results)
        return ranked[0] if single else ranked


class TokenClassificationPipeline(Pipeline):
    """``token-classification`` (NER, tagging): the entities of each text, by
    ``albert_core.tasks.decode_entities`` with transformers' ``aggregation_strategy`` (``"none"``: one entry
    per token not labelled in ``ignore_labels``; ``"simple"``, ``"first"``, ``"average"``, ``"max"``: grouped
    entities) and tagging ``scheme`` (``"BIO"`` or ``"BIOES"``)."""

    task = "token-classification"
    options = {"aggregation_strategy": "none", "ignore_labels": ("O",), "scheme": "BIO"}

    def _run(self, inputs, settings, given):
        texts, single = _texts(inputs)
        aggregation = settings["aggregation_strategy"]
        aggregation = aggregation.lower() if isinstance(aggregation, str) else aggregation
        rows = self._encode_texts(texts, return_offsets_mapping=True, return_special_tokens_mask=True)
        model_rows = [{k: row[k] for k in _INPUT_KEYS if k in row} for row in rows]
        outputs = self._batched(model_rows, token_outputs=("logits",))
        results = []
        for text, row, out in zip(texts, rows, outputs):
            offsets = [None if special else tuple(span)
                       for span, special in zip(row["offset_mapping"], row["special_tokens_mask"])]
            results.append(decode_entities(
                out["logits"], text, offsets, self.config.id2label, input_ids=row["input_ids"],
                special_tokens_mask=row["special_tokens_mask"], tokenizer=self.tokenizer, aggregation=aggregation,
                scheme=settings["scheme"], ignore_labels=tuple(settings["ignore_labels"])))
        return results[0] if single else results


class QuestionAnsweringPipeline(Pipeline):
    """``question-answering`` (extractive): the answer spans of each question in its context, scored as
    transformers' pipeline scores them.

    The context is cut into windows of ``max_seq_len`` tokens that overlap by ``doc_stride`` tokens
    (``albert_core.tasks.prepare_qa_features``; questions longer than ``max_question_len`` tokens are cut with
    a warning). In each window the start and end logits of the context tokens (and ``[CLS]``) go through a softmax;
    a span's score is ``p(start) * p(end)``, for spans of at most ``max_answer_len`` tokens. The best
    ``2 * top_k + 10`` spans of each window are widened to whole words (``align_to_words``), spans of the same text
    (ignoring case) add their scores, and the ``top_k`` best answers are returned. With
    ``handle_impossible_answer`` the empty answer competes with the score ``p(start=[CLS]) * p(end=[CLS])`` (the
    lowest over the windows).

    Inputs: ``question=..., context=...`` (a str each, or lists), or a ``{"question", "context"}`` dict, or a list
    of them. Each question gives one ``{"score", "start", "end", "answer"}`` dict when ``top_k`` is 1, else a list.
    """

    task = "question-answering"
    options = {"top_k": 1, "doc_stride": None, "max_answer_len": 15, "max_seq_len": None, "max_question_len": 64,
               "handle_impossible_answer": False, "align_to_words": True, "question": None, "context": None}

    def _examples(self, inputs: Any, settings: Mapping[str, Any]) -> tuple[list[str], list[str], bool]:
        question, context = settings["question"], settings["context"]
        if inputs is _NOT_GIVEN:
            if question is None or context is None:
                raise InputError("the question-answering pipeline needs question= and context= (or a "
                                 "{'question', 'context'} dict, or a list of them)")
            if isinstance(question, str) and isinstance(context, str):
                return [question], [context], True
            if isinstance(question, (list, tuple)) and isinstance(context, (list, tuple)):
                if len(question) != len(context):
                    raise InputError(f"got {len(question)} questions for {len(context)} contexts")
                if isinstance(question, (list, tuple)) and isinstance(context, (list, tuple)) and not question:
                    raise InputError("got an empty list of questions")
                items = [{"question": q, "context": c} for q, c in zip(question, context)]
                single = False
            elif isinstance(question, str) and isinstance(context, (list, tuple)):
                items, single = [{"question": question, "context": c} for c in context], False
            else:
                raise InputError("question and context must be str or lists of str")
        else:
            if question is not None or context is not None:
                raise InputError("give the questions either as inputs or as question=/context=, not both")
            items, single = self._as_batch(inputs, "inputs", dict)
        questions, contexts = [], []
        for k, item in enumerate(items):
            if set(item) != {"question", "context"}:
                raise InputError(f"input {k} must be a {{'question', 'context'}} dict, got keys {sorted(item)}")
            for key in ("question", "context"):
                if not isinstance(item[key], str) or not item[key].strip():
                    raise InputError(f"input {k}: {key} must be a non-empty str, got {item[key]!r:.80}")
            questions.append(item["question"])
            contexts.append(item["context"])
        return questions, contexts, single

    def _run(self, inputs, settings, given):
        questions, contexts, single = self._examples(inputs, settings)
        top_k = _positive_int(settings["top_k"], "top_k")
        max_answer_len = _positive_int(settings["max_answer_len"], "max_answer_len")
        max_seq_len = settings["max_seq_len"]
        if max_seq_len is None:
            max_seq_len = min(self.max_length, 384)
        max_seq_len = _positive_int(max_seq_len, "max_seq_len")
        if max_seq_len > self.max_length:
            raise UsageError(f"max_seq_len={max_seq_len} is more than the {self.max_length} tokens the model takes")
        doc_stride = settings["doc_stride"]
        if doc_stride is None:
            doc_stride = min(max_seq_len // 2, 128)
        features = prepare_qa_features(self.tokenizer, questions, contexts, max_length=max_seq_len,
                                       doc_stride=doc_stride, max_query_length=settings["max_question_len"],
                                       padding=False)
        rows = [{k: features[k][r] for k in _INPUT_KEYS} for r in range(len(features["input_ids"]))]
        outputs = self._batched(rows, token_outputs=("start_logits", "end_logits"))
        encoded = self.tokenizer(contexts, add_special_tokens=False, return_offsets_mapping=True)
        words = [(encoded.word_ids(k), [tuple(o) for o in encoded["offset_mapping"][k]]) for k in range(len(contexts))]
        by_example: dict[int, list[int]] = {}
        for r, example in enumerate(features["example_id"]):
            by_example.setdefault(int(example), []).append(r)
        results = []
        for index, context in enumerate(contexts):
            results.append(self._answers(context, *words[index], by_example.get(index, []), features, outputs,
                                         top_k=top_k, max_answer_len=max_answer_len, doc_stride=doc_stride,
                                         handle_impossible=bool(settings["handle_impossible_answer"]),
                                         align_to_words=bool(settings["align_to_words"])))
        return results[0] if single else results

    @staticmethod
    def _answers(context: str, word_ids: list[int | None], context_offsets: list[tuple[int, int]], rows: list[int],
                 features: Any, outputs: list[dict],
                 *, top_k: int, max_answer_len: int, doc_stride: int, handle_impossible: bool,
                 align_to_words: bool) -> Any:
        answers: list[dict[str, Any]] = []
        by_text: dict[str, dict[str, Any]] = {}
        null_score = 1_000_000.0
        first = 0  # the window's first token in the context's tokens
        for r in rows:
            offsets = features["offset_mapping"][r]
            in_context = np.array([o is not None for o in offsets])
            positions = np.flatnonzero(in_context)
            cls = int(features["cls_index"][r])
            allowed = in_context.copy()
            allowed[cls] = True
            scores = {}
            for key in ("start_logits", "end_logits"):
                logits = np.where(allowed, np.asarray(outputs[r][key], dtype=np.float64), -10000.0)
                weights = np.exp(logits - logits.max())
                scores[key] = weights / weights.sum()
            start, end = scores["start_logits"], scores["end_logits"]
            null_score = min(null_score, float(start[cls] * end[cls]))
            window_words = word_ids[first:first + len(positions)]
            if [offsets[p] for p in positions] != context_offsets[first:first + len(positions)]:
                raise AssertionError("internal error: a QA window does not match the context's tokens")
            if positions.size:
                lo, hi = int(positions[0]), int(positions[-1]) + 1
                spans = start[lo:hi, None] * end[None, lo:hi]
                i, j = np.indices(spans.shape)
                valid = (j >= i) & (j - i < max_answer_len)
                order = np.argsort(-spans[valid], kind="stable")[: 2 * top_k + 10 if align_to_words else top_k]
                for k in order:
                    s, e = lo + int(i[valid][k]), lo + int(j[valid][k])
                    char_start, char_end = offsets[s][0], offsets[e][1]
                    if align_to_words:
                        # widen to whole words: the first and last character of the words' tokens in this window
                        ws, we = window_words[s - lo], window_words[e - lo]
                        char_start = min(offsets[lo + t][0] for t, w in enumerate(window_words) if w == ws)
                        char_end = max(offsets[lo + t][1] for t, w in enumerate(window_words) if w == we)
                    text = context[char_start:char_end]
                    score = float(spans[valid][k])
                    same = by_text.get(text.lower())
                    if same is not None:
                        same["score"] += score
                    else:
                        answer = {"score": score, "start": int(char_start), "end": int(char_end), "answer": text}
                        by_text[text.lower()] = answer
                        answers.append(answer)
            first += len(positions) - doc_stride
        if handle_impossible:
            answers.append({"score": null_score, "start": 0, "end": 0, "answer": ""})
        answers = sorted(answers, key=lambda a: a["score"], reverse=True)[:top_k]
        return answers[0] if len(answers) == 1 else answers


class MultipleChoicePipeline(Pipeline):
    """``multiple-choice`` (RACE style): which option answers a question about a passage.

    Each option becomes a row ``[CLS] context [SEP] question-with-option [SEP]``
    (``albert_core.tasks.prepare_multiple_choice``: the option fills the question's ``_`` blanks or follows
    it); the scores are a softmax over the options' logits. Inputs: ``{"question": str, "options": [str, ...],
    "context": str}`` (``context`` may be left out), or a list of them; examples may have different numbers of
    options. Each gives ``{"answer", "index", "score", "scores"}``: the best option, its index and probability, and
    every option's probability in the given order.
    """

    task = "multiple-choice"
    options = {"max_length": None}

    def _run(self, inputs, settings, given):
        if inputs is _NOT_GIVEN:
            raise InputError("the multiple-choice pipeline needs a {'question', 'options', 'context'} dict or a list")
        items, single = self._as_batch(inputs, "inputs", dict)
        max_length = settings["max_length"]
        max_length = self.max_length if max_length is None else _positive_int(max_length, "max_length")
        if max_length > self.max_length:
            raise UsageError(f"max_length={max_length} is more than the {self.max_length} tokens the model takes")
        rows, options = [], []
        for k, item in enumerate(items):
            extra = sorted(set(item) - {"question", "options", "context"})
            if extra or "question" not in item or "options" not in item:
                raise InputError(f"input {k} must be a {{'question', 'options', 'context'}} dict, got keys "
                                 f"{sorted(item)}")
            choices = item["options"]
            if isinstance(choices, str) or not isinstance(choices, (list, tuple)) or not choices or not all(
                    isinstance(c, str) for c in choices):
                raise InputError(f"input {k}: options must be a non-empty list of str")
            context = item.get("context", "")
            if not isinstance(context, str) or not isinstance(item["question"], str):
                raise InputError(f"input {k}: question and context must be str")
            batch = prepare_multiple_choice(self.tokenizer, [context], [item["question"]], [list(choices)],
                                            max_length=max_length, padding="longest")
            whole = len(self.tokenizer(context, add_special_tokens=False)["input_ids"]) if context else 0
            seconds = self.tokenizer([join_question_option(item["question"], c) for c in choices],
                                     add_special_tokens=False)["input_ids"]
            if whole + max(len(ids) for ids in seconds) + 3 > max_length:
                warnings.warn(f"multiple-choice input {k}: the context is cut to fit max_length={max_length} with "
                              "the longest option (the end of the passage is left out)", AlbertWarning, stacklevel=3)
            rows.append({key: batch[key][0] for key in _INPUT_KEYS})
            options.append(list(choices))
        outputs = self._batched(rows)
        results = []
        for choices, out in zip(options, outputs):
            logits = np.asarray(out["logits"], dtype=np.float64)
            probs = np.exp(logits - logits.max())
            probs /= probs.sum()
            best = int(np.argmax(probs))
            results.append({"answer": choices[best], "index": best, "score": float(probs[best]),
                            "scores": [float(p) for p in probs]})
        return results[0] if single else results


class FeatureExtractionPipeline(Pipeline):
    """``feature-extraction``: the last hidden state of each text, ``[1, seq, hidden]`` as nested Python lists (a
    float32 numpy array with ``return_tensors=True``), special tokens included, as transformers returns it."""

    task = "feature-extraction"
    options = {"return_tensors": False}

    def _run(self, inputs, settings, given):
        texts, single = _texts(inputs)
        rows = self._encode_texts(texts)
        outputs = self._batched(rows, token_outputs=("last_hidden_state",))
        results = []
        for out in outputs:
            hidden = np.asarray(out["last_hidden_state"])[None]
            results.append(hidden if settings["return_tensors"] else hidden.tolist())
        return results[0] if single else results


PIPELINE_CLASSES: dict[str, type[Pipeline]] = {
    cls.task: cls for cls in (FillMaskPipeline, TextClassificationPipeline, TokenClassificationPipeline,
                              QuestionAnsweringPipeline, MultipleChoicePipeline, FeatureExtractionPipeline)
}


def make_pipeline(task: str, runner: Runner, tokenizer: Any, config: Any, *, batch_size: int = 8,
                  **options: Any) -> Pipeline:
    """The pipeline for ``task`` around a backend's ``runner``.

    Args:
        task: one of :data:`TASKS` (or an alias of :data:`TASK_ALIASES`).
        runner: the forward pass (see :data:`Runner`).
        tokenizer: an :class:`~albert_core.tokenizer.AlbertTokenizer`.
        config: the model's :class:`~albert_core.AlbertConfig` (labels, ``problem_type``, positions).
        batch_size: rows per runner call.
        options: default call options of the task (``top_k=3``, ``aggregation_strategy="simple"``, ...).

    Raises:
        UsageError: for an unknown task or option, or a bad ``batch_size``.
    """
    return PIPELINE_CLASSES[check_task(task)](runner, tokenizer, config, batch_size=batch_size, **options)


def quiet_load(task: str) -> ContextManager[None]:
    """A context in which the expected load warning of ``task`` is silenced: a feature-extraction or fill-mask model
    built from a checkpoint with other heads leaves their tensors unused, which is no news to the user."""
    from .errors import PartialLoadWarning

    if check_task(task) not in ("feature-extraction", "fill-mask"):
        return contextlib.nullcontext()
    context = warnings.catch_warnings()

    @contextlib.contextmanager
    def quiet():
        with context:
            warnings.simplefilter("ignore", PartialLoadWarning)
            yield

    return quiet()


def build_pipeline(task: str, model: Any, tokenizer: Any, *, model_classes: Mapping[Head, type],
                   make_runner: Callable[[Any], Runner], batch_size: int = 8, **options: Any) -> Pipeline:
    """What :func:`albert_pt.pipelines.pipeline` and :func:`albert_tf.pipelines.pipeline` share: find or load the
    model and the tokenizer, then :func:`make_pipeline` around the backend's runner.

    Args:
        task: one of :data:`TASKS`.
        model: a checkpoint directory (the head of :func:`task_heads` is built; a fill-mask checkpoint saved with
            the pre-training head keeps it), or a loaded model of one of ``model_classes``, or ``None`` for the
            shipped default model (fill-mask and feature extraction only).
        tokenizer: an :class:`~albert_core.tokenizer.AlbertTokenizer`, a directory or ``spiece.model`` to load
            one from, or ``None`` for the one in the checkpoint directory.
        model_classes: the backend's ``MODEL_CLASSES``.
        make_runner: the backend's runner for a loaded model.
        batch_size, options: see :func:`make_pipeline`.

    Raises:
        UsageError: for an unknown task, a model whose head cannot run the task, or a loaded model without a
            tokenizer.
    """
    from .loading import saved_head
    from .tokenizer import AlbertTokenizer

    task = check_task(task)
    heads = task_heads(task)
    if model is None:
        if task not in ("fill-mask", "feature-extraction"):
            raise UsageError(f"the {task} pipeline needs model= (a checkpoint directory or a loaded model with a "
                             f"{model_classes[heads[0]].__name__} head); the shipped default model has none")
        model = DEFAULT_MODEL_DIR
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if not path.exists():
            raise InputError(f"no checkpoint at {path}")
        saved = saved_head(path)
        head = saved if saved in heads else heads[0]
        with quiet_load(task):
            loaded = model_classes[head].from_pretrained(path)
        if tokenizer is None:
            tokenizer = AlbertTokenizer.from_pretrained(path)
    else:
        loaded = model
        head = next((h for h, cls in model_classes.items() if type(loaded) is cls), None)
        if head is None:
            head = next((h for h, cls in model_classes.items() if isinstance(loaded, cls)), None)
        if head not in heads:
            names = " or ".join(model_classes[h].__name__ for h in heads)
            raise UsageError(f"the {task} pipeline needs a {names}, got {type(loaded).__name__}")
        if tokenizer is None:
            raise UsageError("a loaded model needs tokenizer= too (an AlbertTokenizer or its directory)")
    if isinstance(tokenizer, (str, os.PathLike)):
        tokenizer = AlbertTokenizer.from_pretrained(tokenizer)
    pipe = make_pipeline(task, make_runner(loaded), tokenizer, loaded.config, batch_size=batch_size, **options)
    pipe.model = loaded
    return pipe
