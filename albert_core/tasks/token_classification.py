"""Token classification (NER, POS tagging): word labels onto sub-word tokens before the model, entities after it.

* :func:`align_labels` gives each token the label of its word (``word_ids`` as transformers' ``word_ids()``):
  the first sub-word of a word gets the word's label and the other sub-words ``-100`` (ignored by the loss), or with
  ``label_all_tokens`` every sub-word gets it (a ``B-`` label continued as ``I-``, so that the entities stay
  the same); special tokens get ``-100``.
* :func:`tokenize_and_align_labels` does that for pre-split words: it tokenizes each word, builds
  ``[CLS] pieces [SEP]`` rows with their ``word_ids`` and aligns the labels.
* :func:`decode_entities` turns one sequence's logits into entities, with the aggregation strategies of
  transformers' token-classification pipeline (``"none"``, ``"simple"``, ``"first"``, ``"average"``, ``"max"``)
  and the BIO (IOB2) or BIOES tagging scheme.

Entity-level metrics are :func:`albert_core.metrics.entity_metrics`.

>>> align_labels([None, 0, 0, 1, None], ["B-PER", "O"], label_list=["O", "B-PER", "I-PER"])
[-100, 1, -100, 0, -100]
>>> align_labels([None, 0, 0, 1, None], ["B-PER", "O"], label_list=["O", "B-PER", "I-PER"], label_all_tokens=True)
[-100, 1, 2, 0, -100]
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import InputError, UsageError
from ..metrics import canonical_scheme

__all__ = ["IGNORE_INDEX", "align_labels", "decode_entities", "tokenize_and_align_labels"]

#: The label of tokens the loss ignores (special tokens, padding, non-first sub-words).
IGNORE_INDEX = -100
AGGREGATIONS = ("none", "simple", "first", "average", "max")


def _continuation_ids(label_list: Sequence[str], scheme: str) -> dict[int, tuple[int, int]]:
    """For each label id, the ids a word's middle and last continuation pieces take when every piece is labelled."""
    index = {label: i for i, label in enumerate(label_list)}
    out = {}
    for i, label in enumerate(label_list):
        middle = last = i
        if isinstance(label, str) and len(label) > 2 and label[1] == "-":
            prefix, kind = label[0], label[2:]
            inside = index.get(f"I-{kind}", i)
            if prefix == "B":
                middle = last = inside
            elif scheme == "IOBES" and prefix == "S":  # S-X over pieces reads B-X I-X ... E-X
                middle, last = inside, index.get(f"E-{kind}", i)
            elif scheme == "IOBES" and prefix == "E":  # E-X over pieces reads I-X ... E-X
                middle = inside
        out[i] = (middle, last)
    return out


def _first_piece_ids(label_list: Sequence[str], scheme: str) -> dict[int, int]:
    """For each label id, the id the first piece takes when the word has several pieces (BIOES: S-X -> B-X,
    E-X -> I-X); other schemes and labels keep their id."""
    index = {label: i for i, label in enumerate(label_list)}
    out = {}
    for i, label in enumerate(label_list):
        out[i] = i
        if scheme == "IOBES" and isinstance(label, str) and len(label) > 2 and label[1] == "-":
            if label[0] == "S":
                out[i] = index.get(f"B-{label[2:]}", i)
            elif label[0] == "E":
                out[i] = index.get(f"I-{label[2:]}", i)
    return out


def _label_ids(word_labels: Sequence[Any], label_list: Sequence[str] | None, where: str) -> list[int]:
    ids = []
    index = {label: i for i, label in enumerate(label_list)} if label_list is not None else None
    for k, label in enumerate(word_labels):
        if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
            label = int(label)
            if label_list is not None and not 0 <= label < len(label_list):
                raise InputError(f"{where}word {k}: label id {label} is not in the tag set of {len(label_list)} labels")
            ids.append(label)
        elif index is not None and label in index:
            ids.append(index[label])
        elif index is None:
            raise InputError(f"{where}word {k}: label {label!r} is a name; pass label_list to map names to ids")
        else:
            raise InputError(f"{where}word {k}: label {label!r} is not in the tag set {list(label_list)!r}")
    return ids


