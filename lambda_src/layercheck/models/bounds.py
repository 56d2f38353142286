"""How long a stored or sent list may grow: an image verdict (with its replicas) must fit a DynamoDB item (400 KB)
and an EventBridge entry (256 KB), and 100 of them the API's 6 MB answer, whatever an image holds (an index of 50
platforms x 100 layers all gone would otherwise list 5,000 digests; a thousand standalone tasks on one image would
name a thousand users). A list longer than ``MAX_LISTED`` keeps its first ``MAX_LISTED`` entries and counts the rest
in a sibling ``...Omitted`` field."""

from __future__ import annotations

from typing import Any

MAX_LISTED = 50


def bounded_list(data: Any, name: str, omitted: str) -> Any:
    """A model's raw input with list ``name`` cut to ``MAX_LISTED`` entries, the rest added to ``omitted``."""
    if isinstance(data, dict):
        values = data.get(name)
        if isinstance(values, list | tuple) and len(values) > MAX_LISTED:
            extra = len(values) - MAX_LISTED
            return {**data, name: list(values)[:MAX_LISTED], omitted: int(data.get(omitted) or 0) + extra}
    return data
