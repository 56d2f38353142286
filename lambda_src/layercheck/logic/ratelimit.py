"""Thread-safe token buckets: keep ECR call rates under a configured ceiling, per registry (account, Region).

ECR's default quota for BatchCheckLayerAvailability is 1,000 calls/s per account and Region and it is shared with
every ``docker push``, so an audit must leave head-room. Reserved concurrency × this rate bounds the whole function.
"""

from __future__ import annotations

import functools
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


class RegistryRateLimiters:
    """One ``RateLimiter`` per registry (account, Region), because that is the scope of ECR's quota: one global
    limiter would let a busy registry starve the others, one per registry lets an audit of many registries run at the
    sum of their budgets. Created on first use; threads asking at once get the same one."""

    def __init__(
        self,
        calls_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._new_limiter = functools.partial(RateLimiter, calls_per_second, clock=clock, sleep=sleep)
        self._new_limiter()  # refuses a rate that is not positive now, not at the first call
        self._limiters: dict[tuple[str, str], RateLimiter] = {}
        self._lock = threading.Lock()

    def for_registry(self, account_id: str, region: str) -> RateLimiter:
        """The registry's one limiter, created on first use (threads asking at once get the same one)."""
        key = (account_id, region)
        with self._lock:
            limiter = self._limiters.get(key)
            if limiter is None:
                limiter = self._new_limiter()
                self._limiters[key] = limiter
            return limiter
