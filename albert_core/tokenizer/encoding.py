"""The dict-like result of a tokenizer call."""

from __future__ import annotations

from typing import Any


class Encoding(dict):
    """The result of :meth:`AlbertTokenizer.__call__`: a ``dict`` whose keys can also be read as attributes.

    >>> enc = Encoding(input_ids=[[2, 3]], attention_mask=[[1, 1]])
    >>> enc.input_ids == enc["input_ids"]
    True
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"Encoding has no field {name!r}; it holds {sorted(self)}") from None

    def to_dict(self) -> dict[str, Any]:
        return dict(self)
