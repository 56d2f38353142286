"""The audit queue door: SQS batches of audit work items; each item's failure is reported alone (partial batch
response), so SQS retries just that item and, after the queue's maxReceiveCount, parks it in the dead-letter queue.
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting

A lifecycle preview that could not be had is not a failure either: it is logged ("lifecycle not previewed", with
ECR's code) and the image verdicts keep their stored ``lifecycleRisk``.

A registry that cannot be read is not a failure: it is logged ("registry unreadable", with AWS's code) and counted
(``RegistriesUnreadable``), and the item succeeds, so SQS does not retry it again and again.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from layercheck.dependencies import organization_audit, registry_clients, registry_services
from layercheck.doors.idempotency import run_once
from layercheck.logic.image_check import ImageCheckOutcome
from layercheck.logic.org_audit import OrganizationAudit
from layercheck.logic.registries import RegistryUnreadable
from layercheck.models.audit import ImagesWorkItem, RegistryWorkItem, RepositoryWorkItem
from layercheck.models.events import AuditWorkItemRecord
from layercheck.models.stored import NOT_PULLABLE
from layercheck.observability import (
    logger,
    record_check,
    record_events_unsent,
    record_images,
    record_registry_unreadable,
)
from layercheck.settings import account_of

# A body that is not a work item fails its record (it ends in the DLQ), not the batch.
processor = BatchProcessor(event_type=EventType.SQS, model=AuditWorkItemRecord)


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A registry found unreadable is remembered for this invocation only: a role deployed meanwhile is tried again.
    registry_clients(account_of(context.invoked_function_arn)).start_invocation()
    # The audit's lifecycle previews wait no longer than this invocation can.
    registry_services(account_of(context.invoked_function_arn)).invocation.start(context.get_remaining_time_in_millis)
    response: dict[str, Any] = dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
    return response


def record_handler(record: AuditWorkItemRecord, lambda_context: LambdaContext) -> dict[str, Any]:
    item: RegistryWorkItem | RepositoryWorkItem | ImagesWorkItem = record.body
    audit = organization_audit(account_of(lambda_context.invoked_function_arn))
    repository = getattr(item, "repositoryName", None)
    logger.append_keys(audit_id=item.auditId, registry=item.registryId, region=item.region, repository=repository)
    logger.append_keys(message_id=record.messageId)
    try:
        # The item itself is the key: a redelivered message, or the same item queued twice by a retried audit start.
        key = f"item#{item.model_dump_json()}"
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
    if audited.outside_prefixes:
        logger.warning(
            "images in use outside the audit's repository prefixes", repositories=list(audited.outside_prefixes)
        )
    if audited.named_not_held:
        logger.warning(
            "workloads name repositories the registry does not hold", repositories=list(audited.named_not_held)
        )
    if audited.not_reported_elsewhere is not None:
        logger.warning("in-use images of other registries not reported", reason=audited.not_reported_elsewhere)
    for failure in audited.source_failures:
        logger.warning("in-use source unreadable", source=failure.source, code=failure.code, reason=failure.message)
    logger.info(
        "fanned out registry",
        repositories=audited.repositories,
        in_use_references=audited.in_use_references,
        replicated_repositories=audited.replicated_repositories,
        reported_elsewhere=audited.reported_elsewhere,
    )
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
    if audited.lifecycle is not None and (preview := audited.lifecycle.not_previewed) is not None:
        # The stored risks stay; the next audit previews again (a preview still running is read then).
        logger.warning("lifecycle not previewed", code=preview.code, reason=preview.reason)
    if audited.repository_gone:
        logger.info(
            "repository not held", in_use_missing=0 if audited.outcome is None else len(audited.outcome.verdicts)
        )
        if audited.outcome is not None:
            _recorded(item.repositoryName, audited.outcome)
        return {"repositoryName": item.repositoryName, "gone": True}
    if audited.unlisted is not None:
        # That repository only (its policy denies the reader role ...): not retried, not the whole registry.
        logger.error(
            "repository unreadable",
            repository=item.repositoryName,
            code=audited.unlisted.code,
            reason=audited.unlisted.message,
            in_use=len(item.inUse),
        )
        if audited.outcome is None:
            return {"repositoryName": item.repositoryName, "unreadable": audited.unlisted.code}
    if audited.queued_slices:
        logger.info("fanned out repository", images=audited.images_in_scope, slices=audited.queued_slices)
        if audited.outcome is not None:  # its MISSING images, recorded here
            _recorded(item.repositoryName, audited.outcome)
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
    record_registry_unreadable()
    logger.error(
        "registry unreadable",
        account=unreadable.account_id,
        unreadable_region=unreadable.region,
        code=unreadable.code,
        reason=unreadable.reason,
    )
    return {"unreadable": unreadable.model_dump()}


def _recorded(repository_name: str, outcome: ImageCheckOutcome) -> dict[str, Any]:
    for verdict in outcome.verdicts:
        if verdict.in_use and verdict.status in NOT_PULLABLE:
            # The workloads on it cannot start a new copy (scale-out, rollback, node replacement).
            logger.error(
                "image in use cannot be pulled",
                repository=verdict.repositoryName,
                image_digest=verdict.imageDigest,
                image_tags=verdict.imageTags,
                status=verdict.status,
                code=verdict.failureCode,
                used_by=[user.model_dump(mode="json") for user in verdict.usedBy],
            )
        elif verdict.lifecycleRisk is not None and verdict.in_use:
            logger.info(
                "image in use at lifecycle risk",
                image_digest=verdict.imageDigest,
                image_tags=verdict.imageTags,
                action=verdict.lifecycleRisk.action,
                rule_priority=verdict.lifecycleRisk.rulePriority,
            )
    record_check(outcome.layer_summary)
    record_images(
        len(outcome.verdicts),
        outcome.broken,
        in_use_broken=outcome.in_use_broken,
        in_use_missing=outcome.in_use_missing,
        replicas_incomplete=outcome.replicas_incomplete,
        in_use_at_risk=outcome.in_use_at_risk,
    )
    record_events_unsent(outcome.events_unsent)
    logger.info(
        "audited images",
        images=len(outcome.verdicts),
        broken=outcome.broken,
        unchecked=outcome.unchecked,
        in_use_broken=outcome.in_use_broken,
        in_use_missing=outcome.in_use_missing,
        replicas_incomplete=outcome.replicas_incomplete,
        in_use_at_risk=outcome.in_use_at_risk,
    )
    return {"repositoryName": repository_name, "images": len(outcome.verdicts), "broken": outcome.broken}
