"""Fine-tuning data: records from JSON lines, JSON, CSV/TSV or CoNLL files, from lists of dicts, or from a
``datasets.Dataset`` (duck-typed: anything with ``column_names`` whose rows are dicts), turned into one plain example
layout per task.

=========================  ==========================================================================================
task                       fields read (first match wins)
=========================  ==========================================================================================
text-classification        ``sentence`` / ``text`` (single texts) or a pair ``sentence1``+``sentence2``,
                           ``question``+``sentence``, ``premise``+``hypothesis``, ``question1``+``question2``;
                           ``label`` (a name, a class id, or a float for regression)
token-classification       ``tokens`` + ``ner_tags`` (or ``tags``, ``labels``), or a CoNLL file: one token per line,
                           the token in the first column and its tag in the last, a blank line between sentences
question-answering         ``question``, ``context``, ``answers`` ``{"text": [...], "answer_start": [...]}``
                           (optional ``id``); or a SQuAD v1.1/v2.0 JSON file (``data`` / ``paragraphs`` / ``qas``)
multiple-choice            ``article``, ``question``, ``options`` (a list), ``answer`` (a letter or an index; or
                           ``label``)
=========================  ==========================================================================================

A record without a field the task needs raises :class:`~albert_core.InputError` naming the file, the line (or the
data set row) and the field.

>>> load_examples("text-classification", [{"sentence": "Good", "label": "pos"}])
[{'text': 'Good', 'text_pair': None, 'label': 'pos'}]
>>> load_examples("multiple-choice", [{"article": "A", "question": "B", "options": ["x", "y"], "answer": "B"}])
[{'article': 'A', 'question': 'B', 'options': ['x', 'y'], 'answer': 'B'}]
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..errors import InputError
from .config import canonical_task

#: The pairs of fields a classification record may hold, tried in order.
PAIR_FIELDS = (("sentence1", "sentence2"), ("question", "sentence"), ("premise", "hypothesis"),
               ("question1", "question2"), ("text", "text_pair"))
SINGLE_FIELDS = ("sentence", "text")
TAG_FIELDS = ("ner_tags", "tags", "labels")
CONLL_SUFFIXES = (".conll", ".conllu", ".iob", ".bio")

Record = tuple[str, Mapping[str, Any]]  # (where it came from, the record)


# ---------------------------------------------------------------------------------------------- reading files


def read_records(path: str | os.PathLike[str]) -> list[Record]:
    """Every record of a JSON lines (``.jsonl``/``.ndjson``), JSON (a list of objects, or SQuAD's nested layout,
    flattened), CSV or TSV file, each with a ``"FILE, line N"`` location for error messages.

    Raises:
        InputError: for a missing file, a line that is not a JSON object, or an unknown file type.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such data file")
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8-sig")
    if suffix in (".jsonl", ".ndjson"):
        return _json_lines(path, text)
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            if text.lstrip().startswith("{"):  # JSON lines saved as .json (as datasets' to_json writes)
                return _json_lines(path, text)
            raise InputError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg})") from None
        if isinstance(data, Mapping) and "data" in data:
            return squad_records(data, str(path))
        if isinstance(data, list):
            return [(f"{path}, item {i}", _object(item, f"{path}, item {i}")) for i, item in enumerate(data)]
        raise InputError(f"{path}: expected a list of records or SQuAD's {{'data': [...]}} layout")
    if suffix in (".csv", ".tsv"):
        delimiter = "\t" if suffix == ".tsv" else ","
        reader = csv.DictReader(text.splitlines(), delimiter=delimiter)
        if not reader.fieldnames:
            raise InputError(f"{path}: the file has no header row")
        records = []
        for row in reader:
            where = f"{path}, line {reader.line_num}"
            if None in row:
                raise InputError(f"{where}: more cells than the {len(reader.fieldnames)} columns of the header")
            records.append((where, {k: v for k, v in row.items()}))
        return records
    raise InputError(f"{path}: unknown data file type {suffix!r}; use .jsonl, .json, .csv, .tsv or a CoNLL file "
                     f"({', '.join(CONLL_SUFFIXES)})")


def _json_lines(path: Path, text: str) -> list[Record]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not valid JSON ({exc.msg})") from None
        records.append((where, _object(value, where)))
    return records


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


