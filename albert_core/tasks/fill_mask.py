"""Fill-mask: the most likely tokens for each ``[MASK]`` of a text, from masked-LM logits.

The result has the shape transformers' ``fill-mask`` pipeline returns: for each masked position a list of
``{"score", "token", "token_str", "sequence"}`` dicts, best first, where ``score`` is the softmax probability over the
whole vocabulary (also when ``targets`` restricts the candidates), ``token_str`` the token decoded on its own and
``sequence`` the text with that token filled in (special tokens skipped; no clean-up of spaces, as transformers).

>>> import numpy as np
>>> class Vocab:  # the tokenizer method this module needs
...     pieces = ["<pad>", "[CLS]", "[SEP]", "[MASK]", "▁to", "▁be", "▁or"]
...     def decode(self, ids, skip_special_tokens=False, clean_up_tokenization_spaces=False):
...         return "".join(self.pieces[i] for i in ids if i > 3).replace("▁", " ").strip()
>>> logits = np.zeros((4, 7)); logits[2, 5] = 3.0; logits[2, 6] = 1.0  # e^3 / (e^3 + e + 5) = 0.722
>>> best = fill_mask_predictions(logits, [1, 4, 3, 2], mask_token_id=3, tokenizer=Vocab(), top_k=2)[0]
>>> [(p["token_str"], p["sequence"], round(p["score"], 3)) for p in best]
[('be', 'to be', 0.722), ('or', 'to or', 0.098)]
"""

from __future__ import annotations

import warnings
from typing import Any, Iterable, Sequence

import numpy as np

from ..errors import AlbertWarning, InputError


def resolve_targets(tokenizer: Any, targets: Iterable[str]) -> list[int]:
    """Vocabulary ids of candidate ``targets``, duplicates dropped.

    A target that is a piece of the vocabulary is that piece; any other text is tokenized and its first piece stands
    for it, as transformers does (``"love"`` -> ``"▁love"``). A target of several pieces is scored by its first
    piece only, so it gets an :class:`~albert_core.errors.AlbertWarning` naming the piece used.

    Args:
        tokenizer: anything with ``get_vocab()`` and ``tokenize(text)``.
        targets: the candidate words or pieces (a single str is one target).

    Returns:
        the ids, in the order of ``targets``.

    Raises:
        ~albert_core.InputError: for no target, a target that is not a str, or one that tokenizes to nothing.
    """
    if isinstance(targets, str):
        targets = [targets]
    vocab = tokenizer.get_vocab()
    ids: list[int] = []
    for target in targets:
        if not isinstance(target, str):
            raise InputError(f"fill-mask targets must be str, got {type(target).__name__}: {target!r:.80}")
        if target in vocab:
            ids.append(vocab[target])
            continue
        pieces = tokenizer.tokenize(target)
        if not pieces:
            raise InputError(f"fill-mask target {target!r} tokenizes to nothing")
        if len(pieces) > 1:
            warnings.warn(f"fill-mask target {target!r} is {len(pieces)} pieces {pieces}; it is scored by its first "
                          f"piece {pieces[0]!r} only", AlbertWarning, stacklevel=2)
        ids.append(vocab[pieces[0]])
    if not ids:
        raise InputError("fill-mask targets must name at least one token")
    return list(dict.fromkeys(ids))


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    weights = np.exp(shifted)
    return weights / weights.sum(axis=-1, keepdims=True)


def fill_mask_predictions(logits: np.ndarray, input_ids: Sequence[int], mask_token_id: int, tokenizer: Any,
                          top_k: int = 5, target_ids: Sequence[int] | None = None) -> list[list[dict[str, Any]]]:
    """The ``top_k`` fills of every ``[MASK]`` in one sequence.

    Args:
        logits: ``[seq, vocab]`` masked-LM logits of the sequence.
        input_ids: the sequence's ids (as many as ``logits`` has rows; padding may follow).
        mask_token_id: the id of ``[MASK]``.
        tokenizer: anything with ``decode(ids, skip_special_tokens=..., clean_up_tokenization_spaces=...)``.
        top_k: how many fills per mask (fewer when ``target_ids`` offers fewer).
        target_ids: restrict the candidates to these ids (see :func:`resolve_targets`).

    Returns:
        one list per mask, in text order, each with ``top_k`` dicts ``{"score", "token", "token_str", "sequence"}``.

    Raises:
        ~albert_core.InputError: when the sequence has no ``[MASK]``, ``top_k < 1`` or the shapes disagree.
    """
    logits = np.asarray(logits, dtype=np.float64)
    ids = np.asarray(input_ids)
    if logits.ndim != 2 or ids.ndim != 1 or len(ids) != logits.shape[0]:
        raise InputError(f"fill-mask needs logits [seq, vocab] and ids [seq], got {logits.shape} and {ids.shape}")
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise InputError(f"top_k must be a positive integer, got {top_k!r}")
    positions = np.flatnonzero(ids == mask_token_id)
    if positions.size == 0:
        raise InputError(f"the text has no mask token (id {mask_token_id}) to fill")
    candidates = None if target_ids is None else np.asarray(list(target_ids), dtype=np.int64)
    results = []
    for position in positions:
        probs = _softmax(logits[position])
        pool = np.arange(probs.size) if candidates is None else candidates
        # stable sort on -prob keeps equal scores in id order, as a top-k over the vocabulary does
        best = pool[np.argsort(-probs[pool], kind="stable")[:top_k]]
        fills = []
        for token in best:
            filled = ids.copy()
            filled[position] = token
            fills.append({
                "score": float(probs[token]),
                "token": int(token),
                "token_str": tokenizer.decode([int(token)], clean_up_tokenization_spaces=False),
                "sequence": tokenizer.decode(filled.tolist(), skip_special_tokens=True,
                                             clean_up_tokenization_spaces=False),
            })
        results.append(fills)
    return results
