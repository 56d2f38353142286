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
from layercheck_cli.errors import CliError, UsageError

# Only its form matters: the parser accepts it, and its account and Region never leave this module.
_STAND_IN_HOST = "000000000000.dkr.ecr.us-east-1.amazonaws.com"
# Registries that are not Amazon ECR private registries, as image references name them (Docker Hub, GitHub, ECR
# Public, Quay, Google, Microsoft, Kubernetes, GitLab, NVIDIA, Azure): refused before any call, saying so.
OTHER_REGISTRY_HOSTS = frozenset(
    {
        "docker.io",
        "index.docker.io",
        "registry-1.docker.io",
        "registry.hub.docker.com",
        "ghcr.io",
        "public.ecr.aws",
        "quay.io",
        "gcr.io",
        "mcr.microsoft.com",
        "registry.k8s.io",
        "k8s.gcr.io",
        "registry.gitlab.com",
        "nvcr.io",
    }
)
OTHER_REGISTRY_SUFFIXES = (".docker.io", ".gcr.io", ".pkg.dev", ".azurecr.io", ".ocir.io", ".quay.io")
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


class NotEcrPrivateError(CliError):
    """An image of a registry that is not an Amazon ECR private registry: nothing layercheck can read."""

    def __init__(self, reference: str, host: str) -> None:
        super().__init__(
            f"{reference} is not in an Amazon ECR private registry ({host}): layercheck checks images of ECR private "
            "registries only (<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@digest], or a repository "
            "of your account's registry)"
        )
        self.reference = reference
        self.host = host


def registry_host(reference: str) -> str | None:
    """The first path segment when it reads as a registry host for Docker (it holds a dot or a port, or is
    ``localhost``), else None. ECR repository names may hold dots too: only a known other registry is refused outright
    (``refuse_other_registries``); any other host-like segment is looked up in ECR, and a not-found says both."""
    first, slash, _ = reference.strip().partition("/")
    if slash and ("." in first or ":" in first or first.lower() == "localhost"):
        return first.lower()
    return None


def is_other_registry(host: str) -> bool:
    return host in OTHER_REGISTRY_HOSTS or host.endswith(OTHER_REGISTRY_SUFFIXES)


def refuse_other_registries(references: list[str]) -> None:
    """Raise ``NotEcrPrivateError`` for the first reference naming a known registry other than ECR private."""
    for reference in references:
        host = registry_host(reference)
        if host is not None and is_other_registry(host):
            raise NotEcrPrivateError(reference.strip(), host)


def not_found_hint(reference: str) -> str:
    """What to add to ECR's "repository not found" for a reference that may name another registry's image."""
    host = registry_host(reference)
    if host is not None and not _HOST_LIKE.match(host):
        return f" ({host!r} reads as a registry host: layercheck checks Amazon ECR private registries only)"
    if host is None:
        text = reference.strip()
        hub = f"docker.io/{text if '/' in text else 'library/' + text}"
        return (
            "; without a registry host a reference names a repository of your account's ECR registry, not an image "
            f"of Docker Hub ({hub}) or another registry, which layercheck cannot check"
        )
    return ""