def squad_records(data: Mapping[str, Any], source: str = "SQuAD data") -> list[Record]:
    """Flatten SQuAD v1.1 / v2.0 JSON (``data`` / ``paragraphs`` / ``qas``) into question records (``id``,
    ``question``, ``context``, ``answers``); a v2.0 question with ``is_impossible`` gets no answers.

    >>> squad = {"data": [{"paragraphs": [{"context": "Rome is old.", "qas": [
    ...     {"id": "q1", "question": "What is old?", "answers": [{"text": "Rome", "answer_start": 0}]}]}]}]}
    >>> squad_records(squad)[0][1]["answers"]
    {'text': ['Rome'], 'answer_start': [0]}
    """
    records = []
    articles = data.get("data")
    if not isinstance(articles, list):
        raise InputError(f"{source}: 'data' must be a list of articles")
    for a, article in enumerate(articles):
        for p, paragraph in enumerate(_require(article, "paragraphs", f"{source}, data[{a}]")):
            where_p = f"{source}, data[{a}].paragraphs[{p}]"
            context = _require(paragraph, "context", where_p)
            for q, qa in enumerate(_require(paragraph, "qas", where_p)):
                where = f"{where_p}.qas[{q}]"
                answers = [] if qa.get("is_impossible") else _require(qa, "answers", where)
                if not isinstance(answers, list):
                    raise InputError(f"{where}: 'answers' must be a list of {{text, answer_start}} objects")
                records.append((where, {
                    "id": qa.get("id", f"{a}-{p}-{q}"), "question": _require(qa, "question", where),
                    "context": context,
                    "answers": {"text": [_require(x, "text", where) for x in answers],
                                "answer_start": [_require(x, "answer_start", where) for x in answers]}}))
    return records


def read_conll(path: str | os.PathLike[str]) -> list[Record]:
    """Sentences of a CoNLL file as ``{"tokens", "ner_tags"}`` records: one token per line, the token in the first
    column and the tag in the last (white space separated), blank lines between sentences; ``-DOCSTART-`` lines
    are skipped.

    Raises:
        InputError: for a line with fewer than two columns (naming the file and line).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such data file")
    records: list[Record] = []
    tokens: list[str] = []
    tags: list[str] = []
    start = 1
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    for number, line in enumerate([*lines, ""], start=1):
        columns = line.split()
        if not columns or columns[0] == "-DOCSTART-":
            if tokens:
                records.append((f"{path}, line {start}", {"tokens": tokens, "ner_tags": tags}))
            tokens, tags = [], []
            continue
        if len(columns) < 2:
            raise InputError(f"{path}, line {number}: expected a token and its tag in separate columns, got "
                             f"{line.strip()!r}")
        if not tokens:
            start = number
        tokens.append(columns[0])
        tags.append(columns[-1])
    return records


def dataset_records(dataset: Any) -> list[Record]:
    """The rows of a ``datasets.Dataset`` (or anything with ``column_names`` whose iteration or ``__getitem__``
    gives dict rows), each with a ``"dataset row N"`` location.

    >>> class Rows(list):
    ...     column_names = ["sentence", "label"]
    >>> dataset_records(Rows([{"sentence": "Hi", "label": 1}]))
    [('dataset row 0', {'sentence': 'Hi', 'label': 1})]
    """
    if not hasattr(dataset, "column_names"):
        raise InputError(f"expected a datasets.Dataset (an object with column_names), got {type(dataset).__name__}")
    try:
        rows: Iterable[Any] = iter(dataset)
    except TypeError:
        rows = (dataset[i] for i in range(len(dataset)))
    return [(f"dataset row {i}", _object(row, f"dataset row {i}")) for i, row in enumerate(rows)]


def dataset_label_names(dataset: Any, column: str) -> list[str] | None:
    """The class names a ``datasets.Dataset`` declares for ``column`` (``ClassLabel`` or a sequence of them), if any."""
    feature = getattr(dataset, "features", None)
    feature = feature.get(column) if isinstance(feature, Mapping) else None
    feature = getattr(feature, "feature", feature)  # Sequence(ClassLabel) -> ClassLabel
    names = getattr(feature, "names", None)
    return list(names) if isinstance(names, (list, tuple)) and names else None


def records_from(source: Any, task: str | None = None) -> list[Record]:
    """Records from a file path (JSON lines, JSON, CSV, TSV, or CoNLL for token classification), a list of dicts,
    or a ``datasets.Dataset``."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.suffix.lower() in CONLL_SUFFIXES or (
                task == "token-classification" and path.suffix.lower() in (".txt", ".tsv") and _looks_like_conll(path)):
            return read_conll(path)
        return read_records(path)
    if hasattr(source, "column_names"):
        return dataset_records(source)
    if isinstance(source, (list, tuple)):
        return [(f"record {i}", _object(r, f"record {i}")) for i, r in enumerate(source)]
    raise InputError(f"data must be a file path, a list of dicts or a datasets.Dataset, got {type(source).__name__}")