def align_labels(
    word_ids: Sequence[int | None],
    word_labels: Sequence[Any],
    *,
    label_all_tokens: bool = False,
    label_list: Sequence[str] | None = None,
    scheme: str = "BIO",
    _where: str = "",
) -> list[int]:
    """One label id per token from one label per word.

    Args:
        word_ids: the word index of each token, ``None`` for special tokens and padding.
        word_labels: one label per word: an id, or a tag name of ``label_list``.
        label_all_tokens: give every sub-word a label, not only the first. With ``label_list`` the labels are
            continued as the scheme reads them: ``B-X`` continues as ``I-X`` (when ``label_list`` has it); in
            BIOES ``S-X`` becomes ``B-X I-X ... E-X`` and ``E-X`` becomes ``I-X ... E-X``.
        label_list: the tag set (label id = position); needed for tag names and for the continuation above.
        scheme: ``"BIO"`` (= ``"IOB2"``) or ``"BIOES"`` (= ``"IOBES"``).

    Returns:
        a label id per token; :data:`IGNORE_INDEX` (-100) on special tokens and (without ``label_all_tokens``)
        on every sub-word but the first.

    Raises:
        ~albert_core.InputError: for a label not in the tag set, or word ids that point past the labels or go backwards.
    """
    canonical = canonical_scheme(scheme)
    ids = _label_ids(word_labels, label_list, _where)
    continuation = _continuation_ids(label_list, canonical) if label_list is not None else None
    first_piece = _first_piece_ids(label_list, canonical) if label_list is not None else None
    counts: dict[int, int] = {}
    previous = -1
    for word in word_ids:
        if word is None:
            continue
        if not 0 <= word < len(ids):
            raise InputError(f"{_where}word id {word} has no label: there are {len(ids)} word labels")
        if word < previous:
            raise InputError(f"{_where}word ids must not go backwards (word {word} after word {previous})")
        previous = word
        counts[word] = counts.get(word, 0) + 1
    labels: list[int] = []
    seen: dict[int, int] = {}
    for word in word_ids:
        if word is None:
            labels.append(IGNORE_INDEX)
            continue
        position = seen.get(word, 0)
        seen[word] = position + 1
        label = ids[word]
        if position == 0:
            several = counts[word] > 1 and label_all_tokens
            labels.append(first_piece[label] if several and first_piece is not None else label)
        elif not label_all_tokens:
            labels.append(IGNORE_INDEX)
        elif continuation is None:
            labels.append(label)
        else:
            middle, last = continuation[label]
            labels.append(last if position == counts[word] - 1 else middle)
    return labels


