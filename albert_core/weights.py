"""The canonical ALBERT weight names and their names in every checkpoint format.

Canonical names are the Hugging Face PyTorch state-dict names of a model *with* a task head: backbone tensors start
with ``albert.``, head tensors with ``predictions.``, ``sop_classifier.``, ``classifier.`` or ``qa_outputs.``.
Canonical arrays are in PyTorch layout: a dense weight is ``[out_features, in_features]``.

Each checkpoint format is one declarative table below (``HF_TF_TABLE``, ``TF1_TABLE``) mapping a canonical name
template to the format's name template and a :class:`Layout` that says how the array is stored there. The only
layout change ALBERT needs is the transpose of dense kernels: every TensorFlow format stores them
``[in_features, out_features]``. Templates use ``{g}`` for the group index and ``{i}`` for the layer inside a group.

The PyTorch backend's parameter names *are* the canonical names. The TensorFlow backend names each of its variables
by its canonical name and asks :func:`to_tf_layout` / :func:`from_tf_layout` for the layout.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np

from .config import AlbertConfig
from .errors import CheckpointError
from .heads import Head, HeadPart, head_spec, part_outputs

BACKBONE_PREFIX = "albert."


class Layout(str, enum.Enum):
    """How a format stores a canonical (PyTorch-layout) array."""

    SAME = "same"
    TRANSPOSE = "transpose"  # dense kernel: canonical [out, in] <-> stored [in, out]


class Role(str, enum.Enum):
    """What a tensor is; decides its layout in TensorFlow and its initialisation."""

    DENSE_KERNEL = "dense_kernel"  # [out, in] in PyTorch, [in, out] in TensorFlow
    EMBEDDING = "embedding"  # [rows, width], the same everywhere
    CLASSIFIER_WEIGHTS = "classifier_weights"  # a [classes, hidden] matrix stored untransposed in TF1
    BIAS = "bias"
    NORM_SCALE = "norm_scale"
    NORM_SHIFT = "norm_shift"


@dataclass(frozen=True)
class TensorSpec:
    """One canonical tensor: its name, PyTorch-layout shape and role."""

    name: str
    shape: tuple[int, ...]
    role: Role

    @property
    def tf_layout(self) -> Layout:
        """Layout of this tensor in the TensorFlow backend and the Hugging Face TF format."""
        return Layout.TRANSPOSE if self.role in (Role.DENSE_KERNEL, Role.CLASSIFIER_WEIGHTS) else Layout.SAME


# ---------------------------------------------------------------------------------------------------------------------
# Canonical tensors


def _dense(prefix: str, out_features: int, in_features: int) -> list[TensorSpec]:
    return [
        TensorSpec(f"{prefix}.weight", (out_features, in_features), Role.DENSE_KERNEL),
        TensorSpec(f"{prefix}.bias", (out_features,), Role.BIAS),
    ]


def _norm(prefix: str, width: int) -> list[TensorSpec]:
    return [
        TensorSpec(f"{prefix}.weight", (width,), Role.NORM_SCALE),
        TensorSpec(f"{prefix}.bias", (width,), Role.NORM_SHIFT),
    ]


def layer_specs(config: AlbertConfig, group: int, inner: int, prefix: str = BACKBONE_PREFIX) -> list[TensorSpec]:
    """The tensors of one transformer block (group ``group``, position ``inner`` inside the group)."""
    h, i = config.hidden_size, config.intermediate_size
    p = f"{prefix}encoder.albert_layer_groups.{group}.albert_layers.{inner}"
    specs = [
        *_norm(f"{p}.full_layer_layer_norm", h),
        *_dense(f"{p}.attention.query", h, h),
        *_dense(f"{p}.attention.key", h, h),
        *_dense(f"{p}.attention.value", h, h),
        *_dense(f"{p}.attention.dense", h, h),
        *_norm(f"{p}.attention.LayerNorm", h),
    ]
    if config.position_embedding_type != "absolute":
        rows = 2 * config.max_position_embeddings - 1
        specs.append(TensorSpec(f"{p}.attention.distance_embedding.weight", (rows, config.head_size), Role.EMBEDDING))
    specs += [*_dense(f"{p}.ffn", i, h), *_dense(f"{p}.ffn_output", h, i)]
    return specs


def backbone_specs(config: AlbertConfig, with_pooler: bool = True, prefix: str = BACKBONE_PREFIX) -> list[TensorSpec]:
    """The tensors of :class:`AlbertModel`, named with ``prefix`` (``"albert."`` inside a head, ``""`` alone)."""
    e, h = config.embedding_size, config.hidden_size
    specs = [
        TensorSpec(f"{prefix}embeddings.word_embeddings.weight", (config.vocab_size, e), Role.EMBEDDING),
        TensorSpec(f"{prefix}embeddings.position_embeddings.weight", (config.max_position_embeddings, e),
                   Role.EMBEDDING),
        TensorSpec(f"{prefix}embeddings.token_type_embeddings.weight", (config.type_vocab_size, e), Role.EMBEDDING),
        *_norm(f"{prefix}embeddings.LayerNorm", e),
        *_dense(f"{prefix}encoder.embedding_hidden_mapping_in", h, e),
    ]
    for group in range(config.num_hidden_groups):
        for inner in range(config.inner_group_num):
            specs += layer_specs(config, group, inner, prefix)
    if with_pooler:
        specs += _dense(f"{prefix}pooler", h, h)
    return specs


def _part_specs(config: AlbertConfig, part: HeadPart) -> list[TensorSpec]:
    e, h = config.embedding_size, config.hidden_size
    if part.kind == "mlm":
        return [
            TensorSpec(f"{part.prefix}.bias", (config.vocab_size,), Role.BIAS),
            *_dense(f"{part.prefix}.dense", e, h),
            *_norm(f"{part.prefix}.LayerNorm", e),
        ]
    outputs = part_outputs(part, {"num_labels": config.num_labels})
    return [
        TensorSpec(f"{part.prefix}.weight", (outputs, h), Role.CLASSIFIER_WEIGHTS),
        TensorSpec(f"{part.prefix}.bias", (outputs,), Role.BIAS),
    ]


def head_specs(config: AlbertConfig, head: Head | str) -> list[TensorSpec]:
    """The tensors a task head adds on top of the backbone (its parts in :data:`~albert_core.heads.HEADS`)."""
    return [spec for part in head_spec(head).parts for spec in _part_specs(config, part)]


def canonical_specs(config: AlbertConfig, head: Head | str = Head.PRETRAINING) -> dict[str, TensorSpec]:
    """Every tensor of the model with ``head``, by canonical name, in a stable order.

    The base model (``head="base"``) is named as inside a head (``albert.`` prefix); see :func:`strip_backbone_prefix`
    for the names a stand-alone base model saves under.

    >>> from albert_core import AlbertConfig
    >>> cfg = AlbertConfig(vocab_size=10, embedding_size=4, hidden_size=8, num_hidden_layers=2,
    ...                    num_attention_heads=2, intermediate_size=16)
    >>> specs = canonical_specs(cfg, "masked_lm")
    >>> specs["predictions.dense.weight"].shape
    (4, 8)
    >>> "albert.pooler.weight" in specs
    False
    """
    head = Head(head)
    specs = backbone_specs(config, with_pooler=head_spec(head).pooler) + head_specs(config, head)
    return {spec.name: spec for spec in specs}


def strip_backbone_prefix(name: str) -> str:
    """``albert.pooler.weight`` -> ``pooler.weight``: the name a stand-alone base model uses."""
    return name[len(BACKBONE_PREFIX):] if name.startswith(BACKBONE_PREFIX) else name


def is_backbone_name(name: str) -> bool:
    """Whether canonical tensor ``name`` belongs to the backbone (``albert.*``) rather than a task head.

    >>> is_backbone_name("albert.pooler.weight"), is_backbone_name("classifier.weight")
    (True, False)
    """
    return name.startswith(BACKBONE_PREFIX)


def normalize_state_names(state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Bring the names of a Hugging Face PyTorch state dict to canonical form.

    A stand-alone base model saves ``embeddings.*`` / ``encoder.*`` / ``pooler.*``; those get the ``albert.`` prefix.
    Tied or derived entries are dropped: ``predictions.decoder.weight`` (the word embeddings) and
    ``predictions.decoder.bias`` (the same tensor as ``predictions.bias``; kept only when that one is absent), and the
    ``position_ids`` / ``token_type_ids`` buffers that some versions save.
    """
    out: dict[str, np.ndarray] = {}
    for name, array in state.items():
        if name.endswith(("embeddings.position_ids", "embeddings.token_type_ids")):
            continue
        if name.split(".", 1)[0] in ("embeddings", "encoder", "pooler"):
            name = BACKBONE_PREFIX + name
        out[name] = array
    out.pop("predictions.decoder.weight", None)
    decoder_bias = out.pop("predictions.decoder.bias", None)
    if decoder_bias is not None and "predictions.bias" not in out:
        out["predictions.bias"] = decoder_bias
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Format tables: canonical template -> (format template, layout)

