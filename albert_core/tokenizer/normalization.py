"""ALBERT's text preprocessing, keeping for every output character its span in the original text.

One pipeline serves encoding with and without offsets: the alignment is only materialised (as per-character lists)
where a step changes the text's length or layout, so plain text costs no more than the string operations.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable, Iterator

_CAPITAL_SIGMA = "\u03a3"
#: joins a batch for the whole-batch checks of :meth:`Normalizer.batch_segments` (a text holding it goes text by text)
_SEPARATOR = "\x00"
#: the ASCII characters ``str.split()`` treats as white space, besides the space itself
_SPLIT_WHITESPACE = tuple("\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f")


#: A segment is a plain tuple ``(special_id, text, starts, ends, base)``, read with these indices: a special token
#: (``special_id`` set, ``base`` where it starts) or preprocessed text, where ``starts[i]``/``ends[i]`` are the
#: original span of ``text[i]`` (both None: ``text[i]`` came from position ``base + i``). Plain tuples rather than
#: objects because the cyclic garbage collector stops tracking tuples of atomic values, so the segments of a large
#: batch do not make it run (and re-scan a large heap) more often.
SPECIAL_ID, TEXT, STARTS, ENDS, BASE = range(5)
Segment = tuple  # (int | None, str, list[int] | None, list[int] | None, int)


class Normalizer:
    """Splits text around special tokens and preprocesses the rest (steps 1-3 of :mod:`albert_core.tokenizer`).

    Args:
        special_ids: special-token string -> id.
        lstrip_tokens: special tokens that swallow the white space on their left.
        do_lower_case, remove_space, keep_accents: ALBERT's preprocessing switches.

    >>> norm = Normalizer({"[MASK]": 4}, frozenset({"[MASK]"}), do_lower_case=True, remove_space=True)
    >>> norm.segments("Hi  There [MASK]")
    ((None, 'hi there', [0, 1, 2, 4, 5, 6, 7, 8], [1, 2, 3, 5, 6, 7, 8, 9], 0), (4, '[MASK]', None, None, 10))
    """

    def __init__(
        self,
        special_ids: dict[str, int],
        lstrip_tokens: frozenset[str],
        *,
        do_lower_case: bool,
        remove_space: bool,
        keep_accents: bool = False,
        rstrip_tokens: frozenset[str] = frozenset(),
        protected: Iterable[str] | None = None,
    ) -> None:
        self.special_ids = special_ids
        self.lstrip_tokens = lstrip_tokens
        self.rstrip_tokens = rstrip_tokens
        self.do_lower_case = do_lower_case
        self.remove_space = remove_space
        self.keep_accents = keep_accents
        by_length = sorted(special_ids, key=len, reverse=True)
        self._split_re = re.compile("|".join(re.escape(t) for t in by_length))
        # the strings lower-casing leaves alone: by default every split-out token
        kept = by_length if protected is None else sorted(protected, key=len, reverse=True)
        self._special_re = re.compile("|".join(re.escape(t) for t in kept)) if kept else re.compile("(?!)")
        self._first_chars = frozenset(t[0] for t in kept)
        split_first = frozenset(t[0] for t in by_length)
        self._first_chars_any_case = frozenset(c.lower() for c in split_first) | split_first
        # an ASCII text holding none of these needs no special-token handling at all (the common case)
        self._plain_blockers = frozenset(c.lower() for c in split_first | self._first_chars) | split_first | \
            self._first_chars

    def batch_segments(self, texts: list[str]) -> list[tuple[Segment, ...]]:
        """:meth:`segments` of every text. A batch of plain texts (ASCII, non-empty, no special-token character, no
        white space to collapse, no quotes to rewrite) is recognised by a few string scans of the whole batch
        instead of per-text checks; a batch that is not is halved, so that its few other texts go text by text.

        >>> norm = Normalizer({"[MASK]": 4}, frozenset({"[MASK]"}), do_lower_case=True, remove_space=True)
        >>> norm.batch_segments(["Hi there", "Bye"]) == [norm.segments("Hi there"), norm.segments("Bye")]
        True
        """
        lowered = self._plain_lowered(texts)
        if lowered is not None:
            return [((None, text, None, None, 0),) for text in lowered]
        if len(texts) <= 8:
            return [self.segments(text) for text in texts]
        half = len(texts) // 2
        return self.batch_segments(texts[:half]) + self.batch_segments(texts[half:])

    def _plain_lowered(self, texts: list[str]) -> list[str] | None:
        """The preprocessed texts when every text is plain (preprocessing only lower-cases it), else None."""
        joined = _SEPARATOR.join(texts)
        # substring tests (memchr) rather than set operations, which hash every character of the batch
        if not (texts and joined.isascii() and joined.count(_SEPARATOR) == len(texts) - 1 and all(texts)
                and not any(c in joined for c in self._plain_blockers)):
            return None
        low = joined.lower() if self.do_lower_case else joined
        if any(c in low for c in self._plain_blockers) or "``" in low or "''" in low:
            return None
        # with remove_space each text must equal " ".join(text.split()): single inner spaces, none at either end
        if self.remove_space and (any(c in low for c in _SPLIT_WHITESPACE) or "  " in low or " " + _SEPARATOR in low
                                  or _SEPARATOR + " " in low or low[0] == " " or low[-1] == " "):
            return None
        return low.split(_SEPARATOR)

    def segments(self, text: str) -> tuple[Segment, ...]:
        """The special-token and text segments of ``text``, in order (empty text stretches are dropped)."""
        plain = self._plain_lowered([text])  # the common case: preprocessing only lower-cases the text
        if plain is not None:
            return ((None, plain[0], None, None, 0),)
        low, starts = self._lower_case(text)
        parts = self._split_specials(low)
        if len(parts) == 1:  # no special token: skip building a list
            return (self._preprocess(low, 0, starts),) if low else ()
        segments: list[Segment] = []
        for s, e, token in parts:
            if token is not None:
                segments.append((self.special_ids[token], token, None, None, starts[s] if starts is not None else s))
            elif s != e:
                segments.append(self._preprocess(low[s:e], s, starts[s:e] if starts is not None else None))
        return tuple(segments)

    # step 1 ---------------------------------------------------------------------------------------------------------

    def _lower_case(self, text: str) -> tuple[str, list[int] | None]:
        """Lower-case outside special tokens; also returns each output char's original position if lengths change."""
        if not self.do_lower_case:
            return text, None
        if text.isascii():
            if self._first_chars.isdisjoint(text):
                return text.lower(), None
            return self._lower_outside_specials(text), None
        low = self._lower_outside_specials(text)
        if len(low) == len(text):
            return low, None
        starts: list[int] = []
        for s, e, is_special in self._special_and_gaps(text):
            if is_special:
                starts.extend(range(s, e))
            else:
                for k in range(s, e):
                    starts.extend([k] * len(_lower_chars(text[k])))
        return low, starts

    def _special_and_gaps(self, text: str) -> Iterator[tuple[int, int, bool]]:
        pos = 0
        for m in self._special_re.finditer(text):
            if m.start() > pos:
                yield pos, m.start(), False
            yield m.start(), m.end(), True
            pos = m.end()
        if pos < len(text):
            yield pos, len(text), False

    def _lower_outside_specials(self, text: str) -> str:
        return "".join(
            text[s:e] if is_special else _lower_chars(text[s:e]) for s, e, is_special in self._special_and_gaps(text)
        )

    # step 2 ---------------------------------------------------------------------------------------------------------

    def _split_specials(self, low: str) -> list[tuple[int, int, str | None]]:
        """``(start, end, token)`` parts of ``low``; ``token`` is None for text between special tokens."""
        if self._first_chars_any_case.isdisjoint(low):
            return [(0, len(low), None)]
        parts: list[tuple[int, int, str | None]] = []
        pos = 0
        for m in self._split_re.finditer(low):
            parts.append((pos, m.start(), None))
            parts.append((m.start(), m.end(), m.group()))
            pos = m.end()
        parts.append((pos, len(low), None))
        for i, (_, _, token) in enumerate(parts):
            if token in self.lstrip_tokens and i > 0:
                ps, pe, ptoken = parts[i - 1]
                if ptoken is None:
                    parts[i - 1] = (ps, ps + len(low[ps:pe].rstrip()), None)
            if token in self.rstrip_tokens and i + 1 < len(parts):
                ns, ne, ntoken = parts[i + 1]
                if ntoken is None:
                    parts[i + 1] = (ne - len(low[ns:ne].lstrip()), ne, None)
        return parts

    # step 3 ---------------------------------------------------------------------------------------------------------

    def _is_unchanged_by_preprocessing(self, seg: str) -> bool:
        return (
            (not self.remove_space or " ".join(seg.split()) == seg)
            and "``" not in seg
            and "''" not in seg
            and (seg.isascii() or ((self.keep_accents or unicodedata.is_normalized("NFKD", seg))
                                   and (not self.do_lower_case or seg.lower() == seg)
                                   and not any(unicodedata.combining(c) for c in seg)))
        )

    def _preprocess(self, seg: str, base: int, seg_starts: list[int] | None) -> Segment:
        """Collapse white space, rewrite quotes, strip accents, lower-case; ``seg_starts`` maps chars (None: base+i)."""
        if self._is_unchanged_by_preprocessing(seg):
            if seg_starts is None:
                return (None, seg, None, None, base)
            return (None, seg, seg_starts, [p + 1 for p in seg_starts], base)
        chars, cs, ce = _collapse_spaces(seg) if self.remove_space else _identity(seg)
        for pair in ("``", "''"):
            if pair[0] in chars:
                chars, cs, ce = _replace_pair(chars, cs, ce, pair)
        if not self.keep_accents:
            chars, cs, ce = _strip_accents(chars, cs, ce)
        out = "".join(chars)
        if self.do_lower_case:
            lowered = out.lower()
            if len(lowered) != len(out):
                cs, ce = _repeat_for_lower_case(chars, cs, ce)
            out = lowered
        if seg_starts is None:
            return (None, out, [base + p for p in cs], [base + p for p in ce], base)
        return (None, out, [seg_starts[p] for p in cs], [seg_starts[p - 1] + 1 for p in ce], base)


