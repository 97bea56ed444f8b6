"""The documentation builds cleanly and its examples run.

* Every page's examples run, in order, in one fresh Python process per page, inside an empty temporary directory:
  ``.. code-block:: python`` blocks and hidden ``.. testsetup::`` blocks are executed in one shared namespace, and
  every ``$ command`` line of a ``.. code-block:: console`` block is run by the shell and must exit with status 0
  (``albert`` is replaced by ``python -m albert_cli`` when the entry point is not installed). ``bash`` and
  ``text`` blocks are shown, never run (installation commands, sample output).
* ``sphinx-build -W --keep-going`` succeeds with no warning: broken references, bad docstring RST and import
  failures all fail the test.
* The API reference documents every public class (its anchor is in the HTML, followed by a docstring), and the
  generated tables are there.

Docstring examples inside the packages run through ``--doctest-modules`` (see ``pyproject.toml``), not here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGE_TIMEOUT_S = 180
BUILD_TIMEOUT_S = 300

_DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\. (?:(?P<code>code-block|code|sourcecode)::\s*(?P<lang>\S+)|"
                        r"(?P<setup>testsetup)::.*)\s*$")
_OPTION = re.compile(r"^\s*:[\w-]+:")


def extract_blocks(path: Path) -> list[dict]:
    """The runnable blocks of an .rst page, in order: ``{"kind": "python" | "console", "line": n, "code": text}``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    k = 0
    while k < len(lines):
        match = _DIRECTIVE.match(lines[k])
        if not match:
            k += 1
            continue
        lang = "python" if match.group("setup") else match.group("lang")
        indent = len(match.group("indent"))
        k += 1
        while k < len(lines) and _OPTION.match(lines[k]):
            k += 1
        body_start = k
        body: list[str] = []
        while k < len(lines) and (not lines[k].strip() or len(lines[k]) - len(lines[k].lstrip()) > indent):
            body.append(lines[k])
            k += 1
        if lang in ("python", "python3", "py", "console"):
            blocks.append({"kind": "console" if lang == "console" else "python", "line": body_start + 1,
                           "code": textwrap.dedent("\n".join(body)).strip("\n") + "\n"})
    return blocks


# Runs one page's blocks; argv: page name, JSON file of blocks. Prints which block failed.
_DRIVER = r'''
import json, os, shlex, shutil, subprocess, sys, traceback
page, blocks_file = sys.argv[1], sys.argv[2]
blocks = json.load(open(blocks_file, encoding="utf-8"))
namespace = {"__name__": "__main__"}
albert = "albert" if shutil.which("albert") else shlex.quote(sys.executable) + " -m albert_cli"
for block in blocks:
    where = f"{page}:{block['line']}"
    if block["kind"] == "python":
        try:
            exec(compile(block["code"], where, "exec"), namespace)
        except BaseException:
            traceback.print_exc()
            print(f"DOC EXAMPLE FAILED: python block at {where}", flush=True)
            sys.exit(1)
        continue
    commands, current = [], ""
    for line in block["code"].splitlines():
        if current:
            current += "\n" + line
        elif line.startswith("$ "):
            current = line[2:]
        else:
            continue  # sample output
        if not current.endswith("\\"):
            commands.append(current)
            current = ""
    for command in commands:
        if command.startswith("albert "):
            command = albert + command[len("albert"):]
        print(f"$ {command}", flush=True)
        rc = subprocess.run(command, shell=True).returncode
        if rc != 0:
            print(f"DOC EXAMPLE FAILED: command exited {rc} at {where}: {command}", flush=True)
            sys.exit(1)
print(f"{page}: {len(blocks)} blocks ran", flush=True)
'''


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # transformers' TF code sets TF_USE_LEGACY_KERAS=1 in the worker that imported it; pages start clean
    env.pop("TF_USE_LEGACY_KERAS", None)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.setdefault("OMP_NUM_THREADS", "2")
    return env


PAGES = sorted(p for p in DOCS.rglob("*.rst") if "_build" not in p.parts and extract_blocks(p))