_LAYER = "albert.encoder.albert_layer_groups.{g}.albert_layers.{i}."

#: Hugging Face TensorFlow (``tf_model.h5``) names, without the model-scope component that the h5 file prefixes.
HF_TF_TABLE: dict[str, tuple[str, Layout]] = {
    "albert.embeddings.word_embeddings.weight": ("albert/embeddings/word_embeddings/weight:0", Layout.SAME),
    "albert.embeddings.position_embeddings.weight": ("albert/embeddings/position_embeddings/embeddings:0",
                                                     Layout.SAME),
    "albert.embeddings.token_type_embeddings.weight": ("albert/embeddings/token_type_embeddings/embeddings:0",
                                                       Layout.SAME),
    "albert.embeddings.LayerNorm.weight": ("albert/embeddings/LayerNorm/gamma:0", Layout.SAME),
    "albert.embeddings.LayerNorm.bias": ("albert/embeddings/LayerNorm/beta:0", Layout.SAME),
    "albert.encoder.embedding_hidden_mapping_in.weight": ("albert/encoder/embedding_hidden_mapping_in/kernel:0",
                                                          Layout.TRANSPOSE),
    "albert.encoder.embedding_hidden_mapping_in.bias": ("albert/encoder/embedding_hidden_mapping_in/bias:0",
                                                        Layout.SAME),
    **{
        _LAYER + f"{module}.{param}": (
            "albert/encoder/albert_layer_groups_._{g}/albert_layers_._{i}/"
            + f"{module.replace('.', '/')}/{tf_param}:0",
            layout,
        )
        for module in ("attention.query", "attention.key", "attention.value", "attention.dense", "ffn", "ffn_output")
        for param, tf_param, layout in (("weight", "kernel", Layout.TRANSPOSE), ("bias", "bias", Layout.SAME))
    },
    **{
        _LAYER + f"{module}.{param}": (
            "albert/encoder/albert_layer_groups_._{g}/albert_layers_._{i}/"
            + f"{module.replace('.', '/')}/{tf_param}:0",
            Layout.SAME,
        )
        for module in ("attention.LayerNorm", "full_layer_layer_norm")
        for param, tf_param in (("weight", "gamma"), ("bias", "beta"))
    },
    "albert.pooler.weight": ("albert/pooler/kernel:0", Layout.TRANSPOSE),
    "albert.pooler.bias": ("albert/pooler/bias:0", Layout.SAME),
    "predictions.bias": ("predictions/bias:0", Layout.SAME),
    "predictions.dense.weight": ("predictions/dense/kernel:0", Layout.TRANSPOSE),
    "predictions.dense.bias": ("predictions/dense/bias:0", Layout.SAME),
    "predictions.LayerNorm.weight": ("predictions/LayerNorm/gamma:0", Layout.SAME),
    "predictions.LayerNorm.bias": ("predictions/LayerNorm/beta:0", Layout.SAME),
    "sop_classifier.classifier.weight": ("sop_classifier/classifier/kernel:0", Layout.TRANSPOSE),
    "sop_classifier.classifier.bias": ("sop_classifier/classifier/bias:0", Layout.SAME),
    "classifier.weight": ("classifier/kernel:0", Layout.TRANSPOSE),
    "classifier.bias": ("classifier/bias:0", Layout.SAME),
    "qa_outputs.weight": ("qa_outputs/kernel:0", Layout.TRANSPOSE),
    "qa_outputs.bias": ("qa_outputs/bias:0", Layout.SAME),
}

