"""The change-event bus integration: PutEvents' 10-entry and 256 KB limits, and re-sending what EventBridge refuses.

moto never fails an entry (it answers FailedEntryCount 0), so the retries are shown with botocore's Stubber in the
shapes real EventBridge answers: ``FailedEntryCount`` and, per entry in request order, ``EventId`` or
``ErrorCode``/``ErrorMessage``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from layercheck.integrations.event_bus import (
    FAILED_ENTRY_RETRIES,
    MAX_CALL_BYTES,
    TIME_BYTES,
    EventBus,
    calls_within_limits,
    entry_size,
)
from layercheck.logic.change_events import EventEntry

BUS = "layercheck-changes"
CHECKED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def entry(n: int, detail_bytes: int = 20) -> EventEntry:
    detail = json.dumps({"n": n, "pad": "x" * max(0, detail_bytes - 20)})
    return EventEntry("layercheck", "Image Verdict Changed", detail, CHECKED_AT)


def request_entry(event: EventEntry) -> dict[str, Any]:
    return {
        "Source": event.source,
        "DetailType": event.detail_type,
        "Detail": event.detail,
        "EventBusName": BUS,
        "Time": ANY,
    }


@pytest.fixture
def events() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("events", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_entry_size_counts_as_eventbridge_does() -> None:
    event = EventEntry("layercheck", "Image Verdict Changed", '{"é":1}', CHECKED_AT)

    assert entry_size(event) == TIME_BYTES + len("layercheck") + len("Image Verdict Changed") + len('{"é":1}'.encode())


def test_calls_within_limits_cut_at_10_entries() -> None:
    calls = calls_within_limits([entry(n) for n in range(21)])

    assert [len(call) for call in calls] == [10, 10, 1]


def test_calls_within_limits_cut_at_256_kb_and_send_an_oversized_entry_alone() -> None:
    # Given entries of a third of the limit each, then one larger than the limit
    third = MAX_CALL_BYTES // 3
    entries = [entry(n, third) for n in range(4)] + [entry(9, MAX_CALL_BYTES + 1), entry(10)]

    calls = calls_within_limits(entries)

    assert [len(call) for call in calls] == [2, 2, 1, 1]
    assert all(sum(map(entry_size, call)) <= MAX_CALL_BYTES for call in calls if len(call) > 1)


def test_event_bus_resends_only_the_entries_eventbridge_refused(events: tuple[Any, Stubber]) -> None:
    # Given EventBridge refusing the 2nd of 3 entries once (InternalFailure), then taking it
    client, stubber = events
    sent = [entry(n) for n in range(3)]
    stubber.add_response(
        "put_events",
        {
            "FailedEntryCount": 1,
            "Entries": [
                {"EventId": "1"},
                {"ErrorCode": "InternalFailure", "ErrorMessage": "try again"},
                {"EventId": "3"},
            ],
        },
        {"Entries": [request_entry(event) for event in sent]},
    )
    stubber.add_response(
        "put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "2"}]}, {"Entries": [request_entry(sent[1])]}
    )
    pauses: list[float] = []

    # When they are published
    outcome = EventBus(BUS, client, sleep=pauses.append).publish(sent)

    # Then all three are sent, the second after one pause
    assert (outcome.sent, outcome.unsent) == (3, [])
    assert len(pauses) == 1


def test_event_bus_reports_what_stays_refused_after_every_retry(events: tuple[Any, Stubber]) -> None:
    client, stubber = events
    event = entry(1)
    for _ in range(FAILED_ENTRY_RETRIES + 1):
        stubber.add_response(
            "put_events",
            {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}]},
            {"Entries": [request_entry(event)]},
        )

    outcome = EventBus(BUS, client, sleep=lambda _: None).publish([event])

    assert outcome.sent == 0
    assert [(u.entry, u.code, u.message) for u in outcome.unsent] == [(event, "ThrottlingException", "slow down")]


def test_event_bus_does_not_resend_an_entry_no_retry_can_fix(events: tuple[Any, Stubber]) -> None:
    client, stubber = events
    sent = [entry(1), entry(2)]
    stubber.add_response(
        "put_events",
        {"FailedEntryCount": 1, "Entries": [{"EventId": "1"}, {"ErrorCode": "MalformedDetail", "ErrorMessage": "bad"}]},
        {"Entries": [request_entry(event) for event in sent]},
    )

    outcome = EventBus(BUS, client, sleep=lambda _: None).publish(sent)

    assert outcome.sent == 1 and [(u.entry, u.code) for u in outcome.unsent] == [(sent[1], "MalformedDetail")]


def test_event_bus_reports_a_whole_call_that_failed_and_goes_on_with_the_next(events: tuple[Any, Stubber]) -> None:
    # Given 11 entries (two calls) and the first call refused outright (after botocore's own retries)
    client, stubber = events
    sent = [entry(n) for n in range(11)]
    stubber.add_client_error("put_events", "AccessDeniedException", "not allowed", 400)
    stubber.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "11"}]})

    outcome = EventBus(BUS, client, sleep=lambda _: None).publish(sent)

    assert outcome.sent == 1
    assert [u.entry for u in outcome.unsent] == sent[:10]
    assert {u.code for u in outcome.unsent} == {"AccessDeniedException"}
