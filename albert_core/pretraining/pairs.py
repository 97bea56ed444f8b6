"""Segment pairs for sentence-order prediction, built as the original ALBERT builds them, inside one document.

For each document, consecutive sentences are gathered into a *chunk* until it holds ``target`` tokens (the full
``max_seq_length - 3``, or with probability ``short_seq_prob`` a shorter target drawn uniformly from
``[2, max_seq_length - 3]``). The chunk is cut after a random number of whole sentences into segment A and segment B;
with probability 0.5 the two are swapped (``sentence_order_label`` 1, as in transformers; 0 is the original order).
While the pair is too long, one token is dropped from a random end of the longer segment.

Differences from google-research ``create_pretraining_data.py``, all on purpose:

* a chunk of a single sentence is split at a random word start inside it instead of taking segment B from a random
  *other* document, so a pair never mixes documents (a one-token sentence is dropped);
* the shorter target is drawn for every pair instead of once per document, so ``short_seq_prob`` is the share of
  pairs with a shorter target, as the original's comment intends ("10% of the time").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from albert_core.pretraining.documents import TokenizedDocument

#: [CLS] A [SEP] B [SEP]: three positions of every example hold special tokens.
NUM_SPECIAL_POSITIONS = 3


@dataclass(frozen=True)
class SegmentPair:
    """Two token ranges ``[start, end)`` of one document, in the order the example presents them."""

    first: tuple[int, int]
    second: tuple[int, int]
    swapped: bool


@dataclass(frozen=True)
class PairLayout:
    """How a pair becomes a fixed-width example: ``[CLS] first [SEP] second [SEP] <pad>...``."""

    max_seq_length: int
    cls_token_id: int
    sep_token_id: int
    pad_token_id: int

    @property
    def max_num_tokens(self) -> int:
        return self.max_seq_length - NUM_SPECIAL_POSITIONS


def plan_segment_pairs(
    document: TokenizedDocument, max_num_tokens: int, short_seq_prob: float, rng: np.random.Generator,
) -> list[SegmentPair]:
    """Cut one document into segment pairs of at most ``max_num_tokens`` tokens together.

    >>> import numpy as np
    >>> doc = TokenizedDocument(ids=np.arange(10, 22, dtype=np.int32), sentence_ends=np.array([4, 8, 12]),
    ...                         word_starts=np.ones(12, bool))
    >>> pairs = plan_segment_pairs(doc, max_num_tokens=10, short_seq_prob=0.0, rng=np.random.default_rng(0))
    >>> [(p.first, p.second, p.swapped) for p in pairs]  # A = sentences 0-1 cut to 6 tokens, then swapped with B
    [((8, 12), (1, 7), True)]
    """
    pairs: list[SegmentPair] = []
    target = _draw_target(max_num_tokens, short_seq_prob, rng)
    chunk_first_sentence, chunk_length = 0, 0
    for sentence in range(document.num_sentences):
        start, end = document.sentence_bounds(sentence)
        chunk_length += end - start
        if sentence < document.num_sentences - 1 and chunk_length < target:
            continue
        chunk_start = document.sentence_bounds(chunk_first_sentence)[0]
        num_sentences = sentence - chunk_first_sentence + 1
        if num_sentences >= 2:
            # segment A holds 1 .. n-1 whole sentences, as in the original
            sentences_in_a = int(rng.integers(1, num_sentences))
            split: int | None = int(document.sentence_ends[chunk_first_sentence + sentences_in_a - 1])
        else:
            split = _split_inside_sentence(document, chunk_start, end, rng)
        if split is not None:
            swapped = bool(rng.random() < 0.5)
            first, second = _truncate_pair((chunk_start, split), (split, end), max_num_tokens, rng)
            pairs.append(SegmentPair(first=second if swapped else first, second=first if swapped else second,
                                     swapped=swapped))
        chunk_first_sentence, chunk_length = sentence + 1, 0
        target = _draw_target(max_num_tokens, short_seq_prob, rng)
    return pairs


def _draw_target(max_num_tokens: int, short_seq_prob: float, rng: np.random.Generator) -> int:
    # the coin is always drawn so that the random stream does not depend on short_seq_prob being zero
    if rng.random() < short_seq_prob:
        return int(rng.integers(2, max_num_tokens + 1))
    return max_num_tokens


def _split_inside_sentence(document: TokenizedDocument, start: int, end: int, rng: np.random.Generator) -> int | None:
    if end - start < 2:
        return None
    inner_word_starts = np.flatnonzero(document.word_starts[start + 1:end]) + start + 1
    # prefer a word boundary so that neither segment begins in the middle of a word
    candidates = inner_word_starts if len(inner_word_starts) else np.arange(start + 1, end)
    return int(candidates[rng.integers(len(candidates))])


def _truncate_pair(
    a: tuple[int, int], b: tuple[int, int], max_num_tokens: int, rng: np.random.Generator,
) -> tuple[tuple[int, int], tuple[int, int]]:
    a_start, a_end = a
    b_start, b_end = b
    excess = (a_end - a_start) + (b_end - b_start) - max_num_tokens
    if excess <= 0:
        return a, b
    for coin in rng.random(excess):
        # the longer segment loses a token from its front or its back (the second one on a tie, as the original)
        if a_end - a_start > b_end - b_start:
            if coin < 0.5:
                a_start += 1
            else:
                a_end -= 1
        elif coin < 0.5:
            b_start += 1
        else:
            b_end -= 1
    return (a_start, a_end), (b_start, b_end)


def assemble_pairs(document: TokenizedDocument, pairs: list[SegmentPair], layout: PairLayout) -> dict[str, np.ndarray]:
    """Lay pairs out as fixed-width rows: ``input_ids``, ``token_type_ids``, ``attention_mask``, ``word_starts``
    (segment starts count as word starts, so a word never spans [SEP]) and ``sentence_order_label``.

    >>> import numpy as np
    >>> doc = TokenizedDocument(ids=np.arange(10, 16, dtype=np.int32), sentence_ends=np.array([3, 6]),
    ...                         word_starts=np.array([1, 0, 1, 1, 0, 0], bool))
    >>> rows = assemble_pairs(doc, [SegmentPair((3, 6), (0, 3), True)], PairLayout(10, 2, 3, 0))
    >>> rows["input_ids"][0].tolist(), rows["token_type_ids"][0].tolist()
    ([2, 13, 14, 15, 3, 10, 11, 12, 3, 0], [0, 0, 0, 0, 0, 1, 1, 1, 1, 0])
    >>> rows["word_starts"][0].astype(int).tolist(), rows["sentence_order_label"].tolist()
    ([0, 1, 0, 0, 0, 1, 0, 1, 0, 0], [1])
    """
    width = layout.max_seq_length
    count = len(pairs)
    input_ids = np.full((count, width), layout.pad_token_id, dtype=np.int32)
    token_type_ids = np.zeros((count, width), dtype=np.int8)
    attention_mask = np.zeros((count, width), dtype=np.int8)
    word_starts = np.zeros((count, width), dtype=np.uint8)
    labels = np.zeros(count, dtype=np.int8)
    for row, pair in enumerate(pairs):
        (s1, e1), (s2, e2) = pair.first, pair.second
        first_len, second_len = e1 - s1, e2 - s2
        second_at = first_len + 2
        total = first_len + second_len + NUM_SPECIAL_POSITIONS
        input_ids[row, 0] = layout.cls_token_id
        input_ids[row, 1:1 + first_len] = document.ids[s1:e1]
        input_ids[row, 1 + first_len] = layout.sep_token_id
        input_ids[row, second_at:second_at + second_len] = document.ids[s2:e2]
        input_ids[row, total - 1] = layout.sep_token_id
        token_type_ids[row, second_at:total] = 1
        attention_mask[row, :total] = 1
        word_starts[row, 1:1 + first_len] = document.word_starts[s1:e1]
        word_starts[row, second_at:second_at + second_len] = document.word_starts[s2:e2]
        word_starts[row, [1, second_at]] = 1
        labels[row] = pair.swapped
    return {"input_ids": input_ids, "token_type_ids": token_type_ids, "attention_mask": attention_mask,
            "word_starts": word_starts, "sentence_order_label": labels}