def _looks_like_conll(path: Path) -> bool:
    if not path.is_file():
        return False
    with open(path, encoding="utf-8-sig") as handle:
        first = next((line for line in handle if line.strip()), "")
    return len(first.split()) >= 2 and not first.split()[0].startswith(("tokens", "{"))


# ---------------------------------------------------------------------------------------------- examples per task


def _require(record: Any, field: str, where: str) -> Any:
    if not isinstance(record, Mapping):
        raise InputError(f"{where}: expected an object with the field {field!r}, got {type(record).__name__}")
    if field not in record or record[field] is None:
        present = ", ".join(sorted(map(str, record))) or "none"
        raise InputError(f"{where}: missing field {field!r} (fields present: {present})")
    return record[field]


def _text(record: Mapping[str, Any], field: str, where: str) -> str:
    value = _require(record, field, where)
    if not isinstance(value, str):
        raise InputError(f"{where}: field {field!r} must be a string, got {type(value).__name__}")
    return value


def _list_field(record: Mapping[str, Any], field: str, where: str) -> list[Any]:
    value = _require(record, field, where)
    if isinstance(value, str):
        try:
            value = json.loads(value)  # a list stored as JSON text in a CSV cell
        except json.JSONDecodeError:
            raise InputError(f"{where}: field {field!r} must be a list, got the string {value!r:.60}") from None
    if not isinstance(value, (list, tuple)):
        raise InputError(f"{where}: field {field!r} must be a list, got {type(value).__name__}")
    return list(value)


def classification_example(record: Mapping[str, Any], where: str, need_label: bool = True) -> dict[str, Any]:
    """``{"text", "text_pair", "label"}`` from a GLUE-style record (see the table above)."""
    for first, second in PAIR_FIELDS:
        if first in record and second in record and record[second] is not None:
            text, pair = _text(record, first, where), _text(record, second, where)
            break
    else:
        field = next((f for f in SINGLE_FIELDS if f in record), None)
        if field is None:
            present = ", ".join(sorted(map(str, record))) or "none"
            raise InputError(f"{where}: missing field 'sentence' (or 'text', or a pair such as 'sentence1'/"
                             f"'sentence2'); fields present: {present}")
        text, pair = _text(record, field, where), None
    label = _require(record, "label", where) if need_label else record.get("label")
    if isinstance(label, str) and label.strip() == "" and need_label:
        raise InputError(f"{where}: field 'label' is empty")
    return {"text": text, "text_pair": pair, "label": label}


def token_example(record: Mapping[str, Any], where: str, need_label: bool = True) -> dict[str, Any]:
    """``{"tokens", "tags"}`` from a ``tokens``/``ner_tags`` record (tags may be names or ids)."""
    tokens = _list_field(record, "tokens", where)
    if not tokens:
        raise InputError(f"{where}: field 'tokens' is empty")
    for k, token in enumerate(tokens):
        if not isinstance(token, str) or not token:
            raise InputError(f"{where}: tokens[{k}] must be a non-empty string, got {token!r}")
    field = next((f for f in TAG_FIELDS if f in record), None)
    if field is None:
        if need_label:
            raise InputError(f"{where}: missing field 'ner_tags' (or 'tags'); fields present: "
                             f"{', '.join(sorted(map(str, record)))}")
        return {"tokens": tokens, "tags": None}
    tags = _list_field(record, field, where)
    if len(tags) != len(tokens):
        raise InputError(f"{where}: {len(tokens)} tokens but {len(tags)} tags in {field!r}")
    return {"tokens": tokens, "tags": tags}


