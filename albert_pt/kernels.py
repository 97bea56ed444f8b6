"""The GEMM kernels this machine's PyTorch can run, and training albert_pt models on the faster one.

:func:`onednn_available` says whether oneDNN's packed-weight linear runs here (the inference fast path,
:mod:`albert_pt.inference`, picks among the same kernels for inference).

PyTorch trains ``nn.Linear`` layers on its default float32 GEMM (``addmm`` / ``mm``: MKL or OpenBLAS). oneDNN's GEMM
with a packed weight, the kernel TensorFlow and the fast inference path use, is 2.3x faster on some CPUs (an
AVX-512 machine) and level on others (an AVX2 one), so the choice is measured, not assumed.

:func:`tune_training_gemms` turns every ``nn.Linear`` of a model into a :class:`TunedLinear`: the same module (same
parameters, same state dict) whose forward GEMM and input-gradient GEMM run on the kernel a
:class:`TrainingGemmTuner` timed fastest for the shape, forward and backward together. On oneDNN the weight is
packed once per weight version, and again after each in-place update by the optimizer; ALBERT's shared layers reuse
one pack in every layer of a step. The weight gradient multiplies two activations, so it stays a ``torch.mm`` (packing
one operand per call would cost what it saves). It is still autograd: the oneDNN path is a
``torch.autograd.Function`` whose outputs and gradients equal ``nn.Linear``'s within float32 rounding.

Where oneDNN does not apply the layer runs ``torch.nn.functional.linear`` as before: under autocast (bfloat16
training), off the CPU, for dtypes other than float32, or when PyTorch has no oneDNN.

>>> import torch
>>> from albert_core import AlbertConfig
>>> from albert_pt import AlbertForMaskedLM
>>> cfg = AlbertConfig(vocab_size=30, embedding_size=8, hidden_size=16, num_hidden_layers=2,
...                    num_attention_heads=2, intermediate_size=32)
>>> model = tune_training_gemms(AlbertForMaskedLM(cfg), gemm="auto", tuner=TrainingGemmTuner(budget_s=0.0))
>>> ids = torch.tensor([[2, 5, 7, 3]])
>>> model(ids, labels=ids).loss.backward()  # each shape's kernel is measured on its first use
>>> sorted({type(m).__name__ for m in model.modules() if isinstance(m, torch.nn.Linear)})
['TunedLinear']
>>> set(training_gemm_choices(model)["predictions.decoder"].values()) <= set(GEMM_BACKENDS)
True
"""

from __future__ import annotations

import functools
import os
from typing import Any, Callable

import torch
import torch.nn.functional as F

from albert_core.errors import ConfigError, UsageError
from albert_core.training import TRAINING_GEMMS
from albert_core.tuning import Tuner, cpu_model_name


__all__ = ["GEMM_BACKENDS", "TrainingGemmTuner", "TunedLinear", "default_training_tuner", "onednn_available",
           "row_bucket", "torch_machine_key", "tune_training_gemms", "training_gemm_choices", "use_training_gemm"]

#: The GEMM kernels a linear layer can run on, PyTorch's default (``torch.nn.functional.linear``) and oneDNN with a
#: packed weight. The fast inference path (:class:`~albert_pt.inference.FastLinear`) and :class:`TunedLinear` pick
#: among them (with ``gemm="auto"`` by measurement, per shape).
GEMM_BACKENDS = ("default", "onednn")


@functools.lru_cache(maxsize=None)
def onednn_available(dtype: torch.dtype = torch.float32) -> bool:
    """Whether this PyTorch build can run ``dtype`` linear layers on oneDNN with packed weights.

    >>> isinstance(onednn_available(), bool), isinstance(onednn_available(torch.bfloat16), bool)
    (True, True)
    """
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        w = torch.ones(2, 2, dtype=dtype)
        packed = torch.ops.mkldnn._reorder_linear_weight(w, None)
        y = torch.ops.mkldnn._linear_pointwise(torch.ones(1, 2, dtype=dtype), packed, None, "none", [], "")
        return bool(torch.equal(y.float(), torch.full((1, 2), 2.0)))
    except (RuntimeError, AttributeError, NotImplementedError):
        return False


def torch_machine_key() -> str:
    """What makes a kernel timing valid in another process: the CPU model, the torch version and its thread count
    (the disk-key prefix of both GEMM tuners)."""
    return f"{cpu_model_name()} | torch {torch.__version__} | {torch.get_num_threads()} threads"


def row_bucket(rows: int) -> int:
    """``rows`` rounded up to a power of two: the row counts one kernel measurement stands for.

    >>> [row_bucket(n) for n in (1, 2, 3, 1000, 1024, 1025)]
    [1, 2, 4, 1024, 1024, 2048]
    """
    return 1 << max(0, rows - 1).bit_length()


