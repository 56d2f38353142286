"""Deletion rules over fake ports: a deletion is judged only once the image is confirmed gone, and a verdict nobody
runs is removed only if nobody changed it meanwhile."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from layercheck.errors import RepositoryCheckError
from layercheck.logic.catalog import ImageDetail
from layercheck.logic.deletion import DeletionResult, DeletionService
from layercheck.logic.image_check import ImageCheckService
from layercheck.logic.verdict_merge import StoredImage
from layercheck.models.stored import StoredImageVerdict

DIGEST = "sha256:" + "a" * 64


def verdict() -> StoredImageVerdict:
    return StoredImageVerdict.model_validate(
        {
            "registryId": "123456789012",
            "region": "us-east-1",
            "repositoryName": "app",
            "imageDigest": DIGEST,
            "status": "COMPLETE",
            "checkedAt": "2026-01-01T00:00:00Z",
            "source": "schedule",
            "expiresAt": 1_900_000_000,
        }
    )


@dataclass
class FakeCatalog:
    held: ImageDetail | None = None
    error: str | None = None

    def held_image(self, registry_id: str, repository_name: str, image_digest: str) -> ImageDetail | None:
        if self.error:
            raise RepositoryCheckError(self.error, "from ECR")
        return self.held


@dataclass
class FakeStored:
    stored: StoredImage | None = None
    changed_meanwhile: bool = False
    forgotten: list[StoredImage] = field(default_factory=list)

    def stored_image(self, registry_id: str, region: str, repository_name: str, reference: str) -> StoredImage | None:
        return self.stored

    def forget(self, stored: StoredImage) -> bool:
        if self.changed_meanwhile:
            return False
        self.forgotten.append(stored)
        return True


def service(catalog: FakeCatalog, stored: FakeStored) -> DeletionService:
    unused: Any = object()  # the image checks are not reached for an image nobody runs
    images = ImageCheckService(registry=unused, manifests=unused, store=unused, region="us-east-1")
    return DeletionService(catalog=catalog, images=cast(ImageCheckService, images), stored=stored)


def test_a_deleted_repository_deletes_its_images() -> None:
    stored = FakeStored(StoredImage(verdict(), version=3))

    outcome = service(FakeCatalog(error="RepositoryNotFoundException"), stored).image_deleted(
        "123456789012", "app", DIGEST
    )

    assert outcome.result is DeletionResult.FORGOTTEN
    assert stored.forgotten == [StoredImage(verdict(), version=3)]


def test_a_verdict_changed_since_it_was_read_is_kept() -> None:
    stored = FakeStored(StoredImage(verdict(), version=3), changed_meanwhile=True)

    outcome = service(FakeCatalog(), stored).image_deleted("123456789012", "app", DIGEST)

    assert outcome.result is DeletionResult.UNKNOWN


def test_an_image_still_held_is_not_judged_and_an_error_is_not_a_deletion() -> None:
    stored = FakeStored(StoredImage(verdict(), version=3))

    held = service(FakeCatalog(held=ImageDetail(DIGEST)), stored).image_deleted("123456789012", "app", DIGEST)
    with pytest.raises(RepositoryCheckError):
        service(FakeCatalog(error="AccessDeniedException"), stored).image_deleted("123456789012", "app", DIGEST)

    assert held.result is DeletionResult.UNTAGGED
    assert stored.forgotten == []
