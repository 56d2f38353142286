"""The results table's items as the API returns them: the latest verdict per (registry, repository, layer or image).

Keys (``pk``/``sk``) are the table's business and never leave the integration module.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from layercheck.contracts import metrics as metric_names
from layercheck.models import bounds
from layercheck.models.in_use import UsedBy
from layercheck.models.lifecycle import LifecycleRisk
from layercheck.models.replicas import Replica
from layercheck.models.verdicts import FailureCode, RepositoryResult


class Source(StrEnum):
    """Which door asked; also the ``Source`` metric dimension."""

    API = metric_names.SOURCE_API
    SCHEDULE = metric_names.SOURCE_SCHEDULE
    PUSH = metric_names.SOURCE_PUSH


class FailureStatus(StrEnum):
    MISSING = "MISSING"
    INVALID = "INVALID"
    ERROR = "ERROR"


class ImageStatus(StrEnum):
    COMPLETE = "COMPLETE"  # every blob the manifests reference is AVAILABLE
    BROKEN = "BROKEN"  # at least one referenced blob is not AVAILABLE
    UNCHECKED = "UNCHECKED"  # not judged (unsupported manifest, an error reading it ...): see failure*
    # ECR's archive storage class: not pullable until restored (UpdateImageStorageClass), not broken; see failure*.
    ARCHIVED = "ARCHIVED"
    # The registry no longer holds the image (deleted, its repository deleted, a tag that names nothing) while
    # something runs it or it had a verdict: a workload on it cannot start a new copy.
    MISSING = "MISSING"


# In use and not pullable: what InUseImagesMissing counts.
NOT_PULLABLE = frozenset({ImageStatus.MISSING, ImageStatus.ARCHIVED})


def _absent(value: object) -> bool:
    """Optional attributes are left out rather than written as null, as DynamoDB stores them and ECR answers."""
    return value is None


def _empty(value: object) -> bool:
    return not value


# An image verdict names at most MAX_LISTED digests per list, tags and users (the rest is counted in ``...Omitted``):
# see models/bounds.py. tests/unit/test_image_answer_size.py measures the worst case.
MAX_LISTED = bounds.MAX_LISTED

# A MISSING verdict of a tag that resolves to nothing is keyed "tag:<tag>" where others are keyed by digest: no digest
# algorithm is called "tag", so the two never collide.
TAG_REFERENCE_PREFIX = "tag:"


class StoredVerdict(BaseModel):
    model_config = ConfigDict(frozen=True)

    registryId: str
    # Items written before verdicts carried a Region have none: they are the deployment's home Region's (the results
    # table's read path fills it in; ``python -m local.migrate_keys`` rewrites them).
    region: str | None = Field(default=None, exclude_if=_absent)
    repositoryName: str
    checkedAt: str  # ISO-8601 UTC
    source: Source
    expiresAt: int  # epoch seconds: DynamoDB's TTL deletes the item some time after


class StoredLayerVerdict(StoredVerdict):
    itemType: Literal["layer"] = "layer"
    layerDigest: str
    status: str  # ECR's availability verbatim (AVAILABLE, UNAVAILABLE, ARCHIVED ...) or MISSING / INVALID / ERROR
    failureCode: str | None = Field(default=None, exclude_if=_absent)
    failureReason: str | None = Field(default=None, exclude_if=_absent)
    layerSize: int | None = Field(default=None, exclude_if=_absent)
    mediaType: str | None = Field(default=None, exclude_if=_absent)
    checkId: str | None = Field(default=None, exclude_if=_absent)


class StoredImageVerdict(StoredVerdict):
    """The latest verdict of one image. Keyed by ``imageDigest``; a tag in use that names nothing is kept MISSING
    under that tag, with no digest (``imageTags`` holds the tag).

    Three groups of attributes are observed at their own times, and a write never replaces a group with one observed
    earlier (integrations/results_table.py): the check's findings (``status``, missing blobs, failure) at
    ``observedAt``, when ECR was read; who runs the image (``usedBy``) at ``usedByObservedAt``, when the audit
    discovered the workloads; ``replicas`` at ``replicasObservedAt``; ``lifecycleRisk`` (none: not at risk) at
    ``lifecycleRiskObservedAt``, when the audit's lifecycle preview answered."""

    itemType: Literal["image"] = "image"
    imageDigest: str | None = Field(default=None, exclude_if=_absent)
    imageTags: list[str] = []
    status: ImageStatus
    missingLayers: list[str] = []
    # Platform manifests an index references that the repository no longer holds (a lifecycle rule expired them).
    missingManifests: list[str] = Field(default_factory=list, exclude_if=_empty)
    failureCode: str | None = Field(default=None, exclude_if=_absent)
    failureReason: str | None = Field(default=None, exclude_if=_absent)
    checkId: str | None = Field(default=None, exclude_if=_absent)  # the push event's id or the audit's id
    # Who runs the image (ECS services and tasks, Lambda functions, inventory sources); none when nobody does.
    usedBy: list[UsedBy] = Field(default_factory=list, exclude_if=_empty)
    # One entry per replication destination of the image's repository; none without replication.
    replicas: list[Replica] = Field(default_factory=list, exclude_if=_empty)
    # What the repository's lifecycle policy would do to this image, as ECR's preview said (only on images in use).
    lifecycleRisk: LifecycleRisk | None = Field(default=None, exclude_if=_absent)
    # How many tags / digests the lists above leave out beyond MAX_LISTED (absent when none).
    imageTagsOmitted: int = Field(default=0, exclude_if=_empty)
    missingLayersOmitted: int = Field(default=0, exclude_if=_empty)
    missingManifestsOmitted: int = Field(default=0, exclude_if=_empty)
    usedByOmitted: int = Field(default=0, exclude_if=_empty)
    # When ECR was read for the findings; when the workloads in usedBy were discovered; when the replicas were judged.
    # Absent on items written before they were kept: older than any observation.
    observedAt: str | None = Field(default=None, exclude_if=_absent)
    usedByObservedAt: str | None = Field(default=None, exclude_if=_absent)
    replicasObservedAt: str | None = Field(default=None, exclude_if=_absent)
    lifecycleRiskObservedAt: str | None = Field(default=None, exclude_if=_absent)

    @model_validator(mode="before")
    @classmethod
    def _bounded_used_by(cls, data: Any) -> Any:
        """usedBy grows with workloads (a thousand standalone tasks on one image): at most MAX_LISTED are named, within
        MAX_USED_BY_BYTES (models/bounds.py)."""
        return bounds.bounded_list(data, "usedBy", "usedByOmitted", max_bytes=bounds.MAX_USED_BY_BYTES)

    @property
    def in_use(self) -> bool:
        return bool(self.usedBy) or bool(self.usedByOmitted)

    @property
    def reference(self) -> str:
        """What keys the verdict within its repository: the digest, or ``tag:<tag>`` for a tag that names nothing."""
        return self.imageDigest or f"{TAG_REFERENCE_PREFIX}{self.imageTags[0] if self.imageTags else ''}"


