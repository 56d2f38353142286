"""The committed OpenAPI document is exactly what the API door generates (run `make openapi` after changing it)."""

from __future__ import annotations

import json
from pathlib import Path

from local.openapi import openapi_document

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_document_matches_the_api_door() -> None:
    assert json.loads(COMMITTED.read_text()) == openapi_document(), "docs/openapi.json is stale: run `make openapi`"


def test_openapi_document_describes_both_routes_and_the_error_shape() -> None:
    document = openapi_document()
    paths = document["paths"]
    assert isinstance(paths, dict)

    assert set(paths) >= {"/checks", "/results"}
    assert "post" in paths["/checks"] and "get" in paths["/results"]
    assert "ErrorResponse" in json.dumps(document)


def test_openapi_document_gives_every_error_answer_the_error_shape() -> None:
    """Clients (and schemathesis) read a 4xx/5xx by the document: each must say it is an ErrorResponse."""
    error_answers = {
        (path, method, status): answer
        for path, operations in openapi_document()["paths"].items()
        for method, operation in operations.items()
        for status, answer in operation["responses"].items()
        if int(status) >= 400
    }

    assert {key[0] for key in error_answers} >= {"/checks", "/results", "/images/checks", "/images", "/inventory"}
    wrong = {
        key: answer
        for key, answer in error_answers.items()
        if answer.get("content", {}).get("application/json", {}).get("schema")
        != {"$ref": "#/components/schemas/ErrorResponse"}
    }
    assert wrong == {}
