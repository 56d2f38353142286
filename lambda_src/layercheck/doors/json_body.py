"""How the API door reads a request body: always as JSON, and every body it cannot read is a ``RequestValidationError``.

Powertools' request validation reads a body by its Content-Type: ``application/x-www-form-urlencoded`` (what
``curl -d`` sends unless told otherwise) as a form, which then "misses" every field; other types it refuses with a 415
carrying no message. And it maps only ``json.JSONDecodeError`` to a validation error: a body that is not UTF-8 or not
base64, nested deeper than the parser's recursion limit, or holding an integer longer than Python's 4,300-digit limit
raises something else. This subclass of Powertools' own middleware reads the body once, as JSON whatever the
Content-Type says (this API takes nothing else), and raises ``RequestValidationError`` (``json_invalid``) for every
unreadable body, so that the door's exception handlers build every error answer.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

JSON_CONTENT_TYPE = "application/json"


class JsonBodyValidation(OpenAPIRequestValidationMiddleware):
    def _get_body(self, app: Any) -> dict[str, Any]:
        try:
            body: dict[str, Any] = self._parse_json_data(app)  # Powertools maps JSONDecodeError itself
        except (ValueError, RecursionError) as error:  # UnicodeDecodeError and binascii.Error are ValueErrors
            raise RequestValidationError(
                [{"type": "json_invalid", "loc": ("body",), "msg": f"unreadable body ({type(error).__name__})"}]
            ) from error
        return body


def read_bodies_as_json(app: ApiGatewayResolver) -> None:
    """Install :class:`JsonBodyValidation` in place of Powertools' request validation (same position in the chain:
    Powertools builds each route's middleware stack from ``app._request_validation_middleware``)."""
    app._request_validation_middleware = JsonBodyValidation()  # type: ignore[no-untyped-call]


def content_type_note(headers: Any) -> str:
    """`` (sent as <type>; ...)`` when the request did not say it was JSON, to explain a refused body."""
    content_type = str(headers.get("content-type") or "").strip()
    if not content_type or content_type.startswith(JSON_CONTENT_TYPE):
        return ""
    return f" (sent with Content-Type {content_type}; this API reads every body as JSON: send {JSON_CONTENT_TYPE})"
