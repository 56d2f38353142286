"""The audit of one repository (and of its image slices), as the registry's audit queued it.

Two levels of fan-out keep every step bounded at ECR's limits (100,000 repositories, 100,000 images each): a
repository item lists the repository's images (archived ones included: ECR lists only ACTIVE ones unless asked) and
checks them itself when they fit one slice of ``MAX_IMAGES_PER_WORK_ITEM``, otherwise it queues ``ImagesWorkItem``
slices. logic/org_audit.py queues the repository items of each audited registry.

Who runs the images: the registry's audit stored every reference its discovery found for this repository
(``InUseReferencesPort``), however many; the repository item reads them all, resolves them against its own listing
(a tag to the digest it names now, logic/in_use.py), checks the images in use first whatever the scope says, keeps a
MISSING verdict, with its users, for every image in use the repository no longer holds, and writes each checked
image's ``usedBy`` as observed at discovery (an image nobody runs: none). An item that does not know (no
``inUseObservedAt``) leaves the stored ``usedBy`` as it is: an audit never removes what it did not recompute.

What the repository's lifecycle policy would do to its images in use (``lifecycle``, logic/lifecycle_guard.py) is
previewed by the repository item that knows who runs them, before its images are checked, and written with their
verdicts (``lifecycleRisk``); a preview that could not be had leaves the stored risks as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from layercheck.contracts.ecr_codes import REPOSITORY_NOT_FOUND
from layercheck.errors import RepositoryCheckError, raise_if_transient
from layercheck.logic.audit_scope import (
    SEND_CHUNK,
    WorkQueuePort,
    audit_image,
    image_slices,
    in_scope,
    in_use_first,
    select_images,
)
from layercheck.logic.catalog import CatalogPort, ImageDetail
from layercheck.logic.image_check import ImageCheckOutcome, ImageCheckService, combined
from layercheck.logic.images import ImageRef, ImageWalk
from layercheck.logic.in_use import ResolvedInUse, TagResolverPort, resolve_in_use
from layercheck.logic.lifecycle_guard import GuardOutcome, LifecycleGuard, slice_risks, with_risks
from layercheck.logic.registries import Registry
from layercheck.logic.replica_probe import DestinationsPort, ItemReplicaProbe
from layercheck.logic.replication import ReplicationDestination, SourceImage, check_replicas
from layercheck.logic.verdict_merge import InUseKnowledge
from layercheck.models.audit import (
    MAX_IMAGES_PER_WORK_ITEM,
    AuditImage,
    AuditScope,
    ImagesWorkItem,
    ReplicaDestination,
    RepositoryWorkItem,
)
from layercheck.models.in_use import InUseReference
from layercheck.models.replicas import Replica
from layercheck.models.stored import Source, utc_now


class InUseReferencesPort(Protocol):
    def put_references(
        self,
        audit_id: str,
        registry_id: str,
        region: str,
        repository_name: str,
        references: Sequence[InUseReference],
        *,
        now: datetime,
    ) -> int:
        """Keep one repository's references for this audit; returns how many chunks a reader must read."""
        ...

    def references(
        self, audit_id: str, registry_id: str, region: str, repository_name: str, chunks: int
    ) -> list[InUseReference]:
        """Every reference kept for the repository by this audit."""
        ...


@dataclass(frozen=True)
class AuditStarted:
    audit_id: str
    repositories: int


@dataclass(frozen=True)
class RepositoryAudited:
    """A repository item either checked its images itself (``outcome``) or queued ``queued_slices`` slices (its
    MISSING verdicts, if any, are in ``outcome`` then).

    ``unlisted``: ECR refused to list the repository's images (its code and message; an AccessDenied of that
    repository's policy): only its images in use were checked."""

    images_in_scope: int
    outcome: ImageCheckOutcome | None = None
    queued_slices: int = 0
    repository_gone: bool = False
    unlisted: RepositoryCheckError | None = None
    lifecycle: GuardOutcome | None = None  # the lifecycle preview of its images in use, if one was asked for


