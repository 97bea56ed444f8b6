"""Optional progress reporting: a tqdm bar when tqdm is installed, else a plain line on stderr."""

from __future__ import annotations

import sys
import time
from typing import Any


class Progress:
    """Counts work done out of ``total``; silent when ``enabled`` is false.

    >>> with Progress(total=3, description="documents", enabled=False) as progress:
    ...     progress.update(3)
    >>> progress.done
    3
    """

    def __init__(self, total: int, description: str, enabled: bool = True) -> None:
        self.total, self.description, self.enabled = total, description, enabled
        self.done = 0
        self._bar: Any = None
        self._last_print = 0.0
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total, desc=description, unit=" docs", file=sys.stderr, leave=False)

    def update(self, count: int) -> None:
        self.done += count
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(count)
        elif time.monotonic() - self._last_print > 0.5 or self.done >= self.total:
            # rewriting one line twice a second at most keeps logs short
            self._last_print = time.monotonic()
            print(f"\r{self.description}: {self.done}/{self.total}", end="", file=sys.stderr, flush=True)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.enabled:
            print(file=sys.stderr, flush=True)
