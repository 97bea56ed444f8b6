"""albert_tf vs transformers TF (XLA and tf.function): now a section of the one benchmark command.

    python benchmarks/bench_tf.py [--size base|tiny] [--quick] ...   # same as: python -m benchmarks --only tf

Extra arguments are those of ``python -m benchmarks`` (see ``benchmarks/suite.py``).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.suite import main  # noqa: E402

if __name__ == "__main__":
    main(["--only", "tf", "--name", "tf", *sys.argv[1:]])
