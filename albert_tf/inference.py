"""A fast inference path for albert_tf models: the model as a traced graph, XLA where it measures faster, no work
on padding for batches of different lengths, and bfloat16 by choice. Read it side by side with
:mod:`albert_pt.inference`.

:func:`optimize_for_inference` (or :meth:`TFFastAlbert.from_model`) wraps any albert_tf model in a
:class:`TFFastAlbert`: an object called like the model (same arguments, same output class, ``training=False``)
that runs the model's forward pass as a graph:

* **Plain graph or XLA, chosen by measurement.** The forward pass is traced once per set of input names and ranks
  with every dimension unknown (``tf.function``: batches of any shape reuse it), and once more with
  ``jit_compile=True`` (XLA, which compiles once per exact shape). With ``xla="auto"`` a :class:`GraphTuner` times
  both (a warm-up call each, then round robin) the first time a shape bucket is seen, keeps the faster in memory
  and, when given a file, on disk keyed by CPU model, TensorFlow version, thread count, model shape and bucket.
  ``xla=True`` / ``False`` force one.
* **Bounded XLA compiles.** Where XLA runs, the batch is padded up to its bucket: the sequence length to the next
  power of two up to ``seq_multiple`` (16) and to a multiple of ``seq_multiple`` beyond, the batch to the next
  power of two up to ``batch_multiple`` (8) and to a multiple of it beyond (capped at ``max_position_embeddings``).
  Added positions are masked out of attention (they change no real position's result) and cut from the outputs;
  the waste is at most ``seq_multiple - 1`` positions per row and ``batch_multiple - 1`` rows (less than double
  for short inputs), and a 128-token batch of 8 is not padded at all. The plain graph runs the exact shape.
* **No work on padding**: :meth:`TFFastAlbert.encode_batch` takes sequences of different lengths, sorts them by
  length and runs them in chunks, each padded only to its own longest sequence (or its XLA bucket); results come
  back per sequence, without padding, in the caller's order. ``__call__(..., unpad=True)`` does the same for a
  right-padded batch. Sorted chunking rather than token packing: see the TensorFlow inference page for the numbers.
* **bfloat16 by choice** (``dtype="bfloat16"``): the model is rebuilt under Keras' ``mixed_bfloat16`` policy with
  the same weights (variables float32, GEMMs and attention products in bfloat16; embeddings, LayerNorm, softmax
  and logits in float32, as the model already does under that policy). On hardware without native bfloat16 it
  warns (:class:`~albert_core.errors.EmulatedPrecisionWarning`) and runs by emulation, slower than float32.

In float32 the fast path computes the same function as the eager model: results agree within float32 rounding
(the tests hold both graph kinds to 1e-5 against the eager model and transformers' PyTorch ALBERT). It is for
inference only (no dropout); it follows later changes of the model's variables (float32), but a bfloat16 copy does
not (build it again). ``head_mask`` and ``output_attentions`` are passed to the eager model unchanged.

>>> import numpy as np
>>> from albert_core import AlbertConfig
>>> from albert_tf import TFAlbertForSequenceClassification
>>> from albert_tf.inference import optimize_for_inference
>>> cfg = AlbertConfig(vocab_size=30, embedding_size=8, hidden_size=16, num_hidden_layers=2,
...                    num_attention_heads=2, intermediate_size=32, num_labels=3)
>>> model = TFAlbertForSequenceClassification(cfg)
>>> fast = optimize_for_inference(model, xla=False)
>>> ids = np.array([[2, 5, 7, 3]])
>>> bool(np.allclose(fast(ids).logits, model(ids).logits, atol=1e-5))
True
>>> [tuple(o.logits.shape) for o in fast.encode_batch([[2, 5, 3], [2, 9, 8, 7, 3]])]
[(3,), (3,)]
"""

from __future__ import annotations

import os
import threading
from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf

from albert_core.errors import InputError, UsageError, warn_emulated_bf16
from albert_core.heads import HEADS, Head, per_sequence_output
from albert_core.outputs import BaseModelOutput, ModelOutput
from albert_core.tuning import Tuner, cpu_model_name
from albert_core.validation import check_choice_inputs, check_model_inputs, check_sequence_batch

from .modeling import TFAlbertForPreTrainingOutput, TFAlbertModel, TFAlbertPreTrainedModel

import keras  # noqa: E402  (Keras 3; albert_tf.modeling has checked the backend)