class _Packs:
    """A weight packed for oneDNN (``[out, in]`` for the forward, ``[in, out]`` for the input gradient), repacked
    when the weight's storage or version changes (an optimizer step updates it in place)."""

    def __init__(self) -> None:
        self._packed: dict[bool, tuple[tuple[int, int], torch.Tensor]] = {}

    def clear(self) -> None:
        self._packed.clear()

    def get(self, weight: torch.Tensor, transposed: bool) -> torch.Tensor:
        stamp = (weight.data_ptr(), weight._version)
        found = self._packed.get(transposed)
        if found is None or found[0] != stamp:
            source = weight.detach().t().contiguous() if transposed else weight.detach()
            found = self._packed[transposed] = (stamp, torch.ops.mkldnn._reorder_linear_weight(source, None))
        return found[1]


def _onednn_linear(rows: torch.Tensor, packed: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return torch.ops.mkldnn._linear_pointwise(rows, packed, bias, "none", [], "")


class _OneDnnLinearFunction(torch.autograd.Function):
    """``x @ weight.T + bias`` with the forward and input-gradient GEMMs on oneDNN (packed weights)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                packs: _Packs) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.packs, ctx.has_bias = packs, bias is not None
        y = _onednn_linear(x.reshape(-1, x.shape[-1]), packs.get(weight, transposed=False), bias)
        return y.view(*x.shape[:-1], weight.shape[0])

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor):  # type: ignore[override]
        x, weight = ctx.saved_tensors
        grad_rows = grad.reshape(-1, weight.shape[0]).contiguous()
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_x = _onednn_linear(grad_rows, ctx.packs.get(weight, transposed=True), None).view(x.shape)
        if ctx.needs_input_grad[1]:
            grad_weight = grad_rows.t().mm(x.reshape(-1, x.shape[-1]))
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = grad_rows.sum(0)
        return grad_x, grad_weight, grad_bias, None


class TrainingGemmTuner(Tuner):
    """Times a linear shape's training GEMMs (forward and backward together) on each kernel of
    :data:`GEMM_BACKENDS` once and remembers the fastest (a :class:`~albert_core.tuning.Tuner`).

    A decision is keyed by the row bucket (rows rounded up to a power of two) and the weight shape, and measured on
    random data with ``min(bucket, max_rows)`` rows. The oneDNN candidate packs its weight on every timed call, as a
    weight used once per optimizer step must be: where a model reuses a weight within a step (ALBERT's shared
    layers) the pack is amortised, so the measurement may leave some of oneDNN's speed unused there, never the
    reverse. With ``cache_file`` the decisions are also kept in a JSON file under a prefix naming the CPU model, the
    torch version and the thread count.

    >>> tuner = TrainingGemmTuner(budget_s=0.0, min_reps=1)
    >>> layer = tune_training_gemms(torch.nn.Linear(4, 8), tuner=tuner)
    >>> layer(torch.randn(3, 4)).shape, layer.choice(3) in GEMM_BACKENDS
    (torch.Size([3, 8]), True)
    """

    def __init__(self, cache_file: str | os.PathLike[str] | None = None, budget_s: float = 0.05,
                 min_reps: int = 3, max_reps: int = 10, max_rows: int = 512) -> None:
        super().__init__("training gemm decisions 1", "", cache_file, budget_s, min_reps, max_reps)
        self.max_rows = max_rows

    def machine_key(self) -> str:
        """The prefix of every disk key (:func:`torch_machine_key`)."""
        return torch_machine_key()

    def choose(self, layer: TunedLinear, rows: int) -> str:  # type: ignore[override]
        """The faster kernel for ``rows`` rows of ``layer`` (measured on first use of the bucket)."""
        candidates = layer.gemm_candidates
        if len(candidates) == 1:
            return candidates[0]
        bucket = row_bucket(rows)
        key = f"rows<={bucket} | {layer.in_features}->{layer.out_features} | bias={layer.bias is not None}"
        measured_rows = min(bucket, self.max_rows)
        data: dict[str, torch.Tensor] = {}

        def step(kernel: str) -> Callable[[], None]:
            def run() -> None:
                if not data:  # made on first use only: a cached decision needs none
                    gen = torch.Generator().manual_seed(0)
                    data["x"] = torch.randn(measured_rows, layer.in_features, generator=gen).requires_grad_()
                    data["w"] = layer.weight.detach().clone().requires_grad_()
                    data["b"] = None if layer.bias is None else layer.bias.detach().clone().requires_grad_()
                    data["g"] = torch.randn(measured_rows, layer.out_features, generator=gen)
                x, w, b = data["x"], data["w"], data["b"]
                if kernel == "default":
                    y = F.linear(x, w, b)
                else:
                    packs.clear()  # an optimizer step changes the weight before its next use: pack it again
                    y = _OneDnnLinearFunction.apply(x, w, b, packs)
                y.backward(data["g"])
                x.grad = w.grad = None
            return run

        packs = _Packs()
        return super().choose(key, {c: step(c) for c in candidates}, rows=measured_rows)


_DEFAULT_TUNER: TrainingGemmTuner | None = None


def default_training_tuner() -> TrainingGemmTuner:
    """The process-wide :class:`TrainingGemmTuner`; it keeps decisions on disk when ``ALBERT_LITE_GEMM_CACHE``
    names a file (next to the inference decisions, under another kind).

    >>> default_training_tuner() is default_training_tuner()
    True
    """
    global _DEFAULT_TUNER
    if _DEFAULT_TUNER is None:
        cache = os.environ.get("ALBERT_LITE_GEMM_CACHE")
        _DEFAULT_TUNER = TrainingGemmTuner(cache_file=f"{cache}.training" if cache else None)
    return _DEFAULT_TUNER


class TunedLinear(torch.nn.Linear):
    """An ``nn.Linear`` whose GEMMs run on the kernel its tuner picked for the shape; made by
    :func:`tune_training_gemms` (which swaps the class of existing layers, keeping their parameters)."""

    gemm_candidates: list[str]
    gemm_tuner: TrainingGemmTuner

    def _setup(self, gemm: str, tuner: TrainingGemmTuner | None) -> None:
        onednn = (gemm != "default" and self.weight.device.type == "cpu" and self.weight.dtype == torch.float32
                  and onednn_available())
        if gemm == "onednn" and not onednn:
            raise UsageError(f"gemm='onednn' needs float32 weights on CPU and a PyTorch build with oneDNN; this "
                             f"layer's are {self.weight.dtype} on {self.weight.device}")
        self.gemm_candidates = (["onednn"] if gemm == "onednn" else ["default"]
                                + (["onednn"] if onednn and gemm == "auto" else []))
        self.gemm_tuner = tuner or default_training_tuner()
        self._gemm_choices: dict[int, str] = {}
        self._packs = _Packs()

    def choice(self, rows: int) -> str:
        """The kernel used for ``rows`` rows (measured on first use of the row bucket)."""
        bucket = row_bucket(rows)
        found = self._gemm_choices.get(bucket)
        if found is None:
            found = self._gemm_choices[bucket] = self.gemm_tuner.choose(self, rows)
        return found

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (self.gemm_candidates == ["default"] or x.device.type != "cpu" or x.dtype != torch.float32
                or self.weight.dtype != torch.float32 or torch.is_autocast_enabled("cpu")):
            return F.linear(x, self.weight, self.bias)
        rows = max(1, x.numel() // self.in_features) if self.in_features else 1
        if self.choice(rows) == "default":
            return F.linear(x, self.weight, self.bias)
        return _OneDnnLinearFunction.apply(x, self.weight, self.bias, self._packs)


def tune_training_gemms(model: torch.nn.Module, gemm: str = "auto",
                        tuner: TrainingGemmTuner | None = None) -> torch.nn.Module:
    """Make every ``nn.Linear`` in ``model`` (or ``model`` itself) train on the GEMM kernel ``gemm`` picks; return
    ``model``.

    Args:
        model: any module; its linear layers keep their parameters, names and state dict.
        gemm: ``"auto"`` (measure per shape and row bucket), ``"onednn"`` or ``"default"`` (plain ``nn.Linear``
            again).
        tuner: the tuner deciding for ``"auto"`` (default: :func:`default_training_tuner`).

    Raises:
        ~albert_core.errors.UsageError: an unknown ``gemm``, or ``"onednn"`` where it cannot run.
    """
    if gemm not in TRAINING_GEMMS:
        raise UsageError(f"gemm must be one of {list(TRAINING_GEMMS)}, got {gemm!r}")
    for module in model.modules():
        if not isinstance(module, torch.nn.Linear):
            continue
        if gemm == "default":
            if isinstance(module, TunedLinear):
                module.__class__ = torch.nn.Linear
                for name in ("gemm_candidates", "gemm_tuner", "_gemm_choices", "_packs"):
                    module.__dict__.pop(name, None)
            continue
        module.__class__ = TunedLinear
        module._setup(gemm, tuner)  # type: ignore[attr-defined]
    return model


def use_training_gemm(model: torch.nn.Module, gemm: str) -> torch.nn.Module:
    """:func:`tune_training_gemms` for a training configuration's ``gemm``
    (:func:`~albert_core.training.check_training_gemm`): nothing for ``"default"``, and a
    :class:`~albert_core.ConfigError` where the kernel cannot run."""
    if gemm == "default":
        return model
    try:
        return tune_training_gemms(model, gemm)
    except UsageError as exc:
        raise ConfigError(f"gemm: {exc}") from None


def training_gemm_choices(model: torch.nn.Module) -> dict[str, dict[int, str]]:
    """The kernel each tuned linear layer of ``model`` has used so far, per row bucket (for reports).

    >>> layer = tune_training_gemms(torch.nn.Sequential(torch.nn.Linear(4, 8)), gemm="default")
    >>> training_gemm_choices(layer)
    {}
    """
    return {name: dict(m._gemm_choices) for name, m in model.named_modules() if isinstance(m, TunedLinear)}
