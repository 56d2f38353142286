"""Image verdicts: walk images to their blobs, check every blob with the engine, keep one verdict per image.

One engine call covers all images of a repository at once: a layer shared by many images (a base image) is checked
once, so an audit slice of 100 images costs a handful of ECR calls, not hundreds.

After storing, an image whose status differs from the one its write replaced (or whose first verdict is not COMPLETE)
gets an "Image Verdict Changed" event (logic/change_events.py). The previous status comes back with the write
(``ImageVerdictStore``: UpdateItem ALL_OLD), so a replayed delivery sees its own earlier write and publishes nothing
again. Only the audit knows who runs an image: a push or API check keeps the stored ``usedBy`` (in the same write)
and its verdicts and events carry it. Events are published only after the verdicts are stored, and a publishing
failure is reported in the outcome (``events_unsent``), never undoes a verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from layercheck.errors import RepositoryCheckError, ResultsNotStoredError, TransientCheckError, is_transient
from layercheck.logic.catalog import PullThroughCachePort
from layercheck.logic.change_events import EventPublisherPort, UnsentEvent, event_entry, verdict_changed
from layercheck.logic.check import DEFAULT_WORKERS, LayerAvailabilityPort, RepositoryTarget, check_repositories
from layercheck.logic.digests import unique_in_order
from layercheck.logic.failure_text import bounded_code, bounded_reason
from layercheck.logic.images import ImageRef, ImageWalk, ManifestFailure, ManifestPort, walk_images
from layercheck.logic.judge import ImageJudgement, judge_archived_image, judge_image, transient_codes
from layercheck.logic.layer_check import ImageVerdictStore, ImageWrite, VerdictStore
from layercheck.logic.recheck import RecheckPolicy, recheck_absent, result_of
from layercheck.models.in_use import UsedBy
from layercheck.models.replicas import INCOMPLETE_REPLICA_STATUSES, Replica
from layercheck.models.stored import (
    MAX_LISTED,
    ImageStatus,
    Source,
    StoredImageVerdict,
    expiry,
    iso_utc,
    layer_verdicts,
    utc_now,
)
from layercheck.models.verdicts import CheckSummary, LayerAnswer, LayerFailure

ReplicaCheck = Callable[[ImageWalk], list[Replica]]


@dataclass(frozen=True)
class ImageCheckOutcome:
    verdicts: list[StoredImageVerdict]
    layer_summary: CheckSummary
    events_sent: int = 0
    events_unsent: list[UnsentEvent] = field(default_factory=list)

    @property
    def in_use_broken(self) -> int:
        """What ``InUseImagesBroken`` counts: BROKEN images that someone runs (``usedBy`` not empty)."""
        return sum(verdict.status is ImageStatus.BROKEN and bool(verdict.usedBy) for verdict in self.verdicts)

    @property
    def replicas_incomplete(self) -> int:
        """What ``ReplicasIncomplete`` counts: BROKEN, MISSING and FAILED copies at replication destinations."""
        return sum(replica.status in INCOMPLETE_REPLICA_STATUSES for v in self.verdicts for replica in v.replicas)

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
    # The Region of the registry client above: the verdicts' ``region`` unless a call names one. None: the store's
    # home Region (the results table fills it in).
    region: str | None = None
    # Image verdicts are written here, one by one with the status they replace, when given; else with the layer
    # items through ``store`` (then no change event can be told apart from a repeat, so none is published).
    image_store: ImageVerdictStore | None = None
    events: EventPublisherPort | None = None

    def __post_init__(self) -> None:
        if self.events is not None and (self.image_store is None or self.region is None):
            raise ValueError("change events need the previous status and the Region: give image_store and region")

    def check_images(
        self,
        registry_id: str,
        repository_name: str,
        images: Sequence[ImageRef],
        *,
        source: Source,
        check_id: str | None = None,
        recheck: RecheckPolicy | None = None,
        region: str | None = None,
        used_by: Mapping[str, Sequence[UsedBy]] | None = None,
        replica_check: ReplicaCheck | None = None,
    ) -> ImageCheckOutcome:
        """Judge and store every image (plus its per-layer items), then publish the changes; raises
        ``TransientCheckError`` before storing anything when a retry may succeed, so that the retry neither
        duplicates nor double-counts.

        Archived images are judged ARCHIVED without reading them. With ``recheck``, blobs ECR says it lacks are asked
        about again (see recheck.py) before they can make an image BROKEN. ``used_by`` (by image digest; an image not in
        it: nobody) replaces the stored ``usedBy``; None (the caller does not know) keeps the stored one, which the
        returned verdicts and their change events then carry. ``replica_check`` gives each walked image's
        ``replicas``."""
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
        region = region or self.region
        walked = {walk.image.image_digest: walk for walk in walks}
        verdicts = [
            self._verdict(
                registry_id,
                repository_name,
                judged.get(image.image_digest) or judge_archived_image(image),
                source,
                checked_at,
                check_id,
                region=region,
                used_by=(used_by or {}).get(image.image_digest, ()),
                replicas=replica_check(walked[image.image_digest])
                if replica_check and image.image_digest in walked
                else [],
            )
            for image in images
        ]
        layers = layer_verdicts(
            results, source=source, checked_at=checked_at, ttl_days=self.ttl_days, region=region, check_id=check_id
        )
        if self.image_store is None:
            self.store.put_verdicts([*layers, *verdicts])
            return ImageCheckOutcome(verdicts=verdicts, layer_summary=CheckSummary.of(results))
        self.store.put_verdicts(layers)
        # Without ``used_by`` (a push or API check) who runs the image is not known here: the stored usedBy (the
        # audit's) stays, and the verdicts answered and announced carry it.
        keep_audit_findings = used_by is None
        writes = self.image_store.put_image_verdicts(verdicts, keep_audit_findings=keep_audit_findings)
        if keep_audit_findings:
            verdicts = [
                verdict.model_copy(update={"usedBy": list(write.previous_used_by)})
                if write.previous_used_by
                else verdict
                for verdict, write in zip(verdicts, writes, strict=True)
            ]
        sent, unsent = self._publish_changes(verdicts, writes)
        unstored = [verdict for verdict, write in zip(verdicts, writes, strict=True) if not write.stored]
        if unstored:
            # After publishing what was stored: a retry finds those written, and would not send their events again.
            reasons = sorted({write.reason for write in writes if not write.stored})
            keys = [{"repositoryName": v.repositoryName, "imageDigest": v.imageDigest} for v in unstored]
            raise ResultsNotStoredError(keys, "; ".join(reasons))
        return ImageCheckOutcome(
            verdicts=verdicts, layer_summary=CheckSummary.of(results), events_sent=sent, events_unsent=unsent
        )

    def _publish_changes(
        self, verdicts: Sequence[StoredImageVerdict], writes: Sequence[ImageWrite]
    ) -> tuple[int, list[UnsentEvent]]:
        if self.events is None:
            return 0, []
        entries = []
        for verdict, write in zip(verdicts, writes, strict=True):
            detail = (
                verdict_changed(
                    write.previous_status, verdict, region=verdict.region or str(self.region), used_by=verdict.usedBy
                )
                if write.stored
                else None
            )
            if detail is not None:
                entries.append(event_entry(detail))
        if not entries:
            return 0, []
        outcome = self.events.publish(entries)
        return outcome.sent, list(outcome.unsent)

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
        *,
        region: str | None,
        used_by: Sequence[UsedBy],
        replicas: list[Replica],
    ) -> StoredImageVerdict:
        tags, missing_layers, missing_manifests = (
            sorted(judgement.image.image_tags),
            list(judgement.missing_layers),
            list(judgement.missing_manifests),
        )
        return StoredImageVerdict(
            registryId=registry_id,
            region=region,
            repositoryName=repository_name,
            checkedAt=iso_utc(checked_at),
            source=source,
            expiresAt=expiry(checked_at, self.ttl_days),
            imageDigest=judgement.image.image_digest,
            imageTags=tags[:MAX_LISTED],
            imageTagsOmitted=max(0, len(tags) - MAX_LISTED),
            status=judgement.status,
            missingLayers=missing_layers[:MAX_LISTED],
            missingLayersOmitted=max(0, len(missing_layers) - MAX_LISTED),
            missingManifests=missing_manifests[:MAX_LISTED],
            missingManifestsOmitted=max(0, len(missing_manifests) - MAX_LISTED),
            # ECR's texts, bounded as the layer answers' are (an image answer must fit with 99 others in 6 MB)
            failureCode=None if judgement.failure_code is None else bounded_code(judgement.failure_code),
            failureReason=None if judgement.failure_reason is None else bounded_reason(judgement.failure_reason),
            checkId=check_id,
            usedBy=list(dict.fromkeys(used_by)),
            replicas=replicas,
        )
