"""The registry audit: what is in scope, and how it is cut into work items that each finish well inside a timeout.

Two levels of fan-out keep every step bounded at ECR's limits (100,000 repositories, 100,000 images each):
the schedule lists repositories (DescribeRepositories, 1,000 per page) and queues one ``RepositoryWorkItem`` each;
a repository item lists that repository's images in scope and checks them itself when they fit one slice of
``MAX_IMAGES_PER_WORK_ITEM``, otherwise it queues ``ImagesWorkItem`` slices. Archived images are listed too (ECR lists
only ACTIVE ones unless asked) and carry their status, so they are reported ARCHIVED rather than silently skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel

from layercheck.errors import AuditScopeError, RepositoryCheckError, TransientCheckError, is_transient
from layercheck.logic.catalog import CatalogPort, ImageDetail
from layercheck.logic.chunks import chunked
from layercheck.logic.image_check import ImageCheckOutcome, ImageCheckService
from layercheck.logic.images import ImageRef
from layercheck.models.events import (
    MAX_IMAGES_PER_WORK_ITEM,
    AuditImage,
    AuditScope,
    AuditScopeInput,
    ImagesWorkItem,
    RepositoryWorkItem,
)
from layercheck.models.stored import Source

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


def image_slices(item: RepositoryWorkItem, images: Sequence[ImageDetail]) -> list[ImagesWorkItem]:
    return [
        ImagesWorkItem(
            auditId=item.auditId,
            registryId=item.registryId,
            repositoryName=item.repositoryName,
            images=[
                AuditImage(
                    imageDigest=image.image_digest,
                    imageTags=list(image.image_tags),
                    imageStatus=image.image_status,
                    lastArchivedAt=image.last_archived_at,
                )
                for image in chunk
            ],
        )
        for chunk in chunked(list(images), MAX_IMAGES_PER_WORK_ITEM)
    ]


# -- the use cases -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditStarted:
    audit_id: str
    repositories: int


@dataclass(frozen=True)
class RepositoryAudited:
    """A repository item either checked its images itself (``outcome``) or queued ``queued_slices`` slices."""

    images_in_scope: int
    outcome: ImageCheckOutcome | None = None
    queued_slices: int = 0
    repository_gone: bool = False


@dataclass
class AuditService:
    catalog: CatalogPort
    queue: WorkQueuePort
    images: ImageCheckService

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
        if len(selected) > MAX_IMAGES_PER_WORK_ITEM:
            slices = image_slices(item, selected)
            self.queue.send_work_items(slices)
            return RepositoryAudited(images_in_scope=len(selected), queued_slices=len(slices))
        outcome = self.images.check_images(
            item.registryId,
            item.repositoryName,
            [ImageRef(i.image_digest, i.image_tags, i.image_status, i.last_archived_at) for i in selected],
            source=Source.SCHEDULE,
            check_id=item.auditId,
        )
        return RepositoryAudited(images_in_scope=len(selected), outcome=outcome)

    def audit_images(self, item: ImagesWorkItem) -> ImageCheckOutcome:
        return self.images.check_images(
            item.registryId,
            item.repositoryName,
            [ImageRef(i.imageDigest, tuple(i.imageTags), i.imageStatus, i.lastArchivedAt) for i in item.images],
            source=Source.SCHEDULE,
            check_id=item.auditId,
        )
