"""Helpers for the event-door tests (push, schedule, audit queue): events from the fixtures, resources, stored items."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from local.environment import EVENT_BUS_NAME, create_event_resources
from tests.support import emf_blobs, load_event


def prepare_event_doors(monkeypatch: pytest.MonkeyPatch, **settings: str) -> str:
    """Create the idempotency table and the audit queue in moto and point the function at them; returns the queue
    URL. ``settings`` are further environment variables (``AUDIT_TAGGED_ONLY="true"`` ...)."""
    queue_url = create_event_resources()
    monkeypatch.setenv("AUDIT_QUEUE_URL", queue_url)
    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", "layercheck-idempotency")
    monkeypatch.setenv("ECR_MAX_CALLS_PER_SECOND", "10000")
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return queue_url


def push_event(
    repository_name: str, image_digest: str, image_tag: str | None = "latest", *, event_id: str | None = None
) -> dict[str, Any]:
    """AWS's "ECR Image Action" push sample, for this image; without ``image-tag`` when pushed by digest."""
    event = copy.deepcopy(load_event("ecr_image_push.json"))
    event["id"] = event_id or str(uuid.uuid4())
    event["detail"]["repository-name"] = repository_name
    event["detail"]["image-digest"] = image_digest
    if image_tag is None:
        del event["detail"]["image-tag"]
    else:
        event["detail"]["image-tag"] = image_tag
    return event


IMAGE_ACTION_SAMPLES = {
    "PUSH": "ecr_image_push.json",
    "DELETE": "ecr_image_delete.json",
    "UPDATE_STORAGE_CLASS": "ecr_image_update_storage_class.json",
}


def image_action_event(
    action_type: str, repository_name: str, image_digest: str, image_tag: str | None = None
) -> dict[str, Any]:
    """An "ECR Image Action" event of this action type (AWS's samples: the same detail fields for every action), for
    this image; ``image-tag`` only when the action named one (a DELETE by tag)."""
    event = copy.deepcopy(load_event(IMAGE_ACTION_SAMPLES[action_type]))
    event["id"] = str(uuid.uuid4())
    event["detail"] |= {"repository-name": repository_name, "image-digest": image_digest}
    event["detail"].pop("image-tag", None)
    if image_tag is not None:
        event["detail"]["image-tag"] = image_tag
    return event


def image_verdicts(items: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Stored image verdicts by (repository, image digest)."""
    return {(item["repositoryName"], item["imageDigest"]): item for item in items if item["itemType"] == "image"}


def layer_items(items: list[dict[str, Any]], repository_name: str) -> dict[str, dict[str, Any]]:
    return {
        item["layerDigest"]: item
        for item in items
        if item["itemType"] == "layer" and item["repositoryName"] == repository_name
    }


def metric_sources(stdout: str) -> set[str]:
    """The ``Source`` dimension values of every EMF document printed."""
    return {blob["Source"] for blob in emf_blobs(stdout) if "Source" in blob}


def change_event_queue(region: str = "us-east-1") -> Callable[[], list[dict[str, Any]]]:
    """A rule on the change-event bus (``EVENT_BUS_NAME``, created by ``prepare_event_doors``' resources) delivering
    every layercheck event to a queue; returns a reader of the events delivered since its last call (whole events)."""
    events, sqs = boto3.client("events", region_name=region), boto3.client("sqs", region_name=region)
    queue_url = sqs.create_queue(QueueName=f"changes-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"all-{uuid.uuid4().hex[:8]}"
    events.put_rule(Name=rule, EventBusName=EVENT_BUS_NAME, EventPattern=json.dumps({"source": ["layercheck"]}))
    events.put_targets(Rule=rule, EventBusName=EVENT_BUS_NAME, Targets=[{"Id": "queue", "Arn": queue_arn}])

    def received() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                found.append(json.loads(message["Body"]))
        return found

    return received