#: The Hugging Face TF MLM head keeps a second, unused copy of the output bias; it is written equal to
#: ``predictions.bias`` and ignored on reading.
HF_TF_REDUNDANT = {"predictions/decoder/bias:0": "predictions.bias"}

_TF1_LAYER = "bert/encoder/transformer/group_{g}/inner_group_{i}/"

#: Original google-research TF1 checkpoint names (``model.ckpt-*``), for pre-training and the fine-tuning heads of
#: the original scripts (``run_classifier.py``: root-level ``output_weights``; SQuAD v1: ``cls/squad``).
TF1_TABLE: dict[str, tuple[str, Layout]] = {
    "albert.embeddings.word_embeddings.weight": ("bert/embeddings/word_embeddings", Layout.SAME),
    "albert.embeddings.position_embeddings.weight": ("bert/embeddings/position_embeddings", Layout.SAME),
    "albert.embeddings.token_type_embeddings.weight": ("bert/embeddings/token_type_embeddings", Layout.SAME),
    "albert.embeddings.LayerNorm.weight": ("bert/embeddings/LayerNorm/gamma", Layout.SAME),
    "albert.embeddings.LayerNorm.bias": ("bert/embeddings/LayerNorm/beta", Layout.SAME),
    "albert.encoder.embedding_hidden_mapping_in.weight": ("bert/encoder/embedding_hidden_mapping_in/kernel",
                                                          Layout.TRANSPOSE),
    "albert.encoder.embedding_hidden_mapping_in.bias": ("bert/encoder/embedding_hidden_mapping_in/bias", Layout.SAME),
    _LAYER + "attention.query.weight": (_TF1_LAYER + "attention_1/self/query/kernel", Layout.TRANSPOSE),
    _LAYER + "attention.query.bias": (_TF1_LAYER + "attention_1/self/query/bias", Layout.SAME),
    _LAYER + "attention.key.weight": (_TF1_LAYER + "attention_1/self/key/kernel", Layout.TRANSPOSE),
    _LAYER + "attention.key.bias": (_TF1_LAYER + "attention_1/self/key/bias", Layout.SAME),
    _LAYER + "attention.value.weight": (_TF1_LAYER + "attention_1/self/value/kernel", Layout.TRANSPOSE),
    _LAYER + "attention.value.bias": (_TF1_LAYER + "attention_1/self/value/bias", Layout.SAME),
    _LAYER + "attention.dense.weight": (_TF1_LAYER + "attention_1/output/dense/kernel", Layout.TRANSPOSE),
    _LAYER + "attention.dense.bias": (_TF1_LAYER + "attention_1/output/dense/bias", Layout.SAME),
    _LAYER + "attention.LayerNorm.weight": (_TF1_LAYER + "LayerNorm/gamma", Layout.SAME),
    _LAYER + "attention.LayerNorm.bias": (_TF1_LAYER + "LayerNorm/beta", Layout.SAME),
    _LAYER + "ffn.weight": (_TF1_LAYER + "ffn_1/intermediate/dense/kernel", Layout.TRANSPOSE),
    _LAYER + "ffn.bias": (_TF1_LAYER + "ffn_1/intermediate/dense/bias", Layout.SAME),
    _LAYER + "ffn_output.weight": (_TF1_LAYER + "ffn_1/intermediate/output/dense/kernel", Layout.TRANSPOSE),
    _LAYER + "ffn_output.bias": (_TF1_LAYER + "ffn_1/intermediate/output/dense/bias", Layout.SAME),
    _LAYER + "full_layer_layer_norm.weight": (_TF1_LAYER + "LayerNorm_1/gamma", Layout.SAME),
    _LAYER + "full_layer_layer_norm.bias": (_TF1_LAYER + "LayerNorm_1/beta", Layout.SAME),
    "albert.pooler.weight": ("bert/pooler/dense/kernel", Layout.TRANSPOSE),
    "albert.pooler.bias": ("bert/pooler/dense/bias", Layout.SAME),
    "predictions.bias": ("cls/predictions/output_bias", Layout.SAME),
    "predictions.dense.weight": ("cls/predictions/transform/dense/kernel", Layout.TRANSPOSE),
    "predictions.dense.bias": ("cls/predictions/transform/dense/bias", Layout.SAME),
    "predictions.LayerNorm.weight": ("cls/predictions/transform/LayerNorm/gamma", Layout.SAME),
    "predictions.LayerNorm.bias": ("cls/predictions/transform/LayerNorm/beta", Layout.SAME),
    # output_weights are [classes, hidden] in the original code, the PyTorch layout already
    "sop_classifier.classifier.weight": ("cls/seq_relationship/output_weights", Layout.SAME),
    "sop_classifier.classifier.bias": ("cls/seq_relationship/output_bias", Layout.SAME),
    "classifier.weight": ("output_weights", Layout.SAME),
    "classifier.bias": ("output_bias", Layout.SAME),
    "qa_outputs.weight": ("cls/squad/output_weights", Layout.SAME),
    "qa_outputs.bias": ("cls/squad/output_bias", Layout.SAME),
}

