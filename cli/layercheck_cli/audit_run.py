"""``layercheck audit``: the scheduled audit's image walk, run from a laptop or a CI job (nothing is stored).

The same use case as the Lambda (``layercheck.logic.audit.AuditService``: scope, ``select_images``, the image walk and
judgement of ``ImageCheckService``) over the same ECR adapter; only the ports differ. The work queue is a list drained
here, and the verdict store keeps nothing.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel

from layercheck.errors import RepositoryCheckError, TransientCheckError
from layercheck.integrations.ecr import EcrRegistry
from layercheck.logic.audit import AuditService
from layercheck.logic.image_check import ImageCheckService
from layercheck.models.audit import AuditScope, ImagesWorkItem, RepositoryWorkItem
from layercheck.models.stored import ImageStatus, StoredImageVerdict, StoredItem

REPOSITORY_NOT_FOUND = "RepositoryNotFoundException"
STATUSES = tuple(status.value for status in ImageStatus)

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


@dataclass(frozen=True)
class RepositoryAudit:
    registry_id: str
    repository_name: str
    verdicts: list[StoredImageVerdict] = field(default_factory=list)
    failure_code: str | None = None
    failure_reason: str | None = None

    def count(self, status: str) -> int:
        return sum(verdict.status == status for verdict in self.verdicts)


def audit_registry(
    registry: EcrRegistry,
    scope: AuditScope,
    *,
    registry_id: str,
    repository_names: Sequence[str] = (),
    workers: int,
    on_progress: Progress | None = None,
) -> list[RepositoryAudit]:
    """Audit every repository in ``scope`` (or exactly ``repository_names``), one after the other."""
    queue = _ListQueue()
    images = ImageCheckService(registry=registry, manifests=registry, store=_NoStore(), workers=workers)
    images.pull_through = registry  # a pull-through cache fetches missing layers on pull: not BROKEN, as in the Lambda
    service = AuditService(catalog=registry, queue=queue, images=images)
    audit_id = f"cli-{uuid.uuid4()}"
    if repository_names:
        work: list[BaseModel] = [
            RepositoryWorkItem(
                auditId=audit_id,
                registryId=registry_id,
                repositoryName=name,
                taggedOnly=scope.taggedOnly,
                newestImages=scope.newestImages,
            )
            for name in dict.fromkeys(repository_names)
        ]
    else:
        service.start(audit_id, scope, registry_id=registry_id)
        # Sorted by name: ECR lists repositories in no documented order, and a report reads best alphabetically.
        work = sorted(queue.take(), key=lambda item: str(getattr(item, "repositoryName", "")))
    audits = []
    for done, item in enumerate(work, start=1):
        if isinstance(item, RepositoryWorkItem):
            audits.append(_audit_repository(service, queue, item))
        if on_progress is not None:
            on_progress(done, len(work))
    return audits


def _audit_repository(service: AuditService, queue: _ListQueue, item: RepositoryWorkItem) -> RepositoryAudit:
    where = RepositoryAudit(item.registryId, item.repositoryName)
    try:
        audited = service.audit_repository(item)
        if audited.repository_gone:
            return dataclasses.replace(where, failure_code=REPOSITORY_NOT_FOUND, failure_reason="no such repository")
        verdicts = list(audited.outcome.verdicts) if audited.outcome is not None else []
        for image_slice in queue.take():  # more images than one work item holds: the slices the Lambda would queue
            if isinstance(image_slice, ImagesWorkItem):
                verdicts += service.audit_images(image_slice).verdicts
    except RepositoryCheckError as error:
        return dataclasses.replace(where, failure_code=error.code, failure_reason=error.message)
    except TransientCheckError as error:
        return dataclasses.replace(
            where, failure_code=error.codes[0] if error.codes else "Transient", failure_reason=str(error)
        )
    return dataclasses.replace(where, verdicts=verdicts)


_STORAGE_FIELDS = {"itemType", "source", "expiresAt", "checkId"}


def audit_document(audits: Sequence[RepositoryAudit]) -> dict[str, object]:
    """``{"summary", "repositories", "findings"}``: counts per status, one row per repository, and every image that
    is not COMPLETE (with its reason) so that a CI log says what to fix."""
    repositories: list[dict[str, object]] = []
    findings: list[dict[str, object]] = []
    for audit in audits:
        row: dict[str, object] = {
            "registryId": audit.registry_id,
            "repositoryName": audit.repository_name,
            "images": len(audit.verdicts),
            **{status: audit.count(status) for status in STATUSES},
        }
        if audit.failure_code is not None:
            row |= {"failureCode": audit.failure_code, "failureReason": audit.failure_reason}
        repositories.append(row)
        findings += [
            {key: value for key, value in verdict.model_dump(mode="json").items() if key not in _STORAGE_FIELDS}
            for verdict in audit.verdicts
            if verdict.status != ImageStatus.COMPLETE
        ]
    summary: dict[str, object] = {
        "repositories": len(audits),
        "images": sum(len(audit.verdicts) for audit in audits),
        **{status: sum(audit.count(status) for audit in audits) for status in STATUSES},
        "failedRepositories": sum(audit.failure_code is not None for audit in audits),
    }
    return {"summary": summary, "repositories": repositories, "findings": findings}
