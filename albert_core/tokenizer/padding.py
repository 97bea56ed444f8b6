"""``pad()``: pad already-encoded features (lists of dicts, or a dict of lists) to one length, as Hugging Face's
``PreTrainedTokenizerBase.pad`` does, so data collators (``DataCollatorWithPadding``,
``DataCollatorForTokenClassification``, ``DataCollatorForLanguageModeling``) work with
:class:`~albert_core.tokenizer.AlbertTokenizer`.

Only the token-aligned fields are padded: ``input_ids`` (with the pad id), ``token_type_ids`` (0),
``attention_mask`` (0, created when missing), ``special_tokens_mask`` (1) and ``offset_mapping`` (``(0, 0)``).
Other fields (labels, ids of examples) pass through untouched. Rows longer than the target are left whole, never
cut.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from albert_core.tokenizer.batching import check_side, framework_tensors, padding_strategy
from albert_core.tokenizer.encoding import Encoding, TokenizerArgumentError

#: the value each padded field is padded with (``input_ids`` gets the tokenizer's pad id)
PAD_VALUES: dict[str, Any] = {"token_type_ids": 0, "attention_mask": 0, "special_tokens_mask": 1,
                              "offset_mapping": (0, 0)}
#: fields that always become int64 tensors
_INT_FIELDS = frozenset({"input_ids", *PAD_VALUES})


def _plain(value: Any) -> Any:
    """Python lists from numpy arrays and torch/TF tensors (nested lists are converted element by element)."""
    if hasattr(value, "tolist") and not isinstance(value, (list, tuple)):
        return value.tolist()
    if hasattr(value, "numpy") and not isinstance(value, (list, tuple)):
        return value.numpy().tolist()
    return value


def _as_columns(encoded_inputs: Any) -> tuple[dict[str, Any], bool]:
    """``({field: [row, ...]}, batched)`` from a list of feature dicts or a dict of (lists of) rows."""
    if isinstance(encoded_inputs, (list, tuple)):
        if not encoded_inputs:
            raise TokenizerArgumentError("pad() got an empty list of features")
        if not all(isinstance(f, Mapping) for f in encoded_inputs):
            raise TokenizerArgumentError("pad() expects a list of feature dicts (or one dict of lists)")
        keys = list(encoded_inputs[0])
        for k, feature in enumerate(encoded_inputs):
            if list(feature) != keys and set(feature) != set(keys):
                raise TokenizerArgumentError(
                    f"pad(): feature {k} has the fields {sorted(feature)}, feature 0 has {sorted(keys)}"
                )
        return {key: [_plain(f[key]) for f in encoded_inputs] for key in keys}, True
    if isinstance(encoded_inputs, Mapping):
        columns = {key: _plain(value) for key, value in encoded_inputs.items()}
        ids = columns.get("input_ids")
        batched = isinstance(ids, (list, tuple)) and len(ids) > 0 and isinstance(_plain(ids[0]), (list, tuple))
        if batched:
            columns = {key: [_plain(v) for v in value] for key, value in columns.items()}
            return columns, True
        return {key: [value] for key, value in columns.items()}, False
    raise TokenizerArgumentError(
        f"pad() expects a list of feature dicts or a dict of lists, got {type(encoded_inputs).__name__}"
    )


def pad_features(
    encoded_inputs: Any, *, pad_token_id: int, model_max_length: int, padding: Any = True,
    max_length: int | None = None, pad_to_multiple_of: int | None = None, padding_side: str = "right",
    return_attention_mask: bool | None = None, return_tensors: str | None = None,
) -> Encoding:
    """Pad features to the longest row (``padding=True``), to ``max_length`` (``"max_length"``; the model's
    maximum when None) or not at all, rounding up to ``pad_to_multiple_of``.

    >>> pad_features([{"input_ids": [2, 7, 3]}, {"input_ids": [2, 3]}], pad_token_id=0, model_max_length=8)
    {'input_ids': [[2, 7, 3], [2, 3, 0]], 'attention_mask': [[1, 1, 1], [1, 1, 0]]}
    """
    columns, batched = _as_columns(encoded_inputs)
    if "input_ids" not in columns:
        raise TokenizerArgumentError(f"pad() needs an 'input_ids' field, the features have {sorted(columns)}")
    strategy = padding_strategy(padding)
    side = check_side(padding_side, "padding_side")
    if max_length is not None and (not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 0):
        raise TokenizerArgumentError(f"max_length must be a non-negative int, got {max_length!r}")
    if pad_to_multiple_of is not None and (
        not isinstance(pad_to_multiple_of, int) or isinstance(pad_to_multiple_of, bool) or pad_to_multiple_of <= 0
    ):
        raise TokenizerArgumentError(f"pad_to_multiple_of must be a positive int, got {pad_to_multiple_of!r}")
    if return_attention_mask is not None and not isinstance(return_attention_mask, bool):
        raise TokenizerArgumentError("return_attention_mask must be True, False or None, "
                                     f"got {return_attention_mask!r}")
    if return_tensors not in (None, "np", "pt", "tf"):
        raise TokenizerArgumentError(f"return_tensors must be None, 'np', 'pt' or 'tf', got {return_tensors!r}")
    rows = columns["input_ids"]
    n = len(rows)
    for key, value in columns.items():
        if not isinstance(value, list) or len(value) != n:
            raise TokenizerArgumentError(f"pad(): field {key!r} has {len(value)} rows, input_ids has {n}")
    for k, row in enumerate(rows):
        if not isinstance(row, (list, tuple)):
            raise TokenizerArgumentError(f"pad(): input_ids row {k} is not a sequence of ids: {row!r:.60}")
    lengths = [len(row) for row in rows]
    for key in _INT_FIELDS & set(columns):
        for k, row in enumerate(columns[key]):
            if len(row) != lengths[k]:
                raise TokenizerArgumentError(
                    f"pad(): row {k} of {key!r} has {len(row)} entries but its input_ids has {lengths[k]}"
                )
    if return_attention_mask is not False and "attention_mask" not in columns:
        columns["attention_mask"] = [[1] * m for m in lengths]
    # with return_attention_mask=False an attention_mask already there passes through unpadded, as in Hugging Face
    skip = {"attention_mask"} if return_attention_mask is False else set()
    target: int | None = None
    if strategy == "longest":
        target = max(lengths) if lengths else 0
    elif strategy == "max_length":
        target = max_length if max_length is not None else model_max_length
    if target is not None and pad_to_multiple_of is not None and target % pad_to_multiple_of:
        target = (target // pad_to_multiple_of + 1) * pad_to_multiple_of
    out = Encoding()
    for key, value in columns.items():
        if target is None or key in skip or (key != "input_ids" and key not in PAD_VALUES):
            out[key] = value
            continue
        fill = pad_token_id if key == "input_ids" else PAD_VALUES[key]
        padded = []
        for row in value:
            row = list(row)
            missing = target - len(row)
            if missing > 0:
                row = row + [fill] * missing if side == "right" else [fill] * missing + row
            padded.append(row)
        out[key] = padded
    if return_tensors is not None:
        out = features_to_tensors(out, return_tensors)
    if not batched and return_tensors is None:
        out = Encoding({key: value[0] for key, value in out.items()})
    return out


def features_to_tensors(features: Mapping[str, Any], kind: str) -> Encoding:
    """Each field as a tensor: token fields as int64, others with the framework's own type inference (Python
    floats become float32 in torch/TF, like Hugging Face's ``BatchEncoding``).

    >>> features_to_tensors({"input_ids": [[2, 3]], "label": [0.5]}, "np")["label"].dtype
    dtype('float64')
    """
    import numpy as np

    lengths = {len(row) for row in features["input_ids"]}
    if len(lengths) > 1:
        raise TokenizerArgumentError(
            f"cannot make {kind!r} tensors from rows of different lengths {sorted(lengths)}; pad them "
            "(padding=True or padding='max_length')"
        )
    arrays: dict[str, Any] = {}
    for key, value in features.items():
        if key in _INT_FIELDS:
            arrays[key] = np.asarray(value, dtype=np.int64)
        else:
            try:
                arrays[key] = np.asarray(value)
            except ValueError as exc:
                raise TokenizerArgumentError(f"field {key!r} cannot be made into a tensor: {exc}") from None
            if arrays[key].dtype == object:
                raise TokenizerArgumentError(f"field {key!r} holds values that cannot be made into a tensor")
    for key, arr in arrays.items():
        if arr.dtype.kind in "US":
            raise TokenizerArgumentError(f"field {key!r} holds strings, which {kind!r} tensors cannot hold")
    return framework_tensors(arrays, kind)
