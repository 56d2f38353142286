"""The one Lambda entry point. It tells the doors apart by the event's shape and hands the event to that door.

Each door is imported on first use, so an API cold start does not pay for the event and queue doors and back.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from layercheck.errors import UnsupportedEventError
from layercheck.models.stored import Source
from layercheck.observability import logger, metrics, tracer, use_source


def is_api_event(event: dict[str, Any]) -> bool:
    return "httpMethod" in event and "requestContext" in event


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if is_api_event(event):
        use_source(Source.API)
        from layercheck.doors import api

        return api.handle(event, context)
    raise UnsupportedEventError(_describe(event))


def _describe(event: object) -> str:
    if not isinstance(event, dict):
        return f"a {type(event).__name__}, not a JSON object"
    return f"keys {sorted(event)[:10]}, source {event.get('source')!r}, detail-type {event.get('detail-type')!r}"
