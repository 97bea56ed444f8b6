"""A fast inference path for albert_pt models (float32, or bfloat16 by choice; CPU or CUDA), built from a loaded
model's weights.

:func:`optimize_for_inference` (or :meth:`FastAlbert.from_model`) reads the weights of any albert_pt model and
returns a :class:`FastAlbert`: an object called like the model (same arguments, same output class, no autograd)
that runs its own forward pass:

* **GEMM kernel chosen by measurement.** Every linear layer can run on PyTorch's default kernel
  (``torch.nn.functional.linear``) or on oneDNN with a weight packed once
  (``torch.ops.mkldnn._reorder_linear_weight`` + ``torch.ops.mkldnn._linear_pointwise``, the kernel TensorFlow
  uses). Which is faster depends on the CPU and the shape, so a :class:`GemmTuner` times both (a few calls each, round
  robin) the first time a shape is seen, for a row count rounded up to a power of two, and keeps the winner in
  memory and, when given a file, on disk keyed by CPU model, torch version, thread count and shape.
* **Fused QKV projection**: the query, key and value weights are concatenated into one ``[3H, H]`` GEMM.
* **Bias + activation fused** into the oneDNN GEMM (``gelu``, ``gelu_tanh``, ``relu``, ``tanh``) when the tuner
  measures it faster than the GEMM followed by the activation.
* **The tanh GELU as** ``x * sigmoid(2u)`` (the same function: ``(1 + tanh u) / 2 = sigmoid(2u)``), in place and in
  cache-sized pieces, when the tuner measures it faster than PyTorch's ``gelu(approximate="tanh")`` (on an AVX2 CPU
  PyTorch's vectorised tanh made the latter 1.4-2.3x slower).
* **SDPA attention** (``torch.nn.functional.scaled_dot_product_attention``).
* **bfloat16 by choice** (``dtype=torch.bfloat16``): weights, GEMMs and attention products in bfloat16; embeddings,
  LayerNorm, softmax accumulation, residual sums and outputs in float32. On hardware without native bfloat16 it
  warns (:class:`~albert_core.errors.EmulatedPrecisionWarning`) and runs by emulation, slower than float32.
* **No work on padding**: :meth:`FastAlbert.encode_batch` takes sequences of different lengths, sorts them by length,
  packs their tokens without padding for every linear layer and pads only inside attention (one chunk of similar
  lengths at a time); results come back in the caller's order. ``__call__(..., unpad=True)`` does the same for a
  right-padded batch with an attention mask.
* **No work on outputs nobody reads**: heads that read only each sequence's first token (sequence classification,
  multiple choice) run the last block's attention output, dense and FFN layers on those rows alone (attention still
  reads every position's keys and values), unless hidden states are asked for.

The fast path computes the same function as the eager model: results agree within float32 rounding (the tests hold
every kernel choice to 1e-5 against albert_pt's eager model and transformers' ``AlbertModel``). It is for inference
only: no dropout, no gradients. Rebuild it after changing the model's weights (the packed copies do not follow).
``output_attentions``, ``head_mask`` and relative position embeddings are passed to the eager model unchanged.

>>> import torch
>>> from albert_core import AlbertConfig
>>> from albert_pt import AlbertForSequenceClassification
>>> from albert_pt.inference import optimize_for_inference
>>> cfg = AlbertConfig(vocab_size=30, embedding_size=8, hidden_size=16, num_hidden_layers=2,
...                    num_attention_heads=2, intermediate_size=32, num_labels=3)
>>> model = AlbertForSequenceClassification(cfg).eval()
>>> fast = optimize_for_inference(model, gemm="default")
>>> ids = torch.tensor([[2, 5, 7, 3]])
>>> bool(torch.allclose(fast(ids).logits, model(ids).logits, atol=1e-5))
True
>>> [tuple(o.logits.shape) for o in fast.encode_batch([[2, 5, 3], [2, 9, 8, 7, 3]])]
[(3,), (3,)]
"""

from __future__ import annotations

import functools
import math
import os
from typing import Any, Callable, Mapping, Sequence

import torch
import torch.nn.functional as F

from albert_core.config import ACTIVATION_FUNCTIONS, AlbertConfig
from albert_core.errors import UsageError, warn_emulated_bf16
from albert_core.heads import HEADS, Head, per_sequence_output
from albert_core.losses import flatten_choices, unflatten_choices
from albert_core.outputs import BaseModelOutput, ModelOutput
from albert_core.tuning import Tuner
from albert_core.validation import check_choice_inputs, check_model_inputs, check_sequence_batch

from .kernels import GEMM_BACKENDS, onednn_available, row_bucket, torch_machine_key
from .modeling import ACTIVATION_FNS, AlbertForPreTrainingOutput, AlbertModel, AlbertPreTrainedModel

__all__ = [
    "CHUNK_TOKENS",
    "SIGMOID_FORM_PIECE",
    "DTYPES",
    "GEMM_BACKENDS",
    "FastAlbert",
    "FastLinear",
    "GemmTuner",
    "default_tuner",
    "bf16_check",
    "onednn_available",
    "optimize_for_inference",
    "packed_chunks",
    "tanh_gelu_via_sigmoid_",
]


#: activation function name (:data:`albert_core.config.ACTIVATION_FUNCTIONS` values) -> oneDNN post-op and algorithm
_ONEDNN_POSTOPS: dict[str, tuple[str, str]] = {
    "gelu": ("gelu", "none"),
    "gelu_tanh": ("gelu", "tanh"),
    "relu": ("relu", ""),
    "tanh": ("tanh", ""),
}

