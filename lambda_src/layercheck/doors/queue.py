"""The audit queue door: SQS batches of audit work items; each item's failure is reported alone (partial batch
response), so SQS retries just that item and, after the queue's maxReceiveCount, parks it in the dead-letter queue.
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from layercheck.dependencies import audit_service
from layercheck.doors.idempotency import run_once
from layercheck.logic.image_check import ImageCheckOutcome
from layercheck.models.events import AuditWorkItemRecord, ImagesWorkItem, RepositoryWorkItem
from layercheck.observability import logger, record_check, record_images

# A body that is not a work item fails its record (it ends in the DLQ), not the batch.
processor = BatchProcessor(event_type=EventType.SQS, model=AuditWorkItemRecord)


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response: dict[str, Any] = dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
    return response


def record_handler(record: AuditWorkItemRecord, lambda_context: LambdaContext) -> dict[str, Any]:
    item: RepositoryWorkItem | ImagesWorkItem = record.body
    logger.append_keys(audit_id=item.auditId, repository=item.repositoryName, message_id=record.messageId)
    try:
        # The item itself is the key: a redelivered message, or the same item queued twice by a retried audit start.
        if isinstance(item, RepositoryWorkItem):
            return run_once(f"item#{item.model_dump_json()}", lambda: _audit_repository(item), lambda_context)
        return run_once(f"item#{item.model_dump_json()}", lambda: _audit_images(item), lambda_context)
    finally:
        logger.remove_keys(["audit_id", "repository", "message_id"])


def _audit_repository(item: RepositoryWorkItem) -> dict[str, Any]:
    audited = audit_service().audit_repository(item)
    if audited.repository_gone:
        logger.info("repository gone since the audit listed it")
        return {"repositoryName": item.repositoryName, "gone": True}
    if audited.outcome is None:
        logger.info("fanned out repository", images=audited.images_in_scope, slices=audited.queued_slices)
        return {
            "repositoryName": item.repositoryName,
            "images": audited.images_in_scope,
            "slices": audited.queued_slices,
        }
    return _recorded(item.repositoryName, audited.outcome)


def _audit_images(item: ImagesWorkItem) -> dict[str, Any]:
    return _recorded(item.repositoryName, audit_service().audit_images(item))


def _recorded(repository_name: str, outcome: ImageCheckOutcome) -> dict[str, Any]:
    record_check(outcome.layer_summary)
    record_images(len(outcome.verdicts), outcome.broken)
    logger.info("audited images", images=len(outcome.verdicts), broken=outcome.broken, unchecked=outcome.unchecked)
    return {"repositoryName": repository_name, "images": len(outcome.verdicts), "broken": outcome.broken}
