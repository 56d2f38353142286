"""Digest rules that hold before any AWS call: judged once, deduplicated in order, cut at ECR's 100 per call."""

from __future__ import annotations

import pytest

from layercheck.logic.chunks import chunked
from layercheck.logic.digests import (
    MAX_DIGESTS_PER_CALL,
    AskedDigests,
    is_valid_digest,
    unique_in_order,
    valid_digest,
)

SHA256 = "sha256:" + "a" * 64
SHA512 = "sha512:" + "0" * 128


@pytest.mark.parametrize("digest", [SHA256, SHA512, "sha256:" + "0123456789abcdef" * 4])
def test_is_valid_digest_accepts_sha256_and_sha512_lowercase_hex(digest: str) -> None:
    assert is_valid_digest(digest)


@pytest.mark.parametrize(
    "digest",
    [
        "",
        "latest",
        "sha256:" + "A" * 64,  # uppercase hex
        "sha256:" + "a" * 63,
        "sha256:" + "a" * 65,
        "sha512:" + "a" * 64,  # sha512 needs 128
        "sha384:" + "a" * 96,
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        " " + SHA256,
        SHA256 + "\n",
        "sha256:" + "g" * 64,
    ],
)
def test_is_valid_digest_rejects_everything_else(digest: str) -> None:
    assert not is_valid_digest(digest)
    assert valid_digest(digest) is None


def test_asked_digests_judges_each_distinct_digest_once_in_first_seen_order() -> None:
    # Given a list with repeats, malformed entries and a repeated malformed entry
    asked = ["latest", SHA512, SHA256, "latest", SHA512, "sha256:ABC"]

    # When it is judged
    judged = AskedDigests.of(asked)

    # Then every distinct digest appears once, in first-seen order; only the well-formed ones are to be sent
    assert judged.distinct == ("latest", SHA512, SHA256, "sha256:ABC")
    assert judged.valid == (SHA512, SHA256)
    assert judged.malformed == frozenset({"latest", "sha256:ABC"})


def test_unique_in_order_keeps_first_seen_position() -> None:
    assert unique_in_order(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]


@pytest.mark.parametrize(
    ("count", "sizes"),
    [(0, []), (1, [1]), (100, [100]), (101, [100, 1]), (201, [100, 100, 1]), (300, [100, 100, 100])],
)
def test_chunked_respects_ecr_limit_of_100(count: int, sizes: list[int]) -> None:
    items = list(range(count))

    chunks = list(chunked(items, MAX_DIGESTS_PER_CALL))

    assert [len(chunk) for chunk in chunks] == sizes
    assert [item for chunk in chunks for item in chunk] == items
    assert MAX_DIGESTS_PER_CALL == 100


def test_chunked_refuses_a_size_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list(chunked([1, 2], 0))