__all__ = [
    "CHUNK_MAX_WASTE",
    "CHUNK_MIN_TOKENS",
    "DTYPES",
    "GRAPH_KINDS",
    "GraphTuner",
    "TFFastAlbert",
    "bf16_check",
    "bucket_shape",
    "default_tuner",
    "optimize_for_inference",
]

#: The graph kinds a :class:`TFFastAlbert` runs: ``"graph"`` (``tf.function``, any shape) and ``"xla"``
#: (``tf.function(jit_compile=True)``, compiled per bucket shape). ``xla="auto"`` measures and picks one per bucket.
GRAPH_KINDS = ("graph", "xla")

#: The compute dtypes of the fast path, float32 and bfloat16 (Keras ``mixed_bfloat16``, GEMMs in bfloat16 while
#: embeddings, LayerNorm, softmax and logits stay float32).
DTYPES = ("float32", "bfloat16")

_DTYPE_NAMES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
                "mixed_bfloat16": "bfloat16"}

#: The model arguments the graph takes (besides the labels, whose loss runs eagerly on the graph's outputs).
_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "position_ids", "inputs_embeds")

#: :meth:`TFFastAlbert.encode_batch` ends a chunk before a sequence this much shorter than the chunk's longest ...
CHUNK_MAX_WASTE = 0.125
#: ... once the chunk holds this many padded positions (smaller chunks run GEMMs of too few rows).
CHUNK_MIN_TOKENS = 512

def _output_class(head: Head) -> type[ModelOutput]:
    """The core head table's output class; pre-training's is this backend's subclass of it."""
    return TFAlbertForPreTrainingOutput if head is Head.PRETRAINING else HEADS[head].output_class


def _compute_dtype(dtype: Any, model: TFAlbertPreTrainedModel) -> str:
    """``None`` -> the model's own compute dtype; else ``"float32"`` or ``"bfloat16"``."""
    if dtype is None:
        name = model.dtype_policy.compute_dtype
        if name not in DTYPES:
            raise UsageError(f"the fast path computes in {list(DTYPES)}; this model computes in {name} "
                             "(pass dtype='float32' or 'bfloat16')")
        return name
    key = dtype.name if isinstance(dtype, tf.DType) else dtype if isinstance(dtype, str) else repr(dtype)
    if key not in _DTYPE_NAMES:
        raise UsageError(f"the fast path computes in {list(DTYPES)}, not {dtype!r}")
    return _DTYPE_NAMES[key]


def bf16_check(quiet: bool = False) -> bool:
    """Whether this machine computes bfloat16 natively (:func:`albert_tf.pretraining.bf16_support`); if not, warn
    (:class:`~albert_core.errors.EmulatedPrecisionWarning`) that bfloat16 will run by emulation, usually slower
    than float32, unless ``quiet``.

    >>> isinstance(bf16_check(quiet=True), bool)
    True
    """
    from .pretraining import bf16_support

    native, reason = bf16_support()
    if not native and not quiet:
        warn_emulated_bf16("inference", reason, stacklevel=3)
    return native


