"""Reading every page of a listing the way the AWS CLI's paginators do: ``--max-items`` caps the items printed,
``--starting-token`` resumes where a capped listing stopped, ``--page-size`` sets each call's ``limit``, and
``--no-paginate`` prints the first page with the service's own ``nextToken``.

The token printed as ``NextToken`` is botocore's shape: base64 of ``{"nextToken": <the API's>, "boto_truncate_amount":
<items of that page already printed>}``, so that a listing can stop in the middle of a page and resume there.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from layercheck.models.images_api import MAX_PAGE_SIZE
from layercheck_cli.errors import CliError

API_TOKEN = "nextToken"
PRINTED_TOKEN = "NextToken"
ITEMS = "items"
_TRUNCATE = "boto_truncate_amount"

# One call to the API: (its nextToken or None, its limit or None) -> the page {"items": [...], "nextToken": ...}.
FetchPage = Callable[[str | None, int | None], dict[str, Any]]


@dataclass(frozen=True)
class Paging:
    max_items: int | None = None
    starting_token: str | None = None
    page_size: int | None = None
    paginate: bool = True


def encode_token(api_token: str | None, skip: int) -> str:
    document = json.dumps({API_TOKEN: api_token, _TRUNCATE: skip} if skip else {API_TOKEN: api_token})
    return base64.b64encode(document.encode()).decode()


def decode_token(token: str | None) -> tuple[str | None, int]:
    """``--starting-token`` back into (the API's token, items of that page to skip)."""
    if token is None:
        return None, 0
    try:
        document = json.loads(base64.b64decode(token, validate=True))
        api_token, skip = document.get(API_TOKEN), int(document.get(_TRUNCATE, 0))
    except (ValueError, TypeError, AttributeError, binascii.Error) as error:
        raise CliError(f"Bad value for --starting-token: {token!r} is not a token layercheck printed") from error
    if (api_token is not None and not isinstance(api_token, str)) or skip < 0:
        raise CliError(f"Bad value for --starting-token: {token!r} is not a token layercheck printed")
    return api_token, skip


def read_pages(fetch: FetchPage, paging: Paging) -> dict[str, Any]:
    """Every item (up to ``max_items``), and ``NextToken`` when more remain."""
    if paging.max_items is not None and paging.max_items < 1:
        raise CliError("Bad value for --max-items: it must be at least 1")
    if paging.page_size is not None and not 1 <= paging.page_size <= MAX_PAGE_SIZE:
        raise CliError(f"Bad value for --page-size: {paging.page_size}: the API answers 1-{MAX_PAGE_SIZE} items a call")
    token, skip = decode_token(paging.starting_token)
    items: list[Any] = []
    while True:
        page = fetch(token, paging.page_size)
        page_items = list(page.get(ITEMS) or [])[skip:]
        next_token = page.get(API_TOKEN) or None
        if not paging.paginate:
            return {ITEMS: page_items, **({API_TOKEN: next_token} if next_token else {})}
        if paging.max_items is not None and len(items) + len(page_items) >= paging.max_items:
            take = paging.max_items - len(items)
            items += page_items[:take]
            if take < len(page_items):
                return {ITEMS: items, PRINTED_TOKEN: encode_token(token, skip + take)}
            return {ITEMS: items, **({PRINTED_TOKEN: encode_token(next_token, 0)} if next_token else {})}
        items += page_items
        if not next_token:
            return {ITEMS: items}
        token, skip = next_token, 0
