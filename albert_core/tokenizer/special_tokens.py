"""The seven special-token roles of ALBERT, their strings and their ids."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from albert_core.errors import TokenizerError

#: The roles in the order Hugging Face lists them; ``all_special_tokens`` keeps this order.
SPECIAL_ROLES = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")


def token_content(value: Any) -> str:
    """The string of a special token given as a str, an ``AddedToken``-like object or a ``{"content": ...}`` dict.

    >>> token_content({"content": "[MASK]", "lstrip": True})
    '[MASK]'
    """
    if isinstance(value, dict):
        value = value.get("content")
    if hasattr(value, "content"):
        value = value.content
    if not isinstance(value, str) or not value:
        raise TokenizerError(f"a special token must be a non-empty string, got {value!r:.80}")
    if not value.isascii() and any("\ud800" <= c <= "\udfff" for c in value):
        raise TokenizerError(f"a special token must be UTF-8 encodable text, got {value!r:.80} (a lone surrogate)")
    return value


@dataclasses.dataclass(frozen=True)
class SpecialTokens:
    """The special-token string of each role, with ALBERT's defaults.

    >>> SpecialTokens.of(mask_token={"content": "[M]"}).mask_token
    '[M]'
    >>> SpecialTokens().distinct()
    ['[CLS]', '[SEP]', '<unk>', '<pad>', '[MASK]']
    """

    bos_token: str = "[CLS]"
    eos_token: str = "[SEP]"
    unk_token: str = "<unk>"
    sep_token: str = "[SEP]"
    pad_token: str = "<pad>"
    cls_token: str = "[CLS]"
    mask_token: str = "[MASK]"

    @classmethod
    def of(cls, **tokens: Any) -> "SpecialTokens":
        """Build from role keyword arguments whose values may be ``AddedToken``-like objects or dicts."""
        return cls(**{role: token_content(value) for role, value in tokens.items()})

    def by_role(self) -> dict[str, str]:
        """A new ``{role: token}`` dict in :data:`SPECIAL_ROLES` order."""
        return {role: getattr(self, role) for role in SPECIAL_ROLES}

    def distinct(self) -> list[str]:
        """The distinct token strings, in role order (``[CLS]`` and ``[SEP]`` each play two roles)."""
        return list(dict.fromkeys(getattr(self, role) for role in SPECIAL_ROLES))

    def lstrip_tokens(self) -> frozenset[str]:
        """Tokens that swallow the white space on their left (only ``[MASK]``, as in ALBERT)."""
        return frozenset((self.mask_token,))

    def assign_ids(self, sp_model: Any) -> dict[str, int]:
        """Token -> id: the vocabulary id where the piece exists, otherwise the next id after the vocabulary."""
        ids: dict[str, int] = {}
        next_added = len(sp_model)
        for token in self.distinct():
            piece_id = sp_model.piece_to_id(token)
            if sp_model.id_to_piece(piece_id) == token:
                ids[token] = piece_id
            else:
                ids[token] = next_added
                next_added += 1
        return ids


def token_property(role: str, doc: str) -> property:
    """A read-only property returning the special token of ``role`` (read from ``self._special_tokens``)."""
    getter: Callable[[Any], str] = lambda self: getattr(self._special_tokens, role)  # noqa: E731
    return property(getter, doc=doc)


def token_id_property(role: str) -> property:
    """A read-only property returning the id of the special token of ``role``."""
    getter: Callable[[Any], int] = lambda self: self._added_encoder[getattr(self._special_tokens, role)]  # noqa: E731
    return property(getter, doc=f"The id of :attr:`{role}`.")
