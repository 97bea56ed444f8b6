"""``albert predict``: run a task's pipeline (:mod:`albert_core.pipelines`) on texts from the command line or a JSON
lines file, in PyTorch or TensorFlow.

Examples::

    albert predict fill-mask default "My lord, the [MASK] is come."
    albert predict text-classification my_classifier/ "a fine play" "a dull one" --top-k 2 --json
    albert predict token-classification my_tagger/ "Romeo loves Juliet" --aggregation-strategy simple
    albert predict question-answering my_reader/ --question "Who is come?" --context "My lord, the king is come."
    albert predict multiple-choice my_chooser/ --question "The king is _ ." --options come gone --context "..."
    albert predict question-answering my_reader/ --input questions.jsonl --backend tf --batch-size 16
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from albert_core.errors import InputError, UsageError
from albert_core.filenames import DEFAULT_MODEL_DIR
from albert_core.pipelines import TASK_ALIASES, TASKS, check_task

#: Command-line options passed to the pipeline when given: flag -> (pipeline option, tasks that take it).
_OPTIONS = {
    "top_k": ("top_k", ("fill-mask", "text-classification", "question-answering")),
    "targets": ("targets", ("fill-mask",)),
    "function_to_apply": ("function_to_apply", ("text-classification",)),
    "aggregation_strategy": ("aggregation_strategy", ("token-classification",)),
    "doc_stride": ("doc_stride", ("question-answering",)),
    "max_answer_len": ("max_answer_len", ("question-answering",)),
    "max_seq_len": ("max_seq_len", ("question-answering",)),
    "handle_impossible_answer": ("handle_impossible_answer", ("question-answering",)),
}


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add ``predict`` to the ``albert`` command line."""
    cmd = subparsers.add_parser(
        "predict", help="run a task (fill-mask, classification, NER, QA, multiple choice, features) on texts",
        description="Run the TASK pipeline of the checkpoint MODEL_DIR on each TEXT (or on the JSON lines of "
                    "--input, one object per input with the pipeline's field names: text/text_pair, "
                    "question/context, question/options/context) and print the results, one block (or with "
                    "--json one JSON line) per input. MODEL_DIR 'default' is the small model shipped with "
                    "albert-lite (fill-mask and feature-extraction).")
    cmd.add_argument("task", metavar="TASK", choices=[*TASKS, *TASK_ALIASES],
                     help=f"one of {', '.join(TASKS)}")
    cmd.add_argument("model", metavar="MODEL_DIR", help="checkpoint directory (or 'default')")
    cmd.add_argument("texts", nargs="*", metavar="TEXT", help="input texts (text tasks)")
    cmd.add_argument("--input", default=None, metavar="FILE",
                     help="JSON lines file of inputs ('-' for standard input)")
    cmd.add_argument("--question", default=None, help="question (question-answering, multiple-choice)")
    cmd.add_argument("--context", default=None, help="context passage (question-answering, multiple-choice)")
    cmd.add_argument("--options", nargs="+", default=None, metavar="OPTION", help="answer options (multiple-choice)")
    cmd.add_argument("--tokenizer", default=None,
                     help="tokenizer directory or spiece.model (default: the one in MODEL_DIR)")
    cmd.add_argument("--backend", choices=("pt", "tf"), default="pt", help="framework to run (default: pt)")
    cmd.add_argument("--batch-size", type=int, default=8, help="inputs per forward pass (default: 8)")
    cmd.add_argument("--json", action="store_true", help="print one JSON object per input: {input, output}")
    cmd.add_argument("--top-k", type=int, default=None, help="results per input (fill-mask, classification, QA)")
    cmd.add_argument("--targets", nargs="+", default=None, help="fill-mask: only score these candidate words")
    cmd.add_argument("--function-to-apply", choices=("softmax", "sigmoid", "none"), default=None,
                     help="text-classification scores (default: by the model's labels and problem type)")
    cmd.add_argument("--aggregation-strategy", choices=("none", "simple", "first", "average", "max"), default=None,
                     help="token-classification grouping (default: none, one entry per token)")
    cmd.add_argument("--doc-stride", type=int, default=None, help="QA: tokens shared by consecutive windows")
    cmd.add_argument("--max-answer-len", type=int, default=None, help="QA: longest answer in tokens (default 15)")
    cmd.add_argument("--max-seq-len", type=int, default=None, help="QA: tokens per window (default: up to 384)")
    cmd.add_argument("--handle-impossible-answer", action="store_true", default=None,
                     help="QA: allow the empty answer")
    cmd.set_defaults(run=run_predict)


def _read_jsonl(source: str) -> list[Any]:
    if source == "-":
        lines = sys.stdin.read().splitlines()
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"no input file {path}")
        lines = path.read_text(encoding="utf-8").splitlines()
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except ValueError as exc:
            raise InputError(f"{source}, line {number}: not JSON ({exc})") from None
    if not items:
        raise InputError(f"{source} holds no inputs")
    return items


