"""The one Lambda entry point. It tells the doors apart by the event's shape and hands the event to that door.

Each door is imported on first use, so an API cold start does not pay for the event and queue doors and back.
The tests are explicit and disjoint: API Gateway's proxy event, an SQS batch, an ECR event, a scheduled event, and
the audit's constant input (``{"layercheckAudit": {...}}``); anything else is refused.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from layercheck.errors import UnsupportedEventError
from layercheck.models.stored import Source
from layercheck.observability import logger, metrics, tracer, use_source

AUDIT_INPUT_KEY = "layercheckAudit"  # equal to models.events.AUDIT_INPUT_KEY, kept here to avoid importing it


def is_api_event(event: dict[str, Any]) -> bool:
    return "httpMethod" in event and "requestContext" in event


def is_sqs_event(event: dict[str, Any]) -> bool:
    records = event.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(record, dict) and record.get("eventSource") == "aws:sqs" for record in records)
    )


def is_ecr_event(event: dict[str, Any]) -> bool:
    return event.get("source") == "aws.ecr" and "detail-type" in event


def is_scheduled_event(event: dict[str, Any]) -> bool:
    return event.get("source") in ("aws.events", "aws.scheduler") and event.get("detail-type") == "Scheduled Event"


def is_audit_input(event: dict[str, Any]) -> bool:
    return AUDIT_INPUT_KEY in event


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise UnsupportedEventError(_describe(event))
    if is_api_event(event):
        use_source(Source.API)
        from layercheck.doors import api

        return api.handle(event, context)
    if is_sqs_event(event):
        use_source(Source.SCHEDULE)
        from layercheck.doors import queue

        return queue.handle(event, context)
    if is_ecr_event(event):
        use_source(Source.PUSH)
        from layercheck.doors import push

        return push.handle(event, context)
    if is_scheduled_event(event):
        use_source(Source.SCHEDULE)
        from layercheck.doors import schedule

        return schedule.handle_scheduled_event(event, context)
    if is_audit_input(event):
        use_source(Source.SCHEDULE)
        from layercheck.doors import schedule

        return schedule.handle_constant_input(event, context)
    raise UnsupportedEventError(_describe(event))


def _describe(event: object) -> str:
    if not isinstance(event, dict):
        return f"a {type(event).__name__}, not a JSON object"
    return f"keys {sorted(event)[:10]}, source {event.get('source')!r}, detail-type {event.get('detail-type')!r}"
