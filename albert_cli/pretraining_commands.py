"""``albert pretrain-data`` and ``albert train-spm``: build ALBERT pre-training data and its SentencePiece model.

Examples::

    albert train-spm wiki.txt books.txt spm/ --vocab-size 30000
    albert pretrain-data wiki.txt books.txt data/ --spm spm/ --max-seq-length 512 --max-predictions 20 --workers 8
    albert pretrain-data wiki.txt data_dyn/ --spm spm/spiece.model --dynamic-masking

:func:`add_commands` adds both to an ``argparse`` sub-parser set; each command's ``run`` function (set as the
``run`` default) takes the parsed arguments and returns the exit status.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from albert_core.errors import AlbertError
from albert_core.pretraining import build_pretraining_data
from albert_core.pretraining.builder import DEFAULT_DUPE_FACTOR, DEFAULT_EXAMPLES_PER_SHARD

DEFAULT_SEED = 12345
DEFAULT_VOCAB_SIZE = 30000  # the released ALBERT models' vocabulary size


def add_commands(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add ``pretrain-data`` and ``train-spm`` to ``subparsers`` (from ``parser.add_subparsers()``).

    >>> parser = argparse.ArgumentParser(prog="albert")
    >>> add_commands(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["pretrain-data", "a.txt", "b.txt", "out", "--spm", "spiece.model"])
    >>> args.inputs, args.out, args.max_seq_length, args.dupe_factor, args.run.__name__
    (['a.txt', 'b.txt'], 'out', 128, None, 'run_pretrain_data')
    """
    data = subparsers.add_parser(
        "pretrain-data", help="build ALBERT pre-training data (sentence-order pairs, n-gram masks)",
        description="Read the text files INPUT (documents separated by blank lines, one sentence or line per line), "
                    "cut them into sentence-order segment pairs and n-gram masks as the original ALBERT does, and "
                    "write sharded, memory-mappable .npy files with an index.json into the new directory OUT. The "
                    "output depends only on the inputs, the settings and --seed, never on --workers.")
    data.add_argument("inputs", nargs="+", metavar="INPUT", help="text files to read")
    data.add_argument("out", metavar="OUT", help="new (or empty) output directory")
    data.add_argument("--spm", required=True, metavar="MODEL",
                      help="SentencePiece model: a spiece.model file or a tokenizer directory")
    data.add_argument("--max-seq-length", type=int, default=128,
                      help="tokens per example, [CLS] and [SEP]s included (default: 128)")
    data.add_argument("--max-predictions", type=int, default=20,
                      help="most masked positions per example (default: 20)")
    data.add_argument("--masked-lm-prob", type=float, default=0.15,
                      help="share of maskable tokens to mask (default: 0.15)")
    data.add_argument("--ngram", type=int, default=3,
                      help="longest masked n-gram in whole words, P(n) proportional to 1/n (default: 3)")
    data.add_argument("--short-seq-prob", type=float, default=0.1,
                      help="share of pairs aimed at a random shorter length (default: 0.1)")
    data.add_argument("--dupe-factor", type=int, default=None,
                      help=f"passes over the data, each with new pairs and masks (default: {DEFAULT_DUPE_FACTOR}, "
                           "or 1 with --dynamic-masking)")
    data.add_argument("--seed", type=int, default=DEFAULT_SEED,
                      help=f"seed of every random choice (default: {DEFAULT_SEED})")
    data.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    data.add_argument("--examples-per-shard", type=int, default=DEFAULT_EXAMPLES_PER_SHARD,
                      help=f"examples per shard file (default: {DEFAULT_EXAMPLES_PER_SHARD})")
    data.add_argument("--dynamic-masking", action="store_true",
                      help="store unmasked pairs and mask them anew every epoch while reading (default: off)")
    data.add_argument("--overwrite", action="store_true", help="replace the data in a non-empty OUT (default: off)")
    data.add_argument("--quiet", action="store_true", help="no progress output (default: off)")
    data.set_defaults(run=run_pretrain_data)

    spm = subparsers.add_parser(
        "train-spm", help="train a SentencePiece model with ALBERT's settings",
        description="Train a SentencePiece unigram model on the lines of INPUT (pad=0, unk=1, [CLS]=2, [SEP]=3, "
                    "[MASK]=4, nmt_nfkc normalisation, as the released ALBERT models) and write OUT/spiece.model "
                    "with the tokenizer files next to it.")
    spm.add_argument("inputs", nargs="+", metavar="INPUT", help="text files, one sentence or line per line")
    spm.add_argument("out", metavar="OUT", help="output directory (created if needed)")
    spm.add_argument("--vocab-size", type=int, default=DEFAULT_VOCAB_SIZE,
                     help=f"pieces in the vocabulary (default: {DEFAULT_VOCAB_SIZE})")
    spm.add_argument("--max-lines", type=int, default=None,
                     help="train on the first non-empty lines only (default: all lines)")
    spm.add_argument("--character-coverage", type=float, default=0.99995,
                     help="share of characters the model must cover (default: 0.99995)")
    spm.add_argument("--byte-fallback", action="store_true",
                     help="encode unknown characters as bytes instead of <unk> (default: off)")
    spm.set_defaults(run=run_train_spm)


def run_pretrain_data(args: argparse.Namespace) -> int:
    """Run ``albert pretrain-data``; returns 0 on success, 2 on bad input."""
    from albert_core.tokenizer import AlbertTokenizer

    try:
        tokenizer = AlbertTokenizer.from_pretrained(args.spm)
        out = build_pretraining_data(
            [Path(p) for p in args.inputs], args.out, tokenizer, max_seq_length=args.max_seq_length,
            max_predictions_per_seq=args.max_predictions, masked_lm_prob=args.masked_lm_prob, max_ngram=args.ngram,
            short_seq_prob=args.short_seq_prob, dupe_factor=args.dupe_factor, seed=args.seed, workers=args.workers,
            examples_per_shard=args.examples_per_shard, dynamic_masking=args.dynamic_masking,
            overwrite=args.overwrite, progress=not args.quiet,
        )
    except (AlbertError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from albert_core.pretraining import read_index

    stats = read_index(out)["statistics"]
    print(f"wrote {stats['num_examples']} examples from {stats['num_documents']} documents to {out}")
    return 0


def run_train_spm(args: argparse.Namespace) -> int:
    """Run ``albert train-spm``; returns 0 on success, 2 on bad input."""
    from albert_core.tokenizer import AlbertTokenizer, train_sentencepiece

    try:
        missing = [p for p in args.inputs if not Path(p).is_file()]
        if missing:
            raise FileNotFoundError(f"no such text file: {', '.join(missing)}")
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        corpus = args.inputs[0] if len(args.inputs) == 1 else _lines_of(args.inputs)
        model = train_sentencepiece(corpus, out, vocab_size=args.vocab_size, max_lines=args.max_lines,
                                    byte_fallback=args.byte_fallback, character_coverage=args.character_coverage)
        # the tokenizer files make OUT loadable by AlbertTokenizer.from_pretrained and by transformers
        AlbertTokenizer(model).save_pretrained(out)
    except (AlbertError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {model}")
    return 0


def _lines_of(paths: list[str]) -> list[str]:
    return [line for path in paths for line in Path(path).read_text(encoding="utf-8").splitlines()]
