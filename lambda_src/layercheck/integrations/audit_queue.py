"""Amazon SQS, the audit queue: the only module that talks to it. Sends work items in batches of ten, re-sending
the entries SQS did not take, and reports what it could not send."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from layercheck.errors import WorkItemsNotQueuedError
from layercheck.integrations.aws import Backoff, client_config
from layercheck.integrations.aws_errors import error_text
from layercheck.logic.chunks import packed_within

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# SendMessageBatch takes at most 10 entries and 256 KiB of message bodies in all (the queue's maximum message size
# may be larger; 256 KiB is the limit every queue accepts). An image slice of 100 digests with their tags can reach
# tens of KiB, so batches are cut by size as well as by count.
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
MAX_ENTRIES_PER_BATCH = 10
MAX_BATCH_BYTES = 256 * 1024
# Entries SQS reports as failed for its own reasons (SenderFault false) are re-sent with jittered backoff.
FAILED_ENTRY_RETRIES = 5
SEND_WORKERS = 8


def new_client() -> SQSClient:
    client: SQSClient = boto3.client("sqs", config=client_config(SEND_WORKERS))
    return client


def batches_within_limits(entries: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """Consecutive batches of at most 10 entries and 256 KiB of bodies; a body larger than that alone is still sent
    alone, so that SQS refuses it by name rather than taking its neighbours down with it."""
    return packed_within(
        entries,
        max_count=MAX_ENTRIES_PER_BATCH,
        max_bytes=MAX_BATCH_BYTES,
        size_of=lambda entry: len(entry[1].encode()),
    )


class AuditQueue:
    """Implements ``WorkQueuePort``."""

    def __init__(
        self, queue_url: str, client: SQSClient | None = None, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._queue_url = queue_url
        self._client = client or new_client()
        self._backoff = Backoff(FAILED_ENTRY_RETRIES, sleep=sleep)

    def send_work_items(self, items: Sequence[BaseModel]) -> int:
        bodies = [item.model_dump_json() for item in items]
        batches = batches_within_limits(list(enumerate(bodies)))
        if not batches:
            return 0
        with ThreadPoolExecutor(max_workers=min(SEND_WORKERS, len(batches)), thread_name_prefix="sqs-send") as pool:
            leftovers = list(pool.map(self._send_batch, batches))
        failures = {position: reason for left in leftovers for position, reason in left.items()}
        if failures:
            raise WorkItemsNotQueuedError(failures)
        return len(bodies)

    def _send_batch(self, batch: list[tuple[int, str]]) -> dict[int, str]:
        """Send one batch; returns the positions left unsent, each with SQS's reason."""
        pending = dict(batch)
        unsent: dict[int, str] = {}
        last_reason: dict[int, str] = {}
        for _ in self._backoff.attempts():
            entries: Any = [{"Id": str(position), "MessageBody": body} for position, body in pending.items()]
            try:
                response = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as error:
                # botocore already retried throttling and 5xx; what is left is not going to pass by waiting.
                return unsent | dict.fromkeys(pending, error_text(error))
            retry: dict[int, str] = {}
            for failed in response.get("Failed", []):
                position = int(failed["Id"])
                reason = f"{failed.get('Code', 'Unknown')}: {failed.get('Message', '')}"
                if failed.get("SenderFault"):
                    unsent[position] = reason  # the message itself is refused: re-sending cannot help
                else:
                    retry[position] = pending[position]
                    last_reason[position] = reason
            pending = retry
            if not pending:
                return unsent
        return unsent | {
            position: f"{last_reason[position]} (after {FAILED_ENTRY_RETRIES} retries)" for position in pending
        }
