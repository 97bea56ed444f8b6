"""N-gram masked-language-model masking, as in the ALBERT paper and google-research ``create_pretraining_data.py``.

Masking one example (:meth:`MaskingRecipe.mask`):

1. the maskable positions (everything but [CLS], [SEP], [MASK] and padding) are grouped into whole words: a word
   starts at a piece beginning with ``▁`` or at the first token of a segment, and continuation pieces stay with it;
2. ``num_to_predict = min(max_predictions_per_seq, max(1, round(masked_lm_prob * maskable tokens)))``;
3. the words are visited in random order; at each, an n-gram length ``n <= max_ngram`` is drawn with ``P(n) ∝ 1/n``
   (renormalised when fewer than ``max_ngram`` words remain), shortened while the n-gram would overshoot the budget,
   and the n-gram of whole words starting there is taken unless it still overshoots or overlaps an earlier one;
4. each chosen position becomes ``[MASK]`` with probability 0.8, a random token with 0.1, and stays with 0.1
   (decided per token, as the original does). Random tokens are drawn from the vocabulary without special tokens.

The original counts [CLS] and [SEP] in step 2's token count; this module counts maskable tokens only, so the rate is
15% of what can be predicted. :class:`DynamicMasker` applies the same recipe on the fly, with a fresh mask per epoch.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Mapping, NamedTuple

import numpy as np

#: ``labels`` value at positions with nothing to predict (ignored by PyTorch's cross-entropy, as in transformers).
IGNORE_INDEX = -100

#: Tags mixed into seeds so that the random streams of different steps never coincide.
PAIRS_STREAM, DYNAMIC_MASK_STREAM, SHUFFLE_STREAM = 1, 2, 3


class MaskedSpan(NamedTuple):
    """One masked n-gram: its token positions, its length in words, and the length first drawn for it."""

    positions: tuple[int, ...]
    num_words: int
    drawn_num_words: int


class MaskedSequence(NamedTuple):
    """The result of masking one row."""

    input_ids: np.ndarray
    labels: np.ndarray
    spans: list[MaskedSpan]


@dataclass(frozen=True)
class MaskingRecipe:
    """Settings of n-gram masking, and the vocabulary facts it needs.

    Args:
        mask_token_id: id of ``[MASK]``.
        replacement_ids: ids a position may be replaced with at random (the vocabulary minus special tokens).
        unmaskable_ids: ids never masked ([CLS], [SEP], [MASK], padding).
        masked_lm_prob, max_predictions_per_seq, max_ngram: as in the original flags.

    >>> import numpy as np
    >>> recipe = MaskingRecipe(mask_token_id=4, replacement_ids=np.arange(5, 50), unmaskable_ids=(0, 2, 3, 4))
    >>> ids = np.array([2, 10, 11, 12, 13, 14, 15, 16, 17, 3, 0], dtype=np.int32)
    >>> starts = np.array([0, 1, 0, 1, 1, 1, 0, 1, 1, 0, 0], dtype=bool)
    >>> out = recipe.mask(ids, starts, np.random.default_rng(0))
    >>> int((out.labels != -100).sum())  # round(0.15 * 8 maskable) = 1
    1
    >>> sorted(p for span in out.spans for p in span.positions) == np.flatnonzero(out.labels != -100).tolist()
    True
    """

    mask_token_id: int
    replacement_ids: np.ndarray
    unmaskable_ids: tuple[int, ...]
    masked_lm_prob: float = 0.15
    max_predictions_per_seq: int = 20
    max_ngram: int = 3
    _ngram_cdfs: list[list[float]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        weights = 1.0 / np.arange(1, self.max_ngram + 1)
        # cdfs[w] draws n in 1..w with P(n) ∝ 1/n: the distribution when only w words are left (plain lists:
        # bisecting a list is several times faster than numpy on three numbers)
        cdfs = [[]] + [(np.cumsum(weights[:w]) / weights[:w].sum()).tolist() for w in range(1, self.max_ngram + 1)]
        object.__setattr__(self, "_ngram_cdfs", cdfs)

    def ngram_probabilities(self) -> np.ndarray:
        """``P(n)`` for ``n = 1 .. max_ngram``: proportional to ``1/n``.

        >>> MaskingRecipe(4, np.arange(5, 9), (4,), max_ngram=3).ngram_probabilities().round(3).tolist()
        [0.545, 0.273, 0.182]
        """
        weights = 1.0 / np.arange(1, self.max_ngram + 1)
        return weights / weights.sum()

    def mask(self, input_ids: np.ndarray, word_starts: np.ndarray, rng: np.random.Generator) -> MaskedSequence:
        """Mask one row of ids; ``word_starts`` marks the pieces that begin a word."""
        maskable = np.ones(input_ids.shape, dtype=bool)
        for unmaskable in self.unmaskable_ids:  # a handful of ids: cheaper than np.isin
            maskable &= input_ids != unmaskable
        positions = np.flatnonzero(maskable)
        labels = np.full(input_ids.shape, IGNORE_INDEX, dtype=np.int32)
        output = np.array(input_ids, copy=True)
        if not len(positions):
            return MaskedSequence(output, labels, [])
        # a word starts at a word-start piece or wherever the maskable run is broken (a segment's first token)
        new_word = word_starts[positions].astype(bool)
        new_word[0] = True
        new_word[1:] |= np.diff(positions) != 1
        bounds = np.append(np.flatnonzero(new_word), len(positions)).tolist()
        num_words = len(bounds) - 1
        num_to_predict = min(self.max_predictions_per_seq,
                             max(1, int(round(len(positions) * self.masked_lm_prob))))
        covered = [False] * len(positions)
        spans: list[tuple[int, int, int, int]] = []
        count = 0
        for word, draw in zip(rng.permutation(num_words).tolist(), rng.random(num_words).tolist()):
            if count >= num_to_predict:
                break
            window = min(self.max_ngram, num_words - word)
            drawn = min(bisect.bisect_right(self._ngram_cdfs[window], draw) + 1, window)
            n = drawn
            # try shorter n-grams before giving up on a start that would overshoot the budget
            while n > 1 and count + bounds[word + n] - bounds[word] > num_to_predict:
                n -= 1
            first, last = bounds[word], bounds[word + n]
            if count + last - first > num_to_predict or any(covered[first:last]):
                continue
            covered[first:last] = [True] * (last - first)
            count += last - first
            spans.append((first, last, n, drawn))
        chosen = positions[np.flatnonzero(covered)]
        labels[chosen] = input_ids[chosen]
        coins = rng.random(len(chosen))
        random_tokens = self.replacement_ids[rng.integers(0, len(self.replacement_ids), size=len(chosen))]
        output[chosen[coins < 0.8]] = self.mask_token_id
        randomised = coins >= 0.9  # 0.8 <= coin < 0.9 keeps the original token
        output[chosen[randomised]] = random_tokens[randomised]
        masked_spans = [MaskedSpan(tuple(positions[first:last].tolist()), n, drawn) for first, last, n, drawn in spans]
        return MaskedSequence(output, labels, masked_spans)


class DynamicMasker:
    """Masks examples on the fly: a new mask for every ``(epoch, example index)``, reproducible from ``seed``.

    The mask of an example depends only on ``(seed, epoch, index)``, never on the order examples are read in or on
    which data-loader worker reads them.

    >>> import numpy as np
    >>> recipe = MaskingRecipe(mask_token_id=4, replacement_ids=np.arange(5, 50), unmaskable_ids=(0, 2, 3, 4))
    >>> masker = DynamicMasker(recipe, seed=7)
    >>> example = {"input_ids": np.array([2] + list(range(10, 40)) + [3]), "word_starts": np.ones(32, np.uint8)}
    >>> epoch0, epoch1 = masker(example, index=0, epoch=0), masker(example, index=0, epoch=1)
    >>> sorted(epoch0)
    ['input_ids', 'labels']
    >>> bool((epoch0["labels"] != masker(example, index=0, epoch=0)["labels"]).any())  # reproducible
    False
    >>> bool((epoch0["labels"] != epoch1["labels"]).any())  # a new mask each epoch
    True
    """

    def __init__(self, recipe: MaskingRecipe, seed: int = 0) -> None:
        self.recipe = recipe
        self.seed = int(seed)

    def rng(self, index: int, epoch: int) -> np.random.Generator:
        """The random stream of one example in one epoch."""
        return np.random.default_rng([self.seed, DYNAMIC_MASK_STREAM, int(epoch), int(index)])

    def __call__(self, example: Mapping[str, np.ndarray], index: int, epoch: int = 0) -> dict[str, np.ndarray]:
        """Return the masked ``input_ids`` and the ``labels`` of one stored (unmasked) example."""
        ids = np.asarray(example["input_ids"])
        masked = self.recipe.mask(ids, np.asarray(example["word_starts"]).astype(bool), self.rng(index, epoch))
        return {"input_ids": masked.input_ids, "labels": masked.labels}
