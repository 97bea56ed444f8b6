"""Tokens added to the SentencePiece vocabulary (``add_tokens`` / ``add_special_tokens``), as the slow
Hugging Face tokenizer keeps them.

An added token is split out of the text before SentencePiece sees it and gets its own id: the id of the piece
when the vocabulary already holds that string, otherwise the next id after the vocabulary and the tokens added
before it. A plain (non-special) token is lower-cased when the tokenizer lower-cases, so it matches lower-cased
text; a special token is matched as written and is dropped by ``decode(..., skip_special_tokens=True)``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from albert_core.tokenizer.encoding import TokenizerArgumentError
from albert_core.tokenizer.special_tokens import token_content


@dataclasses.dataclass(frozen=True)
class AddedTokenSpec:
    """One added token: its string and how it is matched.

    ``lstrip``/``rstrip``: the token swallows the white space on its left/right. ``normalized``: the token is
    matched in lower-cased text (only meaningful with ``do_lower_case``). ``special``: skipped by ``decode`` with
    ``skip_special_tokens=True`` and marked in the special-tokens mask.

    >>> AddedTokenSpec.of({"content": "<ent>", "special": True}).special
    True
    """

    content: str
    special: bool = False
    normalized: bool = True
    lstrip: bool = False
    rstrip: bool = False

    @classmethod
    def of(cls, token: Any, *, special: bool | None = None) -> "AddedTokenSpec":
        """From a str, a ``{"content": ..., "lstrip": ...}`` dict or an ``AddedToken``-like object.

        A str is special when ``special`` says so, and then not normalized (Hugging Face's defaults); objects and
        dicts keep their own flags, with ``special=True`` forcing the special flag on.
        """
        content = token_content(token)
        if isinstance(token, str):
            is_special = bool(special)
            return cls(content, special=is_special, normalized=not is_special)
        get = token.get if isinstance(token, dict) else (lambda key, default: getattr(token, key, default))
        if get("single_word", False):
            raise TokenizerArgumentError(
                f"added token {content!r}: single_word=True is not supported; add it without single_word"
            )
        flags = {}
        for key in ("special", "normalized", "lstrip", "rstrip"):
            value = get(key, None)
            if value is not None and not isinstance(value, bool):
                raise TokenizerArgumentError(f"added token {content!r}: {key} must be a bool, got {value!r:.40}")
            if value is not None:
                flags[key] = value
        is_special = bool(special) or flags.get("special", False)
        flags["special"] = is_special
        flags.setdefault("normalized", not is_special)
        return cls(content, **flags)

    def to_json(self, *, single_word: bool = False) -> dict[str, Any]:
        """The entry Hugging Face writes under ``added_tokens_decoder`` in ``tokenizer_config.json``."""
        return {"content": self.content, "lstrip": self.lstrip, "normalized": self.normalized,
                "rstrip": self.rstrip, "single_word": single_word, "special": self.special}


def as_token_list(new_tokens: Any, argument: str) -> list[Any]:
    """``new_tokens`` (one token or a list/tuple of them) as a list, or a
    :class:`~albert_core.errors.TokenizerArgumentError`."""
    if isinstance(new_tokens, (str, dict)) or hasattr(new_tokens, "content"):
        return [new_tokens]
    if not isinstance(new_tokens, (list, tuple)):
        raise TokenizerArgumentError(
            f"{argument} must be a str, an AddedToken or a list of them, got {type(new_tokens).__name__}"
        )
    for token in new_tokens:
        if not (isinstance(token, (str, dict)) or hasattr(token, "content")):
            raise TokenizerArgumentError(f"{argument}: each token must be a str or an AddedToken, got {token!r:.60}")
    return list(new_tokens)
