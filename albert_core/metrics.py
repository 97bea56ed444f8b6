"""Task metrics on plain Python / numpy values: SQuAD exact match and F1, entity-level precision/recall/F1 (seqeval
semantics), and the classification and regression metrics of GLUE (accuracy, F1, Matthews correlation, Pearson,
Spearman).

Every function takes plain sequences (lists, tuples or 1-D arrays), checks them, and returns plain Python floats and
dicts. Where a metric is undefined the value returned is documented on the function; it follows scikit-learn where
scikit-learn defines one (F1 and Matthews correlation give 0.0) and scipy otherwise (a correlation with a constant
input is ``nan``).

>>> squad_metrics(["the Eiffel Tower"], [["Eiffel Tower", "in Paris"]])
{'exact_match': 100.0, 'f1': 100.0, 'total': 1}
>>> round(matthews_corrcoef([1, 1, 0, 0], [1, 0, 0, 0]), 4)
0.5774
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from typing import Any, Hashable, Iterable, Sequence

import numpy as np

from .errors import InputError, UsageError

__all__ = [
    "accuracy",
    "canonical_scheme",
    "classification_metrics",
    "entity_metrics",
    "f1",
    "get_entities",
    "matthews_corrcoef",
    "normalize_answer",
    "pearson",
    "regression_metrics",
    "spearman",
    "squad_exact_match",
    "squad_f1",
    "squad_metrics",
]

# ---------------------------------------------------------------------------------------------------------------------
# SQuAD

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """An answer as the official SQuAD evaluation compares it: lower case, ASCII punctuation removed, the articles
    "a", "an" and "the" removed, white space collapsed to single spaces.

    >>> normalize_answer("  The  Eiffel-Tower, (Paris)! ")
    'eiffeltower paris'
    """
    if not isinstance(text, str):
        raise InputError(f"an answer must be a str, got {type(text).__name__}: {text!r:.80}")
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def squad_exact_match(prediction: str, ground_truth: str) -> int:
    """1 when both answers normalise (:func:`normalize_answer`) to the same string, else 0.

    >>> squad_exact_match("The cat.", "cat"), squad_exact_match("a cat", "cats")
    (1, 0)
    """
    return int(normalize_answer(prediction) == normalize_answer(ground_truth))


def squad_f1(prediction: str, ground_truth: str, *, version_2_with_negative: bool = False) -> float:
    """Token-overlap F1 of two answers after :func:`normalize_answer` (tokens split on white space, counted with
    multiplicity).

    With ``version_2_with_negative`` (the SQuAD 2.0 script) an empty answer on either side scores 1.0 when both are
    empty and 0.0 otherwise; the SQuAD 1.1 script scores every pair without a common token 0.0, two empty answers
    included.

    >>> round(squad_f1("the big red cat", "a red cat sat"), 4)  # 2 common of 3 and 3 tokens
    0.6667
    >>> squad_f1("", "", version_2_with_negative=True), squad_f1("", "")
    (1.0, 0.0)
    """
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(ground_truth).split()
    if version_2_with_negative and (not pred_tokens or not gold_tokens):
        return float(pred_tokens == gold_tokens)
    common = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if common == 0:
        return 0.0
    precision = common / len(pred_tokens)
    recall = common / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_metrics(
    predictions: Sequence[str], references: Sequence[Sequence[str]], *, version_2_with_negative: bool = False
) -> dict[str, Any]:
    """SQuAD exact match and F1 (percentages), as the official v1.1 / v2.0 evaluation scripts compute them.

    Each question scores the best of its gold answers. With ``version_2_with_negative`` a question whose gold answers
    are all empty after normalisation (or that has none) is unanswerable, its only gold answer is ``""``, and the
    result also holds the ``HasAns_*`` and ``NoAns_*`` breakdown (present only for the groups that have questions,
    as in the official script).

    Args:
        predictions: one predicted answer text per question (``""`` for "no answer").
        references: the gold answer texts of each question.
        version_2_with_negative: SQuAD 2.0 rules (see :func:`squad_f1`).

    Returns:
        ``{"exact_match", "f1", "total"}`` (plus the breakdown for v2).

    Raises:
        ~albert_core.InputError: on different lengths, no questions, or (v1.1) a question without gold answers.

    >>> squad_metrics(["", "Paris"], [[], ["Paris", "in Paris"]], version_2_with_negative=True)["NoAns_exact"]
    100.0
    """
    if isinstance(predictions, str) or isinstance(references, str):
        raise InputError("predictions and references must be sequences (one entry per question), not a str")
    if len(predictions) != len(references):
        raise InputError(f"got {len(predictions)} predictions for {len(references)} questions")
    if not predictions:
        raise InputError("squad_metrics needs at least one question")
    exact, f1s, has_answer = [], [], []
    for i, (prediction, golds) in enumerate(zip(predictions, references)):
        if isinstance(golds, str):
            raise InputError(f"references[{i}] must be a list of answer texts, got a str")
        golds = list(golds)
        if version_2_with_negative:
            has_answer.append(bool(golds))
            golds = [g for g in golds if normalize_answer(g)] or [""]
        elif not golds:
            raise InputError(f"references[{i}] has no gold answer "
                             "(unanswerable questions need version_2_with_negative=True)")
        exact.append(max(squad_exact_match(prediction, g) for g in golds))
        f1s.append(max(squad_f1(prediction, g, version_2_with_negative=version_2_with_negative) for g in golds))
    out: dict[str, Any] = {"exact_match": 100.0 * sum(exact) / len(exact), "f1": 100.0 * sum(f1s) / len(f1s),
                           "total": len(exact)}
    if version_2_with_negative:
        for name, wanted in (("HasAns", True), ("NoAns", False)):
            picked = [i for i, has in enumerate(has_answer) if has == wanted]
            if picked:
                out[f"{name}_exact"] = 100.0 * sum(exact[i] for i in picked) / len(picked)
                out[f"{name}_f1"] = 100.0 * sum(f1s[i] for i in picked) / len(picked)
                out[f"{name}_total"] = len(picked)
    return out


# ---------------------------------------------------------------------------------------------------------------------
# entity-level metrics (seqeval semantics)

_SCHEMES = {"BIO": "IOB2", "IOB2": "IOB2", "BIOES": "IOBES", "IOBES": "IOBES"}
_PREFIXES = {"IOB2": frozenset("BI"), "IOBES": frozenset("BIES")}


def canonical_scheme(scheme: str) -> str:
    """``"IOB2"`` for ``"BIO"``/``"IOB2"``, ``"IOBES"`` for ``"BIOES"``/``"IOBES"``; anything else is a
    :class:`~albert_core.errors.UsageError`.

    >>> canonical_scheme("BIO"), canonical_scheme("bioes")
    ('IOB2', 'IOBES')
    """
    key = scheme.upper() if isinstance(scheme, str) else scheme
    if key not in _SCHEMES:
        raise UsageError(f"scheme must be 'BIO' (= 'IOB2') or 'BIOES' (= 'IOBES'), got {scheme!r}")
    return _SCHEMES[key]


def _split_tag(tag: Any, allowed: frozenset[str], where: str) -> tuple[str, str]:
    """``(prefix, type)`` of a tag: ``("O", "")`` for ``"O"``, ``("B", "PER")`` for ``"B-PER"``."""
    if tag == "O":
        return "O", ""
    if not isinstance(tag, str) or len(tag) < 3 or tag[1] != "-" or tag[0] not in allowed:
        raise InputError(
            f"{where}: tag {tag!r} is not in the tag set: expected 'O' or "
            f"{'/'.join(sorted(allowed))}-TYPE"
        )
    return tag[0], tag[2:]


def get_entities(tags: Sequence[str], *, mode: str = "default", scheme: str = "IOB2") -> list[tuple[str, int, int]]:
    """The entities of one tag sequence as ``(type, start, end)`` with ``end`` exclusive, in order.

    ``mode="default"`` reads tags leniently, as seqeval's default mode (and conlleval) do: a chunk starts at ``B``
    or ``S``, at ``I``/``E`` after ``O``, ``E`` or ``S``, and wherever the type changes; it ends after ``E`` or ``S``,
    before ``B``, ``S`` or ``O``, and wherever the type changes. ``B``, ``I``, ``E`` and ``S`` are accepted whatever
    ``scheme`` says.

    ``mode="strict"`` keeps only well-formed entities of ``scheme``, as seqeval's strict mode: in IOB2 a ``B-X``
    followed by any ``I-X``; in IOBES ``S-X`` alone or ``B-X I-X* E-X``. Other tags belong to no entity.

    >>> get_entities(["B-PER", "I-PER", "O", "I-LOC", "B-LOC"])
    [('PER', 0, 2), ('LOC', 3, 4), ('LOC', 4, 5)]
    >>> get_entities(["B-PER", "I-PER", "O", "I-LOC", "B-LOC"], mode="strict")
    [('PER', 0, 2), ('LOC', 4, 5)]
    >>> get_entities(["B-PER", "E-PER", "B-LOC", "I-LOC"], mode="strict", scheme="BIOES")
    [('PER', 0, 2)]

    Raises:
        ~albert_core.InputError: for a tag that is neither ``O`` nor ``PREFIX-TYPE`` with a prefix of the mode
            and scheme.
    """
    if mode not in ("default", "strict"):
        raise UsageError(f"mode must be 'default' or 'strict', got {mode!r}")
    canonical = canonical_scheme(scheme)
    allowed = _PREFIXES["IOBES"] if mode == "default" else _PREFIXES[canonical]
    parsed = [_split_tag(tag, allowed, f"tag {i}") for i, tag in enumerate(tags)]
    if mode == "default":
        return _lenient_entities(parsed)
    return _strict_entities(parsed, canonical)


def _lenient_entities(parsed: list[tuple[str, str]]) -> list[tuple[str, int, int]]:
    entities = []
    start = None  # start of the open chunk
    prev_prefix, prev_type = "O", ""
    for i, (prefix, kind) in enumerate([*parsed, ("O", "")]):
        type_changed = kind != prev_type
        closes = prev_prefix != "O" and (
            prev_prefix in "ES" or prefix in "BSO" or type_changed
        )
        if closes and start is not None:
            entities.append((prev_type, start, i))
            start = None
        opens = prefix != "O" and (prefix in "BS" or prev_prefix in "OES" or type_changed)
        if opens:
            start = i
        prev_prefix, prev_type = prefix, kind
    return entities


def _strict_entities(parsed: list[tuple[str, str]], scheme: str) -> list[tuple[str, int, int]]:
    entities = []
    i, n = 0, len(parsed)
    while i < n:
        prefix, kind = parsed[i]
        if prefix == "S":  # IOBES only (IOB2 rejects S when the tags are parsed)
            entities.append((kind, i, i + 1))
            i += 1
            continue
        if prefix != "B":
            i += 1
            continue
        j = i + 1
        closed = scheme == "IOB2"  # IOB2: B-X I-X* is complete wherever it stops; IOBES needs its E-X
        while j < n and parsed[j][1] == kind and parsed[j][0] in ("I", "E"):
            j += 1
            if parsed[j - 1][0] == "E":
                closed = True
                break
        if closed:
            entities.append((kind, i, j))
        i = j
    return entities


def _per_type_scores(true_set: set, pred_set: set) -> tuple[float, float, float]:
    correct = len(true_set & pred_set)
    precision = correct / len(pred_set) if pred_set else 0.0
    recall = correct / len(true_set) if true_set else 0.0
    f1_value = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1_value


def entity_metrics(
    y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]], *, mode: str = "default", scheme: str = "IOB2"
) -> dict[str, Any]:
    """Entity-level precision, recall and F1 (micro average over entity types), per-type scores, and token accuracy,
    with seqeval's semantics (entities found by :func:`get_entities` in each sentence; an entity counts as correct
    only with the same type, start and end).

    A ratio with a zero denominator (no predicted entity, no gold entity) is 0.0, as seqeval's default.

    Args:
        y_true, y_pred: one list of tags per sentence, with the same lengths.
        mode, scheme: see :func:`get_entities`.

    Returns:
        ``{"precision", "recall", "f1", "accuracy", "per_type": {TYPE: {"precision", "recall", "f1", "support"}}}``
        where ``support`` is the number of gold entities of the type; ``per_type`` lists every type seen in either
        side, sorted.

    >>> m = entity_metrics([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "O"]])
    >>> m["precision"], m["recall"], round(m["f1"], 4), m["accuracy"]
    (1.0, 0.5, 0.6667, 0.75)
    """
    if isinstance(y_true, str) or isinstance(y_pred, str) or len(y_true) != len(y_pred):
        raise InputError("y_true and y_pred must be lists of tag sequences with as many sentences each")
    if not y_true:
        raise InputError("entity_metrics needs at least one sentence")
    true_entities: set[tuple[int, str, int, int]] = set()
    pred_entities: set[tuple[int, str, int, int]] = set()
    tokens = correct_tokens = 0
    for k, (gold, pred) in enumerate(zip(y_true, y_pred)):
        if isinstance(gold, str) or isinstance(pred, str):
            raise InputError(f"sentence {k}: expected a list of tags, got a str")
        if len(gold) != len(pred):
            raise InputError(f"sentence {k}: {len(gold)} gold tags but {len(pred)} predicted tags")
        true_entities.update((k, *e) for e in get_entities(gold, mode=mode, scheme=scheme))
        pred_entities.update((k, *e) for e in get_entities(pred, mode=mode, scheme=scheme))
        tokens += len(gold)
        correct_tokens += sum(g == p for g, p in zip(gold, pred))
    precision, recall, f1_value = _per_type_scores(true_entities, pred_entities)
    per_type = {}
    for kind in sorted({e[1] for e in true_entities | pred_entities}):
        t = {e for e in true_entities if e[1] == kind}
        p = {e for e in pred_entities if e[1] == kind}
        tp, tr, tf = _per_type_scores(t, p)
        per_type[kind] = {"precision": tp, "recall": tr, "f1": tf, "support": len(t)}
    return {"precision": precision, "recall": recall, "f1": f1_value,
            "accuracy": correct_tokens / tokens if tokens else 0.0, "per_type": per_type}


# ---------------------------------------------------------------------------------------------------------------------
# classification and regression


def _pair(predictions: Any, labels: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    p, y = np.asarray(predictions), np.asarray(labels)
    if p.ndim != 1 or y.ndim != 1:
        raise InputError(f"{what} needs 1-D predictions and labels, got shapes {p.shape} and {y.shape}")
    if p.shape != y.shape:
        raise InputError(f"{what}: {p.size} predictions but {y.size} labels")
    if p.size == 0:
        raise InputError(f"{what} needs at least one prediction")
    return p, y


def accuracy(predictions: Sequence[Hashable], labels: Sequence[Hashable]) -> float:
    """The fraction of predictions equal to their label.

    >>> accuracy([0, 1, 1, 2], [0, 1, 2, 2])
    0.75
    """
    p, y = _pair(predictions, labels, "accuracy")
    return float(np.mean(p == y))


def _confusion(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    classes = np.unique(np.concatenate([y, p]))
    index = {c: i for i, c in enumerate(classes.tolist())}
    matrix = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for t, q in zip(y.tolist(), p.tolist()):
        matrix[index[t], index[q]] += 1
    return classes, matrix


def f1(predictions: Sequence[Hashable], labels: Sequence[Hashable], *, average: str = "binary",
       pos_label: Hashable = 1) -> float:
    """F1 score, as scikit-learn's ``f1_score`` computes it.

    ``average="binary"``: F1 of ``pos_label`` (labels and predictions may hold at most two classes). ``"macro"``: the
    unweighted mean of the per-class F1 over every class in labels or predictions. ``"micro"``: F1 from the summed
    counts, which for single-label data equals accuracy. A class with no true positive, false positive or false
    negative (``binary`` when neither side holds ``pos_label``) scores 0.0, as scikit-learn's default.

    >>> f1([1, 1, 0, 0], [1, 0, 1, 0]), f1([0, 1, 2, 2], [0, 1, 1, 2], average="macro")
    (0.5, 0.7777777777777777)
    """
    p, y = _pair(predictions, labels, "f1")
    classes, matrix = _confusion(p, y)
    tp = np.diag(matrix).astype(np.float64)
    fp = matrix.sum(axis=0) - tp
    fn = matrix.sum(axis=1) - tp

    def score(t: float, a: float, b: float) -> float:
        return float(2 * t / (2 * t + a + b)) if (2 * t + a + b) else 0.0

    if average == "binary":
        if len(classes) > 2:
            raise InputError(f"average='binary' needs at most two classes, got {classes.tolist()}; "
                             "use average='macro' or 'micro'")
        where = np.flatnonzero(classes == pos_label)
        if where.size == 0:
            if len(classes) == 2:
                raise InputError(f"pos_label={pos_label!r} is not one of the classes {classes.tolist()}")
            return 0.0
        k = int(where[0])
        return score(tp[k], fp[k], fn[k])
    if average == "macro":
        return float(np.mean([score(tp[k], fp[k], fn[k]) for k in range(len(classes))]))
    if average == "micro":
        return score(tp.sum(), fp.sum(), fn.sum())
    raise UsageError(f"average must be 'binary', 'macro' or 'micro', got {average!r}")


def matthews_corrcoef(predictions: Sequence[Hashable], labels: Sequence[Hashable]) -> float:
    """Matthews correlation coefficient (the multi-class form of Gorodkin 2004, as scikit-learn), in [-1, 1].

    When either side holds a single class the coefficient is undefined; the result is then 0.0, as scikit-learn's.

    >>> matthews_corrcoef([1, 0, 1, 0], [1, 0, 1, 0]), matthews_corrcoef([1, 1, 1], [1, 0, 1])
    (1.0, 0.0)
    """
    p, y = _pair(predictions, labels, "matthews_corrcoef")
    _, matrix = _confusion(p, y)
    matrix = matrix.astype(np.float64)
    true_counts, pred_counts = matrix.sum(axis=1), matrix.sum(axis=0)
    correct, total = np.trace(matrix), matrix.sum()
    numerator = correct * total - true_counts @ pred_counts
    denominator = math.sqrt((total**2 - pred_counts @ pred_counts) * (total**2 - true_counts @ true_counts))
    return float(numerator / denominator) if denominator else 0.0


def _numeric_pair(x: Any, y: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = _pair(x, y, what)
    try:
        a, b = a.astype(np.float64), b.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} needs numbers: {exc}") from exc
    if a.size < 2:
        raise InputError(f"{what} needs at least two values, got {a.size}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InputError(f"{what} got NaN or infinite values")
    return a, b


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    # a constant side (exactly, or to rounding after centring) has no correlation: nan, as scipy
    if not a.any() or not b.any():
        return float("nan")
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    return float(np.clip(a @ b, -1.0, 1.0))


def pearson(predictions: Sequence[float], labels: Sequence[float]) -> float:
    """Pearson's correlation coefficient; ``nan`` when either side is constant (as ``scipy.stats.pearsonr``).

    >>> round(pearson([1, 2, 3, 4], [2, 4, 5, 9]), 4)  # 11 / sqrt(5 * 26)
    0.9648
    """
    return _correlation(*_numeric_pair(predictions, labels, "pearson"))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    # positions where a new run of equal values begins, and the 1-based mean rank of each run
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    ends = np.concatenate([starts[1:], [len(values)]])
    run_rank = (starts + ends + 1) / 2.0
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat(run_rank, ends - starts)
    return ranks


def spearman(predictions: Sequence[float], labels: Sequence[float]) -> float:
    """Spearman's rank correlation: Pearson's on the ranks, ties sharing their mean rank; ``nan`` when either side is
    constant (as ``scipy.stats.spearmanr``).

    >>> spearman([10, 20, 20, 40], [1, 2, 2, 3])
    1.0
    """
    a, b = _numeric_pair(predictions, labels, "spearman")
    return _correlation(_average_ranks(a), _average_ranks(b))


def classification_metrics(predictions: Iterable[Hashable], labels: Iterable[Hashable]) -> dict[str, float]:
    """Accuracy, macro and micro F1 and Matthews correlation at once (binary F1 too when there are at most two
    classes and they are 0/1).

    >>> classification_metrics([1, 0, 1, 1], [1, 0, 0, 1])["accuracy"]
    0.75
    """
    p, y = list(predictions), list(labels)
    out = {"accuracy": accuracy(p, y), "f1_macro": f1(p, y, average="macro"), "f1_micro": f1(p, y, average="micro"),
           "matthews_corrcoef": matthews_corrcoef(p, y)}
    if set(p) | set(y) <= {0, 1}:
        out["f1"] = f1(p, y, average="binary")
    return out


def regression_metrics(predictions: Iterable[float], labels: Iterable[float]) -> dict[str, float]:
    """Pearson, Spearman, their mean (GLUE's STS-B score) and the mean squared error.

    >>> round(regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])["spearman"], 6)
    1.0
    """
    a, b = _numeric_pair(list(predictions), list(labels), "regression_metrics")
    r, rho = pearson(a, b), spearman(a, b)
    return {"pearson": r, "spearman": rho, "pearson_spearman_mean": (r + rho) / 2, "mse": float(np.mean((a - b) ** 2))}
