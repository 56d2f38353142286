"""Image verdicts: walk images to their blobs, check every blob with the engine, keep one verdict per image.

One engine call covers all images of a repository at once: a layer shared by many images (a base image) is checked
once, so an audit slice of 100 images costs a handful of ECR calls, not hundreds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from layercheck.errors import RepositoryCheckError, TransientCheckError, is_transient
from layercheck.logic.catalog import PullThroughCachePort
from layercheck.logic.check import DEFAULT_WORKERS, LayerAvailabilityPort, RepositoryTarget, check_repositories
from layercheck.logic.digests import unique_in_order
from layercheck.logic.images import ImageRef, ImageWalk, ManifestFailure, ManifestPort, walk_images
from layercheck.logic.judge import ImageJudgement, judge_archived_image, judge_image, transient_codes
from layercheck.logic.layer_check import VerdictStore
from layercheck.logic.recheck import RecheckPolicy, recheck_absent, result_of
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

    def count(self, status: ImageStatus) -> int:
        return sum(verdict.status == status for verdict in self.verdicts)

    @property
    def broken(self) -> int:
        """What ``BrokenImages`` counts: an ARCHIVED or UNCHECKED image is not broken."""
        return self.count(ImageStatus.BROKEN)

    @property
    def unchecked(self) -> int:
        return self.count(ImageStatus.UNCHECKED)

    @property
    def archived(self) -> int:
        return self.count(ImageStatus.ARCHIVED)


@dataclass
class ImageCheckService:
    registry: LayerAvailabilityPort
    manifests: ManifestPort
    store: VerdictStore
    ttl_days: int = 30
    workers: int = DEFAULT_WORKERS
    clock: Callable[[], datetime] = field(default=utc_now)
    # Asked only when an image would be BROKEN; None (the command line) judges every repository as a plain one.
    pull_through: PullThroughCachePort | None = None

    def check_images(
        self,
        registry_id: str,
        repository_name: str,
        images: Sequence[ImageRef],
        *,
        source: Source,
        check_id: str | None = None,
        recheck: RecheckPolicy | None = None,
    ) -> ImageCheckOutcome:
        """Judge and store every image (plus its per-layer items); raises ``TransientCheckError`` before storing
        anything when a retry may succeed, so that the retry neither duplicates nor double-counts.

        Archived images are judged ARCHIVED without reading them. With ``recheck``, blobs ECR says it lacks are asked
        about again (see recheck.py) before they can make an image BROKEN."""
        images = list({image.image_digest: image for image in images}.values())
        walks = self._walk(registry_id, repository_name, [image for image in images if image.is_active])
        blobs = unique_in_order(digest for walk in walks for digest in walk.blobs)
        target = RepositoryTarget(registry_id, repository_name, blobs)
        outcome = check_repositories([target] if blobs else [], self.registry, workers=self.workers)
        answers: dict[str, LayerAnswer | LayerFailure] = {}
        for result in outcome.results:
            answers.update({layer.layerDigest: layer for layer in result.layers})
            answers.update({failure.layerDigest: failure for failure in result.failures})
        results = outcome.results
        if (
            recheck is not None
            and blobs
            and recheck_absent(target, answers, self.registry, recheck, workers=self.workers)
        ):
            results = [result_of(target, answers)]
        transient = transient_codes(walks, [f for result in results for f in result.failures])
        if transient:
            raise TransientCheckError(repository_name, transient)

        judged = {
            judgement.image.image_digest: judgement
            for judgement in self._judge(registry_id, repository_name, walks, answers)
        }
        checked_at = self.clock()
        verdicts = [
            self._verdict(
                registry_id,
                repository_name,
                judged.get(image.image_digest) or judge_archived_image(image),
                source,
                checked_at,
                check_id,
            )
            for image in images
        ]
        items: list[StoredItem] = [
            *layer_verdicts(results, source=source, checked_at=checked_at, ttl_days=self.ttl_days, check_id=check_id),
            *verdicts,
        ]
        self.store.put_verdicts(items)
        return ImageCheckOutcome(verdicts=verdicts, layer_summary=CheckSummary.of(results))

    def _judge(
        self,
        registry_id: str,
        repository_name: str,
        walks: Sequence[ImageWalk],
        answers: Mapping[str, LayerAnswer | LayerFailure],
    ) -> list[ImageJudgement]:
        """A would-be BROKEN image is judged again if the repository turns out to be a pull-through cache."""
        judgements = [judge_image(walk, answers) for walk in walks]
        if self.pull_through is None or not any(j.status is ImageStatus.BROKEN for j in judgements):
            return judgements
        try:
            rule = self.pull_through.pull_through_cache_rule(registry_id, repository_name)
        except RepositoryCheckError as error:
            if is_transient(error.code):
                raise TransientCheckError(repository_name, [error.code]) from error
            # Without the rules (access denied ...), the repository is judged as a plain one, and the verdict says so.
            reason = f"judged as a plain repository: its pull-through cache rules could not be read ({error.code})"
            return [replace(j, failure_reason=reason) if j.status is ImageStatus.BROKEN else j for j in judgements]
        if rule is None:
            return judgements
        return [judge_image(walk, answers, pull_through=rule) for walk in walks]

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
