"""The rate limiter lets one second's burst through, then holds calls to the configured rate."""

from __future__ import annotations

import pytest

from layercheck.logic.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_rate_limiter_allows_a_burst_then_paces_calls() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, clock=clock, sleep=clock.sleep)

    waits = [limiter.acquire() for _ in range(30)]

    assert waits[:10] == [0.0] * 10
    assert all(wait > 0 for wait in waits[10:])
    assert clock.now == pytest.approx(2.0)  # 30 calls at 10/s with a burst of 10: the last starts at t=2 s


def test_rate_limiter_refills_while_idle() -> None:
    clock = FakeClock()
    limiter = RateLimiter(5, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        limiter.acquire()

    clock.now += 1.0

    assert [limiter.acquire() for _ in range(5)] == [0.0] * 5


def test_rate_limiter_needs_a_positive_rate() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)
