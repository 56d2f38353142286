"""A request body as the API reads it: always as JSON, whatever the Content-Type says, with every unreadable body
named as pydantic names a problem (``json_invalid``), so that the same error answer explains it.

This is Powertools' own reading (``BaseProxyEvent.json_body``: base64-decoded when ``isBase64Encoded``, ``json.loads``,
an empty body read as no body) without its event classes, so that the light ``POST /checks`` door and the REST
resolver (doors/json_body.py) read a body the same way.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

JSON_INVALID = "json_invalid"


class UnreadableBodyError(ValueError):
    """The body is not JSON; ``problems`` in pydantic's shape, located in the body."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__(problems[0]["msg"])
        self.problems = problems


def read_json_body(event: Mapping[str, Any]) -> Any:
    """The body of an API Gateway proxy event as JSON; None when there is none."""
    body: str | None = event.get("body")
    try:
        if event.get("isBase64Encoded") and body:
            body = base64.b64decode(body.encode()).decode()
        return json.loads(body) if body else None
    except json.JSONDecodeError as error:  # where the parser stopped, as Powertools reports it
        raise UnreadableBodyError(
            [{"type": JSON_INVALID, "loc": ("body", error.pos), "msg": "JSON decode error", "input": {},
              "ctx": {"error": error.msg}}]
        ) from error  # fmt: skip
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError and binascii.Error are ValueErrors
        raise UnreadableBodyError(
            [{"type": JSON_INVALID, "loc": ("body",), "msg": f"unreadable body ({type(error).__name__})"}]
        ) from error
