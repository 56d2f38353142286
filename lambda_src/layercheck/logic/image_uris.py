"""Amazon ECR image URIs, as runtimes name the images they run: ``<account>.dkr.ecr.<region>.amazonaws.com/<repo>``
followed by ``:<tag>``, ``@<digest>`` or ``:<tag>@<digest>``.

Also accepted: the China partition's ``.amazonaws.com.cn``, FIPS hosts (``dkr.ecr-fips``), dual-stack hosts
(``<account>.dkr-ecr.<region>.on.aws``), a host in capitals (host names are case-insensitive) and surrounding
whitespace (``kubectl`` output). A URI with neither tag nor digest means ``latest``, as for ``docker pull``.
A URI with a tag and a digest is pulled by digest (the tag is informational), as Docker and containerd do.

``parse_image_uri`` never raises: any text gives an ``ImageUri`` or an ``UnparsedUri`` with the reason, which
POST /inventory lists in ``ignored``. Used by ``logic.inventory`` (reported URIs), ``logic.in_use`` (ECS container
images, Lambda ``ImageUri``/``ResolvedImageUri``) and the CLI's ``check-image <uri>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from layercheck.contracts.patterns import (
    DIGEST_PATTERN,
    ECR_REGISTRY_HOST_PATTERN,
    IMAGE_TAG_PATTERN,
    REPOSITORY_NAME_PATTERN,
)

# Longest URI considered: a 253-character host, a 256-character repository, a 300-character tag, a sha512 digest.
MAX_URI_LENGTH = 1024
DEFAULT_TAG = "latest"
MAX_REPOSITORY_NAME_LENGTH = 256

_HOST = re.compile(ECR_REGISTRY_HOST_PATTERN)
_REPOSITORY = re.compile(REPOSITORY_NAME_PATTERN)
_TAG = re.compile(IMAGE_TAG_PATTERN)
_DIGEST = re.compile(DIGEST_PATTERN)


@dataclass(frozen=True)
class ImageUri:
    """An image in an ECR private registry, by digest when the URI names one, otherwise by tag."""

    registry_id: str
    region: str
    repository_name: str
    image_tag: str | None = None
    image_digest: str | None = None
    host: str = ""  # as written (lower case), so that ``str()`` gives back an equivalent URI

    @property
    def by_digest(self) -> bool:
        return self.image_digest is not None

    def __str__(self) -> str:
        host = self.host or f"{self.registry_id}.dkr.ecr.{self.region}.amazonaws.com"
        tag = f":{self.image_tag}" if self.image_tag else ""
        digest = f"@{self.image_digest}" if self.image_digest else ""
        return f"{host}/{self.repository_name}{tag}{digest}"


@dataclass(frozen=True)
class UnparsedUri:
    """Text that is not an ECR private image URI, and why (for POST /inventory's ``ignored``)."""

    uri: str
    reason: str


def parse_image_uri(text: object) -> ImageUri | UnparsedUri:
    """The image a URI names, or the reason it names none. Never raises, whatever ``text`` is."""
    if not isinstance(text, str):
        return UnparsedUri(repr(text)[:MAX_URI_LENGTH], "not a string")
    uri = text.strip()
    if len(uri) > MAX_URI_LENGTH:  # before any pattern: the cost of a check stays bounded
        return UnparsedUri(uri[:MAX_URI_LENGTH], f"longer than {MAX_URI_LENGTH} characters")
    host, _, path = uri.partition("/")
    registry = _HOST.fullmatch(host.lower())
    name, at, digest = path.partition("@")
    repository, colon, tag = name.partition(":")
    refusals = (
        (not uri, "empty"),
        (
            registry is None,
            "not an Amazon ECR private registry (<account>.dkr.ecr.<region>.amazonaws.com/<repository>)",
        ),
        (not path, "names no repository"),
        (
            bool(at) and not _DIGEST.fullmatch(digest),
            "the digest is not sha256:<64 hex> or sha512:<128 hex> (lowercase)",
        ),
        (
            bool(colon) and not _TAG.fullmatch(tag),
            "the tag is not 1-300 of A-Z a-z 0-9 _ . - (not starting with . or -)",
        ),
        (
            not (2 <= len(repository) <= MAX_REPOSITORY_NAME_LENGTH and _REPOSITORY.fullmatch(repository)),
            "the repository name breaks ECR's rule (2-256 characters: lowercase letters, digits, . _ - /)",
        ),
    )
    reason = next((reason for refused, reason in refusals if refused), None)
    if reason is not None or registry is None:
        return UnparsedUri(uri, reason or "not an Amazon ECR private registry")
    return ImageUri(
        registry_id=registry["registryId"],
        region=registry["region"] or registry["dualStackRegion"],
        repository_name=repository,
        image_tag=tag if colon else (None if at else DEFAULT_TAG),
        image_digest=digest if at else None,
        host=host.lower(),
    )
