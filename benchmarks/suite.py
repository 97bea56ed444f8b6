"""Every albert-lite benchmark in one run: ``python -m benchmarks [--size base|tiny] [--quick]``.

Sections (each records its own error instead of stopping the run; ``--only`` / ``--skip`` choose them):

``machine``   CPU model and flags, versions, load average, the measured fp32 GEMM rate of both PyTorch backends
              (default and oneDNN) and of onnxruntime's MLAS at the model's linear shapes, and the floor (matmul
              FLOPs / best rate of any of them; also over PyTorch's kernels alone).
``forward``   batch x seq forward on the same weights: albert_pt eager, albert_pt fast path, transformers eager and
              SDPA, onnxruntime on transformers' graph exported with ``torch.onnx``; parity against transformers.
``bf16``      the fast path in bfloat16 and bfloat16 autocast (ours, transformers) against the bfloat16 floor, with
              their distance from float32; on a CPU without native bfloat16 this shows the cost of emulation.
``tf``        albert_tf and transformers' TF model under ``tf.function(jit_compile=True)`` (XLA) and without XLA.
``train``     one training step (forward, backward, AdamW; masked-LM head) of albert_pt vs transformers; at ``base``
              size on albert-base-v2's 30000-piece vocabulary (the other sections use the shipped tokenizer's).
              Our rows run the head on the masked positions only, as albert_pt's pre-training does; one row runs it
              on every position, as transformers does.
``e2e``       tokenize + classify N variable-length tiny-shakespeare passages: the fast path with unpadding, our
              padded batches, and transformers' ``pipeline``; the predictions are compared. The floors come from
              the fast path's own matmuls on the job, timed in the same rounds.
``tokenizer`` albert_core's tokenizer vs transformers' fast tokenizer and raw SentencePiece (ids checked).
``convert``   peak memory of converting an xxlarge-sized checkpoint (only with ``--convert-memory``; slow).

Timings are medians of round-robin rounds (one call of each implementation per round), so load from other processes
hits them alike. Results go to ``benchmarks/results/<name>.json`` and ``.md`` and a plot ``<name>.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CORPUS = ROOT.parent / "shared" / "corpus" / "tinyshakespeare.txt"
RESULTS_DIR = ROOT / "benchmarks" / "results"
SECTIONS = ("machine", "forward", "bf16", "tf", "train", "e2e", "tokenizer", "convert")

T0 = time.perf_counter()


def log(message: str) -> None:
    print(f"[bench {time.perf_counter() - T0:6.1f}s] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------------
# settings


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """Sizes for the run: ``base`` (albert-base-v2 shapes) or ``tiny`` (the shipped default model's shapes)."""
    quick = args.quick
    if args.size == "base":
        s = dict(batch=8, seq=128, iters=3 if quick else 10, warmup=1 if quick else 2, passages=64 if quick else 256,
                 e2e_batch=32, train_batch=4 if quick else 8, train_iters=2 if quick else 5, token_lines=2000
                 if quick else 20000, slow_lines=200 if quick else 2000)
    else:
        s = dict(batch=2 if quick else 8, seq=32 if quick else 128, iters=3 if quick else 20, warmup=1 if quick else 3,
                 passages=48 if quick else 10000, e2e_batch=16 if quick else 32, train_batch=2 if quick else 8,
                 train_iters=2 if quick else 10, token_lines=500 if quick else 20000,
                 slow_lines=50 if quick else 2000)
    if getattr(args, "iters", None):
        s["train_iters"] = min(s["train_iters"], args.iters)
    for key in ("batch", "seq", "iters", "passages", "warmup", "train_batch"):
        value = getattr(args, key, None)
        if value:
            s[key] = value
    s["size"], s["quick"], s["onnx"] = args.size, quick, "onnx" not in args.skip
    return s


def model_config(size: str, vocab_size: int):
    from albert_core import AlbertConfig
    from albert_core.filenames import DEFAULT_MODEL_DIR

    if size == "base":
        return AlbertConfig.from_preset("albert-base-v2", vocab_size=vocab_size, num_labels=2)
    return AlbertConfig.from_pretrained(DEFAULT_MODEL_DIR).copy(vocab_size=vocab_size, num_labels=2)


def tokenizer_dir() -> Path:
    from albert_core.filenames import DEFAULT_MODEL_DIR

    return DEFAULT_MODEL_DIR


def round_robin(fns: dict[str, Callable[[], Any]], iters: int, warmup: int, label: str) -> dict[str, dict]:
    """Median / min / all ms of each function, timed one call of each per round."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for r in range(warmup + iters):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            elapsed = (time.perf_counter() - t0) * 1e3
            if r >= warmup:
                samples[name].append(elapsed)
        if r >= warmup:
            log(f"{label} round {r - warmup + 1}/{iters}: " + ", ".join(f"{n} {s[-1]:.0f}" for n, s in samples.items()))
    return {name: {"median_ms": statistics.median(s), "min_ms": min(s), "samples_ms": [round(x, 2) for x in s],
                   "spread": (max(s) - min(s)) / statistics.median(s) if len(s) > 1 else 0.0}
            for name, s in samples.items()}


def matmul_flops(config, batch: int, seq: int, attention: bool = True, mlm_head: bool = False,
                 mlm_rows: int | None = None) -> float:
    """Matmul FLOPs of one forward of the backbone (+ pooler, + with ``mlm_head`` the masked-LM head): the linear
    layers of :func:`linear_shapes` and (with ``attention``) the two attention products. ``mlm_rows``: the rows the
    masked-LM head runs on (default every position; the masked positions only in our pre-training)."""
    def rows(name: str, per_sequence: bool) -> int:
        if name in MLM_HEAD_LAYERS and mlm_rows is not None:
            return mlm_rows
        return batch if per_sequence else batch * seq

    flops = sum(2 * rows(name, per_sequence) * k * n * count for name, (k, n, count, per_sequence)
                in linear_shapes(config, pooler=True, mlm_head=mlm_head).items())
    blocks = config.num_hidden_layers * config.inner_group_num
    return flops + attention * blocks * 2 * 2 * batch * seq * seq * config.hidden_size


# the ops that run a linear layer's GEMM: in a torch.profiler trace, and in onnxruntime's optimized graph (where a
# MatMul is a linear layer when its weight is a constant, an attention product otherwise)
TORCH_LINEAR_OPS = ("mkldnn::_linear_pointwise", "aten::addmm", "aten::mm", "mkl::_mkl_linear")
ORT_LINEAR_OPS = ("Gemm", "FusedGemm", "MatMul", "FusedMatMul")


def torch_time_split(fn: Callable[[], Any], runs: int = 3) -> dict[str, float]:
    """Milliseconds per call of ``fn`` spent in linear-layer GEMMs and in everything else (torch.profiler)."""
    import torch

    fn()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        for _ in range(runs):
            fn()
        wall = (time.perf_counter() - t0) * 1e3 / runs
    linear = sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in TORCH_LINEAR_OPS) / 1e3 / runs
    return {"profiled_ms": wall, "linear_ms": linear, "other_ms": wall - linear}


def onnxruntime_time_split(model_path: Path, feed: dict, work: Path, runs: int = 5) -> dict[str, float]:
    """The same split for an onnxruntime session on ``model_path``, from onnxruntime's own profile."""
    import onnx
    import onnxruntime as ort

    ort.set_default_logger_severity(3)  # saving a fully optimized graph warns that it is machine-specific
    options = onnxruntime_options()
    options.enable_profiling = True
    options.profile_file_prefix = str(work / "ort_profile")
    options.optimized_model_filepath = str(work / "ort_optimized.onnx")
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    graph = onnx.load(options.optimized_model_filepath).graph
    constants = {t.name for t in graph.initializer}
    linear_nodes = {n.name for n in graph.node if n.op_type in ORT_LINEAR_OPS and n.input[1] in constants}
    session.run(None, feed)
    time.sleep(0.5)  # torch's spinning threads from the previous call would slow the first run
    t0 = time.perf_counter()
    for _ in range(runs):
        session.run(None, feed)
    wall = (time.perf_counter() - t0) * 1e3 / runs
    events = json.loads(Path(session.end_profiling()).read_text())
    timed_runs = sorted((e["ts"], e["ts"] + e["dur"]) for e in events
                        if e.get("cat") == "Session" and e.get("name") == "model_run")[1:]
    linear = sum(e["dur"] for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")
                 and e["name"].removesuffix("_kernel_time") in linear_nodes
                 and any(a <= e["ts"] <= b for a, b in timed_runs)) / 1e3 / runs
    return {"profiled_ms": wall, "linear_ms": linear, "other_ms": wall - linear}


# ---------------------------------------------------------------------------------------------------------------------
# sections


def onnxruntime_options():
    """Session options for every onnxruntime session here: torch's thread count, every graph optimization, and no
    spinning: idle spinning threads keep the cores from the next implementation of the round (a oneDNN GEMM run
    right after an onnxruntime call measured 77 instead of 136 GFLOP/s), while the onnxruntime forward itself
    measured no slower without it (1419 vs 1435 ms)."""
    import onnxruntime as ort
    import torch

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


#: the linear layers of the last block that heads reading only the first position run on those rows alone
#: (albert_pt.inference.FastAlbert._encode_heads)
POOLED_HEADS_SKIP = ("attention.dense", "ffn", "ffn_output")


def linear_shapes(config, pooler: bool = False,
                  mlm_head: bool = False) -> dict[str, tuple[int, int, int, bool]]:
    """Each linear layer of the backbone (and optionally of the pooler and the masked-LM head): ``name -> (in, out,
    times one forward runs it, whether it runs on one row per sequence rather than per token)``."""
    h, e, i = config.hidden_size, config.embedding_size, config.intermediate_size
    blocks = config.num_hidden_layers * config.inner_group_num
    shapes = {"qkv": (h, 3 * h, blocks, False), "attention.dense": (h, h, blocks, False),
              "ffn": (h, i, blocks, False), "ffn_output": (i, h, blocks, False),
              "embedding_mapping": (e, h, 1, False)}
    if pooler:
        shapes["pooler"] = (h, h, 1, True)
    if mlm_head:
        shapes |= dict(zip(MLM_HEAD_LAYERS, [(h, e, 1, False), (e, config.vocab_size, 1, False)]))
    return shapes


MLM_HEAD_LAYERS = ("mlm_dense", "decoder")


def torch_backends(dtype=None) -> list[str]:
    """PyTorch's GEMM kernels on this machine in ``dtype`` (default float32): ``default``, and ``onednn`` if there."""
    import torch

    from albert_pt.inference import onednn_available

    return ["default"] + (["onednn"] if onednn_available(dtype or torch.float32) else [])


def torch_linear(backend: str, x, w, b, rows: int | None = None) -> Callable[[], Any]:
    """A call of ``x @ w.T + b`` on one of PyTorch's GEMM kernels (oneDNN's weight packed once, for ``rows``)."""
    import torch
    import torch.nn.functional as F

    if backend == "onednn":
        packed = torch.ops.mkldnn._reorder_linear_weight(w, rows)
        return lambda: torch.ops.mkldnn._linear_pointwise(x, packed, b, "none", [], "")
    return lambda: F.linear(x, w, b)


def matmuls_only(config, batch: int, seq: int, backend: str, passes: int = 1,
                 mlm_head: bool = False) -> Callable[[], None]:
    """Every matmul of one forward and nothing else, on random data, the linear layers in one GEMM ``backend``
    (``default`` or ``onednn``): timed in the same rounds as the models, it is the floor that drifts with them.
    ``passes`` repeats them (3: a training step's forward, input-gradient and weight-gradient matmuls);
    ``mlm_head`` adds the masked-LM head's two linear layers."""
    import torch

    gen = torch.Generator().manual_seed(0)
    plan = []
    for name, (k, n, count, per_sequence) in linear_shapes(config, pooler=True, mlm_head=mlm_head).items():
        x = torch.randn(batch if per_sequence else batch * seq, k, generator=gen)
        w, b = torch.randn(n, k, generator=gen) * 0.02, torch.zeros(n)
        plan.append((torch_linear(backend, x, w, b), count * passes))
    heads = config.num_attention_heads
    q, k, v = (torch.randn(batch * heads, seq, config.head_size, generator=gen) for _ in range(3))
    blocks = config.num_hidden_layers * config.inner_group_num

    def run() -> None:
        with torch.inference_mode():
            for fn, count in plan:
                for _ in range(count):
                    fn()
            for _ in range(blocks * passes):
                torch.bmm(torch.bmm(q, k.transpose(1, 2)), v)
    return run


def matmuls_only_packed(config, chunks: list[list[int]], backend: str) -> tuple[Callable[[], None], float]:
    """Every matmul the fast path's :meth:`~albert_pt.inference.FastAlbert.encode_batch` runs for a sequence
    classifier on ``chunks`` (each a list of sequence lengths) and nothing else, the linear layers in one GEMM
    ``backend``: each chunk's real tokens through the linear layers, the pooled heads' last-layer dense and FFN on
    the first tokens only, attention padded to the chunk's longest sequence. Returns the call and its FLOPs."""
    import torch

    gen = torch.Generator().manual_seed(0)
    most = max(sum(chunk) for chunk in chunks)
    attention_values = torch.randn(max(len(c) * config.num_attention_heads * max(c) * config.head_size
                                       for c in chunks), generator=gen)
    blocks = config.num_hidden_layers * config.inner_group_num
    heads, d = config.num_attention_heads, config.head_size
    layers, flops = {}, 0.0
    for name, (k, n, count, per_sequence) in linear_shapes(config, pooler=True).items():
        x = torch.randn(most, k, generator=gen)
        w, b = torch.randn(n, k, generator=gen) * 0.02, torch.zeros(n)
        last_layer_pooled = name in POOLED_HEADS_SKIP
        layers[name] = (x, w, b, k, n, count, per_sequence, last_layer_pooled)
    plan = []
    for chunk in chunks:
        tokens, seqs, longest = sum(chunk), len(chunk), max(chunk)
        for name, (x, w, b, k, n, count, per_sequence, last_layer_pooled) in layers.items():
            row_counts = [seqs] * count if per_sequence else [tokens] * count
            if last_layer_pooled:
                row_counts[-1] = seqs
            for rows in row_counts:
                plan.append(torch_linear(backend, x[:rows], w, b))
                flops += 2 * rows * k * n
        qkv = attention_values[: seqs * heads * longest * d].view(seqs * heads, longest, d)
        plan += [lambda qkv=qkv: torch.bmm(torch.bmm(qkv, qkv.transpose(1, 2)), qkv)] * blocks
        flops += blocks * 2 * 2 * seqs * longest * longest * config.hidden_size

    def run() -> None:
        with torch.inference_mode():
            for fn in plan:
                fn()
    return run, flops


def matmuls_only_tf(config, batch: int, seq: int) -> Callable[[], None]:
    """:func:`matmuls_only` in TensorFlow, compiled by XLA like the models it is the floor of (eager ``tf.matmul``
    ran slower than the XLA-compiled models here). The matmuls are chained as in the model, with reshapes and
    scalings between them only, so that XLA can drop none of them; the scalings keep the values near 1."""
    import tensorflow as tf

    h, heads, d = config.hidden_size, config.num_attention_heads, config.head_size
    blocks = config.num_hidden_layers * config.inner_group_num
    rng = tf.random.Generator.from_seed(0)
    x = rng.normal((batch * seq, config.embedding_size))
    w = {name: rng.normal((k, n)) / k ** 0.5 for name, (k, n, _, _) in linear_shapes(config, pooler=True).items()}

    @tf.function(jit_compile=True)
    def chain(x):
        hidden = x @ w["embedding_mapping"]
        for _ in range(blocks):
            qkv = tf.transpose(tf.reshape(hidden @ w["qkv"], (batch, seq, 3, heads, d)), (2, 0, 3, 1, 4))
            scores = tf.matmul(qkv[0], qkv[1], transpose_b=True) / (d * seq)
            context = tf.reshape(tf.transpose(scores @ qkv[2], (0, 2, 1, 3)), (batch * seq, h))
            hidden = ((context @ w["attention.dense"]) @ w["ffn"]) @ w["ffn_output"]
        return hidden, tf.reshape(hidden, (batch, seq, h))[:, 0] @ w["pooler"]

    chain(x)

    def run() -> None:
        out, pooled = chain(x)
        out.numpy(), pooled.numpy()
    return run


def _onnxruntime_linear(w, b) -> Callable[[Any], Any] | None:
    """``x @ w.T + b`` as a one-node onnxruntime session (its MLAS GEMM on a prepacked constant weight), or None
    without onnxruntime; ``w``, ``b`` and ``x`` are float32 torch tensors."""
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return None
    n, k = w.shape
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "b"], ["y"])], "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["m", k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["m", n])],
        [numpy_helper.from_array(w.T.contiguous().numpy(), "w"), numpy_helper.from_array(b.numpy(), "b")])
    options = onnxruntime_options()
    session = ort.InferenceSession(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
                                   .SerializeToString(), options, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"x": x.numpy()})[0]


