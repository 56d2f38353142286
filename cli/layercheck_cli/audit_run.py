"""``layercheck audit``: the scheduled audit's image walk, run from a laptop or a CI job (nothing is stored).

The same use case as the Lambda (``layercheck.logic.audit.AuditService``: scope, ``select_images``, images in use
first whatever the scope, the image walk and judgement of ``ImageCheckService``) over the same ECR adapter; only the
ports differ. The work queue is a list drained here, and the verdict store keeps nothing.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from layercheck.contracts.ecr_codes import REPOSITORY_NOT_FOUND
from layercheck.errors import RepositoryCheckError, TransientCheckError
from layercheck.integrations.ecr import EcrRegistry
from layercheck.logic.audit import AuditService
from layercheck.logic.audit_scope import in_scope
from layercheck.logic.image_check import ImageCheckService
from layercheck.models.audit import AuditScope, ImagesWorkItem, RepositoryWorkItem
from layercheck.models.in_use import InUseReference
from layercheck.models.stored import NOT_PULLABLE, ImageStatus, StoredImageVerdict, StoredItem

# The verdicts an audit prints, in this order (MISSING: an image in use the registry no longer holds).
FIRST = (ImageStatus.COMPLETE, ImageStatus.BROKEN, ImageStatus.MISSING)
STATUSES = tuple(status.value for status in (*FIRST, *(s for s in ImageStatus if s not in FIRST)))

Progress = Callable[[int, int], None]


class _ListQueue:
    """The audit queue's port over a list: work items wait here until this process takes them."""

    def __init__(self) -> None:
        self.items: list[BaseModel] = []

    def send_work_items(self, items: Sequence[BaseModel]) -> int:
        self.items.extend(items)
        return len(items)

    def take(self) -> list[BaseModel]:
        taken, self.items = self.items, []
        return taken


class _NoStore:
    def put_verdicts(self, items: Sequence[StoredItem]) -> int:
        return 0


class _HeldReferences:
    """The in-use references port over what this process discovered (nothing is kept between runs)."""

    def __init__(self, by_repository: Mapping[str, Sequence[InUseReference]]) -> None:
        self.by_repository = by_repository

    def put_references(
        self,
        audit_id: str,
        registry_id: str,
        region: str,
        repository_name: str,
        references: Sequence[InUseReference],
        *,
        now: datetime,
    ) -> int:
        return 1

    def references(
        self, audit_id: str, registry_id: str, region: str, repository_name: str, chunks: int
    ) -> list[InUseReference]:
        return list(self.by_repository.get(repository_name, ()))


