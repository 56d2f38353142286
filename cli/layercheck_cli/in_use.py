"""Who runs which image, read from the command line with the caller's credentials, in one account and Region.

The scheduled audit's own discovery (``layercheck.logic.in_use.discover_in_use``) over the same adapters: ECS services
and running tasks (``integrations/ecs.EcsInventory``), Lambda image functions and their aliased versions
(``integrations/lambda_functions.LambdaFunctions``), tags resolved with ECR's DescribeImages (which records no pull).
There is no inventory here (``POST /inventory`` entries live in the deployment's table). ``audit`` and ``report`` use
it; any command that needs ``usedBy`` (a lifecycle preview) builds an ``InUse`` the same way.

A source that cannot be read (access denied ...) does not stop anything: ``InUse.unknown`` says which and why, and the
IAM actions that would let it be read (``IAM_ACTIONS``, the same the deployed reader role holds).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.config import Config

from layercheck.errors import TransientCheckError
from layercheck.integrations.ecs import EcsInventory
from layercheck.integrations.lambda_functions import LambdaFunctions
from layercheck.logic.audit import in_scope
from layercheck.logic.in_use import (
    SOURCE_ECS,
    SOURCE_LAMBDA,
    InUseImages,
    RegistryRef,
    TagResolverPort,
    UnresolvedImage,
    discover_in_use,
)
from layercheck.models.audit import AuditImage
from layercheck.models.stored import iso_utc, utc_now
from layercheck_cli.session import ConnectionOptions, make_client

# What a caller needs to be allowed for ``usedBy`` (infra/constructs/in_use_permissions.py grants the same to the
# deployed functions and LayerCheckReader; tests/cli pins the two lists together).
IAM_ACTIONS: dict[str, tuple[str, ...]] = {
    SOURCE_ECS: (
        "ecs:ListClusters",
        "ecs:ListServices",
        "ecs:DescribeServices",
        "ecs:DescribeTaskDefinition",
        "ecs:ListTasks",
        "ecs:DescribeTasks",
    ),
    SOURCE_LAMBDA: ("lambda:ListFunctions", "lambda:GetFunction", "lambda:ListAliases"),
}
SOURCE_NAMES = {SOURCE_ECS: "Amazon ECS", SOURCE_LAMBDA: "AWS Lambda"}
# ECS and Lambda throttle their control planes per account: adaptive retries slow down rather than spend attempts.
RETRIES = Config(retries={"mode": "adaptive", "total_max_attempts": 8})
MISSING = "MISSING"


@dataclass(frozen=True)
class InUse:
    """The images in use in one registry (by digest, with who runs each), the tags in use ECR no longer holds, and
    why who runs what is (partly) unknown."""

    registry: RegistryRef
    found: InUseImages = field(default_factory=InUseImages)
    unknown: tuple[str, ...] = ()

    def by_repository(
        self, selected: Iterable[str] | None = None, prefixes: Sequence[str] = ()
    ) -> dict[str, list[AuditImage]]:
        """The audit work items' ``inUse``, per repository: every repository, or those ``selected`` (exact names) or
        ``in_scope`` of ``prefixes``."""
        keep = _selector(selected, prefixes)
        grouped: dict[str, list[AuditImage]] = defaultdict(list)
        for image, used_by in sorted(self.found.images.items()):
            if keep(image.repositoryName):
                grouped[image.repositoryName].append(AuditImage(imageDigest=image.imageDigest, usedBy=list(used_by)))
        return dict(grouped)

    def missing(self, selected: Iterable[str] | None = None, prefixes: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Tags in use that the registry no longer holds, as verdicts (``MISSING``, no ``imageDigest``): the workloads
        on them cannot start a new copy (scale-out, replacement)."""
        keep = _selector(selected, prefixes)
        return [_missing_verdict(image) for image in self.found.unresolved if keep(image.repository_name)]


def _selector(selected: Iterable[str] | None, prefixes: Sequence[str]) -> Any:
    names = frozenset(selected) if selected is not None else None
    return lambda name: name in names if names is not None else in_scope(name, prefixes)


def _missing_verdict(image: UnresolvedImage) -> dict[str, Any]:
    return {
        "registryId": image.registry_id,
        "region": image.region,
        "repositoryName": image.repository_name,
        "imageTags": [image.image_tag],
        "status": MISSING,
        "failureCode": image.code,
        "failureReason": f"{image.repository_name} holds no image tagged {image.image_tag}, which these workloads run",
        "usedBy": [used_by.model_dump(mode="json") for used_by in image.used_by],
        "checkedAt": iso_utc(utc_now()),
    }


def unknown_reason(source: str, code: str, message: str) -> str:
    """One line saying which source could not be read and why; for a refusal, the IAM actions that would allow it."""
    name = SOURCE_NAMES.get(source, source)
    allow = ""
    if "AccessDenied" in code or "Unauthorized" in code:
        allow = f"; allow {', '.join(IAM_ACTIONS.get(source, ()))} to name who runs each image"
    return f"who runs which image in {name} is unknown ({code}: {message}); the audit went on without it{allow}"


def discover(
    session: botocore.session.Session,
    options: ConnectionOptions,
    *,
    registry: RegistryRef,
    tags: TagResolverPort,
) -> InUse:
    """Read ECS and Lambda in ``registry``'s Region with the caller's credentials (their endpoints are botocore's:
    ``AWS_ENDPOINT_URL[_ECS|_LAMBDA]``; ``--endpoint-url`` names ECR's only)."""
    ecs = EcsInventory(make_client(session, "ecs", options, base_config=RETRIES, use_endpoint_url=False))
    functions = LambdaFunctions(make_client(session, "lambda", options, base_config=RETRIES, use_endpoint_url=False))
    try:
        found = discover_in_use(registry, ecs=ecs, lambda_functions=functions, inventory=None, tags=tags)
    except TransientCheckError as error:
        reason = f"who runs which image is unknown: the tags in use could not be resolved: {error}"
        return InUse(registry, unknown=(reason,))
    reasons = tuple(unknown_reason(failure.source, failure.code, failure.message) for failure in found.failures)
    return InUse(registry, found=found, unknown=reasons)