def gemm_rates(config, rows: int, dtype, reps: int,
               onnxruntime: bool = False) -> tuple[dict[str, dict], dict[str, float], float]:
    """The GEMM rate of each linear shape of the model on every CPU backend in ``dtype`` (best of ``reps``): PyTorch's
    default and oneDNN and, with ``onnxruntime`` in float32, onnxruntime's MLAS (the kernel its graphs run on).

    Returns per-shape results, the rate of the model's mix of shapes per backend (GFLOP/s) and the time of the mix
    when every shape takes its best backend (ms).
    """
    import torch

    gen = torch.Generator().manual_seed(0)
    backends = torch_backends(dtype)
    gemm: dict[str, dict] = {}
    with torch.inference_mode():
        for name, (k, n, count, _) in linear_shapes(config).items():
            x = torch.randn(rows, k, generator=gen).to(dtype)
            w = (torch.randn(n, k, generator=gen) * 0.02).to(dtype)
            b = torch.zeros(n, dtype=dtype)
            fns = {backend: torch_linear(backend, x, w, b, rows) for backend in backends}
            timing = round_robin(fns, reps, 1, f"gemm {str(dtype)[6:]} {rows}x{k}x{n}")
            mlas = _onnxruntime_linear(w, b) if onnxruntime and dtype == torch.float32 else None
            if mlas is not None:
                # timed apart: right after a torch call, torch's spinning OpenMP threads hold the cores (measured
                # 106 instead of 140 GFLOP/s), and the other way round
                time.sleep(0.5)
                timing |= round_robin({"onnxruntime": lambda x=x, run=mlas: run(x)}, reps, 1,
                                      f"gemm onnxruntime {rows}x{k}x{n}")
            flops = 2 * rows * k * n
            gemm[name] = {"m": rows, "k": k, "n": n, "count": count,
                          **{f"{b_}_gflops": flops / (t["min_ms"] / 1e3) / 1e9 for b_, t in timing.items()},
                          **{f"{b_}_ms": t["min_ms"] for b_, t in timing.items()}}
    backends = [b_ for b_ in backends + ["onnxruntime"] if all(f"{b_}_ms" in g for g in gemm.values())]
    mix: dict[str, float] = {}
    for backend in backends:
        flops = sum(2 * g["m"] * g["k"] * g["n"] * g["count"] for g in gemm.values())
        ms = sum(g[f"{backend}_ms"] * g["count"] for g in gemm.values())
        mix[backend] = flops / (ms / 1e3) / 1e9
    best_per_shape_ms = sum(min(g[f"{b}_ms"] for b in backends) * g["count"] for g in gemm.values())
    return gemm, mix, best_per_shape_ms


