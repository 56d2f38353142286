"""The audit of one registry: what is in scope, and how it is cut into work items that each finish well inside a
timeout.

Two levels of fan-out keep every step bounded at ECR's limits (100,000 repositories, 100,000 images each):
the registry's repositories are listed (DescribeRepositories, 1,000 per page) and one ``RepositoryWorkItem`` is queued
each; a repository item lists that repository's images in scope and checks them itself when they fit one slice of
``MAX_IMAGES_PER_WORK_ITEM``, otherwise it queues ``ImagesWorkItem`` slices. Archived images are listed too (ECR lists
only ACTIVE ones unless asked) and carry their status, so they are reported ARCHIVED rather than silently skipped.

Images in use (the item's ``inUse``) come first and are checked whatever ``taggedOnly`` / ``newestImages`` say; their
verdicts carry ``usedBy``. With ``replicaDestinations`` and a ``ReplicaProbe``, every audited image is also judged at
each destination (logic/replication.py). logic/org_audit.py runs this per registry of an organization-wide audit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel

from layercheck.errors import AuditScopeError, RepositoryCheckError, TransientCheckError, is_transient
from layercheck.logic.catalog import CatalogPort, ImageDetail
from layercheck.logic.chunks import packed_within
from layercheck.logic.image_check import ImageCheckOutcome, ImageCheckService
from layercheck.logic.images import ImageRef, ImageWalk
from layercheck.logic.in_use import image_gone
from layercheck.logic.registries import Registry
from layercheck.logic.replica_probe import DestinationsPort, ItemReplicaProbe
from layercheck.logic.replication import ReplicationDestination, SourceImage, check_replicas
from layercheck.models.audit import (
    MAX_IMAGES_PER_WORK_ITEM,
    WORK_ITEM_IMAGES_BUDGET_BYTES,
    AuditImage,
    AuditScope,
    AuditScopeInput,
    ImagesWorkItem,
    ReplicaDestination,
    RepositoryWorkItem,
)
from layercheck.models.in_use import UsedBy
from layercheck.models.replicas import Replica
from layercheck.models.stored import ImageStatus, Source, StoredImageVerdict, utc_now

# Work items are sent as they are listed, this many at a time, so a 100,000-repository audit never holds them all.
SEND_CHUNK = 1000


class WorkQueuePort(Protocol):
    def send_work_items(self, items: Sequence[BaseModel]) -> int:
        """Queue every item or raise ``WorkItemsNotQueuedError`` naming what is left; returns the number sent."""
        ...


# -- scope ---------------------------------------------------------------------------------------------------------


def effective_scope(configured: AuditScope, requested: AuditScopeInput | None) -> AuditScope:
    """A constant input narrows the configured scope: its prefixes must lie inside the configured ones, ``taggedOnly``
    can only be switched on, and ``newestImages`` can only be lowered. Asking for more raises ``AuditScopeError``."""
    if requested is None:
        return configured
    prefixes = configured.repositoryPrefixes
    if requested.repositoryPrefixes is not None:
        outside = [p for p in requested.repositoryPrefixes if prefixes and not in_scope(p, prefixes)]
        if outside:
            raise AuditScopeError(outside, prefixes)
        prefixes = tuple(dict.fromkeys(requested.repositoryPrefixes))
    newest = configured.newestImages
    if requested.newestImages is not None:
        newest = requested.newestImages if newest == 0 else min(newest, requested.newestImages)
    return AuditScope(
        repositoryPrefixes=prefixes,
        taggedOnly=configured.taggedOnly or bool(requested.taggedOnly),
        newestImages=newest,
    )


def in_scope(repository_name: str, prefixes: Sequence[str]) -> bool:
    return not prefixes or any(repository_name.startswith(prefix) for prefix in prefixes)


def select_images(details: Iterable[ImageDetail], *, tagged_only: bool = False, newest: int = 0) -> list[ImageDetail]:
    """Newest first by push time (ties by digest, for a stable slice); all of them when ``newest`` is 0.

    ``tagged_only`` is applied here too, not only as DescribeImages' ``tagStatus`` filter: the selection must not
    depend on every implementation of that API honouring the filter (moto ignores it)."""
    candidates = [image for image in details if image.image_tags or not tagged_only]
    ordered = sorted(candidates, key=lambda image: image.image_digest)
    ordered.sort(key=lambda image: image.pushed_at.timestamp() if image.pushed_at else 0.0, reverse=True)
    return ordered[:newest] if newest else ordered


def audit_image(image: ImageDetail, used_by: Sequence[UsedBy] = ()) -> AuditImage:
    return AuditImage(
        imageDigest=image.image_digest,
        imageTags=list(image.image_tags),
        imageStatus=image.image_status,
        lastArchivedAt=image.last_archived_at,
        imagePushedAt=image.pushed_at,
        usedBy=list(used_by),
    )


def packed(
    images: Iterable[AuditImage],
    *,
    max_count: int | None = None,
    budget_bytes: int = WORK_ITEM_IMAGES_BUDGET_BYTES,
) -> list[list[AuditImage]]:
    """Consecutive groups of at most ``max_count`` images whose JSON fits ``budget_bytes``, so that no work item
    exceeds SQS's 256 KiB (one image alone always fits: its lists are bounded by MAX_LISTED). ``max_count``
    defaults to ``MAX_IMAGES_PER_WORK_ITEM``."""
    return packed_within(
        images,
        max_count=max_count or MAX_IMAGES_PER_WORK_ITEM,
        max_bytes=budget_bytes,
        size_of=lambda image: len(image.model_dump_json().encode()) + 1,  # the comma between list entries
    )


def image_slices(
    item: RepositoryWorkItem,
    images: Sequence[ImageDetail],
    used_by: dict[str, list[UsedBy]] | None = None,
) -> list[ImagesWorkItem]:
    used_by = used_by or {}
    return [
        ImagesWorkItem(
            auditId=item.auditId,
            registryId=item.registryId,
            region=item.region,
            repositoryName=item.repositoryName,
            images=group,
            replicaDestinations=item.replicaDestinations,
        )
        for group in packed(audit_image(image, used_by.get(image.image_digest, ())) for image in images)
    ]


def in_use_first(
    selected: Sequence[ImageDetail], listed: Sequence[ImageDetail], in_use: Sequence[AuditImage]
) -> list[ImageDetail]:
    """The images in use (as ECR lists them, else as the discovery named them), then the rest of the selection."""
    by_digest = {image.image_digest: image for image in listed}
    first = [
        by_digest.get(image.imageDigest)
        or ImageDetail(image.imageDigest, tuple(image.imageTags), image.imagePushedAt, image.imageStatus)
        for image in in_use
    ]
    chosen = {image.image_digest for image in first}
    return [*first, *(image for image in selected if image.image_digest not in chosen)]


# -- the use cases -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditStarted:
    audit_id: str
    repositories: int


@dataclass(frozen=True)
class RepositoryAudited:
    """A repository item either checked its images itself (``outcome``) or queued ``queued_slices`` slices.

    ``unlisted``: ECR refused to list the repository's images (its code and message; an AccessDenied of that
    repository's policy): only its images in use were checked."""

    images_in_scope: int
    outcome: ImageCheckOutcome | None = None
    queued_slices: int = 0
    repository_gone: bool = False
    unlisted: RepositoryCheckError | None = None


