"""Word ids of a sequence of token ids, with the word boundaries of Hugging Face's fast ALBERT tokenizer.

The fast tokenizer splits text into words at white space (each word then starts with a ``▁`` piece) and treats
special tokens and ALBERT's user-defined symbols (``. - ( ) "`` ...) as words of their own. So, over the ids of
one sequence, a token starts a new word when

* it is a special, added or user-defined-symbol token, or the token before it is one; or
* its piece starts with ``▁``, unless the token before it is a lone ``▁`` (then the two belong together, as in
  ``▁`` + ``中`` for a character that has no ``▁中`` piece).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from albert_core.tokenizer.pieces import SPIECE_UNDERLINE

#: flag values in :class:`WordStarts`'s table
_CONTINUES, _STARTS, _OWN_WORD, _LONE_SPACE = 0, 1, 2, 3
_USER_DEFINED = 4  # sentencepiece's ModelProto.SentencePiece.Type.USER_DEFINED


def user_defined_ids(sp_model: Any, model_bytes: bytes) -> frozenset[int]:
    """Ids of the user-defined pieces of a SentencePiece model (read from its protobuf when it can be parsed).

    Without the ``protobuf`` package, pieces scored exactly 0 that are not control, unknown, unused or byte
    pieces are taken as user-defined (SentencePiece gives them score 0; learned unigram pieces score below 0).
    """
    try:
        from sentencepiece import sentencepiece_model_pb2 as model_pb2

        proto = model_pb2.ModelProto()
        proto.ParseFromString(model_bytes)
        return frozenset(i for i, piece in enumerate(proto.pieces) if piece.type == _USER_DEFINED)
    except Exception:  # noqa: BLE001 - no protobuf, or a protobuf version mismatch: fall back to scores
        return frozenset(
            i for i in range(len(sp_model))
            if sp_model.get_score(i) == 0.0 and not (sp_model.is_control(i) or sp_model.is_unknown(i)
                                                     or sp_model.is_unused(i) or sp_model.is_byte(i))
        )


class WordStarts:
    """Turns one sequence's content ids into word ids (see the module docstring for the rule).

    Args:
        pieces: the piece string of each SentencePiece id.
        own_word_ids: ids that are words of their own (user-defined symbols); ids at or past ``len(pieces)``
            (added tokens) and :meth:`mark_own_word` ids are too.

    >>> ws = WordStarts(["<pad>", "\u2581a", "b", "\u2581", "x", "."], own_word_ids=[0, 5])
    >>> ws([1, 2, 3, 4, 5, 2, 1])
    [0, 0, 1, 1, 2, 3, 4]
    """

    def __init__(self, pieces: Sequence[str], own_word_ids: Iterable[int]) -> None:
        table = bytearray(
            _LONE_SPACE if p == SPIECE_UNDERLINE else (_STARTS if p.startswith(SPIECE_UNDERLINE) else _CONTINUES)
            for p in pieces
        )
        for i in own_word_ids:
            table[i] = _OWN_WORD
        self._table = table

    def mark_own_word(self, ids: Iterable[int]) -> None:
        """Make each of ``ids`` (special tokens, added tokens inside the vocabulary) a word of its own."""
        for i in ids:
            if i < len(self._table):
                self._table[i] = _OWN_WORD

    def __call__(self, ids: Sequence[int]) -> list[int]:
        table = self._table
        size = len(table)
        out: list[int] = []
        word = -1
        prev = _OWN_WORD  # the first token always starts a word
        for i in ids:
            kind = table[i] if i < size else _OWN_WORD
            if kind == _OWN_WORD or prev == _OWN_WORD or (kind != _CONTINUES and prev != _LONE_SPACE):
                word += 1
            out.append(word)
            prev = kind
        return out