def tokenize_and_align_labels(
    tokenizer: Any,
    words: Sequence[Sequence[str]],
    labels: Sequence[Sequence[Any]] | None = None,
    *,
    label_list: Sequence[str] | None = None,
    label_all_tokens: bool = False,
    scheme: str = "BIO",
    max_length: int | None = None,
    truncation: bool = False,
    padding: bool | str = False,
) -> dict[str, list]:
    """Rows ``[CLS] pieces of word 0, word 1, ... [SEP]`` for pre-split sentences, with word ids and aligned labels.

    Each word is tokenized on its own (as transformers' ``is_split_into_words=True``: every word starts a new
    piece).

    Args:
        tokenizer: an :class:`~albert_core.tokenizer.AlbertTokenizer` (or anything with its ``__call__`` and the
            ``cls_token_id``/``sep_token_id``/``pad_token_id`` attributes).
        words: one list of words per sentence.
        labels: one list of labels per sentence, as many as words (ids or names of ``label_list``); optional.
        label_list, label_all_tokens, scheme: as in :func:`align_labels`.
        max_length: the longest row (default: the tokenizer's ``model_max_length``).
        truncation: cut longer rows to ``max_length`` (the labels of cut words are lost); without it a longer row is
            an error.
        padding: ``False``, ``True``/``"longest"`` or ``"max_length"``.

    Returns:
        ``{"input_ids", "token_type_ids", "attention_mask", "word_ids"}`` and ``"labels"`` with labels (padding:
        pad id, 0, 0, ``None``, -100).

    Raises:
        ~albert_core.InputError: on sentences and labels of different counts or lengths, a word that tokenizes to
            nothing, a label not in the tag set, or a row longer than ``max_length`` without ``truncation``.
    """
    if isinstance(words, str) or not isinstance(words, (list, tuple)) or not words:
        raise InputError("words must be a non-empty list of sentences, each a list of words")
    for k, sentence in enumerate(words):
        if isinstance(sentence, str) or not isinstance(sentence, (list, tuple)):
            raise InputError(f"sentence {k} must be a list of words, got {type(sentence).__name__}")
    if labels is not None:
        if len(labels) != len(words):
            raise InputError(f"got {len(labels)} label lists for {len(words)} sentences")
        for k, (sentence, sentence_labels) in enumerate(zip(words, labels)):
            if isinstance(sentence_labels, str) or len(sentence_labels) != len(sentence):
                raise InputError(f"sentence {k}: {len(sentence)} words but {len(sentence_labels)} labels")
    if max_length is None:
        max_length = int(tokenizer.model_max_length)
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 3:
        raise UsageError(f"max_length must be an integer >= 3, got {max_length!r}")
    if padding not in (False, True, None, "longest", "max_length", "do_not_pad"):
        raise UsageError(f"padding must be False, True/'longest' or 'max_length', got {padding!r}")
    flat = [word for sentence in words for word in sentence]
    for k, word in enumerate(flat):
        if not isinstance(word, str):
            raise InputError(f"every word must be a str, got {type(word).__name__}: {word!r:.80}")
    pieces = tokenizer(flat, add_special_tokens=False, return_attention_mask=False,
                       return_token_type_ids=False)["input_ids"] if flat else []
    out: dict[str, list] = {"input_ids": [], "token_type_ids": [], "attention_mask": [], "word_ids": []}
    if labels is not None:
        out["labels"] = []
    cursor = 0
    for k, sentence in enumerate(words):
        ids: list[int] = []
        word_ids: list[int | None] = []
        for w in range(len(sentence)):
            word_pieces = pieces[cursor + w]
            if not word_pieces:
                raise InputError(f"sentence {k}, word {w} ({sentence[w]!r}) tokenizes to nothing")
            ids.extend(word_pieces)
            word_ids.extend([w] * len(word_pieces))
        cursor += len(sentence)
        if len(ids) + 2 > max_length:
            if not truncation:
                raise InputError(f"sentence {k} has {len(ids) + 2} tokens, more than max_length={max_length}; "
                                 "pass truncation=True to cut it (the labels of cut words are lost)")
            ids, word_ids = ids[: max_length - 2], word_ids[: max_length - 2]
        row_word_ids = [None, *word_ids, None]
        out["input_ids"].append([tokenizer.cls_token_id, *ids, tokenizer.sep_token_id])
        out["token_type_ids"].append([0] * len(row_word_ids))
        out["attention_mask"].append([1] * len(row_word_ids))
        out["word_ids"].append(row_word_ids)
        if labels is not None:
            out["labels"].append(align_labels(row_word_ids, labels[k], label_all_tokens=label_all_tokens,
                                              label_list=label_list, scheme=scheme, _where=f"sentence {k}: "))
    if padding in (True, "longest", "max_length"):
        target = max_length if padding == "max_length" else max(len(r) for r in out["input_ids"])
        fill = {"input_ids": tokenizer.pad_token_id, "token_type_ids": 0, "attention_mask": 0, "word_ids": None,
                "labels": IGNORE_INDEX}
        for key, rows in out.items():
            for row in rows:
                row.extend([fill[key]] * (target - len(row)))
    return out


# ---------------------------------------------------------------------------------------------------------------------
# decoding


def _tag(label: str, scheme: str) -> tuple[str, str]:
    """``(prefix, entity type)`` as the pipeline groups labels: ``B``/``I`` (and for BIOES ``E``/``S``) prefixes;
    any other label (``O`` included) counts as a continuation ``I`` of a type named after the whole label."""
    prefixes = "BI" if scheme == "IOB2" else "BIES"
    if len(label) > 2 and label[1] == "-" and label[0] in prefixes:
        return label[0], label[2:]
    return "I", label


def _pieces_to_text(pieces: list[str]) -> str:
    text = "".join(pieces).replace("\u2581", " ")
    return text[1:] if text.startswith(" ") else text


