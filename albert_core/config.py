"""The ALBERT model configuration, shared by the PyTorch and TensorFlow backends.

:class:`AlbertConfig` holds every hyper-parameter of an ALBERT model, validates them as a whole, and reads and
writes the two configuration formats in circulation: Hugging Face ``config.json`` (``model_type: "albert"``) and the
original google-research ``albert_config.json``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import MAX_JSON_FILE_BYTES, MAX_NUM_LABELS, MAX_TRANSFORMER_LAYERS, ConfigError
from .filenames import MODEL_CONFIG, ORIGINAL_CONFIG


#: Activations both backends implement, with the formula each name stands for.
ACTIVATIONS: dict[str, str] = {
    "gelu": "x * Phi(x), Phi the exact (erf) Gaussian CDF",
    "gelu_new": "tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), the original ALBERT's GELU",
    "gelu_pytorch_tanh": "the same tanh approximation as gelu_new",
    "gelu_fast": "tanh approximation written as 0.5 x (1 + tanh(0.7978845608 x (1 + 0.044715 x^2)))",
    "quick_gelu": "x * sigmoid(1.702 x)",
    "relu": "max(x, 0)",
    "relu6": "min(max(x, 0), 6)",
    "silu": "x * sigmoid(x)",
    "swish": "x * sigmoid(x) (another name for silu)",
    "mish": "x * tanh(softplus(x))",
    "tanh": "tanh(x)",
    "sigmoid": "1 / (1 + exp(-x))",
    "linear": "x (identity)",
}

#: The function each activation name denotes; each backend implements every function once, keyed by these values.
#: (``gelu_fast`` writes the tanh approximation with a rounded constant; in float32 it is the same function.)
ACTIVATION_FUNCTIONS: dict[str, str] = {
    "gelu": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "gelu_fast": "gelu_tanh",
    "quick_gelu": "quick_gelu",
    "relu": "relu",
    "relu6": "relu6",
    "silu": "silu",
    "swish": "silu",
    "mish": "mish",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "linear": "linear",
}

POSITION_EMBEDDING_TYPES = ("absolute", "relative_key", "relative_key_query")
PROBLEM_TYPES = ("regression", "single_label_classification", "multi_label_classification")

# Keys that Hugging Face writes into every config.json but that carry no model hyper-parameter.
_HF_BOOKKEEPING_KEYS = {
    "model_type",
    "architectures",
    "transformers_version",
    "torch_dtype",
    "dtype",
    "_name_or_path",
    "_attn_implementation_autoset",
    "tokenizer_class",
}


@dataclass
class AlbertConfig:
    """Hyper-parameters of an ALBERT model.

    The defaults are those of the reference ALBERT configuration, which is shaped like albert-xxlarge. Use
    :meth:`from_preset` for the published sizes, or pass the fields you need for a custom model.

    Args:
        vocab_size: number of SentencePiece ids the embedding table holds.
        embedding_size: width E of the factorised token embedding (ALBERT's first parameter-reduction trick).
        hidden_size: width H of the transformer; the embeddings are projected from E to H.
        num_hidden_layers: number of transformer layers L that the forward pass runs.
        num_hidden_groups: number of distinct parameter groups the L layers share (ALBERT's second trick). Layer
            ``l`` uses group ``int(l / num_hidden_layers * num_hidden_groups)``, exactly as the original code does.
        num_attention_heads: attention heads; must divide ``hidden_size``.
        intermediate_size: width of the feed-forward block.
        inner_group_num: transformer blocks inside each group, run one after another per layer.
        hidden_act: activation of the feed-forward block and the MLM transform; one of :data:`ACTIVATIONS`.
        hidden_dropout_prob: dropout on embeddings, attention output and feed-forward output.
        attention_probs_dropout_prob: dropout on the attention probabilities.
        max_position_embeddings: longest sequence the position embeddings cover.
        type_vocab_size: number of token-type (segment) ids.
        initializer_range: standard deviation of the (truncated) normal weight initialiser.
        layer_norm_eps: epsilon of every LayerNorm.
        classifier_dropout_prob: dropout before the sequence/token/multiple-choice classifiers.
        position_embedding_type: ``"absolute"``, ``"relative_key"`` or ``"relative_key_query"``.
        pad_token_id, bos_token_id, eos_token_id: special ids (``<pad>``, ``[CLS]``, ``[SEP]`` in the ALBERT
            vocabulary).
        num_labels: number of classes of the classification heads (derived from ``id2label`` when that is given).
            Assigning a different count to an existing config (``config.num_labels = 5``) resets ``id2label`` and
            ``label2id`` to ``LABEL_0`` ... , as transformers does.
        id2label, label2id: class names; default ``LABEL_0`` ... ``LABEL_{num_labels-1}``.
        problem_type: ``"regression"``, ``"single_label_classification"``, ``"multi_label_classification"`` or
            ``None`` (inferred from ``num_labels`` and the labels' dtype at loss time).
        extra: keys of a loaded configuration file that this class does not model (for instance the original
            ``net_structure_type``); kept and written back unchanged.

    Example:
        >>> from albert_core import AlbertConfig
        >>> config = AlbertConfig.from_preset("albert-base-v2")
        >>> config.hidden_size, config.num_hidden_layers, config.hidden_act
        (768, 12, 'gelu_new')
        >>> tiny = AlbertConfig(vocab_size=100, embedding_size=8, hidden_size=16, num_hidden_layers=2,
        ...                     num_attention_heads=2, intermediate_size=32)
        >>> tiny.head_size
        8
    """

    vocab_size: int = 30000
    embedding_size: int = 128
    hidden_size: int = 4096
    num_hidden_layers: int = 12
    num_hidden_groups: int = 1
    num_attention_heads: int = 64
    intermediate_size: int = 16384
    inner_group_num: int = 1
    hidden_act: str = "gelu_new"
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    classifier_dropout_prob: float | None = 0.1
    position_embedding_type: str = "absolute"
    pad_token_id: int | None = 0
    bos_token_id: int | None = 2
    eos_token_id: int | None = 3
    num_labels: int | None = None
    id2label: dict[int, str] | None = None
    label2id: dict[str, int] | None = None
    problem_type: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __setattr__(self, name: str, value: Any) -> None:
        # like transformers: assigning a different num_labels to a built config regenerates the label tables
        # (LABEL_0 ...), so ``config.num_labels = 5`` followed by building a model works
        regenerate = (name == "num_labels" and isinstance(self.__dict__.get("id2label"), dict)
                      and isinstance(value, int) and not isinstance(value, bool)
                      and value != len(self.__dict__["id2label"]))
        if regenerate:
            _check_count("num_labels", value, MAX_NUM_LABELS)
        object.__setattr__(self, name, value)
        if regenerate:
            object.__setattr__(self, "id2label", {i: f"LABEL_{i}" for i in range(value)})
            object.__setattr__(self, "label2id", {f"LABEL_{i}": i for i in range(value)})

    def __post_init__(self) -> None:
        # the label tables are built from num_labels and id2label: check their types and sizes before building them
        if self.num_labels is not None:
            _check_count("num_labels", self.num_labels, MAX_NUM_LABELS)
        if self.id2label is not None:
            self.id2label = _label_table("id2label", self.id2label, key_type=int)
            if self.num_labels is not None and self.num_labels != len(self.id2label):
                raise ConfigError(
                    f"num_labels={self.num_labels} disagrees with id2label, which names {len(self.id2label)} labels"
                )
            self.num_labels = len(self.id2label)
        if self.num_labels is None:
            self.num_labels = 2
        if self.id2label is None:
            self.id2label = {i: f"LABEL_{i}" for i in range(self.num_labels)}
        if self.label2id is None:
            self.label2id = {name: i for i, name in self.id2label.items()}
        else:
            self.label2id = _label_table("label2id", self.label2id, key_type=str)
        self.validate()

    # ------------------------------------------------------------------ validation

    def validate(self) -> None:
        """Check that the fields describe a model that can be built.

        Called on construction; call it again after changing fields by hand.

        Raises:
            ~albert_core.ConfigError: naming the first offending field (wrong type, out of range, ``hidden_size``
                not divisible by ``num_attention_heads``, unknown activation, ...).

        Example:
            >>> from albert_core import AlbertConfig, ConfigError
            >>> config = AlbertConfig(vocab_size=100, embedding_size=8, hidden_size=8, num_hidden_layers=2,
            ...                       num_attention_heads=2, intermediate_size=16)
            >>> config.hidden_size = 9
            >>> try:
            ...     config.validate()
            ... except ConfigError as exc:
            ...     print(exc)
            hidden_size=9 is not divisible by num_attention_heads=2
        """
        for name in (
            "vocab_size",
            "embedding_size",
            "hidden_size",
            "num_hidden_layers",
            "num_hidden_groups",
            "num_attention_heads",
            "intermediate_size",
            "inner_group_num",
            "max_position_embeddings",
            "type_vocab_size",
            "num_labels",
        ):
            _check_count(name, getattr(self, name))
        _check_count("num_hidden_layers", self.num_hidden_layers, MAX_TRANSFORMER_LAYERS)
        _check_count("num_labels", self.num_labels, MAX_NUM_LABELS)
        if self.num_hidden_groups * self.inner_group_num > MAX_TRANSFORMER_LAYERS:
            raise ConfigError(
                f"num_hidden_groups * inner_group_num = {self.num_hidden_groups * self.inner_group_num} distinct "
                f"blocks is above the limit of {MAX_TRANSFORMER_LAYERS}"
            )
        for name in ("hidden_act", "position_embedding_type"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError(f"{name} must be a string, got {getattr(self, name)!r:.100}")
        if self.problem_type is not None and not isinstance(self.problem_type, str):
            raise ConfigError(f"problem_type must be a string or null, got {self.problem_type!r:.100}")
        if not isinstance(self.extra, dict):
            raise ConfigError(f"extra must be a dict, got {type(self.extra).__name__}")
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(
                f"hidden_size={self.hidden_size} is not divisible by num_attention_heads={self.num_attention_heads}"
            )
        if self.num_hidden_groups > self.num_hidden_layers:
            raise ConfigError(
                f"num_hidden_groups={self.num_hidden_groups} is larger than num_hidden_layers="
                f"{self.num_hidden_layers}: some groups would never be used"
            )
        if self.hidden_act not in ACTIVATIONS:
            raise ConfigError(f"unknown hidden_act {self.hidden_act!r}; choose one of {sorted(ACTIVATIONS)}")
        if self.position_embedding_type not in POSITION_EMBEDDING_TYPES:
            raise ConfigError(
                f"unknown position_embedding_type {self.position_embedding_type!r}; "
                f"choose one of {list(POSITION_EMBEDDING_TYPES)}"
            )
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout_prob"):
            value = getattr(self, name)
            if value is None and name == "classifier_dropout_prob":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be a probability in [0, 1], got {value!r}")
            if value == 1.0:
                raise ConfigError(f"{name}=1.0 would drop every activation")
        for name in ("initializer_range", "layer_norm_eps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ConfigError(f"{name} must be a positive number, got {value!r:.100}")
        for name in ("pad_token_id", "bos_token_id", "eos_token_id"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < self.vocab_size:
                raise ConfigError(f"{name}={value!r} is not an id in [0, vocab_size={self.vocab_size})")
        if self.problem_type is not None and self.problem_type not in PROBLEM_TYPES:
            raise ConfigError(f"unknown problem_type {self.problem_type!r}; choose one of {list(PROBLEM_TYPES)}")
        if sorted(self.id2label) != list(range(self.num_labels)):
            raise ConfigError(f"id2label keys must be 0..{self.num_labels - 1}, got {sorted(self.id2label)}")
        if {v: k for k, v in self.id2label.items()} != self.label2id:
            raise ConfigError(f"label2id {self.label2id} is not the inverse of id2label {self.id2label}")

    # ------------------------------------------------------------------ derived quantities

    @property
    def head_size(self) -> int:
        """The width of one attention head, ``hidden_size // num_attention_heads``."""
        return self.hidden_size // self.num_attention_heads

    @property
    def effective_classifier_dropout(self) -> float:
        """Dropout before the sequence, token and multiple-choice classifiers.

        ``classifier_dropout_prob``, or ``hidden_dropout_prob`` when that is ``None``.

        Example:
            >>> AlbertConfig(hidden_dropout_prob=0.1, classifier_dropout_prob=None).effective_classifier_dropout
            0.1
            >>> AlbertConfig(hidden_dropout_prob=0.1, classifier_dropout_prob=0.2).effective_classifier_dropout
            0.2
        """
        if self.classifier_dropout_prob is None:
            return self.hidden_dropout_prob
        return self.classifier_dropout_prob

    def group_of_layer(self, layer_index: int) -> int:
        """The parameter group that transformer layer ``layer_index`` uses.

        This is the original ALBERT's formula, evaluated in double precision exactly as the original does:
        ``int(layer_index / num_hidden_layers * num_hidden_groups)``. Floating-point rounding makes it differ from
        exact arithmetic in rare shapes (22 layers in 22 groups: layer 15 uses group 14), and from transformers'
        ``int(layer_index / (num_hidden_layers / num_hidden_groups))`` in others (18 layers in 14 groups: layer 9
        uses group 7 here and in the original, group 6 in transformers). Checkpoints trained with the original code
        were trained with this mapping.

        >>> AlbertConfig(num_hidden_layers=5, num_hidden_groups=3, hidden_size=64, num_attention_heads=1,
        ...              intermediate_size=8).layer_groups()
        [0, 0, 1, 1, 2]
        """
        if not 0 <= layer_index < self.num_hidden_layers:
            raise IndexError(f"layer_index {layer_index} is outside [0, {self.num_hidden_layers})")
        return int(layer_index / self.num_hidden_layers * self.num_hidden_groups)

    def layer_groups(self) -> list[int]:
        """The group index of every layer, in order (:meth:`group_of_layer` for ``0 .. num_hidden_layers - 1``).

        Returns:
            a list of ``num_hidden_layers`` ints in ``[0, num_hidden_groups)``.

        Example:
            >>> AlbertConfig(num_hidden_layers=4, num_hidden_groups=2, hidden_size=8, num_attention_heads=2,
            ...              intermediate_size=16).layer_groups()
            [0, 0, 1, 1]
        """
        return [self.group_of_layer(i) for i in range(self.num_hidden_layers)]

    def infer_problem_type(self, labels_are_integer: bool) -> str:
        """The loss the sequence-classification head uses when ``problem_type`` is unset.

        One label means regression; integer labels mean single-label classification (cross-entropy); anything else
        (float multi-hot targets) means multi-label classification (binary cross-entropy per class).

        Args:
            labels_are_integer: whether the labels passed to the model have an integer dtype.

        Returns:
            ``problem_type`` when it is set, else ``"regression"``, ``"single_label_classification"`` or
            ``"multi_label_classification"`` as described above.

        Example:
            >>> config = AlbertConfig(hidden_size=8, num_attention_heads=2, intermediate_size=16, num_labels=3)
            >>> config.infer_problem_type(True), config.infer_problem_type(False)
            ('single_label_classification', 'multi_label_classification')
            >>> config.copy(num_labels=1).infer_problem_type(True)
            'regression'
        """
        if self.problem_type is not None:
            return self.problem_type
        if self.num_labels == 1:
            return "regression"
        return "single_label_classification" if labels_are_integer else "multi_label_classification"

    # ------------------------------------------------------------------ presets

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> "AlbertConfig":
        """The configuration of a published ALBERT model (see :data:`PRESETS`), with optional overrides.

        Every preset uses the original code's tanh-approximate GELU (``gelu_new``), also for v1 models whose
        published ``config.json`` says ``gelu``.

        Args:
            name: a key of :data:`~albert_core.PRESETS` (``"albert-base-v2"``, ...); a Hub-style prefix such as
                ``"albert/albert-base-v2"`` is ignored.
            overrides: fields to set instead of the preset's values (``num_labels=3``, ...).

        Raises:
            ~albert_core.ConfigError: for an unknown preset name.

        Example:
            >>> config = AlbertConfig.from_preset("albert/albert-large-v2", num_labels=3)
            >>> config.hidden_size, config.num_hidden_layers, config.num_labels
            (1024, 24, 3)
        """
        key = name.split("/")[-1]
        if key not in PRESETS:
            raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
        return cls(**{**PRESETS[key], **overrides})

    # ------------------------------------------------------------------ (de)serialisation

    def to_dict(self) -> dict[str, Any]:
        """The Hugging Face ``config.json`` content (JSON-ready: label ids become strings).

        Returns:
            a new dict with ``model_type: "albert"``, every field except ``extra``, and then the keys of ``extra``
            (which never override a field).

        Example:
            >>> d = AlbertConfig(hidden_size=8, num_attention_heads=2, intermediate_size=16).to_dict()
            >>> d["model_type"], d["hidden_size"], d["id2label"]
            ('albert', 8, {'0': 'LABEL_0', '1': 'LABEL_1'})
        """
        out: dict[str, Any] = {"model_type": "albert"}
        for f in dataclasses.fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if f.name == "id2label":
                value = {str(k): v for k, v in value.items()}
            out[f.name] = copy.deepcopy(value)
        for key, value in self.extra.items():
            out.setdefault(key, copy.deepcopy(value))
        return out

    @classmethod
    def coerce(cls, config: Any) -> "AlbertConfig":
        """``config`` as an :class:`AlbertConfig`: itself, or read with :meth:`from_dict` from a ``config.json``
        mapping or a ``transformers.AlbertConfig`` object (duck-typed: anything with ``to_dict()``).

        Raises:
            ~albert_core.ConfigError: for anything else.

        Example:
            >>> AlbertConfig.coerce({"hidden_size": 8, "num_attention_heads": 2}).hidden_size
            8
        """
        if isinstance(config, cls):
            return config
        if isinstance(config, Mapping) or callable(getattr(config, "to_dict", None)):
            return cls.from_dict(config)
        raise ConfigError(f"expected an albert_core.AlbertConfig, a config.json mapping or a transformers "
                          f"AlbertConfig, got {type(config).__name__}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "AlbertConfig":
        """Build a configuration from a Hugging Face ``config.json`` mapping; unknown keys go to ``extra``.

        Hugging Face bookkeeping keys (``architectures``, ``transformers_version``, ``torch_dtype``, ...) are dropped.
        Missing fields take their defaults. ``data`` may also be a ``transformers.AlbertConfig`` object (anything
        with a ``to_diff_dict()`` or ``to_dict()`` method giving such a mapping): the keys it would write into
        ``config.json`` are read, so fields it leaves at transformers' defaults take ours, which are the same.

        Raises:
            ~albert_core.ConfigError: when ``model_type`` is not ``"albert"`` or the fields do not validate.

        Example:
            >>> config = AlbertConfig.from_dict({"model_type": "albert", "hidden_size": 8, "num_attention_heads": 2,
            ...                                  "intermediate_size": 16, "my_note": "kept"})
            >>> config.hidden_size, config.extra
            (8, {'my_note': 'kept'})
            >>> AlbertConfig.from_dict(config.to_dict()) == config
            True
        """
        data = _as_mapping(data)
        model_type = data.get("model_type", "albert")
        if model_type != "albert":
            raise ConfigError(f"config has model_type={model_type!r:.100}, expected 'albert'")
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        kwargs = {k: v for k, v in data.items() if k in known}
        extra = {k: v for k, v in data.items() if k not in known and k not in _HF_BOOKKEEPING_KEYS}
        # transformers writes num_labels implicitly through id2label; an explicit num_labels that disagrees with
        # a default two-label id2label is an older-format quirk, so the explicit count wins.
        if ("num_labels" in kwargs and isinstance(kwargs.get("id2label"), Mapping)
                and kwargs["num_labels"] != len(kwargs["id2label"])):
            kwargs.pop("id2label")
            kwargs.pop("label2id", None)
        return cls(**kwargs, extra=extra)

    @classmethod
    def from_original_dict(cls, data: Mapping[str, Any]) -> "AlbertConfig":
        """Build a configuration from the original google-research ``albert_config.json`` mapping.

        In the original code ``hidden_act: "gelu"`` names the tanh approximation, so it becomes ``gelu_new`` here;
        the original LayerNorm epsilon is 1e-12. Keys with no counterpart (``net_structure_type``,
        ``down_scale_factor``, ...) are kept in ``extra``.

        Raises:
            ~albert_core.ConfigError: when the file asks for a structure this library does not implement
                (``net_structure_type``, ``down_scale_factor``, ``gap_size``, ``num_memory_blocks`` other than
                their neutral values, or ``layers_to_keep``).

        Example:
            >>> original = {"hidden_act": "gelu", "hidden_size": 8, "num_attention_heads": 2, "intermediate_size": 16,
            ...             "net_structure_type": 0}
            >>> config = AlbertConfig.from_original_dict(original)
            >>> config.hidden_act, config.layer_norm_eps, config.extra
            ('gelu_new', 1e-12, {'net_structure_type': 0})
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"a configuration must be a mapping of field names to values, got {type(data).__name__}")
        data = dict(data)
        act = data.get("hidden_act", "gelu")
        if act == "gelu":
            data["hidden_act"] = "gelu_new"
        data.setdefault("layer_norm_eps", 1e-12)
        for unsupported, neutral in (("net_structure_type", 0), ("down_scale_factor", 1), ("gap_size", 0),
                                     ("num_memory_blocks", 0)):
            if data.get(unsupported, neutral) != neutral:
                raise ConfigError(
                    f"original config sets {unsupported}={data[unsupported]!r}; only the standard ALBERT structure "
                    f"({unsupported}={neutral}) is supported"
                )
        if data.get("layers_to_keep"):
            raise ConfigError(f"original config sets layers_to_keep={data['layers_to_keep']!r}, which is unsupported")
        return cls.from_dict(data)

    def to_original_dict(self) -> dict[str, Any]:
        """The configuration in the original ``albert_config.json`` format (only the original's own keys).

        ``gelu_new`` (and ``gelu_pytorch_tanh``) are written as the original's ``"gelu"``; labels, ids and other
        Hugging Face-only fields are left out.

        Raises:
            ~albert_core.ConfigError: when ``hidden_act`` has no name in the original code (for instance the exact
                ``"gelu"``), or ``position_embedding_type`` is not ``"absolute"``.

        Example:
            >>> d = AlbertConfig(hidden_size=8, num_attention_heads=2, intermediate_size=16).to_original_dict()
            >>> d["hidden_act"], d["hidden_size"], "layer_norm_eps" in d
            ('gelu', 8, False)
            >>> AlbertConfig.from_original_dict(d).hidden_act
            'gelu_new'
        """
        if self.hidden_act not in ("gelu_new", "gelu_pytorch_tanh", "relu", "tanh", "linear"):
            raise ConfigError(
                f"hidden_act={self.hidden_act!r} has no name in the original ALBERT code "
                "(its 'gelu' is the tanh approximation, gelu_new here)"
            )
        if self.position_embedding_type != "absolute":
            raise ConfigError("the original ALBERT code supports only absolute position embeddings")
        out = {
            "attention_probs_dropout_prob": self.attention_probs_dropout_prob,
            "hidden_act": "gelu" if self.hidden_act in ("gelu_new", "gelu_pytorch_tanh") else self.hidden_act,
            "hidden_dropout_prob": self.hidden_dropout_prob,
            "embedding_size": self.embedding_size,
            "hidden_size": self.hidden_size,
            "initializer_range": self.initializer_range,
            "intermediate_size": self.intermediate_size,
            "max_position_embeddings": self.max_position_embeddings,
            "num_attention_heads": self.num_attention_heads,
            "num_hidden_layers": self.num_hidden_layers,
            "num_hidden_groups": self.num_hidden_groups,
            "net_structure_type": 0,
            "gap_size": 0,
            "num_memory_blocks": 0,
            "inner_group_num": self.inner_group_num,
            "down_scale_factor": 1,
            "type_vocab_size": self.type_vocab_size,
            "vocab_size": self.vocab_size,
        }
        return out

    def to_json_string(self) -> str:
        """:meth:`to_dict` as indented JSON text with sorted keys and a final newline (what :meth:`save_pretrained`
        writes when no ``architectures`` are given).

        Example:
            >>> text = AlbertConfig(hidden_size=8, num_attention_heads=2, intermediate_size=16).to_json_string()
            >>> text.splitlines()[0], text.endswith("}\\n")
            ('{', True)
        """
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json_file(cls, path: str | os.PathLike[str]) -> "AlbertConfig":
        """Read a ``config.json`` (Hugging Face) or ``albert_config.json`` (original) file.

        Which of the two formats a file is in is decided by :func:`~albert_core.config.is_original_config` from its
        content and name (the two read ``hidden_act: "gelu"`` differently, so the rule is strict: see there).

        Args:
            path: the JSON file.

        Raises:
            FileNotFoundError: when ``path`` does not exist.
            ~albert_core.ConfigError: when the file is not a JSON object or its fields do not validate.

        Example:
            >>> import json, pathlib, tempfile
            >>> path = pathlib.Path(tempfile.mkdtemp()) / "albert_config.json"
            >>> _ = path.write_text(json.dumps({"hidden_act": "gelu", "hidden_size": 8, "num_attention_heads": 2,
            ...                                 "intermediate_size": 16, "down_scale_factor": 1}))
            >>> AlbertConfig.from_json_file(path).hidden_act
            'gelu_new'
        """
        path = Path(path)
        size = path.stat().st_size
        if size > MAX_JSON_FILE_BYTES:
            raise ConfigError(f"{path} is {size} bytes, more than the limit of {MAX_JSON_FILE_BYTES} for a "
                              "configuration file")
        try:
            data = json.loads(path.read_bytes().decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
            raise ConfigError(f"{path} is not valid JSON: {exc}") from exc
        except RecursionError as exc:
            raise ConfigError(f"{path} is not a configuration: its JSON is nested too deeply") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{path} must hold a JSON object, got {type(data).__name__}")
        try:
            if is_original_config(data, path.name):
                return cls.from_original_dict(data)
            return cls.from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:  # a field of the wrong kind
            raise ConfigError(f"{path}: {type(exc).__name__}: {exc}") from exc

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str]) -> "AlbertConfig":
        """Load from a checkpoint directory (``config.json`` or ``albert_config.json``) or a JSON file.

        Args:
            path: a directory holding ``config.json`` (preferred) or ``albert_config.json``, or a JSON file, read by
                :meth:`from_json_file`.

        Raises:
            FileNotFoundError: when there is no configuration at ``path``.

        Example:
            >>> import tempfile
            >>> d = tempfile.mkdtemp()
            >>> _ = AlbertConfig(hidden_size=8, num_attention_heads=2, intermediate_size=16).save_pretrained(d)
            >>> AlbertConfig.from_pretrained(d).hidden_size
            8
        """
        path = Path(path)
        if path.is_dir():
            for name in (MODEL_CONFIG, ORIGINAL_CONFIG):
                if (path / name).is_file():
                    return cls.from_json_file(path / name)
            raise FileNotFoundError(f"{path} holds neither {MODEL_CONFIG} nor {ORIGINAL_CONFIG}")
        if path.is_file():
            return cls.from_json_file(path)
        raise FileNotFoundError(f"no configuration at {path}")

    def save_pretrained(self, directory: str | os.PathLike[str], architectures: list[str] | None = None) -> Path:
        """Write ``config.json`` into ``directory`` (created if needed) and return its path.

        Args:
            directory: the output directory.
            architectures: names of the model classes the weights belong to, recorded as Hugging Face does
                (``["AlbertForMaskedLM"]``); left out when ``None``.

        Returns:
            the path of the written ``config.json``.

        Example:
            >>> import json, tempfile
            >>> config = AlbertConfig(hidden_size=8, num_attention_heads=2, intermediate_size=16)
            >>> path = config.save_pretrained(tempfile.mkdtemp(), architectures=["AlbertModel"])
            >>> path.name, json.loads(path.read_text())["architectures"]
            ('config.json', ['AlbertModel'])
        """
        from .io_utils import atomic_write_text

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        data = self.to_dict()
        if architectures:
            data["architectures"] = list(architectures)
        target = directory / MODEL_CONFIG
        atomic_write_text(target, json.dumps(data, indent=2, sort_keys=True) + "\n")
        return target

    def copy(self, **changes: Any) -> "AlbertConfig":
        """A validated copy with some fields changed; the original is left untouched.

        Changing ``num_labels`` without giving ``id2label`` resets the label names to ``LABEL_0`` ... ; giving
        ``id2label`` alone sets ``num_labels`` and ``label2id`` from it.

        Args:
            changes: field values for the copy.

        Raises:
            ~albert_core.ConfigError: when the changed fields do not validate.

        Example:
            >>> config = AlbertConfig(hidden_size=8, num_attention_heads=2, intermediate_size=16)
            >>> three = config.copy(num_labels=3)
            >>> three.id2label, config.num_labels
            ({0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2'}, 2)
            >>> named = config.copy(id2label={0: "neg", 1: "neu", 2: "pos"})
            >>> named.num_labels, named.label2id
            (3, {'neg': 0, 'neu': 1, 'pos': 2})
        """
        data = {f.name: copy.deepcopy(getattr(self, f.name)) for f in dataclasses.fields(self)}
        if "num_labels" in changes and "id2label" not in changes:
            data["id2label"] = None
            data["label2id"] = None
        if "id2label" in changes:  # new names: the count and the inverse table follow them unless given too
            if "label2id" not in changes:
                data["label2id"] = None
            if "num_labels" not in changes:
                data["num_labels"] = None
        data.update(changes)
        return type(self)(**data)


#: Keys only the original google-research ``albert_config.json`` has (transformers never writes them without
#: ``model_type``).
ORIGINAL_ONLY_KEYS = ("net_structure_type", "down_scale_factor", "gap_size", "num_memory_blocks", "layers_to_keep")


def is_original_config(data: Mapping[str, Any], file_name: str | None = None) -> bool:
    """Whether a config mapping is in the original google-research format rather than Hugging Face's.

    The rule, first match wins:

    1. a ``model_type`` key: Hugging Face (transformers always writes it; the original never does);
    2. a key only the original has (``ORIGINAL_ONLY_KEYS``): original;
    3. the file name: ``albert_config*.json`` is original; anything else (``config.json``, a mapping without a
       name) is Hugging Face.

    The absence of ``layer_norm_eps`` or the presence of ``hidden_act`` decides nothing: a hand-written
    ``config.json`` with ``hidden_act: "gelu"`` means the exact GELU, as it does in transformers.

    >>> is_original_config({"hidden_act": "gelu"}, "config.json"), is_original_config({"hidden_act": "gelu"},
    ...                                                                                   "albert_config.json")
    (False, True)
    >>> is_original_config({"net_structure_type": 0}), is_original_config({"model_type": "albert", "gap_size": 0})
    (True, False)
    """
    if "model_type" in data:
        return False
    if any(key in data for key in ORIGINAL_ONLY_KEYS):
        return True
    return file_name is not None and file_name.startswith(ORIGINAL_CONFIG.removesuffix(".json"))


def _as_mapping(data: object) -> Mapping[str, Any]:
    """A config mapping, or the ``config.json`` content of a transformers-style configuration object (duck-typed:
    its ``to_diff_dict()``, else its ``to_dict()``)."""
    if isinstance(data, Mapping):
        return data
    for method in ("to_diff_dict", "to_dict"):
        convert = getattr(data, method, None)
        if callable(convert):
            mapping = convert()
            if isinstance(mapping, Mapping):
                return mapping
    raise ConfigError(f"a configuration must be a mapping of field names to values, got {type(data).__name__}")


def _check_count(name: str, value: object, limit: int | None = None) -> None:
    """A positive integer (not a bool, not a float), at most ``limit``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r:.100} ({type(value).__name__})")
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    if limit is not None and value > limit:
        raise ConfigError(f"{name}={value} is above the limit of {limit}")


def _label_table(name: str, table: object, key_type: type) -> dict:
    """``id2label`` (int -> str) or ``label2id`` (str -> int) from a mapping whose ids may be decimal strings."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{name} must be a mapping, got {type(table).__name__}")
    if len(table) > MAX_NUM_LABELS:
        raise ConfigError(f"{name} has {len(table)} entries, above the limit of {MAX_NUM_LABELS}")

    def as_id(value: object) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 20:
            return int(value)
        raise ConfigError(f"{name}: {value!r:.100} is not a label id (an integer)")

    def as_name(value: object) -> str:
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ConfigError(f"{name}: {value!r:.100} is not a label name (a string)")
        return str(value)

    if key_type is int:
        return {as_id(k): as_name(v) for k, v in table.items()}
    return {as_name(k): as_id(v) for k, v in table.items()}


def _preset(hidden: int, layers: int, heads: int, intermediate: int, dropout: float) -> dict[str, Any]:
    return {
        "vocab_size": 30000,
        "embedding_size": 128,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": intermediate,
        "num_hidden_groups": 1,
        "inner_group_num": 1,
        "hidden_act": "gelu_new",
        "hidden_dropout_prob": dropout,
        "attention_probs_dropout_prob": dropout,
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
    }


#: Published ALBERT sizes. v1 and v2 share their shapes; v2 was trained without dropout, and so was v1 xxlarge.
PRESETS: dict[str, dict[str, Any]] = {
    "albert-base-v1": _preset(768, 12, 12, 3072, 0.1),
    "albert-large-v1": _preset(1024, 24, 16, 4096, 0.1),
    "albert-xlarge-v1": _preset(2048, 24, 16, 8192, 0.1),
    "albert-xxlarge-v1": _preset(4096, 12, 64, 16384, 0.0),
    "albert-base-v2": _preset(768, 12, 12, 3072, 0.0),
    "albert-large-v2": _preset(1024, 24, 16, 4096, 0.0),
    "albert-xlarge-v2": _preset(2048, 24, 16, 8192, 0.0),
    "albert-xxlarge-v2": _preset(4096, 12, 64, 16384, 0.0),
}
