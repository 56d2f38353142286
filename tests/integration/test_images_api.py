"""The image routes end to end in-process: API Gateway events in; answers, DynamoDB items, change events on an SQS
queue subscribed to the bus, and EMF metrics out (moto for ECR, DynamoDB, EventBridge and SQS)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from layercheck.handler import lambda_handler
from local.lambda_context import FakeLambdaContext
from local.seed import OCI_LAYER, blob, create_repository, descriptor, push_image, upload_layer
from tests.conftest import ApiEvent
from tests.integration.conftest import stored_items
from tests.integration.moto_ecr import serve_pull_through_cache_rules
from tests.support import TABLE_NAME as TABLE
from tests.support import emf_totals, refuse_assume_role

pytestmark = pytest.mark.usefixtures("results_table")

BUS = "layercheck-events-test"
ACCOUNT = "123456789012"
REGION = "us-east-1"
GONE = blob("gone-layer")  # a layer the broken image references but the repository never received


class NearlyOutOfTime(FakeLambdaContext):
    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return 1_000


def call(event: dict[str, Any], context: FakeLambdaContext) -> tuple[int, Any]:
    response = lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture
def change_events(results_table: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The bus the function publishes to, with a rule sending every layercheck change event to a queue."""
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    events.create_event_bus(Name=BUS)
    queue_url = sqs.create_queue(QueueName="verdict-changes")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["layercheck"], "detail-type": ["Image Verdict Changed"]}
    events.put_rule(Name="all-changes", EventBusName=BUS, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="all-changes", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": queue_arn}])
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)

    def received() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(message["Body"]) for message in messages]

    return received


@pytest.fixture(autouse=True)
def _registry_without_pull_through_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    serve_pull_through_cache_rules(monkeypatch, [])  # moto lacks the action; a BROKEN verdict asks it


@pytest.fixture
def images(ecr: Any) -> dict[str, str]:
    """Two repositories: ``app`` holds a whole image (tag v1) and a broken one (tag v2, a layer never uploaded);
    ``web`` holds a whole image (tag live)."""
    for repository in ("app", "web"):
        create_repository(ecr, repository)
    whole = push_image(ecr, "app", ["base-0", "app-1"], tag="v1")
    broken = push_image(ecr, "app", ["base-0"], tag="v2", absent_layers=[descriptor(OCI_LAYER, GONE)])
    web = push_image(ecr, "web", ["base-0", "web-1"], tag="live")
    return {"whole": whole["digest"], "broken": broken["digest"], "web": web["digest"]}


def check(api_event: ApiEvent, context: FakeLambdaContext, *entries: dict[str, str], **extra: str) -> Any:
    status, body = call(api_event("POST", "/images/checks", body={"images": list(entries), **extra}), context)
    assert status == 200, body
    return body


def broken_list(api_event: ApiEvent, context: FakeLambdaContext, **query: str) -> list[dict[str, Any]]:
    status, body = call(api_event("GET", "/images", query={"status": "BROKEN", **query}), context)
    assert status == 200, body
    items: list[dict[str, Any]] = body["items"]
    return items


