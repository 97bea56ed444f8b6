"""Numerical parity checks: run the same probe inputs through two loaded models and compare every output.

A *runner* is a callable ``runner(inputs) -> {output name: numpy array}`` for one loaded model. :func:`load_runner`
builds one from a checkpoint directory in a framework (``"pt"`` through :mod:`albert_pt`, ``"tf"`` through
:mod:`albert_tf`); :func:`compare_runners` feeds both the same inputs and returns a :class:`ParityReport`, whose
:meth:`~ParityReport.table` is what ``albert convert`` and ``albert check`` print.

Tolerance: an output passes when ``max|a - b| <= atol * max(1, max|a|)``; ``a`` is the reference. For outputs of
order one that is a plain absolute tolerance; large logits get the same relative slack. The ``max rel diff`` column
is ``max|a - b| / max|a|``.

The backends are imported only when a runner is loaded (:func:`load_pt`, :func:`load_tf`). :data:`LOADERS` is the
documented seam for putting another implementation in place of a backend (a tampered model in the tests, a reference
library): ``LOADERS[framework] = loader`` where ``loader(directory, head, config) -> runner``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping

import numpy as np

from albert_core.checkpoints import format_named
from albert_core.config import AlbertConfig
from albert_core.errors import FrameworkMissingError, PartialLoadWarning
from albert_core.heads import Head, head_spec

Runner = Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]

#: Default tolerances by checkpoint dtype (documented in the CLI help).
DEFAULT_ATOL = {"float32": 1e-5, "float16": 5e-3, "bfloat16": 5e-2}

PROBE_TEXTS = (
    ("To be, or not to be, that is the question.", "Whether 'tis nobler in the mind to suffer"),
    ("Now is the winter of our discontent", "made glorious summer by this sun of York."),
    ("All the world's a stage,", "and all the men and women merely players."),
)


@dataclass
class ParityRow:
    """One compared output."""

    name: str
    max_abs: float
    max_rel: float
    tolerance: float
    ok: bool
    label: str = ""  # which pair of models, e.g. "pt source vs tf target"


@dataclass
class ParityReport:
    """The rows of one or more comparisons; ``ok`` when every row is."""

    rows: list[ParityRow] = field(default_factory=list)
    atol: float = 1e-5

    @property
    def ok(self) -> bool:
        """Whether at least one output was compared and every one is within tolerance."""
        return bool(self.rows) and all(row.ok for row in self.rows)

    @property
    def failures(self) -> list[ParityRow]:
        """The rows whose difference exceeds the tolerance."""
        return [row for row in self.rows if not row.ok]

    def extend(self, other: "ParityReport") -> None:
        self.rows.extend(other.rows)

    def table(self) -> str:
        """A plain-text table: output | max abs diff | max rel diff | ok.

        >>> r = ParityReport([ParityRow("logits", 1e-7, 2e-7, 1e-5, True, "pt vs tf")])
        >>> print(r.table().splitlines()[2])
        pt vs tf  logits  1.000e-07  2.000e-07  ok
        """
        header = ("models", "output", "max abs diff", "max rel diff", "ok")
        lines = [(row.label, row.name, f"{row.max_abs:.3e}", f"{row.max_rel:.3e}", "ok" if row.ok else "FAIL")
                 for row in self.rows]
        widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
        out += [fmt.format(*line) for line in lines]
        return "\n".join(line.rstrip() for line in out)

    def summary(self) -> str:
        """One line: how many outputs passed, or which ones are off and by how much."""
        if not self.rows:
            return "no outputs were compared"
        if self.ok:
            return f"parity OK: {len(self.rows)} outputs within atol={self.atol:g}"
        bad = ", ".join(f"{row.name} ({row.label}: max abs diff {row.max_abs:.3e} > {row.tolerance:.3e})"
                        for row in self.failures)
        return f"parity FAILED: {bad}"


def compare_outputs(reference: Mapping[str, np.ndarray], candidate: Mapping[str, np.ndarray], atol: float = 1e-5,
                    label: str = "") -> ParityReport:
    """Compare the outputs both mappings have (a missing or mis-shaped output is a failing row).

    >>> a = {"logits": np.array([1.0, 2.0])}
    >>> compare_outputs(a, {"logits": np.array([1.0, 2.5])}, atol=1e-5).summary().split(":")[0]
    'parity FAILED'
    >>> compare_outputs(a, {"logits": np.array([1.0, 2.0 + 1e-7])}).ok
    True
    """
    report = ParityReport(atol=atol)
    for name, ref in reference.items():
        ref = np.asarray(ref, dtype=np.float64)
        if name not in candidate:
            report.rows.append(ParityRow(name, float("inf"), float("inf"), atol, False, label + " (missing)"))
            continue
        cand = np.asarray(candidate[name], dtype=np.float64)
        if cand.shape != ref.shape:
            report.rows.append(ParityRow(name, float("inf"), float("inf"), atol, False,
                                         f"{label} (shape {cand.shape} vs {ref.shape})"))
            continue
        diff = np.abs(ref - cand)
        max_abs = float(diff.max()) if diff.size else 0.0
        scale = float(np.abs(ref).max()) if ref.size else 0.0
        if not np.all(np.isfinite(cand)):
            max_abs = float("inf")
        tolerance = atol * max(1.0, scale)
        report.rows.append(ParityRow(name, max_abs, max_abs / scale if scale > 0 else max_abs, tolerance,
                                     max_abs <= tolerance, label))
    return report


def compare_runners(reference: Runner, candidate: Runner, inputs: Mapping[str, np.ndarray], atol: float = 1e-5,
                    label: str = "") -> ParityReport:
    """Run both models on ``inputs`` and compare their outputs."""
    return compare_outputs(reference(inputs), candidate(inputs), atol=atol, label=label)


# ---------------------------------------------------------------------------------------------------------------------
# Probe inputs


def probe_inputs(config: AlbertConfig, head: Head | str, tokenizer_dir: str | os.PathLike[str] | None = None,
                 batch: int = 2, seq_len: int = 12, choices: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs that exercise a model: tokenised sentence pairs when a tokenizer is at hand, random ids otherwise.

    Either way the batch has padding (a shorter second row), both token types, and for multiple choice the shape
    ``[batch, choices, seq]``.

    >>> from albert_core import AlbertConfig
    >>> cfg = AlbertConfig(vocab_size=30, embedding_size=4, hidden_size=8, num_hidden_layers=1,
    ...                    num_attention_heads=2, intermediate_size=8)
    >>> x = probe_inputs(cfg, "multiple_choice", batch=2, seq_len=5, choices=3)
    >>> x["input_ids"].shape, int(x["attention_mask"].min()), int(x["token_type_ids"].max())
    ((2, 3, 5), 0, 1)
    """
    head = Head(head)
    rows = batch * choices if head is Head.MULTIPLE_CHOICE else batch
    seq_len = max(4, min(seq_len, config.max_position_embeddings))
    encoded = _tokenised(config, tokenizer_dir, rows, seq_len) if tokenizer_dir is not None else None
    if encoded is None:
        encoded = _random_ids(config, rows, seq_len, seed)
    if head is Head.MULTIPLE_CHOICE:
        encoded = {k: v.reshape(batch, choices, -1) for k, v in encoded.items()}
    return encoded


