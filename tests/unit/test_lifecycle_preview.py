"""The lifecycle preview against ECR's real behaviour, which moto does not implement: ``EcrLifecycle`` over a botocore
``Stubber`` (every request and answer checked against ECR's service model) driven by ``logic.lifecycle``.

Each test names the ECR behaviour it stands for. Waiting is a fake clock: nothing sleeps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from layercheck.integrations.ecr_lifecycle import EcrLifecycle
from layercheck.logic.lifecycle import (
    PREVIEW_IN_PROGRESS,
    PREVIEW_PENDING,
    LifecyclePreview,
    PreviewClock,
    PreviewState,
    preview_lifecycle,
)
from layercheck.logic.ratelimit import RateLimiter

REGISTRY = "123456789012"
REPOSITORY = "team-a/api"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


def policy(count: int, *, action: dict[str, str] | None = None) -> str:
    """A "keep ``count``" policy: one rule over any image, as ECR's documentation writes it."""
    rule = {
        "rulePriority": 1,
        "description": f"keep {count}",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": count},
        "action": action or {"type": "expire"},
    }
    return json.dumps({"rules": [rule]})


KEEP_2, KEEP_5 = policy(2), policy(5)


class FakeClock:
    def __init__(self, budget: float) -> None:
        self.elapsed = 0.0
        self.budget = budget
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.elapsed += seconds

    def clock(self) -> PreviewClock:
        return PreviewClock(seconds_left=lambda: self.budget - self.elapsed, sleep=self.sleep, now=lambda: NOW)


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("ecr", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def ids(digests: list[str]) -> list[dict[str, str]]:
    return [{"imageDigest": d} for d in digests]


def expect_get(
    stubber: Stubber, digests: list[str], text: str, status: str, results: list[dict[str, Any]] | None = None
) -> None:
    answer: dict[str, Any] = {
        "registryId": REGISTRY,
        "repositoryName": REPOSITORY,
        "lifecyclePolicyText": text,
        "status": status,
        "previewResults": results or [],
    }
    params = {"registryId": REGISTRY, "repositoryName": REPOSITORY, "imageIds": ids(digests)}
    stubber.add_response("get_lifecycle_policy_preview", answer, expected_params=params)


def expect_no_preview(stubber: Stubber, digests: list[str]) -> None:
    """A repository nobody previewed yet: GetLifecyclePolicyPreview's LifecyclePolicyPreviewNotFoundException."""
    params = {"registryId": REGISTRY, "repositoryName": REPOSITORY, "imageIds": ids(digests)}
    stubber.add_client_error(
        "get_lifecycle_policy_preview", "LifecyclePolicyPreviewNotFoundException", "no dry run", expected_params=params
    )


def expect_start(stubber: Stubber, text: str | None, previewed: str) -> None:
    params: dict[str, Any] = {"registryId": REGISTRY, "repositoryName": REPOSITORY}
    if text is not None:
        params["lifecyclePolicyText"] = text
    answer = {
        "registryId": REGISTRY,
        "repositoryName": REPOSITORY,
        "lifecyclePolicyText": previewed,
        "status": "IN_PROGRESS",
    }
    stubber.add_response("start_lifecycle_policy_preview", answer, expected_params=params)


def expired(image: str, *tags: str, priority: int = 1) -> dict[str, Any]:
    return {
        "imageDigest": image,
        "imageTags": list(tags),
        "imagePushedAt": datetime(2025, 1, 1, tzinfo=UTC),
        "action": {"type": "EXPIRE"},
        "appliedRulePriority": priority,
        "storageClass": "STANDARD",
    }


def run(client: Any, digests: list[str], clock: FakeClock, text: str | None = KEEP_2) -> LifecyclePreview:
    port = EcrLifecycle(client, rate_limiter=RateLimiter(1000))
    return preview_lifecycle(port, REGISTRY, REPOSITORY, digests, clock=clock.clock(), policy_text=text)


def test_preview_waits_while_in_progress_then_reads_the_complete_answer(stubbed: tuple[Any, Stubber]) -> None:
    """ECR: a new preview answers IN_PROGRESS for a while, then COMPLETE with the images the policy acts on; the
    waiter polls every 5 s."""
    client, stubber = stubbed
    in_use = [digest(1), digest(2)]
    expect_no_preview(stubber, in_use)
    expect_start(stubber, KEEP_2, KEEP_2)
    expect_get(stubber, in_use, KEEP_2, "IN_PROGRESS")
    expect_get(stubber, in_use, KEEP_2, "COMPLETE", [expired(digest(1), "v1")])
    clock = FakeClock(budget=20)

    preview = run(client, in_use, clock)

    assert preview.state is PreviewState.PREVIEWED
    assert clock.sleeps == [5.0]
    assert [(image.image_digest, image.image_tags) for image in preview.at_risk] == [(digest(1), ("v1",))]
    assert preview.at_risk[0].risk.model_dump(mode="json") == {
        "action": "EXPIRE",
        "rulePriority": 1,
        "previewedAt": "2025-03-01T12:00:00Z",
    }


def test_preview_that_ecr_failed_is_not_previewed_and_not_retried(stubbed: tuple[Any, Stubber]) -> None:
    """ECR: GetLifecyclePolicyPreview status FAILED (the waiter's failure state)."""
    client, stubber = stubbed
    expect_no_preview(stubber, [digest(1)])
    expect_start(stubber, KEEP_2, KEEP_2)
    expect_get(stubber, [digest(1)], KEEP_2, "FAILED")

    preview = run(client, [digest(1)], FakeClock(budget=20))

    assert (preview.state, preview.code, preview.retryable) == (PreviewState.NOT_PREVIEWED, "FAILED", False)
    assert preview.at_risk == ()


def test_preview_that_expired_is_not_previewed_and_can_be_retried(stubbed: tuple[Any, Stubber]) -> None:
    """ECR: a preview's results do not last; its status becomes EXPIRED."""
    client, stubber = stubbed
    expect_no_preview(stubber, [digest(1)])
    expect_start(stubber, KEEP_2, KEEP_2)
    expect_get(stubber, [digest(1)], KEEP_2, "EXPIRED")

    preview = run(client, [digest(1)], FakeClock(budget=20))

    assert (preview.state, preview.code, preview.retryable) == (PreviewState.NOT_PREVIEWED, "EXPIRED", True)


def test_start_refused_while_another_preview_runs_waits_and_starts_ours(stubbed: tuple[Any, Stubber]) -> None:
    """ECR: one preview per repository; StartLifecyclePolicyPreview raises LifecyclePolicyPreviewInProgressException
    while another (here of another policy text) has not completed."""
    client, stubber = stubbed
    in_use = [digest(1)]
    expect_get(stubber, in_use, KEEP_5, "IN_PROGRESS")  # someone else's preview is running
    stubber.add_client_error("start_lifecycle_policy_preview", PREVIEW_IN_PROGRESS, "wait and try again")
    expect_get(stubber, in_use, KEEP_5, "COMPLETE")
    expect_start(stubber, KEEP_2, KEEP_2)
    expect_get(stubber, in_use, KEEP_2, "COMPLETE", [expired(digest(1))])
    clock = FakeClock(budget=20)

    preview = run(client, in_use, clock)

    assert preview.state is PreviewState.PREVIEWED
    assert [image.image_digest for image in preview.at_risk] == [digest(1)]
    assert clock.sleeps == [5.0]


def test_start_refused_until_the_time_is_up_is_not_previewed_without_failing(stubbed: tuple[Any, Stubber]) -> None:
    """ECR: LifecyclePolicyPreviewInProgressException for as long as the other preview runs."""
    client, stubber = stubbed
    expect_get(stubber, [digest(1)], KEEP_5, "IN_PROGRESS")
    stubber.add_client_error("start_lifecycle_policy_preview", PREVIEW_IN_PROGRESS, "wait and try again")

    preview = run(client, [digest(1)], FakeClock(budget=0))

    assert (preview.state, preview.code, preview.retryable) == (PreviewState.NOT_PREVIEWED, PREVIEW_IN_PROGRESS, True)


def test_an_answer_for_another_policy_text_starts_ours_again(stubbed: tuple[Any, Stubber]) -> None:
    """ECR: GetLifecyclePolicyPreview answers the repository's latest preview, whoever started it: here someone
    previewed another text right after ours."""
    client, stubber = stubbed
    in_use = [digest(1)]
    expect_no_preview(stubber, in_use)
    expect_start(stubber, KEEP_2, KEEP_2)
    expect_get(stubber, in_use, KEEP_5, "COMPLETE")  # not ours: its results say nothing about KEEP_2
    expect_start(stubber, KEEP_2, KEEP_2)
    expect_get(stubber, in_use, KEEP_2, "COMPLETE", [expired(digest(1))])

    preview = run(client, in_use, FakeClock(budget=20))

    assert preview.state is PreviewState.PREVIEWED
    assert [image.image_digest for image in preview.at_risk] == [digest(1)]


def test_the_same_policy_in_other_json_spelling_is_our_preview(stubbed: tuple[Any, Stubber]) -> None:
    """ECR: the answer's lifecyclePolicyText is the text as ECR keeps it, not necessarily as it was sent."""
    client, stubber = stubbed
    respelt = json.dumps(json.loads(KEEP_2), indent=4, sort_keys=True)
    expect_get(stubber, [digest(1)], respelt, "COMPLETE", [expired(digest(1))])

    preview = run(client, [digest(1)], FakeClock(budget=20))

    assert [image.image_digest for image in preview.at_risk] == [digest(1)]


def test_more_than_100_digests_are_asked_in_calls_of_at_most_100_without_paging(stubbed: tuple[Any, Stubber]) -> None:
    """ECR: GetLifecyclePolicyPreview takes 1-100 imageIds, and nextToken does not apply with imageIds."""
    client, stubber = stubbed
    in_use = [digest(n) for n in range(1, 151)]
    first, second = in_use[:100], in_use[100:]
    expect_no_preview(stubber, first)
    expect_start(stubber, KEEP_2, KEEP_2)
    expect_get(stubber, first, KEEP_2, "COMPLETE", [expired(digest(3))])
    expect_get(stubber, second, KEEP_2, "COMPLETE", [expired(digest(150))])

    preview = run(client, in_use, FakeClock(budget=20))

    assert [image.image_digest for image in preview.at_risk] == [digest(3), digest(150)]


def test_a_repository_without_a_policy_has_nothing_at_risk(stubbed: tuple[Any, Stubber]) -> None:
    """ECR: GetLifecyclePolicy raises LifecyclePolicyNotFoundException when no policy is set."""
    client, stubber = stubbed
    stubber.add_client_error(
        "get_lifecycle_policy",
        "LifecyclePolicyNotFoundException",
        "Lifecycle policy does not exist",
        expected_params={"registryId": REGISTRY, "repositoryName": REPOSITORY},
    )

    preview = run(client, [digest(1)], FakeClock(budget=20), text=None)

    assert (preview.state, preview.at_risk) == (PreviewState.NO_POLICY, ())


def test_the_repositorys_own_policy_is_previewed_and_a_running_preview_of_it_is_read(
    stubbed: tuple[Any, Stubber],
) -> None:
    """ECR: StartLifecyclePolicyPreview without lifecyclePolicyText previews the repository's current policy; a
    preview of that text already in progress (a caller that ran out of time earlier) is read, not started anew."""
    client, stubber = stubbed
    stubber.add_response(
        "get_lifecycle_policy",
        {"registryId": REGISTRY, "repositoryName": REPOSITORY, "lifecyclePolicyText": KEEP_2},
        expected_params={"registryId": REGISTRY, "repositoryName": REPOSITORY},
    )
    expect_get(stubber, [digest(1)], KEEP_2, "IN_PROGRESS")
    expect_get(stubber, [digest(1)], KEEP_2, "COMPLETE", [expired(digest(1))])

    preview = run(client, [digest(1)], FakeClock(budget=20), text=None)

    assert [image.image_digest for image in preview.at_risk] == [digest(1)]


def test_a_preview_still_running_when_time_is_up_is_pending_and_left_running(stubbed: tuple[Any, Stubber]) -> None:
    """ECR: the preview goes on after the caller stops asking; a later GetLifecyclePolicyPreview reads it."""
    client, stubber = stubbed
    expect_no_preview(stubber, [digest(1)])
    expect_start(stubber, KEEP_2, KEEP_2)
    expect_get(stubber, [digest(1)], KEEP_2, "IN_PROGRESS")
    clock = FakeClock(budget=0)

    preview = run(client, [digest(1)], clock)

    assert (preview.code, preview.retryable, clock.sleeps) == (PREVIEW_PENDING, True, [])


def test_an_archive_transition_is_a_risk_with_its_target_storage_class(stubbed: tuple[Any, Stubber]) -> None:
    """ECR: a "transition" rule's results carry action TRANSITION with targetStorageClass ARCHIVE."""
    client, stubber = stubbed
    archive = policy(2, action={"type": "transition", "targetStorageClass": "archive"})
    result = {**expired(digest(1)), "action": {"type": "TRANSITION", "targetStorageClass": "ARCHIVE"}}
    expect_get(stubber, [digest(1)], archive, "COMPLETE", [result])

    preview = run(client, [digest(1)], FakeClock(budget=20), text=archive)

    risk = preview.at_risk[0].risk
    assert (risk.action, risk.rulePriority, risk.targetStorageClass) == ("TRANSITION", 1, "ARCHIVE")


def test_a_repository_ecr_does_not_hold_is_not_previewed_with_ecrs_code(stubbed: tuple[Any, Stubber]) -> None:
    """ECR: RepositoryNotFoundException from any of the three calls."""
    client, stubber = stubbed
    stubber.add_client_error("get_lifecycle_policy_preview", "RepositoryNotFoundException", "no such repository")

    preview = run(client, [digest(1)], FakeClock(budget=20))

    assert (preview.state, preview.code, preview.retryable) == (
        PreviewState.NOT_PREVIEWED,
        "RepositoryNotFoundException",
        False,
    )