def section_machine(s: dict, ctx: dict) -> dict:
    import torch

    from albert_core.tuning import cpu_model_name
    from albert_pt.inference import onednn_available

    flags: list[str] = []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = line.split(":", 1)[1].split()
                break
    except OSError:
        pass
    interesting = sorted(f for f in flags if f.startswith(("avx", "amx", "fma", "sse4", "f16c")))
    versions = {"python": platform.python_version(), "torch": torch.__version__}
    for module in ("transformers", "tensorflow", "keras", "onnxruntime", "onnx", "numpy", "sentencepiece",
                   "tokenizers"):
        try:
            versions[module] = __import__(module).__version__
        except Exception:  # noqa: BLE001 - a missing optional library is recorded, not fatal
            versions[module] = None
    config = ctx["config"]
    gemm, mix, best_per_shape_ms = gemm_rates(config, s["batch"] * s["seq"], torch.float32, 3 if s["quick"] else 10,
                                              onnxruntime=s["onnx"])
    flops_total = matmul_flops(config, s["batch"], s["seq"])
    # the floor takes the fastest GEMM measured, whoever's; the torch floor only those albert_pt can call
    best_rate = max(mix.values())
    torch_rate = max(v for k, v in mix.items() if k != "onnxruntime")
    ctx["floor_ms"] = flops_total / (best_rate * 1e9) * 1e3
    ctx["best_gemm_gflops"], ctx["gemm_mix_gflops"] = best_rate, mix
    load = os.getloadavg()
    return {
        "cpu_model": cpu_model_name(), "cpu_flags": interesting, "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "onednn": onednn_available(), "versions": versions, "load_average_start": list(load),
        "gemm": gemm, "gemm_mix_gflops": mix, "best_gemm_gflops": best_rate,
        "matmul_gflop_per_forward": flops_total / 1e9, "floor_ms": ctx["floor_ms"],
        "floor_torch_gemms_ms": flops_total / (torch_rate * 1e9) * 1e3,
        "floor_best_per_shape_linear_ms": best_per_shape_ms,
    }


def _save_pt(config, head, directory: Path, seed: int = 0):
    import torch

    from albert_pt import MODEL_CLASSES

    torch.manual_seed(seed)
    model = MODEL_CLASSES[head](config).eval()
    model.save_pretrained(directory)
    return model