#: Elements per piece of :func:`tanh_gelu_via_sigmoid_` (4 MB in float32): measured on 1024 x 3072 and 6000 x 3072
#: GEMM outputs, pieces of 2**19 to 2**21 elements ran fastest, smaller ones paying per-call overhead.
SIGMOID_FORM_PIECE = 1 << 20

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
#: 2u = y (a + b y^2) in :func:`tanh_gelu_via_sigmoid_`
_TWO_U_A, _TWO_U_B = 2 * _SQRT_2_OVER_PI, 2 * _SQRT_2_OVER_PI * 0.044715


def tanh_gelu_via_sigmoid_(y: torch.Tensor) -> torch.Tensor:
    """The tanh-approximate GELU of ``y`` in place: ``y * sigmoid(2u)`` with ``u = sqrt(2/pi) (y + 0.044715 y^3)``.

    ``0.5 * (1 + tanh(u)) == sigmoid(2u)``, so this is ``gelu(y, approximate="tanh")`` up to float32 rounding; it
    avoids the vectorised tanh, and works through ``y`` in pieces of :data:`SIGMOID_FORM_PIECE` elements so the
    intermediate stays in cache. ``y`` must be a contiguous floating-point tensor the caller owns.

    >>> y = torch.linspace(-6, 6, 13)
    >>> bool(torch.allclose(tanh_gelu_via_sigmoid_(y.clone()), F.gelu(y, approximate="tanh"), atol=1e-6))
    True
    """
    flat = y.view(-1)
    scratch = torch.empty(min(flat.numel(), SIGMOID_FORM_PIECE), dtype=y.dtype, device=y.device)
    a = torch.tensor(_TWO_U_A, dtype=y.dtype, device=y.device)
    for piece in flat.split(SIGMOID_FORM_PIECE):
        # a + b y^2 in one addcmul pass (a mul then an add took two passes over the piece)
        u = torch.addcmul(a, piece, piece, value=_TWO_U_B, out=scratch[:piece.numel()])
        piece.mul_(u.mul_(piece).sigmoid_())
    return y


#: activation function name -> the in-place alternative form the tuner may pick (candidates ``"<gemm>+sigmoid_form"``)
_ALTERNATIVE_FORMS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"gelu_tanh": tanh_gelu_via_sigmoid_}
_FORM_SUFFIX = "+sigmoid_form"


#: The compute dtypes of the fast path, float32 and bfloat16 (for the weights and GEMMs only; LayerNorm, softmax
#: accumulation, residual sums and outputs stay float32).
DTYPES = (torch.float32, torch.bfloat16)


def _compute_dtype(dtype: torch.dtype | str) -> torch.dtype:
    from albert_core.loading import dtype_name

    allowed = {str(d).removeprefix("torch."): d for d in DTYPES}
    name = dtype_name(dtype)
    if name not in allowed:
        raise UsageError(f"the fast path computes in {list(allowed)}, not {dtype!r}")
    return allowed[name]


def bf16_check(device: torch.device | str, quiet: bool = False) -> bool:
    """Whether ``device`` computes bfloat16 natively; if not, warn
    (:class:`~albert_core.errors.EmulatedPrecisionWarning`) that bfloat16 will run by emulation, usually slower than
    float32, unless ``quiet``.

    >>> isinstance(bf16_check("cpu", quiet=True), bool)
    True
    """
    from .pretraining import bf16_support

    native, reason = bf16_support(device)
    if not native and not quiet:
        warn_emulated_bf16("inference", reason, stacklevel=3)
    return native


#: Default chunk size of :meth:`FastAlbert.encode_batch`, in padded attention rows. On the 2-core AVX2 EPYC of
#: ``docs/performance.rst`` ALBERT-base ran 128 variable-length passages in 10.8 s with chunks of 1024-2048 rows and
#: 13.1 s with 8192 (whose FFN activations, 8192 x 3072 floats, are far out of cache); the benchmark's e2e section
#: measures both on the machine at hand.
CHUNK_TOKENS = 2048


