"""Small task data sets generated reproducibly from the shared Tiny Shakespeare corpus (read, never copied).

Every generator takes the corpus text and a seed and returns ``(train, eval)`` lists of records in the layout the
fine-tuning readers expect (:mod:`albert_core.finetuning.data`); :func:`write_task_files` writes them as files.

* ``speaker_classification``: which of two speakers says a line (ROMEO or MENENIUS by default);
* ``cloze_qa``: a speech is the context, one of its lines with a character's name blanked out (``_``) is the
  question, and the name in the speech is the answer span;
* ``name_tagging``: the words of a line, with characters' names (from the speaker headings) tagged ``B-PER``;
* ``next_line_choice``: a line, and four candidate next lines (the true one and three from elsewhere).
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

#: ``../shared/corpus/tinyshakespeare.txt`` beside the repository.
DEFAULT_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "tinyshakespeare.txt"
#: Words of speaker headings that are titles or roles, not names.
NOT_NAMES = {
    "All", "Both", "First", "Second", "Third", "Fourth", "Citizen", "Citizens", "King", "Queen", "Duke", "Duchess",
    "Lord", "Lady", "Prince", "Princess", "Servant", "Messenger", "Nurse", "Provost", "Clown", "Gentleman",
    "Officer", "Senator", "Watchman", "Murderer", "Keeper", "Soldier", "Page", "Boy", "Of", "Young", "Old",
    "Earl", "Marquess", "Bishop", "Archbishop", "Abbot", "Captain", "Lieutenant", "Tribune", "Aedile", "Mariner",
    "Shepherd", "Gaoler", "Friar", "Sir", "Mistress", "Widow", "Pedant", "Tailor", "Haberdasher", "Lords",
    "Ladies", "Servingman", "Volsce", "Roman", "Guard", "Huntsman", "Post", "Herald", "Scrivener", "Sheriff",
    "Father", "Mother", "Son", "Daughter", "Gardener", "Groom", "Player", "Ghost", "Mayor", "Cardinal", "Vi",
    "Ii", "Iii", "Iv", "York", "Gloucester", "Lancaster", "Northumberland", "Norfolk", "Warwick", "Clifford",
    "Rivers", "Westmoreland", "Oxford", "Somerset", "Exeter", "Stanley", "Derby", "Richmond", "Buckingham",
    "Surrey", "Aumerle", "Salisbury", "Hastings", "Dorset", "Ely", "Carlisle", "Montague", "Capulet", "Another",
    "Apothecary", "Boatswain", "Children", "Chorus", "Conspirator", "Conspirators", "Fifth", "Gentlemen",
    "Gentlewoman", "Girl", "Hostess", "Justice", "The", "And", "For", "Not",
}
WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|[^\sA-Za-z]")


def read_corpus(path: str | Path = DEFAULT_CORPUS) -> str:
    """The corpus text (a clear error when it is not there)."""
    path = Path(path)
    if not path.is_file():
        raise SystemExit(f"corpus not found: {path} (pass --corpus PATH)")
    return path.read_text(encoding="utf-8")


def speeches(text: str) -> list[tuple[str, list[str]]]:
    """``(speaker, lines)`` of every speech: a ``NAME:`` heading and the lines under it."""
    out = []
    for block in text.split("\n\n"):
        lines = [line.strip() for line in block.strip().split("\n") if line.strip()]
        if len(lines) >= 2 and lines[0].endswith(":"):
            out.append((lines[0][:-1], lines[1:]))
    return out


def character_names(all_speeches: list[tuple[str, list[str]]]) -> set[str]:
    """Single-word names from the speaker headings (``ROMEO`` -> ``Romeo``), titles and places left out."""
    names = set()
    for speaker, _ in all_speeches:
        for word in speaker.split():
            word = word.capitalize()
            if word.isalpha() and len(word) > 2 and word not in NOT_NAMES:
                names.add(word)
    return names


def _split(records: list[dict[str, Any]], eval_share: float, seed: int) -> tuple[list, list]:
    rng = random.Random(seed)
    records = list(records)
    rng.shuffle(records)
    cut = int(round(len(records) * (1 - eval_share)))
    return records[:cut], records[cut:]


def speaker_classification(text: str, seed: int = 0, speakers: tuple[str, str] = ("ROMEO", "MENENIUS"),
                           per_speaker: int = 500, eval_share: float = 0.2) -> tuple[list, list]:
    """Lines of two speakers, labelled with the speaker (balanced: ``per_speaker`` lines each)."""
    rng = random.Random(seed)
    records = []
    for speaker in speakers:
        lines = [line for who, block in speeches(text) if who == speaker for line in block if len(line.split()) >= 3]
        rng.shuffle(lines)
        records += [{"sentence": line, "label": speaker} for line in lines[:per_speaker]]
    return _split(records, eval_share, seed)


def cloze_qa(text: str, seed: int = 0, limit: int = 1000, eval_share: float = 0.2, max_words: int = 60
             ) -> tuple[list, list]:
    """Context: a speech (at most ``max_words`` words); question: one of its lines with a name replaced by
    ``_``; answer: that name where it stands in the speech."""
    all_speeches = speeches(text)
    names = character_names(all_speeches)
    pattern = re.compile(r"\b(" + "|".join(sorted(names, key=len, reverse=True)) + r")\b")
    records = []
    for index, (_, lines) in enumerate(all_speeches):
        context = " ".join(lines)
        if len(context.split()) > max_words:
            continue
        offset = 0
        for line in lines:
            match = pattern.search(line)
            if match:
                start = offset + match.start()
                question = line[:match.start()] + "_" + line[match.end():]
                records.append({"id": f"s{index}-{start}", "question": question, "context": context,
                                "answers": {"text": [match.group(1)], "answer_start": [start]}})
                break
            offset += len(line) + 1
    random.Random(seed).shuffle(records)
    return _split(records[:limit], eval_share, seed)


def name_tagging(text: str, seed: int = 0, limit: int = 1200, eval_share: float = 0.2) -> tuple[list, list]:
    """Words of lines with character names tagged ``B-PER`` (everything else ``O``); two thirds of the lines hold
    a name."""
    all_speeches = speeches(text)
    names = character_names(all_speeches)
    with_name, without = [], []
    for _, lines in all_speeches:
        for line in lines:
            words = WORD.findall(line)
            if not 3 <= len(words) <= 24:
                continue
            tags = ["B-PER" if w in names else "O" for w in words]
            (with_name if "B-PER" in tags else without).append({"tokens": words, "ner_tags": tags})
    rng = random.Random(seed)
    rng.shuffle(with_name)
    rng.shuffle(without)
    take = min(len(with_name), limit * 2 // 3)
    return _split(with_name[:take] + without[:limit - take], eval_share, seed)


def next_line_choice(text: str, seed: int = 0, limit: int = 800, eval_share: float = 0.2, options: int = 4
                     ) -> tuple[list, list]:
    """Article: a line; question: ``"What follows?"``; options: the next line of the speech and ``options - 1``
    lines drawn from elsewhere; answer: the letter of the true one."""
    rng = random.Random(seed)
    pool = [line for _, lines in speeches(text) for line in lines if len(line.split()) >= 4]
    pairs = [(a, b) for _, lines in speeches(text) for a, b in zip(lines, lines[1:])
             if len(a.split()) >= 4 and len(b.split()) >= 4]
    rng.shuffle(pairs)
    records = []
    for article, following in pairs[:limit]:
        choices = [following] + rng.sample(pool, options - 1)
        rng.shuffle(choices)
        records.append({"article": article, "question": "What follows?", "options": choices,
                        "answer": "ABCDEFGH"[choices.index(following)]})
    return _split(records, eval_share, seed)


def write_task_files(directory: str | Path, name: str, train: list, evaluation: list, conll: bool = False
                     ) -> tuple[Path, Path]:
    """Write ``NAME.train``/``NAME.eval`` as JSON lines (or CoNLL: a word and its tag per line) in ``directory``."""
    from albert_core.finetuning import write_jsonl

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for part, records in (("train", train), ("eval", evaluation)):
        if conll:
            path = directory / f"{name}.{part}.conll"
            path.write_text("\n\n".join("\n".join(f"{w} {t}" for w, t in zip(r["tokens"], r["ner_tags"]))
                                        for r in records) + "\n", encoding="utf-8")
        else:
            path = write_jsonl(records, directory / f"{name}.{part}.jsonl")
        paths.append(path)
    return paths[0], paths[1]
