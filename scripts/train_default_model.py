"""Pre-train the small default model shipped at ``albert_core/assets/default/`` (used by a bare ``albert check``).

The whole recipe, end to end, from one seed:

1. split the shared tiny-Shakespeare corpus (read from ``../shared/corpus``, never copied into the repository) by
   lines: the first ~90% for training, the last ~10% (cut at a blank line, so no speech is split) held out;
2. train the 2000-piece SentencePiece vocabulary (:func:`albert_core.tokenizer.train_sentencepiece`) on the
   training lines only;
3. build the pre-training examples (:func:`albert_core.pretraining.build_pretraining_data`: sentence-order pairs
   inside each blank-line-separated block, n-gram masking) for the training part, and a held-out set from the
   held-out part alone;
4. pre-train ALBERT (MLM + SOP) with :func:`albert_pt.pretraining.pretrain`, evaluating held-out MLM and SOP
   accuracy every ``--eval-every`` steps;
5. write the final model (``save_pretrained``: ``config.json`` + float32 ``model.safetensors``), the tokenizer
   (``save_pretrained``) and a model card into a staging directory, then replace ``albert_core/assets/default/``
   with it, and copy the training curves to ``docs/_static/default_model_curves.png``.

Run outputs (data, checkpoints, history) go to ``--run-dir`` (default ``/tmp/default_model_run``), never into the
repository. A run that is interrupted resumes from its last checkpoint when started again with the same settings.
Run from the repository root::

    python scripts/train_default_model.py            # the defaults are the recipe of the shipped model
    python scripts/train_default_model.py [--corpus PATH] [--run-dir DIR] [--steps N] ...
    python scripts/train_default_model.py --steps 40 --train-name trial --no-install   # a trial: nothing shipped
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from albert_core import AlbertConfig  # noqa: E402
from albert_core.pretraining import PretrainingDataset, build_pretraining_data, read_index  # noqa: E402
from albert_core.tokenizer import AlbertTokenizer, train_sentencepiece  # noqa: E402
from albert_core.training import (  # noqa: E402
    HISTORY_CSV_FILE,
    HISTORY_PLOT_FILE,
    TrainingConfig,
    latest_checkpoint,
    read_history_csv,
)

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "tinyshakespeare.txt"
DEFAULT_OUT = ROOT / "albert_core" / "assets" / "default"
DEFAULT_PLOT = ROOT / "docs" / "_static" / "default_model_curves.png"
DEFAULT_RUN_DIR = Path("/tmp/default_model_run")

#: The shipped architecture (~1.5 MB of float32 weights). Dropout 0: a 4-layer, 128-wide model trained for a few
#: epochs of a 1 MB corpus underfits rather than overfits.
CONFIG = dict(vocab_size=2000, embedding_size=64, hidden_size=128, num_hidden_layers=4, num_hidden_groups=1,
              num_attention_heads=4, intermediate_size=512, inner_group_num=1, hidden_act="gelu_new",
              hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, classifier_dropout_prob=0.1,
              max_position_embeddings=128, type_vocab_size=2, num_labels=2)
HELDOUT_FRACTION = 0.10
#: How the defaults below were chosen (written into the model card).
CHOICES = """\
The shipped weights were trained on one NVIDIA H100 lent to the project for a few minutes (the script is the same on a
CPU: on the project's 2-core machine one update of 64 examples took 2-5 s, and a 450-update CPU run stayed on the
unigram plateau, held-out MLM 0.055, SOP 0.51). `--time-budget 6.8` chose the 7,200 updates from a 100-update speed
trial; the defaults of the script now name them, so `python scripts/train_default_model.py` repeats this run. Batch
256 of 64 tokens (examples average ~39 real tokens, since the documents are single speeches), AdamW at 1e-3 with a 5%
warm-up. A 4x larger variant (`--model hidden_size=256 --model embedding_size=128 --model intermediate_size=1024`,
same budget, 6,900 updates) peaked at held-out MLM accuracy 0.248 at step 4,000 and fell to 0.235 by the end while
its training MLM loss went down to 2.83 (against 3.95 here): it overfits the 1 MB corpus, so the smaller model is
shipped."""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def split_corpus(lines: list[str], fraction: float = HELDOUT_FRACTION) -> tuple[list[str], list[str], int]:
    """``(train_lines, heldout_lines, cut)``: the held-out part starts after the first blank line at or after line
    ``len(lines) * (1 - fraction)``, so no blank-line-separated block (a speech) is split between the two."""
    cut = int(len(lines) * (1 - fraction))
    while cut < len(lines) and lines[cut].strip():
        cut += 1
    if cut >= len(lines):
        raise SystemExit("the corpus has no blank line in its last 10%: cannot cut it into documents")
    return lines[:cut], lines[cut + 1:], cut


def machine_description() -> str:
    """The device the training ran on: the GPU when PyTorch sees one (``pretrain`` then uses it), else the CPU."""
    try:
        import torch

        if torch.cuda.is_available():
            return (f"{torch.cuda.get_device_name(0)} (CUDA, PyTorch {torch.__version__}), "
                    f"host CPU: {cpu_description()}")
    except ImportError:
        pass
    return cpu_description()


def cpu_description() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    threads = None
    try:
        import torch

        threads = torch.get_num_threads()
    except ImportError:
        pass
    return f"{model}, {os.cpu_count()} cores visible, {threads} PyTorch threads"


def prepare_data(args: argparse.Namespace, run: Path) -> tuple[AlbertTokenizer, Path, Path, dict]:
    """Steps 1-3; reused from ``run`` when it already holds data built with the same settings."""
    settings = dict(corpus=str(args.corpus), heldout_fraction=HELDOUT_FRACTION, vocab_size=CONFIG["vocab_size"],
                    max_seq_length=args.max_seq_length, dupe_factor=args.dupe_factor,
                    heldout_dupe_factor=args.heldout_dupe_factor, seed=args.seed)
    stamp = run / "data_settings.json"
    tokenizer_dir, train_dir, heldout_dir = run / "tokenizer", run / "data_train", run / "data_heldout"
    lines = args.corpus.read_text(encoding="utf-8").splitlines()
    train_lines, heldout_lines, cut = split_corpus(lines)
    info = dict(total_lines=len(lines), train_lines=len(train_lines), heldout_lines=len(heldout_lines),
                heldout_first_line=cut + 2)  # 1-based number of the first held-out line
    if stamp.is_file() and json.loads(stamp.read_text()) == settings and (train_dir / "index.json").is_file() \
            and (heldout_dir / "index.json").is_file():
        log(f"reusing the data in {run}")
        return AlbertTokenizer.from_pretrained(tokenizer_dir), train_dir, heldout_dir, info
    for path in (tokenizer_dir, train_dir, heldout_dir):
        shutil.rmtree(path, ignore_errors=True)
    stamp.unlink(missing_ok=True)
    log(f"corpus {args.corpus}: {len(lines)} lines; training lines 1-{cut}, held-out lines {cut + 2}-{len(lines)}")
    tokenizer_dir.mkdir(parents=True)
    log(f"training the {CONFIG['vocab_size']}-piece SentencePiece model on the training lines")
    model_file = train_sentencepiece(train_lines, tokenizer_dir, vocab_size=CONFIG["vocab_size"], num_threads=2)
    tokenizer = AlbertTokenizer(model_file, model_max_length=CONFIG["max_position_embeddings"])
    tokenizer.save_pretrained(tokenizer_dir)
    tokenizer = AlbertTokenizer.from_pretrained(tokenizer_dir)
    if len(tokenizer) != CONFIG["vocab_size"]:
        raise SystemExit(f"the tokenizer has {len(tokenizer)} pieces, not {CONFIG['vocab_size']}")
    common = dict(max_seq_length=args.max_seq_length, max_predictions_per_seq=args.max_seq_length * 20 // 128,
                  masked_lm_prob=0.15, max_ngram=3, short_seq_prob=0.1, workers=args.workers)
    log(f"building the training examples (max_seq_length {args.max_seq_length}, dupe_factor {args.dupe_factor})")
    build_pretraining_data(train_lines, train_dir, tokenizer, dupe_factor=args.dupe_factor, seed=args.seed, **common)
    log(f"building the held-out examples (dupe_factor {args.heldout_dupe_factor})")
    build_pretraining_data(heldout_lines, heldout_dir, tokenizer, dupe_factor=args.heldout_dupe_factor,
                           seed=args.seed + 1, **common)
    stamp.write_text(json.dumps(settings, indent=1) + "\n")
    return tokenizer, train_dir, heldout_dir, info


def write_card(path: Path, *, args: argparse.Namespace, info: dict, train_index: dict, heldout_index: dict,
               training: TrainingConfig, rows: list[dict], wall_seconds: float, machine: str,
               plot_relative: str, final_eval: dict) -> None:
    evals = [r for r in rows if r.get("eval_mlm_accuracy") is not None]
    final = evals[-1] if evals else {"step": training.total_steps}
    best_sop = max(evals, key=lambda r: r["eval_sop_accuracy"]) if evals else {}
    s = train_index["settings"]
    mlm_met, sop_met = final_eval["eval_mlm_accuracy"] >= 0.30, final_eval["eval_sop_accuracy"] >= 0.65
    targets = ("Both targets (MLM >= 0.30, SOP >= 0.65) are met." if mlm_met and sop_met else
               f"Targets: SOP >= 0.65 is {'met' if sop_met else '**not** met'}; MLM >= 0.30 is "
               f"{'met' if mlm_met else '**not** met'}.")
    if sop_met and not mlm_met:
        targets += (" Held-out MLM accuracy flattens out in the low 0.2s (table below) while the training loss keeps "
                    "falling: what limits it is the corpus (~0.9 MB of training text, seen "
                    f"{training.total_steps * training.global_batch_size / train_index['num_examples']:.0f} times "
                    "with different masks), not compute; a wider model overfits sooner (see above). Whole-word "
                    "n-gram masks are also harder to fill than the single-piece masks of most MLM numbers quoted.")
    if final_eval["eval_mlm_accuracy"] < 0.1:
        targets += (" The model is still on the *unigram plateau* that small BERT-style models sit on before they "
                    "learn to use the context: its MLM head predicts nearly the same frequent pieces at every masked "
                    "position. Treat these weights as a correctly shaped, barely trained checkpoint.")
    examples_seen = training.total_steps * training.global_batch_size
    epochs = examples_seen / train_index["num_examples"]
    table = ["| step | examples seen | learning rate | train loss | held-out MLM acc. | held-out SOP acc. |",
             "|---:|---:|---:|---:|---:|---:|"]
    every = max(1, len(evals) // 12)
    shown = evals[::every] + ([evals[-1]] if evals and evals[-1] is not evals[::every][-1] else [])
    for r in shown:
        table.append(f"| {r['step']} | {r['step'] * training.global_batch_size:,} | {r['learning_rate']:.2e} | "
                     f"{r['loss']:.3f} | {r['eval_mlm_accuracy']:.3f} | {r['eval_sop_accuracy']:.3f} |")
    config_rows = "\n".join(f"| `{k}` | {v} |" for k, v in CONFIG.items())
    text = f"""# albert-lite default model

