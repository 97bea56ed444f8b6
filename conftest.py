"""Root conftest: quiet framework logging for every test, doctests included."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

collect_ignore_glob = ["scripts/*", "benchmarks/*", "docs/*"]
