"""ALBERT pre-training data (albert_core.pretraining): the builder's statistics against the recipe, the on-disk format,
the readers, determinism and argument checks.

Statistical tolerances are 5 binomial standard deviations, sqrt(p (1 - p) / N) for N independent draws: a correct
builder fails such a check with probability below 1e-6 per check, and the seeds are fixed, so every run gives the
same numbers anyway; the bound only says how far from the recipe a value may sit before it means a bug.
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
from pathlib import Path

import numpy as np
import pytest

from albert_core import AlbertTokenizer, ConfigError, InputError, train_sentencepiece
from albert_core.pretraining import (
    IGNORE_INDEX,
    DynamicMasker,
    PretrainingDataset,
    build_pretraining_data,
    iter_document_texts,
    masking_recipe_from_index,
    read_examples,
    read_index,
)
from tests.conftest import SHAKESPEARE

CORPUS_LINES = 3000
MAX_SEQ_LENGTH = 128
MAX_PREDICTIONS = 20
LINES_PER_DOCUMENT = 40


def five_sigma(p: float, n: int) -> float:
    return 5.0 * np.sqrt(p * (1.0 - p) / n)


@pytest.fixture(scope="module")
def corpus_lines() -> list[str]:
    with SHAKESPEARE.open(encoding="utf-8") as handle:
        lines = [next(handle) for _ in range(CORPUS_LINES)]
    return [line.strip() for line in lines if line.strip()]


@pytest.fixture(scope="module")
def tokenizer(corpus_lines, tmp_path_factory) -> AlbertTokenizer:
    return AlbertTokenizer(train_sentencepiece(corpus_lines, tmp_path_factory.mktemp("spm"), vocab_size=1000))


@pytest.fixture(scope="module")
def long_documents(corpus_lines) -> list[str]:
    """Documents of 40 lines each, one string per document (as a datasets text column of articles would be)."""
    return ["\n".join(corpus_lines[i:i + LINES_PER_DOCUMENT]) for i in range(0, len(corpus_lines), LINES_PER_DOCUMENT)]


@pytest.fixture(scope="module")
def starts_word(tokenizer) -> np.ndarray:
    """The test's own word-start table: pieces beginning with '▁'."""
    pieces = [tokenizer.convert_ids_to_tokens(i) for i in range(len(tokenizer))]
    return np.array([piece.startswith("\u2581") for piece in pieces])


def load_all(path: Path, **kwargs) -> dict[str, np.ndarray]:
    dataset = PretrainingDataset(path, **kwargs)
    rows = [dataset[i] for i in range(len(dataset))]
    return {name: np.stack([row[name] for row in rows]) for name in rows[0]}


