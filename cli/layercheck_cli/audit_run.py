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
from typing import Any

from pydantic import BaseModel

from layercheck.errors import RepositoryCheckError, TransientCheckError
from layercheck.integrations.ecr import EcrRegistry
from layercheck.logic.audit import AuditService, in_scope, unpullable_in_use
from layercheck.logic.image_check import ImageCheckService
from layercheck.models.audit import AuditImage, AuditScope, ImagesWorkItem, RepositoryWorkItem
from layercheck.models.stored import ImageStatus, StoredImageVerdict, StoredItem

REPOSITORY_NOT_FOUND = "RepositoryNotFoundException"
MISSING = "MISSING"
# The verdicts an audit prints: the engine's statuses, and MISSING for a tag in use the registry no longer holds.
STATUSES = (
    ImageStatus.COMPLETE.value,
    ImageStatus.BROKEN.value,
    MISSING,
    *(status.value for status in ImageStatus if status not in (ImageStatus.COMPLETE, ImageStatus.BROKEN)),
)

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
    missing_in_use: list[dict[str, Any]] = field(default_factory=list)  # MISSING verdicts of tags in use
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
        """``--fail-on-broken``: an image BROKEN, or in use and no longer pullable (MISSING, or gone by digest)."""
        verdicts = [verdict for audit in self.repositories for verdict in audit.verdicts]
        return (
            any(verdict.status is ImageStatus.BROKEN for verdict in verdicts)
            or bool(unpullable_in_use(verdicts))
            or bool(self.missing_in_use)
        )


class RegistryAuditor:
    """The audit of one registry, in two steps: ``plan`` lists what is in scope (so that a registry that cannot be
    listed fails before anything else is read), ``run`` audits it, the images in use first whatever the scope."""

    def __init__(self, registry: EcrRegistry, *, registry_id: str, region: str | None, workers: int) -> None:
        self.registry_id = registry_id
        self.region = region
        self._queue = _ListQueue()
        images = ImageCheckService(registry=registry, manifests=registry, store=_NoStore(), workers=workers)
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
        in_use: Mapping[str, list[AuditImage]] | None = None,
        on_progress: Progress | None = None,
    ) -> RegistryAudit:
        """Audit each item, one after the other; ``in_use``: the images in use per repository."""
        matched = {p for p in scope.repositoryPrefixes for item in work if in_scope(item.repositoryName, [p])}
        unmatched = () if named else tuple(p for p in scope.repositoryPrefixes if p not in matched)
        audits = []
        for done, item in enumerate(work, start=1):
            with_in_use = item.model_copy(update={"inUse": list((in_use or {}).get(item.repositoryName, []))})
            audits.append(_audit_repository(self._service, self._queue, with_in_use))
            if on_progress is not None:
                on_progress(done, len(work))
        return RegistryAudit(self.registry_id, self.region, audits, unmatched)


def _audit_repository(service: AuditService, queue: _ListQueue, item: RepositoryWorkItem) -> RepositoryAudit:
    where = RepositoryAudit(item.registryId, item.repositoryName)
    try:
        audited = service.audit_repository(item)
        if audited.repository_gone:
            reason = f"the registry holds no repository named {item.repositoryName!r}"
            return dataclasses.replace(where, failure_code=REPOSITORY_NOT_FOUND, failure_reason=reason)
        verdicts = list(audited.outcome.verdicts) if audited.outcome is not None else []
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
    missing_by_repository: dict[str, int] = {}
    for entry in answer.missing_in_use:
        name = str(entry["repositoryName"])
        missing_by_repository[name] = missing_by_repository.get(name, 0) + 1
    for audit in answer.repositories:
        counts = {status: audit.count(status) for status in STATUSES}
        counts[MISSING] = missing_by_repository.get(audit.repository_name, 0)
        row: dict[str, object] = {
            "registryId": audit.registry_id,
            "repositoryName": audit.repository_name,
            "images": len(audit.verdicts) + counts[MISSING],
            **counts,
        }
        if audit.failure_code is not None:
            row |= {"failureCode": audit.failure_code, "failureReason": audit.failure_reason}
        repositories.append(row)
        findings += [finding(verdict) for verdict in audit.verdicts if verdict.status != ImageStatus.COMPLETE]
    findings += answer.missing_in_use
    totals = {status: sum(audit.count(status) for audit in answer.repositories) for status in STATUSES}
    totals[MISSING] = len(answer.missing_in_use)
    summary: dict[str, object] = {
        "repositories": len(answer.repositories),
        "images": sum(totals.values()),
        **totals,
        "failedRepositories": sum(audit.failure_code is not None for audit in answer.repositories),
    }
    return {"summary": summary, "repositories": repositories, "findings": findings}
