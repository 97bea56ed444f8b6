"""``albert export``: a checkpoint as an ONNX model, a TensorFlow SavedModel or a TFLite flat buffer, with proof.

:func:`export` loads a checkpoint directory (any format :mod:`albert_core` reads), writes the artefact into a staging
directory beside the destination with ``config.json`` and the tokenizer files, runs the source model and the
artefact in its own runtime on the same probe inputs (two batch sizes and sequence lengths, padded rows in the
attention mask), and only publishes the destination when every output agrees within tolerance: a failed export
leaves nothing at the destination.

* ``onnx``: ``model.onnx``, built from :mod:`albert_pt` by torch's dynamo exporter (the TorchScript exporter as the
  fallback), run by ``onnxruntime.InferenceSession``;
* ``saved_model``: ``saved_model.pb`` and ``variables/``, a ``tf.Module`` serving function around the :mod:`albert_tf`
  model, run by ``tf.saved_model.load``;
* ``tflite``: ``model.tflite``, the same serving function frozen and converted with TFLite's built-in ops, run by
  ``tf.lite.Interpreter``.

Every artefact takes ``input_ids``, ``attention_mask`` and ``token_type_ids`` of any batch size and sequence length
(``[batch, sequence]``; ``[batch, choices, sequence]`` for multiple choice; int64 in ONNX, int32 in TensorFlow) and
returns the head's outputs by name (``logits``; ``start_logits``/``end_logits``; ``prediction_logits``/``sop_logits``;
``last_hidden_state``/``pooler_output``).

>>> EXPORT_FORMATS
('onnx', 'saved_model', 'tflite')
>>> artefact_name("tflite"), DEFAULT_OPSET
('model.tflite', 18)
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, TextIO

import numpy as np

from albert_core.checkpoints import find_weights, read_checkpoint, save_config_for_head
from albert_core.config import AlbertConfig
from albert_core.errors import CheckpointError, FrameworkMissingError, UsageError
from albert_core.heads import HEADS, Head, head_spec
from albert_core.io_utils import clean_stale_staging, make_staging_directory
from albert_core.weights import canonical_specs

#: The formats ``albert export`` writes.
EXPORT_FORMATS = ("onnx", "saved_model", "tflite")
#: The ONNX opset written unless ``--opset`` says otherwise (onnxruntime 1.14 and later run it).
DEFAULT_OPSET = 18
#: The ONNX exporters (``auto`` tries torch's dynamo exporter and falls back to the TorchScript one).
ONNX_EXPORTERS = ("auto", "dynamo", "torchscript")
#: Default tolerance of the parity check of every format (the rule of :mod:`albert_cli.parity`).
DEFAULT_EXPORT_ATOL = 1e-4
#: The inputs of every artefact, in call order.
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")

_ARTEFACTS = {"onnx": "model.onnx", "saved_model": "saved_model.pb", "tflite": "model.tflite"}
_EXTRA_HINT = "pip install 'albert-lite[export]'"


def artefact_name(fmt: str) -> str:
    """The main file an export of format ``fmt`` writes into the destination."""
    if fmt not in _ARTEFACTS:
        raise UsageError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    return _ARTEFACTS[fmt]


def output_names(head: Head | str) -> tuple[str, ...]:
    """The outputs an exported model of ``head`` returns, in order (the head's outputs in the head table).

    >>> output_names("question_answering")
    ('start_logits', 'end_logits')
    """
    return head_spec(head).outputs


def dynamic_axes(head: Head | str) -> dict[int, str]:
    """The dynamic axes of every input of an exported ``head`` model, by position.

    >>> dynamic_axes("masked_lm"), dynamic_axes("multiple_choice")
    ({0: 'batch', 1: 'sequence'}, {0: 'batch', 1: 'choices', 2: 'sequence'})
    """
    if HEADS[Head(head)].choices:
        return {0: "batch", 1: "choices", 2: "sequence"}
    return {0: "batch", 1: "sequence"}


@dataclass
class ExportResult:
    """What :func:`export` wrote and measured."""

    destination: Path
    format: str
    head: Head
    source_format: str
    artefact_bytes: int = 0  # the artefact itself (model.onnx; saved_model.pb + variables/; model.tflite)
    weight_bytes: int = 0  # the head's weights as float32 (what model.safetensors holds for it)
    exporter: str = ""  # how the artefact was made, e.g. "torch.onnx dynamo, opset 18"
    notes: list[str] = field(default_factory=list)  # what was copied (printed unless --quiet)
    warnings: list[str] = field(default_factory=list)  # how the export deviated from the default (always printed)
    parity: Any = None  # a ParityReport

    @property
    def ok(self) -> bool:
        """Whether the parity check passed."""
        return bool(getattr(self.parity, "ok", False))

    @property
    def size_ratio(self) -> float:
        """Artefact bytes over float32 weight bytes."""
        return self.artefact_bytes / self.weight_bytes if self.weight_bytes else float("nan")

    def describe(self) -> str:
        """One line: source, head, destination, format, sizes and exporter."""
        return (f"exported {self.head.value} ({self.source_format}) -> {self.destination} ({self.format}, "
                f"{artefact_name(self.format)}: {self.artefact_bytes:,} bytes = {self.size_ratio:.2f}x the "
                f"{self.weight_bytes:,} bytes of float32 weights; {self.exporter})")


# ---------------------------------------------------------------------------------------------------------------------
# Framework requirements and quiet framework calls


def require_export_extra(fmt: str) -> None:
    """Raise :class:`~albert_core.errors.FrameworkMissingError` naming what to install when ``fmt`` cannot be written
    here (ONNX needs the ``export`` extra and PyTorch; SavedModel and TFLite need TensorFlow)."""
    import importlib.util

    needed = {"onnx": (("torch", "torch"), ("onnx", "export"), ("onnxruntime", "export"), ("onnxscript", "export")),
              "saved_model": (("tensorflow", "tensorflow"),),
              "tflite": (("tensorflow", "tensorflow"),)}[fmt]
    for module, extra in needed:
        try:
            found = sys.modules[module] is not None if module in sys.modules else \
                importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise FrameworkMissingError(f"albert export --format {fmt} needs {module}, which is not installed; "
                                        f"install the {extra!r} extra: pip install 'albert-lite[{extra}]'")


@contextlib.contextmanager
def quiet_frameworks() -> Iterator[None]:
    """Silence what the exporters and converters print that a user did not ask for: Python warnings, the ``torch``,
    ``tensorflow`` and ``absl`` loggers, and native stderr lines (TensorFlow's converter and runtime write there).
    Python exceptions still propagate."""
    loggers = [logging.getLogger(name) for name in ("torch", "torch.onnx", "torch.export", "tensorflow", "absl",
                                                    "onnxscript", "onnx_ir", "albert_pt", "albert_tf")]
    levels = [lg.level for lg in loggers]
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        with warnings.catch_warnings(), contextlib.redirect_stdout(_NullText()):
            warnings.simplefilter("ignore")
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


class _NullText:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


# ---------------------------------------------------------------------------------------------------------------------
# ONNX (from the PyTorch backend)


def _pt_wrapper(model, names: tuple[str, ...]):
    """``model`` as a module taking the three id tensors positionally and returning a tuple of output tensors."""
    import torch

    class ExportWrapper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return tuple(getattr(out, name) for name in names)

    return ExportWrapper().eval()


def _example_ids(config: AlbertConfig, head: Head) -> tuple:
    """Example inputs for tracing: batch 2, sequence 8 (neither 0 nor 1, so no size is specialised), padded row."""
    import torch

    lead = (2, 2) if HEADS[head].choices else (2,)
    seq = min(8, config.max_position_embeddings)
    ids = torch.arange(seq, dtype=torch.long).remainder(config.vocab_size).expand(*lead, seq).contiguous()
    mask = torch.ones(*lead, seq, dtype=torch.long)
    mask[1, ..., seq // 2:] = 0
    types = torch.zeros(*lead, seq, dtype=torch.long)
    return ids, mask, types


def share_identical_initializers(model) -> int:
    """Keep one initializer per distinct tensor in an ``onnx.ModelProto`` (and drop per-node metadata); return how
    many copies were removed.

    An exporter that folds ``Transpose(weight)`` into a constant does so at every use: ALBERT runs one shared layer
    ``num_hidden_layers`` times, so each of its weights would be stored once per layer. Copies are found by dtype,
    shape and bytes, and every node input naming a copy is pointed at the kept one. The per-node metadata the dynamo
    exporter records (Python stack traces, module paths) is dropped too: no runtime reads it, and for a small model
    it is a third of the file.
    """
    import hashlib

    from onnx import numpy_helper

    graph = model.graph
    kept: dict[tuple, str] = {}
    renamed: dict[str, str] = {}
    for init in list(graph.initializer):
        array = numpy_helper.to_array(init)
        key = (array.dtype.str, array.shape, hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest())
        if key in kept:
            renamed[init.name] = kept[key]
            graph.initializer.remove(init)
        else:
            kept[key] = init.name
    outputs = {o.name for o in graph.output}
    for node in graph.node:
        del node.metadata_props[:]
        for i, name in enumerate(node.input):
            if name in renamed:
                node.input[i] = renamed[name]
    for name in renamed:
        if name in outputs:  # pragma: no cover - an exporter never returns a weight as a graph output
            raise CheckpointError(f"cannot share the initializer {name}: it is an output of the graph")
    for value_info in list(graph.value_info):
        if value_info.name in renamed:
            graph.value_info.remove(value_info)
    return len(renamed)


def _finish_onnx(path: Path, large: bool) -> int:
    import onnx

    model = onnx.load(str(path))
    removed = share_identical_initializers(model)
    for leftover in (path, path.with_name(path.name + ".data")):
        leftover.unlink(missing_ok=True)
    if large:
        onnx.save(model, str(path), save_as_external_data=True, location=path.name + ".data")
    else:
        onnx.save(model, str(path))
    return removed


def export_onnx(model, path: Path, head: Head, config: AlbertConfig, opset: int = DEFAULT_OPSET,
                exporter: str = "auto") -> tuple[str, list[str]]:
    """Write ``model`` (an :mod:`albert_pt` model of ``head``) as ``path``; return the exporter used and warnings (why
    ``exporter="auto"`` fell back to the TorchScript exporter).

    The graph has dynamic batch and sequence axes (:func:`dynamic_axes`), inputs :data:`INPUT_NAMES` (int64) and the
    outputs :func:`output_names`. ALBERT's shared layer weights and the masked-LM decoder tied to the word embeddings
    are stored once each (:func:`share_identical_initializers`; the TorchScript fallback also runs without constant
    folding, which would store a transposed copy of a weight beside the weight).
    """
    import torch

    if exporter not in ONNX_EXPORTERS:
        raise UsageError(f"unknown ONNX exporter {exporter!r}; choose one of {', '.join(ONNX_EXPORTERS)}")
    names = output_names(head)
    wrapper = _pt_wrapper(model, names)
    args = _example_ids(config, head)
    axes = dynamic_axes(head)
    large = sum(p.numel() * p.element_size() for p in model.parameters()) > 1_800_000_000
    dynamo_error: BaseException | None = None
    if exporter in ("auto", "dynamo"):
        dims = {"batch": torch.export.Dim("batch"), "choices": torch.export.Dim("choices"),
                "sequence": torch.export.Dim("sequence", max=config.max_position_embeddings)}
        shapes = {name: {axis: dims[label] for axis, label in axes.items()} for name in INPUT_NAMES}
        try:
            with quiet_frameworks():
                program = torch.onnx.export(wrapper, args, None, dynamo=True, dynamic_shapes=shapes,
                                            input_names=list(INPUT_NAMES), output_names=list(names),
                                            opset_version=opset, verbose=False)
                program.save(str(path), external_data=large)
            _finish_onnx(path, large)
            return f"torch.onnx dynamo exporter, opset {opset}", []
        except Exception as exc:  # noqa: BLE001 - any exporter failure falls back (auto) or is reported (dynamo)
            if exporter == "dynamo":
                raise CheckpointError(f"the dynamo ONNX exporter failed: {type(exc).__name__}: "
                                      f"{' '.join(str(exc).split())[:500]}") from exc
            dynamo_error = exc
            for leftover in (path, path.with_name(path.name + ".data")):
                leftover.unlink(missing_ok=True)
    with quiet_frameworks():
        torch.onnx.export(wrapper, args, str(path), dynamo=False, input_names=list(INPUT_NAMES),
                          output_names=list(names), opset_version=opset, do_constant_folding=False,
                          dynamic_axes={name: dict(axes) for name in INPUT_NAMES})
    _finish_onnx(path, large)
    warned = []
    if dynamo_error is not None:
        warned.append(f"the dynamo ONNX exporter failed ({type(dynamo_error).__name__}: "
                      f"{' '.join(str(dynamo_error).split())[:200]}); used the TorchScript exporter")
    return f"torch.onnx TorchScript exporter, opset {opset}", warned


def onnx_runner(path: str | os.PathLike[str]) -> Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]:
    """A runner (inputs -> outputs by name) for an exported ONNX file, on onnxruntime's CPU provider."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise FrameworkMissingError(f"running an ONNX model needs onnxruntime; {_EXTRA_HINT}") from exc
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    outputs = [o.name for o in session.get_outputs()]
    inputs = {i.name for i in session.get_inputs()}

    def run(feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        values = session.run(outputs, {k: np.asarray(v, dtype=np.int64) for k, v in feed.items() if k in inputs})
        return dict(zip(outputs, values))

    return run


# ---------------------------------------------------------------------------------------------------------------------
# SavedModel and TFLite (from the TensorFlow backend)


def serving_module(model, head: Head | str):
    """A ``tf.Module`` holding ``model`` (an :mod:`albert_tf` model of ``head``) with a ``serve`` ``tf.function``:
    int32 ``input_ids``, ``attention_mask``, ``token_type_ids`` of shape ``[None, None]`` (``[None, None, None]`` for
    multiple choice) -> a dict of the head's outputs."""
    import tensorflow as tf

    head = Head(head)
    names = output_names(head)
    rank = len(dynamic_axes(head))
    signature = [tf.TensorSpec([None] * rank, tf.int32, name=name) for name in INPUT_NAMES]

    class ServingModule(tf.Module):
        def __init__(self) -> None:
            super().__init__(name="albert_serving")
            self.model = model
            self.serve = tf.function(self._serve, input_signature=signature)

        def _serve(self, input_ids, attention_mask, token_type_ids):
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                             training=False)
            return {name: getattr(out, name) for name in names}

    return ServingModule()


def export_saved_model(model, directory: Path, head: Head) -> str:
    """Write ``model`` as a SavedModel into ``directory`` (the ``serving_default`` signature of
    :func:`serving_module`)."""
    import tensorflow as tf

    module = serving_module(model, head)
    with quiet_frameworks():
        tf.saved_model.save(module, str(directory), signatures={"serving_default": module.serve})
    return "tf.saved_model.save, signature serving_default"


def tflite_module(model, head: Head | str):
    """The serving function of :func:`serving_module` frozen (variables as constants), as a ``tf.Module`` whose
    ``serve`` has the same signature and outputs."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    serving = serving_module(model, head)
    concrete = serving.serve.get_concrete_function()
    frozen = convert_variables_to_constants_v2(concrete)
    structure = concrete.structured_outputs  # the frozen function's outputs are a flat list, in this dict's order
    signature = serving.serve.input_signature

    class FrozenServingModule(tf.Module):
        def __init__(self) -> None:
            super().__init__(name="albert_serving_frozen")
            self.frozen = frozen
            self.serve = tf.function(self._serve, input_signature=signature)

        def _serve(self, input_ids, attention_mask, token_type_ids):
            return tf.nest.pack_sequence_as(structure, self.frozen(input_ids, attention_mask, token_type_ids))

    return FrozenServingModule()


def export_tflite(model, path: Path, head: Head) -> str:
    """Write ``model`` as a TFLite flat buffer with TFLite's built-in ops only and dynamic batch and sequence axes.

    The serving function is frozen first (:func:`tflite_module`): converted as it is, the variables stay resource
    variables the interpreter never initialises.
    """
    import tensorflow as tf

    module = tflite_module(model, head)
    with quiet_frameworks():
        converter = tf.lite.TFLiteConverter.from_concrete_functions([module.serve.get_concrete_function()], module)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        flat = converter.convert()
    path.write_bytes(flat)
    return "tf.lite.TFLiteConverter from the frozen serving function, built-in ops only"


def saved_model_runner(
        directory: str | os.PathLike[str]) -> Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]:
    """A runner for an exported SavedModel: ``tf.saved_model.load`` and its ``serving_default`` signature."""
    import tensorflow as tf

    with quiet_frameworks():
        serve = tf.saved_model.load(str(directory)).signatures["serving_default"]

    def run(feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = serve(**{k: tf.constant(np.asarray(v, dtype=np.int32)) for k, v in feed.items()})
        return {k: v.numpy() for k, v in out.items()}

    return run


def tflite_runner(path: str | os.PathLike[str]) -> Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]:
    """A runner for an exported TFLite file: ``tf.lite.Interpreter``, inputs resized to each batch's shape with
    ``resize_tensor_input``, tensors found by the names of the ``serving_default`` signature."""
    import tensorflow as tf

    with quiet_frameworks():
        interpreter = tf.lite.Interpreter(model_path=str(path))
    signature = interpreter.get_signature_runner("serving_default")
    inputs = signature.get_input_details()
    outputs = signature.get_output_details()

    def run(feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        arrays = {k: np.ascontiguousarray(v, dtype=np.int32) for k, v in feed.items() if k in inputs}
        for name, array in arrays.items():
            interpreter.resize_tensor_input(inputs[name]["index"], array.shape, strict=False)
        interpreter.allocate_tensors()
        for name, array in arrays.items():
            interpreter.set_tensor(inputs[name]["index"], array)
        interpreter.invoke()
        return {name: interpreter.get_tensor(detail["index"]).copy() for name, detail in outputs.items()}

    return run


#: The runtime that runs an exported artefact in the parity check, by format (``ARTEFACT_RUNNERS[fmt](destination)``).
ARTEFACT_RUNNERS: dict[str, Callable[[Path], Callable]] = {
    "onnx": lambda d: onnx_runner(d / _ARTEFACTS["onnx"]),
    "saved_model": saved_model_runner,
    "tflite": lambda d: tflite_runner(d / _ARTEFACTS["tflite"]),
}
_RUNTIME_NAMES = {"onnx": "onnxruntime", "saved_model": "tf.saved_model", "tflite": "tflite"}
_FRAMEWORK = {"onnx": "pt", "saved_model": "tf", "tflite": "tf"}


# ---------------------------------------------------------------------------------------------------------------------
# The export


def export_probes(config: AlbertConfig, head: Head, tokenizer_dir: Path | None) -> list[dict[str, np.ndarray]]:
    """Two probe batches of different batch sizes and sequence lengths, each with a padded row: tokenised sentence
    pairs (batch 2, length 12) when a tokenizer is at hand, and random ids (batch 3, length 20, 2 choices for
    multiple choice)."""
    from .parity import probe_inputs

    seq = min(20, config.max_position_embeddings)
    return [probe_inputs(config, head, tokenizer_dir, batch=2, seq_len=12, choices=3),
            probe_inputs(config, head, None, batch=3, seq_len=seq, choices=2, seed=1)]


def _artefact_bytes(staging: Path, fmt: str) -> int:
    if fmt == "saved_model":
        files = [staging / "saved_model.pb", *(p for p in (staging / "variables").rglob("*") if p.is_file())]
        return sum(p.stat().st_size for p in files if p.is_file())
    main = staging / _ARTEFACTS[fmt]
    data = main.with_name(main.name + ".data")
    return main.stat().st_size + (data.stat().st_size if data.is_file() else 0)


def _progress(log: TextIO | None, message: str) -> None:
    if log is not None:
        print(message, file=log, flush=True)


def export(src: str | os.PathLike[str], dst: str | os.PathLike[str], fmt: str, head: Head | str | None = None,
           opset: int = DEFAULT_OPSET, atol: float | None = None, exporter: str = "auto",
           log: TextIO | None = None) -> ExportResult:
    """Export the checkpoint at ``src`` as ``fmt`` into the new directory ``dst`` and check the artefact's parity.

    ``head`` defaults to the one ``config.json``'s ``architectures`` names (else the richest the tensors hold); a
    head the checkpoint does not hold completely is refused (its weights would be random). ``log`` receives progress
    lines (``None``: silent). Raises :class:`~albert_cli.convert.ParityError` (nothing written at ``dst``) when an
    output differs by more than ``atol`` (default :data:`DEFAULT_EXPORT_ATOL`); ``result.parity`` holds the table.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     export(d, d + "/out", "pdf")
    Traceback (most recent call last):
    ...
    albert_core.errors.UsageError: unknown export format 'pdf'; choose one of onnx, saved_model, tflite
    """
    from .convert import ParityError, _copy_tokenizer, _load_config, _publish, check_destination, detect_head, \
        supported_heads
    from .parity import ParityReport, compare_outputs, load_runner

    src, dst = Path(src), Path(dst)
    artefact_name(fmt)
    if exporter not in ONNX_EXPORTERS:
        raise UsageError(f"unknown ONNX exporter {exporter!r}; choose one of {', '.join(ONNX_EXPORTERS)}")
    if not 7 <= int(opset) <= 25:
        raise UsageError(f"--opset {opset} is outside the opsets torch exports (7 to 25)")
    atol = DEFAULT_EXPORT_ATOL if atol is None else float(atol)
    if not atol > 0:
        raise UsageError(f"--atol must be positive, got {atol}")
    require_export_extra(fmt)
    check_destination(dst)
    source_dir = src if src.is_dir() else src.parent
    source_format, _ = find_weights(src)
    config = _load_config(source_dir)
    contents = read_checkpoint(src, config)
    supported = supported_heads(contents.state, config)
    head = Head(head) if head is not None else detect_head(contents.state, config, source_dir)
    weight_bytes = sum(int(np.prod(spec.shape)) * 4 for spec in canonical_specs(config, head).values())
    del contents
    if head not in supported:
        raise CheckpointError(f"{src} has no complete {head.value} head (it holds "
                              f"{', '.join(h.value for h in supported) or 'no complete head'}); choose one with "
                              "--head")
    dst.parent.mkdir(parents=True, exist_ok=True)
    for stale in clean_stale_staging(dst)[0]:
        _progress(log, f"removed {stale}, the staging directory of an earlier export that did not finish")
    staging = make_staging_directory(dst)
    result = ExportResult(destination=dst, format=fmt, head=head, source_format=source_format.name,
                          weight_bytes=weight_bytes)
    try:
        framework = _FRAMEWORK[fmt]
        from .parity import _load_model

        _progress(log, f"loading {src} ({source_format.name}, head {head.value}) in "
                       f"{'PyTorch' if framework == 'pt' else 'TensorFlow'}")
        model = _load_model(framework, source_dir, head, config, None)
        started = time.monotonic()
        _progress(log, f"writing {fmt} ...")
        if fmt == "onnx":
            result.exporter, result.warnings = export_onnx(model, staging / _ARTEFACTS["onnx"], head, config,
                                                           opset, exporter)
        elif fmt == "saved_model":
            result.exporter = export_saved_model(model, staging, head)
        else:
            result.exporter = export_tflite(model, staging / _ARTEFACTS["tflite"], head)
        del model
        _progress(log, f"wrote {fmt} in {time.monotonic() - started:.1f}s; checking parity")
        result.artefact_bytes = _artefact_bytes(staging, fmt)
        save_config_for_head(staging, config, head)
        copied = _copy_tokenizer(source_dir, staging, fmt)
        if copied:
            result.notes.append(f"copied config.json and the tokenizer files: {', '.join(copied)}")
        tokenizer_dir = staging if copied else None
        reference_model = load_runner(framework, source_dir, head, config)
        artefact = ARTEFACT_RUNNERS[fmt](staging)
        report = ParityReport(atol=atol)
        names = output_names(head)
        runtime = _RUNTIME_NAMES[fmt]
        for probe in export_probes(config, head, tokenizer_dir):
            reference = {k: v for k, v in reference_model(probe).items() if k in names}
            shape = "x".join(str(n) for n in probe["input_ids"].shape)
            with quiet_frameworks():  # the runtimes' native start-up lines (XNNPACK delegate created, ...)
                candidate = artefact(probe)
            report.extend(compare_outputs(reference, candidate, atol,
                                          label=f"{head.value}: {framework} vs {runtime} [{shape}]"))
        result.parity = report
        if not report.ok:
            if log is not None:
                print(report.table(), file=log)
            raise ParityError(result)
        _publish(staging, dst)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


# ---------------------------------------------------------------------------------------------------------------------
# The command


def add_commands(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add ``export`` to the ``albert`` command line."""
    cmd = subparsers.add_parser(
        "export", help="export a checkpoint to ONNX, a TensorFlow SavedModel or TFLite, and check parity",
        description="Export the checkpoint SRC (any format albert-lite reads) into the new directory DST as an ONNX "
                    "model (from PyTorch), a TensorFlow SavedModel or a TFLite model (from TensorFlow), with "
                    "config.json and the tokenizer files beside it; then run the source model and the artefact in "
                    "its own runtime on the same probe inputs and print a parity table. DST is written "
                    "atomically: a failed export or parity check leaves nothing there.")
    cmd.add_argument("src", help="checkpoint directory to read")
    cmd.add_argument("dst", help="new (or empty) directory to write")
    cmd.add_argument("--format", required=True, choices=EXPORT_FORMATS, dest="format",
                     help="onnx (needs the 'export' extra and torch), saved_model or tflite (need tensorflow)")
    cmd.add_argument("--head", choices=[h.value for h in Head], default=None,
                     help="model head (default: from config.json's architectures, else from the tensors)")
    cmd.add_argument("--opset", type=int, default=DEFAULT_OPSET,
                     help=f"ONNX opset to write (default: {DEFAULT_OPSET}; onnx only)")
    cmd.add_argument("--exporter", choices=ONNX_EXPORTERS, default="auto",
                     help="ONNX exporter: torch's dynamo exporter, the TorchScript one, or auto: dynamo, falling "
                          "back to TorchScript if it fails (default: auto; onnx only)")
    cmd.add_argument("--atol", type=float, default=None,
                     help="tolerance on max |a - b| per output, scaled by max(1, max |a|) of the source model's "
                          f"output (default: {DEFAULT_EXPORT_ATOL:g})")
    cmd.add_argument("--quiet", action="store_true", help="no progress lines or notes (default: off)")
    cmd.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    """Run ``albert export``; the exit code follows the ``albert`` conventions (1 when parity fails)."""
    from .parity import print_parity

    quiet = bool(getattr(args, "quiet", False))
    if args.format != "onnx":
        for flag, value, default in (("--opset", args.opset, DEFAULT_OPSET), ("--exporter", args.exporter, "auto")):
            if value != default:
                raise UsageError(f"{flag} applies to --format onnx only")
    result = export(args.src, args.dst, args.format, head=args.head, opset=args.opset, atol=args.atol,
                    exporter=args.exporter, log=None if quiet else sys.stderr)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not quiet:
        for note in result.notes:
            print(f"note: {note}")
    print(result.describe())
    print_parity(result.parity)
    return 0


__all__ = [
    "ARTEFACT_RUNNERS",
    "DEFAULT_EXPORT_ATOL",
    "DEFAULT_OPSET",
    "EXPORT_FORMATS",
    "ExportResult",
    "INPUT_NAMES",
    "ONNX_EXPORTERS",
    "add_commands",
    "artefact_name",
    "dynamic_axes",
    "export",
    "export_onnx",
    "export_saved_model",
    "export_tflite",
    "onnx_runner",
    "output_names",
    "require_export_extra",
    "saved_model_runner",
    "serving_module",
    "share_identical_initializers",
    "tflite_runner",
]