StoredItem = StoredLayerVerdict | StoredImageVerdict


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def observed_iso(moment: datetime) -> str:
    """An observation time, to the millisecond, in one fixed format so that two of them compare as strings
    (``observedAt``, ``usedByObservedAt``, ``replicasObservedAt``)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def expiry(moment: datetime, ttl_days: int) -> int:
    return int((moment + timedelta(days=ttl_days)).timestamp())


def failure_status(failure_code: str) -> FailureStatus:
    if failure_code == FailureCode.MISSING_LAYER_DIGEST:
        return FailureStatus.MISSING
    if failure_code == FailureCode.INVALID_LAYER_DIGEST:
        return FailureStatus.INVALID
    return FailureStatus.ERROR


def layer_verdicts(
    results: list[RepositoryResult],
    *,
    source: Source,
    checked_at: datetime,
    ttl_days: int,
    region: str,
    check_id: str | None = None,
) -> list[StoredLayerVerdict]:
    """One stored item per answered (repository, digest) pair, in the Region the results came from. Validated as one
    list (pydantic's core walks it) rather than one model call per pair: a 10,000-pair check builds its items in
    milliseconds."""
    common = {
        "region": region,
        "checkedAt": iso_utc(checked_at),
        "source": source,
        "expiresAt": expiry(checked_at, ttl_days),
        "checkId": check_id,
    }
    rows: list[dict[str, Any]] = []
    for result in results:
        where = {"registryId": result.registryId, "repositoryName": result.repositoryName, **common}
        rows.extend(
            {
                **where,
                "layerDigest": layer.layerDigest,
                "status": layer.layerAvailability,
                "layerSize": layer.layerSize,
                "mediaType": layer.mediaType,
            }
            for layer in result.layers
        )
        rows.extend(
            {
                **where,
                "layerDigest": failure.layerDigest,
                "status": failure_status(failure.failureCode),
                "failureCode": failure.failureCode,
                "failureReason": failure.failureReason,
            }
            for failure in result.failures
        )
    return _layer_verdict_list.validate_python(rows)


_layer_verdict_list = TypeAdapter(list[StoredLayerVerdict])
