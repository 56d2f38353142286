"""How the REST resolver reads a request body: always as JSON, and every body it cannot read is a
``RequestValidationError``.

Powertools' request validation reads a body by its Content-Type: ``application/x-www-form-urlencoded`` (what
``curl -d`` sends unless told otherwise) as a form, which then "misses" every field; other types it refuses with a 415
carrying no message. And it maps only ``json.JSONDecodeError`` to a validation error: a body that is not UTF-8 or not
base64, nested deeper than the parser's recursion limit, or holding an integer longer than Python's 4,300-digit limit
raises something else. This subclass of Powertools' own middleware reads the body once, with
``request_body.read_json_body`` (as the light ``POST /checks`` door does), and raises ``RequestValidationError``
(``json_invalid``) for every unreadable body, so that the door's exception handlers build every error answer.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from layercheck.doors.request_body import UnreadableBodyError, read_json_body


class JsonBodyValidation(OpenAPIRequestValidationMiddleware):
    def _get_body(self, app: Any) -> Any:
        try:
            return read_json_body(app.current_event.raw_event)
        except UnreadableBodyError as error:
            raise RequestValidationError(error.problems) from error


def read_bodies_as_json(app: ApiGatewayResolver) -> None:
    """Install :class:`JsonBodyValidation` in place of Powertools' request validation (same position in the chain:
    Powertools builds each route's middleware stack from ``app._request_validation_middleware``)."""
    app._request_validation_middleware = JsonBodyValidation()  # type: ignore[no-untyped-call]
