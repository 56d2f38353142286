"""What a check answers: ECR's own shapes (camelCase, field for field), grouped per repository, and their totals.

``LayerAnswer`` and ``LayerFailure`` are exactly ECR's ``Layer`` and ``LayerFailure``, so code that reads ECR's
``BatchCheckLayerAvailability`` answer reads ours.
"""

from __future__ import annotations

from collections import Counter
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class FailureCode(StrEnum):
    """ECR's per-digest failure codes; repository-level errors use ECR's error code verbatim (any string)."""

    INVALID_LAYER_DIGEST = "InvalidLayerDigest"
    MISSING_LAYER_DIGEST = "MissingLayerDigest"


AVAILABLE = "AVAILABLE"


class EcrShape(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class LayerAnswer(EcrShape):
    """ECR's ``Layer``. ``layerAvailability`` is an open set (AVAILABLE, UNAVAILABLE, ARCHIVED today): kept verbatim."""

    layerDigest: str
    layerAvailability: str
    layerSize: int | None = Field(default=None, exclude_if=lambda value: value is None)
    mediaType: str | None = Field(default=None, exclude_if=lambda value: value is None)


class LayerFailure(EcrShape):
    """ECR's ``LayerFailure``; ``failureCode`` is ECR's code, or the error code of a call refused for the repository."""

    layerDigest: str
    failureCode: str
    failureReason: str = ""


class RepositoryResult(EcrShape):
    registryId: str
    repositoryName: str
    layers: list[LayerAnswer] = Field(default_factory=list)
    failures: list[LayerFailure] = Field(default_factory=list)


class VerdictKind(StrEnum):
    """How a (repository, digest) pair was answered; the summary counts each pair under exactly one kind."""

    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"  # any availability other than AVAILABLE: UNAVAILABLE, ARCHIVED, values ECR adds later
    MISSING = "missing"
    INVALID = "invalid"
    ERROR = "error"


def layer_kind(layer: LayerAnswer) -> VerdictKind:
    return VerdictKind.AVAILABLE if layer.layerAvailability == AVAILABLE else VerdictKind.UNAVAILABLE


def failure_kind(failure: LayerFailure) -> VerdictKind:
    if failure.failureCode == FailureCode.MISSING_LAYER_DIGEST:
        return VerdictKind.MISSING
    if failure.failureCode == FailureCode.INVALID_LAYER_DIGEST:
        return VerdictKind.INVALID
    return VerdictKind.ERROR


class CheckSummary(BaseModel):
    """Counts of (repository, digest) pairs; ``checked`` is the sum of the other five."""

    model_config = ConfigDict(frozen=True)

    checked: int = 0
    available: int = 0
    unavailable: int = 0
    missing: int = 0
    invalid: int = 0
    errors: int = 0

    @classmethod
    def of(cls, results: list[RepositoryResult]) -> CheckSummary:
        kinds: Counter[VerdictKind] = Counter()
        for result in results:
            kinds.update(layer_kind(layer) for layer in result.layers)
            kinds.update(failure_kind(failure) for failure in result.failures)
        return cls(
            checked=kinds.total(),
            available=kinds[VerdictKind.AVAILABLE],
            unavailable=kinds[VerdictKind.UNAVAILABLE],
            missing=kinds[VerdictKind.MISSING],
            invalid=kinds[VerdictKind.INVALID],
            errors=kinds[VerdictKind.ERROR],
        )


class CheckOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    results: list[RepositoryResult]
    summary: CheckSummary
