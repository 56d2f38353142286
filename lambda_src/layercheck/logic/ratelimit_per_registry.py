"""One ECR call-rate limiter per registry (account, Region), because that is the scope of ECR's quota.

ECR's API quotas (BatchCheckLayerAvailability 1,000 calls/s, BatchGetImage, DescribeImages ...) are per account and
Region, shared with every ``docker push`` there. One global limiter would let a busy registry starve the others and
still allow nothing more for an idle one; one per (account, Region) keeps each registry under its own ceiling and
lets an audit of many registries run at the sum of their budgets.

Wiring (phase B): the composition root keeps one ``RegistryRateLimiters(settings.ecr_max_calls_per_second)`` per
container; the EcrRegistry built for a registry takes ``limiters.for_registry(account_id, region)`` as its
``rate_limiter`` (today's single RateLimiter argument), so every ECR call of that registry takes a token from it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from layercheck.logic.ratelimit import RateLimiter


class RegistryRateLimiters:
    def __init__(
        self,
        calls_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if calls_per_second <= 0:
            raise ValueError("calls_per_second must be positive")
        self._calls_per_second = calls_per_second
        self._clock = clock
        self._sleep = sleep
        self._limiters: dict[tuple[str, str], RateLimiter] = {}
        self._lock = threading.Lock()

    def for_registry(self, account_id: str, region: str) -> RateLimiter:
        """The registry's one limiter, created on first use (threads asking at once get the same one)."""
        key = (account_id, region)
        with self._lock:
            limiter = self._limiters.get(key)
            if limiter is None:
                limiter = RateLimiter(self._calls_per_second, clock=self._clock, sleep=self._sleep)
                self._limiters[key] = limiter
            return limiter

    def acquire(self, account_id: str, region: str) -> float:
        """Take one call's token from the registry's bucket; returns the seconds waited."""
        return self.for_registry(account_id, region).acquire()

    def __len__(self) -> int:
        with self._lock:
            return len(self._limiters)