class ListingError(Exception):
    """ECR refused to list the registry's repositories (``code`` and ``message`` are ECR's, or the transport's)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RepositoryAudit:
    registry_id: str
    repository_name: str
    verdicts: list[StoredImageVerdict] = field(default_factory=list)
    failure_code: str | None = None
    failure_reason: str | None = None

    def count(self, status: str) -> int:
        return sum(verdict.status == status for verdict in self.verdicts)


@dataclass(frozen=True)
class RegistryAudit:
    """What one audit of one registry found: a row per repository, and the prefixes asked that matched nothing."""

    registry_id: str
    region: str | None
    repositories: list[RepositoryAudit]
    unmatched_prefixes: tuple[str, ...] = ()
    in_use_unknown: tuple[str, ...] = ()  # why who runs which image is (partly) unknown

    def not_checked(self, scope: AuditScope, named: Sequence[str]) -> list[str]:
        """Why something asked was not audited (exit 255): a repository that could not be read, a prefix that
        matched nothing, or nothing in scope at all."""
        where = f"registry {self.registry_id}" + (f" in {self.region}" if self.region else "")
        reasons = [
            f"{audit.repository_name}: {audit.failure_code}: {audit.failure_reason}"
            for audit in self.repositories
            if audit.failure_code is not None
        ]
        reasons += [f"no repository of {where} starts with {prefix!r}" for prefix in self.unmatched_prefixes]
        if not self.repositories and not named and not self.unmatched_prefixes:
            prefixes = ", ".join(map(repr, scope.repositoryPrefixes))
            scoped = f" starts with {prefixes}" if prefixes else ""
            reasons.append(f"nothing to audit: no repository of {where}{scoped}")
        return reasons

    def gate_holds(self) -> bool:
        """``--fail-on-broken``: an image BROKEN, or in use and not pullable (MISSING, ARCHIVED)."""
        verdicts = [verdict for audit in self.repositories for verdict in audit.verdicts]
        return any(
            verdict.status is ImageStatus.BROKEN or (verdict.status in NOT_PULLABLE and bool(verdict.usedBy))
            for verdict in verdicts
        )


class RegistryAuditor:
    """The audit of one registry, in two steps: ``plan`` lists what is in scope (so that a registry that cannot be
    listed fails before anything else is read), ``run`` audits it, the images in use first whatever the scope."""

    def __init__(self, registry: EcrRegistry, *, registry_id: str, region: str, workers: int) -> None:
        self.registry_id = registry_id
        self.region = region
        self._queue = _ListQueue()
        images = ImageCheckService(
            registry=registry, manifests=registry, store=_NoStore(), workers=workers, region=region
        )
        # A pull-through cache fetches missing layers on pull: not BROKEN, as in the Lambda.
        images.pull_through = registry
        self._service = AuditService(catalog=registry, queue=self._queue, images=images, region=region)

    def plan(self, scope: AuditScope, names: Sequence[str] = ()) -> list[RepositoryWorkItem]:
        """One work item per repository: exactly ``names``, else every repository in ``scope`` (sorted by name: ECR
        lists them in no documented order). Raises ``ListingError``."""
        audit_id = f"cli-{uuid.uuid4()}"
        if names:
            return [
                RepositoryWorkItem(
                    auditId=audit_id,
                    registryId=self.registry_id,
                    repositoryName=name,
                    taggedOnly=scope.taggedOnly,
                    newestImages=scope.newestImages,
                )
                for name in dict.fromkeys(names)
            ]
        try:
            self._service.start(audit_id, scope, registry_id=self.registry_id)
        except TransientCheckError as error:
            cause = error.__cause__
            if isinstance(cause, RepositoryCheckError):
                raise ListingError(cause.code, cause.message) from error
            raise ListingError(error.codes[0] if error.codes else "Transient", str(error)) from error
        except RepositoryCheckError as error:
            raise ListingError(error.code, error.message) from error
        items = [item for item in self._queue.take() if isinstance(item, RepositoryWorkItem)]
        return sorted(items, key=lambda item: item.repositoryName)

    def run(
        self,
        work: Sequence[RepositoryWorkItem],
        scope: AuditScope,
        *,
        named: bool,
        in_use: Mapping[str, Sequence[InUseReference]] | None = None,
        in_use_observed_at: datetime | None = None,
        on_progress: Progress | None = None,
    ) -> RegistryAudit:
        """Audit each item, one after the other. ``in_use``: what the workloads reference, per repository (read at
        ``in_use_observed_at``); a repository they reference that was not listed is audited too when it is in scope
        (not when ``named``): it was deleted, and its images in use are MISSING."""
        matched = {p for p in scope.repositoryPrefixes for item in work if in_scope(item.repositoryName, [p])}
        unmatched = () if named else tuple(p for p in scope.repositoryPrefixes if p not in matched)
        references = dict(in_use or {})
        self._service.in_use_references = _HeldReferences(references)
        listed = {item.repositoryName for item in work}
        extra = [] if named or not work else _referenced_only(work[0], references, listed, scope)
        audits = []
        for done, item in enumerate([*work, *extra], start=1):
            with_in_use = item.model_copy(
                update={
                    "inUseChunks": int(bool(references.get(item.repositoryName))),
                    "inUseObservedAt": in_use_observed_at,
                }
            )
            audits.append(
                _audit_repository(self._service, self._queue, with_in_use, asked=item.repositoryName in listed)
            )
            if on_progress is not None:
                on_progress(done, len(work))
        return RegistryAudit(self.registry_id, self.region, audits, unmatched)


def _referenced_only(
    template: RepositoryWorkItem,
    references: Mapping[str, Sequence[InUseReference]],
    listed: set[str],
    scope: AuditScope,
) -> list[RepositoryWorkItem]:
    names = sorted(name for name in references if name not in listed and in_scope(name, scope.repositoryPrefixes))
    return [template.model_copy(update={"repositoryName": name}) for name in names]


def _audit_repository(
    service: AuditService, queue: _ListQueue, item: RepositoryWorkItem, *, asked: bool = True
) -> RepositoryAudit:
    """``asked``: the repository was named or listed (not only referenced by a workload): its absence is a failure."""
    where = RepositoryAudit(item.registryId, item.repositoryName)
    try:
        audited = service.audit_repository(item)
        verdicts = list(audited.outcome.verdicts) if audited.outcome is not None else []
        if audited.repository_gone and asked:
            reason = f"the registry holds no repository named {item.repositoryName!r}"
            return dataclasses.replace(
                where, verdicts=verdicts, failure_code=REPOSITORY_NOT_FOUND, failure_reason=reason
            )
        for image_slice in queue.take():  # more images than one work item holds: the slices the Lambda would queue
            if isinstance(image_slice, ImagesWorkItem):
                verdicts += service.audit_images(image_slice).verdicts
    except RepositoryCheckError as error:
        return dataclasses.replace(where, failure_code=error.code, failure_reason=error.message)
    except TransientCheckError as error:
        cause = error.__cause__
        message = cause.message if isinstance(cause, RepositoryCheckError) else str(error)
        return dataclasses.replace(
            where, failure_code=error.codes[0] if error.codes else "Transient", failure_reason=message
        )
    return dataclasses.replace(where, verdicts=verdicts)


_STORAGE_FIELDS = {"itemType", "source", "expiresAt", "checkId"}


def finding(verdict: StoredImageVerdict) -> dict[str, Any]:
    return {key: value for key, value in verdict.model_dump(mode="json").items() if key not in _STORAGE_FIELDS}


def audit_document(answer: RegistryAudit) -> dict[str, Any]:
    """``{"summary", "repositories", "findings"}``: counts per status, one row per repository, and every image that
    is not COMPLETE (with its reason and who runs it) so that a CI log says what to fix."""
    repositories: list[dict[str, object]] = []
    findings: list[dict[str, Any]] = []
    for audit in answer.repositories:
        counts = {status: audit.count(status) for status in STATUSES}
        row: dict[str, object] = {
            "registryId": audit.registry_id,
            "repositoryName": audit.repository_name,
            "images": len(audit.verdicts),
            **counts,
        }
        if audit.failure_code is not None:
            row |= {"failureCode": audit.failure_code, "failureReason": audit.failure_reason}
        repositories.append(row)
        findings += [finding(verdict) for verdict in audit.verdicts if verdict.status != ImageStatus.COMPLETE]
    totals = {status: sum(audit.count(status) for audit in answer.repositories) for status in STATUSES}
    summary: dict[str, object] = {
        "repositories": len(answer.repositories),
        "images": sum(totals.values()),
        **totals,
        "failedRepositories": sum(audit.failure_code is not None for audit in answer.repositories),
    }
    return {"summary": summary, "repositories": repositories, "findings": findings}
