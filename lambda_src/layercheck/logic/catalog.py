"""What a registry holds: its repositories and their images, as the audit lists them (a port over ECR)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class RepositoryRef:
    registry_id: str
    repository_name: str


@dataclass(frozen=True)
class ImageDetail:
    image_digest: str
    image_tags: tuple[str, ...] = ()
    pushed_at: datetime | None = None


class CatalogPort(Protocol):
    def list_repositories(self, registry_id: str | None = None) -> Iterator[RepositoryRef]:
        """Every repository of the registry (all pages); raises ``RepositoryCheckError``."""
        ...

    def list_image_details(
        self, registry_id: str, repository_name: str, *, tagged_only: bool = False
    ) -> Iterator[ImageDetail]:
        """Every image of the repository (all pages), optionally tagged ones only; raises ``RepositoryCheckError``."""
        ...

    def describe_image(self, registry_id: str, repository_name: str, image_digest: str) -> ImageDetail | None:
        """One image's tags and push time, or None when the repository no longer holds it."""
        ...
