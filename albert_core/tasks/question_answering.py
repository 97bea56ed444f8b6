"""Extractive question answering: windows over long contexts before the model, answer spans after it.

:func:`prepare_qa_features` turns (question, context) pairs into model inputs ``[CLS] question [SEP] window [SEP]``,
one row per window of the context: windows hold as many context tokens as fit ``max_length`` and consecutive windows
overlap by ``doc_stride`` tokens (transformers' ``stride`` semantics, so the rows equal those of a fast tokenizer
called with ``truncation="only_second", stride=doc_stride, return_overflowing_tokens=True``). With ``answers`` it
adds the training labels: the answer's first and last token in each window, or the ``[CLS]`` position when the
window does not hold the whole answer (or the question has none).

:func:`decode_qa` turns the start/end logits of those rows back into answers: the best spans of every window of an
example (scored ``start_logit + end_logit``, at most ``max_answer_length`` tokens, inside the context), merged over
the windows, and for SQuAD 2.0 the "no answer" decision against the ``[CLS]`` score.

>>> import numpy as np
>>> from albert_core import AlbertTokenizer
>>> from albert_core.filenames import DEFAULT_MODEL_DIR
>>> tok = AlbertTokenizer.from_pretrained(DEFAULT_MODEL_DIR)
>>> context = "The king of Rome sat on the throne."
>>> feats = prepare_qa_features(tok, "Who sat on the throne?", context, max_length=32, doc_stride=4)
>>> feats["example_id"], feats["offset_mapping"][0][:3]
([0], [None, None, None])
>>> starts = {o[0]: i for i, o in enumerate(feats["offset_mapping"][0]) if o}
>>> ends = {o[1]: i for i, o in enumerate(feats["offset_mapping"][0]) if o}
>>> start_logits, end_logits = np.zeros((1, 32)), np.zeros((1, 32))
>>> start_logits[0, starts[4]] = end_logits[0, ends[16]] = 5.0  # "king of Rome"
>>> best = decode_qa(start_logits, end_logits, feats)[0]
>>> best["answer"], best["start"], best["end"], best["score"]
('king of Rome', 4, 16, 10.0)
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import AlbertWarning, InputError, UsageError

__all__ = ["QAFeatures", "decode_qa", "prepare_qa_features"]

Offset = tuple[int, int] | None


class QAFeatures(dict):
    """The rows made by :func:`prepare_qa_features`: a dict of per-row lists, plus the ``contexts`` they came from.

    Keys: ``input_ids``, ``token_type_ids``, ``attention_mask`` (the model inputs); ``offset_mapping`` (character
    spans into the example's context for context tokens, ``None`` elsewhere); ``p_mask`` (1 where no answer can be:
    question, ``[SEP]``, padding); ``cls_index``; ``example_id`` (the index of the question each row belongs to,
    transformers' ``overflow_to_sample_mapping``); and with answers ``start_positions``/``end_positions``.
    """

    def __init__(self, data: Mapping[str, list], contexts: Sequence[str]) -> None:
        super().__init__(data)
        self.contexts = list(contexts)

    def model_inputs(self) -> dict[str, np.ndarray]:
        """``input_ids``, ``token_type_ids`` and ``attention_mask`` as ``int64`` arrays ``[rows, seq]`` (the rows
        must have one length: pad them with ``padding="max_length"`` or ``"longest"``).

        Raises:
            ~albert_core.InputError: when the rows have different lengths.
        """
        lengths = {len(row) for row in self["input_ids"]}
        if len(lengths) > 1:
            raise InputError(f"the rows have different lengths {sorted(lengths)}; prepare them with padding")
        return {k: np.asarray(self[k], dtype=np.int64) for k in ("input_ids", "token_type_ids", "attention_mask")}


def _as_list(value: Any, name: str) -> tuple[list, bool]:
    if isinstance(value, str):
        return [value], True
    if not isinstance(value, (list, tuple)):
        raise InputError(f"{name} must be a str or a list of str, got {type(value).__name__}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise InputError(f"{name}[{i}] must be a str, got {type(item).__name__}")
    return list(value), False


def _positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise UsageError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _answer_span(answer: Any, context: str, index: int) -> tuple[int, int] | None:
    """``(start_char, end_char)`` of the first gold answer, or None for an unanswerable question."""
    if answer is None:
        return None
    if not isinstance(answer, Mapping) or "text" not in answer or "answer_start" not in answer:
        raise InputError(f"answers[{index}] must be a dict with 'text' and 'answer_start' lists (SQuAD layout), "
                         f"got {answer!r:.120}")
    texts, starts = answer["text"], answer["answer_start"]
    if isinstance(texts, str):
        texts = [texts]
    if isinstance(starts, (int, np.integer)):
        starts = [starts]
    if len(texts) != len(starts):
        raise InputError(f"answers[{index}] has {len(texts)} texts but {len(starts)} answer_start values")
    if not texts:
        return None
    text, start = texts[0], starts[0]
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or not isinstance(text, str):
        raise InputError(f"answers[{index}]: answer_start must be an int and text a str, got {start!r}, {text!r:.80}")
    start = int(start)
    end = start + len(text)
    if not text or start < 0 or end > len(context) or context[start:end] != text:
        raise InputError(
            f"answers[{index}]: the answer {text!r:.80} is not at character {start} of its context "
            f"(the context there reads {context[max(start, 0):max(end, 0)]!r:.80})"
        )
    return start, end


def _window_starts(length: int, room: int, stride: int) -> list[int]:
    """First context token of each window: windows of ``room`` tokens, each overlapping the previous by ``stride``."""
    starts = [0]
    while starts[-1] + room < length:
        starts.append(starts[-1] + room - stride)
    return starts


def _span_labels(offsets: list[tuple[int, int]], span: tuple[int, int] | None, first: int) -> tuple[int, int] | None:
    """Token positions (relative to the window, plus ``first``) of an answer inside a window, or None when the window
    does not hold the whole answer."""
    if span is None or not offsets:
        return None
    start_char, end_char = span
    if offsets[0][0] > start_char or offsets[-1][1] < end_char:
        return None
    # the start token is the last one starting at or before the answer's first character; the end token the first
    # one ending at or after its last character
    start = max(i for i, (s, _) in enumerate(offsets) if s <= start_char)
    end = min(i for i, (_, e) in enumerate(offsets) if e >= end_char)
    return first + start, first + end


def prepare_qa_features(
    tokenizer: Any,
    questions: str | Sequence[str],
    contexts: str | Sequence[str],
    *,
    max_length: int = 384,
    doc_stride: int = 128,
    max_query_length: int | None = 64,
    answers: Sequence[Mapping[str, Any] | None] | None = None,
    padding: bool | str = "max_length",
) -> QAFeatures:
    """Model rows for extractive QA: ``[CLS] question [SEP] context window [SEP]``, one per window of each context.

    Args:
        tokenizer: an :class:`~albert_core.tokenizer.AlbertTokenizer` (or anything with the same ``__call__``
            offsets API and ``cls_token_id``/``sep_token_id``/``pad_token_id``).
        questions, contexts: one question and its context, or lists of the same length.
        max_length: tokens per row, special tokens included.
        doc_stride: how many context tokens consecutive windows share (transformers' ``stride``); must be smaller
            than the room left for the context.
        max_query_length: questions longer than this many tokens are cut to it, with a warning (as the SQuAD
            preprocessing does); ``None`` keeps questions whole.
        answers: for training, one SQuAD-layout dict per question (``{"text": [...], "answer_start": [...]}``;
            empty lists or ``None`` for an unanswerable question); the first answer gives the labels.
        padding: ``"max_length"`` (every row ``max_length`` long), ``"longest"``/``True`` (the longest row), or
            ``False``/``"do_not_pad"``.

    Returns:
        a :class:`QAFeatures` (see its keys).

    Raises:
        ~albert_core.InputError: on questions and contexts (or answers) of different counts, or an answer that is
            not at its ``answer_start`` in the context.
        ~albert_core.errors.UsageError: on a ``max_length`` that leaves no room for the context after the question, or
            ``doc_stride`` not smaller than that room.
    """
    question_list, single_q = _as_list(questions, "questions")
    context_list, single_c = _as_list(contexts, "contexts")
    if single_q != single_c or len(question_list) != len(context_list):
        raise InputError(f"got {len(question_list)} questions for {len(context_list)} contexts")
    if not question_list:
        raise InputError("prepare_qa_features needs at least one question")
    max_length = _positive_int(max_length, "max_length", 4)
    doc_stride = _positive_int(doc_stride, "doc_stride", 0)
    if max_query_length is not None:
        max_query_length = _positive_int(max_query_length, "max_query_length")
    if padding is True or padding == "longest":
        pad_mode = "longest"
    elif padding is False or padding is None or padding == "do_not_pad":
        pad_mode = "none"
    elif padding == "max_length":
        pad_mode = "max_length"
    else:
        raise UsageError(f"padding must be 'max_length', 'longest'/True or False/'do_not_pad', got {padding!r}")
    spans: list[tuple[int, int] | None] | None = None
    if answers is not None:
        if isinstance(answers, Mapping):
            answers = [answers]
        if len(answers) != len(question_list):
            raise InputError(f"got {len(answers)} answers for {len(question_list)} questions")
        spans = [_answer_span(a, c, i) for i, (a, c) in enumerate(zip(answers, context_list))]

    q_ids = tokenizer(question_list, add_special_tokens=False, return_attention_mask=False,
                      return_token_type_ids=False)["input_ids"]
    c_enc = tokenizer(context_list, add_special_tokens=False, return_offsets_mapping=True,
                      return_attention_mask=False, return_token_type_ids=False)
    cls_id, sep_id, pad_id = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id

    rows: dict[str, list] = {k: [] for k in ("input_ids", "token_type_ids", "attention_mask", "offset_mapping",
                                              "p_mask", "cls_index", "example_id")}
    if spans is not None:
        rows["start_positions"], rows["end_positions"] = [], []
    for index, (question, ids, offsets) in enumerate(zip(q_ids, c_enc["input_ids"], c_enc["offset_mapping"])):
        question = list(question)
        if max_query_length is not None and len(question) > max_query_length:
            warnings.warn(f"question {index} has {len(question)} tokens; it is cut to max_query_length="
                          f"{max_query_length}", AlbertWarning, stacklevel=2)
            question = question[:max_query_length]
        room = max_length - len(question) - 3
        if room <= 0:
            raise UsageError(f"max_length={max_length} leaves no room for the context of question {index} "
                             f"({len(question)} question tokens + 3 special tokens)")
        if doc_stride >= room:
            raise UsageError(f"doc_stride={doc_stride} must be smaller than the {room} context tokens that fit a row "
                             f"with question {index} (max_length={max_length} - {len(question)} question tokens "
                             "- 3 special tokens)")
        offsets = [tuple(int(x) for x in o) for o in offsets]
        head = len(question) + 2  # [CLS] question [SEP]
        for first in _window_starts(len(ids), room, doc_stride):
            window = list(ids[first:first + room])
            window_offsets = offsets[first:first + room]
            rows["input_ids"].append([cls_id, *question, sep_id, *window, sep_id])
            rows["token_type_ids"].append([0] * head + [1] * (len(window) + 1))
            rows["attention_mask"].append([1] * (head + len(window) + 1))
            rows["offset_mapping"].append([None] * head + window_offsets + [None])
            rows["p_mask"].append([0] + [1] * (head - 1) + [0] * len(window) + [1])
            rows["cls_index"].append(0)
            rows["example_id"].append(index)
            if spans is not None:
                labels = _span_labels(window_offsets, spans[index], head)
                rows["start_positions"].append(labels[0] if labels else 0)
                rows["end_positions"].append(labels[1] if labels else 0)
    if pad_mode != "none":
        target = max_length if pad_mode == "max_length" else max(len(r) for r in rows["input_ids"])
        fill = {"input_ids": pad_id, "token_type_ids": 0, "attention_mask": 0, "offset_mapping": None, "p_mask": 1}
        for key, value in fill.items():
            for row in rows[key]:
                row.extend([value] * (target - len(row)))
    return QAFeatures(rows, context_list)


def _softmax(scores: list[float]) -> list[float]:
    values = np.asarray(scores, dtype=np.float64)
    weights = np.exp(values - values.max())
    return (weights / weights.sum()).tolist()


def _trimmed(context: str, start: int, end: int) -> tuple[int, int]:
    while start < end and context[start].isspace():
        start += 1
    while end > start and context[end - 1].isspace():
        end -= 1
    return start, end


def _feature_spans(start: np.ndarray, end: np.ndarray, offsets: list[Offset], max_answer_length: int):
    """(score, first token, last token) of every span of one row that lies in its context and is at most
    ``max_answer_length`` tokens long, best first."""
    context = [i for i, o in enumerate(offsets[: len(start)]) if o is not None]
    if not context:
        return
    lo, hi = context[0], context[-1] + 1
    if context != list(range(lo, hi)):
        raise InputError("the offsets of a row must mark one contiguous context (None elsewhere)")
    scores = start[lo:hi, None] + end[None, lo:hi]
    i, j = np.indices(scores.shape)
    valid = (j >= i) & (j - i < max_answer_length)
    firsts, lasts, values = i[valid], j[valid], scores[valid]
    for k in np.argsort(-values, kind="stable"):
        yield float(values[k]), lo + int(firsts[k]), lo + int(lasts[k])


def decode_qa(
    start_logits: Any,
    end_logits: Any,
    features: QAFeatures,
    *,
    n_best_size: int = 20,
    max_answer_length: int = 30,
    null_score_diff_threshold: float = 0.0,
    version_2_with_negative: bool = False,
) -> list[dict[str, Any]]:
    """The answer of each question from the start/end logits of its rows.

    Each row offers its ``n_best_size`` best spans that lie in the context and are at most ``max_answer_length``
    tokens long, scored ``start_logit + end_logit``; spans that cover the same characters count once, with their
    best score (within a row, e.g. with or without a lone ``"▁"`` piece in front, and across overlapping windows).
    The best ``n_best_size`` of all rows of a question are kept. The answer text is the context between the first
    token's start and the last token's end, trimmed of white space at either end.

    With ``version_2_with_negative`` (SQuAD 2.0) the null score of a question is the lowest ``[CLS]`` score
    (``start_logit + end_logit`` at ``cls_index``) over its rows; the question gets no answer (``""``) when
    ``null_score - best_span_score > null_score_diff_threshold`` or when no span is possible.

    Args:
        start_logits, end_logits: ``[rows, seq]`` arrays (or nested lists), one row per row of ``features``
            (``seq`` at least as long as each row).
        features: what :func:`prepare_qa_features` returned for these rows.
        n_best_size: spans kept per row and per question.
        max_answer_length: longest answer in tokens.
        null_score_diff_threshold, version_2_with_negative: the SQuAD 2.0 "no answer" rule above.

    Returns:
        one dict per question, in order: ``answer`` (text), ``start``/``end`` (character span in the context;
        0, 0 for no answer), ``score`` (the span's score; the null score for no answer; ``None`` when no span is
        possible without SQuAD 2.0), and ``n_best``: the candidates best first, each with ``answer``, ``start``,
        ``end``, ``score``, ``start_logit``, ``end_logit`` and ``probability`` (a softmax over the candidates'
        scores). SQuAD 2.0 adds ``null_score`` and ``score_diff`` (``null_score - best span score``; ``inf`` when no
        span is possible), and puts the null candidate in ``n_best``.

    Raises:
        ~albert_core.InputError: when the logits do not match the rows of ``features``.
    """
    if not isinstance(features, QAFeatures):
        raise InputError(f"features must be the QAFeatures of prepare_qa_features, got {type(features).__name__}")
    n_best_size = _positive_int(n_best_size, "n_best_size")
    max_answer_length = _positive_int(max_answer_length, "max_answer_length")
    starts = np.asarray(start_logits, dtype=np.float64)
    ends = np.asarray(end_logits, dtype=np.float64)
    rows = len(features["input_ids"])
    if starts.shape != ends.shape or starts.ndim != 2 or starts.shape[0] != rows:
        raise InputError(f"start_logits and end_logits must both be [{rows}, seq] for the {rows} rows, "
                         f"got {starts.shape} and {ends.shape}")
    longest = max(len(r) for r in features["input_ids"])
    if starts.shape[1] < longest:
        raise InputError(f"the logits have {starts.shape[1]} positions but the longest row has {longest} tokens")

    by_example: dict[int, list[int]] = {}
    for row, example in enumerate(features["example_id"]):
        by_example.setdefault(int(example), []).append(row)
    results = []
    for index, context in enumerate(features.contexts):
        candidates: dict[tuple[int, int], dict[str, Any]] = {}
        null_score = None
        for row in by_example.get(index, []):
            offsets = features["offset_mapping"][row]
            cls = int(features["cls_index"][row])
            row_null = float(starts[row, cls] + ends[row, cls])
            null_score = row_null if null_score is None else min(null_score, row_null)
            taken: set[tuple[int, int]] = set()
            for score, first, last in _feature_spans(starts[row], ends[row], offsets, max_answer_length):
                char_start, char_end = _trimmed(context, offsets[first][0], offsets[last][1])
                key = (char_start, char_end)
                if char_start == char_end or key in taken:
                    continue  # only white space, or the same characters as a better span of this row
                taken.add(key)
                if key not in candidates or candidates[key]["score"] < score:
                    candidates[key] = {"answer": context[char_start:char_end], "start": char_start, "end": char_end,
                                       "score": score, "start_logit": float(starts[row, first]),
                                       "end_logit": float(ends[row, last])}
                if len(taken) == n_best_size:
                    break
        n_best = sorted(candidates.values(), key=lambda c: -c["score"])[:n_best_size]
        best = n_best[0] if n_best else None
        result: dict[str, Any]
        if null_score is None:
            raise InputError(f"question {index} has no row in features (example_id never names it)")
        if version_2_with_negative:
            null = {"answer": "", "start": 0, "end": 0, "score": null_score, "start_logit": None, "end_logit": None}
            diff = null_score - best["score"] if best is not None else float("inf")
            n_best = sorted([*n_best, null], key=lambda c: -c["score"])
            chosen = null if diff > null_score_diff_threshold else best
            result = {k: chosen[k] for k in ("answer", "start", "end", "score")}
            result.update(null_score=null_score, score_diff=diff)
        elif best is not None:
            result = {k: best[k] for k in ("answer", "start", "end", "score")}
        else:
            result = {"answer": "", "start": 0, "end": 0, "score": None}
        for candidate, probability in zip(n_best, _softmax([c["score"] for c in n_best]) if n_best else []):
            candidate["probability"] = probability
        result["n_best"] = n_best
        results.append(result)
    return results
