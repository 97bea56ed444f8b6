"""Loading a checkpoint the way transformers' ``from_pretrained`` does, shared by both backends.

Both backends' ``from_pretrained`` go through :func:`prepare_pretrained` and then assign ``PreparedLoad.state``
to a freshly built model; this module holds everything that is not framework code:

* configuration overrides (:func:`apply_config_overrides`): ``num_labels``, ``id2label``, ``label2id`` and any field
  of :class:`~albert_core.AlbertConfig` (or a key the checkpoint's ``config.json`` keeps in ``extra``);
* the shape check against the model to build, with ``ignore_mismatched_sizes`` to re-initialise the tensors whose
  shape changed (a new classifier width, a new vocabulary) instead of failing;
* the report of what was re-initialised (:class:`PretrainedLoadReport`, one
  ``PartialLoadWarning``);
* the dtype a checkpoint was stored in (:func:`stored_dtype`), for ``dtype="auto"``;
* which head a checkpoint was saved for (:func:`saved_architectures`, :func:`saved_head`), for the auto-loaders
  ``albert_pt.from_pretrained`` and ``albert_tf.from_pretrained``.

>>> import tempfile
>>> from albert_core import AlbertConfig
>>> from albert_core.checkpoints import save_safetensors_checkpoint, initial_state
>>> cfg = AlbertConfig(vocab_size=20, embedding_size=4, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
...                    intermediate_size=16, num_labels=3)
>>> d = tempfile.mkdtemp()
>>> _ = save_safetensors_checkpoint(d, initial_state(cfg, "sequence_classification"), cfg,
...                                 "sequence_classification")
>>> saved_head(d)
<Head.SEQUENCE_CLASSIFICATION: 'sequence_classification'>
>>> prepared = prepare_pretrained(d, "sequence_classification", num_labels=5, ignore_mismatched_sizes=True)
>>> prepared.config.num_labels, [m.name for m in prepared.mismatched]
(5, ['classifier.weight', 'classifier.bias'])
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .checkpoints import (
    check_shapes_against_config,
    read_checkpoint,
    read_safetensors_header,
    read_safetensors_index,
    report_non_finite,
)
from .checkpoints.contents import CheckpointContents
from .config import AlbertConfig
from .errors import CheckpointError, ConfigError, PartialLoadWarning, UsageError
from .filenames import MODEL_CONFIG
from .heads import Head, head_from_architectures, head_from_tensor_names
from .weights import LoadReport, canonical_specs, normalize_state_names

#: The dtype names ``from_pretrained`` accepts (besides ``"auto"``), and the aliases read as them.
DTYPE_NAMES = ("float32", "float16", "bfloat16")
_DTYPE_ALIASES = {"fp32": "float32", "float": "float32", "fp16": "float16", "half": "float16", "bf16": "bfloat16"}
_SAFETENSORS_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float32"}


# ---------------------------------------------------------------------------------------------------------------------
# Configuration


def as_config(config: Any) -> AlbertConfig:
    """An :class:`~albert_core.AlbertConfig` from itself, a ``config.json`` mapping or a ``transformers.AlbertConfig``.

    >>> as_config({"model_type": "albert", "hidden_size": 8, "num_attention_heads": 2,
    ...            "intermediate_size": 16}).hidden_size
    8
    """
    if isinstance(config, AlbertConfig):
        return config
    return AlbertConfig.from_dict(config)


def apply_config_overrides(config: AlbertConfig, num_labels: int | None = None,
                           id2label: Mapping[Any, str] | None = None, label2id: Mapping[str, Any] | None = None,
                           **overrides: Any) -> AlbertConfig:
    """A validated copy of ``config`` with the changes ``from_pretrained`` takes, as transformers applies them.

    ``id2label`` alone sets ``num_labels`` and ``label2id``; ``num_labels`` alone resets the names to ``LABEL_i``.
    Other keyword arguments set fields of :class:`~albert_core.AlbertConfig`, or keys the configuration already
    keeps in ``extra``.

    Raises:
        TypeError: for a keyword that is neither (as for an unexpected keyword argument of any function).
        ~albert_core.ConfigError: when the result does not validate.

    >>> cfg = AlbertConfig(hidden_size=8, num_attention_heads=2, intermediate_size=16)
    >>> apply_config_overrides(cfg, id2label={0: "neg", 1: "neu", 2: "pos"}).label2id
    {'neg': 0, 'neu': 1, 'pos': 2}
    >>> apply_config_overrides(cfg, num_labels=4, hidden_dropout_prob=0.1).id2label[3], cfg.num_labels
    ('LABEL_3', 2)
    """
    fields = {f.name for f in dataclasses.fields(AlbertConfig)} - {"extra"}
    changes: dict[str, Any] = {}
    extra = dict(config.extra)
    for key, value in overrides.items():
        if key in fields:
            changes[key] = value
        elif key in extra:
            extra[key] = value
        else:
            raise TypeError(f"from_pretrained() got an unexpected keyword argument {key!r}: it is neither a field of "
                            f"AlbertConfig nor a key of the checkpoint's configuration")
    if num_labels is not None:
        changes["num_labels"] = num_labels
    if id2label is not None:
        changes["id2label"] = dict(id2label)
    if label2id is not None:
        changes["label2id"] = dict(label2id)
        if id2label is None:  # names given as label2id only: id2label is its inverse
            try:
                changes["id2label"] = {int(i): str(name) for name, i in label2id.items()}
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"label2id {dict(label2id)!r:.200} must map names to integer ids") from exc
    if extra != config.extra:
        changes["extra"] = extra
    if not changes:
        return config
    return config.copy(**changes)


# ---------------------------------------------------------------------------------------------------------------------
# The dtype a checkpoint was stored in


def dtype_name(value: Any) -> str | None:
    """The dtype name of ``value``: ``None``, ``"auto"``, one of :data:`DTYPE_NAMES` (or an alias such as
    ``"fp16"``), or a framework dtype object whose name is one of them (``torch.bfloat16``, ``tf.float16``).

    Raises :class:`~albert_core.errors.UsageError` for anything else.

    >>> dtype_name("fp16"), dtype_name("auto"), dtype_name(None)
    ('float16', 'auto', None)
    """
    if value is None:
        return None
    name = getattr(value, "name", None) if not isinstance(value, str) else value
    if not isinstance(name, str):
        name = str(value)
    name = name.removeprefix("torch.").lower()
    name = _DTYPE_ALIASES.get(name, name)
    if name == "auto" or name in DTYPE_NAMES:
        return name
    raise UsageError(f"unsupported dtype {value!r}; choose one of {['auto', *DTYPE_NAMES]} (or the framework's "
                     "dtype of that name)")


def _most_common(names: list[str]) -> str:
    return Counter(names).most_common(1)[0][0] if names else "float32"


def stored_dtype(contents: CheckpointContents) -> str:
    """The floating dtype most of a checkpoint's tensors were stored in (``"float32"``, ``"float16"`` or
    ``"bfloat16"``); what ``dtype="auto"`` loads a model in.

    safetensors files are read from their headers (bfloat16 arrays are widened to float32 when read); other formats
    keep the stored dtype in the arrays.
    """
    path = Path(contents.path)
    names: list[str] = []
    if contents.source_format == "safetensors":
        entries, _, _ = read_safetensors_header(path)
        names = [_SAFETENSORS_DTYPES[e.dtype_tag] for e in entries if e.dtype_tag in _SAFETENSORS_DTYPES]
    elif contents.source_format == "safetensors-sharded":
        for shard in sorted(set(read_safetensors_index(path).values())):
            entries, _, _ = read_safetensors_header(path.parent / shard)
            names += [_SAFETENSORS_DTYPES[e.dtype_tag] for e in entries if e.dtype_tag in _SAFETENSORS_DTYPES]
    else:
        for array in contents.state.values():
            kind = np.asarray(array).dtype
            if np.issubdtype(kind, np.floating):
                names.append({np.dtype(np.float16): "float16"}.get(kind, "bfloat16" if kind.name == "bfloat16"
                                                                    else "float32"))
    return _most_common(names)


# ---------------------------------------------------------------------------------------------------------------------
# Which head a checkpoint was saved for


def _config_directory(path: Path) -> Path:
    return path if path.is_dir() else path.parent


def saved_architectures(path: str | os.PathLike[str]) -> list[str]:
    """The class names in ``config.json``'s ``architectures`` (``TF`` prefix dropped) beside a checkpoint (a
    directory or a weights file); empty when there are none or the file cannot be read as such.

    >>> import json, pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "config.json").write_text(json.dumps({"architectures": ["TFAlbertForMaskedLM"]}))
    >>> saved_architectures(d)
    ['AlbertForMaskedLM']
    """
    config_file = _config_directory(Path(path)) / MODEL_CONFIG
    if not config_file.is_file():
        return []
    try:
        data = json.loads(config_file.read_text(encoding="utf-8"))
        return [str(a).removeprefix("TF") for a in data.get("architectures") or []]
    except (OSError, ValueError, AttributeError, TypeError):  # not JSON, or architectures that are not a list
        return []


def saved_head(path: str | os.PathLike[str], contents: CheckpointContents | None = None) -> Head:
    """The head a checkpoint was saved for: the first of ``architectures`` in ``config.json`` that names an ALBERT
    class, else the richest head its tensor names hold (:func:`~albert_core.heads.head_from_tensor_names`; a
    ``classifier`` is then read as sequence classification). ``contents`` saves reading the weights again."""
    head = head_from_architectures(saved_architectures(path))
    if head is not None:
        return head
    if contents is None:
        contents = read_checkpoint(path)
    return head_from_tensor_names(contents.state)


# ---------------------------------------------------------------------------------------------------------------------
# Preparing a load


@dataclass(frozen=True)
class Mismatch:
    """A checkpoint tensor whose shape differs from the model's (re-initialised with ``ignore_mismatched_sizes``)."""

    name: str
    checkpoint_shape: tuple[int, ...]
    model_shape: tuple[int, ...]

    def __str__(self) -> str:
        return f"{self.name}: checkpoint {self.checkpoint_shape} vs model {self.model_shape}"


