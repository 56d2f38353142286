"""Image verdicts: walk images to their blobs, check every blob with the engine, keep one verdict per image.

One engine call covers all images of a repository at once: a layer shared by many images (a base image) is checked
once, so an audit slice of 100 images costs a handful of ECR calls, not hundreds.

Every verdict carries ``observedAt``, the moment this check began reading ECR: the results table never lets it replace
a verdict observed later (logic/verdict_merge.py). Only the audit knows who runs an image (``in_use``): it replaces
the stored ``usedBy`` with what its discovery found; a push or API check leaves it as stored, and its answers and
events carry it. Changes are staged with the write and announced after it (logic/image_keeping.py): a publishing
failure never undoes a verdict, and a change that was not sent is sent on the next occasion.

With ``should_continue`` (the API's deadline) or ``max_blobs``, images whose checks could not finish are not judged
and not stored: they come back in ``unfinished`` with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from layercheck.errors import RepositoryCheckError, TransientCheckError, raise_if_transient
from layercheck.logic.catalog import PullThroughCachePort
from layercheck.logic.change_events import EventPublisherPort, UnsentEvent
from layercheck.logic.check import (
    DEFAULT_WORKERS,
    LayerAvailabilityPort,
    RepositoryTarget,
    ShouldContinue,
    check_repositories,
)
from layercheck.logic.digests import unique_in_order
from layercheck.logic.image_keeping import VerdictKeeper
from layercheck.logic.images import ImageRef, ImageWalk, ManifestFailure, ManifestPort, walk_images
from layercheck.logic.judge import ImageJudgement, judge_archived_image, judge_image, transient_codes
from layercheck.logic.layer_check import VerdictStore
from layercheck.logic.manifest_memory import ManifestMemoryPort, walk_with_memory
from layercheck.logic.recheck import RecheckPolicy, recheck_absent, result_of
from layercheck.logic.unfinished import UnfinishedImage, finished, within_budget, without_stopped
from layercheck.logic.verdict_build import GoneImage, VerdictContext, judged_verdict, missing_verdict
from layercheck.logic.verdict_merge import ImageObservation, ImageVerdictStore, InUseKnowledge, ReplicasObservation
from layercheck.models.replicas import INCOMPLETE_REPLICA_STATUSES, Replica
from layercheck.models.stored import (
    NOT_PULLABLE,
    ImageStatus,
    Source,
    StoredImageVerdict,
    StoredLayerVerdict,
    layer_verdicts,
    observed_iso,
    utc_now,
)
from layercheck.models.verdicts import CheckSummary, LayerAnswer, LayerFailure, RepositoryResult

ReplicaCheck = Callable[[ImageWalk], list[Replica]]


@dataclass(frozen=True)
class ImageCheckOutcome:
    verdicts: list[StoredImageVerdict]
    layer_summary: CheckSummary
    events_sent: int = 0
    events_unsent: list[UnsentEvent] = field(default_factory=list)
    unfinished: list[UnfinishedImage] = field(default_factory=list)

    @property
    def in_use_broken(self) -> int:
        """What ``InUseImagesBroken`` counts: BROKEN images that someone runs."""
        return sum(verdict.status is ImageStatus.BROKEN and verdict.in_use for verdict in self.verdicts)

    @property
    def in_use_missing(self) -> int:
        """What ``InUseImagesMissing`` counts: images someone runs that cannot be pulled (gone or archived)."""
        return sum(verdict.status in NOT_PULLABLE and verdict.in_use for verdict in self.verdicts)

    @property
    def in_use_at_risk(self) -> int:
        """What ``InUseImagesAtRisk`` counts: images someone runs that the lifecycle policy would expire or archive."""
        return sum(verdict.lifecycleRisk is not None and verdict.in_use for verdict in self.verdicts)

    @property
    def replicas_incomplete(self) -> int:
        """What ``ReplicasIncomplete`` counts: BROKEN, MISSING and FAILED copies at replication destinations."""
        return sum(replica.status in INCOMPLETE_REPLICA_STATUSES for v in self.verdicts for replica in v.replicas)

    def count(self, status: ImageStatus) -> int:
        return sum(verdict.status == status for verdict in self.verdicts)

    @property
    def broken(self) -> int:
        """What ``BrokenImages`` counts: an ARCHIVED, MISSING or UNCHECKED image is not broken."""
        return self.count(ImageStatus.BROKEN)

    @property
    def unchecked(self) -> int:
        return self.count(ImageStatus.UNCHECKED)

    @property
    def archived(self) -> int:
        return self.count(ImageStatus.ARCHIVED)


def combined(*outcomes: ImageCheckOutcome | None) -> ImageCheckOutcome | None:
    """One outcome of several checks of one repository (its images, its MISSING images)."""
    present = [outcome for outcome in outcomes if outcome is not None]
    if len(present) <= 1:
        return present[0] if present else None
    names = CheckSummary.model_fields
    return ImageCheckOutcome(
        verdicts=[verdict for outcome in present for verdict in outcome.verdicts],
        layer_summary=CheckSummary(**{n: sum(getattr(o.layer_summary, n) for o in present) for n in names}),
        events_sent=sum(outcome.events_sent for outcome in present),
        events_unsent=[unsent for outcome in present for unsent in outcome.events_unsent],
        unfinished=[entry for outcome in present for entry in outcome.unfinished],
    )


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
    region: str = field(kw_only=True)  # the Region of the registry client above: its verdicts' ``region``
    # Image verdicts are merged into their items here, with their change events staged (the outbox); without it they
    # are written with the layer items through ``store`` and no change is announced (the command line).
    image_store: ImageVerdictStore | None = None
    events: EventPublisherPort | None = None
    # Walks already read, by digest (logic/manifest_memory.py); None: every manifest is read (the command line).
    manifest_memory: ManifestMemoryPort | None = None

    def __post_init__(self) -> None:
        if self.events is not None and self.image_store is None:
            raise ValueError("change events need the image store: give image_store")

    def check_images(
        self,
        registry_id: str,
        repository_name: str,
        images: Sequence[ImageRef],
        *,
        source: Source,
        check_id: str | None = None,
        recheck: RecheckPolicy | None = None,
        in_use: InUseKnowledge | None = None,
        replica_check: ReplicaCheck | None = None,
        should_continue: ShouldContinue | None = None,
        max_blobs: int | None = None,
    ) -> ImageCheckOutcome:
        """Judge and keep every image (plus its per-layer items), then announce the changes; raises
        ``TransientCheckError`` before storing anything when a retry may succeed, so that the retry neither
        duplicates nor double-counts. Archived images are judged ARCHIVED without reading them; with ``recheck``,
        blobs ECR says it lacks are asked about again (see recheck.py) before they can make an image BROKEN."""
        observed_at = self.clock()
        images = list({image.image_digest: image for image in images}.values())
        active = [image for image in images if image.is_active]
        walks = self._walk(registry_id, repository_name, active, should_continue)
        walks, unfinished = within_budget(walks, max_blobs)
        target = RepositoryTarget(
            registry_id, repository_name, unique_in_order(d for walk in walks for d in walk.blobs)
        )
        answers, results = self._answers(target, recheck, should_continue)
        transient = transient_codes(walks, [f for result in results for f in result.failures])
        if transient:
            raise TransientCheckError(repository_name, transient)
        walks, stopped = finished(walks, answers)
        unfinished += stopped
        judged = {j.image.image_digest: j for j in self._judge(registry_id, repository_name, walks, answers)}
        skipped = {entry.image.image_digest for entry in unfinished}
        context = VerdictContext(
            registry_id, repository_name, self.region, source, check_id, observed_at, self.clock(),
            self.ttl_days,
        )  # fmt: skip
        walked = {walk.image.image_digest: walk for walk in walks}
        observations = [
            self._observation(context, judged.get(image.image_digest) or judge_archived_image(image), in_use,
                              replica_check, walked.get(image.image_digest))
            for image in images
            if image.image_digest not in skipped
        ]  # fmt: skip
        layers = layer_verdicts(
            [without_stopped(result) for result in results],
            source=source, checked_at=context.checked_at, ttl_days=self.ttl_days, region=context.region,
            check_id=check_id,
        )  # fmt: skip
        return self._keep(layers, observations, CheckSummary.of(results), unfinished)

    def record_missing(
        self,
        registry_id: str,
        repository_name: str,
        gone: Sequence[GoneImage],
        *,
        source: Source,
        check_id: str | None = None,
        in_use: InUseKnowledge | None = None,
    ) -> ImageCheckOutcome:
        """Keep a MISSING verdict for each image the registry no longer holds (with who runs it, if known)."""
        now = self.clock()
        context = VerdictContext(registry_id, repository_name, self.region, source, check_id, now, now, self.ttl_days)
        observations = [
            ImageObservation(
                missing_verdict(context, image),
                None if in_use is None else in_use.observation(image.image_digest),
                risk=None if in_use is None else in_use.risk_observation(image.image_digest),
            )
            for image in gone
        ]
        if in_use is not None:  # a tag that names nothing: its users are keyed by the tag
            observations = [
                replace(o, users=in_use.observation(o.verdict.reference)) if o.verdict.imageDigest is None else o
                for o in observations
            ]
        return self._keep([], observations, CheckSummary(), [])

    # -- steps -----------------------------------------------------------------------------------------------------

    def _answers(
        self, target: RepositoryTarget, recheck: RecheckPolicy | None, should_continue: ShouldContinue | None
    ) -> tuple[dict[str, LayerAnswer | LayerFailure], list[RepositoryResult]]:
        if not target.layer_digests:
            return {}, []
        outcome = check_repositories([target], self.registry, workers=self.workers, should_continue=should_continue)
        answers: dict[str, LayerAnswer | LayerFailure] = {}
        for result in outcome.results:
            answers.update({layer.layerDigest: layer for layer in result.layers})
            answers.update({failure.layerDigest: failure for failure in result.failures})
        results = outcome.results
        if recheck is not None and recheck_absent(target, answers, self.registry, recheck, workers=self.workers):
            results = [result_of(target, answers)]
        return answers, results

    def _observation(
        self,
        context: VerdictContext,
        judgement: ImageJudgement,
        in_use: InUseKnowledge | None,
        replica_check: ReplicaCheck | None,
        walk: ImageWalk | None,
    ) -> ImageObservation:
        verdict = judged_verdict(context, judgement)
        users = None if in_use is None else in_use.observation(verdict.imageDigest)
        replicas = None
        if replica_check is not None:
            found = replica_check(walk) if walk is not None else []
            replicas = ReplicasObservation(tuple(found), observed_iso(context.observed_at))
        risk = None if in_use is None else in_use.risk_observation(verdict.imageDigest)
        return ImageObservation(verdict, users, replicas, risk)

    def _keep(
        self,
        layers: list[StoredLayerVerdict],
        observations: list[ImageObservation],
        summary: CheckSummary,
        unfinished: list[UnfinishedImage],
    ) -> ImageCheckOutcome:
        if self.image_store is None:
            verdicts = [_as_observed(observation) for observation in observations]
            self.store.put_verdicts([*layers, *verdicts])
            return ImageCheckOutcome(verdicts=verdicts, layer_summary=summary, unfinished=unfinished)
        self.store.put_verdicts(layers)
        kept = VerdictKeeper(self.image_store, self.events).keep(observations)
        return ImageCheckOutcome(
            verdicts=kept.verdicts,
            layer_summary=summary,
            events_sent=kept.events_sent,
            events_unsent=kept.events_unsent,
            unfinished=unfinished,
        )

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
            raise_if_transient(error, repository_name)
            # Without the rules (access denied ...), the repository is judged as a plain one, and the verdict says so.
            reason = f"judged as a plain repository: its pull-through cache rules could not be read ({error.code})"
            return [replace(j, failure_reason=reason) if j.status is ImageStatus.BROKEN else j for j in judgements]
        if rule is None:
            return judgements
        return [judge_image(walk, answers, pull_through=rule) for walk in walks]

    def _walk(
        self,
        registry_id: str,
        repository_name: str,
        images: Sequence[ImageRef],
        should_continue: ShouldContinue | None,
    ) -> list[ImageWalk]:
        try:
            if self.manifest_memory is not None:
                return walk_with_memory(
                    registry_id, self.region, repository_name, images, self.manifests, self.manifest_memory,
                    should_continue=should_continue,
                )  # fmt: skip
            return walk_images(registry_id, repository_name, images, self.manifests, should_continue=should_continue)
        except RepositoryCheckError as error:
            raise_if_transient(error, repository_name)
            # Repository gone, access denied ...: every image gets a verdict that says so.
            return [
                ImageWalk(image, failure=ManifestFailure(image.image_digest, error.code, error.message))
                for image in images
            ]


def _as_observed(observation: ImageObservation) -> StoredImageVerdict:
    """The verdict as observed, with the groups it recomputed (where nothing is merged: the command line)."""
    update: dict[str, object] = {}
    if observation.users is not None:
        update |= {"usedBy": list(observation.users.users), "usedByObservedAt": observation.users.observed_at}
    if observation.replicas is not None:
        update |= {"replicas": list(observation.replicas.replicas)}
    return observation.verdict.model_copy(update=update) if update else observation.verdict
