"""When an image's verdict changes, an "Image Verdict Changed" event (DESIGN.md "Change events"), and the port that
publishes it.

The rule: an event when the status differs from the stored previous status, or for a first verdict that is not
COMPLETE; none when nothing changed. A replayed delivery finds its own earlier write as the previous status, so it
emits nothing a second time, provided the previous status is read atomically with the write.

Wiring (phase B): the results table's image write is one ``UpdateItem`` with ``ReturnValues="ALL_OLD"`` (image items
are few beside layer items; integrations/results_updates.py) and returns each image's previous ``status`` (and the
``usedBy`` a push or API check keeps); the service that stored the verdicts then calls ``verdict_changed(previous,
verdict, region=..., used_by=...)`` per image and hands the entries of the non-None details (``event_entry``) to
``EventPublisherPort.publish`` (``integrations/event_bus.EventBus`` on the bus named by ``EVENT_BUS_NAME``) *after*
the verdicts are stored: a publishing failure is logged with the outcome's ``unsent`` (and could be counted), never
undoes or fails the stored verdict. The two keyword arguments come from the stored verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from layercheck.contracts.events import IMAGE_VERDICT_CHANGED_DETAIL_TYPE, LAYERCHECK_SOURCE
from layercheck.models.in_use import UsedBy
from layercheck.models.stored import ImageStatus, StoredImageVerdict


class ImageVerdictChangedDetail(BaseModel):
    """The event's ``detail``: every field always present (``previousStatus`` and ``checkId`` as null when none)."""

    model_config = ConfigDict(frozen=True)

    registryId: str
    region: str
    repositoryName: str
    imageDigest: str
    imageTags: list[str]
    previousStatus: ImageStatus | None
    status: ImageStatus
    missingLayers: list[str]
    usedBy: list[UsedBy]
    checkedAt: str  # ISO-8601 UTC, the verdict's
    checkId: str | None


@dataclass(frozen=True)
class EventEntry:
    """One PutEvents entry, without the bus (the publisher owns it)."""

    source: str
    detail_type: str
    detail: str  # JSON
    time: datetime | None = None


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


def verdict_changed(
    previous_status: ImageStatus | None,
    verdict: StoredImageVerdict,
    *,
    region: str,
    used_by: Sequence[UsedBy] = (),
) -> ImageVerdictChangedDetail | None:
    """The event detail to publish for ``verdict`` given the status stored before it, or None when nothing changed."""
    if not is_change(previous_status, verdict.status):
        return None
    return ImageVerdictChangedDetail(
        registryId=verdict.registryId,
        region=region,
        repositoryName=verdict.repositoryName,
        imageDigest=verdict.imageDigest,
        imageTags=list(verdict.imageTags),
        previousStatus=previous_status,
        status=verdict.status,
        missingLayers=list(verdict.missingLayers),
        usedBy=list(used_by),
        checkedAt=verdict.checkedAt,
        checkId=verdict.checkId,
    )


def event_entry(detail: ImageVerdictChangedDetail) -> EventEntry:
    """The PutEvents entry: source ``layercheck``, detail-type ``Image Verdict Changed``, the event's time the
    verdict's ``checkedAt``."""
    return EventEntry(
        source=LAYERCHECK_SOURCE,
        detail_type=IMAGE_VERDICT_CHANGED_DETAIL_TYPE,
        detail=detail.model_dump_json(),
        time=datetime.fromisoformat(detail.checkedAt.replace("Z", "+00:00")),
    )