@dataclass
class PretrainedLoadReport(LoadReport):
    """A :class:`~albert_core.weights.LoadReport` that also lists the tensors re-initialised because their shape
    changed (``missing`` holds them too: they keep their fresh initial values)."""

    mismatched: list[Mismatch] = field(default_factory=list)

    def summary(self) -> str:
        mismatched = {m.name for m in self.mismatched}
        parts = []
        if self.mismatched:
            parts.append("re-initialised (shape differs from the checkpoint's): "
                         + ", ".join(str(m) for m in self.mismatched))
        missing = [name for name in self.missing if name not in mismatched]
        if missing:
            parts.append(f"newly initialised (not in the checkpoint): {', '.join(missing)}")
        if self.unexpected:
            parts.append(f"unused (not in this model): {', '.join(self.unexpected)}")
        return "; ".join(parts) or "every tensor matched"


@dataclass
class PreparedLoad:
    """What a backend needs to build and fill a model: the configuration, the canonical state to assign (mismatched
    tensors removed), the mismatches, and the dtype name to convert the model to (``None``: leave float32)."""

    contents: CheckpointContents
    config: AlbertConfig
    state: dict[str, np.ndarray]
    mismatched: list[Mismatch]
    dtype: str | None

    def report(self, report: LoadReport) -> PretrainedLoadReport:
        """``report`` (from ``load_canonical_state``) with the mismatches added."""
        return PretrainedLoadReport(state=report.state, missing=report.missing, unexpected=report.unexpected,
                                    mismatched=list(self.mismatched))


