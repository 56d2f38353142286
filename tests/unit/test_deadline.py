"""The API's deadline and the engine's hook for it: no ECR call starts once the time is up; what was not checked is
answered ``DeadlineExceeded`` (an error), and ECR's own failure texts reach the answer bounded."""

from __future__ import annotations

from typing import Any

from layercheck.errors import RepositoryCheckError
from layercheck.logic.check import (
    DEADLINE_EXCEEDED_CODE,
    BatchAnswer,
    RepositoryTarget,
    check_repositories,
)
from layercheck.logic.deadline import ANSWER_RESERVE_MS, Deadline
from layercheck.logic.failure_text import MAX_FAILURE_REASON_BYTES
from layercheck.models.verdicts import LayerAnswer, LayerFailure

DIGESTS = [f"sha256:{i:064x}" for i in range(150)]  # two calls per repository: 100 + 50


class FakeClock:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining = remaining_ms

    def __call__(self) -> int:
        return self.remaining


def test_deadline_is_the_budget_or_the_function_timeout_less_the_reserve() -> None:
    clock = FakeClock(60_000)
    deadline = Deadline.starting_now(clock, budget_seconds=27)
    clock.remaining = 60_000 - 26_999
    assert deadline.has_time()
    clock.remaining = 60_000 - 27_000
    assert not deadline.has_time()

    short = FakeClock(10_000)
    deadline = Deadline.starting_now(short, budget_seconds=27)
    short.remaining = ANSWER_RESERVE_MS + 1
    assert deadline.has_time()
    short.remaining = ANSWER_RESERVE_MS
    assert not deadline.has_time()


class CountingRegistry:
    def __init__(self, clock: FakeClock, call_ms: int) -> None:
        self.clock, self.call_ms, self.calls = clock, call_ms, 0

    def batch_check_layer_availability(self, registry_id: str, repository_name: str, digests: list[str]) -> Any:
        self.calls += 1
        self.clock.remaining -= self.call_ms
        return BatchAnswer(layers=[LayerAnswer(layerDigest=d, layerAvailability="AVAILABLE") for d in digests])


def test_check_repositories_starts_no_call_once_should_continue_says_no() -> None:
    # Given 4 calls of 10 s each and a 27 s budget, one worker
    clock = FakeClock(30_000)
    registry = CountingRegistry(clock, call_ms=10_000)
    targets = [RepositoryTarget("123456789012", name, DIGESTS) for name in ("a1", "b2")]

    outcome = check_repositories(
        targets, registry, workers=1, should_continue=Deadline.starting_now(clock, 27).has_time
    )

    # Then calls at 0, 10 and 20 s ran; the fourth (50 digests of b2) is answered DeadlineExceeded
    assert registry.calls == 3
    (unchecked,) = {f.failureCode for r in outcome.results for f in r.failures}
    assert unchecked == DEADLINE_EXCEEDED_CODE
    assert outcome.summary.errors == 50 and outcome.summary.available == 250


class LongWindedEcr:
    """ECR answering a per-digest failure, or refusing the whole call, with a 2 KB message (AccessDenied-sized)."""

    def __init__(self, refuse: bool) -> None:
        self.refuse = refuse

    def batch_check_layer_availability(self, registry_id: str, repository_name: str, digests: list[str]) -> Any:
        if self.refuse:
            raise RepositoryCheckError("AccessDeniedException", "User: arn:aws:sts::... " + "x" * 2048)
        return BatchAnswer(
            failures=[LayerFailure(layerDigest=d, failureCode="X", failureReason="y" * 2048) for d in digests]
        )


def test_failure_texts_reach_the_answer_bounded() -> None:
    for refuse in (True, False):
        outcome = check_repositories([RepositoryTarget("123456789012", "a1", DIGESTS)], LongWindedEcr(refuse))

        reasons = {f.failureReason for f in outcome.results[0].failures}
        assert len(reasons) == 1 and len(reasons.pop()) <= MAX_FAILURE_REASON_BYTES
