"""The schedule door: start an audit of every audited registry, narrowed by a rule's constant input if it has one.

Two event forms start the configured audit: an EventBridge rule's "Scheduled Event" (``source`` ``aws.events``,
``detail`` ``{}``) and EventBridge Scheduler's (``source`` ``aws.scheduler``, ``detail`` ``"{}"``). A rule may pass a
constant input instead, ``{"layercheckAudit": {"repositoryPrefixes": [...], "taggedOnly": true, "newestImages": 5}}``,
every field optional and only narrowing (docs/EVENTS.md), plus ``"eventId": "<aws.events.event.id>"`` when its input
transformer adds it.

The audit covers ``AUDIT_ACCOUNTS`` × ``AUDIT_REGIONS`` (logic/registries.py): the start queues one registry work item
per registry and returns, so it stays short with hundreds of registries (logic/org_audit.py does the rest).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from layercheck import dependencies as root
from layercheck.dependencies import Services
from layercheck.doors.idempotency import run_once
from layercheck.errors import InvalidEventError
from layercheck.logic.audit_scope import effective_scope
from layercheck.logic.image_keeping import VerdictKeeper, sweep
from layercheck.logic.registries import Registry, audit_registries
from layercheck.models.audit import AuditScope, AuditScopeInput
from layercheck.models.events import AuditInput, ScheduledEvent
from layercheck.observability import logger, record_sweep
from layercheck.settings import Settings, account_of


def configured_scope(settings: Settings) -> AuditScope:
    return AuditScope(
        repositoryPrefixes=settings.audit_repository_prefixes,
        taggedOnly=settings.audit_tagged_only,
        newestImages=settings.audit_newest_images,
    )


def audited_registries(services: Services) -> list[Registry]:
    """``AUDIT_ACCOUNTS`` × ``AUDIT_REGIONS``; Organizations is asked only for ``AUDIT_ACCOUNTS=organization``."""
    selection = services.settings.account_selection()
    return audit_registries(
        selection,
        services.audited_regions,
        own_account=services.own_account,
        organizations=services.organizations if selection.organization else None,
    )


def handle_scheduled_event(
    event: dict[str, Any], context: LambdaContext, services: Services | None = None
) -> dict[str, Any]:
    try:
        scheduled = parse(event=event, model=ScheduledEvent)
    except ValidationError as error:
        raise InvalidEventError("Scheduled Event", error.errors(include_url=False)) from error
    # Every scheduled invocation has its own event id; a redelivery of it carries the same one.
    return _start_audit(scheduled.id, None, context, services)


def handle_constant_input(
    event: dict[str, Any], context: LambdaContext, services: Services | None = None
) -> dict[str, Any]:
    try:
        audit_input = parse(event=event, model=AuditInput)
    except ValidationError as error:
        raise InvalidEventError("audit constant input", error.errors(include_url=False)) from error
    # The event id an input transformer added stays the same when EventBridge retries its delivery; without one, the
    # request id, which Lambda keeps across its own retries of an asynchronous event (but EventBridge's do not).
    audit_id = audit_input.eventId or context.aws_request_id
    return _start_audit(audit_id, audit_input.layercheckAudit, context, services)


def _start_audit(
    audit_id: str, requested: AuditScopeInput | None, context: LambdaContext, services: Services | None
) -> dict[str, Any]:
    handed = services or root.services(account_of(context.invoked_function_arn))
    logger.set_correlation_id(audit_id)
    _sweep_waiting_changes(handed)
    scope = effective_scope(configured_scope(handed.settings), requested)

    def start() -> dict[str, Any]:
        registries = audited_registries(handed)
        started = handed.organization_audit.start(audit_id, scope, registries)
        logger.info(
            "audit started",
            audit_id=audit_id,
            registries=started.registries,
            scope=scope.model_dump(mode="json"),
        )
        return {"auditId": audit_id, "registries": started.registries, "scope": scope.model_dump(mode="json")}

    return run_once(f"audit#{audit_id}", start, context)


def _sweep_waiting_changes(services: Services) -> None:
    """Every scheduled invocation first sends the change events still waiting on their items (an invocation died
    after its write, or the bus refused): at least once, with their own changeIds. Replays sweep too: it is cheap and
    idempotent."""
    bus = services.event_bus
    if bus is None:
        return
    swept = sweep(VerdictKeeper(services.image_writes, bus), services.image_writes.waiting())
    record_sweep(swept.sent, swept.unsent)
