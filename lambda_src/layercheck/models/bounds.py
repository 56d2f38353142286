"""How long a stored or sent list may grow: an image verdict (with its replicas) must fit a DynamoDB item (400 KB)
and an EventBridge entry (256 KB), and 100 of them the API's 6 MB answer, whatever an image holds (an index of 50
platforms x 100 layers all gone would otherwise list 5,000 digests; a thousand standalone tasks on one image would
name a thousand users). A list longer than ``MAX_LISTED`` keeps its first ``MAX_LISTED`` entries and counts the rest
in a sibling ``...Omitted`` field.

``usedBy`` is bounded by its size too: an entry names an ARN (up to 2,048 characters), a tag (300) and the reporter's
ARN (2,048), so 50 of them could take 200 KB. Its entries are kept in order (workloads layercheck discovered before
reported ones, logic/in_use.py) until ``MAX_USED_BY_BYTES`` of JSON; the rest are counted in ``usedByOmitted``.
"""

from __future__ import annotations

import json
from typing import Any

MAX_LISTED = 50
# JSON bytes of one verdict's usedBy list: 100 verdicts of an answer take at most 1.2 MB of users
# (tests/unit/test_image_answer_size.py measures the worst case of the whole answer).
MAX_USED_BY_BYTES = 12 * 1024


def bounded_list(data: Any, name: str, omitted: str, *, max_bytes: int | None = None) -> Any:
    """A model's raw input with list ``name`` cut to ``MAX_LISTED`` entries (and, with ``max_bytes``, to the entries
    whose JSON fits that many bytes, the first always kept), the rest added to ``omitted``."""
    if not isinstance(data, dict):
        return data
    values = data.get(name)
    if not isinstance(values, list | tuple):
        return data
    kept = list(values)[:MAX_LISTED]
    if max_bytes is not None:
        kept = kept[: _fitting(kept, max_bytes)]
    extra = len(values) - len(kept)
    if not extra:
        return data
    return {**data, name: kept, omitted: int(data.get(omitted) or 0) + extra}


def _fitting(values: list[Any], max_bytes: int) -> int:
    """How many leading entries fit ``max_bytes`` of JSON (at least one)."""
    size = 2
    for count, value in enumerate(values):
        size += len(json.dumps(_plain(value), separators=(",", ":")).encode()) + (1 if count else 0)
        if size > max_bytes and count:
            return count
    return len(values)


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if dump is not None else value
