"""Sphinx directives that generate tables from the library itself, so the documentation cannot drift from the code.

``.. albert-presets::``
    One row per entry of :data:`albert_core.PRESETS`: shape, dropout and parameter counts (computed from
    :func:`albert_core.canonical_specs`).

``.. albert-weight-map::`` (option ``:part: backbone`` or ``:part: heads``)
    The weight-name map: canonical name, Hugging Face PyTorch name, Hugging Face TensorFlow name, original TF1 name,
    shape and layout, generated with :func:`albert_core.weights.format_name` for the albert-base-v2 configuration.
    Transformer-block tensors are shown once, with ``{g}`` (group) and ``{i}`` (block inside the group) placeholders.

``.. albert-heads::``
    The head table, one row per entry of :data:`albert_core.heads.HEADS`: class names, TensorFlow scope, pooler,
    tensors, labels, outputs and loss.

Every directive builds an RST ``list-table`` and parse it, so the output is an ordinary docutils table.
"""

from __future__ import annotations

import math
import re

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

WEIGHT_MAP_PRESET = "albert-base-v2"

# group 0 / block 0 in each format -> the same position with {g}/{i} placeholders
_PLACEHOLDERS = {
    "canonical": (re.compile(r"albert_layer_groups\.0\.albert_layers\.0\."),
                  "albert_layer_groups.{g}.albert_layers.{i}."),
    "hf-tf": (re.compile(r"albert_layer_groups_\._0/albert_layers_\._0/"),
              "albert_layer_groups_._{g}/albert_layers_._{i}/"),
    "tf1": (re.compile(r"/group_0/inner_group_0/"), "/group_{g}/inner_group_{i}/"),
}


def _with_placeholders(name: str, fmt: str, in_layer: bool) -> str:
    pattern, replacement = _PLACEHOLDERS[fmt]
    new, count = pattern.subn(replacement, name, count=1)
    if in_layer and count != 1:
        raise ValueError(f"weight-map: cannot find the group/block position in the {fmt} name {name!r}")
    return new


def _literal(text: str) -> str:
    return f"``{text}``"


def _param_count(specs) -> int:
    return sum(math.prod(spec.shape) for spec in specs.values())


def _millions(n: int) -> str:
    return f"{n / 1e6:.1f} M"


def _parse_table(directive: SphinxDirective, title: str, header: list[str], rows: list[list[str]],
                 widths: list[int] | None = None, name: str | None = None) -> list:
    lines = [f".. list-table:: {title}", "   :header-rows: 1"]
    if widths:
        lines.append("   :widths: " + " ".join(str(w) for w in widths))
    if name:
        lines.append(f"   :name: {name}")
    lines.append("")
    for row in [header, *rows]:
        for k, cell in enumerate(row):
            lines.append(("   * - " if k == 0 else "     - ") + (cell or " "))
    content = StringList(lines, source="<albert-docs generated table>")
    container = nodes.container()
    directive.state.nested_parse(content, directive.content_offset, container)
    return container.children


class AlbertPresets(SphinxDirective):
    """Table of the published checkpoints, from :data:`albert_core.PRESETS`."""

    has_content = False

    def run(self) -> list:
        from albert_core import PRESETS, AlbertConfig, canonical_specs

        header = ["Preset", "Layers L", "Hidden H", "Embedding E", "Heads", "FFN width", "Groups G x blocks",
                  "Dropout", "Parameters (backbone)", "Parameters (with pre-training heads)"]
        rows = []
        for name in PRESETS:
            config = AlbertConfig.from_preset(name)
            base = _param_count(canonical_specs(config, "base"))
            pretraining = _param_count(canonical_specs(config, "pretraining"))
            rows.append([
                _literal(name),
                str(config.num_hidden_layers),
                str(config.hidden_size),
                str(config.embedding_size),
                str(config.num_attention_heads),
                str(config.intermediate_size),
                f"{config.num_hidden_groups} x {config.inner_group_num}",
                f"{config.hidden_dropout_prob:g}",
                f"{_millions(base)} ({base:,})",
                f"{_millions(pretraining)} ({pretraining:,})",
            ])
        return _parse_table(self, "Published ALBERT checkpoints (generated from ``albert_core.PRESETS``)", header,
                            rows, name="albert-presets-table")