def test_images_checks_answer_in_request_order_by_tag_and_digest_and_store_source_api(
    api_event: ApiEvent,
    lambda_context: FakeLambdaContext,
    images: dict[str, str],
    dynamodb: Any,
    results_table: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # When four images are asked for, by tag and by digest, across two repositories
    body = check(
        api_event,
        lambda_context,
        {"repositoryName": "web", "imageTag": "live"},
        {"repositoryName": "app", "imageDigest": images["broken"]},
        {"repositoryName": "app", "imageTag": "v1"},
        {"repositoryName": "app", "imageTag": "v2"},
    )

    # Then the verdicts come back in request order, tags resolved to digests, with every tag the image has
    verdicts = body["verdicts"]
    assert [(v["repositoryName"], v["imageDigest"], v["status"]) for v in verdicts] == [
        ("web", images["web"], "COMPLETE"),
        ("app", images["broken"], "BROKEN"),
        ("app", images["whole"], "COMPLETE"),
        ("app", images["broken"], "BROKEN"),
    ]
    assert verdicts[1]["missingLayers"] == [descriptor(OCI_LAYER, GONE)["digest"]]
    assert verdicts[1]["imageTags"] == ["v2"] and verdicts[1]["region"] == REGION
    assert body["summary"] == {"checked": 4, "complete": 2, "broken": 2, "unchecked": 0, "archived": 0}

    # ... stored once per image with source api, region and the request's check id
    stored = {item["imageDigest"]: item for item in stored_items(dynamodb) if item["itemType"] == "image"}
    assert set(stored) == set(images.values())
    assert {(item["source"], item["region"], item["checkId"]) for item in stored.values()} == {
        ("api", REGION, body["checkId"])
    }
    # ... and counted: 3 distinct images judged, 1 broken (nobody runs it: InUseImagesBroken 0)
    totals = emf_totals(capsys.readouterr().out)
    assert (totals["ImagesChecked"], totals["BrokenImages"], totals["InUseImagesBroken"]) == (3, 1, 0)


def test_images_checks_answer_a_missing_image_unchecked_with_ecrs_code_not_a_4xx(
    api_event: ApiEvent, lambda_context: FakeLambdaContext, images: dict[str, str], dynamodb: Any, change_events: Any
) -> None:
    absent_digest = "sha256:" + "0" * 64
    body = check(
        api_event,
        lambda_context,
        {"repositoryName": "app", "imageTag": "no-such-tag"},
        {"repositoryName": "app", "imageDigest": absent_digest},
        {"repositoryName": "gone", "imageTag": "v1"},
        {"repositoryName": "gone", "imageDigest": absent_digest},
    )

    tag, digest, repository, repository_digest = body["verdicts"]
    # A tag ECR does not hold: answered as an image verdict of the image as asked (no digest: ECR named none)
    assert tag == {
        "registryId": ACCOUNT,
        "region": REGION,
        "repositoryName": "app",
        "imageTags": ["no-such-tag"],
        "status": "UNCHECKED",
        "missingLayers": [],
        "failureCode": "ImageNotFoundException",
        "failureReason": "app holds no image tagged no-such-tag",
        "checkedAt": tag["checkedAt"],
        "source": "api",
        "checkId": body["checkId"],
        "itemType": "image",
        "stored": False,
    }
    assert datetime.fromisoformat(tag["checkedAt"]).tzinfo is not None
    # A digest ECR does not hold: the same, with the digest asked
    assert (digest["status"], digest["failureCode"], digest["imageDigest"], digest["imageTags"], digest["stored"]) == (
        "UNCHECKED",
        "ImageNotFoundException",
        absent_digest,
        [],
        False,
    )
    assert [(v["status"], v["failureCode"], v["stored"]) for v in (repository, repository_digest)] == [
        ("UNCHECKED", "RepositoryNotFoundException", False)
    ] * 2
    assert body["summary"] == {"checked": 4, "complete": 0, "broken": 0, "unchecked": 4, "archived": 0}
    # None of them is stored nor announced: there is no image to keep the latest state of
    assert stored_items(dynamodb) == []
    assert change_events() == []


def test_images_checks_of_made_up_digests_store_and_announce_nothing(
    api_event: ApiEvent, lambda_context: FakeLambdaContext, images: dict[str, str], dynamodb: Any, change_events: Any
) -> None:
    """Hostile input: any caller may send 100 valid-looking digests a request. An image ECR says does not exist has no
    state to keep: stored, each would sit in the UNCHECKED list (byImageStatus) and publish a change event."""
    made_up = [{"repositoryName": "app", "imageDigest": f"sha256:{n:064x}"} for n in range(99)]

    body = check(api_event, lambda_context, *made_up, {"repositoryName": "app", "imageTag": "v1"})

    assert body["summary"]["unchecked"] == 99 and body["verdicts"][-1]["status"] == "COMPLETE"
    assert {v["failureCode"] for v in body["verdicts"][:-1]} == {"ImageNotFoundException"}
    # Only the real image is stored; the UNCHECKED list is empty; the bus received nothing
    stored = [item["imageDigest"] for item in stored_items(dynamodb) if item["itemType"] == "image"]
    assert stored == [images["whole"]]
    status, listed = call(api_event("GET", "/images", query={"status": "UNCHECKED"}), lambda_context)
    assert (status, listed["items"]) == (200, [])
    assert change_events() == []


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"repositoryName": "app"}, "images.0"),  # neither tag nor digest
        ({"repositoryName": "app", "imageTag": "v1", "imageDigest": "sha256:" + "1" * 64}, "images.0"),  # both
        ({"repositoryName": "App!", "imageTag": "v1"}, "images.0.repositoryName"),
        ({"repositoryName": "app", "imageDigest": "sha256:xyz"}, "images.0.imageDigest"),
    ],
)
def test_images_checks_refuse_a_malformed_entry_naming_it(
    api_event: ApiEvent, lambda_context: FakeLambdaContext, entry: dict[str, str], field: str
) -> None:
    status, body = call(api_event("POST", "/images/checks", body={"images": [entry]}), lambda_context)

    assert status == 422
    assert field in [error["field"] for error in body["errors"]]