def _round_up(n: int, multiple: int) -> int:
    if n <= multiple:
        return 1 << max(0, n - 1).bit_length() if n > 0 else 1
    return -(-n // multiple) * multiple


def bucket_shape(batch: int, seq: int, batch_multiple: int = 8, seq_multiple: int = 16,
                 max_seq: int | None = None) -> tuple[int, int]:
    """The padded ``(batch, seq)`` an XLA graph runs for a ``batch x seq`` input: each dimension rounded up to a
    power of two up to its multiple, and to a multiple of it beyond; ``seq`` capped at ``max_seq``.

    >>> bucket_shape(8, 128), bucket_shape(3, 5), bucket_shape(9, 17), bucket_shape(2, 509, max_seq=512)
    ((8, 128), (4, 8), (16, 32), (2, 512))
    """
    rows, length = _round_up(batch, batch_multiple), _round_up(seq, seq_multiple)
    if max_seq is not None:
        length = min(length, max(seq, max_seq))
    return rows, length


class GraphTuner(Tuner):
    """Times the plain graph against the XLA graph for a shape bucket once and remembers the faster (a
    :class:`~albert_core.tuning.Tuner`).

    A decision is keyed by the model's shape and dtype, the input signature and the bucket. It is measured on the
    first inputs of the bucket as :meth:`~albert_core.tuning.Tuner.measure` describes (the warm-up call traces and
    compiles). With ``cache_file`` the decisions are also kept in a JSON file, under a prefix naming the CPU model,
    the TensorFlow version and the thread count, so a second process does not measure again.

    Args:
        cache_file: JSON file to keep decisions in across processes (``None``: memory only).
        budget_s: the least time one measurement takes (longer when ``min_reps`` calls need it).
        min_reps, max_reps: bounds on the timed calls per candidate.

    >>> tuner = GraphTuner(budget_s=0.0, min_reps=1)
    >>> tuner.choose("demo", {"graph": lambda: sum(range(10)), "xla": lambda: sum(range(10000))})
    'graph'
    >>> sorted(tuner.decisions["demo"]["median_us"])
    ['graph', 'xla']
    """

    def __init__(self, cache_file: str | os.PathLike[str] | None = None, budget_s: float = 0.2,
                 min_reps: int = 3, max_reps: int = 20) -> None:
        super().__init__("graph decisions 1", "", cache_file, budget_s, min_reps, max_reps)

    def machine_key(self) -> str:
        """The prefix of every disk key: CPU model, TensorFlow version and thread count."""
        threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()
        return f"{cpu_model_name()} | tensorflow {tf.__version__} | {threads} threads"


_DEFAULT_TUNER: GraphTuner | None = None


def default_tuner() -> GraphTuner:
    """The process-wide :class:`GraphTuner`; it keeps decisions on disk when ``ALBERT_LITE_GRAPH_CACHE`` names a
    file.

    >>> default_tuner() is default_tuner()
    True
    """
    global _DEFAULT_TUNER
    if _DEFAULT_TUNER is None:
        _DEFAULT_TUNER = GraphTuner(cache_file=os.environ.get("ALBERT_LITE_GRAPH_CACHE") or None)
    return _DEFAULT_TUNER


def _to_tensor(value: Any) -> tf.Tensor | None:
    if value is None:
        return None
    if isinstance(value, (tf.Tensor, tf.Variable)):
        return tf.convert_to_tensor(value)
    return tf.convert_to_tensor(np.asarray(value))


def _bf16_copy(model: TFAlbertPreTrainedModel) -> TFAlbertPreTrainedModel:
    """``model``'s class and weights, built under the ``mixed_bfloat16`` policy (variables float32)."""
    return _copy_under(model, "mixed_bfloat16")


def _copy_under(model: TFAlbertPreTrainedModel, policy: str) -> TFAlbertPreTrainedModel:
    """``model``'s class and weights, built under the Keras dtype ``policy`` (the global policy is restored)."""
    kwargs = {"add_pooling_layer": model.pooler is not None} if isinstance(model, TFAlbertModel) else {}
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        copy = type(model)(model.config, **kwargs)
    finally:
        keras.config.set_dtype_policy(previous)
    copy.load_canonical_state(model.canonical_state(), strict=True)
    return copy


class TFFastAlbert:
    """The fast inference path of one albert_tf model (any head); build it with :meth:`from_model`.

    Calling it takes the model's arguments and returns the model's output class (with the loss when labels are
    given, computed eagerly from the graph's outputs, with the model's label checks). :meth:`encode_batch` runs
    sequences of different lengths without computing padding.

    Attributes:
        model: the eager model the weights came from (used for the arguments the fast path does not implement).
        compute_model: the model the graphs run (``model`` itself in float32, its bfloat16 copy otherwise).
        head: the model's :class:`~albert_core.heads.Head`.
        dtype: ``"float32"`` or ``"bfloat16"``.
        xla: ``"auto"``, ``True`` or ``False``, as given.
        tuner: the :class:`GraphTuner` deciding between the plain graph and XLA.
    """

    def __init__(self, model: TFAlbertPreTrainedModel, xla: bool | str = "auto", dtype: Any = None,
                 tuner: GraphTuner | None = None, seq_multiple: int = 16, batch_multiple: int = 8) -> None:
        if not isinstance(model, TFAlbertPreTrainedModel):
            raise UsageError(f"expected an albert_tf model, got {type(model).__name__}")
        if xla not in ("auto", True, False) or isinstance(xla, (int, float)) and not isinstance(xla, bool):
            raise UsageError(f"xla must be one of ['auto', True, False], got {xla!r}")
        for name, value in (("seq_multiple", seq_multiple), ("batch_multiple", batch_multiple)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UsageError(f"{name} must be a positive integer, got {value!r}")
        self.model, self.head, self.config = model, model.head, model.config
        self.xla, self.seq_multiple, self.batch_multiple = xla, seq_multiple, batch_multiple
        self.tuner = tuner or default_tuner()
        self.dtype = _compute_dtype(dtype, model)
        own = _compute_dtype(None, model) if dtype is not None else self.dtype
        if self.dtype == "bfloat16":
            bf16_check()
        self.compute_model = model if own == self.dtype else (
            _bf16_copy(model) if self.dtype == "bfloat16" else _float32_copy(model))
        self.backbone: TFAlbertModel = model if isinstance(model, TFAlbertModel) else model.albert
        self._graphs: dict[tuple, Any] = {}
        self._choices: dict[tuple[int, int], str] = {}
        self._lock = threading.RLock()

    @classmethod
    def from_model(cls, model: TFAlbertPreTrainedModel, xla: bool | str = "auto", dtype: Any = None,
                   tuner: GraphTuner | None = None, seq_multiple: int = 16,
                   batch_multiple: int = 8) -> TFFastAlbert:
        """The fast path of ``model`` (see :func:`optimize_for_inference` for the arguments).

        >>> from albert_core import AlbertConfig
        >>> from albert_tf import TFAlbertModel
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=8, hidden_size=16, num_hidden_layers=2,
        ...                    num_attention_heads=2, intermediate_size=32)
        >>> fast = TFFastAlbert.from_model(TFAlbertModel(cfg), xla=False)
        >>> fast.head.value, fast.dtype
        ('base', 'float32')
        """
        return cls(model, xla=xla, dtype=dtype, tuner=tuner, seq_multiple=seq_multiple,
                   batch_multiple=batch_multiple)

    # ------------------------------------------------------------------ graphs

    def _graph(self, kind: str, signature: tuple, hidden: bool):
        """The concrete function of ``kind`` for the input ``signature`` ((name, rank, dtype) triples)."""
        key = (kind, signature, hidden)
        with self._lock:
            if key not in self._graphs:
                model = self.compute_model

                def forward(inputs):
                    out = model(**inputs, output_hidden_states=hidden, training=False)
                    result = {}
                    for name, value in out.items():
                        if name == "hidden_states":
                            result[name] = tuple(tf.cast(h, tf.float32) for h in value)
                        elif tf.is_tensor(value) and value.dtype.is_floating:
                            result[name] = tf.cast(value, tf.float32)
                    return result

                specs = {name: tf.TensorSpec([None] * rank, dtype, name=name) for name, rank, dtype in signature}
                self._graphs[key] = tf.function(forward, jit_compile=kind == "xla").get_concrete_function(specs)
            return self._graphs[key]

    def _per_sequence(self, key: str) -> bool:
        return key == "loss" or per_sequence_output(self.head, key)

    def _run(self, inputs: dict[str, tf.Tensor], hidden: bool) -> dict[str, Any]:
        """The graph outputs for checked ``inputs`` (ids int32, mask int32, embeddings float32), on the kind chosen
        for the bucket (padded to the bucket where XLA runs, cut back after)."""
        main = inputs["input_ids"] if "input_ids" in inputs else inputs["inputs_embeds"]
        seq_axis = 2 if self.head is Head.MULTIPLE_CHOICE else 1
        shape = main.shape.as_list()
        batch, seq = shape[0], shape[seq_axis]
        signature = tuple(sorted((k, v.shape.rank, v.dtype) for k, v in inputs.items()))
        bucket = bucket_shape(batch, seq, self.batch_multiple, self.seq_multiple,
                              self.config.max_position_embeddings)
        padded_inputs = None

        def padded():
            nonlocal padded_inputs
            if padded_inputs is None:
                padded_inputs = inputs if bucket == (batch, seq) else self._pad(inputs, batch, seq, bucket,
                                                                                seq_axis)
            return padded_inputs

        choice = self._choices.get(bucket) if self.xla == "auto" else ("xla" if self.xla else "graph")
        if choice is None:
            pad_signature = tuple(sorted((k, v.shape.rank, v.dtype) for k, v in padded().items()))
            key = (f"{self.head.value} | {self._model_key()} | {self.dtype} | "
                   f"{','.join(f'{k}:{r}' for k, r, _ in signature)} | hidden={hidden} | "
                   f"bucket={bucket[0]}x{bucket[1]}")
            choice = self.tuner.choose(key, {
                "graph": lambda: self._graph("graph", signature, hidden)(inputs),
                "xla": lambda: self._graph("xla", pad_signature, hidden)(padded()),
            })
        self._choices[bucket] = choice
        kind, run_inputs = choice, inputs if choice == "graph" else padded()
        run_signature = tuple(sorted((k, v.shape.rank, v.dtype) for k, v in run_inputs.items()))
        out = self._graph(kind, run_signature, hidden)(run_inputs)
        if run_inputs is inputs:
            return dict(out)
        rows = batch * (shape[1] if self.head is Head.MULTIPLE_CHOICE else 1)  # hidden states are flat choices
        result: dict[str, Any] = {}
        for key, value in out.items():
            if key == "hidden_states":
                result[key] = tuple(h[:rows, :seq] for h in value)
            elif self._per_sequence(key):
                result[key] = value[:batch]
            else:
                result[key] = value[:batch, :seq]
        return result

    def _model_key(self) -> str:
        c = self.config
        return (f"V{c.vocab_size} E{c.embedding_size} H{c.hidden_size} L{c.num_hidden_layers} "
                f"G{c.num_hidden_groups} inner{c.inner_group_num} heads{c.num_attention_heads} "
                f"I{c.intermediate_size} {c.hidden_act} {c.position_embedding_type}")

    def _pad(self, inputs: dict[str, tf.Tensor], batch: int, seq: int, bucket: tuple[int, int],
             seq_axis: int) -> dict[str, tf.Tensor]:
        """``inputs`` padded to ``bucket``: new positions masked out (a mask of ones is added where absent), new
        rows hold id 0 with only their first position attended."""
        rows, length = bucket
        out = dict(inputs)
        main = inputs["input_ids"] if "input_ids" in inputs else inputs["inputs_embeds"]
        if "attention_mask" not in out:
            out["attention_mask"] = tf.ones(main.shape[: seq_axis + 1], tf.int32)
        padded = {}
        for key, value in out.items():
            widths = [[0, 0] for _ in range(value.shape.rank)]
            widths[0][1], widths[seq_axis][1] = rows - batch, length - seq
            padded[key] = tf.pad(value, widths)
        if rows > batch:  # a row with no attended position would be all -inf-free but meaningless: attend one
            first = np.zeros(padded["attention_mask"].shape, np.int32)
            first[batch:, ..., 0] = 1
            padded["attention_mask"] = padded["attention_mask"] + tf.constant(first)
        return padded

    # ------------------------------------------------------------------ the model's call signature

    def _checked(self, input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds) -> dict[str, tf.Tensor]:
        """The inputs checked as the eager model checks them (shapes, dtypes, id ranges, mask values), converted to
        the graph's dtypes (ids and mask int32, embeddings float32); ``None`` inputs left out."""
        values = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids,
                  "position_ids": position_ids, "inputs_embeds": inputs_embeds}
        tensors = {k: _to_tensor(v) for k, v in values.items()}
        shape = lambda t: None if t is None else tuple(t.shape.as_list())  # noqa: E731
        flat = dict(tensors)
        if self.head is Head.MULTIPLE_CHOICE:
            check_choice_inputs(*(shape(tensors[k]) for k in
                                  ("input_ids", "inputs_embeds", "attention_mask", "token_type_ids",
                                   "position_ids")))
            for k, t in tensors.items():
                if t is not None:
                    flat[k] = tf.reshape(t, [-1] + t.shape.as_list()[2:])
        check_model_inputs(self.config, shape(flat["input_ids"]), shape(flat["attention_mask"]),
                           shape(flat["token_type_ids"]), shape(flat["position_ids"]), shape(flat["inputs_embeds"]),
                           None)
        self.backbone._check_ids(flat["input_ids"], flat["token_type_ids"], flat["position_ids"],
                                 flat["attention_mask"])  # eager value checks, with the model's messages
        out = {}
        for k, t in tensors.items():
            if t is not None:
                out[k] = tf.cast(t, tf.float32 if k == "inputs_embeds" else tf.int32)
        return out

    def __call__(self, input_ids: Any = None, attention_mask: Any = None, token_type_ids: Any = None,
                 position_ids: Any = None, head_mask: Any = None, inputs_embeds: Any = None,
                 output_attentions: bool = False, output_hidden_states: bool = False, unpad: bool = False,
                 training: bool = False, **labels: Any) -> ModelOutput:
        """Run the model's forward pass on the fast path; arguments as the model's ``call`` (a dict of inputs and
        labels may come first, as for the model).

        Args:
            unpad: for a right-padded batch (each mask row ``1 .. 1 0 .. 0``), skip the padded positions: the
                real positions are computed as by :meth:`encode_batch` and the padded ones are returned as zeros
                (so only the real positions equal the eager model's). Masks of another form run padded.
            training: must be false (the fast path is for inference).

        ``head_mask`` and ``output_attentions`` go to the eager model.
        """
        if isinstance(input_ids, Mapping):
            given = dict(input_ids)
            unknown = sorted(set(given) - set(_INPUTS) - set(self.model.label_keys))
            if unknown:
                raise InputError(f"unknown input names {unknown}; expected some of "
                                 f"{list(_INPUTS + self.model.label_keys)}")
            input_ids = given.pop("input_ids", None)
            attention_mask = given.pop("attention_mask", attention_mask)
            token_type_ids = given.pop("token_type_ids", token_type_ids)
            position_ids = given.pop("position_ids", position_ids)
            inputs_embeds = given.pop("inputs_embeds", inputs_embeds)
            labels = {**given, **labels}
        if training:
            raise UsageError("the fast path is for inference only; call the model itself with training=True")
        unknown = sorted(set(labels) - set(self.model.label_keys))
        if unknown:
            raise UsageError(f"unexpected argument(s) {unknown} for {type(self.model).__name__}")
        if head_mask is not None or output_attentions:
            return self.model(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                              output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                              training=False, **labels)
        inputs = self._checked(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds)
        out = None
        if unpad and "attention_mask" in inputs and "input_ids" in inputs and "position_ids" not in inputs \
                and not output_hidden_states:
            out = self._forward_unpadded(inputs)
        if out is None:
            out = self._run(inputs, bool(output_hidden_states))
        hidden = out.pop("hidden_states", None)
        if self.head is Head.BASE:
            return BaseModelOutput(**out, hidden_states=hidden)
        values = tuple(labels.get(name) for name in HEADS[self.head].label_names)
        return self.model._head_output(_output_class(self.head), BaseModelOutput(hidden_states=hidden), values,
                                       **out)

    def _forward_unpadded(self, inputs: dict[str, tf.Tensor]) -> dict[str, Any] | None:
        mask = inputs["attention_mask"].numpy()
        lead, s = mask.shape[:-1], mask.shape[-1]
        flat_mask = mask.reshape(-1, s).astype(bool)
        lengths = flat_mask.sum(axis=1)
        if not np.array_equal(flat_mask, np.arange(s)[None, :] < lengths[:, None]) or lengths.min() == 0:
            return None  # not right padding: run padded
        ids = inputs["input_ids"].numpy().reshape(-1, s)
        types = inputs["token_type_ids"].numpy().reshape(-1, s) if "token_type_ids" in inputs else None
        seqs = [ids[i, :n] for i, n in enumerate(lengths)]
        type_seqs = None if types is None else [types[i, :n] for i, n in enumerate(lengths)]
        results = self._run_sorted(seqs, type_seqs)
        out: dict[str, Any] = {}
        for key in results[0]:
            if self._per_sequence(key):
                full = np.stack([r[key] for r in results])
                if self.head is Head.MULTIPLE_CHOICE:
                    full = full.reshape(lead)
            else:
                first = results[0][key]
                full = np.zeros((len(seqs), s) + tuple(first.shape[1:]), np.float32)
                for i, r in enumerate(results):
                    full[i, : lengths[i]] = r[key]
            out[key] = tf.constant(full)
        return out

    # ------------------------------------------------------------------ variable-length batches

    def _run_sorted(self, seqs: list[np.ndarray], types: list[np.ndarray] | None,
                    max_tokens: int = 8192) -> list[dict[str, np.ndarray]]:
        """Per-sequence outputs (numpy, without batch dimension) in the order of ``seqs``: sorted by length,
        chunked, each chunk padded to its longest (the multiple-choice model sees each sequence as one choice)."""
        lengths = [len(s) for s in seqs]
        order = sorted(range(len(seqs)), key=lambda i: -lengths[i])
        results: list[dict[str, np.ndarray] | None] = [None] * len(seqs)
        choice = self.head is Head.MULTIPLE_CHOICE
        start = 0
        while start < len(order):
            chunk = order[start: start + self._chunk_rows([lengths[i] for i in order[start:]], max_tokens)]
            longest = lengths[chunk[0]]
            stop = start + len(chunk)
            ids = np.zeros((len(chunk), longest), np.int32)
            mask = np.zeros((len(chunk), longest), np.int32)
            typ = None if types is None else np.zeros((len(chunk), longest), np.int32)
            for j, i in enumerate(chunk):
                ids[j, : lengths[i]], mask[j, : lengths[i]] = seqs[i], 1
                if typ is not None:
                    typ[j, : lengths[i]] = types[i]
            inputs = {"input_ids": ids, "attention_mask": mask}
            if typ is not None:
                inputs["token_type_ids"] = typ
            if choice:
                inputs = {k: v[:, None, :] for k, v in inputs.items()}
            out = self._run({k: tf.constant(v) for k, v in inputs.items()}, False)
            out = {k: v.numpy() for k, v in out.items()}
            for j, i in enumerate(chunk):
                row = {}
                for key, value in out.items():
                    if self._per_sequence(key):
                        row[key] = value[j]
                    else:
                        row[key] = value[j, : lengths[i]]
                results[i] = row
            start = stop
        return results  # type: ignore[return-value]

    def _chunk_rows(self, lengths: Sequence[int], max_tokens: int) -> int:
        """How many of ``lengths`` (sorted, longest first) the next chunk takes.

        A chunk holds at most ``max_tokens`` padded positions (and at least one sequence). It also ends before a
        sequence more than :data:`CHUNK_MAX_WASTE` shorter than its longest once it holds
        :data:`CHUNK_MIN_TOKENS` positions, so that little of it is padding. Where XLA may run, the row count is
        then cut down to a bucket size (a power of two up to ``batch_multiple``, a multiple of it beyond), so
        that XLA pads no rows.
        """
        longest = lengths[0]
        rows = 1
        while rows < len(lengths) and (rows + 1) * longest <= max_tokens:
            if lengths[rows] < longest * (1 - CHUNK_MAX_WASTE) and rows * longest >= CHUNK_MIN_TOKENS:
                break
            rows += 1
        if self.xla is not False:
            rows = (rows // self.batch_multiple * self.batch_multiple if rows >= self.batch_multiple
                    else 1 << (rows.bit_length() - 1))
        return rows

    def encode_batch(self, sequences: Sequence[Sequence[int]] | Mapping[str, Any],
                     token_type_ids: Sequence[Sequence[int]] | None = None,
                     max_tokens: int = 8192) -> list[ModelOutput]:
        """Run sequences of different lengths with little padding; one output per sequence, in order.

        The sequences are sorted by length and cut into chunks of at most ``max_tokens`` padded positions; each
        chunk is padded only to its own longest sequence (where XLA runs, to its bucket's length) and the padding
        is masked. A chunk of at least :data:`CHUNK_MIN_TOKENS` positions ends before a sequence more than
        :data:`CHUNK_MAX_WASTE` shorter than its longest, which bounds its padding. Each result equals the eager
        model's output for that sequence alone (or in any padded batch) within float32 rounding.

        Args:
            sequences: token-id sequences (lists, 1-D arrays or tensors), or a tokenizer's output holding
                ``input_ids`` (and ``token_type_ids``, used unless ``token_type_ids`` is given).
            token_type_ids: one segment-id sequence per sequence (default zeros).
            max_tokens: the most padded positions one chunk holds (memory bound; at least one sequence).

        Returns:
            The head's output class per sequence, without the batch dimension (float32 tensors):
            ``last_hidden_state`` ``[n, H]`` and ``pooler_output`` ``[H]`` for :class:`~albert_tf.TFAlbertModel`;
            ``logits`` ``[num_labels]`` for sequence classification, ``[n, num_labels]`` for token classification,
            ``[n, vocab_size]`` for masked LM; ``start_logits`` / ``end_logits`` ``[n]`` for question answering.

        Raises:
            ~albert_core.InputError: for an empty sequence, one longer than ``max_position_embeddings``, or ids out
                of range.
            ~albert_core.errors.UsageError: for the multiple-choice head (use the call with ``unpad=True``).

        >>> from albert_core import AlbertConfig
        >>> from albert_tf import TFAlbertForTokenClassification
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=8, hidden_size=16, num_hidden_layers=1,
        ...                    num_attention_heads=2, intermediate_size=32, num_labels=5)
        >>> fast = optimize_for_inference(TFAlbertForTokenClassification(cfg), xla=False)
        >>> [tuple(o.logits.shape) for o in fast.encode_batch([[2, 7, 3], [2, 3], [2, 9, 9, 9, 3]])]
        [(3, 5), (2, 5), (5, 5)]
        """
        if self.head is Head.MULTIPLE_CHOICE:
            raise UsageError("encode_batch takes single sequences; call the multiple-choice model with unpad=True")
        seqs, types = check_sequence_batch(self.config, sequences, token_type_ids, max_tokens)
        if not seqs:
            return []
        rows = self._run_sorted(seqs, types, int(max_tokens))
        return [_output_class(self.head)(**{k: tf.constant(v) for k, v in row.items()}) for row in rows]

    def graph_choices(self) -> dict[tuple[int, int], str]:
        """The graph kind (``"graph"`` or ``"xla"``) each ``(batch, seq)`` bucket has run on so far (for reports;
        the measurements behind ``"auto"`` choices are in ``tuner.decisions``).

        >>> from albert_core import AlbertConfig
        >>> from albert_tf import TFAlbertModel
        >>> cfg = AlbertConfig(vocab_size=30, embedding_size=8, hidden_size=16, num_hidden_layers=1,
        ...                    num_attention_heads=2, intermediate_size=32)
        >>> fast = optimize_for_inference(TFAlbertModel(cfg), xla=False)
        >>> _ = fast([[2, 5, 3]])
        >>> fast.graph_choices()
        {(1, 4): 'graph'}
        """
        return dict(self._choices)


def _float32_copy(model: TFAlbertPreTrainedModel) -> TFAlbertPreTrainedModel:
    """``model``'s class and weights, built under the float32 policy."""
    return _copy_under(model, "float32")


def optimize_for_inference(model: TFAlbertPreTrainedModel, xla: bool | str = "auto", dtype: Any = None,
                           tuner: GraphTuner | None = None, seq_multiple: int = 16,
                           batch_multiple: int = 8) -> TFFastAlbert:
    """The fast inference path of an albert_tf model (any head): a traced graph, XLA where it measures faster.

    Args:
        model: a loaded albert_tf model.
        xla: ``"auto"`` times the plain graph against the XLA graph once per shape bucket and runs the faster;
            ``True`` always runs XLA (padded to the bucket), ``False`` always the plain graph.
        dtype: ``None`` (the model's own: float32, or bfloat16 for a model built with
            ``from_pretrained(dtype="bfloat16")``), ``"float32"`` (exact within float32 rounding) or
            ``"bfloat16"`` (also ``"bf16"`` or ``tf.bfloat16``): the model rebuilt under Keras' ``mixed_bfloat16``
            policy with the same weights (GEMMs in bfloat16; LayerNorm, softmax and logits in float32). Opt-in: it
            warns (:class:`~albert_core.errors.EmulatedPrecisionWarning`) where the machine lacks native bfloat16,
            as it then runs slower than float32; its measured distance from float32 is on the TensorFlow inference
            page.
        tuner: the :class:`GraphTuner` to use (default: :func:`default_tuner`, shared by the process).
        seq_multiple, batch_multiple: the XLA shape buckets (see :func:`bucket_shape`).

    Raises:
        ~albert_core.errors.UsageError: for a model that is not an albert_tf model, or an unknown ``xla`` /
            ``dtype``.

    >>> import numpy as np
    >>> from albert_core import AlbertConfig
    >>> from albert_tf import TFAlbertForQuestionAnswering
    >>> cfg = AlbertConfig(vocab_size=30, embedding_size=8, hidden_size=16, num_hidden_layers=1,
    ...                    num_attention_heads=2, intermediate_size=32)
    >>> model = TFAlbertForQuestionAnswering(cfg)
    >>> fast = optimize_for_inference(model, xla=False)
    >>> ids, mask = np.array([[2, 5, 7, 3], [2, 6, 3, 0]]), np.array([[1, 1, 1, 1], [1, 1, 1, 0]])
    >>> bool(np.allclose(fast(ids, mask).start_logits, model(ids, mask).start_logits, atol=1e-5))
    True
    """
    return TFFastAlbert(model, xla=xla, dtype=dtype, tuner=tuner, seq_multiple=seq_multiple,
                        batch_multiple=batch_multiple)
