"""Pre-train a tiny ALBERT from scratch on Tiny Shakespeare: masked-LM + sentence-order prediction (SOP).

    python examples/pretrain_tiny.py                      # PyTorch, 300 steps, writes runs/tiny
    python examples/pretrain_tiny.py --framework tf       # TensorFlow / Keras compile + fit
    python examples/pretrain_tiny.py --steps 50 --max-lines 5000 --out runs/quick

The script reads top to bottom:

1. data: read the corpus into "documents", train a SentencePiece vocabulary, build ALBERT pre-training examples in
   numpy (segment pairs, sentence-order labels, packing, 15% masking);
2. the model: a tiny :class:`~albert_core.AlbertConfig`;
3. training: a plain PyTorch loop, or Keras ``compile``/``fit`` with the model's built-in loss;
4. held-out evaluation, ``save_pretrained`` (model + tokenizer), the loss history as CSV and a plot.

Only numpy and albert-lite are needed, plus the framework you train with. The plot needs matplotlib, which is not a
dependency of albert-lite: without it the script says that it skipped the plot.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import time
from pathlib import Path

import numpy as np

from albert_core import AlbertConfig, AlbertTokenizer, train_sentencepiece

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "tinyshakespeare.txt"
IGNORE = -100  # label of the positions that take no masked-LM loss
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
LABELS = ("labels", "sentence_order_label")


# ---------------------------------------------------------------------------------------------------------------------
# 1. Data


def read_documents(path: str | os.PathLike[str], max_lines: int | None = None) -> list[list[str]]:
    """Split the corpus into documents: one per speaker turn (blocks separated by blank lines).

    A document's "sentences" are its spoken lines; the ``NAME:`` line that opens each turn is dropped (it is a label,
    not text, and would give the sentence order away). Turns of fewer than two lines cannot make a segment pair and
    are left out. ``max_lines`` reads only the start of the file (for quick runs and tests).
    """
    lines = Path(path).read_text(encoding="utf-8").splitlines()[:max_lines]
    documents, turn = [], []
    for line in lines + [""]:
        if line.strip():
            turn.append(line.strip())
            continue
        spoken = turn[1:] if turn and turn[0].endswith(":") else turn
        if len(spoken) >= 2:
            documents.append(spoken)
        turn = []
    return documents


def split_documents(documents: list[list[str]], heldout_fraction: float, seed: int):
    """Shuffle the documents and hold out a fraction of them (whole documents, so no text is in both splits)."""
    order = np.random.default_rng(seed).permutation(len(documents))
    n_heldout = max(1, int(round(heldout_fraction * len(documents))))
    return [documents[i] for i in order[n_heldout:]], [documents[i] for i in order[:n_heldout]]


def build_tokenizer(documents: list[list[str]], out_dir: str | os.PathLike[str], vocab_size: int) -> AlbertTokenizer:
    """Train a SentencePiece unigram vocabulary (ALBERT's settings) on the documents' lines; return the tokenizer."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [line for doc in documents for line in doc]
    return AlbertTokenizer(train_sentencepiece(lines, out_dir, vocab_size=vocab_size, num_threads=os.cpu_count() or 1))


def make_segment_pairs(documents, tokenizer: AlbertTokenizer, max_len: int, rng: np.random.Generator):
    """ALBERT's segment pairs: ``(ids_a, ids_b, sentence_order_label)`` from consecutive text of one document.

    Walk through each document collecting lines until the chunk fills a sequence (``max_len - 3`` tokens, leaving
    room for ``[CLS]`` and two ``[SEP]``) or the document ends. Split the chunk at a random line boundary into A
    (first part) and B (the rest), and swap them with probability 0.5: label 0 = in order, 1 = swapped. A pair that is
    too long loses tokens from the start of A and the end of B, so that A and B stay adjacent in the text.
    """
    budget = max_len - 3
    pairs = []
    for doc in documents:
        line_ids = tokenizer([line for line in doc], add_special_tokens=False)["input_ids"]
        chunk: list[list[int]] = []
        for i, ids in enumerate(line_ids):
            chunk.append(ids)
            if sum(map(len, chunk)) < budget and i < len(line_ids) - 1:
                continue
            if len(chunk) >= 2:
                cut = int(rng.integers(1, len(chunk)))
                a = [t for ids in chunk[:cut] for t in ids]
                b = [t for ids in chunk[cut:] for t in ids]
                while len(a) + len(b) > budget:
                    if len(a) > len(b):
                        a = a[1:]
                    else:
                        b = b[:-1]
                if a and b:
                    swapped = int(rng.random() < 0.5)
                    pairs.append((b, a, 1) if swapped else (a, b, 0))
            chunk = []
    return pairs


def pack_pairs(pairs, tokenizer: AlbertTokenizer, max_len: int) -> dict[str, np.ndarray]:
    """``[CLS] A [SEP] B [SEP]`` padded to ``max_len``, with token types (0 for ``[CLS] A [SEP]``, 1 for ``B [SEP]``),
    attention mask, a special-token mask (1 on ``[CLS]``, ``[SEP]`` and padding) and the sentence-order labels."""
    n = len(pairs)
    input_ids = np.full((n, max_len), tokenizer.pad_token_id, dtype=np.int64)
    token_type_ids = np.zeros((n, max_len), dtype=np.int64)
    special = np.ones((n, max_len), dtype=np.int64)
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    for row, (a, b, _) in enumerate(pairs):
        ids = [cls, *a, sep, *b, sep]
        input_ids[row, : len(ids)] = ids
        token_type_ids[row, len(a) + 2 : len(ids)] = 1
        special[row, 1 : len(a) + 1] = 0
        special[row, len(a) + 2 : len(ids) - 1] = 0
    return {
        "input_ids": input_ids,
        "attention_mask": (input_ids != tokenizer.pad_token_id).astype(np.int64),
        "token_type_ids": token_type_ids,
        "special_tokens_mask": special,
        "sentence_order_label": np.array([label for _, _, label in pairs], dtype=np.int64),
    }


def mask_tokens(input_ids: np.ndarray, special_tokens_mask: np.ndarray, tokenizer: AlbertTokenizer,
                rng: np.random.Generator, probability: float = 0.15):
    """BERT/ALBERT masking: pick ``round(15%)`` (at least one) of each row's non-special tokens to predict.

    Of the picked tokens 80% become ``[MASK]``, 10% a random vocabulary id and 10% stay unchanged. Returns the new
    ``input_ids`` and the ``labels``: the original id at picked positions, -100 everywhere else.
    """
    maskable = special_tokens_mask == 0
    # a random score per token (infinite for special ones): each row's n lowest-scoring tokens are picked
    scores = np.where(maskable, rng.random(input_ids.shape), np.inf)
    rank = scores.argsort(axis=1).argsort(axis=1)
    n_pick = np.maximum(1, np.rint(probability * maskable.sum(axis=1))).astype(np.int64)
    picked = (rank < n_pick[:, None]) & maskable
    labels = np.where(picked, input_ids, IGNORE)

    action = rng.random(input_ids.shape)
    normal_ids = np.setdiff1d(np.arange(len(tokenizer)), tokenizer.all_special_ids)
    masked = input_ids.copy()
    masked[picked & (action < 0.8)] = tokenizer.mask_token_id
    to_random = picked & (action >= 0.8) & (action < 0.9)
    masked[to_random] = rng.choice(normal_ids, size=int(to_random.sum()))
    return masked, labels


def build_examples(documents, tokenizer: AlbertTokenizer, max_len: int, seed: int) -> dict[str, np.ndarray]:
    """Segment pairs -> packed arrays -> masked arrays: everything a pre-training batch needs, as numpy arrays."""
    rng = np.random.default_rng(seed)
    data = pack_pairs(make_segment_pairs(documents, tokenizer, max_len, rng), tokenizer, max_len)
    data["input_ids"], data["labels"] = mask_tokens(data["input_ids"], data["special_tokens_mask"], tokenizer, rng)
    return data


def batches(data: dict[str, np.ndarray], batch_size: int, seed: int, shuffle: bool = True, forever: bool = True):
    """Yield batches (dicts of model inputs and labels), each cut to its longest row rounded up to a multiple of 16
    (less padding to compute, and only a few distinct shapes). Reshuffles every pass when ``shuffle``."""
    rng = np.random.default_rng(seed)
    n = len(data["input_ids"])
    while True:
        order = rng.permutation(n) if shuffle else np.arange(n)
        for start in range(0, n, batch_size):
            rows = order[start : start + batch_size]
            length = int(data["attention_mask"][rows].sum(axis=1).max())
            length = min(-(-length // 16) * 16, data["input_ids"].shape[1])
            yield {k: data[k][rows, :length] if data[k].ndim == 2 else data[k][rows] for k in MODEL_INPUTS + LABELS}
        if not forever:
            return


# ---------------------------------------------------------------------------------------------------------------------
# 2. The model


def tiny_config(vocab_size: int, max_len: int = 128) -> AlbertConfig:
    """E=64, H=128, 4 layers sharing one parameter group, 4 heads: about 0.4M parameters."""
    return AlbertConfig(
        vocab_size=vocab_size, embedding_size=64, hidden_size=128, num_hidden_layers=4, num_hidden_groups=1,
        num_attention_heads=4, intermediate_size=512, max_position_embeddings=max_len,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )


def learning_rate(step: int, total_steps: int, peak: float) -> float:
    """Linear warm-up over the first 10% of the steps, then cosine decay to 0 (the same schedule in both backends)."""
    warmup = max(1, total_steps // 10)
    if step < warmup:
        return peak * step / warmup
    return peak * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total_steps - warmup)))


def progress_line(step: int, total: int, row: dict) -> str:
    return (f"step {step:>5}/{total} | mlm loss {row['mlm_loss']:.3f} | sop loss {row['sop_loss']:.3f} | "
            f"sop acc {row['sop_acc']:.2f} | {row['tokens_per_s']:,.0f} tokens/s")


def heldout_line(step: int, ev: dict) -> str:
    return (f"  held-out @ {step}: mlm loss {ev['mlm_loss']:.3f} | mlm acc {ev['mlm_acc']:.3f} | "
            f"sop loss {ev['sop_loss']:.3f} | sop acc {ev['sop_acc']:.3f}")


def summarize_eval(prediction_logits_and_labels) -> dict:
    """Token-weighted masked-LM loss/accuracy and per-example SOP loss/accuracy from ``(mlm_logits, labels,
    sop_logits, sop_labels)`` numpy batches."""
    mlm_nll = mlm_hits = mlm_n = sop_nll = sop_hits = sop_n = 0.0
    for logits, labels, sop_logits, sop_labels in prediction_logits_and_labels:
        keep = labels != IGNORE
        picked, target = logits[keep].astype(np.float64), labels[keep]
        log_probs = picked - np.logaddexp.reduce(picked, axis=-1, keepdims=True)
        mlm_nll -= log_probs[np.arange(len(target)), target].sum()
        mlm_hits += (picked.argmax(-1) == target).sum()
        mlm_n += len(target)
        sop = sop_logits.astype(np.float64)
        sop_log_probs = sop - np.logaddexp.reduce(sop, axis=-1, keepdims=True)
        sop_nll -= sop_log_probs[np.arange(len(sop_labels)), sop_labels].sum()
        sop_hits += (sop.argmax(-1) == sop_labels).sum()
        sop_n += len(sop_labels)
    return {"mlm_loss": mlm_nll / mlm_n, "mlm_acc": mlm_hits / mlm_n, "sop_loss": sop_nll / sop_n,
            "sop_acc": sop_hits / sop_n}


# ---------------------------------------------------------------------------------------------------------------------
# 3a. Training in PyTorch: a plain loop


def evaluate_pt(model, data, batch_size: int = 64) -> dict:
    """Masked-LM accuracy on the masked tokens and SOP accuracy (plus both losses) on ``data``."""
    import torch

    model.eval()
    results = []
    with torch.no_grad():
        for batch in batches(data, batch_size, seed=0, shuffle=False, forever=False):
            out = model(**{k: torch.from_numpy(batch[k]) for k in MODEL_INPUTS})
            results.append((out.prediction_logits.numpy(), batch["labels"], out.sop_logits.numpy(),
                             batch["sentence_order_label"]))
    model.train()
    return summarize_eval(results)


def train_pt(config: AlbertConfig, train, heldout, steps: int, batch_size: int, lr: float, seed: int,
             log_every: int, eval_every: int):
    """Train ``AlbertForPreTraining`` with AdamW; return the model and the history rows (train and held-out)."""
    import torch
    import torch.nn.functional as F

    from albert_pt import AlbertForPreTraining

    torch.manual_seed(seed)
    model = AlbertForPreTraining(config)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: learning_rate(s, steps, 1.0))
    history = [dict(step=0, split="heldout", **evaluate_pt(model, heldout))]
    print(heldout_line(0, history[-1]))
    window = {"mlm_loss": 0.0, "sop_loss": 0.0, "sop_hits": 0, "examples": 0, "tokens": 0, "steps": 0}
    started = time.perf_counter()
    data = batches(train, batch_size, seed)
    for step in range(1, steps + 1):
        batch = {k: torch.from_numpy(v) for k, v in next(data).items()}
        out = model(**batch)  # labels and sentence_order_label are in the batch: out.loss = MLM + SOP
        optimizer.zero_grad()
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        with torch.no_grad():  # the two parts of the loss, for the log
            sop_loss = F.cross_entropy(out.sop_logits, batch["sentence_order_label"])
            window["mlm_loss"] += out.loss.item() - sop_loss.item()
            window["sop_loss"] += sop_loss.item()
            window["sop_hits"] += (out.sop_logits.argmax(-1) == batch["sentence_order_label"]).sum().item()
            window["examples"] += len(batch["input_ids"])
            window["tokens"] += batch["attention_mask"].sum().item()
            window["steps"] += 1
        if step % log_every == 0 or step == steps:
            elapsed = time.perf_counter() - started
            row = dict(step=step, split="train", mlm_loss=window["mlm_loss"] / window["steps"],
                       sop_loss=window["sop_loss"] / window["steps"], sop_acc=window["sop_hits"] / window["examples"],
                       tokens_per_s=window["tokens"] / elapsed)
            history.append(row)
            print(progress_line(step, steps, row), flush=True)
            window = dict.fromkeys(window, 0)
        if step % eval_every == 0 or step == steps:
            history.append(dict(step=step, split="heldout", **evaluate_pt(model, heldout)))
            print(heldout_line(step, history[-1]), flush=True)
        if step % log_every == 0:
            started = time.perf_counter()  # tokens/s counts training time only, not the evaluation
    model.eval()
    return model, history


