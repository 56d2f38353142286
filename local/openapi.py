"""Prints the OpenAPI document Powertools generates from the API door (``make openapi`` writes docs/openapi.json)."""

from __future__ import annotations

import json


def openapi_document() -> dict[str, object]:
    from layercheck.doors.api import app

    document: dict[str, object] = json.loads(app.get_openapi_json_schema())
    return document


def main() -> None:
    print(json.dumps(openapi_document(), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