def decode_entities(
    logits: Any,
    sentence: str,
    offsets: Sequence[tuple[int, int] | None],
    id2label: Mapping[int, str] | Sequence[str],
    *,
    input_ids: Sequence[int] | None = None,
    special_tokens_mask: Sequence[int] | None = None,
    word_ids: Sequence[int | None] | None = None,
    tokenizer: Any = None,
    aggregation: str = "simple",
    scheme: str = "BIO",
    ignore_labels: Sequence[str] = ("O",),
) -> list[dict[str, Any]]:
    """The entities of one sequence from its per-token logits, as transformers' token-classification pipeline.

    Each token's scores are the softmax of its logits. ``aggregation``:

    * ``"none"``: one entry per token (``entity``, ``score``, ``index``, ``word``, ``start``, ``end``);
    * ``"simple"``: tokens labelled with the same type are grouped (a ``B-`` label, and in BIOES anything after an
      ``E-`` or ``S-`` label, or an ``S-`` label itself, starts a new group); a group's score is the mean of its
      tokens' scores;
    * ``"first"``, ``"average"``, ``"max"``: each word first gets one label (that of its first token; of the mean
      of its tokens' scores; of its most confident token) and the words are then grouped as in ``"simple"``.
      Words come from ``word_ids`` when given, else from the pipeline's heuristic: a token continues the previous
      word when it starts right after a character that is not a space.

    Groups labelled with a type in ``ignore_labels`` (entries whose label is in it, for ``"none"``) are dropped.
    ``word`` is the text of the group's pieces when ``tokenizer`` and ``input_ids`` are given (unknown pieces read
    from the sentence), else the sentence between ``start`` and ``end``.

    Args:
        logits: ``[seq, num_labels]`` scores before softmax.
        sentence: the text the offsets point into.
        offsets: ``(start, end)`` per token; ``None`` marks a token that belongs to no text (special, padding).
        id2label: label name per id.
        input_ids: the sequence's ids (for ``word`` and, with ``tokenizer``, to find special tokens).
        special_tokens_mask: 1 on tokens to skip (special tokens, padding); default: tokens whose offset is None,
            or whose id is a special id of ``tokenizer``.
        word_ids: word index per token (``None`` for special tokens), for the word aggregations.
        tokenizer: something with ``convert_ids_to_tokens``, ``unk_token_id`` and ``all_special_ids``.
        aggregation: see above. scheme: ``"BIO"``/``"IOB2"`` or ``"BIOES"``/``"IOBES"``.
        ignore_labels: entity types (labels for ``"none"``) left out of the result.

    Returns:
        the entities in text order: ``{"entity_group", "score", "word", "start", "end"}`` (``"entity"`` and
        ``"index"`` instead of ``"entity_group"`` for ``"none"``); scores are Python floats.

    Raises:
        ~albert_core.InputError: when the lengths of the logits, offsets, ids or masks disagree, or a label id has
            no name.
        ~albert_core.errors.UsageError: on an unknown ``aggregation`` or ``scheme``.

    >>> import numpy as np
    >>> logits = np.log([[.1, .8, .1], [.1, .1, .8], [.9, .05, .05]])  # B-PER, I-PER, O
    >>> decode_entities(logits, "Ann Lee sat", [(0, 3), (4, 7), (8, 11)], ["O", "B-PER", "I-PER"])
    [{'entity_group': 'PER', 'score': 0.8, 'word': 'Ann Lee', 'start': 0, 'end': 7}]
    """
    if aggregation not in AGGREGATIONS:
        raise UsageError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
    canonical = canonical_scheme(scheme)
    scores, names = _token_probabilities(logits, id2label)
    n = scores.shape[0]
    for name, seq in (("offsets", offsets), ("input_ids", input_ids), ("special_tokens_mask", special_tokens_mask),
                      ("word_ids", word_ids)):
        if seq is not None and len(seq) != n:
            raise InputError(f"{name} has {len(seq)} entries for {n} tokens")
    tokens = _text_tokens(scores, sentence, offsets, input_ids, special_tokens_mask, word_ids, tokenizer)
    if aggregation == "none":
        out = []
        for t in tokens:
            best = int(t["scores"].argmax())
            if names[best] in ignore_labels:
                continue
            out.append({"entity": names[best], "score": float(t["scores"][best]), "index": t["index"],
                        "word": t["piece"], "start": t["start"], "end": t["end"]})
        return out
    entities = []
    for group in _entity_groups(_labelled_units(tokens, aggregation, names), canonical):
        kind = group[0]["label"].split("-", 1)[-1]  # the pipeline's name for a group: its first label, unprefixed
        if kind in ignore_labels:
            continue
        pieces = [p for unit in group for p in unit["pieces"]]
        start, end = group[0]["start"], group[-1]["end"]
        word = _pieces_to_text(pieces) if tokenizer is not None and input_ids is not None else sentence[start:end]
        entities.append({"entity_group": kind, "score": float(np.mean([u["score"] for u in group])),
                         "word": word, "start": start, "end": end})
    return entities