#: TF1 variables that are training state, not model weights: skipped when reading.
TF1_SKIPPED_PATTERNS = (re.compile(r"(^|/)adam_[mv]$"), re.compile(r"(^|/)global_step$"),
                        re.compile(r"(^|/)(Adam|Adam_1|Momentum|LAMB|lamb_m|lamb_v)$"))

TF1_MODULE_PREFIXES = ("module/",)  # TF-Hub exports wrap every variable in module/

FORMAT_TABLES: dict[str, dict[str, tuple[str, Layout]]] = {"hf-tf": HF_TF_TABLE, "tf1": TF1_TABLE}


_TEMPLATE_FIELD = re.compile(r"\{([gi])\}")


def _template_for(name: str) -> tuple[str, dict[str, str]]:
    """``albert.encoder.albert_layer_groups.1.albert_layers.0.ffn.weight`` -> (template, {"g": "1", "i": "0"})."""
    match = re.match(r"^albert\.encoder\.albert_layer_groups\.(\d+)\.albert_layers\.(\d+)\.(.*)$", name)
    if match:
        return _LAYER + match.group(3), {"g": match.group(1), "i": match.group(2)}
    return name, {}


def format_name(name: str, fmt: str) -> tuple[str, Layout]:
    """The name and layout of canonical tensor ``name`` in format ``fmt`` (``"hf-tf"`` or ``"tf1"``).

    >>> format_name("albert.encoder.albert_layer_groups.0.albert_layers.1.ffn.weight", "tf1")
    ('bert/encoder/transformer/group_0/inner_group_1/ffn_1/intermediate/dense/kernel', <Layout.TRANSPOSE: 'transpose'>)
    """
    table = FORMAT_TABLES[fmt]
    template, fields = _template_for(name)
    if template not in table:
        raise CheckpointError(f"canonical tensor {name!r} has no name in the {fmt} format")
    target, layout = table[template]
    return target.format(**fields), layout


