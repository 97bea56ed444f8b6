"""The layers of albert-lite, checked on the source with ``ast`` (nothing is imported).

Layers, bottom up: ``albert_core`` (framework-neutral) <- ``albert_pt`` | ``albert_tf`` (one backend each) <-
``albert_cli`` (tools). Every import statement in a file counts, wherever it is (module level, inside a function,
under ``if``/``try``), and so does the string literal given to ``importlib.import_module(...)`` / ``__import__(...)``.
An import is *lazy* when it sits inside a function (or lambda) body, so it runs only when that function is called.

The rules:

1. ``albert_core`` never imports ``albert_pt``, ``albert_tf``, ``albert_cli`` or ``transformers``, lazily or not.
   At module level it imports none of the optional heavy packages (``torch``, ``tensorflow``, ``keras``,
   ``tf_keras``, ``h5py``). Lazily it may import one of them only where :data:`LAZY_FRAMEWORK_IMPORTS` allows it:
   a checkpoint format module, for the package its row of :data:`albert_core.checkpoints.FORMATS` names under
   ``requires`` (the format cannot be read or written without it), plus the explicitly listed conversions to
   framework tensors (the tokenizer's ``return_tensors``).
2. ``albert_pt`` imports no other layer than ``albert_core`` (never ``albert_tf``/``albert_cli``); ``albert_tf``
   likewise (never ``albert_pt``/``albert_cli``).
3. Only ``albert_cli`` imports ``albert_cli``.
4. No import cycle among the library's modules: the graph of imports between them (all imports, lazy ones
   included) has no strongly connected component of more than one module, and no module imports itself. Importing
   ``a.b.c`` also runs the ``__init__`` of ``a`` and ``a.b``; those implicit edges are left out, as every submodule
   would otherwise form a cycle with the package that imports it.

The negative controls at the end feed the same checker synthetic sources, so these tests cannot pass vacuously.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from conftest import REPO_ROOT

LIBRARY = ("albert_core", "albert_pt", "albert_tf", "albert_cli")
#: What each layer may import from the library (besides itself).
ALLOWED_LAYERS = {
    "albert_core": set(),
    "albert_pt": {"albert_core"},
    "albert_tf": {"albert_core"},
    "albert_cli": {"albert_core", "albert_pt", "albert_tf"},
}
#: Optional heavy packages the core may import only lazily, and only where listed below.
HEAVY = ("torch", "tensorflow", "keras", "tf_keras", "h5py")
#: Never imported by the core, lazily or not (a test oracle, not a dependency).
NEVER_IN_CORE = ("transformers",)


def _format_module_dependencies() -> dict[str, set[str]]:
    from albert_core.checkpoints import FORMATS

    allowed: dict[str, set[str]] = {}
    for fmt in FORMATS:
        if fmt.requires is not None:
            allowed.setdefault(fmt.reader.__module__, set()).add(fmt.requires)
    return allowed


#: module -> heavy packages it may import lazily (inside functions).
LAZY_FRAMEWORK_IMPORTS: dict[str, set[str]] = {
    **_format_module_dependencies(),
    # return_tensors="pt" / "tf" hands back framework tensors, as transformers' tokenizers do
    "albert_core.tokenizer.batching": {"torch", "tensorflow"},
}


@dataclass(frozen=True)
class Import:
    """One import found in a source file."""

    target: str  # absolute module name (for ``from m import n``: ``m.n`` when that is a library module, else ``m``)
    lazy: bool  # inside a function body
    line: int


def _resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    package = module if is_package else module.rpartition(".")[0]
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{name}" if name else package


class _ImportCollector(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, known_modules: set[str]) -> None:
        self.module, self.is_package, self.known = module, is_package, known_modules
        self.function_depth = 0
        self.found: list[Import] = []

    def _add(self, target: str, node: ast.AST) -> None:
        self.found.append(Import(target, self.function_depth > 0, node.lineno))

    def _visit_function(self, node: ast.AST) -> None:
        self.function_depth += 1
        self.generic_visit(node)
        self.function_depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _visit_function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = _resolve_relative(self.module, self.is_package, node.level, node.module) if node.level else node.module
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            self._add(submodule if submodule in self.known else base, node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name in ("import_module", "__import__") and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                target = first.value
                if target.startswith("."):
                    level = len(target) - len(target.lstrip("."))
                    target = _resolve_relative(self.module, self.is_package, level, target.lstrip(".") or None)
                self._add(target, node)
        self.generic_visit(node)


def collect_imports(source: str, module: str, is_package: bool = False,
                    known_modules: set[str] | None = None) -> list[Import]:
    """Every import of a module's source (see the module docstring for what counts)."""
    collector = _ImportCollector(module, is_package, known_modules or set())
    collector.visit(ast.parse(source))
    return collector.found


def library_sources(root: Path = REPO_ROOT) -> dict[str, tuple[str, bool]]:
    """``module name -> (source, is_package)`` for every module of the library's packages."""
    sources = {}
    for package in LIBRARY:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            is_package = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if is_package else parts)
            sources[name] = (path.read_text(encoding="utf-8"), is_package)
    return sources


