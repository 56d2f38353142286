"""Digest rules that hold before any AWS call: the accepted format, first-seen deduplication, ECR's chunk size.

A digest is judged once, where it enters (``AskedDigests.of``); after that its type carries the verdict: only a
``ValidDigest`` is ever sent to ECR, and nothing downstream matches the pattern again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from layercheck.contracts.patterns import DIGEST_PATTERN
from layercheck.models.identifiers import ValidDigest

# ECR accepts at most 100 digests per BatchCheckLayerAvailability call.
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_BatchCheckLayerAvailability.html
MAX_DIGESTS_PER_CALL = 100

_DIGEST = re.compile(DIGEST_PATTERN)

T = TypeVar("T")


def valid_digest(text: str) -> ValidDigest | None:
    return ValidDigest(text) if _DIGEST.fullmatch(text) is not None else None


def is_valid_digest(text: str) -> bool:
    return _DIGEST.fullmatch(text) is not None


def invalid_digest_reason(digest: str) -> str:
    """The reason text ECR gives for ``InvalidLayerDigest``, so our early answer reads like ECR's."""
    return f"Invalid layer digest '{digest}'"


def unique_in_order(items: Iterable[T]) -> list[T]:
    """Drop repeats, keeping each item's first position (dict keys preserve insertion order)."""
    return list(dict.fromkeys(items))


@dataclass(frozen=True, slots=True)
class AskedDigests:
    """A digest list as asked, judged once: its distinct digests in first-seen order, the well-formed ones among
    them (what ECR is asked about, in the same order) and the malformed ones (answered ``InvalidLayerDigest``)."""

    distinct: tuple[str, ...]
    valid: tuple[ValidDigest, ...]
    malformed: frozenset[str]

    @classmethod
    def of(cls, digests: Iterable[str]) -> AskedDigests:
        distinct = tuple(dict.fromkeys(digests))
        valid: list[ValidDigest] = []
        malformed: list[str] = []
        for text in distinct:
            digest = valid_digest(text)
            if digest is None:
                malformed.append(text)
            else:
                valid.append(digest)
        return cls(distinct, tuple(valid), frozenset(malformed))