def _reverse_patterns(fmt: str) -> list[tuple[re.Pattern[str], str, Layout]]:
    patterns = []
    for canonical, (target, layout) in FORMAT_TABLES[fmt].items():
        regex = re.escape(target).replace(r"\{g\}", r"(?P<g>\d+)").replace(r"\{i\}", r"(?P<i>\d+)")
        patterns.append((re.compile(f"^{regex}$"), canonical, layout))
    return patterns


def canonical_name(format_specific: str, fmt: str) -> tuple[str, Layout] | None:
    """The canonical name and layout of a tensor named ``format_specific`` in ``fmt``; ``None`` if unknown."""
    for regex, canonical, layout in _reverse_patterns(fmt):
        match = regex.match(format_specific)
        if match:
            return canonical.format(**match.groupdict()), layout
    return None


def apply_layout(array: np.ndarray, layout: Layout) -> np.ndarray:
    """Canonical -> stored (the transpose is its own inverse, so this also maps stored -> canonical)."""
    if layout is Layout.TRANSPOSE:
        if array.ndim != 2:
            raise CheckpointError(f"expected a 2-D dense kernel to transpose, got shape {array.shape}")
        return np.ascontiguousarray(array.T)
    return array


def to_tf_layout(spec: TensorSpec, array: np.ndarray) -> np.ndarray:
    """A canonical array in the layout the TensorFlow backend stores ``spec`` in."""
    return apply_layout(array, spec.tf_layout)