A tiny ALBERT ({CONFIG['num_hidden_layers']} layers sharing one group, hidden {CONFIG['hidden_size']}, embedding
{CONFIG['embedding_size']}, {CONFIG['num_attention_heads']} heads, FFN {CONFIG['intermediate_size']}, vocabulary
{CONFIG['vocab_size']}, {CONFIG['max_position_embeddings']} positions) pre-trained with masked-language modelling and
sentence-order prediction on tiny Shakespeare. It is the model a bare `albert check` compares across PyTorch and
TensorFlow, and a small, fast model for tests and examples. It is a toy: it knows Shakespeare's spelling and some of
his phrasing, nothing more; do not expect useful downstream accuracy.

Made by `scripts/train_default_model.py` (seed {args.seed}); rerun it to reproduce these files.

## Configuration

| setting | value |
|---|---|
{config_rows}

Files: `config.json` (architectures `AlbertForPreTraining`), `model.safetensors` (float32, MLM and SOP heads
included), `spiece.model`, `tokenizer_config.json`, `special_tokens_map.json`.

## Data

- Corpus: tiny Shakespeare (`tinyshakespeare.txt`, {info['total_lines']} lines, ~1.1 MB), read from the shared
  corpus directory, not shipped.
- Split by lines: lines 1-{info['heldout_first_line'] - 2} for training ({info['train_lines']} lines), lines
  {info['heldout_first_line']}-{info['total_lines']} held out ({info['heldout_lines']} lines, the last ~10%, cut at a
  blank line so no speech is split). Nothing of the held-out text is seen by the tokenizer or the model in training.
