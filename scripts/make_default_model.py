"""Generate the small default model shipped at ``albert_core/assets/default/`` (used by a bare ``albert check``).

The SentencePiece model is trained on the shared tiny-Shakespeare corpus (read from ``../shared/corpus``, never copied
into the repository); the weights are random (seeded, initialiser-range normal, unit LayerNorm scales, small random
biases so that every tensor matters in the parity check). Run from the repository root::

    python scripts/make_default_model.py [--corpus PATH] [--out DIR]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np

from albert_core import AlbertConfig
from albert_core.checkpoint import save_safetensors_checkpoint
from albert_core.tokenizer import AlbertTokenizer, train_sentencepiece
from albert_core.weights import Role, canonical_specs

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "tinyshakespeare.txt"
DEFAULT_OUT = ROOT / "albert_core" / "assets" / "default"

CONFIG = dict(vocab_size=2000, embedding_size=64, hidden_size=128, num_hidden_layers=4, num_hidden_groups=1,
              num_attention_heads=4, intermediate_size=512, inner_group_num=1, hidden_act="gelu_new",
              hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, classifier_dropout_prob=0.1,
              max_position_embeddings=128, type_vocab_size=2, num_labels=2)


def random_state(config: AlbertConfig, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    state = {}
    for name, spec in canonical_specs(config, "pretraining").items():
        if spec.role is Role.NORM_SCALE:
            array = 1.0 + 0.05 * rng.standard_normal(spec.shape)
        elif spec.role in (Role.BIAS, Role.NORM_SHIFT):
            array = 0.02 * rng.standard_normal(spec.shape)
        else:
            array = config.initializer_range * rng.standard_normal(spec.shape)
        state[name] = array.astype(np.float32)
    return state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    config = AlbertConfig(**CONFIG)
    with tempfile.TemporaryDirectory() as tmp:
        model = train_sentencepiece(args.corpus, tmp, vocab_size=config.vocab_size, num_threads=2)
        tokenizer = AlbertTokenizer(model, model_max_length=config.max_position_embeddings)
        if tokenizer.vocab_size != config.vocab_size:
            config = config.copy(vocab_size=tokenizer.vocab_size)
        if args.out.exists():
            shutil.rmtree(args.out)
        args.out.mkdir(parents=True)
        tokenizer.save_pretrained(args.out)
    save_safetensors_checkpoint(args.out, random_state(config), config, "pretraining")
    for path in args.out.iterdir():
        path.chmod(0o644)  # package data: readable by everyone
    total = sum(p.stat().st_size for p in args.out.iterdir())
    print(f"wrote {args.out} ({total / 1e6:.2f} MB): {sorted(p.name for p in args.out.iterdir())}")


if __name__ == "__main__":
    main()
