"""A progress bar for long multi-repository runs, on stderr and only when stderr is a terminal."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

BAR_WIDTH = 30


class ProgressBar:
    def __init__(self, stream: TextIO | None = None, label: str = "ECR calls") -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._label = label
        self._lock = threading.Lock()
        self._drawn = False

    @staticmethod
    def wanted(stream: TextIO | None = None) -> bool:
        target = stream if stream is not None else sys.stderr
        try:
            return target.isatty()
        except (AttributeError, ValueError):
            return False

    def __call__(self, done: int, total: int) -> None:
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        line = f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} {self._label}"
        with self._lock:
            self._stream.write(line)
            self._stream.flush()
            self._drawn = True

    def close(self) -> None:
        """Erase the bar so that what follows on the terminal starts on a clean line."""
        with self._lock:
            if self._drawn:
                self._stream.write("\r\x1b[K")
                self._stream.flush()
                self._drawn = False
