"""What an audit covers and how it is cut into work items: the scope (repository prefixes, tagged images, the newest
N), the images selected (in use first), and slices that each fit one SQS message."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from pydantic import BaseModel

from layercheck.errors import AuditScopeError
from layercheck.logic.catalog import ImageDetail
from layercheck.logic.chunks import packed_within
from layercheck.models.audit import (
    MAX_IMAGES_PER_WORK_ITEM,
    WORK_ITEM_IMAGES_BUDGET_BYTES,
    AuditImage,
    AuditScope,
    AuditScopeInput,
    ImagesWorkItem,
    RepositoryWorkItem,
)
from layercheck.models.in_use import UsedBy

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
    used_by: Mapping[str, Sequence[UsedBy]] | None = None,
) -> list[ImagesWorkItem]:
    """The repository's images in slices that each fit one work item, each image with who runs it (when known)."""
    used_by = used_by or {}
    return [
        ImagesWorkItem(
            auditId=item.auditId,
            registryId=item.registryId,
            region=item.region,
            repositoryName=item.repositoryName,
            images=group,
            replicaDestinations=item.replicaDestinations,
            inUseObservedAt=item.inUseObservedAt,
        )
        for group in packed(audit_image(image, used_by.get(image.image_digest, ())) for image in images)
    ]


def in_use_first(
    selected: Sequence[ImageDetail], listed: Sequence[ImageDetail], in_use: Sequence[str]
) -> list[ImageDetail]:
    """The images in use (as ECR lists them, else by digest alone), then the rest of the selection."""
    by_digest = {image.image_digest: image for image in listed}
    first = [by_digest.get(digest) or ImageDetail(digest) for digest in dict.fromkeys(in_use)]
    chosen = {image.image_digest for image in first}
    return [*first, *(image for image in selected if image.image_digest not in chosen)]
