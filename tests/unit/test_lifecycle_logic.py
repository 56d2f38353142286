"""The lifecycle guard's pure rules: which images a preview asks about and keeps, when it starts anew, when it gives
up, and when a risk has changed (a fake ``LifecyclePreviewPort``; ECR's own behaviour is in test_lifecycle_preview)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from pydantic import ValidationError

from layercheck.errors import RepositoryCheckError
from layercheck.logic.lifecycle import (
    MAX_STARTS,
    PREVIEW_REPLACED,
    LifecyclePreview,
    PreviewAnswer,
    PreviewClock,
    PreviewResult,
    PreviewState,
    normalised_policy,
    preview_lifecycle,
)
from layercheck.logic.risk_changes import risk_changed
from layercheck.models.lifecycle import ImageRiskChangedDetail, LifecycleAction, LifecycleRisk

POLICY = '{"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any"}, "action": {"type": "expire"}}]}'
OTHER = '{"rules": [{"rulePriority": 2, "selection": {"tagStatus": "any"}, "action": {"type": "expire"}}]}'


@dataclass
class FakePreviews:
    """The repository's one preview, as ECR keeps it: the latest started, whoever started it."""

    policy: str | None = POLICY
    current: PreviewAnswer | None = None
    results: tuple[PreviewResult, ...] = ()
    started_by_others: list[str] = field(default_factory=list)  # texts others start right after each of ours
    starts: list[str | None] = field(default_factory=list)
    asked: list[list[str]] = field(default_factory=list)

    def lifecycle_policy(self, registry_id: str, repository_name: str) -> str | None:
        return self.policy

    def start_preview(self, registry_id: str, repository_name: str, policy_text: str | None) -> str:
        self.starts.append(policy_text)
        text = policy_text or self.policy or ""
        if self.started_by_others:
            text = self.started_by_others.pop(0)
        self.current = PreviewAnswer("COMPLETE", text, self.results)
        return policy_text or self.policy or ""

    def preview_answer(
        self, registry_id: str, repository_name: str, image_digests: Sequence[str]
    ) -> PreviewAnswer | None:
        self.asked.append(list(image_digests))
        return self.current


def clock() -> PreviewClock:
    return PreviewClock(seconds_left=lambda: 10.0, sleep=lambda seconds: None)


def result(digest: str, action: LifecycleAction = LifecycleAction.EXPIRE, priority: int = 1) -> PreviewResult:
    return PreviewResult(digest, ("v1",), action, priority, "ARCHIVE" if action is LifecycleAction.TRANSITION else None)


def preview(port: FakePreviews, digests: Sequence[str], **options: object) -> LifecyclePreview:
    return preview_lifecycle(port, "123456789012", "app", digests, clock=clock(), **options)  # type: ignore[arg-type]


def test_preview_of_no_image_in_use_starts_no_preview_and_finds_no_risk() -> None:
    port = FakePreviews(results=(result("sha256:a"),))

    outcome = preview(port, [], policy_text=OTHER)

    assert (outcome.state, outcome.at_risk) == (PreviewState.NOTHING_IN_USE, ())
    assert (port.starts, port.asked) == ([], [])


def test_preview_of_no_image_in_use_still_reports_a_repository_ecr_does_not_hold() -> None:
    class NoRepository(FakePreviews):
        def lifecycle_policy(self, registry_id: str, repository_name: str) -> str | None:
            raise RepositoryCheckError("RepositoryNotFoundException", "no such repository")

    outcome = preview(NoRepository(), [], policy_text=OTHER)

    assert (outcome.state, outcome.code) == (PreviewState.NOT_PREVIEWED, "RepositoryNotFoundException")


def test_preview_keeps_only_the_in_use_images_once_each_in_the_given_order() -> None:
    port = FakePreviews(results=(result("sha256:b"), result("sha256:unused"), result("sha256:a"), result("sha256:a")))

    outcome = preview(port, ["sha256:a", "sha256:b", "sha256:a"])

    assert [image.image_digest for image in outcome.at_risk] == ["sha256:a", "sha256:b"]
    assert port.asked[0] == ["sha256:a", "sha256:b"]


