"""A thread-safe token bucket: keeps one invocation's ECR call rate under a configured ceiling.

ECR's default quota for BatchCheckLayerAvailability is 1,000 calls/s per account and Region and it is shared with
every ``docker push``, so an audit must leave head-room. Reserved concurrency × this rate bounds the whole function.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self,
        calls_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if calls_per_second <= 0:
            raise ValueError("calls_per_second must be positive")
        self._interval = 1.0 / calls_per_second
        self._burst = max(1.0, calls_per_second)  # allow one second's worth at once, then the steady rate
        self._tokens = self._burst
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one call's token, sleeping while the bucket is empty; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._updated) / self._interval)
            self._updated = now
            self._tokens -= 1.0
            wait = -self._tokens * self._interval if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait
