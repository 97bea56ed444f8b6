"""Pure functions that turn per-text ids into model inputs: truncation, special tokens, padding and tensors.

Each output row is built once at its final (padded) length, so a batch allocates one list per row and field.
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Callable, Mapping, Optional, Sequence, TypeVar

from albert_core.errors import FrameworkMissingError, TokenizerError
from albert_core.tokenizer.encoding import Encoding, RowLayout, TokenizerArgumentError

T = TypeVar("T")
Rows = list[list[T]]
NO_SPAN = (0, 0)


def padding_strategy(padding: Any) -> str:
    """``"longest"``, ``"max_length"`` or ``"do_not_pad"`` for a ``padding`` argument.

    >>> padding_strategy(True), padding_strategy(False), padding_strategy("max_length")
    ('longest', 'do_not_pad', 'max_length')
    """
    if padding is True or padding == "longest":
        return "longest"
    if padding is False or padding is None or padding == "do_not_pad":
        return "do_not_pad"
    if padding == "max_length":
        return "max_length"
    raise TokenizerArgumentError("padding must be True/False, 'longest', 'max_length' or 'do_not_pad', "
                                 f"got {padding!r}")


def truncation_strategy(truncation: Any) -> str:
    """``"longest_first"``, ``"only_first"``, ``"only_second"`` or ``"do_not_truncate"`` for a ``truncation`` argument.

    >>> truncation_strategy(True), truncation_strategy(None)
    ('longest_first', 'do_not_truncate')
    """
    if truncation is True or truncation == "longest_first":
        return "longest_first"
    if truncation is False or truncation is None or truncation == "do_not_truncate":
        return "do_not_truncate"
    if truncation in ("only_first", "only_second"):
        return str(truncation)
    raise TokenizerArgumentError(
        "truncation must be True/False, 'longest_first', 'only_first', 'only_second' or 'do_not_truncate', "
        f"got {truncation!r}"
    )


def _emptied(which: str, length: int, remove: int, max_length: int, strategy: str) -> TokenizerError:
    return TokenizerError(
        f"cannot truncate to max_length={max_length} with truncation={strategy!r}: the {which} sequence has "
        f"{length} tokens and {remove} must go, which would leave nothing of it; raise max_length or use "
        "truncation='longest_first'"
    )


def kept_lengths(
    len_a: int, len_b: int | None, *, budget: int, strategy: str, max_length: int, num_special: int
) -> tuple[int, int | None]:
    """How many content tokens of each sequence survive truncation to ``budget`` tokens, Hugging Face style.

    ``longest_first`` first evens out the two lengths, then takes from both, the second one taking the odd token.

    When the one sequence that may be cut (``only_first``, ``only_second``, or a single sequence) would lose all
    its tokens, or more, this raises a :class:`~albert_core.TokenizerError`. Hugging Face instead logs an error
    and returns that row untruncated, longer than ``max_length``: a row that silently breaks the length the caller
    asked for (and the model's position limit), or one whose question or context is gone, is never what was meant.

    >>> kept_lengths(10, 4, budget=9, strategy="longest_first", max_length=12, num_special=3)
    (5, 4)
    >>> kept_lengths(10, None, budget=6, strategy="only_first", max_length=8, num_special=2)
    (6, None)
    """
    if budget < 0:
        raise TokenizerError(f"max_length={max_length} is smaller than the {num_special} special tokens "
                             "the sequence needs")
    remove = len_a + (len_b or 0) - budget
    if remove <= 0:
        return len_a, len_b
    if len_b is None or strategy == "only_first":
        if remove >= len_a:
            raise _emptied("first", len_a, remove, max_length, strategy)
        return len_a - remove, len_b
    if strategy == "only_second":
        if remove >= len_b:
            raise _emptied("second", len_b, remove, max_length, strategy)
        return len_a, len_b - remove
    first_remove = min(abs(len_b - len_a), remove)
    second_remove = remove - first_remove
    if len_a > len_b:
        return len_a - first_remove - second_remove // 2, len_b - (second_remove - second_remove // 2)
    return len_a - second_remove // 2, len_b - (first_remove + second_remove - second_remove // 2)


def truncate(
    first: Rows[T], second: Rows[T] | None, *, max_length: int, strategy: str, num_special: int
) -> tuple[Rows[T], Rows[T] | None]:
    """Cut each row (of ids, or of offsets) so that content plus ``num_special`` tokens fit ``max_length``.

    Rows that fit are returned as they are (the same list objects).

    >>> truncate([[5, 6, 7, 8]], None, max_length=4, strategy="longest_first", num_special=2)
    ([[5, 6]], None)
    """
    budget = max_length - num_special
    out_a: Rows[T] = []
    out_b: Rows[T] | None = [] if second is not None else None
    for i, row_a in enumerate(first):
        row_b = second[i] if second is not None else None
        keep_a, keep_b = kept_lengths(len(row_a), len(row_b) if row_b is not None else None, budget=budget,
                                      strategy=strategy, max_length=max_length, num_special=num_special)
        out_a.append(row_a if keep_a == len(row_a) else row_a[:keep_a])
        if out_b is not None and row_b is not None:
            out_b.append(row_b if keep_b == len(row_b) else row_b[:keep_b])
    return out_a, out_b


def sequence_lengths(first: Sequence[Sequence[Any]], second: Sequence[Sequence[Any]] | None, *,
                     num_special: int) -> list[int]:
    """The length of each row once special tokens are added (before padding).

    >>> sequence_lengths([[5, 6], []], [[7], [8, 9]], num_special=3)
    [6, 5]
    """
    if second is None:
        return [len(a) + num_special for a in first]
    return [len(a) + len(b) + num_special for a, b in zip(first, second)]


def warn_if_too_long(lengths: Sequence[int], *, max_length: int | None, stacklevel: int = 2) -> None:
    """Warn (once) when a row that is not being truncated is longer than ``max_length``."""
    if max_length is None:
        return
    for length in lengths:
        if length > max_length:
            warnings.warn(
                f"a sequence of {length} tokens is longer than max_length={max_length} and truncation is off; "
                "it is left whole (pass truncation=True to cut it)",
                UserWarning,
                stacklevel=stacklevel + 1,
            )
            return


def padded_length(lengths: Sequence[int], *, strategy: str, max_length: int | None,
                  pad_to_multiple_of: int | None) -> int | None:
    """The length every row is padded to, or None without padding.

    >>> padded_length([3, 5], strategy="longest", max_length=None, pad_to_multiple_of=4)
    8
    """
    if strategy == "do_not_pad":
        return None
    target = max(lengths) if strategy == "longest" else max_length
    assert target is not None
    if pad_to_multiple_of is not None and target % pad_to_multiple_of:
        target = (target // pad_to_multiple_of + 1) * pad_to_multiple_of
    return target


def _pad(row: list[T], value: T, length: int | None) -> list[T]:
    if length is not None and len(row) < length:
        row += [value] * (length - len(row))
    return row


def input_id_rows(
    first: Rows[int], second: Rows[int] | None, *, cls_id: int | None, sep_id: int | None, pad_id: int,
    length: int | None = None, in_place: bool = False,
) -> Rows[int]:
    """``[CLS] A [SEP]`` / ``[CLS] A [SEP] B [SEP]`` per row (``A`` / ``A B`` when ``cls_id`` is None), padded.

    With ``in_place`` the rows of ``first`` are extended into the output rows instead of copied, which saves a
    list per row (fewer objects for the cyclic garbage collector to track).

    >>> input_id_rows([[7], [7, 8]], [[9], []], cls_id=2, sep_id=3, pad_id=0, length=6)
    [[2, 7, 3, 9, 3, 0], [2, 7, 8, 3, 3, 0]]
    """
    return _assemble(first, second, cls_id, sep_id, pad_id, length, in_place)


def _assemble(first: Rows[T], second: Rows[T] | None, start: T | None, sep: T | None, pad: T, length: int | None,
              in_place: bool) -> Rows[T]:
    if start is not None:  # one new list per row, built in one step (no insert at the front)
        first = [[start, *a, sep] for a in first]  # type: ignore[list-item]
    elif not in_place:
        first = [[*a] for a in first]
    for i, row in enumerate(first):
        if second is not None:
            row += second[i]
            if start is not None:
                row.append(sep)  # type: ignore[arg-type]
        if length is not None and len(row) < length:
            row += [pad] * (length - len(row))
    return first


def token_type_rows(
    first: Sequence[Sequence[Any]], second: Sequence[Sequence[Any]] | None, *, add_special_tokens: bool,
    length: int | None = None,
) -> Rows[int]:
    """0 over ``[CLS] A [SEP]``, 1 over ``B [SEP]``, 0 over padding.

    >>> token_type_rows([[7]], [[8, 9]], add_special_tokens=True)
    [[0, 0, 0, 1, 1, 1]]
    """
    extra_a, extra_b = (2, 1) if add_special_tokens else (0, 0)
    if second is None:
        rows = [[0] * (len(a) + extra_a) for a in first]
    else:
        rows = [[0] * (len(a) + extra_a) + [1] * (len(b) + extra_b) for a, b in zip(first, second)]
    return rows if length is None else [_pad(row, 0, length) for row in rows]


def special_tokens_mask_rows(
    first: Sequence[Sequence[Any]], second: Sequence[Sequence[Any]] | None, *, add_special_tokens: bool,
    length: int | None = None,
) -> Rows[int]:
    """1 on added special tokens and padding, 0 on content.

    >>> special_tokens_mask_rows([[7, 7]], [[8]], add_special_tokens=True, length=7)
    [[1, 0, 0, 1, 0, 1, 1]]
    """
    seconds: Sequence[Sequence[Any] | None] = second if second is not None else [None] * len(first)
    if not add_special_tokens:
        rows = [[0] * (len(a) + len(b or ())) for a, b in zip(first, seconds)]
    else:
        rows = [[1, *[0] * len(a), 1] + ([*[0] * len(b), 1] if b is not None else []) for a, b in zip(first, seconds)]
    return rows if length is None else [_pad(row, 1, length) for row in rows]


def attention_mask_rows(lengths: Sequence[int], *, length: int | None = None) -> Rows[int]:
    """1 over each row's tokens, 0 over its padding.

    >>> attention_mask_rows([2, 3], length=4)
    [[1, 1, 0, 0], [1, 1, 1, 0]]
    """
    if length is None:
        return [[1] * n for n in lengths]
    return [[1] * n + [0] * (length - n) if n < length else [1] * n for n in lengths]


def offset_rows(
    first: Rows[tuple[int, int]], second: Rows[tuple[int, int]] | None, *, add_special_tokens: bool,
    length: int | None = None, in_place: bool = False,
) -> Rows[tuple[int, int]]:
    """Character spans per row, ``(0, 0)`` on special tokens and padding (``in_place`` as in :func:`input_id_rows`).

    >>> offset_rows([[(0, 1)]], None, add_special_tokens=True, length=4)
    [[(0, 0), (0, 1), (0, 0), (0, 0)]]
    """
    marker = NO_SPAN if add_special_tokens else None
    return _assemble(first, second, marker, NO_SPAN, NO_SPAN, length, in_place)


def to_tensors(encoding: Encoding, kind: str) -> Encoding:
    """The same fields as ``int64`` arrays: numpy for ``"np"``, torch for ``"pt"``, TensorFlow for ``"tf"``.

    >>> to_tensors(Encoding(input_ids=[[2, 3]]), "np")["input_ids"].shape
    (1, 2)
    """
    lengths = {len(r) for r in encoding["input_ids"]}
    if len(lengths) > 1:
        raise TokenizerError(
            f"cannot make {kind!r} tensors from sequences of different lengths {sorted(lengths)}; "
            "pass padding=True (or padding='max_length')"
        )
    import numpy as np

    arrays = Encoding()
    for key, value in encoding.items():
        arr = np.asarray(value, dtype=np.int64)
        if key == "offset_mapping" and arr.size == 0:
            arr = arr.reshape(len(value), 0, 2)
        arrays[key] = arr
    return framework_tensors(arrays, kind)


def framework_tensors(arrays: Mapping[str, Any], kind: str) -> Encoding:
    """numpy arrays as ``kind`` tensors (``"np"``, ``"pt"`` or ``"tf"``): the one place the tokenizer touches a
    framework. Integer fields keep int64; float fields become the framework's default float (float32), as Hugging
    Face's ``BatchEncoding`` does with Python floats.

    >>> import numpy as np
    >>> framework_tensors({"input_ids": np.array([[2, 3]])}, "np")["input_ids"].tolist()
    [[2, 3]]
    """
    import numpy as np

    for key, arr in arrays.items():
        if arr.dtype.kind in "USO":
            raise TokenizerError(f"field {key!r} holds values that cannot be made into {kind!r} tensors")
    if kind == "np":
        return Encoding(arrays)
    if kind == "pt":
        try:
            import torch
        except ImportError as exc:
            raise FrameworkMissingError("return_tensors='pt' needs PyTorch: pip install torch") from exc
        return Encoding({k: torch.from_numpy(np.ascontiguousarray(v)).to(torch.get_default_dtype())
                         if v.dtype.kind == "f" else torch.from_numpy(np.ascontiguousarray(v))
                         for k, v in arrays.items()})
    try:
        import tensorflow as tf
    except ImportError as exc:
        raise FrameworkMissingError("return_tensors='tf' needs TensorFlow: pip install tensorflow") from exc
    return Encoding({k: tf.constant(v, dtype=tf.float32) if v.dtype.kind == "f" else tf.constant(v)
                     for k, v in arrays.items()})


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(text: Any) -> None:
    r"""Raise a :class:`~albert_core.TokenizerError` unless ``text`` is a str that UTF-8 can encode.

    A lone surrogate (``"\ud800"``, e.g. from ``json.loads`` of a broken escape or a mis-decoded file) has no UTF-8
    form, so SentencePiece cannot take the text; the error says where it is.

    >>> try:
    ...     check_text("ab\ud800")
    ... except TokenizerError as exc:
    ...     print(str(exc).split(",")[0])
    text contains the lone surrogate U+D800 at index 2
    """
    if not isinstance(text, str):
        raise TokenizerError(f"text must be a str, got {type(text).__name__}: {text!r:.80}")
    if not text.isascii():  # ASCII, the common case, skips the scan
        found = _SURROGATE.search(text)
        if found is not None:
            raise TokenizerError(
                f"text contains the lone surrogate U+{ord(found.group()):04X} at index {found.start()}, which UTF-8 "
                "cannot encode; decode the source with errors='replace' or drop it"
            )


def check_side(value: Any, argument: str) -> str:
    """``"left"`` or ``"right"``, or a :class:`~albert_core.errors.TokenizerArgumentError` naming
    ``argument``.

    >>> check_side("left", "padding_side")
    'left'
    """
    if value not in ("left", "right") or not isinstance(value, str):
        raise TokenizerArgumentError(f"{argument} must be 'left' or 'right', got {value!r:.60}")
    return value


def check_flags(flags: dict[str, Any]) -> None:
    """Raise a :class:`~albert_core.errors.TokenizerArgumentError` naming the first of ``flags``
    (argument name -> value) that is not a bool.

    >>> check_flags({"return_length": True})
    """
    for argument, value in flags.items():
        if not isinstance(value, bool):
            raise TokenizerArgumentError(f"{argument} must be True or False, got {value!r:.60}")


def check_options(
    *, return_tensors: Any, max_length: Any, pad_to_multiple_of: Any, truncation: str, has_pairs: bool,
    stride: Any = 0, return_overflowing_tokens: Any = False, flags: dict[str, Any] | None = None,
) -> None:
    """Raise a :class:`~albert_core.errors.TokenizerArgumentError` (a
    :class:`~albert_core.TokenizerError`) naming the first invalid call option (``truncation`` already parsed).
    ``flags`` maps the names of boolean options to their values."""
    if return_tensors not in (None, "np", "pt", "tf"):
        raise TokenizerArgumentError(f"return_tensors must be None, 'np', 'pt' or 'tf', got {return_tensors!r}")
    if max_length is not None and (not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 0):
        raise TokenizerArgumentError(f"max_length must be a non-negative int, got {max_length!r}")
    if pad_to_multiple_of is not None and (
        not isinstance(pad_to_multiple_of, int) or isinstance(pad_to_multiple_of, bool) or pad_to_multiple_of <= 0
    ):
        raise TokenizerArgumentError(f"pad_to_multiple_of must be a positive int, got {pad_to_multiple_of!r}")
    if not isinstance(stride, int) or isinstance(stride, bool) or stride < 0:
        raise TokenizerArgumentError(f"stride must be a non-negative int, got {stride!r:.60}")
    check_flags(flags or {})
    if truncation == "only_second" and not has_pairs:
        raise TokenizerArgumentError("truncation='only_second' needs text_pair (second sequences)")
    if return_overflowing_tokens and has_pairs and truncation == "longest_first":
        raise TokenizerArgumentError(
            "return_overflowing_tokens with pairs of sequences needs truncation='only_first' or 'only_second' (which "
            "sequence the windows slide over), not truncation='longest_first'"
        )


def _is_text_list(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def _check_words(words: Any, argument: str) -> list[str]:
    if not _is_text_list(words):
        raise TokenizerError(
            f"{argument} must be a list of words (str) with is_split_into_words=True, got {type(words).__name__}"
        )
    for word in words:
        check_text(word)
    return list(words)


def text_batch(text: Any, text_pair: Any,
               is_split_into_words: bool = False) -> tuple[bool, list[Any], list[Any] | None]:
    """``(single, firsts, seconds)``: the inputs of a call as lists, checked, with Hugging Face's rules.

    ``text`` is a str, a list of str, or a list of ``(text, text_pair)`` tuples (then ``text_pair`` is None);
    ``text_pair`` is a str for a str ``text`` or a list as long as ``text``. With ``is_split_into_words`` each
    text is a list of words (str): one list, or a list of lists (a batch). ``single`` says whether ``text`` was
    one input (results then lose their batch axis); ``seconds`` is None without second sequences.

    >>> text_batch("a", "b")
    (True, ['a'], ['b'])
    >>> text_batch([("a", "b"), ("c", "d")], None)
    (False, ['a', 'c'], ['b', 'd'])
    >>> text_batch(["a", "b"], None, is_split_into_words=True)
    (True, [['a', 'b']], None)
    """
    if text is None:
        raise TokenizerError("text is required: a str, a list of str or a list of (text, text_pair) tuples")
    if is_split_into_words:
        single = not (_is_text_list(text) and len(text) > 0 and _is_text_list(text[0]))
    else:
        single = isinstance(text, str)
        if not single and not _is_text_list(text):
            raise TokenizerError(f"text must be a str or a list of str, got {type(text).__name__}")
    pairs: list[Any] | None = None
    if single:
        batch = [text]
        if text_pair is not None:
            if not is_split_into_words and not isinstance(text_pair, str):
                raise TokenizerError(f"text_pair must be a str when text is a str, got {type(text_pair).__name__}")
            pairs = [text_pair]
    else:
        batch = list(text)
        if not batch:  # there is no row to build and no shape for return_tensors to give
            raise TokenizerError("text is an empty batch; pass at least one text")
        if text_pair is not None:
            if isinstance(text_pair, str) or not _is_text_list(text_pair):
                raise TokenizerError(f"text_pair must be a list like text, got {type(text_pair).__name__}")
            pairs = list(text_pair)
            if len(pairs) != len(batch):
                raise TokenizerError(f"got {len(batch)} texts but {len(pairs)} text_pair entries")
        elif is_split_into_words or set(map(type, batch)) != {str}:  # the usual batch of str skips this
            # a list of (text, pair) tuples
            is_pair = [_is_text_list(item) and (not is_split_into_words or (len(item) > 0 and _is_text_list(item[0])))
                       for item in batch]
            if any(is_pair):
                if not all(is_pair):
                    raise TokenizerError("text mixes single inputs and (text, text_pair) tuples; pass either only "
                                         "single texts or only pairs in one call")
                for item in batch:
                    if len(item) != 2:
                        raise TokenizerError(f"a (text, text_pair) tuple must have 2 entries, got {len(item)}")
                pairs = [item[1] for item in batch]
                batch = [item[0] for item in batch]
    if is_split_into_words:
        batch = [_check_words(words, "text") for words in batch]
        if pairs is not None:
            pairs = [_check_words(words, "text_pair") for words in pairs]
    else:
        items = batch + (pairs or [])
        # str that are ASCII together (the usual batch) hold no lone surrogate: one scan of the joined text checks
        # them all; anything else is checked text by text, so the error names the text's problem
        if set(map(type, items)) != {str} or not "".join(items).isascii():
            for item in items:
                check_text(item)
    return single, batch, pairs


Ranges = list[tuple[tuple[int, int], Optional[tuple[int, int]]]]


def window_ranges(length: int, kept: int, *, stride: int, side: str, which: str) -> list[tuple[int, int]]:
    """The ``(start, stop)`` windows of ``kept`` tokens over a sequence of ``length``, consecutive windows
    sharing ``stride`` tokens (Hugging Face fast tokenizers' overflow windows).

    ``side="right"`` starts at the beginning, ``"left"`` at the end of the sequence.

    >>> window_ranges(10, 4, stride=1, side="right", which="first")
    [(0, 4), (3, 7), (6, 10)]
    >>> window_ranges(10, 4, stride=1, side="left", which="first")
    [(6, 10), (3, 7), (0, 4)]
    """
    if kept >= length:
        return [(0, length)]
    if stride >= kept:
        raise TokenizerArgumentError(
            f"stride={stride} must be smaller than the {kept} tokens of the {which} sequence that fit in each "
            "window (max_length minus the special tokens and the other sequence); lower stride or raise max_length"
        )
    step = kept - stride
    out = []
    if side == "right":
        for start in range(0, length, step):
            stop = min(start + kept, length)
            out.append((start, stop))
            if stop == length:
                break
    else:
        for last in range(length - 1, -1, -step):
            stop = last + 1
            start = max(stop - kept, 0)
            out.append((start, stop))
            if start == 0:
                break
    return out


def _cut(length: int, kept: int, side: str) -> tuple[int, int]:
    return (0, kept) if side == "right" else (length - kept, length)


def row_ranges(
    len_a: int, len_b: int | None, *, max_length: int, strategy: str, num_special: int, side: str,
    windows: bool, stride: int,
) -> Ranges:
    """The ``(first_range, second_range)`` of each output row made from one input: one row when truncating,
    one per window with ``windows`` (``return_overflowing_tokens``). Lengths follow :func:`kept_lengths`.

    >>> row_ranges(5, 3, max_length=7, strategy="only_first", num_special=3, side="right", windows=True, stride=0)
    [((0, 1), (0, 3)), ((1, 2), (0, 3)), ((2, 3), (0, 3)), ((3, 4), (0, 3)), ((4, 5), (0, 3))]
    """
    keep_a, keep_b = kept_lengths(len_a, len_b, budget=max_length - num_special, strategy=strategy,
                                  max_length=max_length, num_special=num_special)
    whole_b = (0, len_b) if len_b is not None else None
    if not windows:
        return [(_cut(len_a, keep_a, side),
                 _cut(len_b, keep_b, side) if len_b is not None else None)]  # type: ignore[arg-type]
    if len_b is not None and strategy == "only_second":
        return [((0, len_a), r) for r in window_ranges(len_b, keep_b,  # type: ignore[arg-type]
                                                       stride=stride, side=side, which="second")]
    return [(r, whole_b) for r in window_ranges(len_a, keep_a, stride=stride, side=side, which="first")]


def _pad_rows(rows: Rows[T], value: T, length: int | None, side: str) -> Rows[T]:
    if length is None or side == "right":
        return [_pad(row, value, length) for row in rows]
    return [[value] * (length - len(row)) + row if len(row) < length else row for row in rows]


def model_inputs(
    first: Rows[int],
    second: Rows[int] | None,
    *,
    first_spans: Rows[tuple[int, int]] | None = None,
    second_spans: Rows[tuple[int, int]] | None = None,
    first_words: Rows[int] | None = None,
    second_words: Rows[int] | None = None,
    word_ids_of: Callable[[Sequence[int]], list[int]] | None = None,
    cls_id: int,
    sep_id: int,
    pad_id: int,
    add_special_tokens: bool = True,
    truncation: str = "do_not_truncate",
    padding: str = "do_not_pad",
    max_length: int | None = None,
    pad_to_multiple_of: int | None = None,
    return_token_type_ids: bool = True,
    return_attention_mask: bool = True,
    return_special_tokens_mask: bool = False,
    return_length: bool = False,
    return_overflowing_tokens: bool = False,
    stride: int = 0,
    padding_side: str = "right",
    truncation_side: str = "right",
) -> Encoding:
    """The model inputs of a batch of content ids (and spans): truncated or cut into windows, with special
    tokens, padded.

    The rows of ``first`` and ``first_spans`` are taken over: they are extended into the output rows.

    ``truncation`` and ``padding`` are strategies from :func:`truncation_strategy` and :func:`padding_strategy`;
    ``offset_mapping`` is returned when ``first_spans`` is given. ``first_words``/``second_words`` are the word
    ids of pre-split input; ``word_ids_of`` derives them from ids otherwise (only needed when rows are cut).
    With ``return_overflowing_tokens`` and truncation, each input gives one row per window of the cut sequence
    (consecutive windows share ``stride`` tokens) and ``overflow_to_sample_mapping`` names each row's input.

    >>> enc = model_inputs([[7, 8, 9], [7]], None, cls_id=2, sep_id=3, pad_id=0, padding="longest")
    >>> enc["input_ids"], enc["attention_mask"]
    ([[2, 7, 8, 9, 3], [2, 7, 3, 0, 0]], [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    >>> model_inputs([[5, 6, 7, 8]], None, cls_id=2, sep_id=3, pad_id=0, truncation="longest_first", max_length=4,
    ...              return_overflowing_tokens=True, stride=1)["input_ids"]
    [[2, 5, 6, 3], [2, 6, 7, 3], [2, 7, 8, 3]]
    """
    num_special = (3 if second is not None else 2) if add_special_tokens else 0
    words: dict[int, tuple[Any, Any]] = {}
    mapping: list[int] | None = None
    if truncation != "do_not_truncate":
        assert max_length is not None
        first, second, first_spans, second_spans, words, mapping = _cut_rows(
            first, second, first_spans, second_spans, first_words, second_words, word_ids_of,
            max_length=max_length, strategy=truncation, num_special=num_special, side=truncation_side,
            windows=return_overflowing_tokens, stride=stride,
        )
    elif first_words is not None:
        words = {i: (wa, second_words[i] if second_words is not None else None) for i, wa in enumerate(first_words)}
    if mapping is None and return_overflowing_tokens:
        mapping = list(range(len(first)))
    lengths = sequence_lengths(first, second, num_special=num_special)
    if truncation == "do_not_truncate":
        warn_if_too_long(lengths, max_length=max_length, stacklevel=3)
    length = padded_length(lengths, strategy=padding, max_length=max_length, pad_to_multiple_of=pad_to_multiple_of)
    left = padding_side == "left" and length is not None
    row_length = None if left else length
    out = Encoding(input_ids=None)
    rows = dict(add_special_tokens=add_special_tokens, length=row_length)
    if return_token_type_ids:
        out["token_type_ids"] = token_type_rows(first, second, **rows)
    if return_attention_mask:
        out["attention_mask"] = attention_mask_rows(lengths, length=row_length)
    if return_special_tokens_mask:
        out["special_tokens_mask"] = special_tokens_mask_rows(first, second, **rows)
    layout = RowLayout([len(a) for a in first], [len(b) for b in second] if second is not None else None,
                       add_special_tokens=add_special_tokens,
                       pad_left=([length - n if n < length else 0 for n in lengths]  # type: ignore[operator]
                                 if left else None),
                       words=words, word_ids_of=word_ids_of or _no_word_ids)
    # the content rows become the output rows (built after the masks above, which read their lengths)
    out["input_ids"] = input_id_rows(first, second, cls_id=cls_id if add_special_tokens else None, sep_id=sep_id,
                                     pad_id=pad_id, length=row_length, in_place=True)
    if first_spans is not None:
        out["offset_mapping"] = offset_rows(first_spans, second_spans, **rows, in_place=True)
    if left:
        pads = {"input_ids": pad_id, "token_type_ids": 0, "attention_mask": 0, "special_tokens_mask": 1,
                "offset_mapping": NO_SPAN}
        for key, value in pads.items():
            if key in out:
                out[key] = _pad_rows(out[key], value, length, "left")
    if return_length:
        out["length"] = [len(row) for row in out["input_ids"]]
    if mapping is not None:
        out["overflow_to_sample_mapping"] = mapping
    out._layout = layout
    return out


def _no_word_ids(ids: Sequence[int]) -> list[int]:
    raise TokenizerArgumentError("word ids are not available for these rows")


def _cut_rows(
    first: Rows[int], second: Rows[int] | None, first_spans: Any, second_spans: Any, first_words: Any,
    second_words: Any, word_ids_of: Any, *, max_length: int, strategy: str, num_special: int, side: str,
    windows: bool, stride: int,
) -> tuple[Any, Any, Any, Any, dict[int, tuple[Any, Any]], list[int] | None]:
    """Truncate each row, or cut it into windows; rows that fit whole are kept as the same list objects."""
    out_a: Rows[int] = []
    out_b: Rows[int] | None = [] if second is not None else None
    spans_a: Any = [] if first_spans is not None else None
    spans_b: Any = [] if second_spans is not None else None
    words: dict[int, tuple[Any, Any]] = {}
    mapping: list[int] | None = [] if windows else None
    for i, a in enumerate(first):
        b = second[i] if second is not None else None
        ranges = row_ranges(len(a), len(b) if b is not None else None, max_length=max_length, strategy=strategy,
                            num_special=num_special, side=side, windows=windows, stride=stride)
        full_wa: Any = first_words[i] if first_words is not None else None
        full_wb: Any = second_words[i] if second_words is not None else None
        for k, (ra, rb) in enumerate(ranges):
            whole_a = ra == (0, len(a))
            # an uncut first sequence is reused by each window: copy it, as the rows are extended in place
            out_a.append(a if whole_a and k == 0 else a[ra[0]:ra[1]])
            if spans_a is not None:
                sa = first_spans[i]
                spans_a.append(sa if whole_a and k == 0 else sa[ra[0]:ra[1]])
            wa = wb = None
            if full_wa is not None or (ra[0] > 0 and word_ids_of is not None):
                if full_wa is None:
                    full_wa = word_ids_of(a)
                wa = full_wa[ra[0]:ra[1]]
            if b is not None and rb is not None:
                whole_b = rb == (0, len(b))
                out_b.append(b if whole_b else b[rb[0]:rb[1]])  # type: ignore[union-attr]
                if spans_b is not None:
                    sb = second_spans[i]
                    spans_b.append(sb if whole_b else sb[rb[0]:rb[1]])
                if full_wb is not None or (rb[0] > 0 and word_ids_of is not None):
                    if full_wb is None:
                        full_wb = word_ids_of(b)
                    wb = full_wb[rb[0]:rb[1]]
            if wa is not None or wb is not None:
                words[len(out_a) - 1] = (wa, wb)
            if mapping is not None:
                mapping.append(i)
    return out_a, out_b, spans_a, spans_b, words, mapping
