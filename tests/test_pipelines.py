"""Pipelines (issue 12, item 3) and ``albert predict`` (item 6) against transformers' pipelines.

Oracles: ``transformers.pipeline(task, model=AlbertFor...from_pretrained(dir), tokenizer=...)`` on the same
checkpoint and texts (the slow tokenizer for fill-mask, text classification and feature extraction; the fast one,
which the token-classification and question-answering pipelines need for offsets, on texts where its ids equal the
slow ones). Multiple choice has no transformers pipeline: its oracle is ``transformers.AlbertForMultipleChoice`` on
rows built by transformers' slow tokenizer, with a softmax. Fill-mask and feature extraction run the shipped default
model; the other tasks tiny randomly initialised head models on its tokenizer. Both backends are held to the same
oracle, so they agree with each other too.

transformers' fast ALBERT tokenizer counts the space before a word into the word's first piece; ours starts offsets
at the word's first character, so ``start`` may sit after the oracle's over white space only, and QA answers equal
the oracle's with that white space stripped.
"""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np
import pytest

from albert_core import AlbertConfig, AlbertTokenizer, Head
from albert_core.errors import InputError, UsageError
from albert_core.filenames import DEFAULT_MODEL_DIR
from albert_core.pipelines import make_pipeline, run_batched

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")
from transformers.utils import logging as hf_logging  # noqa: E402

hf_logging.set_verbosity_error()

import albert_pt  # noqa: E402
import albert_tf  # noqa: E402

BACKENDS = {"pt": albert_pt.pipeline, "tf": albert_tf.pipeline}
NER_LABELS = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC"}
TEXTS = [
    "My lord, the king is come.",
    "O Romeo, Romeo! wherefore art thou Romeo?",
    "Deny thy father and refuse thy name; or, if thou wilt not, be but sworn my love.",
    "Good night, good night!",
    "What, my dear lady Disdain! are you yet living?",
]
CONTEXT = ("My lord, the king is come to Rome; and he sat on his throne a thousand years ago. O Romeo, Romeo! "
           "wherefore art thou Romeo? Deny thy father and refuse thy name; or, if thou wilt not, be but sworn my "
           "love, and I'll no longer be a Capulet.")
QUESTIONS = ["Who sat on the throne?", "What is the name of the lady?", "Where is the king?"]


# ---------------------------------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def tok() -> AlbertTokenizer:
    return AlbertTokenizer.from_pretrained(DEFAULT_MODEL_DIR)


@pytest.fixture(scope="module")
def slow():
    return transformers.AlbertTokenizer.from_pretrained(DEFAULT_MODEL_DIR)


@pytest.fixture(scope="module")
def fast():
    return transformers.AlbertTokenizerFast.from_pretrained(DEFAULT_MODEL_DIR)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, tok):
    """Tiny random checkpoints (initializer_range 0.5, so that scores are spread out) on the default tokenizer."""
    root = tmp_path_factory.mktemp("pipelines")
    made = {}
    for name, head, extra in (
        ("text", Head.SEQUENCE_CLASSIFICATION, {"id2label": {0: "sad", 1: "glad", 2: "mad"}}),
        ("regression", Head.SEQUENCE_CLASSIFICATION, {"num_labels": 1, "problem_type": "regression"}),
        ("ner", Head.TOKEN_CLASSIFICATION, {"id2label": NER_LABELS}),
        ("qa", Head.QUESTION_ANSWERING, {}),
        ("mc", Head.MULTIPLE_CHOICE, {}),
    ):
        config = AlbertConfig(vocab_size=2000, embedding_size=8, hidden_size=16, num_hidden_layers=1,
                              num_attention_heads=2, intermediate_size=32, max_position_embeddings=128,
                              initializer_range=0.5, **extra)
        torch.manual_seed(len(made))
        directory = root / name
        albert_pt.MODEL_CLASSES[head](config).save_pretrained(directory)
        tok.save_pretrained(directory)
        made[name] = directory
    return made