@pytest.fixture(scope="module")
def static_data(long_documents, tokenizer, tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    out = build_pretraining_data(long_documents, tmp_path_factory.mktemp("static"), tokenizer,
                                 max_seq_length=MAX_SEQ_LENGTH, max_predictions_per_seq=MAX_PREDICTIONS, dupe_factor=4,
                                 seed=1, examples_per_shard=300, one_document_per_item=True, progress=False)
    return out, load_all(out)


@pytest.fixture(scope="module")
def dynamic_data(long_documents, tokenizer, tmp_path_factory) -> Path:
    return build_pretraining_data(long_documents, tmp_path_factory.mktemp("dynamic"), tokenizer,
                                  max_seq_length=MAX_SEQ_LENGTH, max_predictions_per_seq=MAX_PREDICTIONS,
                                  dupe_factor=2, seed=2, examples_per_shard=300, dynamic_masking=True,
                                  one_document_per_item=True, progress=False)


def originals(data: dict[str, np.ndarray]) -> np.ndarray:
    return np.where(data["labels"] != IGNORE_INDEX, data["labels"], data["input_ids"])


def maskable(data: dict[str, np.ndarray], tokenizer) -> np.ndarray:
    structural = [tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id, tokenizer.mask_token_id]
    return ~np.isin(originals(data), structural)


def word_starts_of(data: dict[str, np.ndarray], tokenizer, starts_word: np.ndarray) -> np.ndarray:
    """Word starts as the recipe defines them: a '▁' piece, or the first token of a segment."""
    ids = originals(data)
    starts = starts_word[ids]
    after_special = np.isin(np.roll(ids, 1, axis=1), [tokenizer.cls_token_id, tokenizer.sep_token_id])
    return (starts | after_special) & maskable(data, tokenizer)


def check_mask_statistics(data: dict[str, np.ndarray], tokenizer) -> dict[str, float]:
    """The per-example budget and the 80/10/10 split; returns the measured values."""
    can_mask = maskable(data, tokenizer)
    masked = data["labels"] != IGNORE_INDEX
    assert not (masked & ~can_mask).any(), "a [CLS], [SEP] or padding position was masked"
    per_row = masked.sum(1)
    budget = np.minimum(MAX_PREDICTIONS, np.maximum(1, np.round(0.15 * can_mask.sum(1))))
    assert (per_row <= budget).all()
    # the greedy fill falls short of the budget only when every uncovered word is too long for what is left
    assert (per_row == budget).mean() > 0.9
    rate = masked.sum() / can_mask.sum()
    # round() adds at most 0.5 / (~100 maskable tokens) per example; a short fill takes away a few tokens
    assert 0.14 <= rate <= 0.156, rate

    inputs, labels = data["input_ids"][masked], data["labels"][masked]
    n = len(labels)
    as_mask = np.mean(inputs == tokenizer.mask_token_id)
    kept = np.mean(inputs == labels)
    replaced = 1.0 - as_mask - kept
    # a random token equals the original with probability ~1/995, so 'kept' is 0.1 + 0.1/995
    assert abs(as_mask - 0.8) <= five_sigma(0.8, n), as_mask
    assert abs(kept - 0.1) <= five_sigma(0.1, n) + 1e-3, kept
    assert abs(replaced - 0.1) <= five_sigma(0.1, n), replaced
    random_tokens = inputs[(inputs != labels) & (inputs != tokenizer.mask_token_id)]
    assert not np.isin(random_tokens, tokenizer.all_special_ids).any()
    return {"rate": float(rate), "mask": float(as_mask), "kept": float(kept), "random": float(replaced), "n": n}


def test_mask_rate_and_replacement_proportions(static_data, tokenizer):
    _, data = static_data
    stats = check_mask_statistics(data, tokenizer)
    # measured (seed 1, 1007 examples, 16103 masked positions): rate 0.1515, [MASK] 0.796, kept 0.105, random 0.099
    assert stats["n"] > 15000


def test_max_predictions_caps_the_mask(long_documents, tokenizer, tmp_path):
    out = build_pretraining_data(long_documents[:20], tmp_path, tokenizer, max_seq_length=MAX_SEQ_LENGTH,
                                 max_predictions_per_seq=5, dupe_factor=1, one_document_per_item=True, progress=False)
    data = load_all(out)
    per_row = (data["labels"] != IGNORE_INDEX).sum(1)
    assert per_row.max() == 5
    long_rows = maskable(data, tokenizer).sum(1) >= 40  # 15% of 40 = 6 > 5: the cap binds
    assert (per_row[long_rows] == 5).mean() > 0.9


def test_masks_cover_whole_words(static_data, tokenizer, starts_word):
    _, data = static_data
    masked = data["labels"] != IGNORE_INDEX
    starts = word_starts_of(data, tokenizer, starts_word)
    continuation = maskable(data, tokenizer) & ~starts
    # a span starting inside a word: a masked continuation piece whose left neighbour is not masked
    assert not (masked & continuation & ~np.roll(masked, 1, axis=1)).any()
    # a span ending inside a word: a masked piece whose right neighbour is an unmasked continuation piece
    assert not (masked & np.roll(continuation & ~masked, -1, axis=1)).any()
    # the corpus really has multi-piece words, and some of them are masked
    assert (masked & continuation).sum() > 500


def test_ngram_lengths_follow_one_over_n(dynamic_data):
    dataset = PretrainingDataset(dynamic_data, as_stored=True)
    recipe = masking_recipe_from_index(dataset.index)
    first_spans, drawn, used = [], [], []
    for index in range(len(dataset)):
        row = dataset[index]
        if row["attention_mask"].sum() < 64:
            continue  # a short pair's budget (under 10 tokens) cuts many 3-grams short: not the recipe's P(n)
        for epoch in range(8):
            spans = recipe.mask(np.asarray(row["input_ids"]), np.asarray(row["word_starts"]).astype(bool),
                                np.random.default_rng([9, epoch, index])).spans
            if spans:  # a tiny pair whose words all outgrow its budget of one token gets no mask
                first_spans.append(spans[0].num_words)
            drawn += [s.drawn_num_words for s in spans]
            used += [s.num_words for s in spans]
    expected = np.array([6, 3, 2]) / 11  # P(n) = (1/n) / (1 + 1/2 + 1/3)

    def shares(lengths: list[int]) -> np.ndarray:
        return np.bincount(lengths, minlength=4)[1:] / len(lengths)

    # The first span of an example is the cleanest sample of the recipe: nothing is covered yet and the budget
    # (10 to 20 tokens) holds nearly any 3-word n-gram; only a start among the last two words (~2 in ~90) has a
    # shorter window, so 0.02 of slack on top of 5 sigma (N = 8 epochs x ~430 pairs of 64 tokens or more).
    first = shares(first_spans)
    # (measured 0.537 / 0.276 / 0.187 over 3416 spans)
    assert np.all(np.abs(first - expected) <= five_sigma(0.5, len(first_spans)) + 0.02), first
    # Over all accepted spans the drawn n still follows 1/n; long n-grams are rejected a little more often for
    # overlapping earlier spans (measured 0.562 / 0.271 / 0.167).
    assert np.all(np.abs(shares(drawn) - expected) <= five_sigma(0.5, len(drawn)) + 0.02), shares(drawn)
    # The lengths used: the last span of each example is shortened to fit the budget, as in the original, which
    # moves about one span in nine to n = 1 (measured 0.649 / 0.238 / 0.114); the order of the shares stays.
    final = shares(used)
    assert max(used) == 3 and final[0] > final[1] > final[2], final
    assert np.all(np.array(used) <= np.array(drawn))


def test_sentence_order_labels_are_balanced(static_data):
    _, data = static_data
    labels = data["sentence_order_label"]
    assert set(np.unique(labels)) == {0, 1}
    assert abs(labels.mean() - 0.5) <= five_sigma(0.5, len(labels)), labels.mean()


@pytest.fixture(scope="module")
def disjoint_documents(tokenizer) -> tuple[list[str], dict[int, tuple[int, int]]]:
    """Eight documents, each of 50 single-piece words used once: every id names its document and its position."""
    words = sorted(p[1:] for p in tokenizer.get_vocab() if p.startswith("\u2581") and len(p) >= 3
                   and p[1:].isalpha() and p[1:].islower() and tokenizer.tokenize(p[1:]) == [p])
    assert len(words) >= 400
    rng = random.Random(0)
    rng.shuffle(words)
    lines, where = [], {}
    for document in range(8):
        group = words[document * 50:(document + 1) * 50]
        for position, word in enumerate(group):
            where[tokenizer.convert_tokens_to_ids("\u2581" + word)] = (document, position)
        cut = 0
        while cut < len(group):
            size = rng.randint(3, 7)
            lines.append(" ".join(group[cut:cut + size]))
            cut += size
        lines.append("")  # blank line: the next document begins
    return lines, where


def test_pairs_stay_in_one_document_and_swaps_are_real(disjoint_documents, tokenizer, tmp_path):
    lines, where = disjoint_documents
    out = build_pretraining_data(lines, tmp_path, tokenizer, max_seq_length=24, dupe_factor=30, seed=3,
                                 progress=False)
    data = load_all(out)
    ids = originals(data)
    for row in range(len(ids)):
        length = int(data["attention_mask"][row].sum())
        segment_one = [where[i] for i in ids[row, 1:length][data["token_type_ids"][row, 1:length] == 0][:-1]]
        segment_two = [where[i] for i in ids[row, 1:length][data["token_type_ids"][row, 1:length] == 1][:-1]]
        assert segment_one and segment_two
        assert len({doc for doc, _ in segment_one + segment_two}) == 1, "a pair mixes documents"
        one, two = [p for _, p in segment_one], [p for _, p in segment_two]
        # each segment is a contiguous stretch of its document ...
        assert one == list(range(one[0], one[-1] + 1)) and two == list(range(two[0], two[-1] + 1))
        # ... and the label says whether they are shown in document order (0) or swapped (1)
        if data["sentence_order_label"][row] == 0:
            assert one[-1] < two[0]
        else:
            assert two[-1] < one[0]
    assert abs(data["sentence_order_label"].mean() - 0.5) <= five_sigma(0.5, len(ids))


def test_short_seq_prob_shortens_pairs(long_documents, tokenizer, tmp_path):
    lengths = {}
    for prob in (0.0, 0.5):
        out = build_pretraining_data(long_documents, tmp_path / str(prob), tokenizer, max_seq_length=MAX_SEQ_LENGTH,
                                     short_seq_prob=prob, dupe_factor=2, dynamic_masking=True,
                                     one_document_per_item=True, progress=False)
        lengths[prob] = load_all(out, as_stored=True)["attention_mask"].sum(1)
    short = {prob: float(np.mean(values < MAX_SEQ_LENGTH // 2)) for prob, values in lengths.items()}
    # without short targets only the last pair of a document can be short (one in ~8 pairs of a 40-line
    # document); with prob 0.5 half the pairs aim at U[2, 125], about 40% of which stay under 64 tokens even
    # after the chunk's overshoot: ~0.2 more short pairs (measured: 0.12 -> 0.32)
    assert short[0.0] < 0.2, short
    assert short[0.5] - short[0.0] > 0.12, short
    assert lengths[0.5].mean() < lengths[0.0].mean() - 10


def test_same_files_for_any_worker_count_and_run(long_documents, tokenizer, tmp_path):
    def build(name: str, workers: int) -> dict[str, bytes]:
        out = build_pretraining_data(long_documents[:30], tmp_path / name, tokenizer, dupe_factor=3, seed=11,
                                     workers=workers, examples_per_shard=100, one_document_per_item=True,
                                     progress=False)
        return {p.name: p.read_bytes() for p in sorted(out.iterdir())}

    one, two, again = build("one", 1), build("two", 2), build("again", 1)
    assert len([name for name in one if name.endswith(".input_ids.npy")]) > 2  # several shards
    assert one == two == again
    assert not [name for name in one if name.endswith(".tmp")]  # no staging file left behind


def test_reader_names_dtypes_and_shapes(static_data, tokenizer):
    path, _ = static_data
    index = read_index(path)
    assert index["format_version"] == 1 and index["masking"] == "static"
    assert index["settings"]["max_ngram"] == 3 and index["settings"]["masked_lm_prob"] == 0.15
    assert sum(shard["num_examples"] for shard in index["shards"]) == index["num_examples"]
    dataset = PretrainingDataset(path)
    assert len(dataset) == index["num_examples"]
    example = dataset[0]
    assert sorted(example) == sorted(["input_ids", "token_type_ids", "attention_mask", "labels",
                                      "sentence_order_label"])
    for name, value in example.items():
        assert value.dtype == np.int64
        assert value.shape == (() if name == "sentence_order_label" else (MAX_SEQ_LENGTH,))
    assert example["input_ids"][0] == tokenizer.cls_token_id
    assert set(np.unique(example["attention_mask"])) <= {0, 1}
    assert (example["labels"][example["attention_mask"] == 0] == IGNORE_INDEX).all()
    for expected, got in zip((dataset[0], dataset[len(dataset) - 1]), (next(read_examples(path)), dataset[-1])):
        assert all(np.array_equal(expected[k], got[k]) for k in expected)
    with pytest.raises(IndexError):
        dataset[len(dataset)]
    stored = PretrainingDataset(path, as_stored=True)[0]
    assert {k: str(v.dtype) for k, v in stored.items()} == {k: f["dtype"] for k, f in index["fields"].items()}


def test_reader_is_memory_mapped_and_pickles_without_maps(static_data):
    path, _ = static_data
    dataset = PretrainingDataset(path, as_stored=True)
    row = dataset[5]
    assert all(isinstance(value, np.memmap) for value in row.values())
    assert all(isinstance(array, np.memmap) for array in dataset.shard_arrays(0).values())
    assert len(dataset._maps) == 1  # only the shard that was read is open
    clone = pickle.loads(pickle.dumps(dataset))
    assert clone._maps == {} and np.array_equal(clone[5]["input_ids"], row["input_ids"])


def test_dataloader_workers_get_the_same_dynamic_masks(dynamic_data):
    torch = pytest.importorskip("torch")
    dataset = PretrainingDataset(dynamic_data)
    dataset.set_epoch(3)
    expected = [dataset[i]["labels"] for i in range(32)]
    # two worker processes each unpickle the dataset, reopen its maps and mask their half of the batches
    loader = torch.utils.data.DataLoader(dataset, batch_size=4, num_workers=2,
                                         sampler=torch.utils.data.SequentialSampler(range(32)))
    got = torch.cat([batch["labels"] for batch in loader]).numpy()
    np.testing.assert_array_equal(got, np.stack(expected))


def test_torch_dataloader_and_tf_data_give_the_same_first_batch(static_data):
    torch = pytest.importorskip("torch")
    tf = pytest.importorskip("tensorflow")
    path, _ = static_data
    dataset = PretrainingDataset(path)
    torch_batch = next(iter(torch.utils.data.DataLoader(dataset, batch_size=8, shuffle=False)))
    spec = {name: tf.TensorSpec(shape, dtype) for name, (shape, dtype) in dataset.output_spec().items()}
    tf_batch = next(iter(tf.data.Dataset.from_generator(lambda: iter(dataset), output_signature=spec).batch(8)))
    assert sorted(torch_batch) == sorted(tf_batch)
    for name in torch_batch:
        assert torch_batch[name].dtype == torch.int64
        np.testing.assert_array_equal(torch_batch[name].numpy(), tf_batch[name].numpy())
    assert torch_batch["input_ids"].shape == (8, MAX_SEQ_LENGTH)


def test_dynamic_masking_changes_per_epoch_with_the_same_statistics(dynamic_data, tokenizer):
    index = read_index(dynamic_data)
    assert index["masking"] == "dynamic" and "labels" not in index["fields"]
    stored = load_all(dynamic_data, as_stored=True)
    assert not (stored["input_ids"] == tokenizer.mask_token_id).any()  # stored unmasked
    epochs = [load_all(dynamic_data, epoch=epoch) for epoch in (0, 1)]
    for data in epochs:
        np.testing.assert_array_equal(originals(data), stored["input_ids"])
        check_mask_statistics(data, tokenizer)
    differs = (epochs[0]["labels"] != epochs[1]["labels"]).any(axis=1)
    # only pairs with few maskable tokens (one masked position out of a handful) may draw the same mask twice
    assert differs.mean() > 0.95
    assert maskable(epochs[0], tokenizer).sum(1)[~differs].max() < 30
    # the same epoch gives the same masks, whatever the reading order
    dataset = PretrainingDataset(dynamic_data, epoch=1)
    np.testing.assert_array_equal(dataset[7]["labels"], epochs[1]["labels"][7])
    reseeded = PretrainingDataset(dynamic_data, masker=DynamicMasker(masking_recipe_from_index(index), seed=99))
    assert not np.array_equal(reseeded[7]["labels"], epochs[0]["labels"][7])


def test_documents_from_files_and_iterables(tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_text("first sentence.\nsecond line\n\n\nnext document.\n", encoding="utf-8")
    expected = [["first sentence.", "second line"], ["next document."]]
    assert list(iter_document_texts(text)) == expected
    assert list(iter_document_texts(str(text))) == expected
    assert list(iter_document_texts([text, text])) == expected * 2
    assert list(iter_document_texts(line for line in text.read_text().splitlines())) == expected
    assert list(iter_document_texts(["first sentence.\nsecond line", "next document."],
                                    one_document_per_item=True)) == expected


@pytest.mark.parametrize(("argument", "value", "error"), [
    ("max_seq_length", 4, ConfigError),
    ("max_seq_length", 12.5, ConfigError),
    ("max_predictions_per_seq", 0, ConfigError),
    ("masked_lm_prob", 0.0, ConfigError),
    ("masked_lm_prob", 1.5, ConfigError),
    ("max_ngram", 0, ConfigError),
    ("short_seq_prob", -0.1, ConfigError),
    ("dupe_factor", 0, ConfigError),
    ("seed", -1, ConfigError),
    ("workers", 0, ConfigError),
    ("examples_per_shard", 0, ConfigError),
])
def test_bad_settings_name_the_argument(argument, value, error, tokenizer, tmp_path):
    with pytest.raises(error, match=argument):
        build_pretraining_data(["some text here.", "and more."], tmp_path, tokenizer, **{argument: value})


def test_bad_inputs_name_the_argument(tokenizer, tmp_path):
    with pytest.raises(InputError, match="inputs"):
        build_pretraining_data(tmp_path / "missing.txt", tmp_path / "a", tokenizer)
    with pytest.raises(InputError, match="inputs"):
        build_pretraining_data(["", "   "], tmp_path / "b", tokenizer)
    with pytest.raises(InputError, match="inputs"):
        build_pretraining_data([1, 2], tmp_path / "c", tokenizer)
    with pytest.raises(InputError, match="tokenizer"):
        build_pretraining_data(["text."], tmp_path / "d", object())
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "other.txt").write_text("x")
    with pytest.raises(InputError, match="out_dir"):
        build_pretraining_data(["text."], tmp_path / "full", tokenizer)
    with pytest.raises(InputError, match="path"):
        PretrainingDataset(tmp_path / "full")


def test_commands_build_a_tokenizer_and_data(corpus_lines, tmp_path, capsys):
    from albert_cli.pretraining_commands import add_commands

    parser = argparse.ArgumentParser(prog="albert")
    add_commands(parser.add_subparsers(dest="command", required=True))
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(corpus_lines[:600]), encoding="utf-8")
    args = parser.parse_args(["train-spm", str(corpus), str(tmp_path / "spm"), "--vocab-size", "300"])
    assert args.run(args) == 0
    args = parser.parse_args(["pretrain-data", str(corpus), str(corpus), str(tmp_path / "data"),
                              "--spm", str(tmp_path / "spm"), "--max-seq-length", "64", "--dupe-factor", "2",
                              "--ngram", "2", "--seed", "5", "--workers", "1", "--quiet"])
    assert args.run(args) == 0
    index = json.loads((tmp_path / "data" / "index.json").read_text())
    assert index["settings"]["max_ngram"] == 2 and index["settings"]["max_seq_length"] == 64
    assert "wrote" in capsys.readouterr().out
    args = parser.parse_args(["pretrain-data", str(corpus), str(tmp_path / "bad"), "--spm", str(tmp_path / "spm"),
                              "--ngram", "0", "--quiet"])
    assert args.run(args) == 2
    assert "max_ngram" in capsys.readouterr().err
    help_text = parser._subparsers._group_actions[0].choices["pretrain-data"].format_help()
    assert "default: 128" in help_text and "default: 0.15" in help_text and "default: 10" in help_text