def _token_probabilities(logits: Any, id2label: Mapping[int, str] | Sequence[str]) -> tuple[np.ndarray, dict]:
    """The softmax of ``[seq, num_labels]`` logits, and the label name of every id (each id must have one)."""
    scores = np.asarray(logits)
    if not np.issubdtype(scores.dtype, np.floating):
        scores = scores.astype(np.float64)  # float logits keep their precision, as in the pipeline
    if scores.ndim != 2:
        raise InputError(f"logits must be [seq, num_labels], got shape {scores.shape}")
    names = dict(id2label) if isinstance(id2label, Mapping) else dict(enumerate(id2label))
    names = {int(k): v for k, v in names.items()}
    missing = [i for i in range(scores.shape[1]) if i not in names]
    if missing:
        raise InputError(f"id2label has no name for label ids {missing} of the {scores.shape[1]} logits")
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return scores / scores.sum(axis=-1, keepdims=True), names


def _text_tokens(scores, sentence, offsets, input_ids, special_tokens_mask, word_ids, tokenizer) -> list[dict]:
    """The tokens that belong to the text, in order, with their piece, probabilities, span and whether each
    continues the previous token's word."""
    special_ids = set(getattr(tokenizer, "all_special_ids", ())) if tokenizer is not None else set()
    unk_id = getattr(tokenizer, "unk_token_id", None) if tokenizer is not None else None
    tokens: list[dict] = []
    for idx in range(scores.shape[0]):
        if special_tokens_mask is not None:
            if special_tokens_mask[idx]:
                continue
        elif offsets[idx] is None or (input_ids is not None and int(input_ids[idx]) in special_ids):
            continue
        if offsets[idx] is None:
            raise InputError(f"token {idx} is not special but has no offset")
        start, end = (int(x) for x in offsets[idx])
        unknown = input_ids is not None and unk_id is not None and int(input_ids[idx]) == unk_id
        if tokenizer is not None and input_ids is not None and not unknown:
            piece = tokenizer.convert_ids_to_tokens(int(input_ids[idx]))
        else:
            piece = sentence[start:end]
        if word_ids is not None:
            continues = bool(tokens) and word_ids[idx] is not None and word_ids[idx] == tokens[-1]["word_id"]
        else:
            continues = not unknown and start > 0 and " " not in sentence[start - 1:start + 1]
        tokens.append({"piece": piece, "scores": scores[idx], "start": start, "end": end, "index": idx,
                       "continues": continues, "word_id": None if word_ids is None else word_ids[idx]})
    return tokens


def _labelled_units(tokens: list[dict], aggregation: str, names: dict) -> list[dict]:
    """One labelled unit per token (``"simple"``) or per word (the word aggregations)."""
    if aggregation == "simple":
        return [{"label": names[int(t["scores"].argmax())], "score": float(t["scores"].max()), "pieces": [t["piece"]],
                 "start": t["start"], "end": t["end"]} for t in tokens]
    words: list[list[dict]] = []
    for t in tokens:
        if words and t["continues"]:
            words[-1].append(t)
        else:
            words.append([t])
    units = []
    for group in words:
        if aggregation == "first":
            chosen = group[0]["scores"]
        elif aggregation == "max":
            chosen = max(group, key=lambda t: t["scores"].max())["scores"]
        else:
            chosen = np.mean([t["scores"] for t in group], axis=0)
        best = int(chosen.argmax())
        units.append({"label": names[best], "score": float(chosen[best]),
                      "pieces": [t["piece"] for t in group], "start": group[0]["start"], "end": group[-1]["end"]})
    return units


def _entity_groups(units: list[dict], scheme: str) -> list[list[dict]]:
    """Consecutive units of one entity type joined by the tagging ``scheme`` (a ``B-``, or in BIOES anything after
    an ``E-``/``S-`` or an ``S-`` itself, starts a new group)."""
    groups: list[list[dict]] = []
    closed = True
    last_type = None
    for unit in units:
        prefix, kind = _tag(unit["label"], scheme)
        if groups and not closed and kind == last_type and prefix in ("I", "E"):
            groups[-1].append(unit)
        else:
            groups.append([unit])
        closed = prefix in ("E", "S")
        last_type = kind
    return groups
