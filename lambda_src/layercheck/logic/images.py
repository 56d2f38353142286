"""Image manifests: parse them and walk an image down to the blobs its repository must hold (judge.py judges them).

Plain Python over a port (``ManifestPort``). The walk goes index / manifest list → platform manifests (nested
indexes too) → config + layers, fetching each level for all images at once (BatchGetImage takes 100 ids per call).
Media types: https://github.com/opencontainers/image-spec/blob/main/media-types.md and
https://distribution.github.io/distribution/spec/manifest-v2-2/
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pydantic import ValidationError

from layercheck.contracts import ecr_codes
from layercheck.logic.catalog import IMAGE_ACTIVE
from layercheck.logic.digests import AskedDigests, unique_in_order
from layercheck.models.identifiers import ValidDigest
from layercheck.models.manifests import ImageIndex, ImageManifest

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
# Asked for explicitly: without them ECR may convert a multi-arch image to one platform's manifest.
ACCEPTED_MEDIA_TYPES = (OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST)
INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
MANIFEST_MEDIA_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})

# An index inside an index inside an index ... is legal; a cycle is not, and depth bounds the walk either way.
MAX_INDEX_DEPTH = 8

UNSUPPORTED_MANIFEST = "UnsupportedManifest"
INVALID_IMAGE_DIGEST = ecr_codes.INVALID_IMAGE_DIGEST_FAILURE
# A digest ECR's answer did not account for: nothing says it is gone, so it cannot make an image BROKEN.
UNANSWERED_IMAGE = "UnansweredImageDigest"
# The caller's time ran out before this manifest was read (the API's deadline): the image is not judged.
WALK_STOPPED = "DeadlineExceeded"
WALK_STOPPED_REASON = "not checked: the request's time ran out before this image's manifests were read; ask again"


# -- manifests ---------------------------------------------------------------------------------------------------


class UnsupportedManifestError(ValueError):
    """Not a manifest this walk reads (schema 1, not JSON, an unknown media type ...); ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_manifest(text: str, media_type: str | None = None) -> ImageManifest | ImageIndex:
    """Parse a manifest by its media type (the document's own, else the one ECR reports, else its shape)."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise UnsupportedManifestError(f"manifest is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise UnsupportedManifestError("manifest is not a JSON object")
    if document.get("schemaVersion") == 1:
        raise UnsupportedManifestError("Docker image manifest schema 1 is not supported; re-push the image")
    declared = document.get("mediaType") or media_type
    try:
        if declared in INDEX_MEDIA_TYPES or (declared is None and "manifests" in document):
            return ImageIndex.model_validate(document)
        if declared in MANIFEST_MEDIA_TYPES or (declared is None and "config" in document):
            return ImageManifest.model_validate(document)
    except ValidationError as error:
        raise UnsupportedManifestError(f"malformed {declared or 'manifest'}: {error.errors()[0]['msg']}") from error
    raise UnsupportedManifestError(f"unsupported manifest media type {declared!r}")


def invalid_image_reason(digest: str) -> str:
    """The early answer for a malformed image digest, worded as ECR words its failures."""
    return f"Invalid image digest '{digest}'"


# -- the port and the walk ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchedManifest:
    image_digest: str
    manifest: str
    media_type: str | None = None


@dataclass(frozen=True)
class ManifestFailure:
    image_digest: str
    failure_code: str
    failure_reason: str


@dataclass(frozen=True)
class ManifestAnswer:
    manifests: dict[str, FetchedManifest] = field(default_factory=dict)
    failures: dict[str, ManifestFailure] = field(default_factory=dict)


class ManifestPort(Protocol):
    def batch_get_image(
        self, registry_id: str, repository_name: str, image_digests: Sequence[ValidDigest]
    ) -> ManifestAnswer:
        """Every digest answered, as a manifest or a failure; raises ``RepositoryCheckError`` for the whole call."""
        ...


@dataclass(frozen=True)
class ImageRef:
    image_digest: str
    image_tags: tuple[str, ...] = ()
    image_status: str = IMAGE_ACTIVE  # ECR's imageStatus (ACTIVE, ARCHIVED, ACTIVATING) as listed
    last_archived_at: datetime | None = None
    # ECR was just seen holding it (listed or described): its known walk may stand in for reading its manifests
    listed: bool = False

    @property
    def is_active(self) -> bool:
        return self.image_status == IMAGE_ACTIVE


@dataclass(frozen=True)
class ImageWalk:
    """An image reduced to what must be in its repository: blob digests, and platform manifests found missing."""

    image: ImageRef
    blobs: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()  # foreign layers and empty descriptors, legitimately absent
    missing_manifests: tuple[str, ...] = ()
    failure: ManifestFailure | None = None  # the image itself could not be read


def walk_images(
    registry_id: str,
    repository_name: str,
    images: Sequence[ImageRef],
    manifests: ManifestPort,
    *,
    should_continue: Callable[[], bool] | None = None,
) -> list[ImageWalk]:
    """Fetch every manifest the images reach, level by level, each digest once, and reduce each image to its blobs.

    ``should_continue`` is asked before each BatchGetImage call; once it says no, the manifests not yet read fail
    with ``WALK_STOPPED`` (their images are not judged)."""
    fetched: dict[str, FetchedManifest] = {}
    failed: dict[str, ManifestFailure] = {}
    parsed: dict[str, ImageManifest | ImageIndex | UnsupportedManifestError] = {}
    wanted = unique_in_order(image.image_digest for image in images)
    for _ in range(MAX_INDEX_DEPTH + 1):
        wanted = [digest for digest in wanted if digest not in fetched and digest not in failed]
        if not wanted:
            break
        if should_continue is not None and not should_continue():
            failed |= {digest: ManifestFailure(digest, WALK_STOPPED, WALK_STOPPED_REASON) for digest in wanted}
            break
        # A digest is judged where it meets ECR: an image's (validated where it entered) and, above all, the ones
        # an index names, which no one checked. A malformed one is answered as ECR answers it, and never sent.
        asked = AskedDigests.of(wanted)
        failed |= {
            digest: ManifestFailure(digest, INVALID_IMAGE_DIGEST, invalid_image_reason(digest))
            for digest in asked.malformed
        }
        answer = (
            manifests.batch_get_image(registry_id, repository_name, asked.valid) if asked.valid else ManifestAnswer()
        )
        fetched.update(answer.manifests)
        failed.update(answer.failures)
        for sent in asked.valid:
            if sent not in answer.manifests and sent not in answer.failures:
                failed[sent] = ManifestFailure(sent, UNANSWERED_IMAGE, "ECR's answer did not mention this image")
        children: list[str] = []
        for digest in wanted:
            if digest in fetched:
                parsed[digest] = _parse(fetched[digest])
                document = parsed[digest]
                if isinstance(document, ImageIndex):
                    children.extend(child.digest for child in document.manifests)
        wanted = unique_in_order(children)
    return [_reduce(image, parsed, failed) for image in images]


def _parse(fetched: FetchedManifest) -> ImageManifest | ImageIndex | UnsupportedManifestError:
    try:
        return parse_manifest(fetched.manifest, fetched.media_type)
    except UnsupportedManifestError as error:
        return error


def _reduce(
    image: ImageRef,
    parsed: Mapping[str, ImageManifest | ImageIndex | UnsupportedManifestError],
    failed: Mapping[str, ManifestFailure],
) -> ImageWalk:
    if image.image_digest in failed:
        return ImageWalk(image, failure=failed[image.image_digest])
    blobs: list[str] = []
    skipped: list[str] = []
    missing: list[str] = []
    problems: list[str] = []
    unreadable: list[ManifestFailure] = []

    def visit(digest: str, path: tuple[str, ...]) -> None:
        if digest in path or len(path) > MAX_INDEX_DEPTH:
            problems.append(f"index nesting deeper than {MAX_INDEX_DEPTH} or cyclic at {digest}")
            return
        if digest in failed:
            if failed[digest].failure_code == ecr_codes.IMAGE_NOT_FOUND_FAILURE:
                missing.append(digest)  # a platform manifest the index references but the repository lacks
            else:
                unreadable.append(failed[digest])
            return
        document = parsed.get(digest)
        if document is None:
            problems.append(f"index nesting deeper than {MAX_INDEX_DEPTH} at {digest}")
        elif isinstance(document, UnsupportedManifestError):
            problems.append(f"{digest}: {document.reason}")
        elif isinstance(document, ImageIndex):
            for child in document.manifests:
                visit(child.digest, (*path, digest))
        else:
            for blob in document.blobs():
                (skipped if blob.is_legitimately_absent else blobs).append(blob.digest)

    visit(image.image_digest, ())
    if unreadable:
        return ImageWalk(image, failure=unreadable[0])
    if problems:
        return ImageWalk(image, failure=ManifestFailure(image.image_digest, UNSUPPORTED_MANIFEST, "; ".join(problems)))
    return ImageWalk(
        image,
        blobs=tuple(unique_in_order(blobs)),
        skipped=tuple(unique_in_order(skipped)),
        missing_manifests=tuple(unique_in_order(missing)),
    )
