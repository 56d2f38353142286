"""Image verdicts: walk images to their blobs, check every blob with the engine, keep one verdict per image.

One engine call covers all images of a repository at once: a layer shared by many images (a base image) is checked
once, so an audit slice of 100 images costs a handful of ECR calls, not hundreds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from layercheck.errors import RepositoryCheckError, TransientCheckError, is_transient
from layercheck.logic.check import DEFAULT_WORKERS, LayerAvailabilityPort, RepositoryTarget, check_repositories
from layercheck.logic.digests import unique_in_order
from layercheck.logic.images import (
    ImageJudgement,
    ImageRef,
    ImageWalk,
    ManifestFailure,
    ManifestPort,
    judge_image,
    transient_codes,
    walk_images,
)
from layercheck.logic.service import VerdictStore
from layercheck.models.stored import (
    ImageStatus,
    Source,
    StoredImageVerdict,
    StoredItem,
    expiry,
    iso_utc,
    layer_verdicts,
    utc_now,
)
from layercheck.models.verdicts import CheckSummary, LayerAnswer, LayerFailure


@dataclass(frozen=True)
class ImageCheckOutcome:
    verdicts: list[StoredImageVerdict]
    layer_summary: CheckSummary

    @property
    def broken(self) -> int:
        return sum(verdict.status == ImageStatus.BROKEN for verdict in self.verdicts)

    @property
    def unchecked(self) -> int:
        return sum(verdict.status == ImageStatus.UNCHECKED for verdict in self.verdicts)


@dataclass
class ImageCheckService:
    registry: LayerAvailabilityPort
    manifests: ManifestPort
    store: VerdictStore
    ttl_days: int = 30
    workers: int = DEFAULT_WORKERS
    clock: Callable[[], datetime] = field(default=utc_now)

    def check_images(
        self,
        registry_id: str,
        repository_name: str,
        images: Sequence[ImageRef],
        *,
        source: Source,
        check_id: str | None = None,
    ) -> ImageCheckOutcome:
        """Judge and store every image (plus its per-layer items); raises ``TransientCheckError`` before storing
        anything when a retry may succeed, so that the retry neither duplicates nor double-counts."""
        images = list({image.image_digest: image for image in images}.values())
        walks = self._walk(registry_id, repository_name, images)
        blobs = unique_in_order(digest for walk in walks for digest in walk.blobs)
        outcome = check_repositories(
            [RepositoryTarget(registry_id, repository_name, blobs)] if blobs else [],
            self.registry,
            workers=self.workers,
        )
        answers: dict[str, LayerAnswer | LayerFailure] = {}
        for result in outcome.results:
            answers.update({layer.layerDigest: layer for layer in result.layers})
            answers.update({failure.layerDigest: failure for failure in result.failures})
        transient = transient_codes(walks, [f for result in outcome.results for f in result.failures])
        if transient:
            raise TransientCheckError(repository_name, transient)

        checked_at = self.clock()
        judgements = [judge_image(walk, answers) for walk in walks]
        verdicts = [
            self._verdict(registry_id, repository_name, judgement, source, checked_at, check_id)
            for judgement in judgements
        ]
        items: list[StoredItem] = [
            *layer_verdicts(
                outcome.results, source=source, checked_at=checked_at, ttl_days=self.ttl_days, check_id=check_id
            ),
            *verdicts,
        ]
        self.store.put_verdicts(items)
        return ImageCheckOutcome(verdicts=verdicts, layer_summary=outcome.summary)

    def _walk(self, registry_id: str, repository_name: str, images: Sequence[ImageRef]) -> list[ImageWalk]:
        try:
            return walk_images(registry_id, repository_name, images, self.manifests)
        except RepositoryCheckError as error:
            if is_transient(error.code):
                raise TransientCheckError(repository_name, [error.code]) from error
            # Repository gone, access denied ...: every image gets a verdict that says so.
            return [
                ImageWalk(image, failure=ManifestFailure(image.image_digest, error.code, error.message))
                for image in images
            ]

    def _verdict(
        self,
        registry_id: str,
        repository_name: str,
        judgement: ImageJudgement,
        source: Source,
        checked_at: datetime,
        check_id: str | None,
    ) -> StoredImageVerdict:
        return StoredImageVerdict(
            registryId=registry_id,
            repositoryName=repository_name,
            checkedAt=iso_utc(checked_at),
            source=source,
            expiresAt=expiry(checked_at, self.ttl_days),
            imageDigest=judgement.image.image_digest,
            imageTags=sorted(judgement.image.image_tags),
            status=judgement.status,
            missingLayers=list(judgement.missing_layers),
            missingManifests=list(judgement.missing_manifests),
            failureCode=judgement.failure_code,
            failureReason=judgement.failure_reason,
            checkId=check_id,
        )
