"""Fill-mask (core post-processing, both backends, the CLI) against transformers' fill-mask pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from albert_core import AlbertConfig, AlbertTokenizer, InputError
from albert_core.heads import Head
from albert_core.tasks import fill_mask_predictions, resolve_targets
from albert_cli import cli, fill_mask_command
from factory import random_state
from spm_fixtures import make_spiece_model

transformers = pytest.importorskip("transformers")

TEXTS = ["to be or not to [MASK], that is the question", "my [MASK] is [MASK] than the king's"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny masked-LM checkpoint with random weights and a real SentencePiece vocabulary."""
    import albert_pt

    directory = tmp_path_factory.mktemp("fill_mask")
    spm = make_spiece_model(directory / "spm", vocab_size=300, max_lines=2000, with_numbers=False)
    tokenizer = AlbertTokenizer(str(spm))
    config = AlbertConfig(vocab_size=len(tokenizer), embedding_size=16, hidden_size=32, num_hidden_layers=2,
                          num_attention_heads=4, intermediate_size=37, max_position_embeddings=64)
    model = albert_pt.AlbertForMaskedLM(config)
    # sharper logits than the initialiser's so that the top-k order is decided, not a near tie
    state = {k: v * (20.0 if k == "predictions.bias" else 1.0) for k, v in random_state(config, Head.MASKED_LM).items()}
    model.load_canonical_state(state, strict=True)
    model.save_pretrained(directory / "model")
    tokenizer.save_pretrained(directory / "model")
    return directory / "model", spm


def _hf_pipeline(checkpoint, top_k, targets=None):
    directory, spm = checkpoint
    model = transformers.AlbertForMaskedLM.from_pretrained(directory)
    tokenizer = transformers.AlbertTokenizer(str(spm))
    fill = transformers.pipeline("fill-mask", model=model, tokenizer=tokenizer, framework="pt")
    return [fill(text, top_k=top_k, targets=targets) for text in TEXTS]


def _ours(checkpoint, backend, top_k, targets=None):
    directory, _ = checkpoint
    tokenizer = AlbertTokenizer.from_pretrained(directory)
    model, head = fill_mask_command._load(directory, backend)
    target_ids = resolve_targets(tokenizer, targets) if targets else None
    return [fill_mask_command.predict(model, head, tokenizer, text, top_k, target_ids, backend) for text in TEXTS]


def _as_lists(hf_result):
    # transformers returns a flat list for one mask and a list per mask for several
    return [hf_result] if hf_result and isinstance(hf_result[0], dict) else hf_result


@pytest.mark.parametrize("backend", ["pt", "tf"])
@pytest.mark.parametrize("targets", [None, ["▁king", "▁queen", "▁question", "love"]])
def test_matches_transformers_pipeline(checkpoint, backend, targets):
    ours = _ours(checkpoint, backend, top_k=4, targets=targets)
    theirs = _hf_pipeline(checkpoint, top_k=4, targets=targets)
    for text, our_masks, hf in zip(TEXTS, ours, theirs):
        hf_masks = _as_lists(hf)
        assert len(our_masks) == len(hf_masks) == text.count("[MASK]")
        for our_fills, hf_fills in zip(our_masks, hf_masks):
            assert [f["token"] for f in our_fills] == [f["token"] for f in hf_fills]
            assert [f["token_str"] for f in our_fills] == [f["token_str"] for f in hf_fills]
            np.testing.assert_allclose([f["score"] for f in our_fills], [f["score"] for f in hf_fills],
                                       rtol=1e-4, atol=1e-6)
            if len(our_masks) == 1:  # transformers fills in the sequence only for a single mask
                assert [f["sequence"] for f in our_fills] == [f["sequence"] for f in hf_fills]


def test_scores_are_softmax_probabilities_by_hand():
    class Vocab:
        def decode(self, ids, skip_special_tokens=False, clean_up_tokenization_spaces=False):
            return " ".join(f"t{i}" for i in ids)

    logits = np.log(np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 5.0], [1.0, 1.0, 1.0]]))
    fills = fill_mask_predictions(logits, [0, 9, 0], mask_token_id=9, tokenizer=Vocab(), top_k=3)[0]
    assert [f["token"] for f in fills] == [2, 1, 0]
    np.testing.assert_allclose([f["score"] for f in fills], [5 / 8, 2 / 8, 1 / 8])
    assert fills[0]["sequence"] == "t0 t2 t0"
    only = fill_mask_predictions(logits, [0, 9, 0], 9, Vocab(), top_k=5, target_ids=[0, 1])[0]
    assert [f["token"] for f in only] == [1, 0]  # restricted, but still probabilities over the whole vocabulary
    np.testing.assert_allclose([f["score"] for f in only], [2 / 8, 1 / 8])


@pytest.mark.parametrize("ids,top_k,match", [([1, 2, 3], 5, "no mask token"), ([1, 9, 3], 0, "top_k must be")])
def test_bad_requests_are_input_errors(ids, top_k, match):
    with pytest.raises(InputError, match=match):
        fill_mask_predictions(np.zeros((3, 12)), ids, mask_token_id=9, tokenizer=None, top_k=top_k)


def test_cli_prints_fills_and_reports_bad_input(checkpoint, capsys):
    directory, _ = checkpoint
    assert cli.main(["fill-mask", TEXTS[0], "--model", str(directory), "--top-k", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == TEXTS[0] and out[1].strip() == "[MASK] 1:" and len(out) == 4
    best = _ours(checkpoint, "pt", top_k=2)[0][0]
    assert out[2].split()[0] == f"{best[0]['score']:.3f}"
    assert cli.main(["fill-mask", "no mask here", "--model", str(directory)]) == 2
    assert "no mask token" in capsys.readouterr().err