def _random_ids(config: AlbertConfig, rows: int, seq_len: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    low = min(5, config.vocab_size - 1)
    ids = rng.integers(low, config.vocab_size, size=(rows, seq_len), dtype=np.int64)
    mask = np.ones((rows, seq_len), dtype=np.int64)
    types = np.zeros((rows, seq_len), dtype=np.int64)
    types[:, seq_len // 2:] = min(1, config.type_vocab_size - 1)
    for r in range(1, rows, 2):  # every other row is padded
        cut = max(2, seq_len - 1 - r % (seq_len - 2))
        mask[r, cut:] = 0
        ids[r, cut:] = config.pad_token_id or 0
        types[r, cut:] = 0
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def _tokenised(config: AlbertConfig, tokenizer_dir, rows: int, seq_len: int) -> dict[str, np.ndarray] | None:
    try:
        from albert_core.tokenizer import AlbertTokenizer

        tokenizer = AlbertTokenizer.from_pretrained(tokenizer_dir)
    except (FileNotFoundError, ImportError, ValueError):
        return None
    if tokenizer.vocab_size > config.vocab_size:
        return None  # ids the model's embeddings cannot index
    pairs = [PROBE_TEXTS[r % len(PROBE_TEXTS)] for r in range(rows)]
    firsts = [a if r % 2 == 0 else a.split(",")[0] for r, (a, _) in enumerate(pairs)]  # uneven lengths: padding
    enc = tokenizer(firsts, [b for _, b in pairs], padding="max_length", truncation=True, max_length=seq_len,
                    return_tensors="np")
    out = {k: np.asarray(enc[k], dtype=np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
    out["token_type_ids"] = np.minimum(out["token_type_ids"], config.type_vocab_size - 1)
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Loading models as runners


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        if value.dtype.is_floating_point:
            import torch

            value = value.to(torch.float32)
        return value.numpy()
    if hasattr(value, "numpy"):
        return np.asarray(value.numpy(), dtype=np.float32) if np.issubdtype(value.numpy().dtype, np.floating) \
            else value.numpy()
    return np.asarray(value)


def outputs_to_numpy(output, head: Head | str) -> dict[str, np.ndarray]:
    """The compared outputs of a model call, as float numpy arrays: the head's own outputs (its ``outputs`` in the
    head table) and, for heads on top of the backbone, ``last_hidden_state`` from the hidden states."""
    head = Head(head)
    result: dict[str, np.ndarray] = {}
    getter = output.get if hasattr(output, "get") else (lambda k, d=None: getattr(output, k, d))
    for name in head_spec(head).outputs:
        value = getter(name, None)
        if value is not None:
            result[name] = _to_numpy(value)
    if head is not Head.BASE:
        hidden = getter("hidden_states", None)
        if hidden is not None and len(hidden):
            result = {"last_hidden_state": _to_numpy(hidden[-1]), **result}
    return result


def _pt_runner(model, head: Head) -> Runner:
    import torch

    model.eval()

    def run(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = {k: torch.as_tensor(np.asarray(v, dtype=np.int64)) for k, v in inputs.items()}
        with torch.no_grad():
            try:
                out = model(**feed, output_hidden_states=True)
            except TypeError:
                out = model(**feed)
        return outputs_to_numpy(out, head)

    return run


def _tf_runner(model, head: Head) -> Runner:
    import tensorflow as tf

    def run(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = {k: tf.constant(np.asarray(v, dtype=np.int32)) for k, v in inputs.items()}
        try:
            out = model(**feed, output_hidden_states=True, training=False)
        except TypeError:
            out = model(**feed, training=False)
        return outputs_to_numpy(out, head)

    return run


@contextlib.contextmanager
def _quiet_load() -> Iterator[None]:
    """Load a model without the reports a user of ``check``/``convert`` did not ask for.

    The heads these tools load are complete in the checkpoint, so a partial load only means tensors of other heads
    went unused (no news); and TensorFlow's native start-up lines ("All log messages before
    absl::InitializeLog()...", the CUDA probe) bypass ``TF_CPP_MIN_LOG_LEVEL``, so the process's stderr is closed
    while a model is built (Python exceptions still propagate).
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PartialLoadWarning)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _load_model(framework: str, directory: Path, head: Head, config: AlbertConfig | None,
                fill: Mapping[str, np.ndarray] | None):
    module_name, extra, name = {"pt": ("albert_pt", "torch", "PyTorch"),
                                "tf": ("albert_tf", "tensorflow", "TensorFlow")}[framework]
    try:
        with _quiet_load():
            backend = importlib.import_module(module_name)
    except ImportError as exc:
        raise FrameworkMissingError(f"the parity check in {name} needs {module_name} and {extra} "
                                    f"(pip install 'albert-lite[{extra}]')") from exc
    with _quiet_load():
        model = backend.MODEL_CLASSES[head].from_pretrained(directory, config=config, strict=False)
    if fill:
        model.load_canonical_state(fill)
    return model


def load_pt(directory: Path, head: Head, config: AlbertConfig | None = None,
            fill: Mapping[str, np.ndarray] | None = None) -> Runner:
    """A runner for the :mod:`albert_pt` model with ``head`` loaded from ``directory`` (then ``fill``: canonical
    tensors to set over the loaded or initialised ones)."""
    return _pt_runner(_load_model("pt", directory, head, config, fill), head)


def load_tf(directory: Path, head: Head, config: AlbertConfig | None = None,
            fill: Mapping[str, np.ndarray] | None = None) -> Runner:
    """A runner for the :mod:`albert_tf` model with ``head`` loaded from ``directory`` (then ``fill``, as
    :func:`load_pt`)."""
    return _tf_runner(_load_model("tf", directory, head, config, fill), head)


#: framework -> ``loader(directory, head, config) -> runner``: the public seam for replacing a backend's loader.
#: (A loader is also called with ``fill=`` when a partial conversion fills in missing tensors.)
LOADERS: dict[str, Callable[[Path, Head, AlbertConfig | None], Runner]] = {"pt": load_pt, "tf": load_tf}


def framework_of_format(format_name: str) -> str:
    """The framework (``"pt"`` or ``"tf"``) whose models natively use a checkpoint format of the format table.

    >>> framework_of_format("tf1"), framework_of_format("safetensors")
    ('tf', 'pt')
    """
    return format_named(format_name).framework


def load_runner(framework: str, directory: str | os.PathLike[str], head: Head | str,
                config: AlbertConfig | None = None, fill: Mapping[str, np.ndarray] | None = None) -> Runner:
    """Load the checkpoint at ``directory`` with ``head`` in ``framework`` (``"pt"`` or ``"tf"``); ``fill``: canonical
    tensors set over the loaded ones (the loader is called with it only when it is not empty).

    Tensors of other heads in the checkpoint are expected here (a pretraining checkpoint checked as ``masked_lm``),
    so the backends' "unused tensor" warnings are silenced; completeness is checked by the caller.
    """
    import logging
    import warnings

    loggers = [logging.getLogger(n) for n in ("albert_pt", "albert_tf", "albert_pt.modeling", "albert_tf.modeling")]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if fill:
                return LOADERS[framework](Path(directory), Head(head), config, fill=fill)
            return LOADERS[framework](Path(directory), Head(head), config)
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def check_directory(directory: str | os.PathLike[str], heads: list[Head | str], atol: float = 1e-5,
                    frameworks: tuple[str, str] = ("pt", "tf"), config: AlbertConfig | None = None,
                    tokenizer_dir: str | os.PathLike[str] | None = None) -> ParityReport:
    """Load ``directory`` in both frameworks for every head and compare the outputs on the same probe inputs."""
    directory = Path(directory)
    if config is None:
        config = AlbertConfig.from_pretrained(directory)
    report = ParityReport(atol=atol)
    ref_fw, cand_fw = frameworks
    for head in map(Head, heads):
        inputs = probe_inputs(config, head, tokenizer_dir if tokenizer_dir is not None else directory)
        reference = load_runner(ref_fw, directory, head, config)
        candidate = load_runner(cand_fw, directory, head, config)
        report.extend(compare_runners(reference, candidate, inputs, atol, label=f"{head.value}: {ref_fw} vs {cand_fw}"))
    return report


__all__ = [
    "DEFAULT_ATOL",
    "LOADERS",
    "ParityReport",
    "ParityRow",
    "check_directory",
    "compare_outputs",
    "compare_runners",
    "framework_of_format",
    "load_runner",
    "outputs_to_numpy",
    "probe_inputs",
]


def print_parity(report) -> None:
    """Print a :class:`ParityReport` as every command does: the table, then the summary line."""
    print(report.table())
    print(report.summary())
