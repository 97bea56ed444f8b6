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
"""

from __future__ import annotations

import gc
import io
import itertools
import json
import os
import re
import unicodedata
import warnings
from pathlib import Path
from typing import Any, Iterable, Sequence, Union

from albert_core.errors import FrameworkMissingError, TokenizerError
from albert_core.io_utils import atomic_write_bytes, atomic_write_text

__all__ = ["AlbertTokenizer", "Encoding", "train_sentencepiece", "SPIECE_UNDERLINE", "VOCAB_FILES_NAMES"]

SPIECE_UNDERLINE = "\u2581"
VOCAB_FILES_NAMES = {"vocab_file": "spiece.model"}
CONFIG_NAME = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_NAME = "special_tokens_map.json"
#: ALBERT's SentencePiece recipe splits these characters out as pieces of their own.
ALBERT_USER_DEFINED_SYMBOLS = ("(", ")", '"', "-", ".", "\u2013", "\u00a3", "\u20ac")
_SPECIAL_KEYS = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
_DEFAULT_SPECIALS = {
    "bos_token": "[CLS]",
    "eos_token": "[SEP]",
    "unk_token": "<unk>",
    "sep_token": "[SEP]",
    "pad_token": "<pad>",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
}
DEFAULT_MODEL_MAX_LENGTH = 512

TextInput = str


def _import_spm() -> Any:
    try:
        import sentencepiece as spm
    except ImportError as exc:  # pragma: no cover - sentencepiece is a hard dependency
        raise FrameworkMissingError("AlbertTokenizer needs the 'sentencepiece' package: pip install sentencepiece") from exc
    return spm


# --------------------------------------------------------------------------------------------------------------------
# training helper
# --------------------------------------------------------------------------------------------------------------------


def train_sentencepiece(
    corpus: Union[str, os.PathLike[str], Iterable[str]],
    model_prefix_or_dir: Union[str, os.PathLike[str]],
    vocab_size: int = 8000,
    *,
    max_lines: int | None = None,
    byte_fallback: bool = False,
    user_defined_symbols: Sequence[str] | None = ALBERT_USER_DEFINED_SYMBOLS,
    character_coverage: float = 0.99995,
    hard_vocab_limit: bool = False,
    num_threads: int = 4,

) -> Path:
    """Train a SentencePiece unigram model with ALBERT's settings and return the path of the written model.

    ``<pad>`` gets id 0, ``<unk>`` id 1, the control symbols ``[CLS]``, ``[SEP]``, ``[MASK]`` ids 2, 3, 4; there are
    no BOS/EOS pieces and text is normalised with ``nmt_nfkc``, as for the released ALBERT models. ``corpus`` is a
    text file (one sentence a line) or an iterable of lines; training runs in memory. ``model_prefix_or_dir`` is an
    existing directory (the model is written as ``spiece.model`` inside it) or a prefix (``<prefix>.model``). The
    write is atomic.

    >>> import tempfile
    >>> lines = ["the quick brown fox jumps over the lazy dog", "pack my box with five dozen liquor jugs"] * 50
    >>> path = train_sentencepiece(lines, tempfile.mkdtemp(), vocab_size=60)
    >>> path.name
    'spiece.model'
    """
    spm = _import_spm()
    if isinstance(corpus, (str, os.PathLike)):
        corpus_path = Path(corpus)
        if not corpus_path.is_file():
            raise FileNotFoundError(f"corpus file not found: {corpus_path}")
        lines: list[str] = corpus_path.read_text(encoding="utf-8").splitlines()
    else:
        lines = [str(line) for line in corpus]
    lines = [line for line in lines if line.strip()]
    if max_lines is not None:
        lines = lines[:max_lines]
    if not lines:
        raise TokenizerError("cannot train a SentencePiece model on an empty corpus")
    target = Path(model_prefix_or_dir)
    out = target / VOCAB_FILES_NAMES["vocab_file"] if target.is_dir() else target.with_name(target.name + ".model")
    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=buffer,
        vocab_size=vocab_size,
        model_type="unigram",
        pad_id=0,
        unk_id=1,
        bos_id=-1,
        eos_id=-1,
        control_symbols=["[CLS]", "[SEP]", "[MASK]"],
        user_defined_symbols=list(user_defined_symbols or []),
        normalization_rule_name="nmt_nfkc",
        character_coverage=character_coverage,
        byte_fallback=byte_fallback,
        hard_vocab_limit=hard_vocab_limit,
        num_threads=num_threads,
        seed_sentencepiece_size=1000000,
        minloglevel=2,
    )
    atomic_write_bytes(out, buffer.getvalue())
    return out


# --------------------------------------------------------------------------------------------------------------------
# output container
# --------------------------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------------------------
# the tokenizer
# --------------------------------------------------------------------------------------------------------------------


def _token_content(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("content")
    if hasattr(value, "content"):
        value = value.content
    if not isinstance(value, str) or not value:
        raise TokenizerError(f"a special token must be a non-empty string, got {value!r}")
    return value


class _Segment:
    """A piece of one input text: either a special token or a stretch of preprocessed text with its alignment."""

    __slots__ = ("special_id", "text", "starts", "ends", "base")

    def __init__(self, special_id: int | None, text: str, starts: list[int] | None, ends: list[int] | None, base: int):
        self.special_id = special_id
        self.text = text  # preprocessed text (for a special token: the token)
        self.starts = starts  # original start of each char of ``text`` (None: identity from ``base``)
        self.ends = ends
        self.base = base  # original start (identity case) / start of the special token


class AlbertTokenizer:
    """ALBERT's SentencePiece tokenizer.

    Args:
        vocab_file: path of a SentencePiece ``spiece.model``.
        do_lower_case, remove_space, keep_accents: ALBERT's preprocessing switches.
        bos_token, eos_token, unk_token, sep_token, pad_token, cls_token, mask_token: special-token strings.
        model_max_length: default ``max_length`` for truncation and ``"max_length"`` padding.
        num_threads: threads SentencePiece uses for batches (-1: all cores).

    >>> import tempfile
    >>> lines = ["the quick brown fox jumps over the lazy dog", "pack my box with five dozen liquor jugs"] * 50
    >>> tok = AlbertTokenizer(train_sentencepiece(lines, tempfile.mkdtemp(), vocab_size=60))
    >>> ids = tok.encode("The lazy dog")
    >>> ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
    True
    >>> tok.decode(ids, skip_special_tokens=True)
    'the lazy dog'
    >>> batch = tok(["the fox", "a dog jumps"], padding=True, return_offsets_mapping=True)
    >>> len(batch.input_ids[0]) == len(batch.input_ids[1])
    True
    """

    vocab_files_names = VOCAB_FILES_NAMES

    def __init__(
        self,
        vocab_file: Union[str, os.PathLike[str]],
        do_lower_case: bool = True,
        remove_space: bool = True,
        keep_accents: bool = False,
        bos_token: str = "[CLS]",
        eos_token: str = "[SEP]",
        unk_token: str = "<unk>",
        sep_token: str = "[SEP]",
        pad_token: str = "<pad>",
        cls_token: str = "[CLS]",
        mask_token: str = "[MASK]",
        model_max_length: int = DEFAULT_MODEL_MAX_LENGTH,
        num_threads: int = -1,
        **kwargs: Any,
    ) -> None:
        spm = _import_spm()
        path = Path(vocab_file)
        if path.is_dir():
            path = path / VOCAB_FILES_NAMES["vocab_file"]
        if not path.is_file():
            raise FileNotFoundError(f"SentencePiece model not found: {path}")
        data = path.read_bytes()
        sp = spm.SentencePieceProcessor()
        try:
            sp.LoadFromSerializedProto(data)
        except Exception as exc:  # noqa: BLE001 - sentencepiece raises RuntimeError/OSError depending on version
            raise TokenizerError(f"{path} is not a valid SentencePiece model: {exc}") from exc
        if len(sp) == 0:
            raise TokenizerError(f"{path} is not a valid SentencePiece model (empty vocabulary)")
        self.vocab_file = str(path)
        self._model_bytes = data
        self.sp_model = sp
        self.do_lower_case = bool(do_lower_case)
        self.remove_space = bool(remove_space)
        self.keep_accents = bool(keep_accents)
        self.model_max_length = int(model_max_length) if model_max_length is not None else DEFAULT_MODEL_MAX_LENGTH
        self.num_threads = int(num_threads)
        self.padding_side = "right"
        self.truncation_side = "right"
        self.init_kwargs = {k: v for k, v in kwargs.items() if k not in ("tokenizer_class", "added_tokens_decoder")}

        given = dict(
            bos_token=bos_token,
            eos_token=eos_token,
            unk_token=unk_token,
            sep_token=sep_token,
            pad_token=pad_token,
            cls_token=cls_token,
            mask_token=mask_token,
        )
        self._special: dict[str, str] = {k: _token_content(v) for k, v in given.items()}
        n = len(sp)
        self._sp_size = n
        # special token -> id: the vocabulary id when the piece exists, otherwise an added id after the vocabulary.
        self._added_encoder: dict[str, int] = {}
        added_next = n
        for key in _SPECIAL_KEYS:
            token = self._special[key]
            if token in self._added_encoder:
                continue
            piece_id = sp.piece_to_id(token)
            if sp.id_to_piece(piece_id) == token:
                self._added_encoder[token] = piece_id
            else:
                self._added_encoder[token] = added_next
                added_next += 1
        self._added_decoder = {v: k for k, v in self._added_encoder.items()}
        self._total_size = added_next
        self._lstrip_tokens = {self._special["mask_token"]}
        tokens_by_length = sorted(self._added_encoder, key=len, reverse=True)
        self._special_re = re.compile("|".join(re.escape(t) for t in tokens_by_length))
        self._special_first_chars = frozenset(t[0] for t in tokens_by_length)
        self._special_first_chars_lower = frozenset(c.lower() for c in self._special_first_chars) | self._special_first_chars
        # ids of vocabulary pieces that end in "<digit>,": those need ALBERT's digit-comma split.
        self._comma_ids = frozenset(
            i for i in range(n) if (lambda p: len(p) > 1 and p[-1] == "," and p[-2].isdigit())(sp.id_to_piece(i))
        )
        self._comma_piece_id = sp.piece_to_id(",")
        # per-id piece length and "starts with ▁" tables for computing offsets from ids; ids whose surface is not
        # their piece (unknown, byte, control, unused) need SentencePiece's own offsets
        import numpy as np

        pieces = [sp.id_to_piece(i) for i in range(n)]
        self._piece_len = np.array([len(p) for p in pieces], dtype=np.int64)
        self._piece_ws = np.array([p.startswith(SPIECE_UNDERLINE) for p in pieces], dtype=np.int64)
        irregular = {i for i in range(n) if sp.is_unknown(i) or sp.is_control(i) or sp.is_unused(i) or sp.is_byte(i)}
        self._offset_slow_ids = frozenset(irregular) | self._comma_ids

    # ------------------------------------------------------------------ loading / saving

    @classmethod
    def from_pretrained(cls, path: Union[str, os.PathLike[str]], **kwargs: Any) -> "AlbertTokenizer":
        """Load from a directory in the Hugging Face layout (``spiece.model`` + ``tokenizer_config.json``) or a model file.

        Keyword arguments override the values stored in ``tokenizer_config.json``.

        >>> import tempfile
        >>> lines = ["the quick brown fox jumps over the lazy dog"] * 50
        >>> d = tempfile.mkdtemp()
        >>> _ = train_sentencepiece(lines, d, vocab_size=40)
        >>> AlbertTokenizer.from_pretrained(d).do_lower_case
        True
        """
        path = Path(path)
        if path.is_file():
            return cls(path, **kwargs)
        if not path.is_dir():
            raise FileNotFoundError(f"no tokenizer directory or spiece.model at {path}")
        model = path / VOCAB_FILES_NAMES["vocab_file"]
        if not model.is_file():
            raise FileNotFoundError(f"{path} holds no {VOCAB_FILES_NAMES['vocab_file']}")
        config: dict[str, Any] = {}
        for name in (SPECIAL_TOKENS_MAP_NAME, CONFIG_NAME):
            file = path / name
            if file.is_file():
                try:
                    loaded = json.loads(file.read_text(encoding="utf-8"))
                except (ValueError, UnicodeDecodeError) as exc:
                    raise TokenizerError(f"{file} is not valid JSON: {exc}") from exc
                if not isinstance(loaded, dict):
                    raise TokenizerError(f"{file} must hold a JSON object")
                config.update(loaded)
        known = {"do_lower_case", "remove_space", "keep_accents", "model_max_length", *_SPECIAL_KEYS}
        init = {k: v for k, v in config.items() if k in known}
        if "model_max_length" in init and (not isinstance(init["model_max_length"], int) or init["model_max_length"] > 1e12):
            init.pop("model_max_length")  # Hugging Face's "no limit" sentinel
        for key in _SPECIAL_KEYS:
            if key in init:
                init[key] = _token_content(init[key])
        init.update(kwargs)
        return cls(model, **init)

    def _config(self) -> dict[str, Any]:
        added = {}
        for token, idx in sorted(self._added_encoder.items(), key=lambda kv: kv[1]):
            added[str(idx)] = {
                "content": token,
                "lstrip": token in self._lstrip_tokens,
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": True,
            }
        config: dict[str, Any] = {"added_tokens_decoder": added}
        config.update(self._special)
        config.update(
            clean_up_tokenization_spaces=False,
            do_lower_case=self.do_lower_case,
            remove_space=self.remove_space,
            keep_accents=self.keep_accents,
            model_max_length=self.model_max_length,
            sp_model_kwargs={},
            tokenizer_class="AlbertTokenizer",
            extra_special_tokens={},
        )
        return dict(sorted(config.items()))

    def save_pretrained(self, save_directory: Union[str, os.PathLike[str]]) -> tuple[str, ...]:
        """Write ``spiece.model``, ``tokenizer_config.json`` and ``special_tokens_map.json`` (each file atomically).

        The layout is the one Hugging Face uses, so ``transformers.AlbertTokenizer.from_pretrained`` reads it.

        Args:
            save_directory: the output directory (created if needed).

        Returns:
            the paths of ``tokenizer_config.json``, ``special_tokens_map.json`` and ``spiece.model``, in that order.

        Raises:
            ~albert_core.TokenizerError: when ``save_directory`` is an existing file.

        Example:
            >>> import os, tempfile
            >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
            >>> d = tempfile.mkdtemp()
            >>> [os.path.basename(path) for path in tok.save_pretrained(d)]
            ['tokenizer_config.json', 'special_tokens_map.json', 'spiece.model']
            >>> AlbertTokenizer.from_pretrained(d).encode("a b c") == tok.encode("a b c")
            True
        """
        directory = Path(save_directory)
        if directory.exists() and not directory.is_dir():
            raise TokenizerError(f"save_pretrained needs a directory, {directory} is a file")
        directory.mkdir(parents=True, exist_ok=True)
        special_map: dict[str, Any] = dict(self._special)
        special_map["mask_token"] = {
            "content": self._special["mask_token"],
            "lstrip": True,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
        }
        config_file = directory / CONFIG_NAME
        map_file = directory / SPECIAL_TOKENS_MAP_NAME
        (vocab,) = self.save_vocabulary(directory)
        atomic_write_text(map_file, json.dumps(special_map, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        atomic_write_text(config_file, json.dumps(self._config(), indent=2, ensure_ascii=False) + "\n")
        return (str(config_file), str(map_file), vocab)

    def save_vocabulary(self, save_directory: Union[str, os.PathLike[str]], filename_prefix: str | None = None) -> tuple[str]:
        """Write the SentencePiece model to ``<directory>/[<prefix>-]spiece.model`` atomically.

        Args:
            save_directory: an existing directory.
            filename_prefix: put ``<prefix>-`` in front of the file name.

        Returns:
            a one-element tuple with the path of the written file.

        Raises:
            ~albert_core.TokenizerError: when ``save_directory`` is not an existing directory.

        Example:
            >>> import os, tempfile
            >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
            >>> (path,) = tok.save_vocabulary(tempfile.mkdtemp(), filename_prefix="copy")
            >>> os.path.basename(path)
            'copy-spiece.model'
        """
        directory = Path(save_directory)
        if not directory.is_dir():
            raise TokenizerError(f"save_vocabulary needs an existing directory, got {directory}")
        name = (f"{filename_prefix}-" if filename_prefix else "") + VOCAB_FILES_NAMES["vocab_file"]
        out = directory / name
        atomic_write_bytes(out, self._model_bytes)
        return (str(out),)

    # ------------------------------------------------------------------ vocabulary

    @property
    def vocab_size(self) -> int:
        """Size of the SentencePiece vocabulary (without special tokens added after it).

        The vocabulary properties and methods (:attr:`vocab_size`, :meth:`get_vocab`, :attr:`special_tokens_map`,
        :attr:`all_special_tokens`, :attr:`all_special_ids`, :meth:`num_special_tokens_to_add`) on a tiny model,
        whose SentencePiece vocabulary already holds every special token:

        >>> import tempfile
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

    def __len__(self) -> int:
        return self._total_size

    def get_vocab(self) -> dict[str, int]:
        """Map every piece (and added special token) to its id.

        Returns:
            a new ``{piece: id}`` dict; see :attr:`vocab_size` for an example.
        """
        vocab = {self.sp_model.id_to_piece(i): i for i in range(self._sp_size)}
        vocab.update(self._added_encoder)
        return vocab

    def __repr__(self) -> str:
        return (
            f"AlbertTokenizer(vocab_file={self.vocab_file!r}, vocab_size={self.vocab_size}, "
            f"do_lower_case={self.do_lower_case}, remove_space={self.remove_space}, keep_accents={self.keep_accents})"
        )

    @property
    def bos_token(self) -> str:
        """The start-of-sequence token (``[CLS]`` in ALBERT)."""
        return self._special["bos_token"]

    @property
    def bos_token_id(self) -> int:
        """The id of :attr:`bos_token`."""
        return self._added_encoder[self._special["bos_token"]]

    @property
    def eos_token(self) -> str:
        """The end-of-sequence token (``[SEP]``)."""
        return self._special["eos_token"]

    @property
    def eos_token_id(self) -> int:
        """The id of :attr:`eos_token`."""
        return self._added_encoder[self._special["eos_token"]]

    @property
    def unk_token(self) -> str:
        """The token for pieces outside the vocabulary (``<unk>``)."""
        return self._special["unk_token"]

    @property
    def unk_token_id(self) -> int:
        """The id of :attr:`unk_token`."""
        return self._added_encoder[self._special["unk_token"]]

    @property
    def sep_token(self) -> str:
        """The separator between the two sequences of a pair (``[SEP]``)."""
        return self._special["sep_token"]

    @property
    def sep_token_id(self) -> int:
        """The id of :attr:`sep_token`."""
        return self._added_encoder[self._special["sep_token"]]

    @property
    def pad_token(self) -> str:
        """The padding token (``<pad>``)."""
        return self._special["pad_token"]

    @property
    def pad_token_id(self) -> int:
        """The id of :attr:`pad_token`."""
        return self._added_encoder[self._special["pad_token"]]

    @property
    def cls_token(self) -> str:
        """The classification token put first (``[CLS]``)."""
        return self._special["cls_token"]

    @property
    def cls_token_id(self) -> int:
        """The id of :attr:`cls_token`."""
        return self._added_encoder[self._special["cls_token"]]

    @property
    def mask_token(self) -> str:
        """The masked-LM mask token (``[MASK]``)."""
        return self._special["mask_token"]

    @property
    def mask_token_id(self) -> int:
        """The id of :attr:`mask_token`."""
        return self._added_encoder[self._special["mask_token"]]

    @property
    def special_tokens_map(self) -> dict[str, str]:
        """The special tokens by role (``bos_token``, ``cls_token``, ...), as saved in ``special_tokens_map.json``.

        A new dict on each access; see :attr:`vocab_size` for an example.
        """
        return dict(self._special)

    @property
    def all_special_tokens(self) -> list[str]:
        """The distinct special-token strings, in the order ``bos, eos, unk, sep, pad, cls, mask`` with repeats
        dropped (``[CLS]`` and ``[SEP]`` each play two roles); see :attr:`vocab_size` for an example."""
        return list(dict.fromkeys(self._special[k] for k in _SPECIAL_KEYS))

    @property
    def all_special_ids(self) -> list[int]:
        """Ids of :attr:`all_special_tokens`, in the same order; see :attr:`vocab_size` for an example."""
        return [self._added_encoder[t] for t in self.all_special_tokens]

    def convert_tokens_to_ids(self, tokens: Union[str, Sequence[str]]) -> Union[int, list[int]]:
        """Map token strings to ids; unknown pieces give :attr:`unk_token_id`.

        >>> import tempfile
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

    def _check_id(self, idx: Any) -> int:
        if isinstance(idx, bool) or not hasattr(idx, "__index__"):
            raise TokenizerError(f"token ids must be integers, got {idx!r} ({type(idx).__name__})")
        value = idx.__index__()
        if not 0 <= value < self._total_size:
            raise TokenizerError(f"token id {value} is out of range for a vocabulary of {self._total_size} ids")
        return value

    def convert_ids_to_tokens(self, ids: Union[int, Sequence[int]], skip_special_tokens: bool = False) -> Union[str, list[str]]:
        """Map ids to token strings (``skip_special_tokens`` drops special ids); out-of-range ids raise.

        >>> import tempfile
        >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
        >>> tok.convert_ids_to_tokens([2, 3])
        ['[CLS]', '[SEP]']
        """
        if isinstance(ids, (str, bytes)):
            raise TokenizerError(f"convert_ids_to_tokens expects ints, got {type(ids).__name__}")
        if not isinstance(ids, (list, tuple)) and hasattr(ids, "__index__"):
            value = self._check_id(ids)
            return self._id_to_token(value)
        ids = _as_id_list(ids)
        special = set(self.all_special_ids) if skip_special_tokens else ()
        out = []
        for idx in ids:
            value = self._check_id(idx)
            if value in special:
                continue
            out.append(self._id_to_token(value))
        return out

    def _id_to_token(self, value: int) -> str:
        token = self._added_decoder.get(value)
        return token if token is not None else self.sp_model.id_to_piece(value)

    # ------------------------------------------------------------------ preprocessing with alignment

    def _lower_chars(self, text: str) -> str:
        # lower-case each character on its own (no final-sigma context), as the reference does
        if "\u03a3" in text:
            return "".join([c.lower() for c in text])
        return text.lower()

    def _split(self, text: str, align: bool) -> list[_Segment]:
        """Steps 1-3 of the module docstring for one text; returns its segments."""
        # step 1: lower-case outside special tokens (with per-char alignment when lengths change)
        starts: list[int] | None = None
        if self.do_lower_case:
            if text.isascii():
                if self._special_first_chars.isdisjoint(text):
                    low = text.lower()
                else:
                    low = self._lower_outside_specials(text)
            else:
                low = self._lower_outside_specials(text)
                if len(low) != len(text):
                    starts = []
                    pieces = []
                    for m in self._iter_special_and_gaps(text):
                        s, e, is_special = m
                        if is_special:
                            pieces.append(text[s:e])
                            starts.extend(range(s, e))
                        else:
                            for k in range(s, e):
                                lc = text[k].lower()
                                pieces.append(lc)
                                starts.extend([k] * len(lc))
                    low = "".join(pieces)
        else:
            low = text
        # step 2: split around special tokens
        segments: list[_Segment] = []
        if self._special_first_chars_lower.isdisjoint(low):
            parts = [(0, len(low), None)]
        else:
            parts = []
            pos = 0
            for m in self._special_re.finditer(low):
                parts.append((pos, m.start(), None))
                parts.append((m.start(), m.end(), m.group()))
                pos = m.end()
            parts.append((pos, len(low), None))
            # special tokens with lstrip eat the white space on their left
            for i, (s, e, tok) in enumerate(parts):
                if tok is not None and tok in self._lstrip_tokens and i > 0:
                    ps, pe, ptok = parts[i - 1]
                    if ptok is None:
                        parts[i - 1] = (ps, ps + len(low[ps:pe].rstrip()), None)
        for s, e, tok in parts:
            if tok is not None:
                o = starts[s] if starts is not None else s
                segments.append(_Segment(self._added_encoder[tok], tok, None, None, o))
                continue
            if s == e:
                continue
            seg_starts = None
            if starts is not None and align:
                seg_starts = starts[s:e]
            segments.append(self._preprocess(low[s:e], s, seg_starts, align))
        return segments

    def _iter_special_and_gaps(self, text: str) -> Iterable[tuple[int, int, bool]]:
        pos = 0
        for m in self._special_re.finditer(text):
            if m.start() > pos:
                yield pos, m.start(), False
            yield m.start(), m.end(), True
            pos = m.end()
        if pos < len(text):
            yield pos, len(text), False

    def _lower_outside_specials(self, text: str) -> str:
        out = []
        for s, e, is_special in self._iter_special_and_gaps(text):
            out.append(text[s:e] if is_special else self._lower_chars(text[s:e]))
        return "".join(out)

    def _preprocess(self, seg: str, base: int, seg_starts: list[int] | None, align: bool) -> _Segment:
        """Step 3 for one stretch of text; ``seg_starts`` maps its chars to original positions (None: base + i)."""
        if not align:
            out = seg
            if self.remove_space:
                out = " ".join(out.split())
            if "``" in out or "''" in out:
                out = out.replace("``", '"').replace("''", '"')
            ascii_ = out.isascii()
            if not self.keep_accents and not ascii_:
                out = unicodedata.normalize("NFKD", out)
                out = "".join([c for c in out if not unicodedata.combining(c)])
            if self.do_lower_case and not ascii_:
                out = out.lower()
            return _Segment(None, out, None, None, base)
        # alignment path: chars of ``out`` with (start, end) positions in ``seg``
        fast = (
            (not self.remove_space or " ".join(seg.split()) == seg)
            and "``" not in seg
            and "''" not in seg
            and (seg.isascii() or ((self.keep_accents or unicodedata.is_normalized("NFKD", seg))
                                   and (not self.do_lower_case or seg.lower() == seg)
                                   and not any(unicodedata.combining(c) for c in seg)))
        )
        if fast:
            out = seg
            if not self.keep_accents and not seg.isascii():
                out = "".join([c for c in seg if not unicodedata.combining(c)])
            if seg_starts is None:
                return _Segment(None, out, None, None, base)
            return _Segment(None, out, seg_starts, [p + 1 for p in seg_starts], base)
        chars: list[str] = []
        cs: list[int] = []
        ce: list[int] = []
        # remove_space: strip + collapse runs of white space to one space
        if self.remove_space:
            n = len(seg)
            i = 0
            pending_space = -1
            while i < n:
                c = seg[i]
                if c.isspace():
                    if chars and pending_space < 0:
                        pending_space = i
                    i += 1
                    continue
                if pending_space >= 0:
                    chars.append(" ")
                    cs.append(pending_space)
                    ce.append(pending_space + 1)
                    pending_space = -1
                chars.append(c)
                cs.append(i)
                ce.append(i + 1)
                i += 1
        else:
            chars = list(seg)
            cs = list(range(len(seg)))
            ce = [p + 1 for p in cs]
        # quotes: `` then '' become "
        for pair in ("``", "''"):
            if pair[0] not in chars:
                continue
            nchars, ncs, nce = [], [], []
            i = 0
            n = len(chars)
            while i < n:
                if i + 1 < n and chars[i] == pair[0] and chars[i + 1] == pair[1]:
                    nchars.append('"')
                    ncs.append(cs[i])
                    nce.append(ce[i + 1])
                    i += 2
                else:
                    nchars.append(chars[i])
                    ncs.append(cs[i])
                    nce.append(ce[i])
                    i += 1
            chars, cs, ce = nchars, ncs, nce
        # NFKD without combining marks, char by char (dropping the marks makes this equal to the whole-string form)
        if not self.keep_accents:
            nchars, ncs, nce = [], [], []
            for c, s, e in zip(chars, cs, ce):
                if c.isascii():
                    nchars.append(c)
                    ncs.append(s)
                    nce.append(e)
                    continue
                for d in unicodedata.normalize("NFKD", c):
                    if not unicodedata.combining(d):
                        nchars.append(d)
                        ncs.append(s)
                        nce.append(e)
            chars, cs, ce = nchars, ncs, nce
        out = "".join(chars)
        if self.do_lower_case:
            lowered = out.lower()
            if len(lowered) != len(out):
                ncs, nce = [], []
                for c, s, e in zip(chars, cs, ce):
                    k = len(c.lower())
                    ncs.extend([s] * k)
                    nce.extend([e] * k)
                cs, ce = ncs, nce
            out = lowered
        # map positions in ``seg`` to original positions
        if seg_starts is None:
            cs = [base + p for p in cs]
            ce = [base + p for p in ce]
        else:
            cs = [seg_starts[p] for p in cs]
            ce = [seg_starts[p - 1] + 1 for p in ce]
        return _Segment(None, out, cs, ce, base)

    # ------------------------------------------------------------------ SentencePiece encoding

    def _fix_digit_comma(self, pieces: list[str], offsets: list[tuple[int, int]] | None) -> tuple[list[int], list[str], list[tuple[int, int]] | None]:
        sp = self.sp_model
        new_pieces: list[str] = []
        new_offsets: list[tuple[int, int]] | None = [] if offsets is not None else None
        for k, piece in enumerate(pieces):
            if len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit():
                body = piece[:-1].replace(SPIECE_UNDERLINE, "")
                if offsets is not None:
                    res = sp.encode(body, out_type="offset_mapping")
                    sub_pieces, sub_off = list(res["pieces"]), list(res["offsets"])
                    b, e = offsets[k]
                    sub_base = max(b, e - 1 - len(body))
                else:
                    sub_pieces, sub_off = sp.encode(body, out_type=str), None
                if piece[0] != SPIECE_UNDERLINE and sub_pieces and sub_pieces[0][0] == SPIECE_UNDERLINE:
                    if len(sub_pieces[0]) == 1:
                        sub_pieces = sub_pieces[1:]
                        if sub_off is not None:
                            sub_off = sub_off[1:]
                    else:
                        sub_pieces[0] = sub_pieces[0][1:]
                new_pieces.extend(sub_pieces)
                new_pieces.append(piece[-1])
                if new_offsets is not None:
                    new_offsets.extend((sub_base + s, sub_base + t) for s, t in sub_off)
                    new_offsets.append((e - 1, e))
            else:
                new_pieces.append(piece)
                if new_offsets is not None:
                    new_offsets.append(offsets[k])
        ids = [sp.piece_to_id(p) for p in new_pieces]
        return ids, new_pieces, new_offsets

    def _encode_texts(self, texts: Sequence[str], offsets: bool) -> list[tuple[list[int], list[tuple[int, int]] | None]]:
        """Encode texts without special tokens added: ids (and original-text offsets) for each."""
        seg_lists = [self._split(t, offsets) for t in texts]
        flat = [seg.text for segs in seg_lists for seg in segs if seg.special_id is None]
        sp = self.sp_model
        comma = self._comma_ids
        results: list[tuple[list[int], list[tuple[int, int]] | None]] = []
        if not offsets:
            encoded = sp.encode(flat, out_type=int, num_threads=self.num_threads) if flat else []
            j = 0
            for segs in seg_lists:
                ids: list[int] = []
                for seg in segs:
                    if seg.special_id is not None:
                        ids.append(seg.special_id)
                        continue
                    seg_ids = encoded[j]
                    j += 1
                    if not comma.isdisjoint(seg_ids):
                        seg_ids = self._fix_digit_comma(sp.encode(seg.text, out_type=str), None)[0]
                    ids.extend(seg_ids)
                results.append((ids, None))
            return results
        # Offsets. A segment whose text SentencePiece leaves unchanged (printable ASCII, single spaces) and whose
        # pieces are all regular vocabulary pieces gets its spans from the piece lengths, computed for the whole
        # batch at once with numpy; the others (unknown/byte pieces, digit-comma pieces, other scripts) use
        # SentencePiece's own offset mapping.
        import numpy as np

        encoded = sp.encode(flat, out_type=int, num_threads=self.num_threads) if flat else []
        special_for_offsets = self._offset_slow_ids
        fast_rows: list[int] = []
        slow_rows: list[int] = []
        flat_segs = [seg for segs in seg_lists for seg in segs if seg.special_id is None]
        for j, seg in enumerate(flat_segs):
            text = seg.text
            if (
                text.isascii()
                and text.isprintable()
                and (self.remove_space or ("  " not in text and text[:1] != " " and text[-1:] != " "))
                and special_for_offsets.isdisjoint(encoded[j])
            ):
                fast_rows.append(j)
            else:
                slow_rows.append(j)
        seg_offsets: list[Any] = [None] * len(flat_segs)
        seg_ids: list[Any] = [None] * len(flat_segs)
        if fast_rows:
            id_lists = [encoded[j] for j in fast_rows]
            counts = np.fromiter(map(len, id_lists), dtype=np.int64, count=len(id_lists))
            total = int(counts.sum())
            if total:
                flat_ids = np.fromiter(itertools.chain.from_iterable(id_lists), dtype=np.int64, count=total)
                lengths = self._piece_len[flat_ids]
                cum = np.cumsum(lengths)
                first = np.cumsum(counts) - counts
                before = np.concatenate(([0], cum))[first]
                shift = np.repeat(before + 1, counts)
                ends = cum - shift
                starts = ends - lengths + self._piece_ws[flat_ids]
                bases = np.fromiter((flat_segs[j].base if flat_segs[j].starts is None else 0 for j in fast_rows),
                                    dtype=np.int64, count=len(fast_rows))
                base_rep = np.repeat(bases, counts)
                starts_l = (starts + base_rep).tolist()
                ends_l = (ends + base_rep).tolist()
            else:
                starts_l = ends_l = []
            pos = 0
            for j, count in zip(fast_rows, counts.tolist()):
                seg = flat_segs[j]
                spans = list(zip(starts_l[pos : pos + count], ends_l[pos : pos + count]))
                pos += count
                if seg.starts is not None:
                    spans = self._map_offsets(seg, spans)
                seg_offsets[j] = spans
                seg_ids[j] = encoded[j]
        if slow_rows:
            results_slow = sp.encode([flat_segs[j].text for j in slow_rows], out_type="offset_mapping",
                                     num_threads=self.num_threads)
            for j, res in zip(slow_rows, results_slow):
                ids_j = res["ids"]
                off_j = res["offsets"]
                if not comma.isdisjoint(ids_j):
                    ids_j, _, off_j = self._fix_digit_comma(list(res["pieces"]), list(off_j))
                seg_ids[j] = ids_j
                seg_offsets[j] = self._map_offsets(flat_segs[j], off_j)
        j = 0
        for segs in seg_lists:
            ids = []
            offs: list[tuple[int, int]] = []
            for seg in segs:
                if seg.special_id is not None:
                    ids.append(seg.special_id)
                    offs.append((seg.base, seg.base + len(seg.text)))
                    continue
                ids.extend(seg_ids[j])
                offs.extend(seg_offsets[j])
                j += 1
            results.append((ids, offs))
        return results

    @staticmethod
    def _map_offsets(seg: _Segment, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
        text = seg.text
        n = len(text)
        starts, ends, base = seg.starts, seg.ends, seg.base
        out = []
        for b, e in spans:
            while b < e and text[b].isspace():
                b += 1
            if starts is None:
                out.append((base + b, base + e) if b < e else (base + b, base + b))
            elif b < e:
                out.append((starts[b], ends[e - 1]))
            else:
                p = starts[b] if b < n else (ends[-1] if n else base)
                out.append((p, p))
        return out

    # ------------------------------------------------------------------ public encoding API

    def tokenize(self, text: TextInput) -> list[str]:
        """Split ``text`` into SentencePiece pieces (special-token strings stay whole).

        >>> import tempfile
        >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
        >>> tok.tokenize("A B [MASK]")[-1]
        '[MASK]'
        >>> "".join(tok.tokenize("A B")).replace("\u2581", " ").strip()
        'a b'
        """
        _check_text(text)
        tokens: list[str] = []
        for seg in self._split(text, False):
            if seg.special_id is not None:
                tokens.append(seg.text)
                continue
            pieces = self.sp_model.encode(seg.text, out_type=str)
            if any(len(p) > 1 and p[-1] == "," and p[-2].isdigit() for p in pieces):
                pieces = self._fix_digit_comma(pieces, None)[1]
            tokens.extend(pieces)
        return tokens

    def build_inputs_with_special_tokens(self, token_ids_0: list[int], token_ids_1: list[int] | None = None) -> list[int]:
        """``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]``.

        >>> import tempfile
        >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
        >>> tok.build_inputs_with_special_tokens([7], [8])
        [2, 7, 3, 8, 3]
        """
        cls, sep = [self.cls_token_id], [self.sep_token_id]
        if token_ids_1 is None:
            return cls + list(token_ids_0) + sep
        return cls + list(token_ids_0) + sep + list(token_ids_1) + sep

    def get_special_tokens_mask(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None, already_has_special_tokens: bool = False
    ) -> list[int]:
        """1 where :meth:`build_inputs_with_special_tokens` adds a special token (or, with
        ``already_has_special_tokens``, wherever a special id already is), else 0.

        >>> import tempfile
        >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
        >>> tok.get_special_tokens_mask([7, 7], [8])
        [1, 0, 0, 1, 0, 1]
        """
        if already_has_special_tokens:
            if token_ids_1 is not None:
                raise TokenizerError("with already_has_special_tokens=True pass the full sequence as token_ids_0 only")
            special = set(self.all_special_ids)
            return [1 if int(i) in special else 0 for i in token_ids_0]
        if token_ids_1 is None:
            return [1] + [0] * len(token_ids_0) + [1]
        return [1] + [0] * len(token_ids_0) + [1] + [0] * len(token_ids_1) + [1]

    def create_token_type_ids_from_sequences(self, token_ids_0: list[int], token_ids_1: list[int] | None = None) -> list[int]:
        """0 for ``[CLS] A [SEP]``, 1 for ``B [SEP]``.

        >>> import tempfile
        >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
        >>> tok.create_token_type_ids_from_sequences([7], [8, 9])
        [0, 0, 0, 1, 1, 1]
        """
        first = [0] * (len(token_ids_0) + 2)
        if token_ids_1 is None:
            return first
        return first + [1] * (len(token_ids_1) + 1)

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        """How many special tokens :meth:`build_inputs_with_special_tokens` adds.

        Args:
            pair: count for a pair of sequences.

        Returns:
            2 for one sequence (``[CLS] A [SEP]``), 3 for a pair (``[CLS] A [SEP] B [SEP]``); see :attr:`vocab_size`
            for an example.
        """
        return 3 if pair else 2

    def encode(
        self,
        text: TextInput,
        text_pair: TextInput | None = None,
        add_special_tokens: bool = True,
        truncation: Union[bool, str] = False,
        max_length: int | None = None,
    ) -> list[int]:
        """Ids of one text (or pair), with special tokens unless ``add_special_tokens=False``.

        >>> import tempfile
        >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
        >>> tok.encode("")
        [2, 3]
        """
        return self(
            text,
            text_pair,
            add_special_tokens=add_special_tokens,
            truncation=truncation,
            max_length=max_length,
            return_token_type_ids=False,
            return_attention_mask=False,
        )["input_ids"]

    def __call__(
        self,
        texts: Union[TextInput, Sequence[TextInput]],
        text_pairs: Union[TextInput, Sequence[TextInput], None] = None,
        padding: Union[bool, str] = False,
        truncation: Union[bool, str] = False,
        max_length: int | None = None,
        return_tensors: str | None = None,
        return_special_tokens_mask: bool = False,
        return_offsets_mapping: bool = False,
        return_token_type_ids: bool = True,
        return_attention_mask: bool = True,
        pad_to_multiple_of: int | None = None,
        add_special_tokens: bool = True,
    ) -> Encoding:
        """Encode one text or a batch (optionally with second texts) into model inputs.

        ``padding``: ``False``/``"do_not_pad"``, ``True``/``"longest"`` or ``"max_length"``. ``truncation``:
        ``False``/``"do_not_truncate"``, ``True``/``"longest_first"``, ``"only_first"`` or ``"only_second"``.
        ``return_tensors``: ``None`` (lists), ``"np"``, ``"pt"`` or ``"tf"``. ``offset_mapping`` holds ``(start, end)``
        character spans into the original texts, ``(0, 0)`` for special tokens and padding. A single string returns
        unbatched lists (a batch of one with ``return_tensors``).

        >>> import tempfile
        >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
        >>> enc = tok(["a b c d", "e"], padding=True, return_offsets_mapping=True)
        >>> len(enc["input_ids"][0]) == len(enc["input_ids"][1]), enc["attention_mask"][1][-1]
        (True, 0)
        >>> enc.offset_mapping[0][0], enc.offset_mapping[0][-2]
        ((0, 0), (6, 7))
        """
        # the batch builds many small lists; pausing the cyclic garbage collector (they hold no cycles) keeps a large
        # heap (e.g. after importing torch) from being re-scanned over and over
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._call(
                texts, text_pairs, padding, truncation, max_length, return_tensors, return_special_tokens_mask,
                return_offsets_mapping, return_token_type_ids, return_attention_mask, pad_to_multiple_of,
                add_special_tokens,
            )
        finally:
            if gc_was_enabled:
                gc.enable()

    def _call(  # type: ignore[no-untyped-def]
        self, texts, text_pairs, padding, truncation, max_length, return_tensors, return_special_tokens_mask,
        return_offsets_mapping, return_token_type_ids, return_attention_mask, pad_to_multiple_of, add_special_tokens,
    ) -> Encoding:
        single = isinstance(texts, str)
        if single:
            batch = [texts]
            if text_pairs is not None:
                if not isinstance(text_pairs, str):
                    raise TokenizerError(f"text_pairs must be a str when texts is a str, got {type(text_pairs).__name__}")
                pairs: list[str] | None = [text_pairs]
            else:
                pairs = None
        else:
            if not isinstance(texts, (list, tuple)):
                raise TokenizerError(f"texts must be a str or a list of str, got {type(texts).__name__}")
            batch = list(texts)
            if text_pairs is None:
                pairs = None
            else:
                if isinstance(text_pairs, str) or not isinstance(text_pairs, (list, tuple)):
                    raise TokenizerError(f"text_pairs must be a list of str like texts, got {type(text_pairs).__name__}")
                pairs = list(text_pairs)
                if len(pairs) != len(batch):
                    raise TokenizerError(f"got {len(batch)} texts but {len(pairs)} text_pairs")
        for t in batch:
            _check_text(t)
        if pairs is not None:
            for t in pairs:
                _check_text(t)
        pad_mode = _padding_mode(padding)
        trunc_mode = _truncation_mode(truncation)
        if return_tensors not in (None, "np", "pt", "tf"):
            raise TokenizerError(f"return_tensors must be None, 'np', 'pt' or 'tf', got {return_tensors!r}")
        if max_length is not None and (not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 0):
            raise TokenizerError(f"max_length must be a non-negative int, got {max_length!r}")
        if pad_to_multiple_of is not None and (not isinstance(pad_to_multiple_of, int) or pad_to_multiple_of <= 0):
            raise TokenizerError(f"pad_to_multiple_of must be a positive int, got {pad_to_multiple_of!r}")
        if trunc_mode == "only_second" and pairs is None:
            raise TokenizerError("truncation='only_second' needs text_pairs")
        if trunc_mode != "do_not_truncate" and max_length is None:
            max_length = self.model_max_length
        if pad_mode == "max_length" and max_length is None:
            max_length = self.model_max_length

        encoded = self._encode_texts(batch + (pairs or []), return_offsets_mapping)
        first = encoded[: len(batch)]
        second = encoded[len(batch):] if pairs is not None else None
        n_special = (3 if pairs is not None else 2) if add_special_tokens else 0

        rows_ids, rows_types, rows_special, rows_offsets = [], [], [], []
        warned = False
        for i, (ids_a, off_a) in enumerate(first):
            ids_b, off_b = second[i] if second is not None else (None, None)
            if trunc_mode != "do_not_truncate":
                assert max_length is not None
                ids_a, ids_b, off_a, off_b = _truncate(ids_a, ids_b, off_a, off_b, max_length - n_special, trunc_mode, max_length, n_special)
            if add_special_tokens:
                ids = self.build_inputs_with_special_tokens(ids_a, ids_b)
                types = self.create_token_type_ids_from_sequences(ids_a, ids_b)
                special = self.get_special_tokens_mask(ids_a, ids_b)
                if off_a is not None:
                    offs = [(0, 0)] + off_a + [(0, 0)] + ((off_b + [(0, 0)]) if off_b is not None else [])
            else:
                ids = ids_a + (ids_b or [])
                types = [0] * len(ids_a) + [1] * len(ids_b or [])
                special = [0] * len(ids)
                if off_a is not None:
                    offs = off_a + (off_b or [])
            if max_length is not None and trunc_mode == "do_not_truncate" and len(ids) > max_length and not warned:
                warnings.warn(
                    f"a sequence of {len(ids)} tokens is longer than max_length={max_length} and truncation is off; "
                    "it is left whole (pass truncation=True to cut it)",
                    UserWarning,
                    stacklevel=2,
                )
                warned = True
            rows_ids.append(ids)
            rows_types.append(types)
            rows_special.append(special)
            if return_offsets_mapping:
                rows_offsets.append(offs)

        # padding
        if pad_mode != "do_not_pad":
            target = max(len(r) for r in rows_ids) if pad_mode == "longest" else max_length
            assert target is not None
            if pad_to_multiple_of is not None and target % pad_to_multiple_of:
                target = (target // pad_to_multiple_of + 1) * pad_to_multiple_of
        else:
            target = None
        pad_id = self.pad_token_id
        out = Encoding()
        attention = []
        for k, ids in enumerate(rows_ids):
            short = (target - len(ids)) if target is not None else 0
            attention.append([1] * len(ids) + [0] * max(short, 0))
            if short > 0:
                ids.extend([pad_id] * short)
                rows_types[k].extend([0] * short)
                rows_special[k].extend([1] * short)
                if return_offsets_mapping:
                    rows_offsets[k].extend([(0, 0)] * short)
        out["input_ids"] = rows_ids
        if return_token_type_ids:
            out["token_type_ids"] = rows_types
        if return_attention_mask:
            out["attention_mask"] = attention
        if return_special_tokens_mask:
            out["special_tokens_mask"] = rows_special
        if return_offsets_mapping:
            out["offset_mapping"] = rows_offsets
        if return_tensors is not None:
            lengths = {len(r) for r in rows_ids}
            if len(lengths) > 1:
                raise TokenizerError(
                    f"cannot make {return_tensors!r} tensors from sequences of different lengths {sorted(lengths)}; "
                    "pass padding=True (or padding='max_length')"
                )
            return _to_tensors(out, return_tensors)
        if single:
            for key in list(out):
                out[key] = out[key][0]
        return out

    # ------------------------------------------------------------------ decoding

    def decode(
        self,
        token_ids: Union[int, Sequence[int]],
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool = True,
    ) -> str:
        """Turn ids back into text (special tokens are written out unless ``skip_special_tokens``).

        >>> import tempfile
        >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
        >>> tok.decode(tok.encode("a b c"))
        '[CLS] a b c[SEP]'
        """
        if isinstance(token_ids, (str, bytes)):
            raise TokenizerError(f"decode expects ids, got {type(token_ids).__name__}")
        if not isinstance(token_ids, (list, tuple)) and hasattr(token_ids, "__index__"):
            ids = [token_ids]
        else:
            ids = _as_id_list(token_ids)
        ids = [self._check_id(i) for i in ids]
        special = set(self.all_special_ids)
        added = self._added_decoder
        out = ""
        run: list[int] = []
        prev_special = False
        for idx in ids:
            if idx in special or idx in added:
                if skip_special_tokens:
                    continue
                if not prev_special:
                    out += " "
                out += self.sp_model.decode(run) + added.get(idx, self.sp_model.id_to_piece(idx))
                run = []
                prev_special = True
            else:
                run.append(idx)
                prev_special = False
        out += self.sp_model.decode(run)
        out = out.strip()
        if clean_up_tokenization_spaces:
            for a, b in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                         (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
                out = out.replace(a, b)
        return out

    def batch_decode(
        self, sequences: Sequence[Sequence[int]], skip_special_tokens: bool = False, clean_up_tokenization_spaces: bool = True
    ) -> list[str]:
        """:meth:`decode` for each sequence of a batch.

        Args:
            sequences: a list of id lists, or a 2-D numpy array / tensor ``[batch, seq]`` (anything with
                ``tolist()``).
            skip_special_tokens, clean_up_tokenization_spaces: as in :meth:`decode`.

        Returns:
            one string per sequence.

        Example:
            >>> import tempfile
            >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
            >>> tok.batch_decode([tok.encode("a b"), tok.encode("c d e")], skip_special_tokens=True)
            ['a b', 'c d e']
            >>> import numpy as np
            >>> tok.batch_decode(np.array([tok.encode("a b"), tok.encode("c d")]))
            ['[CLS] a b[SEP]', '[CLS] c d[SEP]']
        """
        if hasattr(sequences, "tolist"):
            sequences = sequences.tolist()
        return [self.decode(s, skip_special_tokens, clean_up_tokenization_spaces) for s in sequences]


# --------------------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------------------


def _check_text(text: Any) -> None:
    if not isinstance(text, str):
        raise TokenizerError(f"text must be a str, got {type(text).__name__}: {text!r:.80}")


def _as_id_list(ids: Any) -> list[Any]:
    if hasattr(ids, "tolist"):
        ids = ids.tolist()
    if isinstance(ids, (int,)):
        return [ids]
    try:
        return list(ids)
    except TypeError:
        raise TokenizerError(f"expected a sequence of token ids, got {type(ids).__name__}") from None


def _padding_mode(padding: Any) -> str:
    if padding is True or padding == "longest":
        return "longest"
    if padding is False or padding is None or padding == "do_not_pad":
        return "do_not_pad"
    if padding == "max_length":
        return "max_length"
    raise TokenizerError(f"padding must be True/False, 'longest', 'max_length' or 'do_not_pad', got {padding!r}")


def _truncation_mode(truncation: Any) -> str:
    if truncation is True or truncation == "longest_first":
        return "longest_first"
    if truncation is False or truncation is None or truncation == "do_not_truncate":
        return "do_not_truncate"
    if truncation in ("only_first", "only_second"):
        return str(truncation)
    raise TokenizerError(
        "truncation must be True/False, 'longest_first', 'only_first', 'only_second' or 'do_not_truncate', "
        f"got {truncation!r}"
    )


def _truncate(ids_a, ids_b, off_a, off_b, budget, mode, max_length, n_special):  # type: ignore[no-untyped-def]
    """Cut content ids (and offsets) so that they fit ``budget`` tokens, Hugging Face style (right side)."""
    if budget < 0:
        raise TokenizerError(
            f"max_length={max_length} is smaller than the {n_special} special tokens the sequence needs"
        )
    total = len(ids_a) + (len(ids_b) if ids_b is not None else 0)
    remove = total - budget
    if remove <= 0:
        return ids_a, ids_b, off_a, off_b
    if ids_b is None or mode == "only_first":
        if mode == "only_second":  # pragma: no cover - rejected earlier
            raise TokenizerError("truncation='only_second' needs text_pairs")
        if remove > len(ids_a) or (ids_b is not None and remove >= len(ids_a) and False):
            raise TokenizerError(
                f"cannot truncate to max_length={max_length}: the first sequence has {len(ids_a)} tokens but "
                f"{remove} must go (truncation={mode!r})"
            )
        keep = len(ids_a) - remove
        return ids_a[:keep], ids_b, (off_a[:keep] if off_a is not None else None), off_b
    if mode == "only_second":
        if remove > len(ids_b):
            raise TokenizerError(
                f"cannot truncate to max_length={max_length}: the second sequence has {len(ids_b)} tokens but "
                f"{remove} must go (truncation='only_second')"
            )
        keep = len(ids_b) - remove
        return ids_a, ids_b[:keep], off_a, (off_b[:keep] if off_b is not None else None)
    # longest_first: first even out the lengths, then take from both, the second one taking the odd token
    la, lb = len(ids_a), len(ids_b)
    first_remove = min(abs(lb - la), remove)
    second_remove = remove - first_remove
    if la > lb:
        cut_a = first_remove + second_remove // 2
        cut_b = second_remove - second_remove // 2
    else:
        cut_a = second_remove // 2
        cut_b = first_remove + second_remove - second_remove // 2
    ka, kb = la - cut_a, lb - cut_b
    return (
        ids_a[:ka],
        ids_b[:kb],
        off_a[:ka] if off_a is not None else None,
        off_b[:kb] if off_b is not None else None,
    )


def _to_tensors(enc: Encoding, kind: str) -> Encoding:
    import numpy as np

    out = Encoding()
    for key, value in enc.items():
        dtype = np.int64
        arr = np.asarray(value, dtype=dtype)
        if key == "offset_mapping" and arr.size == 0:
            arr = arr.reshape(len(value), 0, 2)
        out[key] = arr
    if kind == "np":
        return out
    if kind == "pt":
        try:
            import torch
        except ImportError as exc:
            raise FrameworkMissingError("return_tensors='pt' needs PyTorch: pip install torch") from exc
        return Encoding({k: torch.from_numpy(v) for k, v in out.items()})
    try:
        import tensorflow as tf
    except ImportError as exc:
        raise FrameworkMissingError("return_tensors='tf' needs TensorFlow: pip install tensorflow") from exc
    return Encoding({k: tf.constant(v) for k, v in out.items()})