def qa_example(record: Mapping[str, Any], where: str, need_label: bool = True) -> dict[str, Any]:
    """``{"id", "question", "context", "answers"}`` from a flattened SQuAD record; the answers are checked against
    the context (the text must be at ``answer_start``)."""
    question, context = _text(record, "question", where), _text(record, "context", where)
    answers = _require(record, "answers", where) if need_label else record.get("answers")
    if answers is not None:
        if isinstance(answers, str):
            try:
                answers = json.loads(answers)
            except json.JSONDecodeError:
                raise InputError(f"{where}: field 'answers' must be an object {{text, answer_start}}") from None
        if not isinstance(answers, Mapping):
            raise InputError(f"{where}: field 'answers' must be an object {{text: [...], answer_start: [...]}}, "
                             f"got {type(answers).__name__}")
        texts = _list_field(answers, "text", f"{where}, answers")
        starts = _list_field(answers, "answer_start", f"{where}, answers")
        if len(texts) != len(starts):
            raise InputError(f"{where}: {len(texts)} answer texts but {len(starts)} answer_start values")
        for text, start in zip(texts, starts):
            if isinstance(start, bool) or not isinstance(start, int) or not isinstance(text, str):
                raise InputError(f"{where}: answers need str texts and int starts, got {text!r} at {start!r}")
            if context[start:start + len(text)] != text:
                raise InputError(f"{where}: the answer {text!r} is not at answer_start {start} of the context "
                                 f"(found {context[start:start + len(text)]!r})")
        answers = {"text": texts, "answer_start": starts}
    return {"id": str(record.get("id", where)), "question": question, "context": context, "answers": answers}


def multiple_choice_example(record: Mapping[str, Any], where: str, need_label: bool = True) -> dict[str, Any]:
    """``{"article", "question", "options", "answer"}`` from a RACE-style record."""
    article, question = _text(record, "article", where), _text(record, "question", where)
    options = _list_field(record, "options", where)
    if len(options) < 2 or not all(isinstance(o, str) for o in options):
        raise InputError(f"{where}: field 'options' must list at least two strings")
    field = "answer" if "answer" in record else "label"
    answer = _require(record, field, where) if need_label else record.get(field)
    if isinstance(answer, str) and answer.strip().lstrip("-").isdigit():
        answer = int(answer)  # an index read from a CSV cell
    if answer is not None:
        from ..tasks import label_id

        try:
            label_id(answer, len(options))
        except InputError as exc:
            raise InputError(f"{where}: field {field!r}: {exc}") from None
    return {"article": article, "question": question, "options": options, "answer": answer}


EXAMPLE_READERS = {
    "text-classification": classification_example,
    "token-classification": token_example,
    "question-answering": qa_example,
    "multiple-choice": multiple_choice_example,
}


def load_examples(task: str, source: Any, *, need_labels: bool = True, limit: int | None = None
                  ) -> list[dict[str, Any]]:
    """The examples of ``task`` from ``source`` (a file path, a list of dicts, or a ``datasets.Dataset``).

    Args:
        task: a task name or alias (see :func:`albert_core.finetuning.config.canonical_task`).
        source: where the records are.
        need_labels: raise when a record has no label (training and evaluation data need them).
        limit: keep only the first ``limit`` examples.

    Raises:
        InputError: for an empty source or a record without a field the task needs (naming where it is).
    """
    task = canonical_task(task)
    records = records_from(source, task)
    if limit is not None:
        records = records[:limit]
    if not records:
        raise InputError(f"{_describe(source)}: no records")
    reader = EXAMPLE_READERS[task]
    return [reader(record, where, need_labels) for where, record in records]


def _describe(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return type(source).__name__


def write_jsonl(records: Sequence[Mapping[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write records as JSON lines (UTF-8, one object per line); return the path.

    >>> import tempfile, os
    >>> path = write_jsonl([{"sentence": "Hi", "label": 1}], os.path.join(tempfile.mkdtemp(), "d.jsonl"))
    >>> load_examples("classification", path)[0]["label"]
    1
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


__all__ = [
    "EXAMPLE_READERS",
    "classification_example",
    "dataset_label_names",
    "dataset_records",
    "load_examples",
    "multiple_choice_example",
    "qa_example",
    "read_conll",
    "read_records",
    "records_from",
    "squad_records",
    "token_example",
    "write_jsonl",
]
