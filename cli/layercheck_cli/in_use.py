"""Who runs which image, read from the command line with the caller's credentials, in one account and Region.

The scheduled audit's own discovery (``layercheck.logic.in_use.discover_in_use``) over the same sources, made by the
same factories (``layercheck.dependencies.in_use_sources``) with the caller's clients: ECS services and running tasks,
Lambda image functions and their aliased versions. There is no inventory here (``POST /inventory`` entries live in
the deployment's table), so its factory makes no source. Each repository's audit resolves the tags in use against its
own listing. ``audit`` and ``report`` use it; any command that needs ``usedBy`` (a lifecycle preview) builds an
``InUse`` the same way.

A source that cannot be read (access denied ...) does not stop anything: ``InUse.unknown`` says which and why, and the
IAM actions that would let it be read (``IAM_ACTIONS``, the same the deployed reader role holds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import botocore.session
from botocore.config import Config

from layercheck import dependencies
from layercheck.errors import RepositoryCheckError
from layercheck.integrations.ecr import EcrRegistry
from layercheck.integrations.ecs import SOURCE_ECS
from layercheck.integrations.lambda_functions import SOURCE_LAMBDA
from layercheck.logic.in_use import (
    InUseReferences,
    RegistryRef,
    SourceReach,
    discover_in_use,
    resolve_in_use,
    sources_for,
)
from layercheck.logic.lifecycle_answer import ImageInUse
from layercheck.models.in_use import InUseReference
from layercheck.models.stored import utc_now
from layercheck_cli.errors import CliError
from layercheck_cli.session import ConnectionOptions, make_client

# What a caller needs to be allowed for ``usedBy`` (infra/constructs/in_use_permissions.py grants the same to the
# deployed functions and LayerCheckReader; tests/cli pins the two lists together).
IAM_ACTIONS: dict[str, tuple[str, ...]] = {
    SOURCE_ECS: (
        "ecs:ListClusters",
        "ecs:ListServices",
        "ecs:DescribeServices",
        "ecs:DescribeServiceRevisions",
        "ecs:DescribeTaskDefinition",
        "ecs:ListTasks",
        "ecs:DescribeTasks",
    ),
    SOURCE_LAMBDA: ("lambda:ListFunctions", "lambda:GetFunction", "lambda:ListAliases"),
}
SOURCE_NAMES = {SOURCE_ECS: "Amazon ECS", SOURCE_LAMBDA: "AWS Lambda"}
# ECS and Lambda throttle their control planes per account: adaptive retries slow down rather than spend attempts.
RETRIES = Config(retries={"mode": "adaptive", "total_max_attempts": 8})


@dataclass(frozen=True)
class InUse:
    """What the workloads of one registry reference (by repository: a digest or a tag, with who runs it), resolved by
    each repository's audit against what it holds, and why who runs what is (partly) unknown. ``observed_at``: when
    ECS and Lambda were read (None: not read, so the verdicts name nobody; nothing is stored here, so a source that
    could not be read only leaves its workloads out)."""

    registry: RegistryRef
    found: InUseReferences = field(default_factory=InUseReferences)
    unknown: tuple[str, ...] = ()
    observed_at: datetime | None = None

    def references(self, repository_name: str) -> list[InUseReference]:
        return list(self.found.by_repository.get(repository_name, ()))


def unknown_reason(source: str, code: str, message: str) -> str:
    """One line saying which source could not be read and why; for a refusal, the IAM actions that would allow it."""
    name = SOURCE_NAMES.get(source, source)
    allow = ""
    actions = IAM_ACTIONS.get(source, ())
    if actions and ("AccessDenied" in code or "Unauthorized" in code):
        allow = f"; allow {', '.join(actions)} to name who runs each image"
    return f"who runs which image in {name} is unknown ({code}: {message}); the audit went on without it{allow}"


def discover(
    session: botocore.session.Session,
    options: ConnectionOptions,
    *,
    registry: RegistryRef,
) -> InUse:
    """Read every source in ``registry``'s Region with the caller's credentials (their endpoints are botocore's:
    ``AWS_ENDPOINT_URL[_ECS|_LAMBDA]``; ``--endpoint-url`` names ECR's only)."""

    def client(service_name: str) -> Any:
        return make_client(session, service_name, options, base_config=RETRIES, use_endpoint_url=False)

    sources = sources_for(SourceReach(registry, client), dependencies.in_use_sources())
    observed_at = utc_now()
    found = discover_in_use(registry, sources)
    reasons = tuple(unknown_reason(failure.source, failure.code, failure.message) for failure in found.failures)
    return InUse(registry, found=found, unknown=reasons, observed_at=observed_at)


def of_repository(
    session: botocore.session.Session,
    options: ConnectionOptions,
    ecr: Any,
    *,
    registry: RegistryRef,
    repository_name: str,
) -> dict[str, ImageInUse]:
    """The repository's images in use, by digest, with who runs each: the input of a gate (``preview-lifecycle``),
    so a source that cannot be read fails it (``CliError``) instead of leaving its workloads out. Tags are resolved
    with DescribeImages (no pull recorded); a tag the repository does not hold names nothing a policy could expire."""
    found = discover(session, options, registry=registry)
    if found.unknown:
        raise CliError("Could not list the images in use, so nothing could be checked: " + "; ".join(found.unknown))
    references = found.references(repository_name)
    tags = sorted({ref.usedBy.tag for ref in references if ref.imageDigest is None and ref.usedBy.tag})
    digests: dict[str, str] = {}
    if tags:
        try:
            digests = (
                EcrRegistry(ecr).resolve_tags(registry.registry_id, registry.region, repository_name, tags).digests
            )
        except RepositoryCheckError as error:
            raise CliError(f"Could not read the images of {repository_name}: {error.code}: {error.message}") from error
    held = set(digests.values()) | {ref.imageDigest for ref in references if ref.imageDigest}
    resolved = resolve_in_use(references, digests, held)
    return {digest: ImageInUse((), tuple(resolved.users[digest])) for digest in resolved.held}
