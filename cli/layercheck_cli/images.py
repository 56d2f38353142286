"""Image references as ``docker`` and ``aws ecr`` users write them: ``REPOSITORY[:TAG|@DIGEST]``, optionally with the
registry host in front (``123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:1.2``).

There is one image-URI parser, the service's (``layercheck.logic.image_uris``: ECR's host forms, including FIPS,
China and dual-stack hosts, and ECR's tag, digest and repository rules). A reference without a host is read by the
same parser under a stand-in host whose account and Region are then dropped: they come from ``--registry-id`` and the
configured Region instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from layercheck.logic.image_uris import DEFAULT_TAG, UnparsedUri, parse_image_uri
from layercheck_cli.errors import UsageError

# Only its form matters: the parser accepts it, and its account and Region never leave this module.
_STAND_IN_HOST = "000000000000.dkr.ecr.us-east-1.amazonaws.com"
# A first path segment that can only be a registry host: an AWS domain, a port, or localhost. Anything else is part of
# the repository name ("team.a/app" is a legal ECR repository name).
_HOST_LIKE = re.compile(r"^(?:localhost|[^/]*:[0-9]+|[^/]*\.(?:amazonaws\.com(?:\.cn)?|on\.aws))$", re.IGNORECASE)


@dataclass(frozen=True)
class ImageReference:
    repository_name: str
    tag: str | None = None
    digest: str | None = None
    registry_id: str | None = None
    region: str | None = None

    @property
    def image_id(self) -> dict[str, str]:
        """ECR's ``ImageIdentifier``: the digest when given (a tag beside it is informational, as for Docker), else
        the tag."""
        return {"imageDigest": self.digest} if self.digest else {"imageTag": self.tag or DEFAULT_TAG}

    def __str__(self) -> str:
        suffix = f"@{self.digest}" if self.digest else f":{self.tag or DEFAULT_TAG}"
        return f"{self.repository_name}{suffix}"


def parse_image_reference(reference: str) -> ImageReference:
    """Split ``[HOST/]REPOSITORY[:TAG|@DIGEST]``; a missing tag and digest means ``latest``, as for ``docker pull``.
    Raises ``UsageError`` with the parser's reason."""
    text = reference.strip()
    first, slash, _ = text.partition("/")
    with_host = bool(slash) and _HOST_LIKE.match(first) is not None
    parsed = parse_image_uri(text if with_host else f"{_STAND_IN_HOST}/{text}")
    if isinstance(parsed, UnparsedUri):
        raise UsageError(f"invalid image reference {reference!r}: {parsed.reason}")
    if not with_host:
        return ImageReference(parsed.repository_name, tag=parsed.image_tag, digest=parsed.image_digest)
    return ImageReference(
        parsed.repository_name,
        tag=parsed.image_tag,
        digest=parsed.image_digest,
        registry_id=parsed.registry_id,
        region=parsed.region,
    )