def test_preview_gives_a_target_storage_class_to_archiving_only() -> None:
    # ECR names a target storage class only for TRANSITION; one on an EXPIRE would say nothing true.
    port = FakePreviews(
        results=(
            result("sha256:a", LifecycleAction.TRANSITION, 2),
            PreviewResult("sha256:b", (), LifecycleAction.EXPIRE, 3, "X"),
        )
    )

    outcome = preview(port, ["sha256:a", "sha256:b"])

    assert [image.risk.targetStorageClass for image in outcome.at_risk] == ["ARCHIVE", None]
    assert [image.risk.rulePriority for image in outcome.at_risk] == [2, 3]


def test_a_complete_preview_of_the_same_text_is_read_unless_a_fresh_one_is_asked_for() -> None:
    port = FakePreviews(current=PreviewAnswer("COMPLETE", POLICY, ()))

    preview(port, ["sha256:a"])
    assert port.starts == []

    preview(port, ["sha256:a"], reuse_finished=False)
    assert port.starts == [None]


def test_previews_replaced_by_others_every_time_give_up_after_max_starts() -> None:
    port = FakePreviews(started_by_others=[OTHER] * MAX_STARTS)

    outcome = preview(port, ["sha256:a"], policy_text=POLICY)

    assert (outcome.state, outcome.code, outcome.retryable) == (PreviewState.NOT_PREVIEWED, PREVIEW_REPLACED, True)
    assert len(port.starts) == MAX_STARTS


def test_normalised_policy_ignores_key_order_and_spacing_only() -> None:
    assert normalised_policy('{"b": 1, "a": [1, 2]}') == normalised_policy('{\n  "a": [1,2],\n  "b": 1\n}')
    assert normalised_policy('{"a": [1, 2]}') != normalised_policy('{"a": [2, 1]}')
    assert normalised_policy(" not json ") == "not json"


# -- the risk-change rule ------------------------------------------------------------------------------------------

EXPIRE_1 = LifecycleRisk(action=LifecycleAction.EXPIRE, rulePriority=1, previewedAt="2025-03-01T00:00:00Z")


@pytest.mark.parametrize(
    ("previous", "current", "changed"),
    [
        (None, None, False),
        (None, EXPIRE_1, True),  # appears
        (EXPIRE_1, None, True),  # clears
        (EXPIRE_1, EXPIRE_1.model_copy(update={"previewedAt": "2025-03-02T00:00:00Z"}), False),  # seen again
        (EXPIRE_1, EXPIRE_1.model_copy(update={"rulePriority": 2}), True),
        (
            EXPIRE_1,
            EXPIRE_1.model_copy(update={"action": LifecycleAction.TRANSITION, "targetStorageClass": "ARCHIVE"}),
            True,
        ),
        (
            EXPIRE_1.model_copy(update={"action": LifecycleAction.TRANSITION, "targetStorageClass": "ARCHIVE"}),
            EXPIRE_1.model_copy(update={"action": LifecycleAction.TRANSITION, "targetStorageClass": "OTHER"}),
            True,
        ),
    ],
)
def test_risk_changed_when_it_appears_changes_or_clears_not_when_only_seen_again(
    previous: LifecycleRisk | None, current: LifecycleRisk | None, changed: bool
) -> None:
    assert risk_changed(previous, current) is changed


def test_image_risk_changed_detail_has_designs_fields_with_null_risks_kept() -> None:
    detail = ImageRiskChangedDetail(
        registryId="123456789012",
        region="us-east-1",
        repositoryName="app",
        imageDigest="sha256:a",
        imageTags=["v1"],
        previousLifecycleRisk=None,
        lifecycleRisk=EXPIRE_1,
        usedBy=[{"kind": "ecs-service", "id": "arn:aws:ecs:us-east-1:123456789012:service/c/s"}],  # type: ignore[list-item]
        observedAt="2025-03-01T00:00:00Z",
        checkId=None,
        changeId="c-1",
    )

    dumped = detail.model_dump(mode="json")

    assert list(dumped) == [
        "registryId",
        "region",
        "repositoryName",
        "imageDigest",
        "imageTags",
        "previousLifecycleRisk",
        "lifecycleRisk",
        "usedBy",
        "observedAt",
        "checkId",
        "changeId",
    ]
    assert dumped["previousLifecycleRisk"] is None
    assert dumped["lifecycleRisk"] == {"action": "EXPIRE", "rulePriority": 1, "previewedAt": "2025-03-01T00:00:00Z"}


def test_lifecycle_risk_refuses_an_action_ecr_does_not_have() -> None:
    with pytest.raises(ValidationError):
        LifecycleRisk(action="DELETE", rulePriority=1, previewedAt="2025-03-01T00:00:00Z")  # type: ignore[arg-type]
