"""The local audit as ``audit`` and ``report`` run it: credentials and registry first, then what is in scope, then who
runs what (``in_use``), then every repository, each with its images in use first.

Reading a manifest (BatchGetImage) is a pull for ECR: it sets the image's ``lastRecordedPullTime``, which
``sinceImagePulled`` lifecycle rules read. Tag resolution for images in use uses DescribeImages, which records nothing.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from typing import TextIO

import botocore.session

from layercheck.integrations.ecr import EcrRegistry
from layercheck.logic.in_use import RegistryRef
from layercheck.models.audit import AuditScope
from layercheck_cli import in_use as in_use_discovery
from layercheck_cli.audit_run import ListingError, RegistryAudit, RegistryAuditor
from layercheck_cli.errors import CliError
from layercheck_cli.multi import ecr_client
from layercheck_cli.preflight import TRANSPORT_ERRORS, UnreachableError, caller_registry_id, require_credentials
from layercheck_cli.progress import ProgressBar
from layercheck_cli.session import ConnectionOptions


@dataclass(frozen=True)
class AuditRequest:
    """What was asked: exactly these repositories, or every one in scope; and whether to find who runs what."""

    scope: AuditScope
    repository_names: tuple[str, ...] = ()
    registry_id: str | None = None
    workers: int = 16
    discover_in_use: bool = True

    def not_checked(self, answer: RegistryAudit) -> list[str]:
        return answer.not_checked(self.scope, self.repository_names)


def run_audit(
    request: AuditRequest,
    session: botocore.session.Session,
    options: ConnectionOptions,
    *,
    stderr: TextIO | None = None,
) -> RegistryAudit:
    """Raises ``CliError`` (no credentials, ECR unreachable, the repositories cannot be listed)."""
    err = stderr if stderr is not None else sys.stderr
    client = ecr_client(session, options, workers=request.workers)  # no Region: botocore's NoRegionError, here
    require_credentials(session, options)
    region = client.meta.region_name
    registry_id = request.registry_id or caller_registry_id(session, options, client)
    ecr = EcrRegistry(client)
    auditor = RegistryAuditor(ecr, registry_id=registry_id, region=region, workers=request.workers)
    try:
        work = auditor.plan(request.scope, request.repository_names)
    except ListingError as error:
        if error.code in TRANSPORT_ERRORS:
            raise UnreachableError("Amazon ECR", error.message) from error
        raise CliError(f"Could not list the repositories of registry {registry_id} in {region}: {error}") from error
    in_use = in_use_discovery.InUse(RegistryRef(registry_id, region))
    if request.discover_in_use and work:
        in_use = in_use_discovery.discover(session, options, registry=in_use.registry)
        for reason in in_use.unknown:
            err.write(f"layercheck: {reason}\n")
    progress = ProgressBar(label="repositories") if ProgressBar.wanted(err) else None
    try:
        answer = auditor.run(
            work,
            request.scope,
            named=bool(request.repository_names),
            in_use=in_use.found.by_repository,
            in_use_observed_at=in_use.observed_at,
            on_progress=progress,
        )
    finally:
        if progress is not None:
            progress.close()
    return dataclasses.replace(answer, in_use_unknown=in_use.unknown)
