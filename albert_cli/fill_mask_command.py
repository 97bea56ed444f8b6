"""``albert fill-mask``: the most likely words for each ``[MASK]`` of a text, with any masked-LM checkpoint."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

import albert_core
from albert_core.filenames import DEFAULT_MODEL_DIR
from albert_core.heads import Head, head_from_architectures



def add_commands(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add ``fill-mask`` to the ``albert`` command line."""
    cmd = subparsers.add_parser(
        "fill-mask", help="fill the [MASK] tokens of a text with a masked-LM model",
        description="Print the most likely tokens for every [MASK] in each TEXT, with their probabilities and the "
                    "filled-in text. The model is a pre-training or masked-LM checkpoint (default: the small model "
                    "shipped with albert-lite, pre-trained on Shakespeare).")
    cmd.add_argument("texts", nargs="+", metavar="TEXT", help="text with one or more [MASK] tokens")
    cmd.add_argument("--model", default=None, help="checkpoint directory (default: the shipped model)")
    cmd.add_argument("--tokenizer", default=None,
                     help="tokenizer directory or spiece.model (default: the one in the model directory)")
    cmd.add_argument("--backend", choices=("pt", "tf"), default="pt", help="framework to run (default: pt)")
    cmd.add_argument("--top-k", type=int, default=5, help="fills per mask (default: 5)")
    cmd.add_argument("--targets", nargs="+", default=None, help="only score these candidate words")
    cmd.set_defaults(run=run_fill_mask)


def _load(directory: Path, backend: str) -> tuple[Any, Any]:
    from albert_core.loading import saved_architectures

    # the pre-training head when the checkpoint was saved with it, else the masked-LM head
    saved = head_from_architectures(saved_architectures(directory))
    head = Head.PRETRAINING if saved is Head.PRETRAINING else Head.MASKED_LM
    if backend == "pt":
        import albert_pt as backend_module
    else:
        import albert_tf as backend_module
    model = backend_module.MODEL_CLASSES[head].from_pretrained(directory)
    return model, head


def predict(model: Any, head: Head, tokenizer: Any, text: str, top_k: int, target_ids: list[int] | None,
            backend: str) -> list[list[dict[str, Any]]]:
    """Run ``model`` on ``text`` and return :func:`albert_core.tasks.fill_mask_predictions` for it."""
    from albert_core.tasks import fill_mask_predictions

    batch = tokenizer([text], return_tensors=backend)
    if backend == "pt":
        import torch

        with torch.no_grad():
            out = model(**batch)
    else:
        out = model(**batch)
    logits = out.prediction_logits if head is Head.PRETRAINING else out.logits
    logits = logits.detach().numpy() if hasattr(logits, "detach") else logits.numpy()
    ids = batch["input_ids"][0]
    ids = ids.tolist() if hasattr(ids, "tolist") else ids.numpy().tolist()
    return fill_mask_predictions(logits[0], ids, tokenizer.mask_token_id, tokenizer, top_k, target_ids)


def run_fill_mask(args: argparse.Namespace) -> int:
    from albert_core.tasks import resolve_targets

    directory = Path(args.model) if args.model else DEFAULT_MODEL_DIR
    tokenizer = albert_core.AlbertTokenizer.from_pretrained(args.tokenizer or directory)
    with warnings.catch_warnings():
        # a pre-training checkpoint's unused sentence-order head is no news to someone filling masks
        warnings.simplefilter("ignore")
        model, head = _load(directory, args.backend)
    target_ids = resolve_targets(tokenizer, args.targets) if args.targets else None
    for text in args.texts:
        print(text)
        for number, fills in enumerate(predict(model, head, tokenizer, text, args.top_k, target_ids, args.backend)):
            print(f"  [MASK] {number + 1}:")
            for fill in fills:
                print(f"    {fill['score']:.3f}  {fill['token_str']:<14} {fill['sequence']}")
    return 0
