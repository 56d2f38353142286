"""An image verdict's ``replicas`` (DESIGN.md "Stored items"): one entry per replication destination.

Defined here, beside the stored verdicts that carry it; ``logic/replication.py`` judges each entry (docs/EVENTS.md
"Replicas" says what each status means)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from layercheck.models.bounds import bounded_list


class ReplicaStatus(StrEnum):
    COMPLETE = "COMPLETE"  # ECR says replicated, and the destination holds the digest and every blob, pullable
    BROKEN = "BROKEN"  # ECR says replicated; the destination lacks (or holds archived) some of the image's content
    MISSING = "MISSING"  # ECR says replicated, but the destination no longer holds the digest (its own lifecycle)
    PENDING = "PENDING"  # ECR says IN_PROGRESS
    FAILED = "FAILED"  # ECR says FAILED (``failureCode`` is ECR's)
    NOT_SCHEDULED = "NOT_SCHEDULED"  # ECR lists no replication of this image there: pushed before the rule existed
    UNCHECKED = "UNCHECKED"  # the destination could not be read (``failureCode`` / ``failureReason`` say why)


# ``ReplicasIncomplete``: copies that should serve pulls and cannot. PENDING, NOT_SCHEDULED and UNCHECKED are not
# counted (not yet, never asked for, not known).
INCOMPLETE_REPLICA_STATUSES = frozenset({ReplicaStatus.BROKEN, ReplicaStatus.MISSING, ReplicaStatus.FAILED})


def _absent(value: object) -> bool:
    return value is None


class Replica(BaseModel):
    """One entry of an image verdict's ``replicas``. ``failureCode`` / ``failureReason``: why a copy is UNCHECKED or
    FAILED (ECR's code), why a BROKEN one's blobs are not pullable, or that ECR's replication status could not be read
    and the copy was judged at its destination alone (``ReplicationStatusUnavailable``)."""

    model_config = ConfigDict(frozen=True)

    region: str
    registryId: str
    status: ReplicaStatus
    missingLayers: list[str] = []
    failureCode: str | None = Field(default=None, exclude_if=_absent)
    failureReason: str | None = Field(default=None, exclude_if=_absent)
    missingLayersOmitted: int = Field(default=0, exclude_if=lambda value: not value)

    @model_validator(mode="before")
    @classmethod
    def _bounded_missing_layers(cls, data: Any) -> Any:
        """At most MAX_LISTED digests are named (models/bounds.py); the rest are counted."""
        return bounded_list(data, "missingLayers", "missingLayersOmitted")
