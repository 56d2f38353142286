"""Judging an image from what its repository answered about its blobs: the verdict rules (docs/EVENTS.md).

- ``BROKEN``: a referenced blob or platform manifest is not in the repository (MissingLayerDigest, UNAVAILABLE ...).
- ``UNCHECKED``: it cannot be known, and ``failureCode``/``failureReason`` say why: the image could not be read, an
  error answered for a blob, or the repository is a pull-through cache, where ECR fetches what it lacks from upstream
  on the next pull (an uncached blob there is normal, not a broken image).
- ``MISSING``: the registry no longer holds the image itself (or its repository): nothing left to judge, and nothing
  a workload can pull.
- ``ARCHIVED``: the image, or one of its blobs, is in ECR's archive storage class: not pullable until restored, and
  not broken either.
- ``COMPLETE``: every blob answered AVAILABLE.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from layercheck.contracts.ecr_codes import IMAGE_GONE_CODES
from layercheck.errors import is_transient
from layercheck.logic.catalog import IMAGE_ACTIVATING, PullThroughCacheRule
from layercheck.logic.images import ImageRef, ImageWalk
from layercheck.models.stored import ImageStatus
from layercheck.models.verdicts import AVAILABLE, FailureCode, LayerAnswer, LayerFailure

LAYER_ARCHIVED = "ARCHIVED"  # a BatchCheckLayerAvailability layerAvailability value

# Our own failure codes, beside ECR's (docs/EVENTS.md lists them all).
IMAGE_ARCHIVED_CODE = "ImageArchived"
IMAGE_ACTIVATING_CODE = "ImageActivating"
LAYERS_ARCHIVED_CODE = "LayersArchived"
NOT_CACHED_CODE = "NotCachedFromUpstream"

# How many digests a failureReason names before it says "and N more" (the digests themselves are in missingLayers).
NAMED_IN_REASON = 3


@dataclass(frozen=True)
class ImageJudgement:
    image: ImageRef
    status: ImageStatus
    missing_layers: tuple[str, ...] = ()
    missing_manifests: tuple[str, ...] = ()
    failure_code: str | None = None
    failure_reason: str | None = None


def is_absent(answer: LayerAnswer | LayerFailure | None) -> bool:
    """ECR says the repository does not hold this blob (or holds it UNAVAILABLE, or any availability ECR adds later
    that is neither AVAILABLE nor ARCHIVED); an error is not absence: it says nothing about the blob."""
    if answer is None:
        return True
    if isinstance(answer, LayerAnswer):
        return answer.layerAvailability not in (AVAILABLE, LAYER_ARCHIVED)
    return answer.failureCode in (FailureCode.MISSING_LAYER_DIGEST, FailureCode.INVALID_LAYER_DIGEST)


def judge_archived_image(image: ImageRef) -> ImageJudgement:
    """An image ECR lists as ARCHIVED or ACTIVATING is not read at all (a pull of it fails with 404 until restored)."""
    if image.image_status == IMAGE_ACTIVATING:
        return ImageJudgement(
            image,
            ImageStatus.ARCHIVED,
            failure_code=IMAGE_ACTIVATING_CODE,
            failure_reason="being restored from ECR's archive storage class: pullable once ECR lists it ACTIVE",
        )
    since = f" since {image.last_archived_at.isoformat()}" if image.last_archived_at else ""
    return ImageJudgement(
        image,
        ImageStatus.ARCHIVED,
        failure_code=IMAGE_ARCHIVED_CODE,
        failure_reason=(
            f"in ECR's archive storage class{since} (imageStatus {image.image_status}): not pullable until restored"
            " with UpdateImageStorageClass; not broken, its layers were not checked"
        ),
    )


def judge_image(
    walk: ImageWalk,
    answers: Mapping[str, LayerAnswer | LayerFailure],
    *,
    pull_through: PullThroughCacheRule | None = None,
) -> ImageJudgement:
    """The verdict of one walked image from its blobs' answers (see the module's rules, in that order)."""
    if walk.failure is not None:
        gone = walk.failure.image_digest == walk.image.image_digest and walk.failure.failure_code in IMAGE_GONE_CODES
        return ImageJudgement(
            walk.image,
            ImageStatus.MISSING if gone else ImageStatus.UNCHECKED,
            failure_code=walk.failure.failure_code,
            failure_reason=walk.failure.failure_reason,
        )
    missing: list[str] = []
    archived: list[str] = []
    errors: list[LayerFailure] = []
    for digest in walk.blobs:
        answer = answers.get(digest)
        if is_absent(answer):
            missing.append(digest)
        elif isinstance(answer, LayerAnswer):
            if answer.layerAvailability == LAYER_ARCHIVED:
                archived.append(digest)
        elif answer is not None:
            errors.append(answer)
    if missing or walk.missing_manifests:
        if pull_through is not None:
            return _not_cached(walk, tuple(missing), pull_through)
        return ImageJudgement(walk.image, ImageStatus.BROKEN, tuple(missing), walk.missing_manifests)
    if errors:
        return ImageJudgement(
            walk.image,
            ImageStatus.UNCHECKED,
            failure_code=errors[0].failureCode,
            failure_reason=errors[0].failureReason,
        )
    if archived:
        return ImageJudgement(
            walk.image,
            ImageStatus.ARCHIVED,
            failure_code=LAYERS_ARCHIVED_CODE,
            failure_reason=(
                f"{_named(archived)} answered ARCHIVED: in ECR's archive storage class, so a pull fails until the"
                " image is restored (UpdateImageStorageClass); not broken, nothing is missing"
            ),
        )
    return ImageJudgement(walk.image, ImageStatus.COMPLETE)


def _not_cached(walk: ImageWalk, missing: tuple[str, ...], rule: PullThroughCacheRule) -> ImageJudgement:
    """A pull-through cache repository holds only what was pulled; ECR fetches the rest from upstream on pull."""
    absent = [*missing, *walk.missing_manifests]
    upstream = f" ({rule.upstream_registry_url})" if rule.upstream_registry_url else ""
    return ImageJudgement(
        walk.image,
        ImageStatus.UNCHECKED,
        missing,
        walk.missing_manifests,
        failure_code=NOT_CACHED_CODE,
        failure_reason=(
            f"{_named(absent, 'digest')} not cached in this pull-through cache repository (rule prefix"
            f" {rule.ecr_repository_prefix!r}): ECR fetches them from the upstream registry{upstream} on pull, and"
            " whether the upstream still has them is not checked"
        ),
    )


def _named(digests: list[str], noun: str = "blob") -> str:
    """``2 blobs (sha256:a, sha256:b)``, naming at most ``NAMED_IN_REASON`` so that a reason stays short."""
    shown = ", ".join(digests[:NAMED_IN_REASON])
    more = len(digests) - NAMED_IN_REASON
    return f"{len(digests)} {noun}{'s' if len(digests) != 1 else ''} ({shown}{f' and {more} more' if more > 0 else ''})"


def transient_codes(walks: Iterable[ImageWalk], layer_failures: Iterable[LayerFailure]) -> list[str]:
    """Error codes that a retry may clear, from reading manifests or checking layers."""
    codes = [walk.failure.failure_code for walk in walks if walk.failure is not None]
    codes += [failure.failureCode for failure in layer_failures]
    return sorted({code for code in codes if is_transient(code)})
