"""Who runs an image (``usedBy``) survives the checks that cannot know it, through the real doors on moto.

Only the scheduled audit discovers who runs an image (ECS, Lambda, inventory entries). A push check or a POST
/images/checks keeps the stored ``usedBy`` in the same write (UpdateItem without touching it), answers and announces
it; an audit replaces it, with nothing when nobody runs the image any more.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from layercheck.handler import lambda_handler
from layercheck.integrations.image_writes import ImageVerdictWrites
from layercheck.integrations.inventory_store import InventoryStore
from layercheck.integrations.results_table import from_dynamodb
from layercheck.logic.verdict_merge import ImageObservation, ReplicasObservation, UsersObservation
from layercheck.models.in_use import InventoryEntry, UsedBy
from layercheck.models.replicas import Replica, ReplicaStatus
from layercheck.models.stored import ImageStatus, Source, StoredImageVerdict
from local.environment import EVENT_BUS_NAME
from local.event_source import drain_queue
from local.lambda_context import FakeLambdaContext
from local.seed import OCI_LAYER, blob, create_repository, descriptor, push_image, upload_layer
from tests.conftest import ApiEvent
from tests.integration.event_support import prepare_event_doors, push_event
from tests.integration.moto_ecr import serve_pull_through_cache_rules
from tests.support import TABLE_NAME, load_event

ACCOUNT = "123456789012"
REGION = "us-east-1"
REPOSITORY = "app"
GONE = blob("gone-layer")  # a layer the image references but the repository has not received (yet)
# POST /inventory records who reported (the sample event's caller)
K8S = {
    "kind": "inventory",
    "id": "k8s-prod",
    "tag": "v2",
    "reportedBy": "arn:aws:sts::123456789012:assumed-role/platform-tools/tools",
}


@pytest.fixture
def doors(ecr: Any, results_table: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every door's resources (audit queue, idempotency table, bus); returns the audit queue's URL."""
    serve_pull_through_cache_rules(monkeypatch, [])  # moto lacks the action; a BROKEN verdict asks it
    monkeypatch.setenv("EVENT_BUS_NAME", EVENT_BUS_NAME)
    return prepare_event_doors(monkeypatch, PUSH_RECHECK_SECONDS="0")


@pytest.fixture
def change_events(doors: str) -> Callable[[], list[dict[str, Any]]]:
    """The details of the change events a rule on the bus delivered to a queue since the last call."""
    events, sqs = boto3.client("events", region_name=REGION), boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="verdict-changes")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["layercheck"], "detail-type": ["Image Verdict Changed"]}
    events.put_rule(Name="all-changes", EventBusName=EVENT_BUS_NAME, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="all-changes", EventBusName=EVENT_BUS_NAME, Targets=[{"Id": "queue", "Arn": queue_arn}])

    def received() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(message["Body"])["detail"] for message in messages]

    return received


def call(event: dict[str, Any]) -> Any:
    response = lambda_handler(event, FakeLambdaContext())
    assert response["statusCode"] == 200, response["body"]
    return json.loads(response["body"])


def run_audit(queue_url: str) -> None:
    schedule = load_event("eventbridge_scheduled_event.json") | {"id": str(uuid.uuid4())}  # each run its own event
    lambda_handler(schedule, FakeLambdaContext())
    report = drain_queue(lambda_handler, boto3.client("sqs", region_name=REGION), queue_url)
    assert report.failed_message_ids == []


def report_in_use(api_event: ApiEvent, *, expires_at: int | None = None) -> None:
    """k8s-prod runs app:v2: reported through POST /inventory, or its entry rewritten to expire at ``expires_at``."""
    if expires_at is None:
        image = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}:v2"
        assert call(api_event("POST", "/inventory", body={"source": "k8s-prod", "images": [image]}))["accepted"] == 1
        return
    entry = InventoryEntry(
        source="k8s-prod",
        registryId=ACCOUNT,
        region=REGION,
        repositoryName=REPOSITORY,
        imageTag="v2",
        reportedAt="2026-01-01T00:00:00Z",
        expiresAt=expires_at,
    )
    InventoryStore(TABLE_NAME, boto3.client("dynamodb", region_name=REGION)).put_entries([entry])


def check_again(door: str, api_event: ApiEvent, digest: str) -> dict[str, Any] | None:
    """A check that does not know who runs the image: a push event, or POST /images/checks (then its verdict)."""
    if door == "push":
        lambda_handler(push_event(REPOSITORY, digest, "v2"), FakeLambdaContext())
        return None
    body = call(
        api_event("POST", "/images/checks", body={"images": [{"repositoryName": REPOSITORY, "imageTag": "v2"}]})
    )
    [verdict] = body["verdicts"]
    assert verdict["source"] == "api"
    return dict(verdict)


def image_items(dynamodb: Any) -> list[dict[str, Any]]:
    """The table's image items as DynamoDB holds them (the table holds inventory entries too)."""
    return [item for item in dynamodb.scan(TableName=TABLE_NAME)["Items"] if item["itemType"]["S"] == "image"]


def stored_image(dynamodb: Any) -> dict[str, Any]:
    """The one image verdict stored, as the API reads it."""
    [item] = image_items(dynamodb)
    return from_dynamodb(item).model_dump(mode="json")


def listed(api_event: ApiEvent, **query: str) -> dict[str, dict[str, Any]]:
    """GET /images, by image digest."""
    return {item["imageDigest"]: item for item in call(api_event("GET", "/images", query=query))["items"]}