def section_forward(s: dict, ctx: dict) -> dict:
    import torch
    import transformers

    from albert_core import Head
    from albert_pt.inference import optimize_for_inference

    transformers.logging.set_verbosity_error()
    config, work = ctx["config"], ctx["work"]
    directory = work / "base"
    ours = _save_pt(config, Head.BASE, directory)
    fast = optimize_for_inference(ours)
    fast_default = optimize_for_inference(ours, gemm="default")
    hf_eager = transformers.AlbertModel.from_pretrained(directory, attn_implementation="eager").eval()
    hf_sdpa = transformers.AlbertModel.from_pretrained(directory, attn_implementation="sdpa").eval()
    b, n = s["batch"], s["seq"]
    gen = torch.Generator().manual_seed(0)
    inputs = {"input_ids": torch.randint(5, config.vocab_size, (b, n), generator=gen),
              "attention_mask": torch.ones(b, n, dtype=torch.long),
              "token_type_ids": torch.zeros(b, n, dtype=torch.long)}
    fns: dict[str, Callable[[], Any]] = {
        "albert_pt eager": lambda: ours(**inputs).last_hidden_state,
        "albert_pt fast (auto GEMM)": lambda: fast(**inputs).last_hidden_state,
        "albert_pt fast (default GEMM)": lambda: fast_default(**inputs).last_hidden_state,
        "transformers eager": lambda: hf_eager(**inputs).last_hidden_state,
        "transformers sdpa": lambda: hf_sdpa(**inputs).last_hidden_state,
    }
    notes = {}
    try:
        if not s["onnx"]:
            raise RuntimeError("skipped (--skip onnx)")
        import onnxruntime as ort

        onnx_path = work / "hf_albert.onnx"
        log("exporting transformers' AlbertModel with torch.onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            try:
                torch.onnx.export(hf_eager, (), str(onnx_path), kwargs=dict(inputs), dynamo=True,
                                  input_names=list(inputs), output_names=["last_hidden_state", "pooler_output"],
                                  verbose=False)
                notes["onnx_exporter"] = "torch.onnx.export(dynamo=True)"
            except Exception as exc:  # noqa: BLE001 - fall back to the TorchScript exporter
                notes["onnx_dynamo_error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
                torch.onnx.export(hf_eager, (inputs["input_ids"], inputs["attention_mask"],
                                             inputs["token_type_ids"]), str(onnx_path), dynamo=False,
                                  input_names=list(inputs), output_names=["last_hidden_state", "pooler_output"])
                notes["onnx_exporter"] = "torch.onnx.export(dynamo=False)"
            notes["onnx_export_s"] = time.perf_counter() - t0
        session = ort.InferenceSession(str(onnx_path), onnxruntime_options(), providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        feed = {k: v.numpy() for k, v in inputs.items() if k in names}
        fns["onnxruntime (transformers graph)"] = lambda: torch.from_numpy(session.run(None, feed)[0])
    except Exception as exc:  # noqa: BLE001
        notes["onnx_error"] = f"{type(exc).__name__}: {str(exc)[:500]}"
        log(f"onnxruntime skipped: {notes['onnx_error']}")
    with torch.inference_mode():
        reference = hf_eager(**inputs).last_hidden_state
        parity = {name: float((fn() - reference).abs().max()) for name, fn in fns.items()}
        log("parity vs transformers eager: " + ", ".join(f"{k} {v:.1e}" for k, v in parity.items()))
        floor_rows = {f"matmuls only ({backend} GEMM)": matmuls_only(config, b, n, backend)
                      for backend in torch_backends()}
        timing = round_robin(fns | floor_rows, s["iters"], s["warmup"], "forward")
        log("profiling where the time goes: linear-layer GEMMs and the rest")
        linear_flops = matmul_flops(config, b, n, attention=False)
        split = {"albert_pt fast (auto GEMM)": torch_time_split(fns["albert_pt fast (auto GEMM)"])}
        if "onnxruntime (transformers graph)" in fns:
            split["onnxruntime (transformers graph)"] = onnxruntime_time_split(onnx_path, feed, work)
        for row in split.values():
            row["linear_gflops"] = linear_flops / (row["linear_ms"] / 1e3) / 1e9 if row["linear_ms"] else None
    # the floor of this run: the fastest matmuls-only row, timed in the same rounds; the strict floor scales it by
    # how much faster onnxruntime's GEMM ran than torch's best on the model's shapes (machine section)
    floor_torch = min(timing[name]["median_ms"] for name in floor_rows)
    ctx["matmul_rate_gflops"] = matmul_flops(config, b, n) / (floor_torch * 1e6)
    mix = ctx.get("gemm_mix_gflops", {})
    torch_mix = max((v for k, v in mix.items() if k != "onnxruntime"), default=None)
    floor = floor_torch * min(1.0, torch_mix / mix["onnxruntime"]) if "onnxruntime" in mix else floor_torch
    ref_ms = timing["transformers eager"]["median_ms"]
    rows = {}
    for name, t in timing.items():
        rows[name] = {**t, "max_abs_diff_vs_transformers": parity.get(name), "speedup_vs_transformers_eager":
                      ref_ms / t["median_ms"], "x_floor": (t["median_ms"] / floor) if floor else None,
                      "x_floor_torch_gemms": (t["median_ms"] / floor_torch) if floor_torch else None,
                      "tokens_per_s": b * n / (t["median_ms"] / 1e3)}
    return {"batch": b, "seq": n, "rows": rows, "floor_ms": floor, "floor_torch_gemms_ms": floor_torch,
            "notes": notes, "time_split": split, "linear_gflop": linear_flops / 1e9,
            "fast_gemm_choices": {k: v for k, v in fast.gemm_choices().items() if "block0" in k or "group" not in k},
            "tuner_decisions": fast.tuner.decisions}


def section_bf16(s: dict, ctx: dict) -> dict:
    """bfloat16 forward: the fast path's bfloat16 mode and bfloat16 autocast, against the bfloat16 floor (FLOPs over
    the best bfloat16 GEMM rate measured here) and against float32 transformers for accuracy. Where the CPU has no
    native bfloat16 the figures show the cost of emulation (why the path is opt-in there)."""
    import torch
    import transformers

    from albert_core import Head
    from albert_pt.inference import optimize_for_inference
    from albert_pt.pretraining import bf16_support

    transformers.logging.set_verbosity_error()
    native, reason = bf16_support("cpu")
    config, work = ctx["config"], ctx["work"]
    b, n = s["batch"], s["seq"]
    iters = s["iters"] if native else min(s["iters"], 3)
    gemm, mix, _ = gemm_rates(config, b * n, torch.bfloat16, 3 if s["quick"] or not native else 10)
    floor = matmul_flops(config, b, n) / (max(mix.values()) * 1e9) * 1e3
    directory = work / "base"
    ours = _save_pt(config, Head.BASE, directory)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast_bf16 = optimize_for_inference(ours, dtype=torch.bfloat16)
    fast = optimize_for_inference(ours)
    hf = transformers.AlbertModel.from_pretrained(directory, attn_implementation="sdpa").eval()
    gen = torch.Generator().manual_seed(0)
    inputs = {"input_ids": torch.randint(5, config.vocab_size, (b, n), generator=gen),
              "attention_mask": torch.ones(b, n, dtype=torch.long),
              "token_type_ids": torch.zeros(b, n, dtype=torch.long)}

    def autocast(model):
        def run():
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return model(**inputs).last_hidden_state.float()
        return run

    fns: dict[str, Callable[[], Any]] = {
        "albert_pt fast bf16": lambda: fast_bf16(**inputs).last_hidden_state,
        "albert_pt eager bf16 autocast": autocast(ours),
        "transformers sdpa bf16 autocast": autocast(hf),
        "albert_pt fast fp32": lambda: fast(**inputs).last_hidden_state,
    }
    with torch.inference_mode():
        reference = hf(**inputs).last_hidden_state
        scale = float(reference.abs().max())
        error = {name: float((fn() - reference).abs().max()) / scale for name, fn in fns.items()}
        log("bf16 error relative to float32 transformers: " + ", ".join(f"{k} {v:.1e}" for k, v in error.items()))
        timing = round_robin(fns, iters, 1, "bf16")
    fp32_ms = timing["albert_pt fast fp32"]["median_ms"]
    rows = {name: {**t, "x_bf16_floor": t["median_ms"] / floor, "relative_error_vs_fp32": error[name],
                   "speedup_vs_fast_fp32": fp32_ms / t["median_ms"]} for name, t in timing.items()}
    return {"batch": b, "seq": n, "native": native, "reason": reason, "gemm": gemm, "gemm_mix_gflops": mix,
            "bf16_floor_ms": floor, "rows": rows,
            "fast_gemm_choices": {k: v for k, v in fast_bf16.gemm_choices().items() if "block0" in k}}


def section_tf(s: dict, ctx: dict) -> dict:
    import numpy as np
    import tensorflow as tf
    import transformers

    from albert_core import Head
    from albert_tf import TFAlbertModel

    transformers.logging.set_verbosity_error()
    config, work = ctx["config"], ctx["work"]
    directory = work / "base"
    if not (directory / "model.safetensors").is_file():
        _save_pt(config, Head.BASE, directory)
    ours = TFAlbertModel.from_pretrained(directory)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = transformers.TFAlbertModel.from_pretrained(directory, from_pt=True)
    rng = np.random.default_rng(0)
    b, n = s["batch"], s["seq"]
    ids = tf.constant(rng.integers(5, config.vocab_size, size=(b, n)), tf.int32)
    mask, types = tf.ones_like(ids), tf.zeros_like(ids)

    def ours_fn(i, m, t):
        return ours(input_ids=i, attention_mask=m, token_type_ids=t).last_hidden_state

    def ref_fn(i, m, t):
        return reference(input_ids=i, attention_mask=m, token_type_ids=t, training=False).last_hidden_state

    fns, outputs = {}, {}
    for jit in (True, False):
        for name, fn in (("albert_tf", ours_fn), ("transformers TF", ref_fn)):
            label = f"{name} {'XLA' if jit else 'tf.function'}"
            compiled = tf.function(fn, jit_compile=jit)
            log(f"compiling {label}")
            outputs[label] = compiled(ids, mask, types).numpy()
            fns[label] = lambda c=compiled: c(ids, mask, types).numpy()
    from albert_tf.inference import optimize_for_inference as tf_fast

    fast = tf_fast(ours)  # xla="auto": the graph kind measured fastest for this shape on this machine
    label = "albert_tf fast path (auto)"
    log(f"building {label}")
    outputs[label] = np.asarray(fast(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state)
    fns[label] = lambda: np.asarray(fast(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state)
    floor_row = "matmuls only (TF GEMM)"
    timing = round_robin(fns | {floor_row: matmuls_only_tf(config, b, n)}, s["iters"], s["warmup"], "tf")
    floor, floor_tf = ctx.get("floor_ms"), timing[floor_row]["median_ms"]
    rows = {}
    for name, t in timing.items():
        other = name.replace("albert_tf", "transformers TF") if name.startswith("albert_tf") else name
        if name == label:
            other = "transformers TF XLA"
        rows[name] = {**t, "x_floor": t["median_ms"] / floor if floor else None,
                      "x_floor_tf_gemms": t["median_ms"] / floor_tf}
        if name != floor_row:
            rows[name] |= {"max_abs_diff_vs_transformers_tf": float(np.abs(outputs[name] - outputs[other]).max()),
                           "ratio_vs_transformers_tf": t["median_ms"] / timing[other]["median_ms"]}
    return {"batch": b, "seq": n, "rows": rows, "floor_ms": floor, "floor_tf_gemms_ms": floor_tf,
            "fast_graph_choices": {str(k): v for k, v in fast.graph_choices().items()},
            "tf_threads": [tf.config.threading.get_intra_op_parallelism_threads(),
                                                               tf.config.threading.get_inter_op_parallelism_threads()]}


def section_train(s: dict, ctx: dict) -> dict:
    import torch
    import transformers

    from albert_core import AlbertConfig, Head
    from albert_pt import AlbertForMaskedLM
    from albert_pt.kernels import onednn_available, training_gemm_choices, tune_training_gemms

    transformers.logging.set_verbosity_error()
    config, work = ctx["config"], ctx["work"]
    if s["size"] == "base":
        # a training step needs no tokenizer: albert-base-v2's own vocabulary, whose masked-LM head and tied
        # embedding table the step trains, instead of the shipped tokenizer's that the other sections run on
        config = config.copy(vocab_size=AlbertConfig.from_preset("albert-base-v2").vocab_size)
    directory = work / "mlm"
    _save_pt(config, Head.MASKED_LM, directory)
    ours = AlbertForMaskedLM.from_pretrained(directory).train()
    theirs = transformers.AlbertForMaskedLM.from_pretrained(directory, attn_implementation="sdpa").train()
    # the same model training on the GEMM kernel measured faster per shape, and on oneDNN throughout
    kernel_rows = {f"albert_pt ({gemm} GEMM)": tune_training_gemms(AlbertForMaskedLM.from_pretrained(directory)
                                                                   .train(), gemm)
                   for gemm in (["auto", "onednn"] if onednn_available() else [])}
    b, n = s["train_batch"], s["seq"]
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(5, config.vocab_size, (b, n), generator=gen)
    labels = torch.full_like(ids, -100)
    chosen = torch.rand(b, n, generator=gen) < 0.15
    labels[chosen] = ids[chosen]
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids),
             "labels": labels}
    masked = int(chosen.sum())
    # our rows train as albert_pt's pre-training does: the masked-LM head on the masked positions only; one row
    # runs it on every position, as transformers does, to show what that costs
    every_position = "albert_pt (MLM head on every position)"
    models = {"albert_pt": ours, **kernel_rows, every_position: AlbertForMaskedLM.from_pretrained(directory).train(),
              "transformers": theirs}
    masked_rows = set(models) - {"transformers", every_position}  # the rows whose head runs on masked positions
    optims = {name: torch.optim.AdamW(model.parameters(), lr=1e-5) for name, model in models.items()}
    losses: dict[str, list[float]] = {name: [] for name in models}

    def step(name, model):
        extra = {"masked_positions_only": True} if name in masked_rows else {}

        def run():
            optims[name].zero_grad(set_to_none=True)
            loss = model(**batch, **extra).loss
            loss.backward()
            optims[name].step()
            losses[name].append(float(loss.detach()))
        return run

    # the floor of a training step: forward + backward matmuls (3x the forward's: the input and the weight
    # gradients) of the encoder and of the MLM head; timed in the same rounds on the faster torch GEMM, and over the
    # best GEMM rate of the machine section (any kernel)
    floor_rows = {f"matmuls only (3 passes, {backend} GEMM)": matmuls_only(config, b, n, backend, passes=3,
                                                                         mlm_head=True)
                  for backend in torch_backends()}
    timing = round_robin({name: step(name, model) for name, model in models.items()} | floor_rows,
                         s["train_iters"], 1, "train")
    rate = ctx.get("best_gemm_gflops")
    full_flops = 3 * matmul_flops(config, b, n, mlm_head=True)
    # the floor of the work our rows do: the same matmuls with the MLM head on the masked rows, at the same rates
    masked_share = 3 * matmul_flops(config, b, n, mlm_head=True, mlm_rows=masked) / full_flops
    floor = full_flops / (rate * 1e9) * 1e3 if rate else None
    floor_torch = min(timing[name]["median_ms"] for name in floor_rows)
    for name, row in timing.items():
        share = masked_share if name in masked_rows else 1.0
        row["x_floor"] = row["median_ms"] / (floor * share) if floor else None
        row["x_floor_torch_gemms"] = row["median_ms"] / (floor_torch * share)
    ref_ms = timing["transformers"]["median_ms"]
    for name in models:
        timing[name]["speedup_vs_transformers"] = ref_ms / timing[name]["median_ms"]
    best_floor = min(f for f in (floor, floor_torch) if f)
    return {"batch": b, "seq": n, "vocab_size": config.vocab_size, "masked_positions": masked, "rows": timing,
            "first_loss": {k: v[0] for k, v in losses.items()},
            "speedup_vs_transformers": ref_ms / timing["albert_pt"]["median_ms"], "floor_ms": floor,
            "auto_gemm_choices": {k: v for k, v in training_gemm_choices(models.get("albert_pt (auto GEMM)", ours))
                                  .items() if "albert_layers.0." in k or "albert_layer" not in k},
            "floor_torch_gemms_ms": floor_torch, "masked_head_flop_share": masked_share,
            "max_possible_speedup_vs_transformers": ref_ms / best_floor,
            "max_possible_speedup_masked_head": ref_ms / (best_floor * masked_share),
            "note": "dropout as configured (0.0 in albert-base-v2's preset), torch.optim.AdamW for both"}


def passages(count: int, seed: int = 0) -> list[str]:
    """``count`` passages of 1 to 8 consecutive non-empty tiny-shakespeare lines (variable lengths)."""
    import random

    lines = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        start = rng.randrange(len(lines) - 8)
        out.append(" ".join(lines[start: start + rng.randint(1, 8)]))
    return out


def section_e2e(s: dict, ctx: dict) -> dict:
    import numpy as np
    import torch
    import transformers

    from albert_core import AlbertTokenizer, Head
    from albert_pt import AlbertForSequenceClassification
    from albert_pt.inference import CHUNK_TOKENS, optimize_for_inference, packed_chunks

    transformers.logging.set_verbosity_error()
    config, work = ctx["config"], ctx["work"]
    directory = work / "cls"
    _save_pt(config, Head.SEQUENCE_CLASSIFICATION, directory)
    tok_dir = tokenizer_dir()
    ours_tok = AlbertTokenizer.from_pretrained(tok_dir)
    for name in ("spiece.model", "tokenizer_config.json", "special_tokens_map.json"):
        if (tok_dir / name).is_file():
            (directory / name).write_bytes((tok_dir / name).read_bytes())
    model = AlbertForSequenceClassification.from_pretrained(directory)
    fast = optimize_for_inference(model)
    hf_model = transformers.AlbertForSequenceClassification.from_pretrained(directory,
                                                                            attn_implementation="sdpa").eval()
    hf_tok = transformers.AlbertTokenizerFast.from_pretrained(directory)
    texts = passages(s["passages"])
    max_len, bs = min(128, config.max_position_embeddings), s["e2e_batch"]
    lengths = [len(x) for x in ours_tok(texts, truncation=True, max_length=max_len)["input_ids"]]

    def run_fast(max_tokens=CHUNK_TOKENS):
        enc = ours_tok(texts, truncation=True, max_length=max_len)
        return torch.stack([o.logits for o in fast.encode_batch(enc, max_tokens=max_tokens)]).argmax(-1).tolist()

    def run_padded():
        preds = []
        with torch.inference_mode():
            for i in range(0, len(texts), bs):
                enc = ours_tok(texts[i: i + bs], truncation=True, max_length=max_len, padding=True,
                               return_tensors="pt")
                preds += model(**enc).logits.argmax(-1).tolist()
        return preds

    pipe = transformers.pipeline("text-classification", model=hf_model, tokenizer=hf_tok, device=-1)

    def run_pipeline():
        out = pipe(texts, batch_size=bs, truncation=True, max_length=max_len)
        return [hf_model.config.label2id[o["label"]] for o in out]

    # the floor, timed in the same rounds: the fast path's own matmuls on this job, on each torch kernel
    chunks = [[lengths[i] for i in chunk] for chunk in packed_chunks(lengths, CHUNK_TOKENS)]
    floor_fns = {backend: matmuls_only_packed(config, chunks, backend) for backend in torch_backends()}
    results: dict[str, list[int]] = {}

    def keep(name, fn):
        def run():
            results[name] = fn()
        return run

    fns = {"albert_pt fast + unpadding": keep("fast", run_fast),
           # the same with 4x larger chunks: shows on this machine what the default chunk size buys
           f"albert_pt fast, {4 * CHUNK_TOKENS}-row chunks": keep("fast_big_chunks",
                                                                   lambda: run_fast(4 * CHUNK_TOKENS)),
           "albert_pt padded batches": keep("padded", run_padded),
           "transformers pipeline": keep("pipeline", run_pipeline),
           **{f"matmuls only, unpadded job ({backend})": fn for backend, (fn, _) in floor_fns.items()}}
    # one untimed round first: the fast path measures its kernels there for the job's row counts
    timing = round_robin(fns, 1 if s["quick"] else 2, 1, "e2e")
    agree = {k: float(np.mean(np.array(v) == np.array(results["pipeline"]))) for k, v in results.items()}
    ref = timing["transformers pipeline"]["median_ms"]
    pad = timing["albert_pt padded batches"]["median_ms"]
    rows = {name: {**t, "passages_per_s": len(texts) / (t["median_ms"] / 1e3), "speedup_vs_pipeline":
                   ref / t["median_ms"], "speedup_vs_our_padded": pad / t["median_ms"]} for name, t in timing.items()}
    batches = [lengths[i: i + bs] for i in range(0, len(lengths), bs)]
    padded_tokens = sum(max(x) * len(x) for x in batches)
    # the floors: the job's matmul FLOPs at the GEMM rate its own matmuls-only rows reached in these rounds
    rates = {backend: flops / (timing[f"matmuls only, unpadded job ({backend})"]["median_ms"] * 1e6)
             for backend, (_, flops) in floor_fns.items()}
    rate = max(rates.values())
    # per position, what the pooled heads skip in the last layer: its dense and FFN layers
    last_layer_rest = sum(2 * k * n for name, (k, n, _, _) in linear_shapes(config).items()
                          if name in POOLED_HEADS_SKIP)
    unpadded_flops = sum(matmul_flops(config, 1, n) - (n - 1) * last_layer_rest for n in lengths)
    padded_flops = sum(matmul_flops(config, len(x), max(x)) for x in batches)  # transformers computes every row
    ours_padded_flops = padded_flops - sum(len(x) * (max(x) - 1) * last_layer_rest for x in batches)
    floors = {"unpadded_ms": unpadded_flops / (rate * 1e6), "padded_ms": padded_flops / (rate * 1e6),
              "ours_padded_ms": ours_padded_flops / (rate * 1e6)}
    work = {"albert_pt padded batches": "ours_padded_ms", "transformers pipeline": "padded_ms"}
    for name, row in rows.items():
        row["x_floor"] = row["median_ms"] / floors[work.get(name, "unpadded_ms")]
    return {"passages": len(texts), "batch_size": bs, "max_length": max_len, "real_tokens": sum(lengths),
            "padded_tokens_in_order": padded_tokens, "mean_length": statistics.mean(lengths),
            "max_length_seen": max(lengths), "rows": rows, "prediction_agreement_with_pipeline": agree,
            "floor": floors, "floor_rate_gflops": rates, "gflop_unpadded": unpadded_flops / 1e9,
            "gflop_padded": padded_flops / 1e9}


def section_tokenizer(s: dict, ctx: dict) -> dict:
    import sentencepiece as spm
    import transformers

    from albert_core import AlbertTokenizer

    transformers.logging.set_verbosity_error()
    tok_dir = tokenizer_dir()
    lines = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = (lines * (s["token_lines"] // len(lines) + 1))[: s["token_lines"]]
    ours = AlbertTokenizer.from_pretrained(tok_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slow = transformers.AlbertTokenizer(str(tok_dir / "spiece.model"))
        with tempfile.TemporaryDirectory() as tmp:
            slow.save_pretrained(tmp)
            fast = transformers.AlbertTokenizerFast.from_pretrained(tmp)
    raw = spm.SentencePieceProcessor(model_file=str(tok_dir / "spiece.model"))
    check = texts[: s["slow_lines"]]
    ref_ids = [slow.encode(t) for t in check]
    equal = {"albert_core": sum(a == b for a, b in zip(ours(check)["input_ids"], ref_ids)),
             "transformers fast": sum(a == b for a, b in zip(fast(check)["input_ids"], ref_ids))}
    batch = 1000

    def over(fn):
        def run():
            for i in range(0, len(texts), batch):
                fn(texts[i: i + batch])
        return run

    fns = {"albert_core": over(lambda b: ours(b)), "transformers fast": over(lambda b: fast(b)),
           "raw SentencePiece (encode, no specials)": over(lambda b: raw.encode(b))}
    # each tokenizer in its own block of rounds, not round robin: right after a call of transformers' fast tokenizer
    # (Rust threads, large frees) the next Python-heavy call ran 2-2.5x slower here (171 ms alone, 405-435 ms after it)
    timing = {}
    for name, fn in fns.items():
        timing.update(round_robin({name: fn}, 2 if s["quick"] else 7, 1, "tokenizer"))
    ref = timing["transformers fast"]["median_ms"]
    rows = {n: {**t, "texts_per_s": len(texts) / (t["median_ms"] / 1e3), "speedup_vs_transformers_fast":
                ref / t["median_ms"]} for n, t in timing.items()}
    return {"texts": len(texts), "batch": batch, "ids_equal_to_slow_reference": equal, "checked": len(check),
            "rows": rows}


def section_convert(s: dict, ctx: dict) -> dict:
    script = ROOT / "benchmarks" / "bench_convert_memory.py"
    proc = subprocess.run([sys.executable, str(script), "--to", "safetensors", "hf-tf", "--json"],
                          capture_output=True, text=True, check=False, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


SECTION_FNS = {"machine": section_machine, "forward": section_forward, "bf16": section_bf16, "tf": section_tf,
               "train": section_train,
               "e2e": section_e2e, "tokenizer": section_tokenizer, "convert": section_convert}


# ---------------------------------------------------------------------------------------------------------------------
# reports


def markdown(result: dict) -> str:
    m = result.get("machine", {})
    quick = ", quick" if result["settings"]["quick"] else ""
    out = [f"# albert-lite benchmarks: {result['name']}", "",
           f"Run {result['started']} ({result['settings']['size']} size{quick}),"
           f" {result['elapsed_s']:.0f} s. Load average at the start {result['load_average_start']}, at the end "
           f"{result['load_average_end']} (a load above the CPU count means other processes shared the cores).", ""]
    if m and "error" not in m:
        out += [f"**Machine**: {m['cpu_model']}, {m['cpus']} CPUs, torch threads {m['torch_threads']}, "
                f"capability {m['cpu_capability']}, flags {' '.join(m['cpu_flags'])}.", "",
                "Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v) + ".", "",
                "| GEMM shape (m x k x n) | default GFLOP/s | oneDNN GFLOP/s | onnxruntime MLAS GFLOP/s |",
                "|---|---:|---:|---:|"]
        for name, g in m["gemm"].items():
            out.append(f"| {name} {g['m']}x{g['k']}x{g['n']} | {g['default_gflops']:.1f} | "
                       f"{g.get('onednn_gflops', float('nan')):.1f} | "
                       f"{g.get('onnxruntime_gflops', float('nan')):.1f} |")
        out += ["", "Model mix: " + ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in m["gemm_mix_gflops"].items())
                + f"; {m['matmul_gflop_per_forward']:.1f} GFLOP per forward; **floor {m['floor_ms']:.1f} ms** "
                f"(PyTorch's GEMMs alone: {m.get('floor_torch_gemms_ms', m['floor_ms']):.1f} ms).", ""]

    def table(title, rows, cols):
        lines = [f"## {title}", "", "| implementation | " + " | ".join(c[0] for c in cols) + " |",
                 "|---|" + "---:|" * len(cols)]
        for name, row in rows.items():
            cells = []
            for _, key, fmt in cols:
                value = row.get(key)
                cells.append("" if value is None else format(value, fmt))
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        return lines + [""]

    for key, title, cols in (
        ("forward", "Forward (fp32)", [("median ms", "median_ms", ".1f"), ("spread", "spread", ".0%"),
                                        ("vs transformers eager", "speedup_vs_transformers_eager", ".2f"),
                                        ("x floor", "x_floor", ".2f"),
                                        ("x floor of torch GEMMs", "x_floor_torch_gemms", ".2f"),
                                        ("max abs diff", "max_abs_diff_vs_transformers", ".1e")]),
        ("bf16", "bfloat16 forward", [("median ms", "median_ms", ".1f"), ("spread", "spread", ".0%"),
                                      ("x bf16 floor", "x_bf16_floor", ".2f"),
                                      ("vs fast fp32", "speedup_vs_fast_fp32", ".2f"),
                                      ("max abs diff / scale vs fp32", "relative_error_vs_fp32", ".1e")]),
        ("tf", "TensorFlow", [("median ms", "median_ms", ".1f"), ("spread", "spread", ".0%"),
                              ("time / transformers TF", "ratio_vs_transformers_tf", ".2f"),
                              ("x floor", "x_floor", ".2f"), ("x floor of TF GEMMs", "x_floor_tf_gemms", ".2f"),
                              ("max abs diff", "max_abs_diff_vs_transformers_tf", ".1e")]),
        ("train", "Training step (MLM, AdamW)", [("median ms", "median_ms", ".1f"), ("spread", "spread", ".0%"),
                                                 ("x floor", "x_floor", ".2f"),
                                                 ("x floor of torch GEMMs", "x_floor_torch_gemms", ".2f")]),
        ("e2e", "End to end: tokenize + classify", [("median ms", "median_ms", ".0f"),
                                                    ("passages/s", "passages_per_s", ".1f"),
                                                    ("x floor", "x_floor", ".2f"),
                                                    ("vs pipeline", "speedup_vs_pipeline", ".2f"),
                                                    ("vs our padded", "speedup_vs_our_padded", ".2f")]),
        ("tokenizer", "Tokenizer", [("median ms", "median_ms", ".0f"), ("texts/s", "texts_per_s", ",.0f"),
                                    ("vs transformers fast", "speedup_vs_transformers_fast", ".2f")]),
    ):
        section = result.get(key)
        if not section:
            continue
        if "error" in section:
            out += [f"## {key}", "", f"failed: `{section['error'].splitlines()[-1]}`", ""]
            continue
        extra = ""
        if key in ("forward", "tf", "bf16"):
            extra = f" (batch {section['batch']} x seq {section['seq']})"
        if key == "train":
            extra = f" (batch {section['batch']} x seq {section['seq']}, vocabulary {section['vocab_size']})"
        if key == "bf16":
            out += [f"Native bfloat16: {section['native']} ({section['reason']}). bfloat16 GEMM mix: "
                    + ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in section["gemm_mix_gflops"].items())
                    + f"; **bf16 floor {section['bf16_floor_ms']:.1f} ms**.", ""]
        out += table(title + extra, section["rows"], cols)
        if key == "train":
            speedups = ", ".join(f"{name} {row['speedup_vs_transformers']:.2f}x" for name, row in
                                 section["rows"].items() if "speedup_vs_transformers" in row and name != "transformers")
            out += [f"Speed-up over transformers: {speedups}; first losses {section['first_loss']}. The auto GEMM's "
                    f"choices (first layer, row bucket -> kernel): {section['auto_gemm_choices']}.", ""]
            out += ["Training-step floor (3x the forward and MLM-head matmuls): "
                    f"{section['floor_torch_gemms_ms']:.0f} ms timed in the same rounds (the faster torch GEMM)"
                    + (f", {section['floor_ms']:.0f} ms over the best GEMM rate of the machine section"
                       if section.get("floor_ms") else "")
                    + f", so no implementation of the same work can be more than "
                    f"{section['max_possible_speedup_vs_transformers']:.2f}x transformers here. Our rows run the "
                    f"MLM head on the {section['masked_positions']} masked positions only (as the original "
                    f"pre-training does): {section['masked_head_flop_share']:.3f} of those FLOPs, so their floor "
                    f"allows {section['max_possible_speedup_masked_head']:.2f}x; their x floor is against it.", ""]
        if key == "e2e":
            out += [f"{section['passages']} passages, mean {section['mean_length']:.1f} tokens (max "
                    f"{section['max_length_seen']}); {section['real_tokens']} real tokens vs "
                    f"{section['padded_tokens_in_order']} in padded batches of {section['batch_size']}. Prediction "
                    f"agreement with the pipeline: {section['prediction_agreement_with_pipeline']}.", ""]
            if section.get("floor"):
                fl = section["floor"]
                rates = ", ".join(f"{k} {v:.1f}" for k, v in section["floor_rate_gflops"].items())
                out += [f"Floors at the GEMM rate of the job's own matmuls (the *matmuls only* rows, GFLOP/s: "
                        f"{rates}): the unpadded job's "
                        f"{section['gflop_unpadded']:.0f} GFLOP take {fl['unpadded_ms'] / 1e3:.1f} s, the padded "
                        f"batches' {section['gflop_padded']:.0f} GFLOP {fl['padded_ms'] / 1e3:.1f} s "
                        f"({fl['ours_padded_ms'] / 1e3:.1f} s for ours, whose last layer skips all but the first "
                        f"positions). Each "
                        f"implementation's x floor is against the work it must do; at equal distance from its floor "
                        f"the unpadded path would be {fl['padded_ms'] / fl['unpadded_ms']:.2f}x the padded ones.", ""]
        if key == "tokenizer":
            out += [f"Ids equal to transformers' slow tokenizer on {section['checked']} lines: "
                    f"{section['ids_equal_to_slow_reference']}.", ""]
        if key == "forward" and section.get("floor_torch_gemms_ms"):
            out += [f"Floor of this run: the fastest matmuls-only row, {section['floor_torch_gemms_ms']:.1f} ms, timed "
                    f"in the same rounds (x floor of torch GEMMs); scaled by how much faster onnxruntime's GEMM ran "
                    f"on the model's shapes (machine section): **{section['floor_ms']:.1f} ms** (x floor).", ""]
        if key == "forward" and section.get("time_split"):
            out += [f"Where the time goes (one profiled call, {section['linear_gflop']:.1f} GFLOP in linear layers):",
                    "", "| implementation | profiled ms | linear-layer GEMMs ms | their GFLOP/s | everything else ms |",
                    "|---|---:|---:|---:|---:|"]
            for name, row in section["time_split"].items():
                out.append(f"| {name} | {row['profiled_ms']:.1f} | {row['linear_ms']:.1f} | "
                           f"{row['linear_gflops'] or float('nan'):.1f} | {row['other_ms']:.1f} |")
            out.append("")
        if key == "forward" and section.get("notes"):
            out += [f"Notes: {section['notes']}", ""]
    if result.get("convert") and "error" not in result["convert"]:
        out += ["## Converting an xxlarge checkpoint", "", "```", json.dumps(result["convert"], indent=1), "```", ""]
    return "\n".join(out)


def plot(result: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    panels = [(k, result[k]) for k in ("forward", "bf16", "tf", "train", "e2e", "tokenizer")
              if isinstance(result.get(k), dict) and "rows" in result[k]]
    if not panels:
        return False
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 1.2 + 1.1 * sum(len(p["rows"]) for _, p in panels) / 2),
                             squeeze=False)
    for ax, (key, section) in zip(axes[:, 0], panels):
        names = list(section["rows"])
        values = [section["rows"][n]["median_ms"] for n in names]
        ax.barh(names, values, color="tab:blue")
        floors = {"forward": [("floor (matmuls only, same rounds)", section.get("floor_ms"))],
                  "bf16": [("bf16 floor (FLOPs / best bf16 GEMM)", section.get("bf16_floor_ms"))],
                  "tf": [("floor (TF matmuls only, same rounds)", section.get("floor_tf_gemms_ms"))],
                  "train": [("floor (3 passes of matmuls, same rounds)", section.get("floor_torch_gemms_ms"))],
                  "e2e": [("floor of the unpadded work", section.get("floor", {}).get("unpadded_ms")),
                          ("floor of the padded batches", section.get("floor", {}).get("padded_ms"))]}.get(key, [])
        for (label, floor), style in zip(floors, ("--", ":")):
            if floor:
                ax.axvline(floor, color="tab:red", linestyle=style, label=label)
        if any(floor for _, floor in floors):
            ax.legend(loc="lower right", fontsize=7)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("ms (median, lower is better)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# ---------------------------------------------------------------------------------------------------------------------
# main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("base", "tiny"), default="base",
                        help="albert-base-v2 shapes or the shipped tiny model's shapes")
    parser.add_argument("--quick", action="store_true", help="few rounds and small inputs (a smoke run)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--skip", nargs="+", choices=SECTIONS + ("onnx",), default=[],
                        help="skip these sections (onnx: the onnxruntime row of the forward section)")
    parser.add_argument("--convert-memory", action="store_true", help="add the (slow) xxlarge conversion section")
    parser.add_argument("--batch", type=int, help="forward batch size")
    parser.add_argument("--seq", type=int, help="forward sequence length")
    parser.add_argument("--iters", type=int, help="timed rounds (also caps the training rounds)")
    parser.add_argument("--warmup", type=int, help="untimed rounds before the forward timings")
    parser.add_argument("--train-batch", type=int, help="batch size of the training step")
    parser.add_argument("--passages", type=int, help="passages in the end-to-end job")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads")
    parser.add_argument("--name", help="results file name (default: the size, plus -quick)")
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    s = settings(args)
    sections = list(args.only or [x for x in SECTIONS if x != "convert" or args.convert_memory])
    if "machine" not in sections and any(x in sections for x in ("forward", "tf", "train")):
        sections.insert(0, "machine")  # the floor needs the GEMM rates
    sections = [x for x in sections if x not in args.skip]
    if not sections:
        raise SystemExit("nothing to run: every section was skipped")
    name = args.name or (args.size + ("-quick" if args.quick else ""))
    if "tf" not in sections:
        os.environ.setdefault("USE_TF", "0")  # transformers then skips importing TensorFlow
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from albert_core import AlbertTokenizer

    vocab = AlbertTokenizer.from_pretrained(tokenizer_dir()).vocab_size
    result: dict[str, Any] = {"name": name, "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                              "settings": s, "sections": sections,
                              "load_average_start": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory() as tmp:
        ctx = {"config": model_config(args.size, vocab), "work": Path(tmp)}
        result["config"] = ctx["config"].to_dict()
        for section in sections:
            log(f"section {section}")
            t0 = time.perf_counter()
            try:
                result[section] = SECTION_FNS[section](s, ctx)
            except Exception as exc:  # noqa: BLE001 - one failing section must not lose the others
                result[section] = {"error": "".join(traceback.format_exception(exc))[-3000:]}
                log(f"section {section} failed: {type(exc).__name__}: {exc}")
            result[section]["seconds"] = time.perf_counter() - t0
    result["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    result["elapsed_s"] = time.perf_counter() - T0
    args.output_dir.mkdir(parents=True, exist_ok=True)
    json_path = args.output_dir / f"{name}.json"
    json_path.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    text = markdown(result)
    (args.output_dir / f"{name}.md").write_text(text, encoding="utf-8")
    plotted = plot(result, args.output_dir / f"{name}.png")
    print(text)
    log(f"wrote {json_path}, {name}.md" + (f", {name}.png" if plotted else ""))
    return result
