"""The Hugging Face directory layout: ``spiece.model``, ``tokenizer_config.json`` and ``special_tokens_map.json``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Union

from albert_core.errors import MAX_JSON_FILE_BYTES, TokenizerError
from albert_core.io_utils import atomic_write_bytes, atomic_write_text
from albert_core.tokenizer.special_tokens import SPECIAL_ROLES, SpecialTokens, token_content

VOCAB_FILES_NAMES = {"vocab_file": "spiece.model"}
CONFIG_NAME = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_NAME = "special_tokens_map.json"
DEFAULT_MODEL_MAX_LENGTH = 512
#: ``tokenizer_config.json`` keys that become constructor arguments.
_INIT_KEYS = frozenset({"do_lower_case", "remove_space", "keep_accents", "model_max_length", "padding_side",
                        "truncation_side", "clean_up_tokenization_spaces", "additional_special_tokens",
                        "added_tokens_decoder", *SPECIAL_ROLES})
_MASK_TOKEN_FLAGS = {"lstrip": True, "normalized": False, "rstrip": False, "single_word": False}


def model_path(vocab_file: Union[str, os.PathLike[str]]) -> Path:
    """The ``spiece.model`` path for a model file or a directory holding one; raises if it does not exist."""
    path = Path(vocab_file)
    if path.is_dir():
        path = path / VOCAB_FILES_NAMES["vocab_file"]
    if not path.is_file():
        raise FileNotFoundError(f"SentencePiece model not found: {path}")
    return path


def read_pretrained(path: Union[str, os.PathLike[str]]) -> tuple[Path, dict[str, Any]]:
    """The model file and the constructor arguments stored in a pretrained directory (or a bare model file)."""
    path = Path(path)
    if path.is_file():
        return path, {}
    if not path.is_dir():
        raise FileNotFoundError(f"no tokenizer directory or spiece.model at {path}")
    model = path / VOCAB_FILES_NAMES["vocab_file"]
    if not model.is_file():
        raise FileNotFoundError(f"{path} holds no {VOCAB_FILES_NAMES['vocab_file']}")
    init: dict[str, Any] = {}
    for name in (SPECIAL_TOKENS_MAP_NAME, CONFIG_NAME):  # tokenizer_config.json wins, as in Hugging Face
        file = path / name
        for key, value in _read_json_object(file).items():
            if key in _INIT_KEYS:
                init[key] = _init_value(file, key, value)
    return model, {k: v for k, v in init.items() if v is not _UNSET}


_UNSET = object()
_BOOL_KEYS = frozenset({"do_lower_case", "remove_space", "keep_accents", "clean_up_tokenization_spaces"})


def _init_value(file: Path, key: str, value: Any) -> Any:
    """A constructor argument read from ``file``, checked; :data:`_UNSET` to keep the default.

    A wrongly typed value raises a :class:`~albert_core.TokenizerError` naming the file and the field: a string
    ``"false"`` must not turn lower-casing on, and a special token that is not a string cannot be matched.
    """
    if key in _BOOL_KEYS:
        if not isinstance(value, bool):
            raise TokenizerError(f"{file}: field {key!r} must be true or false, got {value!r:.80}")
        return value
    if key in ("padding_side", "truncation_side"):
        if value not in ("left", "right"):
            raise TokenizerError(f"{file}: field {key!r} must be 'left' or 'right', got {value!r:.80}")
        return value
    if key == "additional_special_tokens":
        if not isinstance(value, list):
            raise TokenizerError(f"{file}: field 'additional_special_tokens' must be a list, got {value!r:.80}")
        for token in value:
            try:
                token_content(token)
            except TokenizerError as exc:
                raise TokenizerError(f"{file}: field 'additional_special_tokens': {exc}") from None
        return value
    if key == "added_tokens_decoder":
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            raise TokenizerError(f"{file}: field 'added_tokens_decoder' must map ids to token objects, "
                                 f"got {value!r:.80}")
        return value
    if key == "model_max_length":
        if value is None:
            return _UNSET
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0:
            raise TokenizerError(f"{file}: field 'model_max_length' must be a non-negative integer, got {value!r:.80}")
        if value > 1e12:
            return _UNSET  # Hugging Face's "no limit" sentinel, int(1e30)
        if value != int(value):
            raise TokenizerError(f"{file}: field 'model_max_length' must be a non-negative integer, got {value!r}")
        return int(value)
    try:
        return token_content(value)  # a special-token role
    except TokenizerError as exc:
        raise TokenizerError(f"{file}: field {key!r}: {exc}") from None


def _read_json_object(file: Path) -> dict[str, Any]:
    if not file.is_file():
        return {}
    if file.stat().st_size > MAX_JSON_FILE_BYTES:
        raise TokenizerError(f"{file} is larger than {MAX_JSON_FILE_BYTES} bytes; it is not a tokenizer file")
    try:
        loaded = json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenizerError(f"{file} is not valid JSON: {exc}") from exc
    except RecursionError:  # json's C parser recurses once per nesting level
        raise TokenizerError(f"{file} nests JSON arrays/objects too deeply to be a tokenizer file") from None
    if not isinstance(loaded, dict):
        raise TokenizerError(f"{file} must hold a JSON object")
    return loaded


def tokenizer_config(
    special: SpecialTokens, added_tokens: dict[str, int], *, settings: dict[str, Any],
    specs: dict[str, Any] | None = None, additional_special_tokens: list[str] | None = None,
) -> dict[str, Any]:
    """The ``tokenizer_config.json`` content, keys sorted; ``settings`` holds the preprocessing switches and
    ``specs`` the :class:`~albert_core.tokenizer.added_tokens.AddedTokenSpec` of each added token."""
    lstrip = special.lstrip_tokens()

    def entry(token: str) -> dict[str, Any]:
        if specs is not None and token in specs:
            return specs[token].to_json()
        return {"content": token, "lstrip": token in lstrip, "normalized": False, "rstrip": False,
                "single_word": False, "special": True}

    added = {str(idx): entry(token) for token, idx in sorted(added_tokens.items(), key=lambda kv: kv[1])}
    config: dict[str, Any] = {"added_tokens_decoder": added, **special.by_role(), **settings}
    config.setdefault("clean_up_tokenization_spaces", False)
    config.update(sp_model_kwargs={}, tokenizer_class="AlbertTokenizer", extra_special_tokens={})
    if additional_special_tokens:
        config["additional_special_tokens"] = list(additional_special_tokens)
    return dict(sorted(config.items()))


def write_pretrained(
    directory: Path, *, model_bytes: bytes, special: SpecialTokens, config: dict[str, Any],
    additional_special_tokens: list[dict[str, Any]] | None = None,
) -> tuple[str, ...]:
    """Write the three files (each atomically); returns the config, special-tokens-map and model paths."""
    if directory.exists() and not directory.is_dir():
        raise TokenizerError(f"save_pretrained needs a directory, {directory} is a file")
    directory.mkdir(parents=True, exist_ok=True)
    special_map: dict[str, Any] = special.by_role()
    special_map["mask_token"] = {"content": special.mask_token, **_MASK_TOKEN_FLAGS}
    if additional_special_tokens:
        special_map["additional_special_tokens"] = additional_special_tokens
    config_file = directory / CONFIG_NAME
    map_file = directory / SPECIAL_TOKENS_MAP_NAME
    (vocab,) = write_vocabulary(directory, model_bytes=model_bytes)
    atomic_write_text(map_file, json.dumps(special_map, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    atomic_write_text(config_file, json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    return (str(config_file), str(map_file), vocab)


def write_vocabulary(directory: Path, *, model_bytes: bytes, filename_prefix: str | None = None) -> tuple[str]:
    """Write ``<directory>/[<prefix>-]spiece.model`` atomically; returns its path in a one-element tuple."""
    if not directory.is_dir():
        raise TokenizerError(f"save_vocabulary needs an existing directory, got {directory}")
    out = directory / ((f"{filename_prefix}-" if filename_prefix else "") + VOCAB_FILES_NAMES["vocab_file"])
    atomic_write_bytes(out, model_bytes)
    return (str(out),)