def prepare_pretrained(path: str | os.PathLike[str], head: Head | str, config: Any = None, strict: bool = False,
                       ignore_mismatched_sizes: bool = False, dtype: Any = None, num_labels: int | None = None,
                       id2label: Mapping[Any, str] | None = None, label2id: Mapping[str, Any] | None = None,
                       **config_overrides: Any) -> PreparedLoad:
    """Read a checkpoint for a model with ``head``, apply the configuration changes, and check the shapes.

    Args:
        path: a checkpoint directory or weights file (any format :func:`~albert_core.checkpoints.read_checkpoint`
            reads).
        head: the head of the model to build.
        config: the configuration to use instead of the one beside the weights (an
            :class:`~albert_core.AlbertConfig`, a ``config.json`` mapping or a ``transformers.AlbertConfig``).
        strict: raise when a tensor is missing, unused or non-finite (checked by the backend's load for the first
            two).
        ignore_mismatched_sizes: drop checkpoint tensors whose shape differs from the model's, so the model keeps
            fresh values there (reported), instead of raising :class:`~albert_core.CheckpointError`.
        dtype: ``None``, ``"auto"`` (the checkpoint's :func:`stored_dtype`) or a name of :data:`DTYPE_NAMES`.
        num_labels, id2label, label2id, config_overrides: see :func:`apply_config_overrides`.

    Raises:
        ~albert_core.CheckpointError: naming each tensor whose shape differs (without ``ignore_mismatched_sizes``),
            before any model is built.
    """
    dtype = dtype_name(dtype)
    if not isinstance(ignore_mismatched_sizes, bool):
        raise UsageError(f"ignore_mismatched_sizes must be True or False, got {ignore_mismatched_sizes!r}")
    config = None if config is None else as_config(config)
    contents = read_checkpoint(path, config)
    base = config if config is not None else contents.config
    if base is None:
        raise CheckpointError(f"{path} has no config.json / albert_config.json beside the weights; pass config=")
    model_config = apply_config_overrides(base, num_labels=num_labels, id2label=id2label, label2id=label2id,
                                          **config_overrides)
    state = normalize_state_names(contents.state)
    specs = canonical_specs(model_config, head)
    mismatched = [Mismatch(name, tuple(np.shape(state[name])), spec.shape)
                  for name, spec in specs.items() if name in state and tuple(np.shape(state[name])) != spec.shape]
    if mismatched and not ignore_mismatched_sizes:
        raise CheckpointError(
            f"{contents.path} does not fit the model (checked before building the model): shape mismatch between "
            "checkpoint and model: "
            + "; ".join(str(m) for m in mismatched)
            + ". Pass ignore_mismatched_sizes=True to re-initialise these tensors (for instance a classifier for a "
              "new number of labels)"
        )
    for m in mismatched:
        del state[m.name]
    if not ignore_mismatched_sizes:  # unused tensors must still fit the configuration (a forged config.json)
        check_shapes_against_config({name: np.shape(array) for name, array in state.items()}, model_config,
                                    contents.path)
    report_non_finite(state, contents.path, strict=strict)
    if dtype == "auto":
        dtype = stored_dtype(contents)
    return PreparedLoad(contents=contents, config=model_config, state=state, mismatched=mismatched, dtype=dtype)


def warn_about_load(model_name: str, source: str | os.PathLike[str], report: LoadReport, stacklevel: int = 3) -> None:
    """One ``PartialLoadWarning`` listing what a load re-initialised, left new or did not
    use (nothing when every tensor matched)."""
    if report.missing or report.unexpected:
        warnings.warn(f"loading {model_name} from {source}: {report.summary()}", PartialLoadWarning,
                      stacklevel=stacklevel)


__all__ = [
    "DTYPE_NAMES",
    "Mismatch",
    "PreparedLoad",
    "PretrainedLoadReport",
    "apply_config_overrides",
    "as_config",
    "dtype_name",
    "prepare_pretrained",
    "saved_architectures",
    "saved_head",
    "stored_dtype",
    "warn_about_load",
]
