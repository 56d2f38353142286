"""Each manifest read once: an image's blob list, kept by digest, spares every later check its BatchGetImage calls.

Manifests are content-addressed: a digest's manifest, and so the blobs its walk reaches (index → platform manifests →
config + layers), never change. What a walk found is kept per repository (``ManifestMemoryPort``) when it is whole:
no failure and no platform manifest missing (ECR refuses to delete a manifest an index in the repository still
references, ``ImageReferencedByManifestList``, so a whole walk stays whole while the image is there). A later check
of the same digest asks only ``BatchCheckLayerAvailability`` about those blobs, so a second audit of unchanged images
makes no BatchGetImage call: it records no pull (``lastRecordedPullTime``, which ``sinceImagePulled`` lifecycle
rules read) even where the pull-time exclusion is missing, and never makes a pull-through cache repository import
from upstream.

Only images the registry was just seen to hold (listed or described: ``ImageRef.listed``) are taken from memory; a
digest whose existence is not known is read, so that a deleted image is found gone, not judged by its old blob list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from layercheck.logic.images import ImageRef, ImageWalk, ManifestPort, walk_images


@dataclass(frozen=True)
class KnownWalk:
    """What an image's whole walk reached: the blobs its repository must hold, and those legitimately absent."""

    blobs: tuple[str, ...]
    skipped: tuple[str, ...] = ()


class ManifestMemoryPort(Protocol):
    def known_walks(
        self, registry_id: str, region: str, repository_name: str, image_digests: Sequence[str]
    ) -> Mapping[str, KnownWalk]:
        """The walks kept for those digests (a digest not kept is absent; a store that cannot be read: none)."""
        ...

    def remember(self, registry_id: str, region: str, repository_name: str, walks: Mapping[str, KnownWalk]) -> None:
        """Keep these walks (best effort: what is not kept is read again next time)."""
        ...


def is_whole(walk: ImageWalk) -> bool:
    return walk.failure is None and not walk.missing_manifests


def walk_with_memory(
    registry_id: str,
    region: str,
    repository_name: str,
    images: Sequence[ImageRef],
    manifests: ManifestPort,
    memory: ManifestMemoryPort,
    *,
    should_continue: Callable[[], bool] | None = None,
) -> list[ImageWalk]:
    """``walk_images`` for the images whose walk is not known, the known walks for the others, in ``images``' order."""
    listed = list(dict.fromkeys(image.image_digest for image in images if image.listed))
    known = memory.known_walks(registry_id, region, repository_name, listed) if listed else {}
    unknown = [image for image in images if image.image_digest not in known or not image.listed]
    walked = walk_images(registry_id, repository_name, unknown, manifests, should_continue=should_continue)
    whole = {walk.image.image_digest: KnownWalk(walk.blobs, walk.skipped) for walk in walked if is_whole(walk)}
    if whole:
        memory.remember(registry_id, region, repository_name, whole)
    by_digest = {walk.image.image_digest: walk for walk in walked}
    return [
        by_digest[image.image_digest]
        if image.image_digest in by_digest
        else ImageWalk(image, blobs=known[image.image_digest].blobs, skipped=known[image.image_digest].skipped)
        for image in images
    ]