- Vocabulary: SentencePiece unigram, {CONFIG['vocab_size']} pieces, ALBERT's recipe
  (`albert_core.tokenizer.train_sentencepiece`), trained on the training lines only.
- Examples: `albert_core.pretraining.build_pretraining_data`; documents are the blank-line-separated blocks of the
  corpus (one speech each, speaker line included), `max_seq_length` {s['max_seq_length']},
  `max_predictions_per_seq` {s['max_predictions_per_seq']}, `masked_lm_prob` {s['masked_lm_prob']}, `max_ngram`
  {s['max_ngram']}, `short_seq_prob` {s['short_seq_prob']}, static masks, `dupe_factor` {s['dupe_factor']}:
  {train_index['num_examples']:,} training examples from {train_index['statistics']['num_documents']:,} documents.
  Held-out set: the same settings on the held-out lines, `dupe_factor` {heldout_index['settings']['dupe_factor']}
  (other pairs and masks of the same held-out text): {heldout_index['num_examples']:,} examples from
  {heldout_index['statistics']['num_documents']:,} documents; each evaluation reads the first
  {training.max_eval_examples:,} of them (a random subset: shards are shuffled).

## Training

- `albert_pt.pretraining.pretrain`, loss = MLM + SOP; optimiser {training.optimizer.upper()} (no bias correction),
  peak learning rate {training.learning_rate:g}, linear warm-up over {training.warmup_steps} steps then linear decay
  to 0, weight decay {training.weight_decay}, gradient clipping at norm {training.clip_norm}, dropout 0.
