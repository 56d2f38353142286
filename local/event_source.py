"""A local stand-in for Lambda's SQS event source mapping: poll the audit queue, invoke the handler with the batch
exactly as the mapping would, delete what succeeded and leave the ``batchItemFailures`` for SQS to redeliver.
https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.lambda_context import LOCAL_ACCOUNT_ID, LOCAL_REGION, FakeLambdaContext

Handler = Callable[[dict[str, Any], Any], Any]


def sqs_event(messages: list[dict[str, Any]], queue_name: str) -> dict[str, Any]:
    """The event Lambda builds from received messages (``Records`` with ``eventSource`` ``aws:sqs``)."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    "ApproximateReceiveCount": message.get("Attributes", {}).get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": message.get("Attributes", {}).get("SentTimestamp", str(int(time.time() * 1000))),
                    "SenderId": LOCAL_ACCOUNT_ID,
                    "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
                },
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:{queue_name}",
                "awsRegion": LOCAL_REGION,
            }
            for message in messages
        ]
    }


@dataclass
class DrainReport:
    batches: int = 0
    processed: int = 0
    failed_message_ids: list[str] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)


def drain_queue(
    handler: Handler, sqs: Any, queue_url: str, *, batch_size: int = 10, max_batches: int = 1000
) -> DrainReport:
    """Feed the queue to the handler until a receive comes back empty. Failed items stay in the queue, invisible
    until their visibility timeout ends (as in SQS); the report lists them."""
    queue_name = queue_url.rstrip("/").rsplit("/", 1)[-1]
    report = DrainReport()
    for _ in range(max_batches):
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=batch_size, AttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            break
        report.batches += 1
        report.bodies += [message["Body"] for message in messages]
        try:
            response = handler(sqs_event(messages, queue_name), FakeLambdaContext())
            failed = {failure["itemIdentifier"] for failure in (response or {}).get("batchItemFailures", [])}
        except Exception:  # the mapping treats a failed invocation as every record failed
            failed = {message["MessageId"] for message in messages}
        report.failed_message_ids += sorted(failed)
        done = [message for message in messages if message["MessageId"] not in failed]
        report.processed += len(done)
        if done:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]} for i, message in enumerate(done)],
            )
    return report
