"""Choosing among equivalent implementations by measuring them on this machine, once, and remembering the choice.

Both backends' fast paths have a choice that depends on the machine rather than on the model: PyTorch's picks a GEMM
kernel per linear shape (:class:`albert_pt.inference.GemmTuner`), TensorFlow's picks the XLA or the plain graph per
input shape (:class:`albert_tf.inference.GraphTuner`). Each is a :class:`Tuner`: it times the candidates round robin
on first use of a key, keeps the fastest in memory and, with a cache file, on disk under a prefix naming the machine
(CPU model, framework version, threads), so that a second process does not measure again.

>>> tuner = Tuner("demo 1", machine="this machine", budget_s=0.0, min_reps=1)
>>> tuner.choose("sum", {"short": lambda: sum(range(10)), "long": lambda: sum(range(100000))})
'short'
>>> sorted(tuner.decisions["sum"]["median_us"])
['long', 'short']
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from .errors import UsageError

__all__ = ["Tuner", "cpu_model_name"]


def cpu_model_name() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (``platform.processor()`` elsewhere).

    >>> isinstance(cpu_model_name(), str)
    True
    """
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class Tuner:
    """Times the candidates of a key once and remembers the fastest.

    A measurement makes one warm-up call per candidate (first-call allocations, kernel creation, compilation), then
    round-robin calls until each candidate has ``min_reps`` samples and the measurement has taken ``budget_s``
    seconds (at most ``max_reps`` rounds); the candidate with the lowest median wins.

    Args:
        kind: names the decisions in the cache file (``"gemm decisions 1"``); files of another kind are ignored.
        machine: the prefix of every disk key (what makes a decision valid elsewhere: CPU model, framework version,
            thread count).
        cache_file: JSON file to keep decisions in across processes (``None``: memory only). A damaged file is
            measured again and rewritten; writes are atomic.
        budget_s: the least time one measurement takes (longer when ``min_reps`` calls need it).
        min_reps, max_reps: bounds on the timed calls per candidate.
    """

    def __init__(self, kind: str, machine: str, cache_file: str | os.PathLike[str] | None = None,
                 budget_s: float = 0.03, min_reps: int = 3, max_reps: int = 20) -> None:
        if min_reps < 1 or max_reps < min_reps:
            raise UsageError(f"need 1 <= min_reps <= max_reps, got min_reps={min_reps}, max_reps={max_reps}")
        self.kind, self.machine = kind, machine
        self.cache_file = None if cache_file is None else Path(cache_file)
        self.budget_s, self.min_reps, self.max_reps = budget_s, min_reps, max_reps
        #: Every decision of this process, by key; each holds ``choice`` and ``median_us`` (microseconds per
        #: candidate) and the fields given to :meth:`choose`.
        self.decisions: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()
        self._disk: dict[str, Any] | None = None

    def machine_key(self) -> str:
        """The prefix of every disk key."""
        return self.machine

    def choose(self, key: str, candidates: Mapping[str, Callable[[], Any]], **record: Any) -> str:
        """The fastest of ``candidates`` (name -> a call running it once) for ``key``, measured on first use;
        ``record`` adds fields to the stored decision."""
        names = list(candidates)
        if len(names) == 1:
            return names[0]
        with self._lock:
            found = self.decisions.get(key)
            if found is None:
                disk = self._read_disk().get(f"{self.machine_key()} | {key}")
                if isinstance(disk, dict) and disk.get("choice") in names:
                    found = self.decisions[key] = disk
            if found is None:
                found = self.decisions[key] = {**self.measure(candidates), **record}
                if self.cache_file is not None:
                    self._read_disk()[f"{self.machine_key()} | {key}"] = found
                    self._write_disk()
        return found["choice"]

    def measure(self, candidates: Mapping[str, Callable[[], Any]]) -> dict[str, Any]:
        """``{"choice": fastest, "median_us": {name: median microseconds}}`` of one round-robin measurement."""
        samples: dict[str, list[float]] = {name: [] for name in candidates}
        for run in candidates.values():
            run()  # warm-up
        start = time.perf_counter()
        for rep in range(self.max_reps):
            for name, run in candidates.items():
                t0 = time.perf_counter()
                run()
                samples[name].append(time.perf_counter() - t0)
            if rep + 1 >= self.min_reps and time.perf_counter() - start >= self.budget_s:
                break
        medians = {name: statistics.median(s) * 1e6 for name, s in samples.items()}
        return {"choice": min(medians, key=medians.__getitem__),
                "median_us": {name: round(v, 1) for name, v in medians.items()}}

    def _read_disk(self) -> dict[str, Any]:
        if self._disk is None:
            self._disk = {}
            if self.cache_file is not None and self.cache_file.is_file():
                try:
                    data = json.loads(self.cache_file.read_text(encoding="utf-8"))
                    if isinstance(data, dict) and data.get("format") == f"albert-lite {self.kind}":
                        decisions = data.get("decisions", {})
                        self._disk = decisions if isinstance(decisions, dict) else {}
                except (OSError, ValueError):
                    self._disk = {}  # a damaged cache is measured again and rewritten
        return self._disk

    def _write_disk(self) -> None:
        if self.cache_file is None:
            return
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"format": f"albert-lite {self.kind}", "decisions": self._disk}, indent=1, sort_keys=True)
        fd, tmp = tempfile.mkstemp(dir=self.cache_file.parent, prefix=".tuner-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, self.cache_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