# ---------------------------------------------------------------------------------------------------------------------
# 3b. Training in TensorFlow: Keras compile + fit with the model's built-in loss


def evaluate_tf(model, data, batch_size: int = 64) -> dict:
    """:func:`evaluate_pt` for a Keras model."""
    results = []
    for batch in batches(data, batch_size, seed=0, shuffle=False, forever=False):
        out = model({k: batch[k] for k in MODEL_INPUTS}, training=False)
        results.append((out.prediction_logits.numpy(), batch["labels"], out.sop_logits.numpy(),
                        batch["sentence_order_label"]))
    return summarize_eval(results)


def train_tf(config: AlbertConfig, train, heldout, steps: int, batch_size: int, lr: float, seed: int,
             log_every: int, eval_every: int):
    """Train ``TFAlbertForPreTraining`` with ``compile``/``fit``; return the model and the history rows.

    The labels travel inside the input dict, and ``fit`` minimises the model's built-in loss (MLM + SOP). To report
    the two parts and the SOP accuracy, the model gets three extra Keras metrics through Keras' documented
    ``compute_metrics`` hook. One Keras "epoch" is ``log_every`` steps, so the metrics (which Keras averages over an
    epoch) are means over the last ``log_every`` steps, as in the PyTorch loop; a callback prints the progress line,
    records it and runs the held-out evaluation.
    """
    import keras
    import tensorflow as tf

    from albert_tf import TFAlbertForPreTraining

    class PreTrainer(TFAlbertForPreTraining):
        """``TFAlbertForPreTraining`` that also reports its loss's MLM and SOP parts and the SOP accuracy in ``fit``."""

        def __init__(self, config, **kwargs):
            super().__init__(config, **kwargs)
            self.mlm_loss = keras.metrics.Mean(name="mlm_loss")
            self.sop_loss = keras.metrics.Mean(name="sop_loss")
            self.sop_acc = keras.metrics.Mean(name="sop_acc")

        def compute_metrics(self, x, y, y_pred, sample_weight=None):
            sop_labels = x["sentence_order_label"]
            sop_loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(sop_labels, y_pred["sop_logits"]))
            self.mlm_loss.update_state(y_pred["loss"] - sop_loss)
            self.sop_loss.update_state(sop_loss)
            predicted = tf.argmax(y_pred["sop_logits"], axis=-1, output_type=sop_labels.dtype)
            self.sop_acc.update_state(tf.cast(predicted == sop_labels, tf.float32))
            return super().compute_metrics(x, y, y_pred, sample_weight)  # results of every metric in self.metrics

    keras.utils.set_random_seed(seed)

    class Progress(keras.callbacks.Callback):
        """Print one line per Keras epoch (= ``log_every`` steps), record it, evaluate on the held-out split."""

        def __init__(self):
            super().__init__()
            self.history = []

        def on_train_begin(self, logs=None):
            self.history.append(dict(step=0, split="heldout", **evaluate_tf(self.model, heldout)))
            print(heldout_line(0, self.history[-1]))

        def on_epoch_begin(self, epoch, logs=None):
            self.tokens, self.started = 0, time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.tokens += tokens_per_batch.pop(0)

        def on_epoch_end(self, epoch, logs=None):
            step = (epoch + 1) * log_every
            row = dict(step=step, split="train", mlm_loss=float(logs["mlm_loss"]), sop_loss=float(logs["sop_loss"]),
                       sop_acc=float(logs["sop_acc"]), tokens_per_s=self.tokens / (time.perf_counter() - self.started))
            self.history.append(row)
            print(progress_line(step, total_steps, row), flush=True)
            if step % eval_every == 0 or step == total_steps:
                self.history.append(dict(step=step, split="heldout", **evaluate_tf(self.model, heldout)))
                print(heldout_line(step, self.history[-1]), flush=True)

    epochs = -(-steps // log_every)
    total_steps = epochs * log_every
    if total_steps != steps:
        print(f"(Keras runs whole epochs of {log_every} steps: training {total_steps} steps)")
    tokens_per_batch: list[int] = []  # filled by the generator, read by the callback: the tokens of each batch

    def generator():
        for batch in batches(train, batch_size, seed):
            tokens_per_batch.append(int(batch["attention_mask"].sum()))
            yield batch  # inputs and labels in one dict: the model takes its labels from there

    signature = {k: tf.TensorSpec([None, None], tf.int64) for k in MODEL_INPUTS + ("labels",)}
    signature["sentence_order_label"] = tf.TensorSpec([None], tf.int64)
    dataset = tf.data.Dataset.from_generator(generator, output_signature=signature)
    model = PreTrainer(config)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0, warmup_target=lr, warmup_steps=max(1, total_steps // 10),
        decay_steps=max(1, total_steps - max(1, total_steps // 10)))
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.01, global_clipnorm=1.0))
    progress = Progress()
    # verbose=0: the callback prints the same line as the PyTorch loop (verbose=2 shows Keras' own line per epoch)
    model.fit(dataset, epochs=epochs, steps_per_epoch=log_every, callbacks=[progress], shuffle=False, verbose=0)
    return model, progress.history


# ---------------------------------------------------------------------------------------------------------------------
# 4. Outputs: CSV and plot


def write_history_csv(history: list[dict], path: str | os.PathLike[str]) -> Path:
    """One row per logged step (``split=train``: means over the last ``log_every`` steps) or evaluation
    (``split=heldout``); cells a row does not have are empty."""
    fields = ["step", "split", "mlm_loss", "sop_loss", "sop_acc", "mlm_acc", "tokens_per_s"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for row in history:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return Path(path)


def plot_history(history: list[dict], path: str | os.PathLike[str], title: str) -> Path | None:
    """MLM and SOP loss against the step (training line, held-out points) in ``path``; ``None`` without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    train = [r for r in history if r["split"] == "train"]
    held = [r for r in history if r["split"] == "heldout"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, key, name in ((axes[0], "mlm_loss", "masked-LM loss"), (axes[1], "sop_loss", "sentence-order loss")):
        ax.plot([r["step"] for r in train], [r[key] for r in train], color="tab:blue", label="train (window mean)")
        ax.plot([r["step"] for r in held], [r[key] for r in held], "o--", color="tab:orange", label="held-out")
        ax.set_xlabel("training step")
        ax.set_ylabel("cross-entropy (nats)")
        ax.set_title(name)
        ax.grid(alpha=0.3)
    axes[1].axhline(math.log(2), color="gray", linestyle=":", label="chance (ln 2)")
    last = held[-1]
    axes[1].text(0.98, 0.04, f"held-out SOP acc {last['sop_acc']:.2f}", transform=axes[1].transAxes, ha="right")
    axes[0].text(0.98, 0.92, f"held-out MLM acc {last['mlm_acc']:.2f}", transform=axes[0].transAxes, ha="right")
    for ax in axes:
        ax.legend(loc="upper right" if ax is axes[1] else "center right")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


# ---------------------------------------------------------------------------------------------------------------------
# main


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--framework", choices=("pt", "tf"), default="pt", help="PyTorch loop or Keras fit")
    parser.add_argument("--steps", type=int, default=300, help="optimizer steps")
    parser.add_argument("--out", default="runs/tiny", help="output directory (checkpoint, tokenizer, CSV, plot)")
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="plain-text corpus")
    parser.add_argument("--max-lines", type=int, default=None, help="read only the first N lines of the corpus")
    parser.add_argument("--vocab-size", type=int, default=2000, help="SentencePiece vocabulary size")
    parser.add_argument("--max-len", type=int, default=128, help="tokens per example, [CLS] and [SEP]s included")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (AdamW)")
    parser.add_argument("--log-every", type=int, default=10, help="print progress every N steps")
    parser.add_argument("--eval-every", type=int, default=50, help="evaluate on the held-out split every N steps")
    parser.add_argument("--heldout-fraction", type=float, default=0.05, help="share of documents held out")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if min(args.steps, args.log_every, args.eval_every, args.batch_size) < 1:
        parser.error("--steps, --log-every, --eval-every and --batch-size must be positive")
    return args


def main(argv=None) -> dict:
    """Run the whole example; returns what it computed (used by ``tests/test_examples.py``)."""
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    documents = read_documents(args.corpus, args.max_lines)
    train_docs, heldout_docs = split_documents(documents, args.heldout_fraction, args.seed)
    tokenizer = build_tokenizer(train_docs, out, args.vocab_size)
    train = build_examples(train_docs, tokenizer, args.max_len, args.seed)
    heldout = build_examples(heldout_docs, tokenizer, args.max_len, args.seed + 1)
    masked = (train["labels"] != IGNORE).sum() / (train["special_tokens_mask"] == 0).sum()
    print(f"{len(documents)} documents ({len(heldout_docs)} held out), vocabulary {len(tokenizer)}; "
          f"{len(train['input_ids'])} training / {len(heldout['input_ids'])} held-out examples, "
          f"{masked:.1%} of the tokens masked, {train['sentence_order_label'].mean():.1%} swapped")

    config = tiny_config(len(tokenizer), args.max_len)
    train_fn = train_pt if args.framework == "pt" else train_tf
    print(f"training with {'PyTorch' if args.framework == 'pt' else 'Keras fit'} for {args.steps} steps, "
          f"batch {args.batch_size}")
    train_started = time.perf_counter()
    model, history = train_fn(config, train, heldout, args.steps, args.batch_size, args.lr, args.seed,
                              args.log_every, args.eval_every)
    train_seconds = time.perf_counter() - train_started
    final = history[-1]
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    csv_path = write_history_csv(history, out / "loss_history.csv")
    plot = plot_history(history, out / "loss_curve.png",
                        f"tiny ALBERT pre-training on Tiny Shakespeare ({args.framework}, {final['step']} steps)")
    print(f"held-out after {final['step']} steps: masked-LM accuracy {final['mlm_acc']:.3f}, "
          f"sentence-order accuracy {final['sop_acc']:.3f}")
    print(f"saved model + tokenizer to {out} (try: albert check {out}), history to {csv_path.name}; "
          + (f"plot {plot.name}" if plot else "matplotlib is not installed: plot skipped"))
    print(f"training took {train_seconds:.1f} s, {time.perf_counter() - started:.1f} s in all")
    return {"model": model, "tokenizer": tokenizer, "config": config, "train": train, "heldout": heldout,
            "history": history, "final": final, "csv": csv_path, "plot": plot, "out": out,
            "train_seconds": train_seconds}


if __name__ == "__main__":
    main()
