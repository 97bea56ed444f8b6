"""SentencePiece tokenizer for ALBERT, with no dependency on torch or tensorflow.

:class:`AlbertTokenizer` reproduces the ids of the reference ("slow") ``transformers.AlbertTokenizer`` exactly while
encoding whole batches through SentencePiece's C++ batch API. Text goes through the same steps as ALBERT defines them:

1. with ``do_lower_case``, every character outside the special-token strings is lower-cased one at a time (so a
   Greek capital sigma always becomes ``σ``, never the final form ``ς``);
2. the text is split around special-token strings (``[CLS]``, ``[SEP]``, ``<pad>``, ``<unk>``, ``[MASK]``), which
   become their own ids; ``[MASK]`` also swallows the white space on its left;
3. each remaining piece of text is preprocessed: white space collapsed (``remove_space``), ``````/``''`` rewritten
   to ``"``, NFKD accent stripping (unless ``keep_accents``) and lower-casing;
4. SentencePiece encodes it, and pieces that end in a digit followed by a comma (``▁9,``) are split so that
   ``9,000`` tokenizes as ``▁9 , 000``.

Every step keeps a character alignment so :meth:`AlbertTokenizer.__call__` can return ``offset_mapping`` spans into
the *original* text.

Known differences between the reference slow and fast Hugging Face tokenizers (this module follows the slow one;
``tests/test_tokenizer.py::test_slow_fast_disagreements_are_pinned`` pins them):

* white space around special-token strings in the text (``"a [SEP]b"``): the slow tokenizer encodes each stretch of
  text between special tokens on its own, stripped, while the fast one emits an extra ``▁`` piece before the token;
* upper-case look-alikes such as ``<PAD>`` (the slow tokenizer lower-cases before matching special tokens);
* white-space-only text: the slow tokenizer gives no piece, the fast one a lone ``▁``;
* ALBERT's user-defined symbols (``. - ( ) "`` ...): the fast tokenizer treats them as added tokens, so the word
  after one starts with a fresh ``▁`` piece (``a.b`` -> ``▁a . ▁b`` instead of ``▁a . b``);
* runs of tabs and new lines can segment differently.

Truncation and padding follow Hugging Face semantics. When ``truncation`` is off a sequence longer than
``max_length`` is left whole (a :class:`UserWarning` says so), exactly as Hugging Face does; it is never cut silently.
The task-facing API takes Hugging Face's argument names (``text``/``text_pair``, ``padding_side``/``truncation_side``,
``stride`` + ``return_overflowing_tokens``, ``is_split_into_words``, ``pad()``, ``add_tokens``) and returns an
:class:`Encoding` (alias ``BatchEncoding``) with ``sequence_ids``/``word_ids``/``char_to_token``; see the tokenizer
guide in the docs.

The package has one module per role: :mod:`~albert_core.tokenizer.special_tokens`,
:mod:`~albert_core.tokenizer.normalization` (steps 1-3), :mod:`~albert_core.tokenizer.pieces` (step 4),
:mod:`~albert_core.tokenizer.batching` (inputs, truncation and windows, special tokens, padding, tensors),
:mod:`~albert_core.tokenizer.encoding` (the result and its per-row maps), :mod:`~albert_core.tokenizer.words`
(word ids), :mod:`~albert_core.tokenizer.added_tokens`, :mod:`~albert_core.tokenizer.padding` (``pad()``),
:mod:`~albert_core.tokenizer.decoding`, :mod:`~albert_core.tokenizer.files` (directory I/O),
:mod:`~albert_core.tokenizer.training` and the :class:`AlbertTokenizer` facade.
"""

from albert_core.tokenizer.encoding import BatchEncoding, Encoding, TokenizerArgumentError
from albert_core.tokenizer.files import (CONFIG_NAME, DEFAULT_MODEL_MAX_LENGTH, SPECIAL_TOKENS_MAP_NAME,
                                        VOCAB_FILES_NAMES)
from albert_core.tokenizer.pieces import SPIECE_UNDERLINE
from albert_core.tokenizer.training import ALBERT_USER_DEFINED_SYMBOLS, train_sentencepiece
from albert_core.tokenizer.albert_tokenizer import AlbertTokenizer

__all__ = ["AlbertTokenizer", "BatchEncoding", "Encoding", "TokenizerArgumentError", "train_sentencepiece",
           "SPIECE_UNDERLINE", "VOCAB_FILES_NAMES"]
# constants the single-module tokenizer defined, still importable from here
_COMPAT = (ALBERT_USER_DEFINED_SYMBOLS, CONFIG_NAME, DEFAULT_MODEL_MAX_LENGTH, SPECIAL_TOKENS_MAP_NAME)
