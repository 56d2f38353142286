"""Packing items into an AWS API's batch limits: by count and by bytes, nothing dropped, order kept."""

from __future__ import annotations

import pytest

from layercheck.logic.chunks import packed_within


def test_packed_within_cuts_at_the_count_limit() -> None:
    assert packed_within(range(25), max_count=10, max_bytes=10**6, size_of=lambda _: 1) == [
        list(range(10)),
        list(range(10, 20)),
        list(range(20, 25)),
    ]


def test_packed_within_cuts_before_the_byte_limit_is_passed() -> None:
    # Given items of 4, 4, 4 and 1 bytes and a 9-byte budget
    groups = packed_within(["aaaa", "bbbb", "cccc", "d"], max_count=10, max_bytes=9, size_of=len)
    # Then no group passes 9 bytes and every item is kept, in order
    assert groups == [["aaaa", "bbbb"], ["cccc", "d"]]


def test_packed_within_gives_an_oversized_item_a_group_of_its_own() -> None:
    # So that the API refuses that item by name instead of taking its neighbours down with it
    groups = packed_within(["a", "x" * 20, "b"], max_count=10, max_bytes=9, size_of=len)
    assert groups == [["a"], ["x" * 20], ["b"]]


def test_packed_within_of_nothing_is_no_group_and_refuses_a_zero_count() -> None:
    assert packed_within([], max_count=10, max_bytes=9, size_of=len) == []
    with pytest.raises(ValueError, match="max_count"):
        packed_within(["a"], max_count=0, max_bytes=9, size_of=len)