- {training.total_steps:,} updates of {training.global_batch_size} examples: {examples_seen:,} examples seen
  ({epochs:.1f} epochs of the training examples).
- Wall time: {wall_seconds / 60:.1f} min of training (evaluations included) on {machine}, float32.

{CHOICES}

## Results (held-out text)

Full held-out evaluation of the shipped weights (step {final.get('step')}, all {heldout_index['num_examples']:,}
held-out examples): **MLM accuracy {final_eval['eval_mlm_accuracy']:.3f}** (loss {final_eval['eval_mlm_loss']:.3f}),
**SOP accuracy {final_eval['eval_sop_accuracy']:.3f}** (loss {final_eval['eval_sop_loss']:.3f}). MLM accuracy is over
the masked positions (n-gram masks; 80% `[MASK]`, 10% random, 10% kept); SOP chance is 0.5. {targets}

Periodic evaluations during training (first {training.max_eval_examples:,} held-out examples; best SOP
{best_sop.get('eval_sop_accuracy', float('nan')):.3f} at step {best_sop.get('step')}):

{chr(10).join(table)}

![training curves]({plot_relative})

The curves (training losses; held-out MLM and SOP accuracy) are `docs/_static/default_model_curves.png`; the full
history is written to `history.csv` in the run directory.
"""
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR, help="data, checkpoints, logs")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the model is shipped")
    parser.add_argument("--plot-out", type=Path, default=DEFAULT_PLOT)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--max-seq-length", type=int, default=64)
    parser.add_argument("--dupe-factor", type=int, default=10)
    parser.add_argument("--heldout-dupe-factor", type=int, default=3)
    parser.add_argument("--optimizer", choices=("lamb", "adamw"), default="adamw")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=7200)
    parser.add_argument("--warmup", type=float, default=0.05, help="warm-up steps as a share of --steps")
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--max-eval-examples", type=int, default=3200, help="held-out examples per evaluation")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--model", action="append", default=[], metavar="KEY=VALUE",
                        help="override one setting of CONFIG (the architecture), e.g. --model hidden_size=256")
    parser.add_argument("--workers", type=int, default=2, help="processes building the examples (same bytes for any)")
    parser.add_argument("--time-budget", type=float, default=None, metavar="MINUTES",
                        help="choose --steps to fit this many minutes of training, from a 100-step speed trial")
    parser.add_argument("--train-name", default="final", help="sub-directory of --run-dir for this run")
    parser.add_argument("--no-install", action="store_true", help="train only; do not write --out or --plot-out")
    args = parser.parse_args()
    for item in args.model:
        key, _, value = item.partition("=")
        if key not in CONFIG or not value:
            raise SystemExit(f"--model expects KEY=VALUE with KEY one of {sorted(CONFIG)}, got {item!r}")
        CONFIG[key] = type(CONFIG[key])(value)

    import torch

    torch.set_num_threads(args.threads)
    run = args.run_dir
    run.mkdir(parents=True, exist_ok=True)
    tokenizer, train_dir, heldout_dir, info = prepare_data(args, run)
    train_index, heldout_index = read_index(train_dir), read_index(heldout_dir)
    log(f"{train_index['num_examples']:,} training examples, {heldout_index['num_examples']:,} held-out examples")

    AlbertConfig(**CONFIG).save_pretrained(run / "model_config", architectures=["AlbertForPreTraining"])
    model_config = run / "model_config" / "config.json"

    def training_config(name: str, steps: int, eval_every: int) -> TrainingConfig:
        return TrainingConfig(
            data=str(train_dir), heldout=str(heldout_dir), out=str(run / name), model_config=str(model_config),
            backend="pt", optimizer=args.optimizer, learning_rate=args.learning_rate, total_steps=steps,
            warmup_steps=max(1, round(args.warmup * steps)), global_batch_size=args.batch_size, weight_decay=0.01,
            clip_norm=1.0, eval_every=eval_every, save_every=max(eval_every, 1000), seed=args.seed,
            max_eval_examples=args.max_eval_examples, resume="auto", keep_checkpoints=1, log_every=50)

    from albert_pt.pretraining import DistributedContext, evaluate, pretrain

    if args.time_budget is not None:
        # steady-state seconds per update from steps 50-100 of a throw-away run (the first steps include warm-up)
        speed_name = f"{args.train_name}_speed"
        shutil.rmtree(run / speed_name, ignore_errors=True)
        log(f"speed trial: 100 updates of {args.batch_size} examples")
        pretrain(training_config(speed_name, 100, eval_every=0))
        elapsed = {r["step"]: r["elapsed_seconds"] for r in read_history_csv(run / speed_name / HISTORY_CSV_FILE)}
        per_step = (elapsed[100] - elapsed[50]) / 50
        # evaluations and checkpoints cost ~5% more; keep a margin
        args.steps = max(100, int(args.time_budget * 60 / (per_step * 1.08)) // 100 * 100)
        log(f"{per_step * 1000:.1f} ms per update: {args.steps} updates fit {args.time_budget:g} min")
        shutil.rmtree(run / speed_name, ignore_errors=True)

    out = run / args.train_name
    training = training_config(args.train_name, args.steps, args.eval_every)
    (run / f"{args.train_name}_training_config.json").write_text(json.dumps(training.to_dict(), indent=1) + "\n")
    log(f"pre-training: {training.optimizer} lr {training.learning_rate:g}, batch {training.global_batch_size}, "
        f"{training.total_steps} steps, warm-up {training.warmup_steps}, {torch.get_num_threads()} threads")
    from albert_pt import AlbertForPreTraining

    summary = pretrain(training)
    rows = read_history_csv(out / HISTORY_CSV_FILE)
    wall_seconds = max((r["elapsed_seconds"] or 0.0) for r in rows)
    log(f"done: step {summary['step']}, {wall_seconds / 60:.1f} min of training, last eval {summary['eval']}")
    if args.no_install:
        return

    checkpoint = latest_checkpoint(out)  # the run's last checkpoint (also when an earlier call finished training)
    model = AlbertForPreTraining.from_pretrained(checkpoint, strict=True)
    log(f"evaluating {checkpoint.name} on all {heldout_index['num_examples']:,} held-out examples")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    final_eval = evaluate(model.to(device), PretrainingDataset(heldout_dir), batch_size=args.batch_size,
                          max_examples=None, context=DistributedContext(device=device))
    model = model.cpu()
    log(f"held-out: MLM accuracy {final_eval['eval_mlm_accuracy']:.4f}, SOP accuracy "
        f"{final_eval['eval_sop_accuracy']:.4f}")
    (run / f"{args.train_name}_final_eval.json").write_text(json.dumps(final_eval, indent=1) + "\n")
    staging = Path(tempfile.mkdtemp(prefix="default_model.", dir=run))
    model.save_pretrained(staging, dtype="float32")
    tokenizer.save_pretrained(staging)
    # the card links the plot where both are shipped, wherever this run wrote them
    plot_relative = os.path.relpath(DEFAULT_PLOT, DEFAULT_OUT)
    write_card(staging / "README.md", args=args, info=info, train_index=train_index, heldout_index=heldout_index,
               training=training, rows=rows, wall_seconds=wall_seconds, machine=machine_description(),
               plot_relative=plot_relative, final_eval=final_eval)
    for path in staging.iterdir():
        path.chmod(0o644)  # package data: readable by everyone
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(staging, args.out)
    args.out.chmod(0o755)  # the staging directory was private (mkdtemp)
    shutil.rmtree(staging)
    plot = out / HISTORY_PLOT_FILE
    if plot.is_file():
        args.plot_out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(plot, args.plot_out)
        args.plot_out.chmod(0o644)
    total = sum(p.stat().st_size for p in args.out.iterdir())
    log(f"wrote {args.out} ({total / 1e6:.2f} MB): {sorted(p.name for p in args.out.iterdir())}")


if __name__ == "__main__":
    main()
