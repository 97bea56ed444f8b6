"""The vocabulary side of the tokenizer: special tokens by role, and token <-> id conversion.

These are the methods and properties of :class:`~albert_core.tokenizer.AlbertTokenizer` that only read its
vocabulary; the facade binds them in its class body (``get_vocab = vocabulary.get_vocab``). They read the
tokenizer's ``sp_model``, ``_special_tokens``, ``_added_encoder`` (token -> id), ``_added_decoder`` (id -> token),
``_sp_size`` and ``_total_size``.
"""

from __future__ import annotations

from typing import Any, Sequence, Union

from albert_core.errors import TokenizerError
from albert_core.tokenizer.decoding import as_id_list, checked_id, is_single_id
from albert_core.tokenizer.special_tokens import token_id_property, token_property


def _vocab_size(self) -> int:
    """Size of the SentencePiece vocabulary (without special tokens added after it).

    The vocabulary properties and methods (:attr:`vocab_size`, :meth:`get_vocab`, :attr:`special_tokens_map`,
    :attr:`all_special_tokens`, :attr:`all_special_ids`, :meth:`num_special_tokens_to_add`) on a tiny model,
    whose SentencePiece vocabulary already holds every special token:

    >>> import tempfile
    >>> from albert_core.tokenizer import AlbertTokenizer, train_sentencepiece
    >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
    >>> tok.vocab_size, len(tok.get_vocab())
    (20, 20)
    >>> [tok.get_vocab()[t] for t in ("<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]")]
    [0, 1, 2, 3, 4]
    >>> tok.special_tokens_map["cls_token"], tok.special_tokens_map["mask_token"]
    ('[CLS]', '[MASK]')
    >>> tok.all_special_tokens
    ['[CLS]', '[SEP]', '<unk>', '<pad>', '[MASK]']
    >>> tok.all_special_ids
    [2, 3, 1, 0, 4]
    >>> tok.num_special_tokens_to_add(), tok.num_special_tokens_to_add(pair=True)
    (2, 3)
    """
    return self._sp_size


def vocabulary_length(self: Any) -> int:
    return self._total_size


def get_vocab(self) -> dict[str, int]:
    """Map every piece (and added special token) to its id.

    Returns:
        a new ``{piece: id}`` dict; see :attr:`vocab_size` for an example.
    """
    vocab = {self.sp_model.id_to_piece(i): i for i in range(self._sp_size)}
    vocab.update(self._added_encoder)
    return vocab


# the special token of each role and its id
bos_token = token_property("bos_token", "The start-of-sequence token (``[CLS]`` in ALBERT).")
bos_token_id = token_id_property("bos_token")
eos_token = token_property("eos_token", "The end-of-sequence token (``[SEP]``).")
eos_token_id = token_id_property("eos_token")
unk_token = token_property("unk_token", "The token for pieces outside the vocabulary (``<unk>``).")
unk_token_id = token_id_property("unk_token")
sep_token = token_property("sep_token", "The separator between the two sequences of a pair (``[SEP]``).")
sep_token_id = token_id_property("sep_token")
pad_token = token_property("pad_token", "The padding token (``<pad>``).")
pad_token_id = token_id_property("pad_token")
cls_token = token_property("cls_token", "The classification token put first (``[CLS]``).")
cls_token_id = token_id_property("cls_token")
mask_token = token_property("mask_token", "The masked-LM mask token (``[MASK]``).")
mask_token_id = token_id_property("mask_token")


def _special_tokens_map(self) -> dict[str, Any]:
    """The special tokens by role (``bos_token``, ``cls_token``, ...), as saved in ``special_tokens_map.json``.

    A new dict on each access (with ``additional_special_tokens`` when there are any); see :attr:`vocab_size`
    for an example.
    """
    out: dict[str, Any] = self._special_tokens.by_role()
    if self._additional_special:
        out["additional_special_tokens"] = list(self._additional_special)
    return out


def _all_special_tokens(self) -> list[str]:
    """The distinct special-token strings, in the order ``bos, eos, unk, sep, pad, cls, mask`` with repeats
    dropped (``[CLS]`` and ``[SEP]`` each play two roles), then the additional special tokens; see
    :attr:`vocab_size` for an example."""
    return list(dict.fromkeys([*self._special_tokens.distinct(), *self._additional_special]))


def _all_special_ids(self) -> list[int]:
    """Ids of :attr:`all_special_tokens`, in the same order; see :attr:`vocab_size` for an example."""
    return [self._added_encoder[t] for t in self.all_special_tokens]


def convert_tokens_to_ids(self, tokens: Union[str, Sequence[str]]) -> Union[int, list[int]]:
    """Map token strings to ids; unknown pieces give :attr:`unk_token_id`.

    >>> import tempfile
    >>> from albert_core.tokenizer import AlbertTokenizer, train_sentencepiece
    >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
    >>> tok.convert_tokens_to_ids(["[CLS]", "<pad>"])
    [2, 0]
    """
    if isinstance(tokens, str):
        return self._token_to_id(tokens)
    if not isinstance(tokens, (list, tuple)):
        raise TokenizerError(f"convert_tokens_to_ids expects a str or a list of str, got {type(tokens).__name__}")
    return [self._token_to_id(t) for t in tokens]


def _token_to_id(self, token: Any) -> int:
    if not isinstance(token, str):
        raise TokenizerError(f"tokens must be str, got {type(token).__name__}")
    idx = self._added_encoder.get(token)
    return idx if idx is not None else self.sp_model.piece_to_id(token)


def convert_ids_to_tokens(self, ids: Union[int, Sequence[int]],
                          skip_special_tokens: bool = False) -> Union[str, list[str]]:
    """Map ids to token strings (``skip_special_tokens`` drops special ids); out-of-range ids raise.

    >>> import tempfile
    >>> from albert_core.tokenizer import AlbertTokenizer, train_sentencepiece
    >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
    >>> tok.convert_ids_to_tokens([2, 3])
    ['[CLS]', '[SEP]']
    """
    if isinstance(ids, (str, bytes)):
        raise TokenizerError(f"convert_ids_to_tokens expects ints, got {type(ids).__name__}")
    if is_single_id(ids):
        return self._id_to_token(checked_id(ids, self._total_size))
    special = set(self.all_special_ids) if skip_special_tokens else ()
    checked = (checked_id(idx, self._total_size) for idx in as_id_list(ids))
    return [self._id_to_token(value) for value in checked if value not in special]


def _id_to_token(self, value: int) -> str:
    token = self._added_decoder.get(value)
    return token if token is not None else self.sp_model.id_to_piece(value)


vocab_size = property(_vocab_size)
special_tokens_map = property(_special_tokens_map)
all_special_tokens = property(_all_special_tokens)
all_special_ids = property(_all_special_ids)
