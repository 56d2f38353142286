"""ECR's quota is per account and Region: one limiter per registry, so one busy registry never slows another."""

from __future__ import annotations

import threading

import pytest

from layercheck.logic.ratelimit import RegistryRateLimiters


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_registry_rate_limiters_give_each_registry_its_own_budget() -> None:
    clock = FakeClock()
    limiters = RegistryRateLimiters(10, clock=clock, sleep=clock.sleep)

    # Given one registry's burst used up
    first = [limiters.for_registry("111122223333", "us-east-1").acquire() for _ in range(10)]
    # When another account, and the same account in another Region, call
    other_account = [limiters.for_registry("444455556666", "us-east-1").acquire() for _ in range(10)]
    other_region = [limiters.for_registry("111122223333", "eu-west-1").acquire() for _ in range(10)]

    # Then none of them waited: three registries, three buckets
    assert first == other_account == other_region == [0.0] * 10
    assert clock.slept == []
    # And the first registry's next call waits for its own bucket
    assert limiters.for_registry("111122223333", "us-east-1").acquire() == pytest.approx(0.1)
    registries = [("111122223333", "us-east-1"), ("444455556666", "us-east-1"), ("111122223333", "eu-west-1")]
    assert len({id(limiters.for_registry(*registry)) for registry in registries}) == 3


def test_registry_rate_limiters_return_one_limiter_per_registry_across_threads() -> None:
    limiters = RegistryRateLimiters(100)
    seen: list[object] = []
    barrier = threading.Barrier(8)

    def take() -> None:
        barrier.wait()
        seen.append(limiters.for_registry("111122223333", "us-east-1"))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({id(limiter) for limiter in seen}) == 1
    assert limiters.for_registry("111122223333", "eu-west-1") is not seen[0]


def test_registry_rate_limiters_refuse_a_non_positive_rate() -> None:
    with pytest.raises(ValueError, match="positive"):
        RegistryRateLimiters(0)