class GemmTuner(Tuner):
    """Times the candidate kernels of a linear shape once and remembers the fastest (a
    :class:`~albert_core.tuning.Tuner`).

    A decision is keyed by the row bucket (the row count rounded up to a power of two), the weight shape, the
    activation, the dtype and the candidates allowed. It is measured on random data with ``min(bucket, max_rows)``
    rows as :meth:`~albert_core.tuning.Tuner.measure` describes. With ``cache_file`` the decisions are also kept in
    a JSON file, under a prefix naming the CPU model, the torch version and the thread count.

    Args:
        cache_file: JSON file to keep decisions in across processes (``None``: memory only).
        budget_s: the least time one measurement takes (longer when ``min_reps`` calls need it).
        min_reps, max_reps: bounds on the timed calls per candidate.
        max_rows: the most rows a measurement uses (rates are flat beyond a few hundred rows).
        max_form_rows: the most rows the measurement of an activation's forms uses (:meth:`choose_form`).

    >>> tuner = GemmTuner(budget_s=0.0, min_reps=1)
    >>> layer = FastLinear(torch.randn(8, 4), torch.zeros(8), tuner=tuner)
    >>> layer(torch.randn(3, 4)).shape, layer.choice(3) in ("default", "onednn")
    (torch.Size([3, 8]), True)
    >>> list(tuner.decisions.values())[0]["rows"]
    4
    """

    def __init__(self, cache_file: str | os.PathLike[str] | None = None, budget_s: float = 0.03,
                 min_reps: int = 3, max_reps: int = 20, max_rows: int = 256, max_form_rows: int = 2048) -> None:
        super().__init__("gemm decisions 1", "", cache_file, budget_s, min_reps, max_reps)
        self.max_rows, self.max_form_rows = max_rows, max_form_rows

    def machine_key(self) -> str:
        """The prefix of every disk key (:func:`~albert_pt.kernels.torch_machine_key`)."""
        return torch_machine_key()

    def choose(self, layer: FastLinear, rows: int) -> str:  # type: ignore[override]
        """The fastest of ``layer.candidates`` for ``rows`` rows (measured on first use of the bucket).

        Where the activation has two forms, the form is settled first on the activation alone (:meth:`choose_form`)
        and only the kernels in that form (and the fused one) are timed: inside a GEMM's time the forms' difference
        drowns in noise."""
        candidates = layer.candidates
        if len(candidates) == 1:
            return candidates[0]
        bucket = row_bucket(rows)
        if any(c.endswith(_FORM_SUFFIX) for c in candidates):
            sigmoid = self.choose_form(layer, rows) == "sigmoid_form"
            candidates = [c for c in candidates if c.endswith("+act") or c.endswith(_FORM_SUFFIX) == sigmoid]
            if len(candidates) == 1:
                return candidates[0]
        key = f"rows<={bucket} | {layer.in_features}->{layer.out_features} | act={layer.activation} | " \
              f"{str(layer.dtype).removeprefix('torch.')} | {','.join(candidates)}"
        measured_rows = min(bucket, self.max_rows)
        x = _lazy_random(measured_rows, layer.in_features, layer.device)

        def call(candidate: str) -> Callable[[], Any]:
            def run() -> None:
                with torch.no_grad():
                    layer.run(candidate, x())
            return run

        return super().choose(key, {c: call(c) for c in candidates}, rows=measured_rows)

    def choose_form(self, layer: FastLinear, rows: int) -> str:
        """``"torch"`` or ``"sigmoid_form"``: the faster form of ``layer``'s activation on its own output for ``rows``
        rows, measured on ``min(bucket, max_form_rows)`` rows (elementwise work slows as it leaves the cache, so it
        is timed nearer its real size than a GEMM)."""
        bucket = row_bucket(rows)
        measured_rows = min(bucket, self.max_form_rows)
        key = f"rows<={bucket} | act={layer.activation} | width {layer.out_features} | {layer.device.type} | " \
              "forms torch,sigmoid_form"
        act, in_place = layer._act, _ALTERNATIVE_FORMS[layer.activation]
        data = _lazy_random(measured_rows, layer.out_features, layer.device)

        def torch_form() -> None:
            act(data())

        def sigmoid_form() -> None:
            in_place(data())  # repeatedly in place: a GELU of a GELU stays finite
        return super().choose(key, {"torch": torch_form, "sigmoid_form": sigmoid_form}, rows=measured_rows)


def _lazy_random(rows: int, width: int, device: torch.device) -> Callable[[], torch.Tensor]:
    """Seeded random ``[rows, width]`` measurement data, made on the first call only: a decision the tuner finds in
    its cache needs none."""
    @functools.cache
    def data() -> torch.Tensor:
        return torch.randn(rows, width, generator=torch.Generator().manual_seed(0)).to(device)
    return data


_DEFAULT_TUNER: GemmTuner | None = None


def default_tuner() -> GemmTuner:
    """The process-wide :class:`GemmTuner`; it keeps decisions on disk when ``ALBERT_LITE_GEMM_CACHE`` names a file.

    >>> default_tuner() is default_tuner()
    True
    """
    global _DEFAULT_TUNER
    if _DEFAULT_TUNER is None:
        _DEFAULT_TUNER = GemmTuner(cache_file=os.environ.get("ALBERT_LITE_GEMM_CACHE") or None)
    return _DEFAULT_TUNER


def _check_choice(name: str, value: Any, allowed: Sequence[Any]) -> None:
    if value not in allowed:
        raise UsageError(f"{name} must be one of {list(allowed)}, got {value!r}")


