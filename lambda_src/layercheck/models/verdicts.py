"""What a check answers: ECR's own shapes (camelCase, field for field), grouped per repository, and their totals.

``LayerAnswer`` and ``LayerFailure`` are exactly ECR's ``Layer`` and ``LayerFailure``, so code that reads ECR's
``BatchCheckLayerAvailability`` answer reads ours.
"""

from __future__ import annotations

from collections import Counter
from enum import StrEnum
from operator import attrgetter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


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


# ECR's lists validated in one call each (pydantic's core walks the list, not a Python loop per entry): the ECR
# integration reads every BatchCheckLayerAvailability answer through these.
_layer_answers = TypeAdapter(list[LayerAnswer])
_layer_failures = TypeAdapter(list[LayerFailure])


def layer_answers(items: Any) -> list[LayerAnswer]:
    """ECR's ``layers`` (a list of ``Layer`` dicts, as botocore parses them) as models."""
    return _layer_answers.validate_python(items)


def layer_failures(items: Any) -> list[LayerFailure]:
    """ECR's ``failures`` (a list of ``LayerFailure`` dicts) as models."""
    return _layer_failures.validate_python(items)


class BatchCheckAnswer(EcrShape):
    """ECR's ``BatchCheckLayerAvailability`` answer as it comes over the wire (either list may be absent or null).

    Read in strict mode only (``strict_batch_check_answer``): a body it accepts has exactly ECR's JSON types, so the
    models are the ones botocore's parser and ``layer_answers`` / ``layer_failures`` would make of it."""

    layers: list[LayerAnswer] | None = None
    failures: list[LayerFailure] | None = None


def strict_batch_check_answer(content: bytes) -> BatchCheckAnswer:
    """The answer's JSON read and validated in one pass; raises ``ValueError`` (pydantic's ``ValidationError``) for
    anything but JSON of exactly ECR's types, for the caller to read the odd body another way."""
    return BatchCheckAnswer.model_validate_json(content, strict=True)


class CheckSummary(BaseModel):
    """Counts of (repository, digest) pairs, each under exactly one kind; ``checked`` is the sum of the other five.

    ``unavailable`` is any availability but AVAILABLE (UNAVAILABLE, ARCHIVED, values ECR adds later); ``errors`` is
    any failure code but ECR's MissingLayerDigest and InvalidLayerDigest (a repository-level error's code)."""

    model_config = ConfigDict(frozen=True)

    checked: int = 0
    available: int = 0
    unavailable: int = 0
    missing: int = 0
    invalid: int = 0
    errors: int = 0

    @classmethod
    def of(cls, results: list[RepositoryResult]) -> CheckSummary:
        """Counted by value, a C loop per list rather than a Python call per pair: 100,000 pairs take milliseconds."""
        availability: Counter[str] = Counter()
        codes: Counter[str] = Counter()
        for result in results:
            availability.update(map(_availability, result.layers))
            codes.update(map(_failure_code, result.failures))
        layers, failures = availability.total(), codes.total()
        missing, invalid = codes[FailureCode.MISSING_LAYER_DIGEST], codes[FailureCode.INVALID_LAYER_DIGEST]
        return cls(
            checked=layers + failures,
            available=availability[AVAILABLE],
            unavailable=layers - availability[AVAILABLE],
            missing=missing,
            invalid=invalid,
            errors=failures - missing - invalid,
        )


_availability = attrgetter("layerAvailability")
_failure_code = attrgetter("failureCode")


class CheckOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    results: list[RepositoryResult]
    summary: CheckSummary
