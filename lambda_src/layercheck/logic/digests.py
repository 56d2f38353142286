"""Digest rules that hold before any AWS call: the accepted format, first-seen deduplication, and ECR's chunk size."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

# ECR accepts at most 100 digests per BatchCheckLayerAvailability call.
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_BatchCheckLayerAvailability.html
MAX_DIGESTS_PER_CALL = 100

# OCI image spec's registered algorithms, lowercase hex only: https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")

T = TypeVar("T")


def is_valid_digest(digest: str) -> bool:
    return _DIGEST.fullmatch(digest) is not None


def invalid_digest_reason(digest: str) -> str:
    """The reason text ECR gives for ``InvalidLayerDigest``, so our early answer reads like ECR's."""
    return f"Invalid layer digest '{digest}'"


def unique_in_order(items: Iterable[T]) -> list[T]:
    """Drop repeats, keeping each item's first position (dict keys preserve insertion order)."""
    return list(dict.fromkeys(items))


def chunked(items: Sequence[T], size: int = MAX_DIGESTS_PER_CALL) -> Iterator[list[T]]:
    """Consecutive slices of at most ``size`` items: 201 digests give 100, 100 and 1."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