_PIPES: dict = {}


def ours(backend: str, task: str, model=None, **kw):
    key = (backend, task, str(model), tuple(sorted(kw.items())))
    if key not in _PIPES:
        _PIPES[key] = BACKENDS[backend](task, model, **kw)
    return _PIPES[key]


_THEIRS: dict = {}


def theirs(task: str, model_class: str, directory, tokenizer):
    """transformers' pipeline, with its answers cached: both backends are held to the same calls."""
    key = (task, str(directory))
    if key not in _THEIRS:
        model = getattr(transformers, model_class).from_pretrained(directory)
        pipe = transformers.pipeline(task, model=model, tokenizer=tokenizer, framework="pt")
        cache: dict = {}

        def call(inputs=None, **kw):
            ask = json.dumps([inputs, kw], sort_keys=True)
            if ask not in cache:
                cache[ask] = pipe(inputs, **kw) if inputs is not None else pipe(**kw)
            return cache[ask]

        _THEIRS[key] = call
    return _THEIRS[key]


def agree(slow, fast, *texts) -> None:
    """Every text tokenizes alike in transformers' slow and fast tokenizers (where the fast one is an oracle)."""
    for text in texts:
        assert slow(text)["input_ids"] == fast(text)["input_ids"], text


def assert_same(got, expected, what="", atol=1e-5):
    """Equal structure, equal strings and ints, floats within ``atol`` (relative to their size)."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and set(got) == set(expected), f"{what}: keys {got} vs {expected}"
        for key in expected:
            assert_same(got[key], expected[key], f"{what}.{key}", atol)
    elif isinstance(expected, (list, tuple)):
        assert isinstance(got, list) and len(got) == len(expected), f"{what}: {got} vs {expected}"
        for k, (a, b) in enumerate(zip(got, expected)):
            assert_same(a, b, f"{what}[{k}]", atol)
    elif isinstance(expected, float):
        assert isinstance(got, float) and abs(got - expected) <= atol * max(1.0, abs(expected)), \
            f"{what}: {got} vs {expected}"
    else:
        assert type(got) is type(expected) and got == expected, f"{what}: {got!r} vs {expected!r}"


def assert_spans_match(got: dict, expected: dict, text: str, what: str) -> None:
    """Our span equals the fast tokenizer's but for the white space it counts into a word's first piece."""
    assert got["end"] == expected["end"], what
    assert expected["start"] <= got["start"] and text[expected["start"]:got["start"]].strip() == "", what


# ---------------------------------------------------------------------------------------------------------------------
# each task against transformers


@pytest.mark.parametrize("backend", BACKENDS)
def test_fill_mask_matches_transformers(backend, slow):
    texts = ["My lord, the [MASK] is come.", "O Romeo, [MASK]! wherefore art thou Romeo?",
             "Good [MASK], good [MASK]!"]
    reference = theirs("fill-mask", "AlbertForMaskedLM", DEFAULT_MODEL_DIR, slow)
    pipe = ours(backend, "fill-mask")
    got, expected = pipe(texts), reference(texts)
    assert_same(got[:2], expected[:2], "top 5")
    # several masks: transformers writes the special tokens into "sequence" then; ours skips them as for one mask
    for a, b in zip(got[2], expected[2]):
        assert_same([{**f, "sequence": ""} for f in a], [{**f, "sequence": ""} for f in b], "two masks")
    ids = slow(texts[2])["input_ids"]
    for number, position in enumerate(k for k, i in enumerate(ids) if i == slow.mask_token_id):
        fill = got[2][number][0]
        filled = ids[:position] + [fill["token"]] + ids[position + 1:]
        assert fill["sequence"] == slow.decode(filled, skip_special_tokens=True)
    assert_same(pipe(texts[0], top_k=2, targets=["king", "lord", "queen"]),
                reference(texts[0], top_k=2, targets=["king", "lord", "queen"]), "targets")


@pytest.mark.parametrize("backend", BACKENDS)
def test_text_classification_matches_transformers(backend, checkpoints, slow):
    reference = theirs("text-classification", "AlbertForSequenceClassification", checkpoints["text"], slow)
    pipe = ours(backend, "text-classification", checkpoints["text"])
    pair = {"text": TEXTS[0], "text_pair": TEXTS[1]}
    assert_same(pipe(TEXTS[0]), reference(TEXTS[0]), "one text")  # [{label, score}]
    assert_same(pipe(TEXTS), reference(TEXTS), "texts")
    assert_same(pipe(pair), reference(pair), "pair")
    assert_same(pipe([pair, TEXTS[2]], top_k=None), reference([pair, TEXTS[2]], top_k=None), "all labels")
    assert_same(pipe(TEXTS[3], top_k=2, function_to_apply="sigmoid"),
                reference(TEXTS[3], top_k=2, function_to_apply="sigmoid"), "sigmoid")
    assert len({round(r["score"], 6) for r in pipe(TEXTS)}) == len(TEXTS)  # the model is not constant
    regression = theirs("text-classification", "AlbertForSequenceClassification", checkpoints["regression"], slow)
    assert_same(ours(backend, "text-classification", checkpoints["regression"])(TEXTS), regression(TEXTS),
                "regression")  # raw value, no function applied


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("aggregation", ["none", "simple"])
def test_token_classification_matches_transformers(backend, aggregation, checkpoints, slow, fast):
    agree(slow, fast, *TEXTS)
    reference = theirs("token-classification", "AlbertForTokenClassification", checkpoints["ner"], fast)
    pipe = ours(backend, "token-classification", checkpoints["ner"])
    got = pipe(TEXTS, aggregation_strategy=aggregation)
    expected = reference(TEXTS, aggregation_strategy=aggregation)
    assert sum(map(len, expected)) > 5
    for text, entities, ref_entities in zip(TEXTS, got, expected):
        assert len(entities) == len(ref_entities), text
        for k, (a, b) in enumerate(zip(entities, ref_entities)):
            assert_spans_match(a, b, text, f"{text} entity {k}")
            assert_same({**a, "start": 0}, {**{key: v.item() if hasattr(v, "item") else v for key, v in b.items()},
                                             "start": 0}, f"{text} entity {k}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_question_answering_matches_transformers(backend, checkpoints, slow, fast):
    agree(slow, fast, CONTEXT, *QUESTIONS)
    reference = theirs("question-answering", "AlbertForQuestionAnswering", checkpoints["qa"], fast)
    pipe = ours(backend, "question-answering", checkpoints["qa"])
    windows = dict(max_seq_len=40, doc_stride=10)  # the context takes five windows
    for options in ({}, {"top_k": 3, "handle_impossible_answer": True}, {"top_k": 2, "max_answer_len": 3}):
        for question in QUESTIONS[:2]:
            got = pipe(question=question, context=CONTEXT, **windows, **options)
            expected = reference(question=question, context=CONTEXT, **windows, **options)
            got, expected = (got, expected) if isinstance(got, list) else ([got], [expected])
            assert len(got) == len(expected)
            for a, b in zip(got, expected):
                assert a["answer"] == b["answer"].strip()
                assert abs(a["score"] - b["score"]) <= 1e-5 * max(1.0, b["score"])
                if b["answer"]:
                    assert_spans_match(a, b, CONTEXT, question)
                else:
                    assert (a["start"], a["end"]) == (0, 0)
    # default windows (max_seq_len = min(128, 384), doc_stride 64) and the dict input form, batched
    items = [{"question": q, "context": CONTEXT} for q in QUESTIONS]
    for a, b in zip(pipe(items), reference(items)):
        assert a["answer"] == b["answer"].strip() and abs(a["score"] - b["score"]) <= 1e-5


@pytest.mark.parametrize("backend", BACKENDS)
def test_multiple_choice_matches_transformers_model(backend, checkpoints, slow):
    model = transformers.AlbertForMultipleChoice.from_pretrained(checkpoints["mc"]).eval()
    items = [{"question": "The king is _ .", "options": ["come", "gone", "dead", "asleep"], "context": TEXTS[0]},
             {"question": "Who is Romeo?", "options": ["a lord", "a king"], "context": TEXTS[1]}]
    # RACE rows, written out by hand: [CLS] context [SEP] question with the option in its blank (or after it) [SEP]
    seconds = [["The king is come .", "The king is gone .", "The king is dead .", "The king is asleep ."],
               ["Who is Romeo? a lord", "Who is Romeo? a king"]]
    got = ours(backend, "multiple-choice", checkpoints["mc"])(items)
    for item, second, result in zip(items, seconds, got):
        batch = slow([item["context"]] * len(second), second, padding=True, return_tensors="pt")
        with torch.no_grad():
            logits = model(**{k: v[None] for k, v in batch.items()}).logits[0].double()
        probs = torch.softmax(logits, -1).tolist()
        best = int(np.argmax(probs))
        assert_same(result, {"answer": item["options"][best], "index": best, "score": probs[best], "scores": probs})


@pytest.mark.parametrize("backend", BACKENDS)
def test_feature_extraction_matches_transformers(backend, slow):
    reference = theirs("feature-extraction", "AlbertModel", DEFAULT_MODEL_DIR, slow)
    pipe = ours(backend, "feature-extraction")
    got, expected = pipe(TEXTS[:2]), reference(TEXTS[:2])
    for a, b in zip(got, expected):
        assert np.shape(a) == np.shape(b) and np.shape(a)[0] == 1
        np.testing.assert_allclose(a, b, atol=1e-4)
    tensor = pipe(TEXTS[0], return_tensors=True)
    assert isinstance(tensor, np.ndarray) and tensor.shape == np.shape(got[0])


# ---------------------------------------------------------------------------------------------------------------------
# batching


def _calls(task, inputs, checkpoint, **options):
    """Results of one batched call (batch_size 2, so several batches) and of one call per input; the batches' real
    lengths in the order the runner saw them."""
    pipe = albert_pt.pipeline(task, checkpoint, batch_size=2)
    lengths = []
    runner = pipe.runner

    def recording(batch):
        lengths.append(batch["attention_mask"].reshape(len(batch["input_ids"]), -1, batch["input_ids"].shape[-1])
                       .sum(-1).max(-1).tolist())
        return runner(batch)

    pipe.runner = recording
    batched = pipe(inputs, **options)
    seen = list(lengths)
    return batched, [pipe([item], **options)[0] for item in inputs], seen


@pytest.mark.parametrize("task, checkpoint, inputs", [
    ("fill-mask", None, ["my [MASK].", TEXTS[2].replace("father", "[MASK]"), "[MASK]",
                         TEXTS[4].replace("lady", "[MASK]")]),
    ("text-classification", "text", [TEXTS[2], TEXTS[3], {"text": TEXTS[0], "text_pair": TEXTS[4]}, TEXTS[1]]),
    ("token-classification", "ner", [TEXTS[2], TEXTS[0], TEXTS[4], TEXTS[3]]),
    ("question-answering", "qa", [{"question": q, "context": c} for q, c in
                                  zip(QUESTIONS, [CONTEXT, TEXTS[1], TEXTS[2]])]),
    ("multiple-choice", "mc", [{"question": "Who?", "options": ["a", "b c d e f"], "context": TEXTS[2]},
                               {"question": "Is he _ ?", "options": ["come", "gone"], "context": TEXTS[0]},
                               {"question": "Who?", "options": ["x", "y", "z"]}]),
    ("feature-extraction", None, [TEXTS[2], TEXTS[3], TEXTS[0]]),
])
def test_batched_calls_equal_single_calls_in_order(task, checkpoint, inputs, checkpoints):
    batched, single, lengths = _calls(task, inputs, checkpoints[checkpoint] if checkpoint else None)
    assert_same(batched, single, task, atol=1e-4)
    flat = [n for batch in lengths for n in batch]
    assert len(flat) >= len(inputs) and sum(len(b) > 1 for b in lengths) >= 1
    if task != "multiple-choice":  # rows are sorted by length (multiple choice: within each number of options)
        assert flat == sorted(flat)


def test_run_batched_sorts_pads_and_restores_order():
    seen = []

    def runner(batch):
        seen.append((batch["input_ids"].tolist(), batch["attention_mask"].tolist()))
        return {"hidden": batch["input_ids"][..., None] * 1.0, "pooled": batch["input_ids"].sum(-1) * 1.0}

    rows = [{"input_ids": [5, 6, 7]}, {"input_ids": [8]}, {"input_ids": [9, 9]}, {"input_ids": [4, 4, 4, 4]}]
    out = run_batched(runner, rows, batch_size=2, pad_token_id=0, token_outputs=("hidden",))
    assert seen == [([[8, 0], [9, 9]], [[1, 0], [1, 1]]), ([[5, 6, 7, 0], [4, 4, 4, 4]], [[1, 1, 1, 0], [1, 1, 1, 1]])]
    assert [o["hidden"][:, 0].tolist() for o in out] == [[5, 6, 7], [8], [9, 9], [4, 4, 4, 4]]
    assert [o["pooled"].item() for o in out] == [18, 8, 18, 16]


# ---------------------------------------------------------------------------------------------------------------------
# inputs, options and models that are wrong


def test_bad_inputs_and_options_raise(checkpoints, tok):
    fill = ours("pt", "fill-mask")
    with pytest.raises(InputError, match="no \\[MASK\\]"):
        fill("no mask here")
    with pytest.raises(InputError, match="more than the 128"):
        fill("the [MASK] " + "king " * 200)
    with pytest.raises(UsageError, match="no option 'top_n'"):
        fill("the [MASK]", top_n=3)
    with pytest.raises(UsageError, match="top_k must be a positive integer"):
        fill("the [MASK]", top_k=0)
    with pytest.raises(UsageError, match="unknown pipeline task 'summarization'"):
        albert_pt.pipeline("summarization")
    with pytest.raises(UsageError, match="needs model="):
        albert_pt.pipeline("question-answering")
    with pytest.raises(UsageError, match="needs a AlbertForQuestionAnswering, got AlbertForPreTraining"):
        albert_pt.pipeline("question-answering", fill.model, tok)
    with pytest.raises(UsageError, match="needs tokenizer="):
        albert_pt.pipeline("fill-mask", fill.model)
    with pytest.raises(UsageError, match="batch_size"):
        albert_pt.pipeline("fill-mask", batch_size=0)
    qa = ours("pt", "question-answering", checkpoints["qa"])
    with pytest.raises(InputError, match="question= and context="):
        qa(question="Who?")
    with pytest.raises(InputError, match="question', 'context'"):
        qa({"question": "Who?", "text": "x"})
    with pytest.raises(InputError, match="options must be a non-empty list"):
        ours("pt", "multiple-choice", checkpoints["mc"])({"question": "Who?", "options": "ab"})
    with pytest.raises(InputError, match="empty list"):
        ours("pt", "text-classification", checkpoints["text"])([])


def test_a_loaded_model_and_tokenizer_work_like_a_path(tok):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = albert_pt.AlbertForPreTraining.from_pretrained(DEFAULT_MODEL_DIR)
    loaded = albert_pt.pipeline("fill-mask", model, tok)
    assert_same(loaded("the [MASK] is come."), ours("pt", "fill-mask")("the [MASK] is come."))


def test_make_pipeline_runs_any_runner(tok):
    config = AlbertConfig.from_pretrained(DEFAULT_MODEL_DIR).copy(id2label={0: "no", 1: "yes"})

    def runner(batch):  # logits [tokens - 4, 0]: "yes" wins on rows of fewer than 4 tokens
        tokens = batch["attention_mask"].sum(1) - 4.0
        return {"logits": np.stack([tokens, np.zeros_like(tokens)], -1)}

    pipe = make_pipeline("sentiment-analysis", runner, tok, config, batch_size=1)
    assert [r["label"] for r in pipe(["lord", "my good lord the king"])] == ["yes", "no"]


# ---------------------------------------------------------------------------------------------------------------------
# albert predict


def _predict(argv, capsys):
    from albert_cli import predict_command

    parser = argparse.ArgumentParser(prog="albert")
    predict_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["predict", *argv])
    assert args.run(args) == 0
    return capsys.readouterr().out


def test_predict_command_prints_pipeline_results(checkpoints, tmp_path, capsys):
    out = _predict(["fill-mask", "default", "the [MASK] is come.", "--top-k", "2", "--json"], capsys)
    line = json.loads(out)
    assert line["input"] == "the [MASK] is come."
    assert_same(line["output"], ours("pt", "fill-mask")("the [MASK] is come.", top_k=2))

    out = _predict(["question-answering", str(checkpoints["qa"]), "--question", QUESTIONS[0], "--context", CONTEXT,
                    "--backend", "tf"], capsys)
    expected = ours("pt", "question-answering", checkpoints["qa"])(question=QUESTIONS[0], context=CONTEXT)
    assert out.splitlines()[0] == f"Q: {QUESTIONS[0]}" and repr(expected["answer"]) in out.splitlines()[1]

    lines = tmp_path / "inputs.jsonl"
    items = [{"text": TEXTS[0], "text_pair": TEXTS[1]}, {"text": TEXTS[2]}]
    lines.write_text("\n".join(json.dumps(i) for i in items) + "\n")
    out = _predict(["text-classification", str(checkpoints["text"]), TEXTS[3], "--input", str(lines), "--json",
                    "--top-k", "3", "--batch-size", "2"], capsys)
    got = [json.loads(line)["output"] for line in out.splitlines()]
    assert_same(got, ours("pt", "text-classification", checkpoints["text"])([TEXTS[3], items[0], TEXTS[2]], top_k=3))

    out = _predict(["multiple-choice", str(checkpoints["mc"]), "--question", "The king is _ .", "--options", "come",
                    "gone"], capsys)
    lines = out.splitlines()
    assert lines[0] == "The king is _ ." and sum(line.lstrip().startswith("*") for line in lines) == 1

    out = _predict(["token-classification", str(checkpoints["ner"]), TEXTS[0], "--aggregation-strategy", "simple"],
                   capsys)
    assert out.splitlines()[0] == TEXTS[0] and len(out.splitlines()) >= 2


def test_predict_command_rejects_bad_arguments(checkpoints, capsys):
    with pytest.raises(UsageError, match="no inputs"):
        _predict(["fill-mask", "default"], capsys)
    with pytest.raises(UsageError, match="--aggregation-strategy is not an option of fill-mask"):
        _predict(["fill-mask", "default", "the [MASK]", "--aggregation-strategy", "simple"], capsys)
    with pytest.raises(UsageError, match="both --question and --context"):
        _predict(["question-answering", str(checkpoints["qa"]), "--question", "Who?"], capsys)


def test_multiple_choice_warns_when_the_passage_is_cut(checkpoints):
    from albert_core.errors import AlbertWarning

    choose = ours("pt", "multiple-choice", checkpoints["mc"])
    item = {"question": "Who?", "options": ["a", "b"], "context": "the king " * 80}  # 160+ tokens, 128 fit
    with pytest.warns(AlbertWarning, match="context is cut"):
        result = choose(item)
    assert result["index"] in (0, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        choose({"question": "Who?", "options": ["a", "b"], "context": "the king"})
