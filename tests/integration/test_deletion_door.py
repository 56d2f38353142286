"""A deletion or an archive seen at once: ECR's DELETE and UPDATE_STORAGE_CLASS image actions through the real
handler, on moto.

moto emits no ECR events: each test changes the registry (BatchDeleteImage, or the archive stand-in) and then injects
the event ECR would send for that change (AWS's "ECR Image Action" samples, tests/events/). Who runs an image comes
from a real audit of a POST /inventory report, as in production.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from layercheck.handler import lambda_handler
from layercheck.integrations.results_table import from_dynamodb
from local.environment import EVENT_BUS_NAME
from local.event_source import drain_queue
from local.lambda_context import FakeLambdaContext
from local.seed import create_repository, push_image
from tests.conftest import ApiEvent
from tests.integration.event_support import (
    change_event_queue,
    image_action_event,
    image_verdicts,
    prepare_event_doors,
    push_event,
)
from tests.integration.moto_ecr import archive_image, serve_pull_through_cache_rules
from tests.support import TABLE_NAME, emf_totals, load_event

ACCOUNT = "123456789012"
REGION = "us-east-1"
REPOSITORY = "app"
INVENTORY_USER = {"kind": "inventory", "id": "k8s-prod", "tag": "v1"}


@pytest.fixture
def doors(ecr: Any, results_table: str, monkeypatch: pytest.MonkeyPatch) -> str:
    serve_pull_through_cache_rules(monkeypatch, [])
    monkeypatch.setenv("EVENT_BUS_NAME", EVENT_BUS_NAME)
    queue_url = prepare_event_doors(monkeypatch, PUSH_RECHECK_SECONDS="0")
    create_repository(ecr, REPOSITORY)
    return queue_url


@pytest.fixture
def changes(doors: str) -> Callable[[], list[dict[str, Any]]]:
    return change_event_queue(REGION)


def run_audit(queue_url: str) -> None:
    schedule = load_event("eventbridge_scheduled_event.json") | {"id": str(uuid.uuid4())}
    lambda_handler(schedule, FakeLambdaContext())
    assert drain_queue(lambda_handler, boto3.client("sqs", region_name=REGION), queue_url).failed_message_ids == []


def in_use_image(ecr: Any, api_event: ApiEvent, queue_url: str, *, tags: tuple[str, ...] = ()) -> str:
    """app:v1 pushed (and any more ``tags`` on it), k8s-prod reported running app:v1, audited: COMPLETE, in use."""
    image = push_image(ecr, REPOSITORY, ["os", "app"], tag="v1")
    for tag in tags:
        [held] = ecr.batch_get_image(repositoryName=REPOSITORY, imageIds=[{"imageDigest": image["digest"]}])["images"]
        ecr.put_image(
            repositoryName=REPOSITORY, imageManifest=held["imageManifest"], imageTag=tag, imageDigest=image["digest"]
        )
    uri = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}:v1"
    response = lambda_handler(
        api_event("POST", "/inventory", body={"source": "k8s-prod", "images": [uri]}), FakeLambdaContext()
    )
    assert response["statusCode"] == 200, response["body"]
    run_audit(queue_url)
    return str(image["digest"])


def stored_images(dynamodb: Any) -> list[dict[str, Any]]:
    """The image verdicts the results table holds (it holds inventory entries and in-use references too)."""
    items = dynamodb.scan(TableName=TABLE_NAME)["Items"]
    return [from_dynamodb(item).model_dump(mode="json") for item in items if item["itemType"]["S"] == "image"]


def verdict_of(dynamodb: Any, digest: str) -> dict[str, Any] | None:
    return image_verdicts(stored_images(dynamodb)).get((REPOSITORY, digest))


def test_deleting_an_image_someone_runs_makes_it_missing_with_its_users_at_once(
    ecr: Any,
    dynamodb: Any,
    doors: str,
    api_event: ApiEvent,
    changes: Callable[[], list[dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given app:v1, COMPLETE and run by k8s-prod (the audit found it)
    digest = in_use_image(ecr, api_event, doors)
    assert verdict_of(dynamodb, digest)["status"] == "COMPLETE"  # type: ignore[index]
    changes()
    capsys.readouterr()

    # When the image is deleted and ECR announces it
    ecr.batch_delete_image(repositoryName=REPOSITORY, imageIds=[{"imageDigest": digest}])
    answer = lambda_handler(image_action_event("DELETE", REPOSITORY, digest, "v1"), FakeLambdaContext())

    # Then its verdict is MISSING and still names who runs it, the alarm's metric counts it, one change is announced
    assert answer["status"] == "MISSING"
    verdict = verdict_of(dynamodb, digest)
    assert verdict is not None
    assert verdict["status"] == "MISSING"
    assert verdict["usedBy"] == [INVENTORY_USER | {"reportedBy": verdict["usedBy"][0]["reportedBy"]}]
    assert verdict["imageTags"] == ["v1"]
    assert emf_totals(capsys.readouterr().out)["InUseImagesMissing"] == 1
    [event] = changes()
    assert event["detail-type"] == "Image Verdict Changed"
    assert (event["detail"]["previousStatus"], event["detail"]["status"]) == ("COMPLETE", "MISSING")
    assert event["detail"]["usedBy"] == verdict["usedBy"]


def test_deleting_only_a_tag_changes_nothing(
    ecr: Any,
    dynamodb: Any,
    doors: str,
    api_event: ApiEvent,
    changes: Callable[[], list[dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given app:v1, also tagged "candidate", in use
    digest = in_use_image(ecr, api_event, doors, tags=("candidate",))
    before = stored_images(dynamodb)
    changes()
    capsys.readouterr()

    # When only the tag "candidate" is deleted (BatchDeleteImage by tag keeps an image that has other tags)
    ecr.batch_delete_image(repositoryName=REPOSITORY, imageIds=[{"imageTag": "candidate"}])
    answer = lambda_handler(image_action_event("DELETE", REPOSITORY, digest, "candidate"), FakeLambdaContext())

    # Then the image is still there: nothing stored changes, nothing is announced or counted
    assert answer["status"] == "UNTAGGED"
    assert stored_images(dynamodb) == before
    assert changes() == []
    assert "InUseImagesMissing" not in emf_totals(capsys.readouterr().out)


def test_deleting_an_image_nobody_runs_forgets_its_verdict_and_pages_nobody(
    ecr: Any, dynamodb: Any, doors: str, changes: Callable[[], list[dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an image checked on push, that nobody runs
    image = push_image(ecr, REPOSITORY, ["os"], tag="nightly")
    lambda_handler(push_event(REPOSITORY, image["digest"], "nightly"), FakeLambdaContext())
    assert verdict_of(dynamodb, image["digest"]) is not None
    changes()
    capsys.readouterr()

    # When it is deleted
    ecr.batch_delete_image(repositoryName=REPOSITORY, imageIds=[{"imageDigest": image["digest"]}])
    answer = lambda_handler(image_action_event("DELETE", REPOSITORY, image["digest"], "nightly"), FakeLambdaContext())

    # Then its verdict is removed, no change is announced and the alarm's metric does not move
    assert answer["status"] == "FORGOTTEN"
    assert verdict_of(dynamodb, image["digest"]) is None
    assert changes() == []
    assert emf_totals(capsys.readouterr().out).get("InUseImagesMissing", 0) == 0


def test_archiving_an_image_someone_runs_makes_it_archived_and_counts_it(
    ecr: Any,
    dynamodb: Any,
    doors: str,
    api_event: ApiEvent,
    changes: Callable[[], list[dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    digest = in_use_image(ecr, api_event, doors)
    changes()
    capsys.readouterr()

    # When a lifecycle rule (or UpdateImageStorageClass) archives it
    archive_image(ACCOUNT, REGION, REPOSITORY, digest)
    answer = lambda_handler(image_action_event("UPDATE_STORAGE_CLASS", REPOSITORY, digest), FakeLambdaContext())

    # Then it is ARCHIVED with its users, counted as not pullable, and announced
    assert answer["status"] == "ARCHIVED"
    verdict = verdict_of(dynamodb, digest)
    assert verdict is not None and verdict["status"] == "ARCHIVED" and verdict["usedBy"]
    assert emf_totals(capsys.readouterr().out)["InUseImagesMissing"] == 1
    [event] = changes()
    assert (event["detail"]["previousStatus"], event["detail"]["status"]) == ("COMPLETE", "ARCHIVED")


def test_a_replayed_deletion_event_is_judged_once(
    ecr: Any, dynamodb: Any, doors: str, api_event: ApiEvent, changes: Callable[[], list[dict[str, Any]]]
) -> None:
    digest = in_use_image(ecr, api_event, doors)
    changes()
    ecr.batch_delete_image(repositoryName=REPOSITORY, imageIds=[{"imageDigest": digest}])
    event = image_action_event("DELETE", REPOSITORY, digest)

    first = lambda_handler(event, FakeLambdaContext())
    second = lambda_handler(json.loads(json.dumps(event)), FakeLambdaContext())

    assert first == second
    assert len(changes()) == 1