class AlbertWeightMap(SphinxDirective):
    """The canonical weight names and their names in every checkpoint format."""

    has_content = False
    option_spec = {"part": lambda arg: directives.choice(arg, ("backbone", "heads"))}

    def run(self) -> list:
        from albert_core import AlbertConfig
        from albert_core.weights import Head, Layout, canonical_specs, format_name, is_backbone_name

        part = self.options.get("part", "backbone")
        config = AlbertConfig.from_preset(WEIGHT_MAP_PRESET)
        # every tensor of every head, in a stable order, with the heads that use it
        used_by: dict[str, list[str]] = {}
        specs = {}
        for head in Head:
            for name, spec in canonical_specs(config, head).items():
                specs.setdefault(name, spec)
                used_by.setdefault(name, []).append(head.value)

        header = ["Canonical name", "Hugging Face PyTorch", "Hugging Face TensorFlow (``tf_model.h5``)",
                  "Original TF1 (``model.ckpt``)", "Shape (PyTorch layout)", "Stored transposed in"]
        if part == "heads":
            header.append("Heads")
        rows = []
        for name, spec in specs.items():
            if is_backbone_name(name) != (part == "backbone"):
                continue
            layer = ".albert_layer_groups." in name
            if layer and ".albert_layer_groups.0.albert_layers.0." not in name:
                continue  # every block has the same names up to {g}/{i}
            hf_tf, hf_tf_layout = format_name(name, "hf-tf")
            tf1, tf1_layout = format_name(name, "tf1")
            if hf_tf_layout is not spec.tf_layout:
                raise ValueError(f"weight-map: {name} has HF-TF layout {hf_tf_layout} but tf_layout {spec.tf_layout}")
            canonical = _with_placeholders(name, "canonical", layer)
            hf_pt = ("[albert.]" + canonical[len("albert."):]) if part == "backbone" else canonical
            shape = spec.shape
            if part == "heads" and name.startswith("classifier."):
                shape = ("num_labels",) + shape[1:]  # 1 for multiple choice
            transposed = [label for label, layout in (("HF TF", hf_tf_layout), ("TF1", tf1_layout))
                          if layout is Layout.TRANSPOSE]
            row = [
                _literal(canonical),
                _literal(hf_pt),
                _literal(_with_placeholders(hf_tf, "hf-tf", layer)),
                _literal(_with_placeholders(tf1, "tf1", layer)),
                _literal("(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"),
                ", ".join(transposed) or "--",
            ]
            if part == "heads":
                row.append(", ".join(_literal(h) for h in used_by[name]))
            rows.append(row)
        title = (f"Backbone tensors ({WEIGHT_MAP_PRESET}; one transformer block shown)" if part == "backbone"
                 else f"Task-head tensors ({WEIGHT_MAP_PRESET})")
        return _parse_table(self, title, header, rows, name=f"weight-map-{part}")


class AlbertHeads(SphinxDirective):
    """The head table, generated from :data:`albert_core.heads.HEADS`."""

    has_content = False

    def run(self) -> list:
        from albert_core.heads import HEADS

        header = ["Head", "transformers class", "TF scope in ``tf_model.h5``", "Pooler", "Tensors added",
                  "Labels (shape, bound)", "Outputs", "Loss"]
        rows = []
        for spec in HEADS.values():
            parts = ", ".join(_literal(f"{p.prefix}.*") + (f" ({p.outputs})" if p.outputs else "") for p in spec.parts)
            labels = "; ".join(
                f"{_literal(label.name)} [{', '.join(label.shape)}]" + (f" < {label.bound}" if label.bound else "")
                for label in spec.labels
            )
            rows.append([
                _literal(spec.head.value),
                _literal(spec.hf_class) + (" (inputs ``[batch, num_choices, seq]``)" if spec.choices else ""),
                _literal(spec.tf_scope),
                "yes" if spec.pooler else "no",
                parts or "--",
                labels or "--",
                ", ".join(_literal(o) for o in spec.outputs),
                _literal(spec.loss.value),
            ])
        return _parse_table(self, "The head table (generated from ``albert_core.heads.HEADS``)", header, rows,
                            name="albert-heads-table")


def _dataclass_factory_defaults(app, what, name, obj, options, signature, return_annotation):
    """Dataclass fields with a ``default_factory`` show their default as ``<factory>``, which is not Python and makes
    Sphinx split the whole signature at every comma (``dict[int`` / ``str]``). Show ``...`` instead."""
    if signature and "<factory>" in signature:
        signature = re.sub(r"=\s*<factory>", "= ...", signature)
    return signature, return_annotation


def setup(app):
    app.connect("autodoc-process-signature", _dataclass_factory_defaults)
    app.add_directive("albert-presets", AlbertPresets)
    app.add_directive("albert-weight-map", AlbertWeightMap)
    app.add_directive("albert-heads", AlbertHeads)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
