"""The audit's lifecycle guard: one preview of the repository's own policy for its images in use, 100 digests per
GetLifecyclePolicyPreview, bounded in time, and never an error (a fake ``LifecyclePreviewPort`` and a fake clock)."""

from __future__ import annotations

from datetime import UTC, datetime

from layercheck.logic.lifecycle import PREVIEW_PENDING, PreviewAnswer, PreviewResult, PreviewState
from layercheck.logic.lifecycle_guard import InvocationTime, LifecycleGuard, slice_risks, with_risks
from layercheck.logic.risk_changes import RiskKnowledge
from layercheck.models.audit import AuditImage, ImagesWorkItem
from layercheck.models.lifecycle import LifecycleAction, LifecycleRisk
from tests.unit.test_lifecycle_logic import POLICY, FakePreviews

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


class FakeTime:
    """A monotonic clock that only ``sleep`` moves."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def guard(port: FakePreviews, time: FakeTime | None = None, budget: float = 60.0) -> LifecycleGuard:
    time = time or FakeTime()
    return LifecycleGuard(port, budget_seconds=budget, sleep=time.sleep, monotonic=time.monotonic, clock=lambda: NOW)


def expire(n: int, priority: int = 1) -> PreviewResult:
    return PreviewResult(digest(n), (f"v{n}",), LifecycleAction.EXPIRE, priority)


def test_a_repository_nobody_runs_an_image_of_costs_no_ecr_call_and_has_nothing_at_risk() -> None:
    port = FakePreviews()

    outcome = guard(port).risks("123456789012", "app", [])

    assert (port.starts, port.asked) == ([], [])
    assert outcome.risks == RiskKnowledge({}, "2026-03-01T12:00:00.000Z")


def test_the_in_use_digests_are_asked_about_100_per_call_and_only_they_carry_a_risk() -> None:
    # Given 201 images in use, two of which the repository's policy would expire, and one nobody runs
    port = FakePreviews(results=(expire(0), expire(200, priority=2), expire(999)))

    outcome = guard(port).risks("123456789012", "app", [digest(n) for n in range(201)])

    # Then its own policy is previewed (no text sent), the digests are asked about in 100, 100, 1
    assert port.starts == [None]
    assert [len(batch) for batch in port.asked[-3:]] == [100, 100, 1]
    assert outcome.risks is not None and set(outcome.risks.risks) == {digest(0), digest(200)}
    assert outcome.risks.risks[digest(200)].rulePriority == 2
    assert outcome.not_previewed is None


def test_a_repository_without_a_policy_has_nothing_at_risk() -> None:
    outcome = guard(FakePreviews(policy=None)).risks("123456789012", "app", [digest(1)])

    assert outcome.risks is not None and outcome.risks.risks == {}
    assert outcome.preview is not None and outcome.preview.state is PreviewState.NO_POLICY


def test_a_preview_still_running_when_the_budget_ends_is_not_previewed_and_waits_no_longer() -> None:
    # Given ECR's preview that stays IN_PROGRESS
    time = FakeTime()

    outcome = guard(Running(), time, budget=30.0).risks("123456789012", "app", [digest(1)])

    # Then the stored risks stay (none recomputed), the log gets ECR's state, and no more than the budget was spent
    assert outcome.risks is None
    assert outcome.not_previewed is not None and outcome.not_previewed.code == PREVIEW_PENDING
    assert sum(time.slept) <= 30.0


class Running(FakePreviews):
    """ECR's preview that stays IN_PROGRESS."""

    def start_preview(self, registry_id: str, repository_name: str, policy_text: str | None) -> str:
        self.starts.append(policy_text)
        self.current = PreviewAnswer("IN_PROGRESS", POLICY)
        return POLICY


def test_a_preview_waits_at_most_half_the_time_the_invocation_has_left() -> None:
    # Given an invocation with 20 s left (the worker checks the item's images after the preview)
    time = FakeTime()
    invocation = InvocationTime()
    invocation.start(lambda: int(20_000 - time.now * 1000))
    running = LifecycleGuard(
        Running(), budget_seconds=60.0, sleep=time.sleep, monotonic=time.monotonic, clock=lambda: NOW,
        invocation=invocation,
    )  # fmt: skip

    outcome = running.risks("123456789012", "app", [digest(1)])

    assert outcome.risks is None
    assert 0 < sum(time.slept) <= 10.0


def test_slices_carry_each_images_risk_and_the_previews_time_through_the_queue() -> None:
    risk = LifecycleRisk(action=LifecycleAction.EXPIRE, rulePriority=1, previewedAt="2026-03-01T12:00:00Z")
    work = ImagesWorkItem(
        auditId="audit-1",
        registryId="123456789012",
        repositoryName="app",
        images=[AuditImage(imageDigest=digest(1)), AuditImage(imageDigest=digest(2))],
    )

    [carried] = with_risks([work], RiskKnowledge({digest(1): risk}, "2026-03-01T12:00:00.000Z"))
    received = ImagesWorkItem.model_validate_json(carried.model_dump_json())

    assert slice_risks(received) == RiskKnowledge({digest(1): risk}, "2026-03-01T12:00:00.000Z")
    # A slice of a repository that was not previewed keeps the stored risks
    assert slice_risks(work) is None
    assert with_risks([work], None) == [work]
