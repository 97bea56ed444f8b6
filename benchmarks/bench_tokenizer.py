"""tokenizer throughput vs transformers and raw SentencePiece: now a section of the one benchmark command.

    python benchmarks/bench_tokenizer.py [--size base|tiny] [--quick] ...
    # same as: python -m benchmarks --only tokenizer

Extra arguments are those of ``python -m benchmarks`` (see ``benchmarks/suite.py``).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.suite import main  # noqa: E402

if __name__ == "__main__":
    main(["--only", "tokenizer", "--name", "tokenizer", *sys.argv[1:]])
