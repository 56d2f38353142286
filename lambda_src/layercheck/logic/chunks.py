"""Cutting a request into an AWS API's per-call limit (ECR's 100 digests or image ids, DynamoDB's 25 writes ...)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[list[T]]:
    """Consecutive slices of at most ``size`` items, in order: 201 items in chunks of 100 give 100, 100 and 1.

    Each caller names its API's limit (a named constant beside the call), so there is no default size."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
