"""The :class:`AlbertTokenizer` facade: settings and vocabulary, delegating each step to its module."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence, Union

from albert_core.errors import TokenizerError
from albert_core.tokenizer import batching, files, vocabulary
from albert_core.tokenizer.added_tokens import AddedTokenSpec, as_token_list
from albert_core.tokenizer.decoding import as_id_list, as_id_rows, checked_id, decode_ids, is_single_id
from albert_core.tokenizer.encoding import Encoding, TokenizerArgumentError
from albert_core.tokenizer.normalization import Normalizer
from albert_core.tokenizer.padding import pad_features
from albert_core.tokenizer.pieces import PieceEncoder, import_sentencepiece
from albert_core.tokenizer.special_tokens import SPECIAL_ROLES, SpecialTokens
from albert_core.tokenizer.words import WordStarts, user_defined_ids
from albert_core.tokenizer.training import train_sentencepiece  # noqa: F401 - used by the docstring examples

TextInput = str


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

    vocab_files_names = files.VOCAB_FILES_NAMES

    # the read-only vocabulary API, implemented in vocabulary.py
    vocab_size = vocabulary.vocab_size
    __len__ = vocabulary.vocabulary_length
    get_vocab = vocabulary.get_vocab
    bos_token, bos_token_id = vocabulary.bos_token, vocabulary.bos_token_id
    eos_token, eos_token_id = vocabulary.eos_token, vocabulary.eos_token_id
    unk_token, unk_token_id = vocabulary.unk_token, vocabulary.unk_token_id
    sep_token, sep_token_id = vocabulary.sep_token, vocabulary.sep_token_id
    pad_token, pad_token_id = vocabulary.pad_token, vocabulary.pad_token_id
    cls_token, cls_token_id = vocabulary.cls_token, vocabulary.cls_token_id
    mask_token, mask_token_id = vocabulary.mask_token, vocabulary.mask_token_id
    special_tokens_map = vocabulary.special_tokens_map
    all_special_tokens = vocabulary.all_special_tokens
    all_special_ids = vocabulary.all_special_ids
    convert_tokens_to_ids = vocabulary.convert_tokens_to_ids
    convert_ids_to_tokens = vocabulary.convert_ids_to_tokens
    _token_to_id = vocabulary._token_to_id
    _id_to_token = vocabulary._id_to_token

    def __init__(
        self, vocab_file: Union[str, os.PathLike[str]], do_lower_case: bool = True, remove_space: bool = True,
        keep_accents: bool = False, bos_token: str = "[CLS]", eos_token: str = "[SEP]", unk_token: str = "<unk>",
        sep_token: str = "[SEP]", pad_token: str = "<pad>", cls_token: str = "[CLS]", mask_token: str = "[MASK]",
        model_max_length: int = files.DEFAULT_MODEL_MAX_LENGTH, num_threads: int = -1, padding_side: str = "right",
        truncation_side: str = "right", clean_up_tokenization_spaces: bool = False,
        additional_special_tokens: Sequence[Any] | None = None, added_tokens_decoder: dict[Any, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        path = files.model_path(vocab_file)
        self._model_bytes = path.read_bytes()
        self.sp_model = sp = import_sentencepiece().SentencePieceProcessor()
        try:
            sp.LoadFromSerializedProto(self._model_bytes)
        except Exception as exc:  # noqa: BLE001 - sentencepiece raises RuntimeError/OSError depending on version
            raise TokenizerError(f"{path} is not a valid SentencePiece model: {exc}") from exc
        if len(sp) == 0:
            raise TokenizerError(f"{path} is not a valid SentencePiece model (empty vocabulary)")
        self.vocab_file = str(path)
        self.do_lower_case, self.remove_space, self.keep_accents = (bool(do_lower_case), bool(remove_space),
                                                                    bool(keep_accents))
        self.model_max_length = (int(model_max_length) if model_max_length is not None
                                 else files.DEFAULT_MODEL_MAX_LENGTH)
        self.num_threads = int(num_threads)
        self.padding_side = padding_side
        self.truncation_side = truncation_side
        if not isinstance(clean_up_tokenization_spaces, bool):
            raise TokenizerArgumentError(
                f"clean_up_tokenization_spaces must be True or False, got {clean_up_tokenization_spaces!r:.40}"
            )
        self.clean_up_tokenization_spaces = clean_up_tokenization_spaces
        self.init_kwargs = {k: v for k, v in kwargs.items() if k not in ("tokenizer_class",)}
        self._special_tokens = SpecialTokens.of(
            bos_token=bos_token, eos_token=eos_token, unk_token=unk_token, sep_token=sep_token, pad_token=pad_token,
            cls_token=cls_token, mask_token=mask_token,
        )
        self._sp_size = len(sp)
        self._added_encoder = self._special_tokens.assign_ids(sp)
        # how each added token (role tokens included) is matched; role tokens as ALBERT defines them
        self._added_specs: dict[str, AddedTokenSpec] = {}
        self._additional_special: list[str] = []
        self._pieces = PieceEncoder(sp, self.num_threads, remove_space=self.remove_space)
        self._words = WordStarts([sp.id_to_piece(i) for i in range(self._sp_size)],
                                 user_defined_ids(sp, self._model_bytes))
        self._rebuild()
        if added_tokens_decoder:
            self._load_added_tokens(added_tokens_decoder)
        if additional_special_tokens:
            self.add_special_tokens({"additional_special_tokens": list(additional_special_tokens)},
                                    replace_additional_special_tokens=False)

    # ------------------------------------------------------------------ settings

    @property
    def padding_side(self) -> str:
        """The side padding goes on, ``"right"`` (default) or ``"left"``; also a keyword of :meth:`__call__` and
        :meth:`pad`."""
        return self._padding_side

    @padding_side.setter
    def padding_side(self, value: str) -> None:
        self._padding_side = batching.check_side(value, "padding_side")

    @property
    def truncation_side(self) -> str:
        """The end truncation cuts, ``"right"`` (default, keeps the start) or ``"left"`` (keeps the end); also a
        keyword of :meth:`__call__`."""
        return self._truncation_side

    @truncation_side.setter
    def truncation_side(self, value: str) -> None:
        self._truncation_side = batching.check_side(value, "truncation_side")

    def _role_spec(self, token: str) -> AddedTokenSpec:
        return AddedTokenSpec(token, special=True, normalized=False,
                              lstrip=token in self._special_tokens.lstrip_tokens())

    def _spec(self, token: str) -> AddedTokenSpec:
        spec = self._added_specs.get(token)
        return spec if spec is not None else self._role_spec(token)

    def _rebuild(self) -> None:
        """Recompute what depends on the added tokens: id maps, the text splitter, word and decode sets."""
        self._added_decoder = {v: k for k, v in self._added_encoder.items()}
        self._total_size = max([self._sp_size - 1, *self._added_encoder.values()]) + 1
        specs = {token: self._spec(token) for token in self._added_encoder}
        self._normalizer = Normalizer(
            self._added_encoder, frozenset(t for t, sp in specs.items() if sp.lstrip),
            do_lower_case=self.do_lower_case, remove_space=self.remove_space, keep_accents=self.keep_accents,
            rstrip_tokens=frozenset(t for t, sp in specs.items() if sp.rstrip),
            protected=[t for t, sp in specs.items() if sp.special or sp.normalized],
        )
        self._words.mark_own_word(self._added_encoder.values())
        special = self.all_special_tokens
        self._special_set = set(special)
        self._special_id_set = set(self.all_special_ids)
        self._separate_tokens = (set(self._added_encoder) - self._special_set) | {
            t for t in self._additional_special if self._added_encoder[t] >= self._sp_size
        }

    def _load_added_tokens(self, decoder: dict[Any, Any]) -> None:
        """Register the ``added_tokens_decoder`` of a ``tokenizer_config.json`` (``{id: token}``) with its ids."""
        if not isinstance(decoder, dict):
            raise TokenizerError(f"added_tokens_decoder must map ids to tokens, got {type(decoder).__name__}")
        entries = []
        for key, value in decoder.items():
            try:
                idx = int(key)
            except (TypeError, ValueError):
                raise TokenizerError(f"added_tokens_decoder: {key!r:.40} is not an integer id") from None
            entries.append((idx, AddedTokenSpec.of(value)))
        for idx, spec in sorted(entries, key=lambda e: e[0]):
            known = self._added_encoder.get(spec.content)
            if known is not None:
                if known != idx:
                    raise TokenizerError(f"added_tokens_decoder gives {spec.content!r} the id {idx}, "
                                         f"but it has {known}")
                if spec.content not in self._special_tokens.distinct():
                    self._added_specs[spec.content] = spec
                continue
            if idx < self._sp_size:
                if self.sp_model.id_to_piece(idx) != spec.content:
                    raise TokenizerError(
                        f"added_tokens_decoder gives {spec.content!r} the id {idx}, which is the piece "
                        f"{self.sp_model.id_to_piece(idx)!r} of the SentencePiece vocabulary"
                    )
            elif idx != self._total_size:
                raise TokenizerError(
                    f"added_tokens_decoder gives {spec.content!r} the id {idx}; the next free id is {self._total_size} "
                    "(added ids must follow the vocabulary without gaps)"
                )
            self._added_encoder[spec.content] = idx
            self._added_specs[spec.content] = spec
            if spec.special and spec.content not in self._special_tokens.distinct():
                self._additional_special.append(spec.content)
            self._rebuild()

    # ------------------------------------------------------------------ added tokens

    @property
    def additional_special_tokens(self) -> list[str]:
        """Special tokens added besides the seven roles (``add_special_tokens({"additional_special_tokens": ...})``)."""
        return list(self._additional_special)

    @property
    def added_tokens_encoder(self) -> dict[str, int]:
        """Every added token (the role tokens included) -> its id, ordered by id."""
        return dict(sorted(self._added_encoder.items(), key=lambda kv: kv[1]))

    def get_added_vocab(self) -> dict[str, int]:
        """Same as :attr:`added_tokens_encoder` (Hugging Face's name)."""
        return self.added_tokens_encoder

    def add_tokens(self, new_tokens: Any, special_tokens: bool = False) -> int:
        """Add tokens that are split out of the text before SentencePiece and get their own id.

        Args:
            new_tokens: a str, an ``AddedToken``-like object (``content``, ``lstrip``, ``rstrip``, ``normalized``,
                ``special``) or a ``{"content": ...}`` dict, or a list of them.
            special_tokens: add them as special tokens (matched as written, dropped by
                ``decode(..., skip_special_tokens=True)``).

        Returns:
            how many tokens were new to the vocabulary (their ids follow it; a string the vocabulary already holds
            keeps its id). Resize the model's embeddings to ``len(tokenizer)`` after adding tokens.

        >>> from albert_core.filenames import DEFAULT_MODEL_DIR
        >>> tok = AlbertTokenizer.from_pretrained(DEFAULT_MODEL_DIR)
        >>> tok.add_tokens(["<city>"]), len(tok)
        (1, 2001)
        >>> tok.tokenize("My lord<city>the king")
        ['▁my', '▁lord', '<city>', '▁the', '▁king']
        """
        tokens = as_token_list(new_tokens, "new_tokens")
        if not isinstance(special_tokens, bool):
            raise TokenizerArgumentError(f"special_tokens must be True or False, got {special_tokens!r:.40}")
        added = 0
        vocab_size = len(self.get_vocab())
        for token in tokens:
            if isinstance(token, str):
                if token == "" or token in self._added_encoder:
                    continue
                spec = AddedTokenSpec.of(token, special=special_tokens or token in self._special_set)
            else:
                spec = AddedTokenSpec.of(token, special=special_tokens or None)
                if spec.content == "":
                    continue
            if not spec.special and spec.normalized and self.do_lower_case:
                spec = AddedTokenSpec(spec.content.lower(), spec.special, spec.normalized, spec.lstrip, spec.rstrip)
            idx = self._added_encoder.get(spec.content)
            if idx is None:
                piece_id = self.sp_model.piece_to_id(spec.content)
                if self.sp_model.id_to_piece(piece_id) == spec.content:
                    idx = piece_id
                else:
                    idx = vocab_size + added
                    added += 1
            if spec.content in self._special_tokens.distinct():
                self._added_encoder[spec.content] = idx
                continue
            self._added_encoder[spec.content] = idx
            self._added_specs[spec.content] = spec
            if spec.special and spec.content not in self._additional_special:
                self._additional_special.append(spec.content)
        self._rebuild()
        return added

    def add_special_tokens(self, special_tokens_dict: dict[str, Any],
                           replace_additional_special_tokens: bool = True) -> int:
        """Set special tokens by role (``cls_token``, ``mask_token``, ...) and/or add
        ``additional_special_tokens``; tokens missing from the vocabulary are added (see :meth:`add_tokens`).

        Returns:
            how many tokens were new to the vocabulary.

        >>> from albert_core.filenames import DEFAULT_MODEL_DIR
        >>> tok = AlbertTokenizer.from_pretrained(DEFAULT_MODEL_DIR)
        >>> tok.add_special_tokens({"additional_special_tokens": ["<e1>"]})
        1
        >>> tok.decode(tok.encode("my <e1> lord"), skip_special_tokens=True)
        'my lord'
        """
        if not isinstance(special_tokens_dict, dict):
            raise TokenizerArgumentError(
                f"special_tokens_dict must be a dict, got {type(special_tokens_dict).__name__}"
            )
        to_add: list[Any] = []
        roles: dict[str, Any] = {}
        for key, value in special_tokens_dict.items():
            if key == "additional_special_tokens":
                tokens = as_token_list(value, "additional_special_tokens")
                tokens = [t if not isinstance(t, str) else {"content": t, "special": True, "normalized": False}
                          for t in tokens]
                new = [t for t in tokens
                       if replace_additional_special_tokens
                       or AddedTokenSpec.of(t).content not in self._additional_special]
                contents = list(dict.fromkeys(AddedTokenSpec.of(t).content for t in new))
                if replace_additional_special_tokens and new:
                    self._additional_special = contents
                else:
                    self._additional_special += [c for c in contents if c not in self._additional_special]
                to_add.extend(new)
            elif key in SPECIAL_ROLES:
                roles[key] = value
                to_add.append(value if not isinstance(value, str)
                              else {"content": value, "special": True, "normalized": False})
            else:
                raise TokenizerArgumentError(
                    f"special_tokens_dict: unknown key {key!r}; use one of {', '.join(SPECIAL_ROLES)} or "
                    "additional_special_tokens"
                )
        if roles:
            import dataclasses

            self._special_tokens = dataclasses.replace(self._special_tokens, **SpecialTokens.of(**{
                **self._special_tokens.by_role(), **roles}).by_role())
        return self.add_tokens(to_add, special_tokens=True)  # rebuilds the maps with the new role tokens

    def __repr__(self) -> str:
        return (
            f"AlbertTokenizer(vocab_file={self.vocab_file!r}, vocab_size={self.vocab_size}, "
            f"do_lower_case={self.do_lower_case}, remove_space={self.remove_space}, keep_accents={self.keep_accents})"
        )

    @property
    def _comma_ids(self) -> frozenset[int]:
        return self._pieces.comma_ids

    # ------------------------------------------------------------------ loading / saving

    @classmethod
    def from_pretrained(cls, path: Union[str, os.PathLike[str]], **kwargs: Any) -> "AlbertTokenizer":
        """Load from a directory in the Hugging Face layout (``spiece.model`` + ``tokenizer_config.json``) or a model
        file.

        Keyword arguments override the values stored in ``tokenizer_config.json``.

        >>> import tempfile
        >>> lines = ["the quick brown fox jumps over the lazy dog"] * 50
        >>> d = tempfile.mkdtemp()
        >>> _ = train_sentencepiece(lines, d, vocab_size=40)
        >>> AlbertTokenizer.from_pretrained(d).do_lower_case
        True
        """
        model, init = files.read_pretrained(path)
        try:
            return cls(model, **{**init, **kwargs})
        except TokenizerError as exc:
            if str(Path(path)) in str(exc):
                raise
            # the settings came from the directory's files: say which (added tokens, special-token ids, ...)
            raise type(exc)(f"{Path(path) / files.CONFIG_NAME}: {exc}") from None

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
        settings = dict(do_lower_case=self.do_lower_case, remove_space=self.remove_space,
                        keep_accents=self.keep_accents, model_max_length=self.model_max_length,
                        padding_side=self._padding_side, truncation_side=self._truncation_side,
                        clean_up_tokenization_spaces=self.clean_up_tokenization_spaces)
        specs = {token: self._spec(token) for token in self._added_encoder}
        config = files.tokenizer_config(self._special_tokens, self._added_encoder, settings=settings, specs=specs,
                                        additional_special_tokens=self._additional_special)
        return files.write_pretrained(Path(save_directory), model_bytes=self._model_bytes,
                                      special=self._special_tokens, config=config,
                                      additional_special_tokens=[specs[t].to_json() for t in self._additional_special])

    def save_vocabulary(self, save_directory: Union[str, os.PathLike[str]],
                        filename_prefix: str | None = None) -> tuple[str]:
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
        return files.write_vocabulary(Path(save_directory), model_bytes=self._model_bytes,
                                      filename_prefix=filename_prefix)

    # ------------------------------------------------------------------ encoding

    def tokenize(self, text: TextInput) -> list[str]:
        """Split ``text`` into SentencePiece pieces (special-token strings stay whole).

        >>> import tempfile
        >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
        >>> tok.tokenize("A B [MASK]")[-1]
        '[MASK]'
        >>> "".join(tok.tokenize("A B")).replace("\u2581", " ").strip()
        'a b'
        """
        batching.check_text(text)
        return self._pieces.pieces(self._normalizer.segments(text))

    def build_inputs_with_special_tokens(self, token_ids_0: list[int],
                                         token_ids_1: list[int] | None = None) -> list[int]:
        """``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]``.

        >>> import tempfile
        >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
        >>> tok.build_inputs_with_special_tokens([7], [8])
        [2, 7, 3, 8, 3]
        """
        second = [token_ids_1] if token_ids_1 is not None else None
        return batching.input_id_rows([token_ids_0], second, cls_id=self.cls_token_id, sep_id=self.sep_token_id,
                                      pad_id=self.pad_token_id)[0]

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
        second = [token_ids_1] if token_ids_1 is not None else None
        return batching.special_tokens_mask_rows([token_ids_0], second, add_special_tokens=True)[0]

    def create_token_type_ids_from_sequences(self, token_ids_0: list[int],
                                             token_ids_1: list[int] | None = None) -> list[int]:
        """0 for ``[CLS] A [SEP]``, 1 for ``B [SEP]``.

        >>> import tempfile
        >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
        >>> tok.create_token_type_ids_from_sequences([7], [8, 9])
        [0, 0, 0, 1, 1, 1]
        """
        second = [token_ids_1] if token_ids_1 is not None else None
        return batching.token_type_rows([token_ids_0], second, add_special_tokens=True)[0]

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
        self, text: Any, text_pair: Any = None, add_special_tokens: bool = True,
        truncation: Union[bool, str, None] = False, max_length: int | None = None, **kwargs: Any,
    ) -> list[int]:
        """Ids of one text (or pair), with special tokens unless ``add_special_tokens=False``; other keywords as
        in :meth:`__call__`.

        >>> import tempfile
        >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
        >>> tok.encode("")
        [2, 3]
        """
        return self(text, text_pair, add_special_tokens=add_special_tokens, truncation=truncation,
                    max_length=max_length, return_token_type_ids=False, return_attention_mask=False,
                    **kwargs)["input_ids"]

    def encode_plus(self, text: Any, text_pair: Any = None, **kwargs: Any) -> Encoding:
        """:meth:`__call__` on one text or pair (Hugging Face's older name)."""
        return self(text, text_pair, **kwargs)

    def batch_encode_plus(self, batch_text_or_text_pairs: Sequence[Any], **kwargs: Any) -> Encoding:
        """:meth:`__call__` on a list of texts or of ``(text, text_pair)`` tuples (Hugging Face's older name)."""
        if not isinstance(batch_text_or_text_pairs, (list, tuple)):
            raise TokenizerError("batch_encode_plus expects a list of texts or of (text, text_pair) tuples, got "
                                 f"{type(batch_text_or_text_pairs).__name__}")
        return self(list(batch_text_or_text_pairs), **kwargs)

    def _encode_texts(self, texts: list[str], with_offsets: bool) -> tuple[list[list[int]], Any]:
        """pieces -> ids (and spans) of plain texts, one SentencePiece batch for all of them."""
        segments = self._normalizer.batch_segments(texts)
        if with_offsets:
            return self._pieces.encode_with_offsets(segments)
        return self._pieces.encode(segments), None

    def _encode_words(self, rows: list[list[str]], with_offsets: bool) -> tuple[Any, Any, list[list[int]]]:
        """Ids (spans within each word) and word ids of pre-split rows; each word is encoded as a text of its own."""
        flat = [word for words in rows for word in words]
        ids, spans = self._encode_texts(flat, with_offsets)
        out_ids: list[list[int]] = []
        out_spans: list[list[Any]] | None = [] if with_offsets else None
        out_words: list[list[int]] = []
        k = 0
        for words in rows:
            row_ids: list[int] = []
            row_spans: list[Any] = []
            row_words: list[int] = []
            for w in range(len(words)):
                row_ids += ids[k]
                row_words += [w] * len(ids[k])
                if spans is not None:
                    row_spans += spans[k]
                k += 1
            out_ids.append(row_ids)
            out_words.append(row_words)
            if out_spans is not None:
                out_spans.append(row_spans)
        return out_ids, out_spans, out_words

    def __call__(
        self, text: Any = None, text_pair: Any = None, *, add_special_tokens: bool = True,
        padding: Union[bool, str] = False, truncation: Union[bool, str, None] = False, max_length: int | None = None,
        stride: int = 0, is_split_into_words: bool = False, pad_to_multiple_of: int | None = None,
        padding_side: str | None = None, truncation_side: str | None = None, return_tensors: str | None = None,
        return_token_type_ids: bool | None = None, return_attention_mask: bool | None = None,
        return_overflowing_tokens: bool = False, return_special_tokens_mask: bool = False,
        return_offsets_mapping: bool = False, return_length: bool = False, verbose: bool = True,
    ) -> Encoding:
        """Encode one text or a batch (optionally with second texts) into model inputs, with Hugging Face's
        argument names and meanings.

        Inputs: ``text`` is a str, a list of str, or a list of ``(text, text_pair)`` tuples; ``text_pair`` the
        matching str or list. With ``is_split_into_words=True`` each text is a list of words (a list of such
        lists for a batch), encoded word by word; :meth:`~albert_core.tokenizer.encoding.Encoding.word_ids` then gives
        each token's word.

        ``padding``: ``False``/``"do_not_pad"``, ``True``/``"longest"`` or ``"max_length"``, on the
        ``padding_side`` (default: the tokenizer's :attr:`padding_side`). ``truncation``: ``False``/``None``/
        ``"do_not_truncate"``, ``True``/``"longest_first"``, ``"only_first"`` or ``"only_second"``, cutting the
        ``truncation_side`` end. Without truncation a sequence longer than ``max_length`` is kept whole (with a
        warning). ``max_length`` defaults to ``model_max_length`` when truncating or padding to ``"max_length"``.

        ``return_overflowing_tokens=True`` with truncation returns every window instead of the first one: the cut
        sequence is covered by windows that share ``stride`` tokens (with pairs, ``only_first``/``only_second``
        says which sequence slides; the other is repeated whole), and ``overflow_to_sample_mapping`` gives the
        input of each row, as Hugging Face's fast tokenizers do. ``return_offsets_mapping``: ``(start, end)``
        character spans into the original texts (within each word for pre-split input), ``(0, 0)`` for special
        tokens and padding. ``return_length``: each row's length; ``return_special_tokens_mask``: 1 on the added
        ``[CLS]``/``[SEP]`` and padding. ``return_tensors``: ``None`` (lists), ``"np"``, ``"pt"`` or ``"tf"``.
        A single input returns unbatched lists (a batch of one with ``return_tensors`` or overflowing tokens).

        >>> import tempfile
        >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
        >>> enc = tok(["a b c d", "e"], padding=True, return_offsets_mapping=True)
        >>> len(enc["input_ids"][0]) == len(enc["input_ids"][1]), enc["attention_mask"][1][-1]
        (True, 0)
        >>> enc.offset_mapping[0][0], enc.offset_mapping[0][-2]
        ((0, 0), (6, 7))

        Windows over a long text (QA), with the shipped default model's tokenizer:

        >>> from albert_core.filenames import DEFAULT_MODEL_DIR
        >>> tok = AlbertTokenizer.from_pretrained(DEFAULT_MODEL_DIR)
        >>> win = tok("my good lord the king", truncation=True, max_length=5, stride=1, return_overflowing_tokens=True)
        >>> [tok.decode(row, skip_special_tokens=True) for row in win.input_ids], win.overflow_to_sample_mapping
        (['my good lord', 'lord the king'], [0, 0])
        """
        pad_strategy = batching.padding_strategy(padding)
        trunc_strategy = batching.truncation_strategy(truncation)
        pad_side = batching.check_side(padding_side if padding_side is not None else self._padding_side, "padding_side")
        trunc_side = batching.check_side(truncation_side if truncation_side is not None else self._truncation_side,
                                         "truncation_side")
        flags = dict(add_special_tokens=add_special_tokens, is_split_into_words=is_split_into_words,
                     return_overflowing_tokens=return_overflowing_tokens,
                     return_special_tokens_mask=return_special_tokens_mask,
                     return_offsets_mapping=return_offsets_mapping, return_length=return_length, verbose=verbose)
        optional = dict(return_token_type_ids=return_token_type_ids, return_attention_mask=return_attention_mask)
        flags.update({k: v for k, v in optional.items() if v is not None})
        batching.check_flags(flags)
        single, firsts, seconds = batching.text_batch(text, text_pair, is_split_into_words)
        batching.check_options(return_tensors=return_tensors, max_length=max_length,
                               pad_to_multiple_of=pad_to_multiple_of, truncation=trunc_strategy,
                               has_pairs=seconds is not None, stride=stride,
                               return_overflowing_tokens=return_overflowing_tokens)
        if max_length is None and (trunc_strategy != "do_not_truncate" or pad_strategy == "max_length"):
            max_length = self.model_max_length
        n = len(firsts)
        inputs = firsts + seconds if seconds is not None else firsts
        words: Any = None
        if is_split_into_words:
            ids, spans, words = self._encode_words(inputs, return_offsets_mapping)
        else:
            ids, spans = self._encode_texts(inputs, return_offsets_mapping)
        has_second = seconds is not None
        out = batching.model_inputs(
            ids[:n], ids[n:] if has_second else None,
            first_spans=spans[:n] if spans is not None else None,
            second_spans=spans[n:] if spans is not None and has_second else None,
            first_words=words[:n] if words is not None else None,
            second_words=words[n:] if words is not None and has_second else None,
            word_ids_of=self._words,
            cls_id=self.cls_token_id, sep_id=self.sep_token_id, pad_id=self.pad_token_id,
            add_special_tokens=add_special_tokens, truncation=trunc_strategy, padding=pad_strategy,
            max_length=max_length, pad_to_multiple_of=pad_to_multiple_of,
            return_token_type_ids=return_token_type_ids is not False,
            return_attention_mask=return_attention_mask is not False,
            return_special_tokens_mask=return_special_tokens_mask, return_length=return_length,
            return_overflowing_tokens=return_overflowing_tokens and trunc_strategy != "do_not_truncate",
            stride=stride, padding_side=pad_side, truncation_side=trunc_side,
        )
        if return_overflowing_tokens and "overflow_to_sample_mapping" not in out:
            out["overflow_to_sample_mapping"] = list(range(n))
        if return_tensors is not None:
            return batching.to_tensors(out, return_tensors)._with_layout_of(out)
        if single and not return_overflowing_tokens:
            for key in list(out):
                out[key] = out[key][0]
            out._single = True
        return out

    def pad(
        self, encoded_inputs: Any, padding: Union[bool, str] = True, max_length: int | None = None,
        pad_to_multiple_of: int | None = None, padding_side: str | None = None,
        return_attention_mask: bool | None = None, return_tensors: str | None = None, verbose: bool = True,
    ) -> Encoding:
        """Pad already-encoded features to one length, as Hugging Face's ``pad`` does (data collators call it).

        ``encoded_inputs`` is a list of feature dicts (``{"input_ids": [...], ...}``) or a dict of lists. The
        token fields (``input_ids``, ``token_type_ids``, ``attention_mask`` (created if missing),
        ``special_tokens_mask``, ``offset_mapping``) are padded on ``padding_side`` (default: the tokenizer's);
        other fields such as labels pass through. Rows longer than the target are never cut.

        >>> from albert_core.filenames import DEFAULT_MODEL_DIR
        >>> tok = AlbertTokenizer.from_pretrained(DEFAULT_MODEL_DIR)
        >>> batch = tok.pad([tok("my good lord"), tok("the king")], return_tensors="np")
        >>> batch["input_ids"].shape, batch["attention_mask"][1].tolist()
        ((2, 5), [1, 1, 1, 1, 0])
        """
        if not isinstance(verbose, bool):
            raise TokenizerArgumentError(f"verbose must be True or False, got {verbose!r:.40}")
        return pad_features(encoded_inputs, pad_token_id=self.pad_token_id, model_max_length=self.model_max_length,
                            padding=padding, max_length=max_length, pad_to_multiple_of=pad_to_multiple_of,
                            padding_side=padding_side if padding_side is not None else self._padding_side,
                            return_attention_mask=return_attention_mask, return_tensors=return_tensors)

    # ------------------------------------------------------------------ decoding

    def decode(
        self, token_ids: Union[int, Sequence[int]], skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None, spaces_between_special_tokens: bool = True,
    ) -> str:
        """Turn ids back into text exactly as the slow Hugging Face ALBERT tokenizer does.

        Special tokens are written out unless ``skip_special_tokens`` (which drops them, and unknown tokens, before
        the rest is decoded as one run: ``born in <unk>, and`` decodes to ``born in , and``).
        ``clean_up_tokenization_spaces`` (default: the tokenizer's attribute, False as in transformers 4.57)
        removes the space before ``. , ! ?`` and English contractions. Plain added tokens are joined to the text
        around them with a space (``spaces_between_special_tokens``).

        ``token_ids`` is a list or tuple of ints, a 1-D numpy array or torch/TF tensor of integers, or one id (an
        int or a 0-d array/tensor). Anything else raises :class:`~albert_core.TokenizerError`.

        >>> import tempfile
        >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
        >>> tok.decode(tok.encode("a b c"))
        '[CLS] a b c[SEP]'
        """
        if isinstance(token_ids, (str, bytes)):
            raise TokenizerError(f"decode expects ids, got {type(token_ids).__name__}")
        for name, value in (("skip_special_tokens", skip_special_tokens),
                            ("spaces_between_special_tokens", spaces_between_special_tokens)):
            if not isinstance(value, bool):
                raise TokenizerArgumentError(f"{name} must be True or False, got {value!r:.40}")
        if clean_up_tokenization_spaces is None:
            clean_up_tokenization_spaces = self.clean_up_tokenization_spaces
        elif not isinstance(clean_up_tokenization_spaces, bool):
            raise TokenizerArgumentError(
                f"clean_up_tokenization_spaces must be True, False or None, got {clean_up_tokenization_spaces!r:.40}"
            )
        ids = [token_ids] if is_single_id(token_ids) else as_id_list(token_ids)
        return decode_ids([checked_id(i, self._total_size) for i in ids], sp_model=self.sp_model,
                          special_ids=self._special_id_set, special_tokens=self._special_set,
                          added_tokens=self._added_decoder, separate_tokens=self._separate_tokens,
                          skip_special_tokens=skip_special_tokens,
                          clean_up_tokenization_spaces=clean_up_tokenization_spaces,
                          spaces_between_special_tokens=spaces_between_special_tokens)

    def batch_decode(
        self, sequences: Sequence[Sequence[int]], skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None, spaces_between_special_tokens: bool = True,
    ) -> list[str]:
        """:meth:`decode` for each sequence of a batch.

        Args:
            sequences: a list of id lists, or a 2-D numpy array or torch/TF tensor ``[batch, seq]`` (other ranks
                raise :class:`~albert_core.TokenizerError`).
            skip_special_tokens, clean_up_tokenization_spaces, spaces_between_special_tokens: as in :meth:`decode`.

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
        return [self.decode(s, skip_special_tokens, clean_up_tokenization_spaces, spaces_between_special_tokens)
                for s in as_id_rows(sequences)]
