"""Sphinx configuration for the albert-lite documentation.

Build with ``sphinx-build -W --keep-going -b html docs docs/_build/html``. No network access is needed: there are no
intersphinx mappings, and the generated tables come from ``docs/_ext/albert_docs.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))

# quiet framework start-up noise while autodoc imports the backends
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import albert_core  # noqa: E402

project = "albert-lite"
author = "albert-lite contributors"
copyright = "albert-lite contributors, Apache-2.0"
release = albert_core.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",  # for the hidden ``testsetup`` blocks that tests/test_docs.py runs
    "sphinx.ext.viewcode",
    "albert_docs",
]

exclude_patterns = ["_build"]
templates_path: list[str] = []
html_static_path: list[str] = []
html_theme = "alabaster"
html_theme_options = {"description": "ALBERT for PyTorch and TensorFlow", "fixed_sidebar": False}
html_title = f"albert-lite {release}"

# ---------------------------------------------------------------- autodoc
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_class_signature = "mixed"
autodoc_default_options = {"show-inheritance": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_attr_annotations = True

# ---------------------------------------------------------------- references
# Every cross-reference must resolve. Only types of third-party packages (documented elsewhere, and not linkable
# without intersphinx, which would need the network) are exempt.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(torch|tf|tensorflow|keras|np|numpy|os|pathlib|typing|collections\.abc|contextlib|enum)\..*"),
    (r"py:.*", r"(Any|Path|Iterable|Sequence|Mapping|Callable|Iterator|Union|Optional|TextInput|Shape)"),
    (r"py:class", r"(optional|default|int|float|str|bool|dict|list|tuple|None)"),
]