class FastLinear:
    """``activation(x @ weight.T + bias)`` on the GEMM kernel a :class:`GemmTuner` measured fastest for the shape.

    Args:
        weight: ``[out, in]`` float32 weight (copied; the model's tensor is not kept).
        bias: ``[out]`` bias or ``None``.
        activation: a function name of :data:`albert_core.config.ACTIVATION_FUNCTIONS` applied after the GEMM, or
            ``None``.
        gemm: ``"auto"`` (measure), ``"default"`` (``torch.nn.functional.linear``) or ``"onednn"`` (packed
            weight, ``torch.ops.mkldnn._linear_pointwise``).
        fuse: fuse the activation into the oneDNN GEMM: ``"auto"`` (measure), ``True`` or ``False``.
        tuner: the tuner deciding among the candidates (default: :func:`default_tuner`).
        dtype: the GEMM's dtype (:data:`DTYPES`): the weight is stored in it and the input cast to it; the output
            is float32 either way, and a non-fused activation is applied in float32.

    The weight stays on its device; oneDNN candidates exist on CPU only. The candidates are ``"default"``,
    ``"onednn"``, ``"onednn+act"`` when the activation has a oneDNN post-op, and ``"<kernel>+sigmoid_form"`` for the
    tanh GELU (:func:`tanh_gelu_via_sigmoid_` after an unfused GEMM); ``gemm`` and ``fuse`` restrict them.

    >>> w, b = torch.randn(6, 4), torch.randn(6)
    >>> layer = FastLinear(w, b, activation="gelu", gemm="onednn", fuse=True)
    >>> layer.candidates
    ['onednn+act']
    >>> x = torch.randn(5, 4)
    >>> bool(torch.allclose(layer(x), torch.nn.functional.gelu(x @ w.T + b), atol=1e-5))
    True
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, activation: str | None = None,
                 gemm: str = "auto", fuse: bool | str = "auto", tuner: GemmTuner | None = None,
                 dtype: torch.dtype | str = torch.float32) -> None:
        _check_choice("gemm", gemm, ("auto",) + GEMM_BACKENDS)
        _check_choice("fuse", fuse, ("auto", True, False))
        if activation is not None and activation not in ACTIVATION_FNS:
            raise UsageError(f"unknown activation function {activation!r}; choose one of {sorted(ACTIVATION_FNS)}")
        self.dtype, self.device = _compute_dtype(dtype), weight.device
        self.weight = weight.detach().to(self.dtype).contiguous().clone()
        self.bias = None if bias is None else bias.detach().to(self.dtype).contiguous().clone()
        self.out_features, self.in_features = self.weight.shape
        self.activation = None if activation == "linear" else activation
        self._act = ACTIVATION_FNS[self.activation] if self.activation else None
        self.tuner = tuner or default_tuner()
        onednn = gemm != "default" and self.device.type == "cpu" and onednn_available(self.dtype)
        if gemm == "onednn" and not onednn:
            raise UsageError(f"gemm='onednn' needs {self.dtype} weights on CPU and a PyTorch build with oneDNN "
                             f"(torch.backends.mkldnn); these are on {self.device}")
        unfused = [] if gemm == "onednn" else ["default"]
        fused = []
        if onednn:
            if fuse is not True or self.activation not in _ONEDNN_POSTOPS:
                unfused.append("onednn")
            if fuse is not False and self.activation in _ONEDNN_POSTOPS:
                fused.append("onednn+act")
        forms = [c + _FORM_SUFFIX for c in unfused] if self.activation in _ALTERNATIVE_FORMS else []
        self.candidates: list[str] = unfused + fused + forms
        self.packed = torch.ops.mkldnn._reorder_linear_weight(self.weight, None) if onednn else None
        self._choices: dict[int, str] = {}

    def run(self, candidate: str, x: torch.Tensor) -> torch.Tensor:
        """``x`` through one candidate kernel (no measurement); float32 out."""
        x = x.to(self.dtype)
        kernel, _, form = candidate.partition("+")
        if form == "act":
            attr, algorithm = _ONEDNN_POSTOPS[self.activation]
            return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, attr, [], algorithm).float()
        if kernel == "default":
            y = F.linear(x, self.weight, self.bias).float()
        else:
            y = torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, "none", [], "").float()
        if form == _FORM_SUFFIX[1:]:  # y is this call's own contiguous output: safe to overwrite
            return _ALTERNATIVE_FORMS[self.activation](y)
        return self._act(y) if self._act is not None else y

    def choice(self, rows: int) -> str:
        """The candidate used for ``rows`` rows (measured by the tuner on first use of the row bucket)."""
        bucket = row_bucket(rows)
        found = self._choices.get(bucket)
        if found is None:
            found = self._choices[bucket] = self.tuner.choose(self, rows)
        return found

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.numel() // self.in_features if self.in_features else 0
        return self.run(self.choice(max(rows, 1)), x)


class _LayerNorm:
    def __init__(self, module: torch.nn.LayerNorm) -> None:
        self.weight = module.weight.detach().to(torch.float32).clone()
        self.bias = module.bias.detach().to(torch.float32).clone()
        self.shape, self.eps = tuple(module.normalized_shape), module.eps

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, self.shape, self.weight, self.bias, self.eps)


class _Block:
    """One post-LN block with the fused QKV projection, SDPA and the FFN with its activation."""

    def __init__(self, layer, config: AlbertConfig, act: str, **linear_args: Any) -> None:
        att = layer.attention
        self.dtype = _compute_dtype(linear_args.get("dtype", torch.float32))
        weight = torch.cat([att.query.weight, att.key.weight, att.value.weight])
        bias = torch.cat([att.query.bias, att.key.bias, att.value.bias])
        self.heads, self.head_size, self.hidden = config.num_attention_heads, config.head_size, config.hidden_size
        self.qkv = FastLinear(weight, bias, **linear_args)
        self.dense = FastLinear(att.dense.weight, att.dense.bias, **linear_args)
        self.ln_attention = _LayerNorm(att.LayerNorm)
        self.ffn = FastLinear(layer.ffn.weight, layer.ffn.bias, activation=act, **linear_args)
        self.ffn_output = FastLinear(layer.ffn_output.weight, layer.ffn_output.bias, **linear_args)
        self.ln_output = _LayerNorm(layer.full_layer_layer_norm)

    def attention(self, qkv: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """qkv ``[B, S, 3H]`` -> context ``[B, S, H]`` (mask: additive ``[B, 1, 1, S]`` or None).

        The products run in the block's dtype; SDPA accumulates the softmax in float32 for bfloat16 inputs.
        """
        b, s, _ = qkv.shape
        q, k, v = qkv.view(b, s, 3, self.heads, self.head_size).permute(2, 0, 3, 1, 4).to(self.dtype).unbind(0)
        if mask is not None and mask.dtype != self.dtype:
            mask = mask.clamp(min=torch.finfo(self.dtype).min).to(self.dtype)
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return context.transpose(1, 2).reshape(b, s, self.hidden).float()

    def __call__(self, x: torch.Tensor, layout: _Layout,
                 keep: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """The block on ``x``; with ``keep``, only the rows ``keep`` selects go on past attention (which still
        reads every row's keys and values)."""
        context = layout.attend(self.qkv(x), self.attention)
        if keep is not None:
            x, context = keep(x), keep(context)
        # residuals added in place into the GEMM outputs, which are this call's own fresh tensors
        a = self.ln_attention(self.dense(context).add_(x))
        return self.ln_output(self.ffn_output(self.ffn(a)).add_(a))


class _Layout:
    """How the rows of the activations map to sequences.

    Padded: activations are ``[B, S, H]`` with an additive mask. Packed: activations are ``[T, H]``, the tokens of
    ``n`` sequences (sorted by decreasing length) back to back; attention scatters them into ``[n, L, 3H]`` (``L``
    the longest), masks the missing keys and gathers the real rows back.
    """

    def __init__(self, mask: torch.Tensor | None = None, lengths: Sequence[int] | None = None,
                 device: torch.device | str = "cpu") -> None:
        self.mask, self.lengths, self.index = mask, lengths, None
        if lengths is not None:
            n, longest = len(lengths), max(lengths)
            if any(length != longest for length in lengths):
                keep = torch.arange(longest)[None, :] < torch.tensor(lengths)[:, None]
                self.index = keep.view(-1).nonzero().view(-1).to(device)
                # the padding rows: zeroed (keys and values must be finite for the mask to silence them), the rest
                # of the buffer is overwritten by the real rows
                self.pad_index = (~keep).view(-1).nonzero().view(-1).to(device)
                self.mask = ((~keep).to(torch.float32)[:, None, None, :] * torch.finfo(torch.float32).min).to(device)
            self.n, self.longest = n, longest

    def attend(self, qkv: torch.Tensor, attention: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]):
        if self.lengths is None:
            return attention(qkv, self.mask)
        width = qkv.shape[-1]
        if self.index is None:  # every sequence has the same length: no padding at all
            return attention(qkv.view(self.n, self.longest, width), None).reshape(-1, width // 3)
        padded = qkv.new_empty(self.n * self.longest, width).index_fill_(0, self.pad_index, 0.0)
        padded.index_copy_(0, self.index, qkv)
        context = attention(padded.view(self.n, self.longest, width), self.mask)
        return context.reshape(-1, width // 3).index_select(0, self.index)


def packed_chunks(lengths: Sequence[int], max_tokens: int = CHUNK_TOKENS) -> list[list[int]]:
    """How :meth:`FastAlbert.encode_batch` cuts sequences of these lengths into chunks: the sequences' indices
    sorted by decreasing length, cut so that each chunk's attention holds at most ``max_tokens`` padded rows (and
    at least one sequence).

    >>> packed_chunks([3, 9, 5, 2], max_tokens=12)
    [[1], [2, 0], [3]]
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    chunks, start = [], 0
    while start < len(order):
        stop = min(len(order), start + max(1, max_tokens // lengths[order[start]]))
        chunks.append(order[start:stop])
        start = stop
    return chunks


class FastAlbert:
    """The fast inference path of one albert_pt model (any head); build it with :meth:`from_model`.

    Calling it takes the model's arguments and returns the model's output class (with the loss when labels are
    given). :meth:`encode_batch` runs sequences of different lengths without computing padding.

    Attributes:
        model: the eager model the weights came from (used for the arguments the fast path does not implement).
        head: the model's :class:`~albert_core.heads.Head`.
        tuner: the :class:`GemmTuner` deciding every layer's kernel.
    """

    def __init__(self, model: AlbertPreTrainedModel, gemm: str = "auto", fuse: bool | str = "auto",
                 tuner: GemmTuner | None = None, dtype: torch.dtype | str = torch.float32) -> None:
        if not isinstance(model, AlbertPreTrainedModel):
            raise UsageError(f"expected an albert_pt model, got {type(model).__name__}")
        _check_choice("gemm", gemm, ("auto",) + GEMM_BACKENDS)
        _check_choice("fuse", fuse, ("auto", True, False))
        self.model, self.head, self.config = model, model.head, model.config
        self.gemm, self.fuse, self.dtype = gemm, fuse, _compute_dtype(dtype)
        self.tuner = tuner or default_tuner()
        backbone = model if isinstance(model, AlbertModel) else model.albert
        self.backbone = backbone
        devices = {p.device for p in model.parameters()}
        if len(devices) != 1:
            raise UsageError("the fast path needs the model on one device; its parameters are on "
                             f"{sorted(map(str, devices))}")
        self.device = devices.pop()
        for p in model.parameters():
            if not p.dtype.is_floating_point:
                raise UsageError(f"the fast path needs floating-point parameters; this model has a {p.dtype} one")
        if self.dtype != torch.float32:
            bf16_check(self.device)
        args = dict(gemm=gemm, fuse=fuse, tuner=self.tuner, dtype=self.dtype)
        cfg = self.config
        self.supported = cfg.position_embedding_type == "absolute"
        act = ACTIVATION_FUNCTIONS[cfg.hidden_act]
        emb = backbone.embeddings
        self.word = emb.word_embeddings.weight.detach().to(torch.float32).clone()
        self.position = emb.position_embeddings.weight.detach().to(torch.float32).clone()
        self.token_type = emb.token_type_embeddings.weight.detach().to(torch.float32).clone()
        self.ln_embeddings = _LayerNorm(emb.LayerNorm)
        mapping = backbone.encoder.embedding_hidden_mapping_in
        self.mapping = FastLinear(mapping.weight, mapping.bias, **args)
        self.groups = [[_Block(layer, cfg, act, **args) for layer in group.albert_layers]
                       for group in backbone.encoder.albert_layer_groups]
        self.layer_groups = cfg.layer_groups()
        self.pooler = None
        if backbone.pooler is not None:
            self.pooler = FastLinear(backbone.pooler.weight, backbone.pooler.bias, activation="tanh", **args)
        self.parts: dict[str, Any] = {}
        if self.head in (Head.SEQUENCE_CLASSIFICATION, Head.MULTIPLE_CHOICE, Head.TOKEN_CLASSIFICATION):
            self.parts["classifier"] = FastLinear(model.classifier.weight, model.classifier.bias, **args)
        if self.head is Head.QUESTION_ANSWERING:
            self.parts["qa"] = FastLinear(model.qa_outputs.weight, model.qa_outputs.bias, **args)
        if self.head in (Head.MASKED_LM, Head.PRETRAINING):
            pred = model.predictions
            self.parts["mlm_dense"] = FastLinear(pred.dense.weight, pred.dense.bias, activation=act, **args)
            self.parts["mlm_norm"] = _LayerNorm(pred.LayerNorm)
            self.parts["decoder"] = FastLinear(emb.word_embeddings.weight, pred.bias, **args)
        if self.head is Head.PRETRAINING:
            sop = model.sop_classifier.classifier
            self.parts["sop"] = FastLinear(sop.weight, sop.bias, **args)

    @classmethod
    def from_model(cls, model: AlbertPreTrainedModel, gemm: str = "auto", fuse: bool | str = "auto",
                   tuner: GemmTuner | None = None, dtype: torch.dtype | str = torch.float32) -> FastAlbert:
        """The fast path of ``model`` (see :func:`optimize_for_inference` for the arguments).

        >>> from albert_core import AlbertConfig
        >>> from albert_pt import AlbertModel
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=8, hidden_size=16, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=32)
        >>> fast = FastAlbert.from_model(AlbertModel(cfg), gemm="default")
        >>> fast.head.value, fast.mapping.candidates
        ('base', ['default'])
        """
        return cls(model, gemm=gemm, fuse=fuse, tuner=tuner, dtype=dtype)

    # ------------------------------------------------------------------ the shared encoder

    def _embed(self, ids: torch.Tensor, types: torch.Tensor | None, positions: torch.Tensor | None,
               embeds: torch.Tensor | None = None) -> torch.Tensor:
        x = F.embedding(ids, self.word) if embeds is None else embeds.to(torch.float32)
        if types is None:
            x = x + self.token_type[0]
        else:
            x = x + F.embedding(types, self.token_type)
        if positions is None:
            x = x + self.position[: x.shape[-2]]
        else:
            x = x + F.embedding(positions, self.position)
        return self.ln_embeddings(x)

    def _encode(self, x: torch.Tensor, layout: _Layout, hidden: list | None = None,
                first: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """The encoder's last hidden state; with ``first`` (which selects each sequence's first row), only those
        rows of it: the last block then runs its dense and FFN layers on them alone."""
        x = self.mapping(x)
        if hidden is not None:
            hidden.append(x)
        remaining = sum(len(self.groups[group_index]) for group_index in self.layer_groups)
        for group_index in self.layer_groups:
            for block in self.groups[group_index]:
                remaining -= 1
                x = block(x, layout, keep=first if remaining == 0 else None)
            if hidden is not None:
                hidden.append(x)
        return x

    def _encode_heads(self, x: torch.Tensor, layout: _Layout, first: Callable[[torch.Tensor], torch.Tensor],
                      hidden: list | None = None) -> dict[str, torch.Tensor]:
        """The head's outputs for embedded ``x``; ``first`` selects each sequence's first row. A head that reads
        only those rows (and no hidden states asked for) has the last block run past attention on them alone."""
        if hidden is None and HEADS[self.head].first_token_only:
            pooled = self._encode(x, layout, first=first)
            return self._heads(pooled, pooled)
        last = self._encode(x, layout, hidden)
        return self._heads(last, first(last))

    def _heads(self, last: torch.Tensor, first: torch.Tensor) -> dict[str, torch.Tensor]:
        """The head's logits from the last hidden state (``[..., H]``) and the first tokens (``[B, H]``)."""
        out: dict[str, torch.Tensor] = {}
        pooled = self.pooler(first) if self.pooler is not None else None
        if self.head is Head.BASE:
            out["last_hidden_state"], out["pooler_output"] = last, pooled
        elif self.head in (Head.SEQUENCE_CLASSIFICATION, Head.MULTIPLE_CHOICE):
            out["logits"] = self.parts["classifier"](pooled)
        elif self.head is Head.TOKEN_CLASSIFICATION:
            out["logits"] = self.parts["classifier"](last)
        elif self.head is Head.QUESTION_ANSWERING:
            logits = self.parts["qa"](last)
            out["start_logits"], out["end_logits"] = logits[..., 0].contiguous(), logits[..., 1].contiguous()
        if self.head in (Head.MASKED_LM, Head.PRETRAINING):
            h = self.parts["mlm_norm"](self.parts["mlm_dense"](last))
            out["prediction_logits" if self.head is Head.PRETRAINING else "logits"] = self.parts["decoder"](h)
        if self.head is Head.PRETRAINING:
            out["sop_logits"] = self.parts["sop"](pooled)
        return out

    # ------------------------------------------------------------------ the model's call signature

    def __call__(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                 token_type_ids: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                 head_mask: torch.Tensor | None = None, inputs_embeds: torch.Tensor | None = None,
                 output_attentions: bool = False, output_hidden_states: bool = False, unpad: bool = False,
                 **labels: torch.Tensor | None) -> ModelOutput:
        """Run the model's forward pass on the fast path; arguments as the model's ``forward``.

        Args:
            unpad: for a right-padded batch (each mask row ``1 .. 1 0 .. 0``), skip the padded positions: the
                real positions are computed as by :meth:`encode_batch` and the padded ones are returned as zeros
                (so only the real positions equal the eager model's). Masks of another form run padded.

        ``head_mask``, ``output_attentions`` and relative position embeddings go to the eager model.
        """
        unknown = sorted(set(labels) - set(_label_names(self.head)))
        if unknown:
            raise UsageError(f"unexpected argument(s) {unknown} for {type(self.model).__name__}")
        if head_mask is not None or output_attentions or not self.supported:
            return self.model(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                              output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                              **labels)
        with torch.no_grad():
            if self.head is Head.MULTIPLE_CHOICE:
                check_choice_inputs(*(None if t is None else tuple(t.shape) for t in
                                      (input_ids, inputs_embeds, attention_mask, token_type_ids, position_ids)))
                num_choices = (input_ids if input_ids is not None else inputs_embeds).shape[1]
                flat = flatten_choices({"input_ids": input_ids, "attention_mask": attention_mask,
                                        "token_type_ids": token_type_ids, "position_ids": position_ids,
                                        "inputs_embeds": inputs_embeds}, self.model.ops)
                backbone, out = self._forward(**flat, output_hidden_states=output_hidden_states, unpad=unpad)
                out["logits"] = unflatten_choices(out["logits"], num_choices, self.model.ops)
            else:
                backbone, out = self._forward(input_ids, attention_mask, token_type_ids, position_ids,
                                              inputs_embeds, output_hidden_states, unpad)
        if self.head is Head.BASE:
            return BaseModelOutput(**out, hidden_states=backbone.hidden_states)
        values = tuple(labels.get(name) for name in _label_names(self.head))
        return self.model._head_output(_output_class(self.head), backbone, values, **out)

    def _forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                 inputs_embeds=None, output_hidden_states=False, unpad=False):
        shape = lambda t: None if t is None else tuple(t.shape)  # noqa: E731
        check_model_inputs(self.config, shape(input_ids), shape(attention_mask), shape(token_type_ids),
                           shape(position_ids), shape(inputs_embeds), None)
        ids, types, positions, mask = self.backbone._check_ids(input_ids, token_type_ids, position_ids,
                                                               attention_mask)
        if unpad and mask is not None and ids is not None and position_ids is None and not output_hidden_states:
            lengths = _prefix_lengths(mask)
            if lengths is not None and min(lengths) > 0:
                return self._forward_unpadded(ids, types, lengths)
        hidden = [] if output_hidden_states else None
        x = self._embed(ids, types, positions, inputs_embeds)
        out = self._encode_heads(x, _Layout(mask=self.backbone._mask_bias(mask, x.dtype)), lambda t: t[:, 0], hidden)
        return BaseModelOutput(hidden_states=None if hidden is None else tuple(hidden)), out

    def _forward_unpadded(self, ids: torch.Tensor, types: torch.Tensor | None, lengths: list[int]):
        seqs = [ids[i, :n] for i, n in enumerate(lengths)]
        type_seqs = None if types is None else [types[i, :n] for i, n in enumerate(lengths)]
        results = self._run_packed(seqs, type_seqs)
        b, s = ids.shape
        out: dict[str, torch.Tensor] = {}
        for key, value in results[0].items():
            if value is None:
                out[key] = None
                continue
            if not self._per_sequence(key):
                full = value.new_zeros((b, s) + tuple(value.shape[1:]))
                for i, r in enumerate(results):
                    full[i, : lengths[i]] = r[key]
            else:
                full = torch.stack([r[key] for r in results])
            out[key] = full
        return BaseModelOutput(), out

    # ------------------------------------------------------------------ variable-length batches

    def _per_sequence(self, key: str) -> bool:
        return per_sequence_output(self.head, key)

    def _run_packed(self, seqs: list[torch.Tensor], types: list[torch.Tensor] | None,
                    max_tokens: int = CHUNK_TOKENS) -> list[dict[str, torch.Tensor]]:
        """Per-sequence head outputs (without batch dimension) in the order of ``seqs``."""
        lengths = [int(s.shape[0]) for s in seqs]
        results: list[dict[str, torch.Tensor] | None] = [None] * len(seqs)
        for chunk in packed_chunks(lengths, max_tokens):
            chunk_lengths = [lengths[i] for i in chunk]
            ids = torch.cat([seqs[i] for i in chunk])
            typ = None if types is None else torch.cat([types[i] for i in chunk])
            positions = torch.cat([torch.arange(n) for n in chunk_lengths]).to(self.device)
            x = self._embed(ids, typ, positions)
            offsets = [0]
            for n in chunk_lengths:
                offsets.append(offsets[-1] + n)
            starts = torch.tensor(offsets[:-1], device=self.device)
            out = self._encode_heads(x, _Layout(lengths=chunk_lengths, device=self.device),
                                     lambda t: t.index_select(0, starts))
            for j, i in enumerate(chunk):
                row = {}
                for key, value in out.items():
                    if value is None:
                        row[key] = None
                    elif self._per_sequence(key):
                        row[key] = value[j]
                    else:
                        row[key] = value[offsets[j]: offsets[j + 1]]
                results[i] = row
        return results  # type: ignore[return-value]

    def encode_batch(self, sequences: Sequence[Sequence[int]] | Mapping[str, Any],
                     token_type_ids: Sequence[Sequence[int]] | None = None,
                     max_tokens: int = CHUNK_TOKENS) -> list[ModelOutput]:
        """Run sequences of different lengths without computing padding; one output per sequence, in order.

        The sequences are sorted by length and cut into chunks of at most ``max_tokens`` padded attention rows.
        Every linear layer runs on the chunk's real tokens only, packed back to back; attention pads each chunk to
        its longest sequence (similar lengths, as they are sorted) and masks the padding. Each result equals the
        eager model's output for that sequence alone (or in any padded batch) within float32 rounding.

        Args:
            sequences: token-id sequences (lists or 1-D integer tensors), or a tokenizer's output holding
                ``input_ids`` (and ``token_type_ids``, used unless ``token_type_ids`` is given).
            token_type_ids: one segment-id sequence per sequence (default zeros).
            max_tokens: the most padded rows one chunk's attention holds (at least one sequence). It bounds memory,
                and chunks that keep the activations in cache run faster
                (see :data:`~albert_pt.inference.CHUNK_TOKENS`).

        Returns:
            The head's output class per sequence, without the batch dimension: ``last_hidden_state`` ``[n, H]`` and
            ``pooler_output`` ``[H]`` for :class:`~albert_pt.AlbertModel`; ``logits`` ``[num_labels]`` for sequence
            classification, ``[n, num_labels]`` for token classification, ``[n, vocab_size]`` for masked LM;
            ``start_logits`` / ``end_logits`` ``[n]`` for question answering.

        Raises:
            ~albert_core.InputError: for an empty sequence, one longer than ``max_position_embeddings``, or ids out
                of range.
            ~albert_core.errors.UsageError: for the multiple-choice head (use the call with ``unpad=True``).

        >>> from albert_core import AlbertConfig
        >>> from albert_pt import AlbertForTokenClassification
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=8, hidden_size=16, num_hidden_layers=1,
        ...                    num_attention_heads=2, intermediate_size=32, num_labels=5)
        >>> fast = optimize_for_inference(AlbertForTokenClassification(cfg), gemm="default")
        >>> [tuple(o.logits.shape) for o in fast.encode_batch([[2, 7, 3], [2, 3], [2, 9, 9, 9, 3]])]
        [(3, 5), (2, 5), (5, 5)]
        """
        if self.head is Head.MULTIPLE_CHOICE:
            raise UsageError("encode_batch takes single sequences; call the multiple-choice model with unpad=True")
        if not self.supported:
            raise UsageError("encode_batch needs absolute position embeddings; this model uses "
                             f"{self.config.position_embedding_type!r}")
        arrays, type_arrays = check_sequence_batch(self.config, sequences, token_type_ids, max_tokens)
        if not arrays:
            return []
        seqs = [torch.from_numpy(a).to(self.device) for a in arrays]
        types = None if type_arrays is None else [torch.from_numpy(t).to(self.device) for t in type_arrays]
        with torch.no_grad():
            rows = self._run_packed(seqs, types, max_tokens)
        return [_output_class(self.head)(**row) for row in rows]

    def gemm_choices(self) -> dict[str, dict[int, str]]:
        """The kernel each linear layer has used so far, per row bucket (for reports).

        >>> from albert_core import AlbertConfig
        >>> from albert_pt import AlbertModel
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=8, hidden_size=16, num_hidden_layers=1,
        ...                    num_attention_heads=2, intermediate_size=32)
        >>> fast = optimize_for_inference(AlbertModel(cfg), gemm="default")
        >>> _ = fast(torch.tensor([[2, 5, 3]]))
        >>> fast.gemm_choices()["group0.block0.ffn"]
        {4: 'default'}
        """
        layers = {"mapping": self.mapping}
        for g, group in enumerate(self.groups):
            for i, block in enumerate(group):
                for name in ("qkv", "dense", "ffn", "ffn_output"):
                    layers[f"group{g}.block{i}.{name}"] = getattr(block, name)
        if self.pooler is not None:
            layers["pooler"] = self.pooler
        layers.update({k: v for k, v in self.parts.items() if isinstance(v, FastLinear)})
        return {name: dict(layer._choices) for name, layer in layers.items()}