def test_images_checks_refuse_a_registry_not_served_before_any_call(
    api_event: ApiEvent, lambda_context: FakeLambdaContext, results_table: str, dynamodb: Any
) -> None:
    body = {"registryId": "210987654321", "images": [{"repositoryName": "app", "imageTag": "v1"}]}

    status, answer = call(api_event("POST", "/images/checks", body=body), lambda_context)

    assert status == 403 and answer["errors"][0]["field"] == "registryId"
    assert stored_items(dynamodb) == []


def test_images_checks_stop_at_the_deadline_and_store_nothing_unchecked(
    api_event: ApiEvent, images: dict[str, str], dynamodb: Any
) -> None:
    # Given a function with less time left than the deadline keeps back for the answer (2 s)
    context = NearlyOutOfTime()

    body = check(api_event, context, {"repositoryName": "app", "imageTag": "v1"})

    assert [(v["status"], v["failureCode"], v["stored"], v["imageTags"]) for v in body["verdicts"]] == [
        ("UNCHECKED", "DeadlineExceeded", False, ["v1"])
    ]
    assert stored_items(dynamodb) == []


def test_broken_list_change_events_and_recovery_done_when(
    api_event: ApiEvent,
    lambda_context: FakeLambdaContext,
    images: dict[str, str],
    ecr: Any,
    change_events: Any,
) -> None:
    """The storage side of images in use: the broken list, one event per change, none on a repeat, recovery."""
    everything = [
        {"repositoryName": "app", "imageTag": "v1"},
        {"repositoryName": "app", "imageTag": "v2"},
        {"repositoryName": "web", "imageTag": "live"},
    ]

    # When every image is checked, Then the broken list holds exactly the broken image
    check(api_event, lambda_context, *everything)
    assert [item["imageDigest"] for item in broken_list(api_event, lambda_context)] == [images["broken"]]
    # ... and the queue behind the bus rule received exactly one event: the new broken image (new COMPLETE: no news)
    [event] = change_events()
    assert (event["source"], event["detail-type"]) == ("layercheck", "Image Verdict Changed")
    detail = event["detail"]
    assert (detail["imageDigest"], detail["previousStatus"], detail["status"]) == (images["broken"], None, "BROKEN")
    assert detail["missingLayers"] == [descriptor(OCI_LAYER, GONE)["digest"]]
    assert (detail["registryId"], detail["region"], detail["repositoryName"]) == (ACCOUNT, REGION, "app")

    # When everything is checked again with nothing changed (or a delivery replayed), Then no event
    check(api_event, lambda_context, *everything)
    assert change_events() == []

    # When the missing layer is uploaded (the repair) and the image checked again
    upload_layer(ecr, "app", GONE)
    body = check(api_event, lambda_context, {"repositoryName": "app", "imageTag": "v2"})

    # Then it is COMPLETE, one BROKEN -> COMPLETE event says so, and it left the broken list
    assert body["verdicts"][0]["status"] == "COMPLETE"
    [recovery] = change_events()
    assert (recovery["detail"]["previousStatus"], recovery["detail"]["status"]) == ("BROKEN", "COMPLETE")
    assert broken_list(api_event, lambda_context) == []


def test_images_list_narrows_by_registry_and_region_and_pages_with_tokens(
    api_event: ApiEvent, lambda_context: FakeLambdaContext, ecr: Any, results_table: str
) -> None:
    # Given three broken images in one repository
    create_repository(ecr, "app")
    broken = [
        push_image(ecr, "app", [f"layer-{n}"], tag=f"v{n}", absent_layers=[descriptor(OCI_LAYER, GONE)])["digest"]
        for n in range(3)
    ]
    check(api_event, lambda_context, *({"repositoryName": "app", "imageTag": f"v{n}"} for n in range(3)))

    # When the list is read two at a time, narrowed to this registry and Region
    seen: list[str] = []
    query = {"registryId": ACCOUNT, "region": REGION, "limit": "2"}
    first = broken_list(api_event, lambda_context, **query)
    status, page = call(api_event("GET", "/images", query={"status": "BROKEN", **query}), lambda_context)
    seen += [item["imageDigest"] for item in page["items"]]
    status, page = call(
        api_event("GET", "/images", query={"status": "BROKEN", **query, "nextToken": page["nextToken"]}),
        lambda_context,
    )
    seen += [item["imageDigest"] for item in page["items"]]

    # Then every broken image comes once, and nothing in another registry or Region
    assert status == 200 and len(first) == 2
    assert sorted(seen) == sorted(broken)
    assert broken_list(api_event, lambda_context, registryId="210987654321") == []
    assert broken_list(api_event, lambda_context, region="eu-west-1") == []
    assert len(broken_list(api_event, lambda_context, region=REGION)) == 3


