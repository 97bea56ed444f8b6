"""The :class:`AlbertTokenizer` facade: settings and vocabulary, delegating each step to its module."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence, Union

from albert_core.errors import TokenizerError
from albert_core.tokenizer import batching, files, vocabulary
from albert_core.tokenizer.decoding import as_id_list, as_id_rows, checked_id, decode_ids, is_single_id
from albert_core.tokenizer.encoding import Encoding
from albert_core.tokenizer.normalization import Normalizer
from albert_core.tokenizer.pieces import PieceEncoder, import_sentencepiece
from albert_core.tokenizer.special_tokens import SpecialTokens
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
        model_max_length: int = files.DEFAULT_MODEL_MAX_LENGTH, num_threads: int = -1, **kwargs: Any,
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
        self.do_lower_case, self.remove_space, self.keep_accents = bool(do_lower_case), bool(remove_space), bool(keep_accents)
        self.model_max_length = int(model_max_length) if model_max_length is not None else files.DEFAULT_MODEL_MAX_LENGTH
        self.num_threads = int(num_threads)
        self.padding_side = "right"
        self.truncation_side = "right"
        self.init_kwargs = {k: v for k, v in kwargs.items() if k not in ("tokenizer_class", "added_tokens_decoder")}
        self._special_tokens = SpecialTokens.of(
            bos_token=bos_token, eos_token=eos_token, unk_token=unk_token, sep_token=sep_token, pad_token=pad_token,
            cls_token=cls_token, mask_token=mask_token,
        )
        self._sp_size = len(sp)
        self._added_encoder = self._special_tokens.assign_ids(sp)
        self._added_decoder = {v: k for k, v in self._added_encoder.items()}
        self._total_size = max([self._sp_size - 1, *self._added_encoder.values()]) + 1
        self._normalizer = Normalizer(self._added_encoder, self._special_tokens.lstrip_tokens(),
                                      do_lower_case=self.do_lower_case, remove_space=self.remove_space,
                                      keep_accents=self.keep_accents)
        self._pieces = PieceEncoder(sp, self.num_threads, remove_space=self.remove_space)

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
        """Load from a directory in the Hugging Face layout (``spiece.model`` + ``tokenizer_config.json``) or a model file.

        Keyword arguments override the values stored in ``tokenizer_config.json``.

        >>> import tempfile
        >>> lines = ["the quick brown fox jumps over the lazy dog"] * 50
        >>> d = tempfile.mkdtemp()
        >>> _ = train_sentencepiece(lines, d, vocab_size=40)
        >>> AlbertTokenizer.from_pretrained(d).do_lower_case
        True
        """
        model, init = files.read_pretrained(path)
        return cls(model, **{**init, **kwargs})

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
                        keep_accents=self.keep_accents, model_max_length=self.model_max_length)
        config = files.tokenizer_config(self._special_tokens, self._added_encoder, settings=settings)
        return files.write_pretrained(Path(save_directory), model_bytes=self._model_bytes,
                                      special=self._special_tokens, config=config)

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
        return files.write_vocabulary(Path(save_directory), model_bytes=self._model_bytes, filename_prefix=filename_prefix)

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

    def build_inputs_with_special_tokens(self, token_ids_0: list[int], token_ids_1: list[int] | None = None) -> list[int]:
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

    def create_token_type_ids_from_sequences(self, token_ids_0: list[int], token_ids_1: list[int] | None = None) -> list[int]:
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
        self, text: TextInput, text_pair: TextInput | None = None, add_special_tokens: bool = True,
        truncation: Union[bool, str] = False, max_length: int | None = None,
    ) -> list[int]:
        """Ids of one text (or pair), with special tokens unless ``add_special_tokens=False``.

        >>> import tempfile
        >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
        >>> tok.encode("")
        [2, 3]
        """
        return self(text, text_pair, add_special_tokens=add_special_tokens, truncation=truncation,
                    max_length=max_length, return_token_type_ids=False, return_attention_mask=False)["input_ids"]

    def __call__(
        self, texts: Union[TextInput, Sequence[TextInput]], text_pairs: Union[TextInput, Sequence[TextInput], None] = None,
        padding: Union[bool, str] = False, truncation: Union[bool, str] = False, max_length: int | None = None,
        return_tensors: str | None = None, return_special_tokens_mask: bool = False,
        return_offsets_mapping: bool = False, return_token_type_ids: bool = True, return_attention_mask: bool = True,
        pad_to_multiple_of: int | None = None, add_special_tokens: bool = True,
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
        single, firsts, seconds = batching.text_batch(texts, text_pairs)
        pad_strategy = batching.padding_strategy(padding)
        trunc_strategy = batching.truncation_strategy(truncation)
        batching.check_options(return_tensors=return_tensors, max_length=max_length,
                               pad_to_multiple_of=pad_to_multiple_of, truncation=trunc_strategy,
                               has_pairs=seconds is not None)
        if max_length is None and (trunc_strategy != "do_not_truncate" or pad_strategy == "max_length"):
            max_length = self.model_max_length
        segments = [self._normalizer.segments(t) for t in (firsts + seconds if seconds is not None else firsts)]
        spans: list[Any] | None = None
        if return_offsets_mapping:
            ids, spans = self._pieces.encode_with_offsets(segments)
        else:
            ids = self._pieces.encode(segments)
        del segments  # frees the segments before the output rows are built
        n = len(firsts)
        out = batching.model_inputs(
            ids[:n], ids[n:] if seconds is not None else None,
            first_spans=spans[:n] if spans is not None else None,
            second_spans=spans[n:] if spans is not None and seconds is not None else None,
            cls_id=self.cls_token_id, sep_id=self.sep_token_id, pad_id=self.pad_token_id,
            add_special_tokens=add_special_tokens, truncation=trunc_strategy, padding=pad_strategy,
            max_length=max_length, pad_to_multiple_of=pad_to_multiple_of, return_token_type_ids=return_token_type_ids,
            return_attention_mask=return_attention_mask, return_special_tokens_mask=return_special_tokens_mask,
        )
        if return_tensors is not None:
            return batching.to_tensors(out, return_tensors)
        if single:
            for key in list(out):
                out[key] = out[key][0]
        return out

    # ------------------------------------------------------------------ decoding

    def decode(
        self, token_ids: Union[int, Sequence[int]], skip_special_tokens: bool = False, clean_up_tokenization_spaces: bool = True
    ) -> str:
        """Turn ids back into text (special tokens are written out unless ``skip_special_tokens``).

        ``token_ids`` is a list or tuple of ints, a 1-D numpy array or torch/TF tensor of integers, or one id (an
        int or a 0-d array/tensor). Anything else raises :class:`~albert_core.TokenizerError`.

        >>> import tempfile
        >>> tok = AlbertTokenizer(train_sentencepiece(["a b c d e"] * 20, tempfile.mkdtemp(), vocab_size=20))
        >>> tok.decode(tok.encode("a b c"))
        '[CLS] a b c[SEP]'
        """
        if isinstance(token_ids, (str, bytes)):
            raise TokenizerError(f"decode expects ids, got {type(token_ids).__name__}")
        ids = [token_ids] if is_single_id(token_ids) else as_id_list(token_ids)
        return decode_ids([checked_id(i, self._total_size) for i in ids], sp_model=self.sp_model,
                          special_ids=set(self.all_special_ids), added_tokens=self._added_decoder,
                          skip_special_tokens=skip_special_tokens,
                          clean_up_tokenization_spaces=clean_up_tokenization_spaces)

    def batch_decode(
        self, sequences: Sequence[Sequence[int]], skip_special_tokens: bool = False, clean_up_tokenization_spaces: bool = True
    ) -> list[str]:
        """:meth:`decode` for each sequence of a batch.

        Args:
            sequences: a list of id lists, or a 2-D numpy array or torch/TF tensor ``[batch, seq]`` (other ranks
                raise :class:`~albert_core.TokenizerError`).
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
        return [self.decode(s, skip_special_tokens, clean_up_tokenization_spaces) for s in as_id_rows(sequences)]
