"""An image deleted or moved between storage classes, seen when ECR says so rather than at the next audit.

ECR's "ECR Image Action" events (docs/EVENTS.md) name the image's digest and, for a ``DELETE`` by tag, the tag. A
``DELETE`` naming a tag may have removed only that tag (BatchDeleteImage deletes the image with its last tag only), so
the image is looked up first (``DescribeImages`` by digest, in every storage class), and nothing is judged while the
repository still holds it. Then, from what the results table holds:

- someone runs the image (the stored ``usedBy``): its verdict becomes ``MISSING`` keeping those users, through the
  same versioned write and outbox as every verdict (``ImageCheckService.record_missing``), so ``Image Verdict Changed``
  says COMPLETE → MISSING with ``usedBy`` and ``InUseImagesMissing`` counts it;
- nobody runs it: its stored verdict is removed (a conditional delete on the version read, so an audit that found a
  user meanwhile wins) and nobody is paged;
- no verdict: nothing to do.

A storage-class change (archive, restore) judges the image again as it is listed now: ``ARCHIVED`` while archived
or being restored, and its layers checked once it is active again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from layercheck.contracts.ecr_codes import IMAGE_GONE_CODES, IMAGE_NOT_FOUND_EXCEPTION
from layercheck.errors import RepositoryCheckError, raise_if_transient
from layercheck.logic.catalog import ImageDetail
from layercheck.logic.image_check import ImageCheckOutcome, ImageCheckService
from layercheck.logic.images import ImageRef
from layercheck.logic.verdict_build import GoneImage
from layercheck.logic.verdict_merge import StoredImage
from layercheck.models.stored import Source

DELETED_REASON = "deleted from the repository (ECR DELETE event), while a workload runs it"


class HeldImagePort(Protocol):
    def held_image(self, registry_id: str, repository_name: str, image_digest: str) -> ImageDetail | None:
        """The image as the repository holds it, in any storage class, or None when it holds it no more; raises
        ``RepositoryCheckError``."""
        ...


class StoredImagesPort(Protocol):
    def stored_image(self, registry_id: str, region: str, repository_name: str, reference: str) -> StoredImage | None:
        """The image's stored verdict with its version (a strongly consistent read), or None."""
        ...

    def forget(self, stored: StoredImage) -> bool:
        """Remove the verdict unless it changed since it was read; False when it did (it stays)."""
        ...


class DeletionResult(StrEnum):
    UNTAGGED = "UNTAGGED"  # the repository still holds the image: only a tag went
    MISSING = "MISSING"  # gone while someone runs it
    FORGOTTEN = "FORGOTTEN"  # gone, nobody runs it: its verdict removed
    UNKNOWN = "UNKNOWN"  # gone, and layercheck held no verdict of it (or one that changed meanwhile)


@dataclass(frozen=True)
class DeletionOutcome:
    result: DeletionResult
    outcome: ImageCheckOutcome | None = None  # the MISSING verdict kept, with its events


@dataclass
class DeletionService:
    catalog: HeldImagePort
    images: ImageCheckService
    stored: StoredImagesPort

    def image_deleted(
        self, registry_id: str, repository_name: str, image_digest: str, *, check_id: str | None = None
    ) -> DeletionOutcome:
        if self._held(registry_id, repository_name, image_digest) is not None:
            return DeletionOutcome(DeletionResult.UNTAGGED)
        region = self.images.region
        stored = self.stored.stored_image(registry_id, region, repository_name, image_digest)
        if stored is None:
            return DeletionOutcome(DeletionResult.UNKNOWN)
        if not stored.verdict.in_use:
            forgotten = self.stored.forget(stored)
            return DeletionOutcome(DeletionResult.FORGOTTEN if forgotten else DeletionResult.UNKNOWN)
        gone = GoneImage(image_digest, tuple(stored.verdict.imageTags), IMAGE_NOT_FOUND_EXCEPTION, DELETED_REASON)
        outcome = self.images.record_missing(
            registry_id, repository_name, [gone], source=Source.PUSH, check_id=check_id
        )
        return DeletionOutcome(DeletionResult.MISSING, outcome)

    def storage_class_changed(
        self, registry_id: str, repository_name: str, image_digest: str, *, check_id: str | None = None
    ) -> DeletionOutcome | ImageCheckOutcome:
        """The image judged as it is listed now; gone meanwhile, it is a deletion."""
        detail = self._held(registry_id, repository_name, image_digest)
        if detail is None:
            return self.image_deleted(registry_id, repository_name, image_digest, check_id=check_id)
        image = ImageRef(image_digest, detail.image_tags, detail.image_status, detail.last_archived_at, listed=True)
        return self.images.check_images(registry_id, repository_name, [image], source=Source.PUSH, check_id=check_id)

    def _held(self, registry_id: str, repository_name: str, image_digest: str) -> ImageDetail | None:
        try:
            return self.catalog.held_image(registry_id, repository_name, image_digest)
        except RepositoryCheckError as error:
            if error.code in IMAGE_GONE_CODES:  # the repository itself is gone
                return None
            raise_if_transient(error, repository_name)
            raise
