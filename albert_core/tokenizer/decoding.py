"""Ids back to tokens and text."""

from __future__ import annotations

from typing import Any, Sequence

from albert_core.errors import TokenizerError

# Hugging Face's clean-up of the spaces that decoding leaves before punctuation and English contractions
_CLEAN_UPS = ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
              (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"))


def _rank(ids: Any) -> int | None:
    """The number of dimensions of a numpy array or torch/TF tensor; None for other objects (lists, ints)."""
    shape = getattr(ids, "shape", None)
    if shape is None or isinstance(ids, (list, tuple)):
        return None
    try:
        return len(shape)
    except TypeError:  # a TF tensor of unknown rank
        return None


def _plain(ids: Any) -> Any:
    """Nested Python lists (or an int) from a numpy array or torch tensor (``tolist()``) or a TF tensor
    (``numpy()``)."""
    if hasattr(ids, "tolist"):
        return ids.tolist()
    if hasattr(ids, "numpy"):
        return ids.numpy().tolist()
    return ids


def as_id_list(ids: Any) -> list[Any]:
    """A list from a sequence of ids, a 1-D numpy array or torch/TF tensor, or a single int.

    Arrays of another rank are an error rather than something iterated: a row of a 2-D array is not an id.

    >>> as_id_list(range(3))
    [0, 1, 2]
    >>> import numpy as np
    >>> as_id_list(np.array([5, 6], dtype=np.uint8))
    [5, 6]
    """
    rank = _rank(ids)
    if rank is not None and rank > 1:
        raise TokenizerError(f"expected a 1-D sequence of token ids, got a {rank}-D {type(ids).__name__} "
                             f"of shape {tuple(ids.shape)} (use batch_decode for a batch)")
    ids = _plain(ids)
    if isinstance(ids, int):
        return [ids]
    try:
        return list(ids)
    except TypeError:
        raise TokenizerError(f"expected a sequence of token ids, got {type(ids).__name__}") from None


def as_id_rows(sequences: Any) -> list[Any]:
    """The rows of a batch: a list of id sequences, or a 2-D numpy array or torch/TF tensor ``[batch, seq]``.

    >>> import numpy as np
    >>> as_id_rows(np.array([[5, 6], [7, 8]]))
    [[5, 6], [7, 8]]
    """
    rank = _rank(sequences)
    if rank is not None and rank != 2:
        raise TokenizerError(f"batch_decode expects a 2-D [batch, seq] array of token ids, got a {rank}-D "
                             f"{type(sequences).__name__} of shape {tuple(sequences.shape)} (use decode for one "
                             "sequence)")
    sequences = _plain(sequences)
    if isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__iter__"):
        raise TokenizerError(f"batch_decode expects a batch of id sequences, got {type(sequences).__name__}")
    return list(sequences)


def is_single_id(ids: Any) -> bool:
    """True for one id (an int, or a 0-d integer array or tensor), False for a list, tuple or 1-D array of them.

    >>> import numpy as np
    >>> is_single_id(np.int64(3)), is_single_id(np.array(3)), is_single_id(np.array([3])), is_single_id([3])
    (True, True, False, False)
    """
    if isinstance(ids, (list, tuple)):
        return False
    rank = _rank(ids)
    if rank is not None:
        return rank == 0
    return hasattr(ids, "__index__")


def checked_id(idx: Any, vocabulary_size: int) -> int:
    """``idx`` as an int, or a :class:`~albert_core.TokenizerError` when it is not an integer id in range.

    >>> checked_id(3, 10)
    3
    """
    if isinstance(idx, bool) or not hasattr(idx, "__index__"):
        raise TokenizerError(f"token ids must be integers, got {idx!r:.80} ({type(idx).__name__})")
    try:
        value = idx.__index__()
    except TypeError:  # a float or bool array/tensor element
        raise TokenizerError(f"token ids must be integers, got {idx!r:.80} ({type(idx).__name__})") from None
    if not 0 <= value < vocabulary_size:
        raise TokenizerError(f"token id {value} is out of range for a vocabulary of {vocabulary_size} ids")
    return value


def decode_ids(ids: Sequence[int], *, sp_model: Any, special_ids: set[int], special_tokens: set[str],
               added_tokens: dict[int, str], separate_tokens: set[str], skip_special_tokens: bool,
               clean_up_tokenization_spaces: bool, spaces_between_special_tokens: bool = True) -> str:
    """Text of checked ids, as the slow Hugging Face ALBERT tokenizer writes it.

    Runs of ordinary ids are decoded by SentencePiece; a special token is written out, with a space before it
    unless the token before it was special too. ``separate_tokens`` (plain added tokens, and added special tokens
    outside the SentencePiece vocabulary) split the text into parts that are joined with a space
    (``spaces_between_special_tokens``) or directly. With ``skip_special_tokens`` the special ids are dropped
    first, so the text around them is decoded as one run (``in ▁ <unk> ,`` -> ``in ,``).

    >>> class Sp:  # a stand-in SentencePiece model: every id decodes to its number
    ...     def decode(self, ids): return " ".join(map(str, ids))
    ...     def id_to_piece(self, i): return "[S]"
    >>> decode_ids([7, 3, 8], sp_model=Sp(), special_ids={3}, special_tokens={"[S]"}, added_tokens={},
    ...            separate_tokens=set(), skip_special_tokens=False, clean_up_tokenization_spaces=False)
    '7[S]8'
    """
    parts: list[str] = []
    out = ""
    run: list[int] = []
    prev_special = False
    pending = False  # tokens since the last separate token
    for idx in ids:
        if skip_special_tokens and idx in special_ids:
            continue
        token = added_tokens.get(idx)
        if token is None and idx in special_ids:
            token = sp_model.id_to_piece(idx)
        if token is not None and token in separate_tokens:
            out += sp_model.decode(run)
            run = []
            prev_special = False
            out = out.strip()
            if out:
                parts.append(out)
            out = ""
            pending = False
            parts.append(token)
            continue
        if token is not None and token in special_tokens:
            if skip_special_tokens:
                continue
            pending = True
            if not prev_special:
                out += " "
            out += sp_model.decode(run) + token
            run = []
            prev_special = True
        else:
            pending = True
            run.append(idx)
            prev_special = False
    out += sp_model.decode(run)
    if pending:
        parts.append(out.strip())
    text = (" " if spaces_between_special_tokens else "").join(parts)
    if clean_up_tokenization_spaces:
        for a, b in _CLEAN_UPS:
            text = text.replace(a, b)
    return text
