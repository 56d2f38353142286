"""Change events reach a bus rule's SQS target (moto delivers EventBridge events to SQS targets)."""

from __future__ import annotations

import json
from typing import Any

import boto3

from layercheck.contracts.events import IMAGE_VERDICT_CHANGED_DETAIL_TYPE, LAYERCHECK_SOURCE
from layercheck.integrations.event_bus import EventBus
from layercheck.logic.change_events import event_entry, pending_change, verdict_changed
from layercheck.models.in_use import UsedBy
from layercheck.models.stored import ImageStatus, Source, StoredImageVerdict

REGION = "us-east-1"
BUS = "layercheck-changes"


def broken_in_use_rule_queue(aws: None) -> tuple[Any, str]:
    """A bus, and a rule routing every image that became BROKEN to a queue.

    Real EventBridge also matches fields inside arrays of objects (``"usedBy": {"kind": [{"exists": true}]}`` for
    in-use images only); moto 5.2.5 does not flatten arrays of objects, so that narrower rule cannot be shown here."""
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    events.create_event_bus(Name=BUS)
    queue_url = sqs.create_queue(QueueName="broken")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {
        "source": [LAYERCHECK_SOURCE],
        "detail-type": [IMAGE_VERDICT_CHANGED_DETAIL_TYPE],
        "detail": {"status": ["BROKEN"]},
    }
    events.put_rule(Name="broken-in-use", EventBusName=BUS, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="broken-in-use", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return sqs, queue_url


def verdict(digest: str, status: ImageStatus) -> StoredImageVerdict:
    return StoredImageVerdict(
        registryId="123456789012",
        repositoryName="api",
        checkedAt="2026-03-01T12:00:00Z",
        source=Source.SCHEDULE,
        expiresAt=1,
        imageDigest=digest,
        status=status,
        missingLayers=["sha256:" + "f" * 64] if status is ImageStatus.BROKEN else [],
        checkId="audit-1",
    )


def test_event_bus_delivers_image_verdict_changed_to_a_rules_queue(aws: None) -> None:
    # Given a rule for images that became BROKEN, and three changes: two to BROKEN (one in use), one recovery
    sqs, queue_url = broken_in_use_rule_queue(aws)
    service = UsedBy(kind="ecs-service", id="arn:aws:ecs:us-east-1:123456789012:service/prod/api")
    details = [
        verdict_changed(
            None,
            verdict("sha256:" + "1" * 64, ImageStatus.BROKEN).model_copy(update={"usedBy": [service]}),
            region=REGION,
        ),
        verdict_changed(None, verdict("sha256:" + "2" * 64, ImageStatus.BROKEN), region=REGION),
        verdict_changed(ImageStatus.BROKEN, verdict("sha256:" + "3" * 64, ImageStatus.COMPLETE), region=REGION),
    ]

    # When they are published
    outcome = EventBus(BUS, boto3.client("events", region_name=REGION)).publish(
        [event_entry(pending_change(detail)) for detail in details if detail is not None]
    )

    # Then all three were sent, and the queue holds exactly the two BROKEN ones, as EventBridge shapes them
    assert (outcome.sent, outcome.unsent) == (3, [])
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)["Messages"]
    bodies = sorted((json.loads(message["Body"]) for message in messages), key=lambda b: b["detail"]["imageDigest"])
    assert [(b["source"], b["detail-type"], b["detail"]["imageDigest"]) for b in bodies] == [
        (LAYERCHECK_SOURCE, IMAGE_VERDICT_CHANGED_DETAIL_TYPE, "sha256:" + "1" * 64),
        (LAYERCHECK_SOURCE, IMAGE_VERDICT_CHANGED_DETAIL_TYPE, "sha256:" + "2" * 64),
    ]
    assert bodies[0]["detail"]["usedBy"] == [service.model_dump()]
    assert bodies[0]["detail"]["previousStatus"] is None
