"""The one entry point of both functions (the API and the worker run the same asset). It tells the doors apart by
the event's shape and hands the event to that door.

The doors are a table of (test, source, door). Each door is imported on first use, so an API cold start does not pay
for the event and queue doors and back. The tests are explicit and disjoint: API Gateway's proxy event, an SQS batch,
an ECR event, a scheduled event, and the audit's constant input (``{"layercheckAudit": {...}}``); anything else is
refused. Among API events, ``POST /checks`` is recognised first and answered by its light door (doors/checks.py),
which spares a check's cold start the REST resolver and its OpenAPI machinery.

Its imports, and each door's first import, run with Python's cyclic garbage collector paused (startup.py). Importing
it checks the runtime's botocore first (runtime_check.py): a runtime too old fails the function's start
with a message naming both versions, rather than every audit call later.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any, NamedTuple

from layercheck.startup import collector_paused

with collector_paused():  # the init phase allocates much and frees nothing: startup.py
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from layercheck.contracts import events as event_names
    from layercheck.contracts import routes
    from layercheck.errors import UnsupportedEventError
    from layercheck.models.stored import Source
    from layercheck.observability import logger, metrics, tracer, use_source
    from layercheck.runtime_check import require_ecr_api

    # At start (the init phase), before any event: the runtime's botocore must be able to send what the code calls.
    require_ecr_api()


def is_api_event(event: dict[str, Any]) -> bool:
    return "httpMethod" in event and "requestContext" in event


def is_check_request(event: dict[str, Any]) -> bool:
    """``POST /checks`` exactly (the path the resolver matches without any prefix stripped): its light door."""
    return is_api_event(event) and event["httpMethod"] == "POST" and event.get("path") == routes.CHECKS


def is_sqs_event(event: dict[str, Any]) -> bool:
    records = event.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and all(
            isinstance(record, dict) and record.get("eventSource") == event_names.SQS_EVENT_SOURCE for record in records
        )
    )


def is_ecr_event(event: dict[str, Any]) -> bool:
    return event.get("source") == event_names.ECR_SOURCE and "detail-type" in event


def is_scheduled_event(event: dict[str, Any]) -> bool:
    return (
        event.get("source") in event_names.SCHEDULE_SOURCES
        and event.get("detail-type") == event_names.SCHEDULED_EVENT_DETAIL_TYPE
    )


def is_audit_input(event: dict[str, Any]) -> bool:
    return event_names.AUDIT_INPUT_KEY in event


class Door(NamedTuple):
    """An event shape, the ``Source`` its metrics carry, and the door (``module:function``, imported on first use)."""

    recognises: Callable[[dict[str, Any]], bool]
    source: Source
    entry: str


DOORS: tuple[Door, ...] = (
    # The API's busiest route first, on its light door (no Event Handler, no OpenAPI machinery); the rest of the API
    # (and any request to it not exactly ``POST /checks``) goes to the REST resolver, which answers it the same way.
    Door(is_check_request, Source.API, "layercheck.doors.checks:handle"),
    Door(is_api_event, Source.API, "layercheck.doors.api:handle"),
    # The audit queue carries the scheduled audit's fanned-out work items: their verdicts belong to the schedule.
    Door(is_sqs_event, Source.SCHEDULE, "layercheck.doors.queue:handle"),
    Door(is_ecr_event, Source.PUSH, "layercheck.doors.push:handle"),
    Door(is_scheduled_event, Source.SCHEDULE, "layercheck.doors.schedule:handle_scheduled_event"),
    Door(is_audit_input, Source.SCHEDULE, "layercheck.doors.schedule:handle_constant_input"),
)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, dict):
        for door in DOORS:
            if door.recognises(event):
                use_source(door.source)
                result: dict[str, Any] = _door_function(door.entry)(event, context)
                return result
    raise UnsupportedEventError(_describe(event))


@functools.cache
def _door_function(entry: str) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The door's function, its module imported the first time (once per container, with the collector paused)."""
    module_name, function_name = entry.split(":")
    with collector_paused():
        module = importlib.import_module(module_name)
    door: Callable[[dict[str, Any], LambdaContext], dict[str, Any]] = getattr(module, function_name)
    return door


def _describe(event: object) -> str:
    if not isinstance(event, dict):
        return f"a {type(event).__name__}, not a JSON object"
    return f"keys {sorted(event)[:10]}, source {event.get('source')!r}, detail-type {event.get('detail-type')!r}"
