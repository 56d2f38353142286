"""When an in-use image's lifecycle risk changes: the rule behind "Image Risk Changed" (DESIGN.md "Change events"),
the risk an audit observed for each image, and the outbox entry that carries the change.

A change is a risk that appears, one that clears, or one whose action, rule or target storage class differs. A new
``previewedAt`` alone is the same risk seen again: every audit previews anew, and announcing each would page on every
audit instead of on news.

The change is staged on the image's item in the same write as the risk (logic/verdict_merge.py), beside the verdict
changes, and goes out the same way (logic/image_keeping.py): at least once, with a stable ``changeId``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from layercheck.contracts.events import IMAGE_RISK_CHANGED_DETAIL_TYPE
from layercheck.logic.change_events import PendingChange, change_id, parse_time
from layercheck.models.lifecycle import ImageRiskChangedDetail, LifecycleRisk
from layercheck.models.stored import StoredImageVerdict

# Risk changes an item keeps waiting for EventBridge at most: beyond, the newest waiting one and the new one are
# announced as one (from the older's previous risk to the new risk), as verdict changes are.
MAX_PENDING_RISK_CHANGES = 3


@dataclass(frozen=True)
class RiskObservation:
    """An image's lifecycle risk (None: not at risk), as the audit's lifecycle preview answered at ``observed_at``
    (ISO, ``observed_iso``)."""

    risk: LifecycleRisk | None
    observed_at: str


@dataclass(frozen=True)
class RiskKnowledge:
    """What one preview of a repository's policy found for its images in use, by digest: an image not named is not
    at risk."""

    risks: Mapping[str, LifecycleRisk]
    observed_at: str

    def observation(self, digest: str | None) -> RiskObservation:
        return RiskObservation(self.risks.get(digest or ""), self.observed_at)


def risk_changed(previous: LifecycleRisk | None, current: LifecycleRisk | None) -> bool:
    """True when the risk appeared, cleared, or changed action, rule priority or target storage class."""
    if previous is None or current is None:
        return (previous is None) != (current is None)
    return not previous.same_risk(current)


def _risk_key(risk: LifecycleRisk | None) -> str:
    if risk is None:
        return ""
    return f"{risk.action}/{risk.rulePriority}/{risk.targetStorageClass or ''}"


def risk_change_detail(
    previous: LifecycleRisk | None, verdict: StoredImageVerdict, *, region: str
) -> ImageRiskChangedDetail | None:
    """The event detail for ``verdict`` (as stored after the write) given the risk stored before it, or None when
    the risk did not change (or the verdict names no digest: a tag that names nothing is never previewed)."""
    if verdict.imageDigest is None or not risk_changed(previous, verdict.lifecycleRisk):
        return None
    observed_at = verdict.lifecycleRiskObservedAt or verdict.observedAt or verdict.checkedAt
    return ImageRiskChangedDetail(
        registryId=verdict.registryId,
        region=region,
        repositoryName=verdict.repositoryName,
        imageDigest=verdict.imageDigest,
        imageTags=list(verdict.imageTags),
        previousLifecycleRisk=previous,
        lifecycleRisk=verdict.lifecycleRisk,
        usedBy=list(verdict.usedBy),
        observedAt=observed_at,
        checkId=verdict.checkId,
        changeId=change_id(
            IMAGE_RISK_CHANGED_DETAIL_TYPE,
            verdict.registryId,
            region,
            verdict.repositoryName,
            verdict.reference,
            _risk_key(previous),
            _risk_key(verdict.lifecycleRisk),
            observed_at,
        ),
    )


@dataclass(frozen=True)
class StagedRisk:
    """The risk change to stage (None: no change), and the waiting risk change folded into it (to remove)."""

    change: PendingChange | None
    dropped: tuple[str, ...] = ()


def stage_risk_change(
    previous: LifecycleRisk | None, verdict: StoredImageVerdict, waiting: Sequence[PendingChange]
) -> StagedRisk:
    """The change a written risk makes, folded with the newest waiting risk change when the item holds too many."""
    waiting_risks = [change for change in waiting if change.detail_type == IMAGE_RISK_CHANGED_DETAIL_TYPE]
    dropped: tuple[str, ...] = ()
    if len(waiting_risks) >= MAX_PENDING_RISK_CHANGES:
        newest = max(waiting_risks, key=lambda change: (change.time, change.change_id))
        previous = ImageRiskChangedDetail.model_validate_json(newest.detail).previousLifecycleRisk
        dropped = (newest.change_id,)
    detail = risk_change_detail(previous, verdict, region=str(verdict.region))
    if detail is None:
        return StagedRisk(None, dropped)
    change = PendingChange(
        change_id=detail.changeId,
        detail_type=IMAGE_RISK_CHANGED_DETAIL_TYPE,
        detail=detail.model_dump_json(),
        time=parse_time(detail.observedAt),
    )
    return StagedRisk(change, dropped)