def _output_class(head: Head) -> type[ModelOutput]:
    """The core head table's output class; pre-training's is this backend's subclass of it."""
    return AlbertForPreTrainingOutput if head is Head.PRETRAINING else HEADS[head].output_class


def _label_names(head: Head) -> tuple[str, ...]:
    return tuple(HEADS[head].label_names)


def _prefix_lengths(mask: torch.Tensor) -> list[int] | None:
    """Each row's length when every mask row is ``1 .. 1 0 .. 0``; ``None`` otherwise."""
    keep = mask.to(torch.bool)
    lengths = keep.sum(dim=1)
    expected = torch.arange(mask.shape[1], device=mask.device)[None, :] < lengths[:, None]
    return lengths.tolist() if bool(torch.equal(keep, expected)) else None


def optimize_for_inference(model: AlbertPreTrainedModel, gemm: str = "auto", fuse: bool | str = "auto",
                           tuner: GemmTuner | None = None, dtype: torch.dtype | str = torch.float32) -> FastAlbert:
    """The fast inference path of an albert_pt model (any head), in float32 or bfloat16, on CPU or CUDA.

    Args:
        model: a loaded albert_pt model; its weights are copied (and packed for oneDNN).
        gemm: ``"auto"`` picks each linear shape's kernel by measurement; ``"default"`` or ``"onednn"`` force one.
        fuse: fuse the FFN activation and the pooler's tanh into the oneDNN GEMM: ``"auto"`` (measure), ``True`` or
            ``False``.
        tuner: the :class:`GemmTuner` to use (default: :func:`default_tuner`, shared by the process).
        dtype: ``torch.float32`` (default; exact within float32 rounding) or ``torch.bfloat16`` (also ``"bf16"``):
            weights and GEMMs (and the attention products) in bfloat16, while embeddings, LayerNorm, the softmax's
            accumulation, residual sums and the outputs stay float32. Opt-in: it warns
            (:class:`~albert_core.errors.EmulatedPrecisionWarning`) where the device lacks native bfloat16, as this
            runs slower than float32 there. Its measured distance from float32 is on the performance page.

    Raises:
        ~albert_core.errors.UsageError: for a model that is not an albert_pt model or spans several devices, or for
            an unknown ``gemm`` / ``fuse`` / ``dtype``.

    >>> from albert_core import AlbertConfig
    >>> from albert_pt import AlbertForQuestionAnswering
    >>> cfg = AlbertConfig(vocab_size=30, embedding_size=8, hidden_size=16, num_hidden_layers=1,
    ...                    num_attention_heads=2, intermediate_size=32)
    >>> model = AlbertForQuestionAnswering(cfg).eval()
    >>> fast = optimize_for_inference(model)
    >>> ids = torch.tensor([[2, 5, 7, 3], [2, 6, 3, 0]])
    >>> mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    >>> bool(torch.allclose(fast(ids, mask).start_logits, model(ids, mask).start_logits, atol=1e-5))
    True
    """
    return FastAlbert(model, gemm=gemm, fuse=fuse, tuner=tuner, dtype=dtype)
