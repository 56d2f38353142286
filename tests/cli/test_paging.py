"""The AWS CLI's pagination over the API's ``nextToken``: ``--max-items`` may stop in the middle of a page and
``--starting-token`` resumes there; every item is printed exactly once across the runs."""

from __future__ import annotations

from typing import Any

import pytest

from layercheck_cli.errors import CliError
from layercheck_cli.paging import Paging, decode_token, encode_token, read_pages

ITEMS = [f"item-{n}" for n in range(7)]


class FakeApi:
    """Pages of ``limit`` (default 3) items; ``nextToken`` is the index of the next item, as an opaque string."""

    def __init__(self) -> None:
        self.calls: list[tuple[str | None, int | None]] = []

    def __call__(self, token: str | None, limit: int | None) -> dict[str, Any]:
        self.calls.append((token, limit))
        start = int(token.removeprefix("t")) if token else 0
        end = start + (limit or 3)
        page: dict[str, Any] = {"items": ITEMS[start:end]}
        if end < len(ITEMS):
            page["nextToken"] = f"t{end}"
        return page


def test_read_pages_reads_every_page_without_max_items() -> None:
    api = FakeApi()

    answer = read_pages(api, Paging())

    assert answer == {"items": ITEMS}
    assert api.calls == [(None, None), ("t3", None), ("t6", None)]


def test_read_pages_page_size_is_the_apis_limit() -> None:
    api = FakeApi()

    assert read_pages(api, Paging(page_size=5)) == {"items": ITEMS}
    assert api.calls == [(None, 5), ("t5", 5)]


@pytest.mark.parametrize("max_items", [1, 2, 3, 4, 5, 6])
def test_max_items_then_starting_token_print_every_item_once(max_items: int) -> None:
    printed: list[str] = []
    token: str | None = None
    while True:
        answer = read_pages(FakeApi(), Paging(max_items=max_items, starting_token=token))
        assert len(answer["items"]) <= max_items
        printed += answer["items"]
        token = answer.get("NextToken")
        if token is None:
            break

    assert printed == ITEMS


def test_max_items_in_the_middle_of_a_page_resumes_inside_it() -> None:
    answer = read_pages(FakeApi(), Paging(max_items=4))

    assert answer["items"] == ITEMS[:4]
    assert decode_token(answer["NextToken"]) == ("t3", 1)


def test_max_items_at_a_page_boundary_resumes_at_the_next_page() -> None:
    answer = read_pages(FakeApi(), Paging(max_items=3))

    assert decode_token(answer["NextToken"]) == ("t3", 0)


def test_max_items_covering_everything_prints_no_token() -> None:
    assert read_pages(FakeApi(), Paging(max_items=7)) == {"items": ITEMS}


def test_no_paginate_prints_the_first_page_and_the_apis_token() -> None:
    api = FakeApi()

    assert read_pages(api, Paging(paginate=False)) == {"items": ITEMS[:3], "nextToken": "t3"}
    assert len(api.calls) == 1


@pytest.mark.parametrize("token", ["not base64!", encode_token("t3", 0)[:-4], "bnVsbA==", "eyJuZXh0VG9rZW4iOiAxfQ=="])
def test_a_starting_token_layercheck_did_not_print_is_refused(token: str) -> None:
    with pytest.raises(CliError, match="--starting-token"):
        read_pages(FakeApi(), Paging(starting_token=token))


def test_max_items_below_one_is_refused() -> None:
    with pytest.raises(CliError, match="--max-items"):
        read_pages(FakeApi(), Paging(max_items=0))
