"""SentencePiece pieces -> ids (and original-text offsets) for preprocessed segments, batched through C++."""

from __future__ import annotations

import itertools
import re
from typing import Any, Sequence

from albert_core.errors import FrameworkMissingError
from albert_core.tokenizer.normalization import BASE, SPECIAL_ID, STARTS, TEXT, Segment

SPIECE_UNDERLINE = "\u2581"
Span = tuple[int, int]
#: spans starting before this position come from a shared table of tuples (see ``PieceEncoder._span_tuples``)
_SPAN_TABLE_STARTS = 1024


def import_sentencepiece() -> Any:
    """The ``sentencepiece`` module, or a :class:`~albert_core.FrameworkMissingError` saying how to install it."""
    try:
        import sentencepiece as spm
    except ImportError as exc:  # pragma: no cover - sentencepiece is a hard dependency
        raise FrameworkMissingError("AlbertTokenizer needs the 'sentencepiece' package: "
                                    "pip install sentencepiece") from exc
    return spm


#: a digit, then a comma, with only control characters between (which SentencePiece's normaliser may drop)
_ASCII_DIGIT_COMMA = re.compile("[0-9][\x00-\x1f\x7f]*,")


def _ends_in_digit_comma(piece: str) -> bool:
    return len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit()


class PieceEncoder:
    """Encodes segments with a SentencePiece model, applying ALBERT's digit-comma split (``▁9,`` -> ``▁9 ,``).

    Args:
        sp_model: a loaded ``sentencepiece.SentencePieceProcessor``.
        num_threads: threads SentencePiece uses for batches (-1: all cores).
        remove_space: whether the segments had their white space collapsed (offsets then trust piece lengths).
    """

    def __init__(self, sp_model: Any, num_threads: int = -1, *, remove_space: bool = True) -> None:
        import numpy as np

        self.sp_model = sp_model
        self.num_threads = num_threads
        self.remove_space = remove_space
        pieces = [sp_model.id_to_piece(i) for i in range(len(sp_model))]
        #: ids of vocabulary pieces that end in "<digit>,": those need ALBERT's digit-comma split
        self.comma_ids = frozenset(i for i, piece in enumerate(pieces) if _ends_in_digit_comma(piece))
        # piece length and "starts with ▁" per id give offsets without asking SentencePiece, except for ids whose
        # surface is not their piece (unknown, byte, control, unused) or that get split
        self._piece_len = np.array([len(p) for p in pieces], dtype=np.int64)
        self._piece_ws = np.array([p.startswith(SPIECE_UNDERLINE) for p in pieces], dtype=np.int64)
        irregular = frozenset(
            i for i in range(len(pieces))
            if sp_model.is_unknown(i) or sp_model.is_control(i) or sp_model.is_unused(i) or sp_model.is_byte(i)
        )
        self._needs_sentencepiece_offsets = irregular | self.comma_ids
        self._span_width = int(self._piece_len.max(initial=0)) + 1  # a span is at most one piece long
        self._span_table: list[Span] | None = None

    def pieces(self, segments: Sequence[Segment]) -> list[str]:
        """The piece strings of one text's segments (a special token is one piece)."""
        tokens: list[str] = []
        for seg in segments:
            if seg[SPECIAL_ID] is not None:
                tokens.append(seg[TEXT])
                continue
            pieces = self.sp_model.encode(seg[TEXT], out_type=str)
            if any(_ends_in_digit_comma(p) for p in pieces):
                pieces = self.split_digit_commas(pieces)[0]
            tokens.extend(pieces)
        return tokens

    def split_digit_commas(self, pieces: list[str],
                           offsets: list[Span] | None = None) -> tuple[list[str], list[Span] | None]:
        """Re-encode each piece ending in "<digit>," without its comma and put the comma after it as a piece."""
        sp = self.sp_model
        new_pieces: list[str] = []
        new_offsets: list[Span] | None = [] if offsets is not None else None
        for k, piece in enumerate(pieces):
            if not _ends_in_digit_comma(piece):
                new_pieces.append(piece)
                if new_offsets is not None:
                    new_offsets.append(offsets[k])  # type: ignore[index]
                continue
            body = piece[:-1].replace(SPIECE_UNDERLINE, "")
            if new_offsets is not None:
                res = sp.encode(body, out_type="offset_mapping")
                sub_pieces, sub_offsets = list(res["pieces"]), list(res["offsets"])
            else:
                sub_pieces, sub_offsets = sp.encode(body, out_type=str), []
            if piece[0] != SPIECE_UNDERLINE and sub_pieces and sub_pieces[0][0] == SPIECE_UNDERLINE:
                if len(sub_pieces[0]) == 1:
                    sub_pieces, sub_offsets = sub_pieces[1:], sub_offsets[1:]
                else:
                    sub_pieces[0] = sub_pieces[0][1:]
            new_pieces.extend(sub_pieces)
            new_pieces.append(piece[-1])
            if new_offsets is not None:
                b, e = offsets[k]  # type: ignore[index]
                sub_base = max(b, e - 1 - len(body))
                new_offsets.extend((sub_base + s, sub_base + t) for s, t in sub_offsets)
                new_offsets.append((e - 1, e))
        return new_pieces, new_offsets

    def _ids_of_pieces(self, pieces: list[str]) -> list[int]:
        piece_to_id = self.sp_model.piece_to_id
        return [piece_to_id(p) for p in pieces]

    def encode(self, texts: Sequence[Sequence[Segment]]) -> list[list[int]]:
        """The ids of each text's segments, one new list per text.

        A text made of one plain segment (the usual case) keeps the list SentencePiece returned, so a batch
        allocates about one list per text.
        """
        flat = [seg[TEXT] for segs in texts for seg in segs if seg[SPECIAL_ID] is None]
        encoded = self.sp_model.encode(flat, out_type=int, num_threads=self.num_threads) if flat else []
        comma = self.comma_ids
        # SentencePiece's normaliser leaves ASCII digits and commas alone (it may drop control characters or turn them
        # into spaces), so ASCII text without the pattern below has no piece ending in "<digit>,"
        joined = "\x00".join(flat)
        no_digit_commas = joined.isascii() and _ASCII_DIGIT_COMMA.search(joined) is None
        rows: list[list[int]] = []
        j = 0
        for segs in texts:
            if len(segs) == 1 and segs[0][SPECIAL_ID] is None and (no_digit_commas or comma.isdisjoint(encoded[j])):
                rows.append(encoded[j])
                j += 1
                continue
            ids: list[int] = []
            for seg in segs:
                if seg[SPECIAL_ID] is not None:
                    ids.append(seg[SPECIAL_ID])
                    continue
                seg_ids = encoded[j]
                j += 1
                if not comma.isdisjoint(seg_ids):
                    seg_ids = self._ids_of_pieces(
                        self.split_digit_commas(self.sp_model.encode(seg[TEXT], out_type=str))[0])
                ids.extend(seg_ids)
            rows.append(ids)
        return rows

    def encode_with_offsets(self, texts: Sequence[Sequence[Segment]]) -> tuple[list[list[int]], list[list[Span]]]:
        """Ids and original-text ``(start, end)`` spans of each text's segments."""
        flat = [seg for segs in texts for seg in segs if seg[SPECIAL_ID] is None]
        encoded = (self.sp_model.encode([seg[TEXT] for seg in flat], out_type=int, num_threads=self.num_threads)
                   if flat else [])
        seg_ids: list[Any] = [None] * len(flat)
        seg_spans: list[Any] = [None] * len(flat)
        by_length, by_sentencepiece = [], []
        for j, seg in enumerate(flat):
            (by_length if self._spans_follow_piece_lengths(seg[TEXT], encoded[j]) else by_sentencepiece).append(j)
        self._spans_from_piece_lengths(flat, encoded, by_length, seg_ids, seg_spans)
        self._spans_from_sentencepiece(flat, by_sentencepiece, seg_ids, seg_spans)
        rows_ids: list[list[int]] = []
        rows_spans: list[list[Span]] = []
        j = 0
        for segs in texts:
            if len(segs) == 1 and segs[0][SPECIAL_ID] is None:  # the usual case: no copies
                rows_ids.append(seg_ids[j])
                rows_spans.append(seg_spans[j])
                j += 1
                continue
            ids: list[int] = []
            spans: list[Span] = []
            for seg in segs:
                if seg[SPECIAL_ID] is not None:
                    ids.append(seg[SPECIAL_ID])
                    spans.append((seg[BASE], seg[BASE] + len(seg[TEXT])))
                    continue
                ids.extend(seg_ids[j])
                spans.extend(seg_spans[j])
                j += 1
            rows_ids.append(ids)
            rows_spans.append(spans)
        return rows_ids, rows_spans

    def _spans_follow_piece_lengths(self, text: str, ids: list[int]) -> bool:
        # SentencePiece leaves printable ASCII with single inner spaces unchanged, so its pieces tile the text
        # exactly. The spaces are checked even with remove_space: accent stripping runs after the spaces were
        # collapsed and can add some ("¨" -> " ", a lone combining mark dropped before a space), which SentencePiece
        # then removes, shifting every later span if piece lengths were trusted.
        return (
            text.isascii()
            and text.isprintable()
            and "  " not in text and text[:1] != " " and text[-1:] != " "
            and self._needs_sentencepiece_offsets.isdisjoint(ids)
        )

    def _spans_from_piece_lengths(self, flat: list[Segment], encoded: list[list[int]], rows: list[int],
                                  seg_ids: list[Any], seg_spans: list[Any]) -> None:
        """Spans of whole rows at once with numpy: each piece ends where the next begins, minus its ``▁``."""
        if not rows:
            return
        import numpy as np

        id_lists = [encoded[j] for j in rows]
        counts = np.fromiter(map(len, id_lists), dtype=np.int64, count=len(id_lists))
        total = int(counts.sum())
        all_spans: list[Span] = []
        if total:
            flat_ids = np.fromiter(itertools.chain.from_iterable(id_lists), dtype=np.int64, count=total)
            lengths = self._piece_len[flat_ids]
            cum = np.cumsum(lengths)
            first = np.cumsum(counts) - counts
            before = np.concatenate(([0], cum))[first]
            ends = cum - np.repeat(before + 1, counts)
            starts = ends - lengths + self._piece_ws[flat_ids]
            bases = np.fromiter((flat[j][BASE] if flat[j][STARTS] is None else 0 for j in rows),
                                dtype=np.int64, count=len(rows))
            base_rep = np.repeat(bases, counts)
            all_spans = self._span_tuples(starts + base_rep, ends + base_rep)
        pos = 0
        for j, count in zip(rows, counts.tolist()):
            seg = flat[j]
            spans = all_spans[pos : pos + count]
            pos += count
            seg_spans[j] = spans if seg[STARTS] is None else _to_original(seg, spans)
            seg_ids[j] = encoded[j]

    def _span_tuples(self, starts: Any, ends: Any) -> list[Span]:
        """``(start, end)`` tuples, shared from a table for spans near the start of a text.

        A batch has one span per token; fresh tuples would be as many allocations, each counting towards the next
        run of the cyclic garbage collector, which gets slow once a large library (torch) is loaded.
        """
        if len(starts) and int(starts.min()) >= 0 and int(starts.max()) < _SPAN_TABLE_STARTS:
            if self._span_table is None:
                width = self._span_width
                self._span_table = [(s, s + n) for s in range(_SPAN_TABLE_STARTS) for n in range(width)]
            return list(map(self._span_table.__getitem__, (starts * self._span_width + (ends - starts)).tolist()))
        return list(zip(starts.tolist(), ends.tolist()))

    def _spans_from_sentencepiece(self, flat: list[Segment], rows: list[int], seg_ids: list[Any],
                                  seg_spans: list[Any]) -> None:
        if not rows:
            return
        results = self.sp_model.encode([flat[j][TEXT] for j in rows], out_type="offset_mapping",
                                       num_threads=self.num_threads)
        for j, res in zip(rows, results):
            ids, spans = res["ids"], res["offsets"]
            if not self.comma_ids.isdisjoint(ids):
                pieces, spans = self.split_digit_commas(list(res["pieces"]), list(spans))
                ids = self._ids_of_pieces(pieces)
            seg_ids[j] = ids
            seg_spans[j] = _to_original(flat[j], spans)


def _to_original(seg: Segment, spans: Sequence[Span]) -> list[Span]:
    """Map spans in a segment's preprocessed text to the original text, leading white space excluded."""
    _, text, starts, ends, base = seg
    n = len(text)
    out = []
    for b, e in spans:
        while b < e and text[b].isspace():
            b += 1
        if starts is None:
            out.append((base + b, base + e) if b < e else (base + b, base + b))
        elif b < e:
            out.append((starts[b], ends[e - 1]))  # type: ignore[index]
        else:
            p = starts[b] if b < n else (ends[-1] if n else base)  # type: ignore[index]
            out.append((p, p))
    return out
