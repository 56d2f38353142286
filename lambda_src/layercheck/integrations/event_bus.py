"""Amazon EventBridge, the change-event bus: the only module that talks to it (``EventPublisherPort``).

PutEvents takes at most 10 entries and 256 KB in all per call (sizes counted as EventBridge counts them). It can
accept a call and still refuse some entries (``FailedEntryCount``, ``Entries[i].ErrorCode`` in request order): those
are sent again with jittered exponential backoff, except for codes that no retry can fix. Whatever is still refused,
or lost with a whole call that botocore's own retries could not get through, is returned in ``unsent`` with the
code: nothing is dropped silently, and nothing here raises for it, so a caller that already stored its verdicts
keeps them.

``dependencies.event_bus()`` builds ``EventBus(settings.event_bus_name)`` once per container (only
when ``EVENT_BUS_NAME`` is set); IAM: events:PutEvents on ``arn:<partition>:events:<region>:<account>:event-bus/<name>``
(``bus.grant_put_events_to(function)`` in CDK).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from layercheck.integrations.aws import Backoff, client_config
from layercheck.integrations.aws_errors import code_and_message
from layercheck.logic.change_events import EventEntry, PublishOutcome, UnsentEvent
from layercheck.logic.chunks import packed_within

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

# https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html and
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
MAX_ENTRIES_PER_CALL = 10
MAX_CALL_BYTES = 256 * 1024
TIME_BYTES = 14  # an entry with a Time counts 14 bytes for it
FAILED_ENTRY_RETRIES = 5
BACKOFF_BASE_SECONDS = 0.1
# Entry error codes that name the entry itself or our permissions: sending it again gets the same answer.
PERMANENT_ERROR_CODES = frozenset(
    {
        "InvalidArgument",
        "MalformedDetail",
        "ValidationException",
        "AccessDeniedException",
        "NotAuthorizedForSourceException",
        "NotAuthorizedForDetailTypeException",
        "ResourceNotFoundException",
    }
)
UNANSWERED = "UnansweredEntry"  # EventBridge's answer had no result for this entry


def new_client(region_name: str | None = None) -> EventBridgeClient:
    client: EventBridgeClient = boto3.client("events", region_name=region_name, config=client_config())
    return client


def entry_size(entry: EventEntry) -> int:
    """The entry's size as EventBridge counts it toward the 256 KB: Time (14), Source, DetailType, Detail (UTF-8)."""
    size = TIME_BYTES if entry.time is not None else 0
    return size + len(entry.source.encode()) + len(entry.detail_type.encode()) + len(entry.detail.encode())


def calls_within_limits(entries: Sequence[EventEntry]) -> list[list[EventEntry]]:
    """Consecutive groups of at most 10 entries and 256 KB; an entry larger than that alone is still sent alone, so
    that EventBridge refuses it by name rather than taking its neighbours down with it."""
    return packed_within(entries, max_count=MAX_ENTRIES_PER_CALL, max_bytes=MAX_CALL_BYTES, size_of=entry_size)


class EventBus:
    def __init__(
        self,
        bus_name: str,
        client: EventBridgeClient | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._bus_name = bus_name
        self._client = client or new_client()
        self._backoff = Backoff(FAILED_ENTRY_RETRIES, base_seconds=BACKOFF_BASE_SECONDS, sleep=sleep)

    def publish(self, entries: Sequence[EventEntry]) -> PublishOutcome:
        sent = 0
        unsent: list[UnsentEvent] = []
        for call in calls_within_limits(entries):
            call_sent, call_unsent = self._send(call)
            sent += call_sent
            unsent.extend(call_unsent)
        return PublishOutcome(sent=sent, unsent=unsent)

    def _send(self, entries: list[EventEntry]) -> tuple[int, list[UnsentEvent]]:
        sent = 0
        pending = entries
        refused: list[UnsentEvent] = []
        retry: list[UnsentEvent] = []
        for _ in self._backoff.attempts():
            try:
                response = self._client.put_events(Entries=[self._request_entry(entry) for entry in pending])
            except (ClientError, BotoCoreError) as error:
                code, message = code_and_message(error)
                return sent, [*refused, *(UnsentEvent(entry, code, message) for entry in pending)]
            results: list[Any] = list(response.get("Entries", []))
            retry = []
            for position, entry in enumerate(pending):
                result = results[position] if position < len(results) else {"ErrorCode": UNANSWERED}
                entry_code = result.get("ErrorCode")
                if not entry_code:
                    sent += 1
                    continue
                failure = UnsentEvent(entry, entry_code, result.get("ErrorMessage", ""))
                (refused if entry_code in PERMANENT_ERROR_CODES else retry).append(failure)
            if not retry:
                break
            pending = [failure.entry for failure in retry]
        return sent, [*refused, *retry]

    def _request_entry(self, entry: EventEntry) -> Any:
        request: dict[str, Any] = {
            "Source": entry.source,
            "DetailType": entry.detail_type,
            "Detail": entry.detail,
            "EventBusName": self._bus_name,
        }
        if entry.time is not None:
            request["Time"] = entry.time
        return request
