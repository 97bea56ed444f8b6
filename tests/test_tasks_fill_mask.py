"""Fill-mask target words (albert_core.tasks.fill_mask) against transformers' FillMaskPipeline: targets that are
pieces, words that map to one piece, and words of several pieces (first piece, with a warning)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from albert_core.errors import AlbertWarning, InputError
from albert_core.tasks import fill_mask_predictions, resolve_targets
import task_fixtures as fx

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")
transformers.logging.set_verbosity_error()

TEXT = "First Citizen: Before we [MASK] any further, hear me speak."


@pytest.fixture(scope="module")
def model():
    config = transformers.AlbertConfig(vocab_size=len(fx.ours()), embedding_size=16, hidden_size=32,
                                       num_hidden_layers=1, num_attention_heads=4, intermediate_size=37,
                                       max_position_embeddings=128)
    torch.manual_seed(3)
    mlm = transformers.AlbertForMaskedLM(config).eval()
    with torch.no_grad():
        mlm.predictions.bias.normal_(0.0, 3.0)  # a decided top-k
    return mlm


def test_targets_match_fill_mask_pipeline(model):
    from transformers.pipelines.fill_mask import FillMaskPipeline

    tok = fx.ours()
    # "vantage" is a piece of this vocabulary (without "▁"): taken as it is, as transformers does
    multi = [w for w in ("vantage", "proceed", "resolved", "citizens")
             if w not in tok.get_vocab() and len(tok.tokenize(w)) > 1]
    assert multi
    targets = ["▁hear", "love", "▁speak", "vantage", *multi, "love"]
    assert "▁hear" in tok.get_vocab() and "love" not in tok.get_vocab() and tok.tokenize("love") == ["▁love"]
    with pytest.warns(AlbertWarning, match="scored by its first piece") as caught:
        ids = resolve_targets(tok, targets)
    assert len(caught) == len(multi)  # one warning per multi-piece target, none for "love" -> "▁love"
    assert len(ids) == len(set(ids))
    enc = tok(TEXT)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([enc["input_ids"]])).logits[0].numpy()
    pipe = FillMaskPipeline(model=model, tokenizer=transformers.AlbertTokenizer(str(fx.spiece_path())),
                            framework="pt")
    for top_k in (3, 10):
        ours = fill_mask_predictions(logits, enc["input_ids"], tok.mask_token_id, tok, top_k=top_k, target_ids=ids)[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = pipe(TEXT, targets=targets, top_k=top_k)
        assert [o["token"] for o in ours] == [t["token"] for t in theirs]
        assert [o["token_str"] for o in ours] == [t["token_str"] for t in theirs]
        assert [o["sequence"] for o in ours] == [t["sequence"] for t in theirs]
        np.testing.assert_allclose([o["score"] for o in ours], [t["score"] for t in theirs], rtol=1e-4)
    assert len(ours) == len(ids)  # top_k larger than the targets: every target, once
    # without targets: the top-k over the whole vocabulary
    ours = fill_mask_predictions(logits, enc["input_ids"], tok.mask_token_id, tok, top_k=5)[0]
    assert [o["token"] for o in ours] == [t["token"] for t in pipe(TEXT, top_k=5)]


def test_bad_targets():
    with pytest.raises(InputError, match="at least one"):
        resolve_targets(fx.ours(), [])
    with pytest.raises(InputError, match="tokenizes to nothing"):
        resolve_targets(fx.ours(), ["   "])
    with pytest.raises(InputError, match="must be str"):
        resolve_targets(fx.ours(), [3])
    assert resolve_targets(fx.ours(), "▁hear") == [fx.ours().convert_tokens_to_ids("▁hear")]