def test_images_list_of_one_repository_holds_its_image_verdicts_only(
    api_event: ApiEvent, lambda_context: FakeLambdaContext, images: dict[str, str]
) -> None:
    check(
        api_event,
        lambda_context,
        {"repositoryName": "app", "imageTag": "v1"},
        {"repositoryName": "app", "imageTag": "v2"},
    )

    status, body = call(api_event("GET", "/images", query={"repositoryName": "app"}), lambda_context)

    assert status == 200
    assert sorted(item["imageDigest"] for item in body["items"]) == sorted([images["whole"], images["broken"]])
    assert {item["itemType"] for item in body["items"]} == {"image"}  # the layer items of the partition are not


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "COMPLETE"}, "status"),
        ({"status": "broken"}, "status"),
        ({}, "status"),
        ({"status": "BROKEN", "repositoryName": "app"}, "repositoryName"),
        ({"status": "BROKEN", "region": "Europe"}, "region"),
        ({"status": "BROKEN", "nextToken": "forged"}, "nextToken"),
        ({"repositoryName": "app", "nextToken": "eyJwayI6ICJ4IiwgInNrIjogIkxBWUVSI3gifQ"}, "nextToken"),
    ],
)
def test_images_list_refuses_bad_queries_naming_the_parameter(
    api_event: ApiEvent, lambda_context: FakeLambdaContext, results_table: str, query: dict[str, str], field: str
) -> None:
    status, body = call(api_event("GET", "/images", query=query), lambda_context)

    assert 400 <= status < 500
    assert field in [error["field"] for error in body["errors"]]


def test_inventory_accepts_audited_image_uris_and_lists_the_others_as_ignored(
    api_event: ApiEvent, lambda_context: FakeLambdaContext, results_table: str, dynamodb: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("INVENTORY_TTL_HOURS", "12")
    host = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    body = {
        "source": "eks:prod",
        "images": [
            f"{host}/app:v1",
            f"{host}/app@sha256:{'1' * 64}",
            f"{host}/app:v1",  # a repeat counts once
            "docker.io/library/nginx:1.27",
            f"210987654321.dkr.ecr.{REGION}.amazonaws.com/other:v1",  # a registry this deployment does not audit
        ],
    }

    status, answer = call(api_event("POST", "/inventory", body=body), lambda_context)

    assert status == 200
    assert answer["accepted"] == 2
    assert [(entry["index"], entry["image"]) for entry in answer["ignored"]] == [
        (3, "docker.io/library/nginx:1.27"),
        (4, body["images"][4]),
    ]
    items = dynamodb.scan(TableName=results_table)["Items"]
    assert len(items) == 2 and {item["source"]["S"] for item in items} == {"eks:prod"}
    reported = {int(item["expiresAt"]["N"]) for item in items}
    assert len(reported) == 1  # one report, one expiry ...
    [expires_at] = reported
    assert abs(expires_at - datetime.now(UTC).timestamp() - 12 * 3600) < 120  # ... INVENTORY_TTL_HOURS after it


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"source": "eks#prod", "images": ["x"]}, "source"),
        ({"source": "eks", "images": []}, "images"),
        ({"source": "eks", "images": ["ok", ""]}, "images.1"),
        ({"images": ["x"]}, "source"),
    ],
)
def test_inventory_refuses_a_malformed_report_naming_the_field(
    api_event: ApiEvent, lambda_context: FakeLambdaContext, results_table: str, body: dict[str, Any], field: str
) -> None:
    status, answer = call(api_event("POST", "/inventory", body=body), lambda_context)

    assert status == 422
    assert field in [error["field"] for error in answer["errors"]]