@pytest.mark.parametrize("door", ["push", "api"])
def test_a_push_or_api_check_keeps_the_audits_used_by_and_announces_it_until_an_audit_finds_nobody(
    door: str,
    api_event: ApiEvent,
    ecr: Any,
    dynamodb: Any,
    doors: str,
    change_events: Callable[[], list[dict[str, Any]]],
) -> None:
    # Given a broken image that k8s-prod runs, audited: stored and announced with who runs it
    create_repository(ecr, REPOSITORY)
    digest = push_image(ecr, REPOSITORY, ["base-0"], tag="v2", absent_layers=[descriptor(OCI_LAYER, GONE)])["digest"]
    report_in_use(api_event)
    run_audit(doors)
    assert stored_image(dynamodb)["usedBy"] == [K8S]
    assert [(d["status"], d["usedBy"]) for d in change_events()] == [("BROKEN", [K8S])]

    # When it is checked again by a door that does not know who runs it, still broken
    answered = check_again(door, api_event, digest)

    # Then the stored item, its answer and the broken list still name k8s-prod (no change: no event)
    stored = stored_image(dynamodb)
    assert (stored["source"], stored["status"], stored["usedBy"]) == (door, "BROKEN", [K8S])
    assert answered is None or answered["usedBy"] == [K8S]
    assert listed(api_event, status="BROKEN")[digest]["usedBy"] == [K8S]
    assert change_events() == []

    # When the missing layer is uploaded and that door checks the image again
    upload_layer(ecr, REPOSITORY, GONE)
    answered = check_again(door, api_event, digest)

    # Then the recovery event carries who runs the image (a rule filtering on usedBy matches it) ...
    [recovery] = change_events()
    assert (recovery["previousStatus"], recovery["status"], recovery["usedBy"]) == ("BROKEN", "COMPLETE", [K8S])
    # ... and the COMPLETE item keeps it, out of the sparse status index
    assert (answered is None or answered["usedBy"] == [K8S]) and listed(api_event, status="BROKEN") == {}
    assert listed(api_event, repositoryName=REPOSITORY)[digest]["usedBy"] == [K8S]
    [item] = image_items(dynamodb)
    assert "imageStatus" not in item and item["status"] == {"S": "COMPLETE"}

    # When k8s-prod's entry has expired and the next audit runs
    report_in_use(api_event, expires_at=1_000_000_000)
    run_audit(doors)

    # Then the audit, which knows, cleared usedBy
    stored = stored_image(dynamodb)
    assert (stored["source"], stored["status"]) == ("schedule", "COMPLETE")
    assert "usedBy" not in stored and "usedBy" not in image_items(dynamodb)[0]
    assert "usedBy" not in listed(api_event, repositoryName=REPOSITORY)[digest]
    assert change_events() == []


# -- the write itself: the groups a check recomputed, over what the item holds -------------------------------------

OBSERVED = "2026-11-27T12:00:00.000Z"


def verdict(status: ImageStatus, **fields: Any) -> StoredImageVerdict:
    fields.setdefault("source", Source.SCHEDULE)
    fields.setdefault("observedAt", OBSERVED)
    return StoredImageVerdict(
        registryId=ACCOUNT,
        region=REGION,
        repositoryName=REPOSITORY,
        checkedAt="2026-11-27T12:00:00Z",
        expiresAt=1_800_000_000,
        imageDigest="sha256:" + "b" * 64,
        status=status,
        **fields,
    )


def test_image_write_replaces_the_findings_and_keeps_the_groups_a_check_did_not_recompute(
    dynamodb: Any, results_table: str
) -> None:
    writes = ImageVerdictWrites(TABLE_NAME, dynamodb, home_region=REGION)
    users = (UsedBy(kind="ecs-service", id="arn:aws:ecs:us-east-1:123456789012:service/prod/api"),)
    # Given an UNCHECKED verdict run by a service, with ECR's failure, whose replica in eu-west-1 is missing
    replicas = (Replica(region="eu-west-1", registryId=ACCOUNT, status=ReplicaStatus.MISSING),)
    audited = verdict(ImageStatus.UNCHECKED, failureCode="KmsError", failureReason="key disabled")
    writes.write_images(
        [ImageObservation(audited, UsersObservation(users, OBSERVED), ReplicasObservation(replicas, OBSERVED))]
    )

    # When a later COMPLETE verdict that does not know who runs the image is written
    pushed = verdict(ImageStatus.COMPLETE, source=Source.PUSH, observedAt="2026-11-27T12:05:00.000Z")
    [write] = writes.write_images([ImageObservation(pushed)])

    # Then the write answers the old status and the item is the new verdict with the old usedBy and replicas: no
    # failure left, no status index key
    assert write.update is not None
    assert (write.update.previous_status, tuple(write.update.verdict.usedBy)) == (ImageStatus.UNCHECKED, users)
    [item] = dynamodb.scan(TableName=TABLE_NAME)["Items"]
    assert not {"failureCode", "failureReason", "imageStatus"} & set(item)
    assert (item["status"], item["source"]) == ({"S": "COMPLETE"}, {"S": "push"})
    assert item["usedBy"] == {"L": [{"M": {"kind": {"S": "ecs-service"}, "id": {"S": users[0].id}}}]}
    assert item["replicas"]["L"][0]["M"]["status"] == {"S": "MISSING"}

    # When an audit that knows nobody runs the image and it has no replica writes a later verdict
    later = "2026-11-27T12:10:00.000Z"
    writes.write_images(
        [
            ImageObservation(
                verdict(ImageStatus.BROKEN, observedAt=later),
                UsersObservation((), later),
                ReplicasObservation((), later),
            )
        ]
    )

    # Then usedBy and replicas are gone, and the image is in the status index
    [item] = dynamodb.scan(TableName=TABLE_NAME)["Items"]
    assert "usedBy" not in item and "replicas" not in item
    assert item["imageStatus"] == {"S": "BROKEN"}