def _lower_chars(text: str) -> str:
    # one character at a time (no final-sigma context), as the reference does
    if _CAPITAL_SIGMA in text:
        return "".join([c.lower() for c in text])
    return text.lower()


_Aligned = tuple[list[str], list[int], list[int]]


def _identity(seg: str) -> _Aligned:
    positions = list(range(len(seg)))
    return list(seg), positions, [p + 1 for p in positions]


def _collapse_spaces(seg: str) -> _Aligned:
    """Strip white space and collapse each inner run of it to one space (at the run's first position)."""
    chars: list[str] = []
    cs: list[int] = []
    pending_space = -1
    for i, c in enumerate(seg):
        if c.isspace():
            if chars and pending_space < 0:
                pending_space = i
            continue
        if pending_space >= 0:
            chars.append(" ")
            cs.append(pending_space)
            pending_space = -1
        chars.append(c)
        cs.append(i)
    return chars, cs, [p + 1 for p in cs]


def _replace_pair(chars: list[str], cs: list[int], ce: list[int], pair: str) -> _Aligned:
    """Rewrite each ``pair`` (```` `` ```` or ``''``) as one ``"`` spanning both characters."""
    out_chars: list[str] = []
    out_cs: list[int] = []
    out_ce: list[int] = []
    i = 0
    n = len(chars)
    while i < n:
        if i + 1 < n and chars[i] == pair[0] and chars[i + 1] == pair[1]:
            out_chars.append('"')
            out_cs.append(cs[i])
            out_ce.append(ce[i + 1])
            i += 2
        else:
            out_chars.append(chars[i])
            out_cs.append(cs[i])
            out_ce.append(ce[i])
            i += 1
    return out_chars, out_cs, out_ce


def _strip_accents(chars: list[str], cs: list[int], ce: list[int]) -> _Aligned:
    # char by char: dropping the combining marks makes this equal to normalising the whole string
    out_chars: list[str] = []
    out_cs: list[int] = []
    out_ce: list[int] = []
    for c, s, e in zip(chars, cs, ce):
        if c.isascii():
            out_chars.append(c)
            out_cs.append(s)
            out_ce.append(e)
            continue
        for d in unicodedata.normalize("NFKD", c):
            if not unicodedata.combining(d):
                out_chars.append(d)
                out_cs.append(s)
                out_ce.append(e)
    return out_chars, out_cs, out_ce


def _repeat_for_lower_case(chars: list[str], cs: list[int], ce: list[int]) -> tuple[list[int], list[int]]:
    out_cs: list[int] = []
    out_ce: list[int] = []
    for c, s, e in zip(chars, cs, ce):
        k = len(c.lower())
        out_cs.extend([s] * k)
        out_ce.extend([e] * k)
    return out_cs, out_ce
