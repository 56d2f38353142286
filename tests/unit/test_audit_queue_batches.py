"""Work items go to SQS in batches SendMessageBatch accepts: at most 10 entries and 256 KiB of bodies."""

from __future__ import annotations

from layercheck.integrations.audit_queue import MAX_BATCH_BYTES, batches_within_limits


def test_batches_hold_at_most_ten_entries() -> None:
    entries = [(position, "{}") for position in range(25)]

    assert [len(batch) for batch in batches_within_limits(entries)] == [10, 10, 5]


def test_batches_stay_under_256_kib_of_bodies() -> None:
    body = "x" * (60 * 1024)  # an image slice with many tags
    entries = [(position, body) for position in range(10)]

    batches = batches_within_limits(entries)

    assert [len(batch) for batch in batches] == [4, 4, 2]
    assert all(sum(len(b.encode()) for _, b in batch) <= MAX_BATCH_BYTES for batch in batches)
    assert [position for batch in batches for position, _ in batch] == list(range(10))


def test_an_oversized_body_travels_alone() -> None:
    entries = [(0, "a"), (1, "x" * (MAX_BATCH_BYTES + 1)), (2, "b")]

    assert [[position for position, _ in batch] for batch in batches_within_limits(entries)] == [[0], [1], [2]]
