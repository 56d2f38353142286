"""Image verdicts built from a judgement, or for an image the registry no longer holds: the one place a verdict's
lists are bounded and its failure texts cut (an answer of 100 verdicts must fit Lambda's 6 MB)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from layercheck.logic.failure_text import bounded_code, bounded_reason
from layercheck.logic.judge import ImageJudgement
from layercheck.models.stored import (
    MAX_LISTED,
    ImageStatus,
    Source,
    StoredImageVerdict,
    expiry,
    iso_utc,
    observed_iso,
)


@dataclass(frozen=True)
class VerdictContext:
    """Where and when: the registry and repository, the Region, the door, the check's id and times."""

    registry_id: str
    repository_name: str
    region: str
    source: Source
    check_id: str | None
    observed_at: datetime  # when ECR was read
    checked_at: datetime  # when judged
    ttl_days: int


@dataclass(frozen=True)
class GoneImage:
    """An image the registry no longer holds: by digest, or a tag that names nothing (``image_digest`` None)."""

    image_digest: str | None
    image_tags: tuple[str, ...]
    code: str
    reason: str


def _common(context: VerdictContext) -> dict[str, object]:
    return {
        "registryId": context.registry_id,
        "region": context.region,
        "repositoryName": context.repository_name,
        "checkedAt": iso_utc(context.checked_at),
        "observedAt": observed_iso(context.observed_at),
        "source": context.source,
        "expiresAt": expiry(context.checked_at, context.ttl_days),
        "checkId": context.check_id,
    }


def _listed(values: Sequence[str]) -> tuple[list[str], int]:
    return list(values[:MAX_LISTED]), max(0, len(values) - MAX_LISTED)


def judged_verdict(context: VerdictContext, judgement: ImageJudgement) -> StoredImageVerdict:
    tags, tags_omitted = _listed(sorted(judgement.image.image_tags))
    layers, layers_omitted = _listed(judgement.missing_layers)
    manifests, manifests_omitted = _listed(judgement.missing_manifests)
    return StoredImageVerdict.model_validate(
        {
            **_common(context),
            "imageDigest": judgement.image.image_digest,
            "imageTags": tags,
            "imageTagsOmitted": tags_omitted,
            "status": judgement.status,
            "missingLayers": layers,
            "missingLayersOmitted": layers_omitted,
            "missingManifests": manifests,
            "missingManifestsOmitted": manifests_omitted,
            # ECR's texts, bounded as the layer answers' are
            "failureCode": None if judgement.failure_code is None else bounded_code(judgement.failure_code),
            "failureReason": None if judgement.failure_reason is None else bounded_reason(judgement.failure_reason),
        }
    )


def missing_verdict(context: VerdictContext, gone: GoneImage) -> StoredImageVerdict:
    tags, tags_omitted = _listed(sorted(gone.image_tags))
    return StoredImageVerdict.model_validate(
        {
            **_common(context),
            "imageDigest": gone.image_digest,
            "imageTags": tags,
            "imageTagsOmitted": tags_omitted,
            "status": ImageStatus.MISSING,
            "failureCode": bounded_code(gone.code),
            "failureReason": bounded_reason(gone.reason),
        }
    )
