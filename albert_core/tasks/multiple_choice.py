"""Multiple choice, RACE style: one row ``[CLS] passage [SEP] question-with-option [SEP]`` per option.

The question and an option are joined as the RACE preprocessing of ALBERT does: an option fills the question's
blank(s) ``_`` when it has any (``"The cat sat on the _ ."`` + ``"mat"`` -> ``"The cat sat on the mat ."``), and
is appended after a space otherwise. Rows that are too long lose tokens from the end of the passage; only when the
question and option alone leave no room for a passage token are both sides cut, longest first (transformers'
``"longest_first"``), with a warning.

>>> join_question_option("The cat sat on the _ .", "mat"), join_question_option("Who sat?", "the cat")
('The cat sat on the mat .', 'Who sat? the cat')
>>> label_id("C"), label_id(1)
(2, 1)
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

from ..errors import AlbertWarning, InputError, UsageError

__all__ = ["join_question_option", "label_id", "prepare_multiple_choice"]


def join_question_option(question: str, option: str) -> str:
    """The second segment of a row: ``option`` substituted for every ``_`` of ``question``, or appended after a
    space when the question has no ``_``."""
    if not isinstance(question, str) or not isinstance(option, str):
        raise InputError(f"question and option must be str, got {type(question).__name__}, {type(option).__name__}")
    if "_" in question:
        return question.replace("_", option)
    return f"{question} {option}"


def label_id(label: Any, num_choices: int | None = None) -> int:
    """The choice index of a label: ``"A"`` -> 0, ``"B"`` -> 1, ... (RACE's answer letters, upper or lower case), or
    an int index as is.

    Raises:
        ~albert_core.InputError: for anything else, or an index outside ``num_choices`` (when given).
    """
    if isinstance(label, str) and len(label) == 1 and label.isalpha() and label.isascii():
        index = ord(label.upper()) - ord("A")
    elif isinstance(label, (int, np.integer)) and not isinstance(label, bool):
        index = int(label)
    else:
        raise InputError(f"a label must be a letter 'A', 'B', ... or a choice index, got {label!r}")
    if index < 0 or (num_choices is not None and index >= num_choices):
        raise InputError(f"label {label!r} names choice {index}, but there are {num_choices} options")
    return index


def _fit(passage: list[int], second: list[int], room: int, where: str) -> tuple[list[int], list[int]]:
    """Cut the passage (then, when that is not enough, the longer side one token at a time) to ``room`` tokens."""
    excess = len(passage) + len(second) - room
    if excess <= 0:
        return passage, second
    if excess < len(passage):
        return passage[: len(passage) - excess], second
    warnings.warn(f"{where}: the question and option take {len(second)} of the {room} tokens a row leaves; both "
                  "the passage and the question are cut", AlbertWarning, stacklevel=3)
    a, b = len(passage), len(second)
    while a + b > room:
        if a > b:
            a -= 1
        else:
            b -= 1
    if a == 0 or b == 0:
        raise UsageError(f"{where}: a row of this max_length cannot hold any passage and question tokens")
    return passage[:a], second[:b]


def prepare_multiple_choice(
    tokenizer: Any,
    passages: Sequence[str],
    questions: Sequence[str],
    options: Sequence[Sequence[str]],
    labels: Sequence[Any] | None = None,
    *,
    max_length: int = 512,
    padding: bool | str = "max_length",
) -> dict[str, np.ndarray]:
    """Model inputs ``[examples, choices, seq]`` for multiple choice, one row per (passage, question, option).

    Args:
        tokenizer: an :class:`~albert_core.tokenizer.AlbertTokenizer` (or anything with its ``__call__`` and the
            ``cls_token_id``/``sep_token_id``/``pad_token_id`` attributes).
        passages, questions: one per example (a str each).
        options: the options of each example; every example must have the same number.
        labels: the right option of each example, a letter (``"A"``...) or an index; optional.
        max_length: tokens per row, special tokens included.
        padding: ``"max_length"`` (rows of ``max_length``) or ``"longest"``/``True`` (the longest row of all).

    Returns:
        ``input_ids``, ``token_type_ids``, ``attention_mask`` as ``int64`` arrays ``[examples, choices, seq]``, and
        ``labels`` ``[examples]`` when labels are given.

    Raises:
        ~albert_core.InputError: on inputs of different counts, examples with different numbers of options, or a
            label that names no option.

    >>> from albert_core import AlbertTokenizer
    >>> from albert_core.filenames import DEFAULT_MODEL_DIR
    >>> tok = AlbertTokenizer.from_pretrained(DEFAULT_MODEL_DIR)
    >>> batch = prepare_multiple_choice(tok, ["The cat sat on the mat."], ["The cat sat on the _ ."],
    ...                                 [["mat", "dog", "king", "sea"]], ["A"], max_length=24)
    >>> batch["input_ids"].shape, batch["labels"].tolist()
    ((1, 4, 24), [0])
    """
    for name, value in (("passages", passages), ("questions", questions), ("options", options)):
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise InputError(f"{name} must be a list (one entry per example), got {type(value).__name__}")
    if not passages:
        raise InputError("prepare_multiple_choice needs at least one example")
    if not len(passages) == len(questions) == len(options):
        raise InputError(f"got {len(passages)} passages, {len(questions)} questions and {len(options)} option lists")
    counts = set()
    for k, opts in enumerate(options):
        if isinstance(opts, str) or not isinstance(opts, (list, tuple)) or not opts:
            raise InputError(f"options[{k}] must be a non-empty list of str")
        counts.add(len(opts))
    if len(counts) > 1:
        raise InputError(f"every example needs the same number of options, got {sorted(counts)}")
    num_choices = counts.pop()
    if labels is not None and len(labels) != len(passages):
        raise InputError(f"got {len(labels)} labels for {len(passages)} examples")
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 5:
        raise UsageError(f"max_length must be an integer >= 5, got {max_length!r}")
    if padding not in (True, "longest", "max_length"):
        raise UsageError(f"padding must be 'max_length' or 'longest'/True (the rows become one array), got {padding!r}")
    seconds = [join_question_option(q, o) for q, opts in zip(questions, options) for o in opts]
    passage_ids = tokenizer(list(passages), add_special_tokens=False, return_attention_mask=False,
                            return_token_type_ids=False)["input_ids"]
    second_ids = tokenizer(seconds, add_special_tokens=False, return_attention_mask=False,
                           return_token_type_ids=False)["input_ids"]
    rows = []
    for k in range(len(passages)):
        for c in range(num_choices):
            a, b = _fit(list(passage_ids[k]), list(second_ids[k * num_choices + c]), max_length - 3,
                        f"example {k}, option {c}")
            rows.append((a, b))
    length = max_length if padding == "max_length" else max(len(a) + len(b) + 3 for a, b in rows)
    shape = (len(passages), num_choices, length)
    input_ids = np.full(shape, tokenizer.pad_token_id, dtype=np.int64)
    token_type_ids = np.zeros(shape, dtype=np.int64)
    attention_mask = np.zeros(shape, dtype=np.int64)
    for r, (a, b) in enumerate(rows):
        k, c = divmod(r, num_choices)
        row = [tokenizer.cls_token_id, *a, tokenizer.sep_token_id, *b, tokenizer.sep_token_id]
        input_ids[k, c, : len(row)] = row
        token_type_ids[k, c, len(a) + 2 : len(row)] = 1
        attention_mask[k, c, : len(row)] = 1
    out = {"input_ids": input_ids, "token_type_ids": token_type_ids, "attention_mask": attention_mask}
    if labels is not None:
        out["labels"] = np.asarray([label_id(label, num_choices) for label in labels], dtype=np.int64)
    return out
