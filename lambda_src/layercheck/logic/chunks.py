"""Cutting a request into an AWS API's per-call limit (ECR's 100 digests or image ids, DynamoDB's 25 writes ...)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[list[T]]:
    """Consecutive slices of at most ``size`` items, in order: 201 items in chunks of 100 give 100, 100 and 1.

    Each caller names its API's limit (a named constant beside the call), so there is no default size."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def packed_within(items: Iterable[T], *, max_count: int, max_bytes: int, size_of: Callable[[T], int]) -> list[list[T]]:
    """Consecutive groups of at most ``max_count`` items whose sizes add up to at most ``max_bytes`` (SQS's and
    EventBridge's batch limits, an SQS message's budget). An item larger than ``max_bytes`` on its own still gets a
    group of its own, so that the API refuses it by name instead of taking its neighbours down with it."""
    if max_count < 1:
        raise ValueError("max_count must be at least 1")
    groups: list[list[T]] = []
    current: list[T] = []
    size = 0
    for item in items:
        item_size = size_of(item)
        if current and (len(current) == max_count or size + item_size > max_bytes):
            groups.append(current)
            current, size = [], 0
        current.append(item)
        size += item_size
    if current:
        groups.append(current)
    return groups