def gather_inputs(task: str, args: argparse.Namespace) -> list[Any]:
    """The pipeline inputs the arguments name, in order: the TEXTs or --question/--context/--options, then the
    lines of --input."""
    task = check_task(task)
    items: list[Any] = []
    if task in ("question-answering", "multiple-choice"):
        if args.texts:
            raise UsageError(f"{task} takes --question/--context{'/--options' if task == 'multiple-choice' else ''} "
                             "or --input, not TEXT arguments")
        if task == "question-answering" and (args.question is not None or args.context is not None):
            if args.question is None or args.context is None:
                raise UsageError("question-answering needs both --question and --context")
            items.append({"question": args.question, "context": args.context})
        if task == "multiple-choice" and (args.question is not None or args.options is not None):
            if args.question is None or args.options is None:
                raise UsageError("multiple-choice needs --question and --options (and optionally --context)")
            item = {"question": args.question, "options": args.options}
            if args.context is not None:
                item["context"] = args.context
            items.append(item)
    else:
        if args.question is not None or args.context is not None or args.options is not None:
            raise UsageError(f"--question, --context and --options are for question-answering and multiple-choice, "
                             f"not {task}")
        items.extend(args.texts)
    if args.input is not None:
        for k, item in enumerate(_read_jsonl(args.input)):
            if task in ("fill-mask", "token-classification", "feature-extraction") and isinstance(item, dict):
                if set(item) != {"text"}:
                    raise InputError(f"{args.input}, input {k + 1}: {task} takes {{'text': ...}} objects, got keys "
                                     f"{sorted(item)}")
                item = item["text"]
            if task == "text-classification" and isinstance(item, dict) and set(item) == {"text"}:
                item = item["text"]
            items.append(item)
    if not items:
        raise UsageError(f"no inputs: give TEXT arguments, --input FILE"
                         f"{' or --question/--context' if task == 'question-answering' else ''}")
    return items


def _options(task: str, args: argparse.Namespace) -> dict[str, Any]:
    options = {}
    for flag, (name, tasks) in _OPTIONS.items():
        value = getattr(args, flag)
        if value is None:
            continue
        if task not in tasks:
            raise UsageError(f"--{flag.replace('_', '-')} is not an option of {task}")
        options[name] = value
    return options


def _describe(task: str, item: Any, result: Any) -> list[str]:
    """Human-readable lines for one input and its result."""
    if task == "question-answering":
        lines = [f"Q: {item['question']}"]
        for answer in result if isinstance(result, list) else [result]:
            lines.append(f"  {answer['score']:.3f}  {answer['answer']!r}  [{answer['start']}:{answer['end']}]")
        return lines
    if task == "multiple-choice":
        lines = [item["question"]]
        for k, (option, score) in enumerate(zip(item["options"], result["scores"])):
            mark = "*" if k == result["index"] else " "
            lines.append(f"  {mark} {score:.3f}  {option}")
        return lines
    lines = [item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)]
    if task == "fill-mask":
        masks = result if result and isinstance(result[0], list) else [result]
        for number, fills in enumerate(masks):
            lines.append(f"  [MASK] {number + 1}:")
            lines.extend(f"    {f['score']:.3f}  {f['token_str']:<14} {f['sequence']}" for f in fills)
    elif task == "text-classification":
        for entry in result if isinstance(result, list) else [result]:
            lines.append(f"  {entry['score']:.3f}  {entry['label']}")
    elif task == "token-classification":
        if not result:
            lines.append("  (no entities)")
        for entity in result:
            label = entity.get("entity_group", entity.get("entity"))
            span = f"[{entity['start']}:{entity['end']}]"
            lines.append(f"  {entity['score']:.3f}  {label:<10} {entity['word']!r}  {span}")
    else:  # feature-extraction
        import numpy as np

        hidden = np.asarray(result)
        lines.append(f"  shape {list(hidden.shape)}, mean {hidden.mean():+.4f}, first token "
                     f"{np.array2string(hidden[0, 0, :4], precision=4)}...")
    return lines


def run_predict(args: argparse.Namespace) -> int:
    """Run ``albert predict`` with parsed ``args``; prints the results, returns the exit code 0."""
    task = check_task(args.task)
    items = gather_inputs(task, args)
    options = _options(task, args)
    model = Path(args.model)
    if not model.exists() and args.model == "default":
        model = DEFAULT_MODEL_DIR
    if args.backend == "pt":
        from albert_pt import pipeline
    else:
        from albert_tf import pipeline
    pipe = pipeline(task, model, args.tokenizer, batch_size=args.batch_size)
    results = pipe(items, **options)
    for item, result in zip(items, results):
        if args.json:
            print(json.dumps({"input": item, "output": result}, ensure_ascii=False))
        else:
            print("\n".join(_describe(task, item, result)))
    return 0