def import_graph(sources: dict[str, tuple[str, bool]]) -> dict[str, list[Import]]:
    known = set(sources)
    return {name: collect_imports(text, name, is_package, known) for name, (text, is_package) in sources.items()}


def _top(name: str) -> str:
    return name.split(".")[0]


def layer_violations(graph: dict[str, list[Import]]) -> list[str]:
    """Rules 1-3 of the module docstring, as readable messages (empty when all hold)."""
    problems = []
    for module, imports in graph.items():
        layer = _top(module)
        for imp in imports:
            top = _top(imp.target)
            where = f"{module}:{imp.line} imports {imp.target}" + (" (lazily)" if imp.lazy else "")
            if top in LIBRARY and top != layer and top not in ALLOWED_LAYERS[layer]:
                problems.append(f"{where}: {layer} may not import {top}")
            if layer != "albert_core":
                continue
            if top in NEVER_IN_CORE:
                problems.append(f"{where}: the core never imports {top}")
            elif top in HEAVY and not imp.lazy:
                problems.append(f"{where}: the core imports {top} only inside functions")
            elif top in HEAVY and top not in LAZY_FRAMEWORK_IMPORTS.get(module, set()):
                problems.append(f"{where}: {module} has no reason to import {top} (see LAZY_FRAMEWORK_IMPORTS)")
    return problems


def import_cycles(graph: dict[str, list[Import]]) -> list[list[str]]:
    """The strongly connected components (Tarjan) of more than one module, plus modules that import themselves."""
    edges = {module: sorted({imp.target for imp in imports if imp.target in graph})
             for module, imports in graph.items()}
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = lowlink[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in edges[node]:
            if succ not in index:
                connect(succ)
                lowlink[node] = min(lowlink[node], lowlink[succ])
            elif succ in on_stack:
                lowlink[node] = min(lowlink[node], index[succ])
        if lowlink[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges[node]:
                cycles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return cycles


# ---------------------------------------------------------------------------------------------------------------------
# The library


def test_every_layer_is_found():
    modules = {_top(m) for m in library_sources()}
    assert modules == set(LIBRARY)
    assert "albert_core.checkpoints.formats" in library_sources()


def test_layers_import_only_downwards():
    assert layer_violations(import_graph(library_sources())) == []


def test_no_import_cycles():
    assert import_cycles(import_graph(library_sources())) == []


def test_lazy_framework_imports_are_the_format_readers():
    allowed = _format_module_dependencies()
    assert allowed == {"albert_core.checkpoints.torch_bin": {"torch"}, "albert_core.checkpoints.hf_tf": {"h5py"},
                       "albert_core.checkpoints.tf1": {"tensorflow"}}


# ---------------------------------------------------------------------------------------------------------------------
# Negative controls: the checker flags synthetic bad modules


def _synthetic(modules: dict[str, str]) -> dict[str, list[Import]]:
    return import_graph({name: (source, False) for name, source in modules.items()})


def test_checker_flags_a_framework_import_in_the_core():
    graph = _synthetic({"albert_core.bad": "import torch\n", "albert_core.also_bad": "import transformers\n"})
    problems = layer_violations(graph)
    assert len(problems) == 2
    assert "only inside functions" in problems[0] and "never imports transformers" in problems[1]


def test_checker_flags_a_lazy_framework_import_outside_the_format_readers():
    source = "def f():\n    import tensorflow as tf\n    return tf\n"
    assert "no reason to import tensorflow" in layer_violations(_synthetic({"albert_core.config": source}))[0]
    assert layer_violations(_synthetic({"albert_core.checkpoints.tf1": source})) == []


def test_checker_flags_imports_across_and_up_the_layers():
    graph = _synthetic({
        "albert_pt.bad": "from albert_tf import TFAlbertModel\n",
        "albert_tf.bad": "def f():\n    from albert_cli import cli\n",
        "albert_core.bad": "import importlib\nimportlib.import_module('albert_pt.modeling')\n",
        "albert_cli.fine": "def f():\n    import albert_pt\n",
    })
    problems = layer_violations(graph)
    assert [p.split(":")[0] for p in problems] == ["albert_pt.bad", "albert_tf.bad", "albert_core.bad"]
    assert "(lazily)" in problems[1]


def test_checker_resolves_relative_imports():
    imports = collect_imports("from ..checkpoints import formats\nfrom . import contents\n",
                              "albert_core.checkpoints.reading", known_modules={"albert_core.checkpoints.formats"})
    assert [i.target for i in imports] == ["albert_core.checkpoints.formats", "albert_core.checkpoints"]


def test_checker_finds_a_cycle():
    graph = _synthetic({"albert_core.a": "from . import b\n", "albert_core.b": "def f():\n    from .c import x\n",
                        "albert_core.c": "import albert_core.a\n", "albert_core.d": "from albert_core import a\n"})
    assert import_cycles(graph) == [["albert_core.a", "albert_core.b", "albert_core.c"]]
    assert import_cycles(_synthetic({"albert_core.a": "import albert_core.a\n"})) == [["albert_core.a"]]
