"""An image's lifecycle risk in the versioned write (logic/verdict_merge.py): recomputed by the audit or kept, only
on images in use, and its changes staged in the outbox beside the verdict's."""

from __future__ import annotations

import json

from layercheck.logic.risk_changes import MAX_PENDING_RISK_CHANGES, RiskObservation
from layercheck.logic.verdict_merge import RISK, ImageObservation, StoredImage, UsersObservation, merge
from layercheck.models.in_use import UsedBy
from layercheck.models.lifecycle import LifecycleAction, LifecycleRisk
from layercheck.models.stored import ImageStatus, Source, StoredImageVerdict

SERVICE = UsedBy(kind="ecs-service", id="arn:aws:ecs:us-east-1:123456789012:service/prod/app")
EXPIRE = LifecycleRisk(action=LifecycleAction.EXPIRE, rulePriority=1, previewedAt="2026-03-01T12:00:00Z")
ARCHIVE = LifecycleRisk(
    action=LifecycleAction.TRANSITION, rulePriority=2, targetStorageClass="ARCHIVE", previewedAt="2026-03-02T12:00:00Z"
)
T1, T2, T3 = "2026-03-01T12:00:00.000Z", "2026-03-02T12:00:00.000Z", "2026-03-03T12:00:00.000Z"


def verdict(observed_at: str = T1, status: ImageStatus = ImageStatus.COMPLETE, **extra: object) -> StoredImageVerdict:
    return StoredImageVerdict.model_validate(
        {
            "registryId": "123456789012",
            "region": "us-east-1",
            "repositoryName": "app",
            "imageDigest": "sha256:" + "a" * 64,
            "imageTags": ["v1"],
            "status": status,
            "checkedAt": observed_at,
            "observedAt": observed_at,
            "source": Source.SCHEDULE,
            "expiresAt": 2_000_000_000,
            "checkId": "audit-1",
        }
        | extra
    )


def at_risk(risk: LifecycleRisk = EXPIRE, observed_at: str = T1) -> StoredImage:
    """An image the service runs, stored with ``risk``."""
    stored = verdict(
        usedBy=[SERVICE], usedByObservedAt=observed_at, lifecycleRisk=risk, lifecycleRiskObservedAt=observed_at
    )
    return StoredImage(stored, version=3)


def audit(observed_at: str, risk: LifecycleRisk | None, users: tuple[UsedBy, ...] = (SERVICE,)) -> ImageObservation:
    return ImageObservation(
        verdict(observed_at), UsersObservation(users, observed_at), risk=RiskObservation(risk, observed_at)
    )


def risk_details(update_pending: tuple[object, ...]) -> list[dict[str, object]]:
    return [
        json.loads(change.detail)  # type: ignore[attr-defined]
        for change in update_pending
        if change.detail_type == "Image Risk Changed"  # type: ignore[attr-defined]
    ]


def test_a_first_audit_that_finds_a_risk_stores_it_and_stages_one_risk_change() -> None:
    update = merge(None, audit(T1, EXPIRE))

    assert update.verdict.lifecycleRisk == EXPIRE and RISK in update.groups
    [detail] = risk_details(update.pending)
    assert detail["previousLifecycleRisk"] is None and detail["lifecycleRisk"]["action"] == "EXPIRE"  # type: ignore[index]
    assert detail["usedBy"] == [SERVICE.model_dump(mode="json", exclude_none=True)]
    assert update.risk_change is not None and update.change is None  # a COMPLETE first verdict is no news


def test_a_check_that_did_not_preview_keeps_the_stored_risk_and_stages_nothing() -> None:
    # A push check: newer findings, no users, no risk recomputed
    update = merge(at_risk(), ImageObservation(verdict(T2)))

    assert update.verdict.lifecycleRisk == EXPIRE
    assert RISK not in update.groups and update.staged == ()


def test_the_same_risk_seen_again_is_rewritten_but_not_announced() -> None:
    seen_again = EXPIRE.model_copy(update={"previewedAt": "2026-03-02T12:00:00Z"})

    update = merge(at_risk(), audit(T2, seen_again))

    assert update.verdict.lifecycleRisk == seen_again and update.verdict.lifecycleRiskObservedAt == T2
    assert update.staged == ()


def test_a_risk_observed_before_the_stored_one_does_not_replace_it() -> None:
    update = merge(at_risk(ARCHIVE, observed_at=T2), audit(T1, None))

    assert update.verdict.lifecycleRisk == ARCHIVE and RISK not in update.groups
    assert risk_details(update.pending) == []


def test_a_risk_that_changes_with_a_new_status_stages_both_changes_in_one_write() -> None:
    observation = audit(T2, ARCHIVE)
    broken = ImageObservation(verdict(T2, ImageStatus.BROKEN), observation.users, risk=observation.risk)

    update = merge(at_risk(), broken)

    assert update.change is not None and update.risk_change is not None
    assert {change.detail_type for change in update.staged} == {"Image Verdict Changed", "Image Risk Changed"}
    [detail] = risk_details(update.pending)
    assert (detail["previousLifecycleRisk"]["action"], detail["lifecycleRisk"]["action"]) == ("EXPIRE", "TRANSITION")  # type: ignore[index]


def test_an_image_nobody_runs_any_more_loses_its_risk_even_when_the_preview_could_not_run() -> None:
    # The audit recomputed who runs it (nobody) but has no preview (risk not recomputed)
    nobody = ImageObservation(verdict(T2), UsersObservation((), T2))

    update = merge(at_risk(), nobody)

    assert update.verdict.lifecycleRisk is None and RISK in update.groups
    [detail] = risk_details(update.pending)
    assert detail["lifecycleRisk"] is None and detail["usedBy"] == []


def test_risk_changes_waiting_beyond_the_bound_are_folded_into_the_newest() -> None:
    # Given an image whose risk flipped many times while EventBridge refused every event
    stored = at_risk()
    risks = [ARCHIVE, EXPIRE, ARCHIVE, EXPIRE, ARCHIVE]
    for n, risk in enumerate(risks):
        update = merge(stored, audit(f"2026-03-{n + 2:02d}T12:00:00.000Z", risk))
        stored = StoredImage(update.verdict, stored.version + 1, update.pending)

    waiting = risk_details(stored.pending)

    # Then at most the bound waits, and the chain still runs from the first risk to the last
    assert len(waiting) == MAX_PENDING_RISK_CHANGES
    ordered = sorted(waiting, key=lambda detail: str(detail["observedAt"]))
    assert ordered[0]["previousLifecycleRisk"]["action"] == "EXPIRE"  # type: ignore[index]
    assert ordered[-1]["lifecycleRisk"]["action"] == "TRANSITION"  # type: ignore[index]