def test_checks_in_another_region_read_that_regions_registry_and_key_verdicts_by_it(
    api_event: ApiEvent, lambda_context: FakeLambdaContext, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a deployment that audits two Regions, and an image only in eu-west-1's registry of this account (moto
    # keeps each Region's registry apart)
    monkeypatch.setenv("AUDIT_REGIONS", "us-east-1,eu-west-1")
    ecr_eu = boto3.client("ecr", region_name="eu-west-1")
    create_repository(ecr_eu, "app")
    image = push_image(ecr_eu, "app", ["base-0"], tag="v1")

    # When both check routes name the Region
    body = check(api_event, lambda_context, {"repositoryName": "app", "imageTag": "v1"}, region="eu-west-1")
    layers = {
        "region": "eu-west-1",
        "repositoryNames": ["app"],
        "layerDigests": [descriptor(OCI_LAYER, blob("base-0"))["digest"]],
    }
    status, checks = call(api_event("POST", "/checks", body=layers), lambda_context)

    # Then they read that Region's registry, and the verdicts are keyed and listed by it
    assert [(v["imageDigest"], v["status"], v["region"]) for v in body["verdicts"]] == [
        (image["digest"], "COMPLETE", "eu-west-1")
    ]
    assert status == 200 and checks["summary"]["available"] == 1
    pks = {item["pk"]["S"] for item in dynamodb.scan(TableName=TABLE)["Items"]}
    assert pks == {f"{ACCOUNT}#eu-west-1#app", f"MANIFESTS#{ACCOUNT}#eu-west-1#app"}  # the walk kept, by Region too
    status, listed = call(
        api_event("GET", "/results", query={"repositoryName": "app", "region": "eu-west-1"}), lambda_context
    )
    assert {(item["itemType"], item["region"]) for item in listed["items"]} == {
        ("layer", "eu-west-1"),
        ("image", "eu-west-1"),
    }
    status, home = call(api_event("GET", "/results", query={"repositoryName": "app"}), lambda_context)
    assert home["items"] == []  # the same name in the home Region is another repository


MEMBER = "210987654321"  # a served registry whose reader role cannot be assumed


def test_both_check_routes_answer_an_unreadable_registry_per_entry_count_it_and_store_nothing(
    api_event: ApiEvent,
    lambda_context: FakeLambdaContext,
    dynamodb: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Real STS answers AccessDenied when the reader role is missing or does not trust us (moto assumes any role): the
    AssumeRole of the member account is answered so, with a long IAM message as AWS writes them."""
    message = f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{'r' * 300} is not authorized to perform: sts:AssumeRole"
    refuse_assume_role(monkeypatch, [MEMBER], message)
    monkeypatch.setenv("REGISTRY_IDS", f"{ACCOUNT},{MEMBER}")
    digest = "sha256:" + "1" * 64

    # When both routes ask about the member's registry
    layers_status, layers = call(
        api_event("POST", "/checks", body={"registryId": MEMBER, "repositoryNames": ["app"], "layerDigests": [digest]}),
        lambda_context,
    )
    layer_metrics = emf_totals(capsys.readouterr().out)
    images_status, images = call(
        api_event(
            "POST",
            "/images/checks",
            body={"registryId": MEMBER, "images": [{"repositoryName": "app", "imageTag": "v1"}]},
        ),
        lambda_context,
    )
    image_metrics = emf_totals(capsys.readouterr().out)

    # Then each entry is answered with AWS's code and one reason, bounded as every failure text is
    [failure] = layers["results"][0]["failures"]
    [verdict] = images["verdicts"]
    assert (layers_status, images_status) == (200, 200)
    assert failure["failureCode"] == verdict["failureCode"] == "AccessDenied"
    assert failure["failureReason"] == verdict["failureReason"]
    assert failure["failureReason"].startswith(f"registry {MEMBER} in {REGION} cannot be read: User: arn:aws:sts::")
    assert failure["failureReason"].endswith("...") and len(failure["failureReason"]) == 256
    assert (verdict["status"], verdict["stored"], verdict["imageTags"], verdict["registryId"]) == (
        "UNCHECKED",
        False,
        ["v1"],
        MEMBER,
    )
    # ... counted as the audit counts an unreadable registry (and, per pair, as CheckErrors), logged, stored nowhere
    assert (layer_metrics["RegistriesUnreadable"], layer_metrics["CheckErrors"]) == (1, 1)
    assert image_metrics["RegistriesUnreadable"] == 1
    logged = [vars(record) for record in caplog.records if record.getMessage() == "registry unreadable"]
    assert [(entry["account"], entry["unreadable_region"], entry["code"]) for entry in logged] == [
        (MEMBER, REGION, "AccessDenied")
    ] * 2
    assert stored_items(dynamodb) == []
