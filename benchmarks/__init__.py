"""albert-lite benchmarks: run them all with ``python -m benchmarks`` (see :mod:`benchmarks.suite`)."""
