"""What a registry holds: its repositories and their images, as the audit lists them (a port over ECR)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

# ECR's ``ImageDetail.imageStatus`` (the archive storage class). ListImages and DescribeImages return ACTIVE images
# only unless ``filter.imageStatus`` says otherwise; ``ANY`` is a filter value, never a status.
# https://docs.aws.amazon.com/AmazonECR/latest/userguide/archive-image.html
IMAGE_ACTIVE = "ACTIVE"
IMAGE_ACTIVATING = "ACTIVATING"  # being restored from the archive: not pullable yet
IMAGE_STATUS_ANY: Final = "ANY"


@dataclass(frozen=True)
class RepositoryRef:
    registry_id: str
    repository_name: str


@dataclass(frozen=True)
class ImageDetail:
    image_digest: str
    image_tags: tuple[str, ...] = ()
    pushed_at: datetime | None = None
    image_status: str = IMAGE_ACTIVE  # ECR's imageStatus verbatim; absent (older ECR, moto) means ACTIVE
    last_archived_at: datetime | None = None


@dataclass(frozen=True)
class PullThroughCacheRule:
    """A pull-through cache rule: repositories named ``<prefix>/...`` fetch what they lack from ``upstream`` on pull.
    ECR's ``ROOT`` prefix (an ECR upstream without a prefix) covers every repository of the registry."""

    ecr_repository_prefix: str
    upstream_registry_url: str = ""

    def covers(self, repository_name: str) -> bool:
        return self.ecr_repository_prefix == "ROOT" or repository_name.startswith(f"{self.ecr_repository_prefix}/")


class CatalogPort(Protocol):
    def list_repositories(self, registry_id: str | None = None) -> Iterator[RepositoryRef]:
        """Every repository of the registry (all pages); raises ``RepositoryCheckError``."""
        ...

    def list_image_details(
        self, registry_id: str, repository_name: str, *, tagged_only: bool = False
    ) -> Iterator[ImageDetail]:
        """Every image of the repository (all pages), archived ones included, optionally tagged ones only; raises
        ``RepositoryCheckError``."""
        ...

    def describe_image(self, registry_id: str, repository_name: str, image_digest: str) -> ImageDetail | None:
        """One image's tags and push time, or None when the repository no longer holds it."""
        ...


class PullThroughCachePort(Protocol):
    def pull_through_cache_rule(self, registry_id: str, repository_name: str) -> PullThroughCacheRule | None:
        """The rule that makes the repository a pull-through cache, or None; raises ``RepositoryCheckError``."""
        ...
