"""Fill-mask with the shipped default model (no fine-tuning): hide one word piece of each of 200 lines of Tiny
Shakespeare and measure how often the model's best guess (top-1) or one of its five best (top-5) is right.

    python examples/demos/fill_mask.py --backend pt
    python examples/demos/fill_mask.py --backend tf
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from shakespeare_tasks import DEFAULT_CORPUS, read_corpus, speeches  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=("pt", "tf"), default="pt")
    p.add_argument("--corpus", default=str(DEFAULT_CORPUS))
    p.add_argument("--lines", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np

    from albert_core import AlbertTokenizer, Head
    from albert_core.filenames import DEFAULT_MODEL_DIR

    rng = random.Random(args.seed)
    lines = [line for _, block in speeches(read_corpus(args.corpus)) for line in block if len(line.split()) >= 5]
    lines = rng.sample(lines, args.lines)
    tokenizer = AlbertTokenizer.from_pretrained(DEFAULT_MODEL_DIR)
    rows, answers = [], []
    for line in lines:
        ids = tokenizer(line, truncation=True, max_length=64)["input_ids"]
        position = rng.randrange(1, len(ids) - 1)  # a piece between [CLS] and [SEP]
        answers.append(ids[position])
        rows.append(ids[:position] + [tokenizer.mask_token_id] + ids[position + 1:])
    width = max(len(r) for r in rows)
    input_ids = np.full((len(rows), width), tokenizer.pad_token_id, dtype=np.int64)
    mask = np.zeros_like(input_ids)
    for k, row in enumerate(rows):
        input_ids[k, :len(row)], mask[k, :len(row)] = row, 1
    started = time.perf_counter()
    if args.backend == "pt":
        import torch

        from albert_pt import MODEL_CLASSES
        model = MODEL_CLASSES[Head.PRETRAINING].from_pretrained(DEFAULT_MODEL_DIR)
        with torch.no_grad():
            logits = model(torch.from_numpy(input_ids), attention_mask=torch.from_numpy(mask)).prediction_logits.numpy()
    else:
        from albert_tf import MODEL_CLASSES
        model = MODEL_CLASSES[Head.PRETRAINING].from_pretrained(DEFAULT_MODEL_DIR)
        logits = np.asarray(model(input_ids, attention_mask=mask).prediction_logits)
    positions = input_ids == tokenizer.mask_token_id
    ranked = np.argsort(-logits[positions], axis=-1)[:, :5]
    gold = np.asarray(answers)
    top1 = float(np.mean(ranked[:, 0] == gold))
    top5 = float(np.mean((ranked == gold[:, None]).any(axis=1)))
    print(json.dumps({"demo": "fill_mask", "backend": args.backend, "lines": len(rows), "top1_accuracy": top1,
                      "top5_accuracy": top5, "seconds": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
