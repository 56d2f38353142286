"""An image verdict's ``replicas`` (DESIGN.md "Stored items"): one entry per replication destination.

Defined here, beside the stored verdicts that carry it; ``logic/replication.py`` judges each entry."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class ReplicaStatus(StrEnum):
    COMPLETE = "COMPLETE"
    BROKEN = "BROKEN"
    MISSING = "MISSING"
    UNCHECKED = "UNCHECKED"


def _absent(value: object) -> bool:
    return value is None


class Replica(BaseModel):
    """One entry of an image verdict's ``replicas``; the failure fields only on UNCHECKED."""

    model_config = ConfigDict(frozen=True)

    region: str
    registryId: str
    status: ReplicaStatus
    missingLayers: list[str] = []
    failureCode: str | None = Field(default=None, exclude_if=_absent)
    failureReason: str | None = Field(default=None, exclude_if=_absent)
