"""When an image's verdict changes, an "Image Verdict Changed" event (DESIGN.md "Change events"), and the outbox
entry that carries it until EventBridge has taken it.

The rule: an event when the status differs from the stored previous status, or for a first verdict that is not
COMPLETE; none when nothing changed, and none for an observation older than the stored one (it is not written).

At least once: the change is staged on the image's item in the same write as the verdict (``PendingChange``, the
outbox), sent after the write, and cleared once EventBridge took it. If the invocation dies in between, or EventBridge
refuses, the change stays on the item and is sent on the next occasion: the retry of the same work, the next write of
that image, or the sweep every scheduled audit starts with. Every send of one change carries the same ``changeId``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from layercheck.contracts.events import IMAGE_VERDICT_CHANGED_DETAIL_TYPE, LAYERCHECK_SOURCE
from layercheck.models.in_use import UsedBy
from layercheck.models.stored import ImageStatus, StoredImageVerdict

# changeId = uuid5(namespace, what changed): stable for a change, different for any other.
_CHANGE_ID_NAMESPACE = uuid.UUID("6f1c7f0e-3f5e-4d1e-9a57-0c6b1d2a9e44")


class ImageVerdictChangedDetail(BaseModel):
    """The event's ``detail``: every field always present (``previousStatus``, ``imageDigest`` and ``checkId`` as
    null when none: a tag that names nothing has no digest)."""

    model_config = ConfigDict(frozen=True)

    registryId: str
    region: str
    repositoryName: str
    imageDigest: str | None
    imageTags: list[str]
    previousStatus: ImageStatus | None
    status: ImageStatus
    missingLayers: list[str]
    usedBy: list[UsedBy]
    observedAt: str  # ISO-8601 UTC: when ECR was read for this verdict
    checkedAt: str  # ISO-8601 UTC, the verdict's
    checkId: str | None
    changeId: str


@dataclass(frozen=True)
class PendingChange:
    """One change event staged on an image's item (the outbox), sent and cleared after the write."""

    change_id: str
    detail_type: str
    detail: str  # JSON
    time: datetime


@dataclass(frozen=True)
class EventEntry:
    """One PutEvents entry, without the bus (the publisher owns it)."""

    source: str
    detail_type: str
    detail: str  # JSON
    time: datetime | None = None
    change_id: str | None = None  # the outbox entry it carries, cleared once sent


@dataclass(frozen=True)
class UnsentEvent:
    entry: EventEntry
    code: str  # EventBridge's ErrorCode for the entry, or the whole call's error code
    message: str


@dataclass(frozen=True)
class PublishOutcome:
    sent: int = 0
    unsent: list[UnsentEvent] = field(default_factory=list)


class EventPublisherPort(Protocol):
    def publish(self, entries: Sequence[EventEntry]) -> PublishOutcome:
        """Every entry sent or named in ``unsent`` with the reason; never raises for what the bus refused."""
        ...


def is_change(previous_status: ImageStatus | None, status: ImageStatus) -> bool:
    """A different status, or a first verdict that is not COMPLETE (a new healthy image is no news)."""
    if previous_status is None:
        return status is not ImageStatus.COMPLETE
    return previous_status is not status


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def change_id(*parts: str | None) -> str:
    return str(uuid.uuid5(_CHANGE_ID_NAMESPACE, "\x1f".join(part or "" for part in parts)))


def verdict_changed(
    previous_status: ImageStatus | None, verdict: StoredImageVerdict, *, region: str
) -> ImageVerdictChangedDetail | None:
    """The event detail for ``verdict`` (as stored after the write, its usedBy included) given the status stored
    before it, or None when nothing changed."""
    if not is_change(previous_status, verdict.status):
        return None
    observed_at = verdict.observedAt or verdict.checkedAt
    return ImageVerdictChangedDetail(
        registryId=verdict.registryId,
        region=region,
        repositoryName=verdict.repositoryName,
        imageDigest=verdict.imageDigest,
        imageTags=list(verdict.imageTags),
        previousStatus=previous_status,
        status=verdict.status,
        missingLayers=list(verdict.missingLayers),
        usedBy=list(verdict.usedBy),
        observedAt=observed_at,
        checkedAt=verdict.checkedAt,
        checkId=verdict.checkId,
        changeId=change_id(
            IMAGE_VERDICT_CHANGED_DETAIL_TYPE,
            verdict.registryId,
            region,
            verdict.repositoryName,
            verdict.reference,
            previous_status,
            verdict.status,
            observed_at,
        ),
    )


def pending_change(detail: ImageVerdictChangedDetail) -> PendingChange:
    return PendingChange(
        change_id=detail.changeId,
        detail_type=IMAGE_VERDICT_CHANGED_DETAIL_TYPE,
        detail=detail.model_dump_json(),
        time=parse_time(detail.observedAt),
    )


def event_entry(change: PendingChange) -> EventEntry:
    """The PutEvents entry: source ``layercheck``, the change's detail-type and detail, its time when ECR was read."""
    return EventEntry(
        source=LAYERCHECK_SOURCE,
        detail_type=change.detail_type,
        detail=change.detail,
        time=change.time,
        change_id=change.change_id,
    )
