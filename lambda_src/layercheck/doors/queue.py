"""The audit queue door: SQS batches of audit work items; each item's failure is reported alone (partial batch
response), so SQS retries just that item and, after the queue's maxReceiveCount, parks it in the dead-letter queue.
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting

A lifecycle preview that could not be had is not a failure either: it is logged ("lifecycle not previewed", with
ECR's code) and the image verdicts keep their stored ``lifecycleRisk``.

A registry that cannot be read is not a failure: it is logged ("registry unreadable", with AWS's code) and counted
(``RegistriesUnreadable``), and the item succeeds, so SQS does not retry it again and again.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from layercheck import dependencies as root
from layercheck.dependencies import Services
from layercheck.doors.idempotency import run_once
from layercheck.logic.image_check import ImageCheckOutcome
from layercheck.logic.org_audit import OrganizationAudit
from layercheck.logic.registries import RegistryUnreadable
from layercheck.models.audit import ImagesWorkItem, RegistryWorkItem, RepositoryWorkItem
from layercheck.models.events import AuditWorkItemRecord
from layercheck.observability import (
    log_registry_audited,
    log_repository_audited,
    logger,
    record_audited_images,
    record_registry_unreadable,
)
from layercheck.settings import account_of

# A body that is not a work item fails its record (it ends in the DLQ), not the batch.
processor = BatchProcessor(event_type=EventType.SQS, model=AuditWorkItemRecord)


def handle(event: dict[str, Any], context: LambdaContext, services: Services | None = None) -> dict[str, Any]:
    handed = services or root.services(account_of(context.invoked_function_arn))
    # A registry found unreadable is remembered for this invocation only: a role deployed meanwhile is tried again.
    handed.registry_clients.start_invocation()
    # The audit's lifecycle previews wait no longer than this invocation can.
    handed.registries.invocation.start(context.get_remaining_time_in_millis)
    response: dict[str, Any] = dict(
        process_partial_response(
            event=event,
            record_handler=partial(record_handler, services=handed),
            processor=processor,
            context=context,
        )
    )
    return response


def record_handler(record: AuditWorkItemRecord, lambda_context: LambdaContext, services: Services) -> dict[str, Any]:
    item: RegistryWorkItem | RepositoryWorkItem | ImagesWorkItem = record.body
    # An item queued before items carried a Region is the function's own Region's: resolved here, at the edge.
    item = item if item.region else item.model_copy(update={"region": services.settings.home_region()})
    audit = services.organization_audit
    repository = getattr(item, "repositoryName", None)
    logger.append_keys(audit_id=item.auditId, registry=item.registryId, region=item.region, repository=repository)
    logger.append_keys(message_id=record.messageId)
    try:
        # The item itself is the key: a redelivered message, or the same item queued twice by a retried audit start.
        key = f"item#{record.body.model_dump_json()}"
        if isinstance(item, RegistryWorkItem):
            return run_once(key, lambda: _audit_registry(audit, item), lambda_context)
        if isinstance(item, RepositoryWorkItem):
            return run_once(key, lambda: _audit_repository(audit, item), lambda_context)
        return run_once(key, lambda: _audit_images(audit, item), lambda_context)
    finally:
        logger.remove_keys(["audit_id", "registry", "region", "repository", "message_id"])


def _audit_registry(audit: OrganizationAudit, item: RegistryWorkItem) -> dict[str, Any]:
    audited = audit.audit_registry(item)
    if audited.unreadable is not None:
        return _unreadable(audited.unreadable)
    log_registry_audited(audited)
    return {
        "registryId": item.registryId,
        "region": item.region,
        "repositories": audited.repositories,
        "inUseReferences": audited.in_use_references,
    }


def _audit_repository(audit: OrganizationAudit, item: RepositoryWorkItem) -> dict[str, Any]:
    audited = audit.audit_repository(item)
    if isinstance(audited, RegistryUnreadable):
        return _unreadable(audited)
    log_repository_audited(item.repositoryName, audited, in_use=len(item.inUse))
    if audited.outcome is not None and (audited.repository_gone or audited.queued_slices):
        _recorded(item.repositoryName, audited.outcome)  # its MISSING images, recorded here
    if audited.repository_gone:
        return {"repositoryName": item.repositoryName, "gone": True}
    if audited.unlisted is not None and audited.outcome is None:
        return {"repositoryName": item.repositoryName, "unreadable": audited.unlisted.code}
    if audited.queued_slices:
        return {
            "repositoryName": item.repositoryName,
            "images": audited.images_in_scope,
            "slices": audited.queued_slices,
        }
    if audited.outcome is None:
        return {"repositoryName": item.repositoryName, "images": 0}
    return _recorded(item.repositoryName, audited.outcome)


def _audit_images(audit: OrganizationAudit, item: ImagesWorkItem) -> dict[str, Any]:
    outcome = audit.audit_images(item)
    if isinstance(outcome, RegistryUnreadable):
        return _unreadable(outcome)
    return _recorded(item.repositoryName, outcome)


def _unreadable(unreadable: RegistryUnreadable) -> dict[str, Any]:
    record_registry_unreadable(unreadable)
    return {"unreadable": unreadable.model_dump()}


def _recorded(repository_name: str, outcome: ImageCheckOutcome) -> dict[str, Any]:
    record_audited_images(outcome)
    return {"repositoryName": repository_name, "images": len(outcome.verdicts), "broken": outcome.broken}