def unpullable_in_use(verdicts: Iterable[StoredImageVerdict]) -> list[StoredImageVerdict]:
    """In-use images judged UNCHECKED because ECR no longer holds them (deleted, or their repository is): they are
    not BROKEN (nothing left to judge) but their workloads cannot pull them, so ``InUseImagesBroken`` counts them."""
    return [
        verdict
        for verdict in verdicts
        if verdict.status is ImageStatus.UNCHECKED and verdict.usedBy and image_gone(verdict.failureCode)
    ]


@dataclass
class AuditService:
    """The audit of one registry. ``region``: the registry's (None: the CLI's single registry, whose verdicts the
    results table reads as the home Region's); ``destinations``: the replica readers, None to skip replicas."""

    catalog: CatalogPort
    queue: WorkQueuePort
    images: ImageCheckService
    region: str | None = None
    destinations: DestinationsPort | None = None
    replication_grace_minutes: int = 60
    clock: Callable[[], datetime] = field(default=utc_now)

    def start(self, audit_id: str, scope: AuditScope, *, registry_id: str | None = None) -> AuditStarted:
        """Queue one work item per repository in scope."""
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
            if is_transient(error.code):
                raise TransientCheckError("(repository listing)", [error.code]) from error
            raise
        return AuditStarted(audit_id=audit_id, repositories=queued)

    def audit_repository(self, item: RepositoryWorkItem) -> RepositoryAudited:
        try:
            details = list(
                self.catalog.list_image_details(item.registryId, item.repositoryName, tagged_only=item.taggedOnly)
            )
        except RepositoryCheckError as error:
            if is_transient(error.code):
                raise TransientCheckError(item.repositoryName, [error.code]) from error
            if error.code == "RepositoryNotFoundException":
                return RepositoryAudited(images_in_scope=0, repository_gone=True)  # deleted since it was listed
            raise
        selected = select_images(details, tagged_only=item.taggedOnly, newest=item.newestImages)
        selected = in_use_first(selected, details, item.inUse)
        used_by = {image.imageDigest: list(image.usedBy) for image in item.inUse}
        if len(selected) > MAX_IMAGES_PER_WORK_ITEM:
            slices = image_slices(item, selected, used_by)
            self.queue.send_work_items(slices)
            return RepositoryAudited(images_in_scope=len(selected), queued_slices=len(slices))
        outcome = self._check(
            item.registryId,
            item.region,
            item.repositoryName,
            [audit_image(image, used_by.get(image.image_digest, ())) for image in selected],
            item.replicaDestinations,
            item.auditId,
        )
        return RepositoryAudited(images_in_scope=len(selected), outcome=outcome)

    def audit_unlisted_repository(self, item: RepositoryWorkItem, error: RepositoryCheckError) -> RepositoryAudited:
        """The repository's images could not be listed (``error``, not transient, not gone): its images in use are
        still checked (each gets its verdict, UNCHECKED with ECR's code if it cannot be read either)."""
        if not item.inUse:
            return RepositoryAudited(images_in_scope=0, unlisted=error)
        outcome = self._check(
            item.registryId, item.region, item.repositoryName, item.inUse, item.replicaDestinations, item.auditId
        )
        return RepositoryAudited(images_in_scope=len(item.inUse), outcome=outcome, unlisted=error)

    def audit_images(self, item: ImagesWorkItem) -> ImageCheckOutcome:
        return self._check(
            item.registryId, item.region, item.repositoryName, item.images, item.replicaDestinations, item.auditId
        )

    def _check(
        self,
        registry_id: str,
        region: str | None,
        repository_name: str,
        images: Sequence[AuditImage],
        destinations: Sequence[ReplicaDestination],
        audit_id: str,
    ) -> ImageCheckOutcome:
        used_by = {image.imageDigest: list(image.usedBy) for image in images if image.usedBy}
        return self.images.check_images(
            registry_id,
            repository_name,
            [ImageRef(i.imageDigest, tuple(i.imageTags), i.imageStatus, i.lastArchivedAt) for i in images],
            source=Source.SCHEDULE,
            check_id=audit_id,
            region=region or self.region,
            used_by=used_by,
            replica_check=self._replica_check(
                registry_id, region or self.region, repository_name, images, destinations
            ),
        )

    def _replica_check(
        self,
        registry_id: str,
        region: str | None,
        repository_name: str,
        images: Sequence[AuditImage],
        destinations: Sequence[ReplicaDestination],
    ) -> Callable[[ImageWalk], list[Replica]] | None:
        """One probe for the item's images: ECR's replication status of each (source registry), then each destination
        asked about all of them at once."""
        if self.destinations is None or not destinations:
            return None
        targets = [ReplicationDestination(region=d.region, registryId=d.registryId) for d in destinations]
        pushed_at = {image.imageDigest: image.imagePushedAt for image in images}
        source = Registry(account_id=registry_id, region=region) if region else None
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
