"""Image references as ``docker`` and ``aws ecr`` users write them: ``REPOSITORY[:TAG|@DIGEST]``, optionally with the
registry host in front (``123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:1.2``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from layercheck.contracts.patterns import REPOSITORY_NAME_PATTERN
from layercheck_cli.errors import UsageError

_ECR_HOST = re.compile(
    r"^(?P<registry>[0-9]{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$"
)
_REPOSITORY = re.compile(REPOSITORY_NAME_PATTERN)
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
DEFAULT_TAG = "latest"


@dataclass(frozen=True)
class ImageReference:
    repository_name: str
    tag: str | None = None
    digest: str | None = None
    registry_id: str | None = None
    region: str | None = None

    @property
    def image_id(self) -> dict[str, str]:
        """ECR's ``ImageIdentifier`` for ``BatchGetImage``: the digest when given, else the tag."""
        return {"imageDigest": self.digest} if self.digest else {"imageTag": self.tag or DEFAULT_TAG}

    def __str__(self) -> str:
        suffix = f"@{self.digest}" if self.digest else f":{self.tag or DEFAULT_TAG}"
        return f"{self.repository_name}{suffix}"


def parse_image_reference(reference: str) -> ImageReference:
    """Split ``[HOST/]REPOSITORY[:TAG|@DIGEST]``; a missing tag and digest means ``latest``, as for ``docker pull``."""
    remainder = reference.strip()
    registry_id = region = None
    first, _, rest = remainder.partition("/")
    host = _ECR_HOST.match(first)
    if host and rest:
        registry_id, region, remainder = host.group("registry"), host.group("region"), rest
    digest = tag = None
    if "@" in remainder:
        remainder, digest = remainder.split("@", 1)
        if not _DIGEST.match(digest):
            raise UsageError(f"invalid image digest in {reference!r}: {digest!r}")
    last_slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > last_slash:
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
        if not _TAG.match(tag):
            raise UsageError(f"invalid image tag in {reference!r}: {tag!r}")
    if not _REPOSITORY.match(remainder):
        raise UsageError(f"invalid repository name in {reference!r}: {remainder!r}")
    return ImageReference(remainder, tag=tag, digest=digest, registry_id=registry_id, region=region)
