"""An image verdict's ``replicas`` (DESIGN.md "Stored items"): one entry per replication destination.

Defined here, beside the stored verdicts that carry it; ``logic/replication.py`` judges each entry."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from layercheck.models.bounds import bounded_list


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
    missingLayersOmitted: int = Field(default=0, exclude_if=lambda value: not value)

    @model_validator(mode="before")
    @classmethod
    def _bounded_missing_layers(cls, data: Any) -> Any:
        """At most MAX_LISTED digests are named (models/bounds.py); the rest are counted."""
        return bounded_list(data, "missingLayers", "missingLayersOmitted")
