"""The schedule door: start an audit of the configured scope, narrowed by a rule's constant input if it has one.

Two event forms start the configured audit: an EventBridge rule's "Scheduled Event" (``source`` ``aws.events``,
``detail`` ``{}``) and EventBridge Scheduler's (``source`` ``aws.scheduler``, ``detail`` ``"{}"``). A rule may pass a
constant input instead, ``{"layercheckAudit": {"repositoryPrefixes": [...], "taggedOnly": true, "newestImages": 5}}``,
every field optional and only narrowing (docs/EVENTS.md).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from layercheck.dependencies import audit_service
from layercheck.doors.idempotency import run_once
from layercheck.errors import InvalidEventError
from layercheck.logic.audit import effective_scope
from layercheck.models.events import AuditInput, AuditScope, AuditScopeInput, ScheduledEvent
from layercheck.observability import logger
from layercheck.settings import Settings, load_settings


def configured_scope(settings: Settings) -> AuditScope:
    return AuditScope(
        repositoryPrefixes=settings.audit_repository_prefixes,
        taggedOnly=settings.audit_tagged_only,
        newestImages=settings.audit_newest_images,
    )


def handle_scheduled_event(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        scheduled = parse(event=event, model=ScheduledEvent)
    except ValidationError as error:
        raise InvalidEventError("Scheduled Event", error.errors(include_url=False)) from error
    # Every scheduled invocation has its own event id; a redelivery of it carries the same one.
    return _start_audit(scheduled.id, None, context)


def handle_constant_input(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        audit_input = parse(event=event, model=AuditInput)
    except ValidationError as error:
        raise InvalidEventError("audit constant input", error.errors(include_url=False)) from error
    # A constant input carries no event id; Lambda keeps the request id across its own retries of an async event.
    return _start_audit(context.aws_request_id, audit_input.layercheckAudit, context)


def _start_audit(audit_id: str, requested: AuditScopeInput | None, context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id(audit_id)
    scope = effective_scope(configured_scope(load_settings()), requested)

    def start() -> dict[str, Any]:
        started = audit_service().start(audit_id, scope)
        logger.info(
            "audit started",
            audit_id=audit_id,
            repositories=started.repositories,
            scope=scope.model_dump(mode="json"),
        )
        return {"auditId": audit_id, "repositories": started.repositories, "scope": scope.model_dump(mode="json")}

    return run_once(f"audit#{audit_id}", start, context)
