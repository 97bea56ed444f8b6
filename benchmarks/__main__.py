"""``python -m benchmarks``: every benchmark in one run (see ``benchmarks/suite.py`` for the sections)."""

from benchmarks.suite import main

if __name__ == "__main__":
    main()