class _Jobs:
    """The Sphinx build and every page's examples, run as subprocesses two at a time (the machine has 2 cores and
    most of each job is a single-threaded framework import), started when the first test asks for one."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.futures: dict[str, object] = {}

    def _run(self, argv: list[str], cwd: Path, timeout: int) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(argv, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            return subprocess.CompletedProcess(argv, -1, str(exc.stdout or ""), f"timed out after {timeout} s")

    def start(self) -> None:
        if self.futures:
            return
        html = self.root / "html"
        self.futures["build"] = self.pool.submit(
            self._run, [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS),
                        str(html)], ROOT, BUILD_TIMEOUT_S)
        for page in PAGES:
            name = page.relative_to(DOCS).as_posix()
            work = self.root / "pages" / name.replace("/", "__")
            work.mkdir(parents=True)
            blocks_file = work.parent / (work.name + ".json")
            blocks_file.write_text(json.dumps(extract_blocks(page)), encoding="utf-8")
            self.futures[name] = self.pool.submit(
                self._run, [sys.executable, "-c", _DRIVER, f"docs/{name}", str(blocks_file)], work, PAGE_TIMEOUT_S)

    def result(self, key: str) -> subprocess.CompletedProcess:
        self.start()
        return self.futures[key].result()


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    runner = _Jobs(tmp_path_factory.mktemp("docs"))
    yield runner
    runner.pool.shutdown(wait=True, cancel_futures=True)


def test_pages_with_examples_are_found():
    names = {p.relative_to(DOCS).as_posix() for p in PAGES}
    assert {"installation.rst", "quickstart.rst", "checkpoints.rst"} <= names, names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_page_examples_run(page: Path, jobs: _Jobs):
    name = page.relative_to(DOCS).as_posix()
    proc = jobs.result(name)
    assert proc.returncode == 0, f"examples of docs/{name} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"


def test_extract_blocks_reads_options_and_skips_shell(tmp_path: Path):
    page = tmp_path / "p.rst"
    page.write_text(textwrap.dedent("""\
        Title
        =====

        .. code-block:: python
           :caption: x

           a = 1

           b = a + 1

        .. code-block:: bash

           pip install nothing

        .. testsetup::

           c = 3

        .. code-block:: console

           $ albert info x
           output line
        """), encoding="utf-8")
    blocks = extract_blocks(page)
    assert [b["kind"] for b in blocks] == ["python", "python", "console"]
    assert blocks[0]["code"] == "a = 1\n\nb = a + 1\n"
    assert blocks[2]["code"] == "$ albert info x\noutput line\n"


# ----------------------------------------------------------------------------------------------------------- build


def _build_problems(proc: subprocess.CompletedProcess) -> list[str]:
    log = proc.stdout + proc.stderr
    problems = [line for line in log.splitlines() if re.search(r": (WARNING|ERROR|CRITICAL):", line)]
    if proc.returncode != 0 and not problems:
        problems = [log[-6000:]]
    return problems


@pytest.fixture(scope="module")
def built_html(jobs: _Jobs) -> Path:
    """The built HTML; with --keep-going it exists even when there were warnings (reported by the test below)."""
    proc = jobs.result("build")
    html = jobs.root / "html"
    if not (html / "index.html").is_file():
        pytest.fail("sphinx-build produced no HTML:\n" + "\n".join(_build_problems(proc)))
    return html


def test_sphinx_build_has_no_warnings(jobs: _Jobs):
    problems = _build_problems(jobs.result("build"))
    assert not problems, f"sphinx-build -W reported {len(problems)} problems:\n" + "\n".join(problems)


CORE_CLASSES = ["albert_core.AlbertConfig", "albert_core.tokenizer.AlbertTokenizer"]
TOKENIZER_METHODS = ["build_inputs_with_special_tokens", "get_special_tokens_mask",
                     "create_token_type_ids_from_sequences", "save_vocabulary"]
MODEL_NAMES = ["AlbertModel", "AlbertForPreTraining", "AlbertForMaskedLM", "AlbertForSequenceClassification",
               "AlbertForMultipleChoice", "AlbertForTokenClassification", "AlbertForQuestionAnswering"]
DOCUMENTED = (
    CORE_CLASSES
    + [f"albert_core.tokenizer.AlbertTokenizer.{m}" for m in TOKENIZER_METHODS]
    + ["albert_pt.AlbertForPreTrainingOutput", "albert_tf.TFAlbertForPreTrainingOutput"]
    + [f"albert_pt.{name}" for name in MODEL_NAMES]
    + [f"albert_pt.{name}.forward" for name in MODEL_NAMES]
    + [f"albert_tf.TF{name}" for name in MODEL_NAMES]
    + [f"albert_tf.TF{name}.call" for name in MODEL_NAMES]
)


def _docstring_after(html: str, anchor: str) -> str:
    """The text of the description (``<dd>``) that follows the signature with id ``anchor``."""
    start = html.find(f'id="{anchor}"')
    assert start >= 0, f"{anchor} is not documented"
    dd = html.find("<dd>", start)
    assert dd >= 0, f"{anchor} has no description"
    body = html[dd + 4:]
    nested = [i for i in (body.find("<dl"), body.find("</dd>")) if i >= 0]
    return re.sub(r"<[^>]+>", " ", body[: min(nested)]).strip()


@pytest.mark.parametrize("anchor", DOCUMENTED)
def test_api_page_documents(built_html: Path, anchor: str):
    html = (built_html / "model_doc" / "albert.html").read_text(encoding="utf-8")
    assert len(_docstring_after(html, anchor)) > 10, f"{anchor} is documented without a docstring"


def test_generated_tables(built_html: Path):
    from albert_core import PRESETS

    albert = (built_html / "model_doc" / "albert.html").read_text(encoding="utf-8")
    for name in PRESETS:
        assert name in albert
    weight_map = (built_html / "weight_map.html").read_text(encoding="utf-8")
    for fragment in ("bert/encoder/transformer/group_{g}/inner_group_{i}/attention_1/self/query/kernel",
                     "albert/encoder/albert_layer_groups_._{g}/albert_layers_._{i}/ffn/kernel:0",
                     "cls/seq_relationship/output_weights"):
        assert fragment in weight_map, fragment