@dataclass
class AuditService:
    """The audit of one registry's repositories (``region``: the registry's, that of every item it is handed);
    ``destinations``: the replica readers, None to skip replicas; ``in_use_references``: where the registry's audit
    keeps what it found in use (None: nothing is known in use); ``tags``: resolves the tags in use of a repository
    whose images cannot be listed; ``lifecycle``: previews the risk of the images in use (None: not looked at)."""

    catalog: CatalogPort
    queue: WorkQueuePort
    images: ImageCheckService
    region: str = field(kw_only=True)
    destinations: DestinationsPort | None = None
    replication_grace_minutes: int = 60
    clock: Callable[[], datetime] = field(default=utc_now)
    in_use_references: InUseReferencesPort | None = None
    tags: TagResolverPort | None = None
    lifecycle: LifecycleGuard | None = None

    def start(self, audit_id: str, scope: AuditScope, *, registry_id: str | None = None) -> AuditStarted:
        """Queue one work item per repository in scope (the command line's audit of one registry)."""
        try:
            repositories = self.catalog.list_repositories(registry_id)
            queued = 0
            pending: list[RepositoryWorkItem] = []
            for repository in repositories:
                if not in_scope(repository.repository_name, scope.repositoryPrefixes):
                    continue
                pending.append(
                    RepositoryWorkItem(
                        auditId=audit_id,
                        registryId=repository.registry_id,
                        repositoryName=repository.repository_name,
                        taggedOnly=scope.taggedOnly,
                        newestImages=scope.newestImages,
                    )
                )
                if len(pending) >= SEND_CHUNK:
                    queued += self.queue.send_work_items(pending)
                    pending = []
            if pending:
                queued += self.queue.send_work_items(pending)
        except RepositoryCheckError as error:
            raise_if_transient(error, "(repository listing)")
            raise
        return AuditStarted(audit_id=audit_id, repositories=queued)

    def audit_repository(self, item: RepositoryWorkItem) -> RepositoryAudited:
        references = self._references(item)
        try:
            details = list(
                self.catalog.list_image_details(item.registryId, item.repositoryName, tagged_only=item.taggedOnly)
            )
        except RepositoryCheckError as error:
            raise_if_transient(error, item.repositoryName)
            if error.code != REPOSITORY_NOT_FOUND:
                raise
            # Deleted since it was listed, or a repository only the workloads still name: every image in use is gone.
            resolved = resolve_in_use(references, {}, (), gone_code=REPOSITORY_NOT_FOUND)
            # Nothing held, nothing at risk: the guard clears the risks without asking ECR.
            gone = self._record_gone(item, resolved, self._knowledge(item, resolved, self._guard(item, resolved)))
            return RepositoryAudited(0, outcome=gone, repository_gone=True)
        tags = {tag: detail.image_digest for detail in details for tag in detail.image_tags}
        resolved = resolve_in_use(references, tags, {detail.image_digest for detail in details})
        selected = select_images(details, tagged_only=item.taggedOnly, newest=item.newestImages)
        selected = in_use_first(selected, details, resolved.held)
        guarded = self._guard(item, resolved)
        knowledge = self._knowledge(item, resolved, guarded)
        gone = self._record_gone(item, resolved, knowledge)
        if len(selected) > MAX_IMAGES_PER_WORK_ITEM:
            slices = image_slices(item, selected, resolved.users if item.inUseObservedAt else None)
            slices = with_risks(slices, None if guarded is None else guarded.risks)
            self.queue.send_work_items(slices)
            return RepositoryAudited(len(selected), outcome=gone, queued_slices=len(slices), lifecycle=guarded)
        outcome = self._check(item, [audit_image(image) for image in selected], knowledge)
        return RepositoryAudited(len(selected), outcome=combined(outcome, gone), lifecycle=guarded)

    def audit_unlisted_repository(self, item: RepositoryWorkItem, error: RepositoryCheckError) -> RepositoryAudited:
        """The repository's images could not be listed (``error``, not transient, not gone): its images in use are
        still checked, their tags resolved one by one (each gets its verdict, UNCHECKED with ECR's code if it
        cannot be read either)."""
        references = self._references(item)
        if not references:
            return RepositoryAudited(images_in_scope=0, unlisted=error)
        resolved = self._resolve_without_listing(item, references)
        knowledge = self._knowledge(item, resolved)
        gone = self._record_gone(item, resolved, knowledge)
        images = [audit_image(ImageDetail(digest)) for digest in resolved.held]
        outcome = self._check(item, images, knowledge) if images else None
        return RepositoryAudited(len(images), outcome=combined(outcome, gone), unlisted=error)

    def audit_images(self, item: ImagesWorkItem) -> ImageCheckOutcome:
        knowledge = None
        if item.inUseObservedAt is not None:
            knowledge = InUseKnowledge(
                users={image.imageDigest: list(image.usedBy) for image in item.images if image.usedBy},
                observed_at=item.inUseObservedAt,
                omitted={image.imageDigest: image.usedByOmitted for image in item.images if image.usedByOmitted},
                risks=slice_risks(item),
            )
        return self._check(item, item.images, knowledge)

    # -- steps -----------------------------------------------------------------------------------------------------

    def _references(self, item: RepositoryWorkItem) -> list[InUseReference]:
        """What the registry's audit found in use here (an item of an earlier version carries them itself)."""
        carried = [
            InUseReference(imageDigest=image.imageDigest, usedBy=user) for image in item.inUse for user in image.usedBy
        ]
        if not item.inUseChunks or self.in_use_references is None:
            return carried
        return carried + self.in_use_references.references(
            item.auditId, item.registryId, self.region, item.repositoryName, item.inUseChunks
        )

    def _guard(self, item: RepositoryWorkItem, resolved: ResolvedInUse) -> GuardOutcome | None:
        """The lifecycle preview of the images in use, when this item knows who runs them."""
        if self.lifecycle is None or item.inUseObservedAt is None:
            return None
        return self.lifecycle.risks(item.registryId, item.repositoryName, resolved.held)

    @staticmethod
    def _knowledge(
        item: RepositoryWorkItem, resolved: ResolvedInUse, guarded: GuardOutcome | None = None
    ) -> InUseKnowledge | None:
        if item.inUseObservedAt is None:
            return None
        risks = None if guarded is None else guarded.risks
        return InUseKnowledge(users=resolved.users, observed_at=item.inUseObservedAt, risks=risks)

    def _resolve_without_listing(self, item: RepositoryWorkItem, references: list[InUseReference]) -> ResolvedInUse:
        wanted = sorted({ref.usedBy.tag for ref in references if ref.imageDigest is None and ref.usedBy.tag})
        tags: dict[str, str] = {}
        unresolved: set[str] = set(wanted)
        if wanted and self.tags is not None:
            try:
                answer = self.tags.resolve_tags(item.registryId, self.region, item.repositoryName, wanted)
            except RepositoryCheckError as error:
                raise_if_transient(error, item.repositoryName)
            else:
                tags = dict(answer.digests)
                unresolved = set(wanted) - set(tags) - set(answer.missing)
        held = set(tags.values()) | {ref.imageDigest for ref in references if ref.imageDigest}
        return resolve_in_use(references, tags, held, unresolved=unresolved)

    def _record_gone(
        self, item: RepositoryWorkItem, resolved: ResolvedInUse, knowledge: InUseKnowledge | None
    ) -> ImageCheckOutcome | None:
        if not resolved.gone:
            return None
        return self.images.record_missing(
            item.registryId,
            item.repositoryName,
            resolved.gone,
            source=Source.SCHEDULE,
            check_id=item.auditId,
            in_use=knowledge,
        )

    def _check(
        self,
        item: RepositoryWorkItem | ImagesWorkItem,
        images: Sequence[AuditImage],
        in_use: InUseKnowledge | None,
    ) -> ImageCheckOutcome:
        return self.images.check_images(
            item.registryId,
            item.repositoryName,
            [ImageRef(i.imageDigest, tuple(i.imageTags), i.imageStatus, i.lastArchivedAt, listed=True) for i in images],
            source=Source.SCHEDULE,
            check_id=item.auditId,
            in_use=in_use,
            replica_check=self._replica_check(item.registryId, item.repositoryName, images, item.replicaDestinations),
        )

    def _replica_check(
        self,
        registry_id: str,
        repository_name: str,
        images: Sequence[AuditImage],
        destinations: Sequence[ReplicaDestination],
    ) -> Callable[[ImageWalk], list[Replica]] | None:
        """One probe for the item's images: ECR's replication status of each (source registry), then each destination
        asked about all of them at once."""
        if self.destinations is None or not destinations:
            return None
        targets = [ReplicationDestination(region=d.region, registryId=d.registryId) for d in destinations]
        pushed_at: dict[str, datetime | None] = {image.imageDigest: image.imagePushedAt for image in images}
        source = Registry(account_id=registry_id, region=self.region)
        probe = ItemReplicaProbe(
            self.destinations, repository_name, list(pushed_at), source=source, workers=self.images.workers
        )

        def replica_check(walk: ImageWalk) -> list[Replica]:
            digest = walk.image.image_digest
            source = SourceImage(digest, pushed_at.get(digest), blob_digests=walk.blobs)
            return check_replicas(
                probe,
                targets,
                repository_name,
                source,
                now=self.clock(),
                grace_minutes=self.replication_grace_minutes,
            )

        return replica_check