def from_tf_layout(spec: TensorSpec, array: np.ndarray) -> np.ndarray:
    """A TensorFlow-backend array of ``spec`` in canonical layout."""
    return apply_layout(array, spec.tf_layout)


def to_format(state: Mapping[str, np.ndarray], fmt: str) -> dict[str, np.ndarray]:
    """Rename and re-lay a canonical state for format ``fmt``."""
    out: dict[str, np.ndarray] = {}
    for name, array in state.items():
        target, layout = format_name(name, fmt)
        out[target] = apply_layout(array, layout)
    return out


def from_format(stored: Mapping[str, np.ndarray], fmt: str) -> tuple[dict[str, np.ndarray], list[str]]:
    """Canonical state from format ``fmt``; returns the state and the names that map to nothing canonical."""
    state: dict[str, np.ndarray] = {}
    unknown: list[str] = []
    for name, array in stored.items():
        hit = canonical_name(name, fmt)
        if hit is None:
            unknown.append(name)
            continue
        canonical, layout = hit
        if canonical in state:
            raise CheckpointError(f"two {fmt} tensors map to canonical {canonical!r} (second: {name!r})")
        state[canonical] = apply_layout(np.asarray(array), layout)
    return state, unknown


# ---------------------------------------------------------------------------------------------------------------------
# Matching a loaded state against a model


@dataclass
class LoadReport:
    """What happened when a checkpoint state was matched against a model's tensors."""

    state: dict[str, np.ndarray]  # canonical name -> array to assign, PyTorch layout, every one shape-checked
    missing: list[str]  # tensors the model has and the checkpoint lacks (left at their initial values)
    unexpected: list[str]  # tensors the checkpoint has and the model does not use

    def summary(self) -> str:
        parts = []
        if self.missing:
            parts.append(f"newly initialised (not in the checkpoint): {', '.join(self.missing)}")
        if self.unexpected:
            parts.append(f"unused (not in this model): {', '.join(self.unexpected)}")
        return "; ".join(parts) or "every tensor matched"


def match_state(
    specs: Mapping[str, TensorSpec], loaded: Mapping[str, np.ndarray], strict: bool = False
) -> LoadReport:
    """Match a canonical ``loaded`` state against a model's ``specs``.

    Shapes must agree exactly; a mismatch raises :class:`~albert_core.CheckpointError` naming the tensor and both
    shapes. With ``strict=True`` any missing or unexpected tensor raises too. The arrays must already be in canonical
    form (see :func:`normalize_state_names`).
    """
    loaded = normalize_state_names(loaded)
    mismatched = [
        f"{name}: checkpoint {tuple(loaded[name].shape)} vs model {spec.shape}"
        for name, spec in specs.items()
        if name in loaded and tuple(loaded[name].shape) != spec.shape
    ]
    if mismatched:
        raise CheckpointError("shape mismatch between checkpoint and model: " + "; ".join(mismatched))
    for name, array in loaded.items():
        if name in specs and not np.issubdtype(np.asarray(array).dtype, np.floating):
            raise CheckpointError(f"tensor {name!r} has dtype {np.asarray(array).dtype}, expected a float type")
    report = LoadReport(
        state={name: loaded[name] for name in specs if name in loaded},
        missing=[name for name in specs if name not in loaded],
        unexpected=[name for name in loaded if name not in specs],
    )
    if strict and (report.missing or report.unexpected):
        raise CheckpointError(f"checkpoint does not match the model exactly: {report.summary()}")
    return report


def check_names_complete(specs: Iterable[str], names: Iterable[str], what: str) -> None:
    """Raise if ``names`` is not exactly ``specs`` (used by the backends to check their own variable maps)."""
    specs, names = set(specs), set(names)
    if specs != names:
        raise CheckpointError(
            f"{what}: missing {sorted(specs - names)}, unexpected {sorted(names - specs)}"
        )
