"""The signal a platform team pages on can be neither silenced, reversed, lost nor faked: each case an independent
review reproduced, run through the real doors (handler, audit queue, API) on moto.

- A crowd of reports cannot push a broken image an ECS service runs out of the audit (its users, its metric, its
  event).
- Reports cannot stop an audit: a registry's audit makes no ECR call per reported image; a report past its bound is
  refused, naming it.
- An observation older than the stored verdict never replaces it.
- A change stored is announced even if the invocation dies before sending it, or EventBridge refuses it.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto.ecr.responses import ECRResponse

from layercheck.handler import lambda_handler
from layercheck.integrations.event_bus import EventBus
from local.environment import EVENT_BUS_NAME
from local.event_source import drain_queue, sqs_event
from local.lambda_context import FakeLambdaContext
from local.seed import OCI_LAYER, blob, create_repository, descriptor, push_image, upload_layer
from tests.conftest import ApiEvent
from tests.integration.event_support import change_event_queue, prepare_event_doors, push_event
from tests.integration.moto_ecr import serve_pull_through_cache_rules
from tests.support import TABLE_NAME, emf_totals, load_event

ACCOUNT, REGION = "123456789012", "us-east-1"
HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
REPOSITORY = "team-a/api"
GONE = blob("gone-layer")  # referenced by the broken image, never uploaded


@pytest.fixture
def doors(ecr: Any, results_table: str, monkeypatch: pytest.MonkeyPatch) -> str:
    serve_pull_through_cache_rules(monkeypatch, [])
    monkeypatch.setenv("EVENT_BUS_NAME", EVENT_BUS_NAME)
    return prepare_event_doors(monkeypatch, PUSH_RECHECK_SECONDS="0")


@pytest.fixture
def changes(doors: str) -> Callable[[], list[dict[str, Any]]]:
    return change_event_queue(REGION)


def call(event: dict[str, Any]) -> dict[str, Any]:
    response = lambda_handler(event, FakeLambdaContext())
    body: dict[str, Any] = json.loads(response["body"])
    body["statusCode"] = response["statusCode"]
    return body


def run_audit(queue_url: str) -> None:
    lambda_handler(load_event("eventbridge_scheduled_event.json") | {"id": str(uuid.uuid4())}, FakeLambdaContext())
    report = drain_queue(lambda_handler, boto3.client("sqs", region_name=REGION), queue_url)
    assert report.failed_message_ids == []


def image_item(dynamodb: Any, digest: str) -> dict[str, Any]:
    from layercheck.integrations.results_table import from_dynamodb

    item = dynamodb.get_item(
        TableName=TABLE_NAME,
        Key={"pk": {"S": f"{ACCOUNT}#{REGION}#{REPOSITORY}"}, "sk": {"S": f"IMAGE#{digest}"}},
        ConsistentRead=True,
    ).get("Item")
    return {} if item is None else from_dynamodb(item).model_dump(mode="json")


def ecs_service_on(tag: str) -> str:
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="prod")
    definition = ecs.register_task_definition(
        family="api", containerDefinitions=[{"name": "api", "image": f"{HOST}/{REPOSITORY}:{tag}", "memory": 128}]
    )["taskDefinition"]["taskDefinitionArn"]
    arn: str = ecs.create_service(cluster="prod", serviceName="api", taskDefinition=definition, desiredCount=0)[
        "service"
    ]["serviceArn"]
    return arn


# -- 1. a report can never hide an image in use ------------------------------------------------------------------------


def test_a_crowd_of_reports_never_pushes_a_broken_image_an_ecs_service_runs_out_of_the_audit(
    ecr: Any, doors: str, dynamodb: Any, api_event: ApiEvent, changes: Callable[[], list[dict[str, Any]]], capsys: Any
) -> None:
    # Given 40 healthy images and one broken image an ECS service runs by tag; the broken one's digest sorts last
    create_repository(ecr, REPOSITORY)
    healthy = sorted(push_image(ecr, REPOSITORY, ["os", f"app-{n}"], tag=f"v{n}")["digest"] for n in range(40))
    broken = push_image(ecr, REPOSITORY, ["os"], tag="live", absent_layers=[descriptor(OCI_LAYER, GONE)])["digest"]
    service = ecs_service_on("live")
    # and 60 sources, names as long as the API allows, each reporting all 40 healthy images (by digest)
    for n in range(60):
        source = f"k8s-{n:03d}-" + "x" * 119
        images = [f"{HOST}/{REPOSITORY}@{digest}" for digest in healthy]
        assert call(api_event("POST", "/inventory", body={"source": source, "images": images}))["accepted"] == 40

    # When the audit runs
    run_audit(doors)

    # Then the broken image names the service first, counts in the metric that pages, and its event names it too
    stored = image_item(dynamodb, broken)
    assert stored["status"] == "BROKEN"
    assert stored["usedBy"][0] == {"kind": "ecs-service", "id": service, "tag": "live"}
    assert emf_totals(capsys.readouterr().out)["InUseImagesBroken"] == 1
    [event] = [e["detail"] for e in changes() if e["detail"].get("imageDigest") == broken]
    assert event["status"] == "BROKEN" and event["usedBy"][0]["id"] == service
    # and every healthy image names all 60 reporters (counted where not named), none dropped
    first = image_item(dynamodb, healthy[0])
    assert len(first["usedBy"]) + first.get("usedByOmitted", 0) == 60


# -- 2. reports cannot stop an audit -------------------------------------------------------------------------------


REPORTED_PER_SOURCE = 50


def test_a_registrys_audit_makes_no_ecr_call_per_reported_image_however_many_are_reported(
    ecr: Any, doors: str, api_event: ApiEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given ten reports of made-up repositories (at the real bound, 10 x 1,000 tags that ECR resolving one by one
    # would take minutes; 10 x 50 here keeps the count of ECR calls just as telling)
    for n in range(10):
        images = [f"{HOST}/made-up-{n}-{r}:v1" for r in range(REPORTED_PER_SOURCE)]
        assert call(api_event("POST", "/inventory", body={"source": f"flood-{n}", "images": images}))["accepted"]
    ecr_calls: list[str] = []
    original = ECRResponse.call_action

    def counted(self: ECRResponse) -> Any:
        ecr_calls.append(self._get_action())
        return original(self)

    monkeypatch.setattr(ECRResponse, "call_action", counted)

    # When the registry's work item runs (the schedule queued it)
    lambda_handler(load_event("eventbridge_scheduled_event.json"), FakeLambdaContext())
    sqs = boto3.client("sqs", region_name=REGION)
    [message] = sqs.receive_message(QueueUrl=doors, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(message["Body"])["kind"] == "registry"
    response = lambda_handler(sqs_event([message], "audit"), FakeLambdaContext())

    # Then it succeeded with the registry-wide reads only, and queued one item per named repository
    assert response["batchItemFailures"] == []
    assert sorted(set(ecr_calls)) == ["DescribeRegistry", "DescribeRepositories"]
    queued = sqs.get_queue_attributes(QueueUrl=doors, AttributeNames=["ApproximateNumberOfMessages"])
    assert int(queued["Attributes"]["ApproximateNumberOfMessages"]) == 10 * REPORTED_PER_SOURCE


def test_a_report_past_a_sources_bound_is_refused_naming_the_bound(
    ecr: Any, doors: str, api_event: ApiEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    from layercheck.logic import inventory

    monkeypatch.setattr(inventory, "MAX_INVENTORY_IMAGES_PER_SOURCE", 3)
    report = {"source": "k8s-prod", "images": [f"{HOST}/app:v{n}" for n in range(3)]}
    assert call(api_event("POST", "/inventory", body=report))["accepted"] == 3
    # the same images again add nothing: still accepted
    assert call(api_event("POST", "/inventory", body=report))["accepted"] == 3

    refused = call(api_event("POST", "/inventory", body={"source": "k8s-prod", "images": [f"{HOST}/app:v9"]}))

    assert refused["statusCode"] == 400
    [detail] = refused["errors"]
    assert detail["rule"] == "MAX_INVENTORY_IMAGES_PER_SOURCE" and "3" in refused["message"]


# -- 5. verdicts in the order things happened ------------------------------------------------------------------------


@pytest.fixture
def held_audit(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[threading.Event, threading.Event, threading.Event]]:
    """Once armed, the next BatchCheckLayerAvailability is answered, then held until released: an audit that read
    ECR before a repair and writes after it (real ECR answers a slow audit slice late; moto answers at once)."""
    armed, answered, release = threading.Event(), threading.Event(), threading.Event()
    original = ECRResponse.batch_check_layer_availability

    def held(self: ECRResponse) -> Any:
        result = original(self)
        if armed.is_set() and not answered.is_set():
            answered.set()
            release.wait(30)
        return result

    monkeypatch.setattr(ECRResponse, "batch_check_layer_availability", held)
    yield armed, answered, release
    release.set()


def test_an_audit_that_read_ecr_before_a_repair_never_overwrites_the_push_checks_later_complete(
    ecr: Any,
    doors: str,
    dynamodb: Any,
    changes: Callable[[], list[dict[str, Any]]],
    held_audit: tuple[threading.Event, threading.Event, threading.Event],
) -> None:
    armed, answered, release = held_audit
    # Given a broken image, announced BROKEN by its push
    create_repository(ecr, REPOSITORY)
    broken = push_image(ecr, REPOSITORY, ["os"], tag="v1", absent_layers=[descriptor(OCI_LAYER, GONE)])["digest"]
    lambda_handler(push_event(REPOSITORY, broken, "v1"), FakeLambdaContext())
    assert [e["detail"]["status"] for e in changes()] == ["BROKEN"]

    # When an audit reads ECR (still broken) and stalls, the layer is uploaded, a push check finds it COMPLETE ...
    armed.set()
    audit = threading.Thread(target=run_audit, args=(doors,))
    audit.start()
    assert answered.wait(30)
    upload_layer(ecr, REPOSITORY, GONE)
    assert lambda_handler(push_event(REPOSITORY, broken, "v1"), FakeLambdaContext())["status"] == "COMPLETE"
    # ... and only then does the audit write what it read
    release.set()
    audit.join(60)

    # Then the verdict stays COMPLETE, and subscribers saw BROKEN -> COMPLETE last, nothing after
    stored = image_item(dynamodb, broken)
    assert (stored["status"], stored["source"]) == ("COMPLETE", "push")
    assert [(e["detail"]["previousStatus"], e["detail"]["status"]) for e in changes()] == [("BROKEN", "COMPLETE")]


# -- 6. no change goes unannounced -------------------------------------------------------------------------------------


class InvocationDied(BaseException):
    """The invocation ended (timeout, out of memory) between storing the verdict and sending its event."""


class DyingContext(FakeLambdaContext):
    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 1


def test_a_change_stored_by_an_invocation_that_died_before_sending_it_is_sent_by_the_retry_with_its_change_id(
    ecr: Any,
    doors: str,
    dynamodb: Any,
    changes: Callable[[], list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    create_repository(ecr, REPOSITORY)
    broken = push_image(ecr, REPOSITORY, ["os"], tag="v1", absent_layers=[descriptor(OCI_LAYER, GONE)])["digest"]
    event = push_event(REPOSITORY, broken, "v1")
    original = EventBus.publish

    def die(self: EventBus, entries: Any) -> Any:
        raise InvocationDied

    # Given a push check whose invocation died right after storing BROKEN
    monkeypatch.setattr(EventBus, "publish", die)
    with pytest.raises(InvocationDied):
        # its idempotency record expires with the invocation (Powertools reads the context's remaining time)
        lambda_handler(event, DyingContext())
    assert image_item(dynamodb, broken)["status"] == "BROKEN" and changes() == []

    # When the event is delivered again (nothing changed since: the verdict is already BROKEN)
    monkeypatch.setattr(EventBus, "publish", original)
    lambda_handler(event, FakeLambdaContext())

    # Then the stored change is announced once, and a third delivery announces nothing more
    [announced] = changes()
    assert (announced["detail"]["previousStatus"], announced["detail"]["status"]) == (None, "BROKEN")
    lambda_handler(push_event(REPOSITORY, broken, "v1"), FakeLambdaContext())
    assert changes() == []
    assert (
        "pendingChanges" not in dynamodb.scan(TableName=TABLE_NAME, ProjectionExpression="pendingChanges")["Items"][0]
    )


def test_a_change_eventbridge_refused_waits_on_its_item_and_the_next_scheduled_sweep_sends_it(
    ecr: Any,
    doors: str,
    changes: Callable[[], list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    """EventBridge refuses an entry (``InternalFailure`` in ``Entries[i].ErrorCode``, retried, still refused): moto
    never refuses, so PutEvents is answered as EventBridge answers then."""
    create_repository(ecr, REPOSITORY)
    broken = push_image(ecr, REPOSITORY, ["os"], tag="v1", absent_layers=[descriptor(OCI_LAYER, GONE)])["digest"]
    refusing = {"on": True}
    original = EventBus._send

    def send(self: EventBus, entries: Any) -> Any:
        if refusing["on"]:
            from layercheck.logic.change_events import UnsentEvent

            return 0, [UnsentEvent(entry, "InternalFailure", "try again later") for entry in entries]
        return original(self, entries)

    monkeypatch.setattr(EventBus, "_send", send)

    # Given a push whose BROKEN event EventBridge refused: counted, not announced
    lambda_handler(push_event(REPOSITORY, broken, "v1"), FakeLambdaContext())
    assert emf_totals(capsys.readouterr().out)["ChangeEventsUnsent"] == 1 and changes() == []

    # When the next scheduled audit starts while EventBridge still refuses, Then the sweep counts it still waiting
    lambda_handler(load_event("eventbridge_scheduled_event.json") | {"id": "a1"}, FakeLambdaContext())
    assert emf_totals(capsys.readouterr().out)["ChangeEventsUnsent"] == 1

    # When EventBridge takes events again and the next audit starts, Then the sweep sends it, once, and none waits
    refusing["on"] = False
    lambda_handler(load_event("eventbridge_scheduled_event.json") | {"id": "a2"}, FakeLambdaContext())
    assert emf_totals(capsys.readouterr().out)["ChangeEventsUnsent"] == 0
    [announced] = changes()
    assert (announced["detail"]["imageDigest"], announced["detail"]["status"]) == (broken, "BROKEN")
    assert announced["detail"]["changeId"]
