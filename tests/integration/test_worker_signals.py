"""What the worker doors (push, audit queue) must never drop silently: change events EventBridge did not take, and
images in use that can no longer be pulled ."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from layercheck.handler import lambda_handler
from layercheck.integrations.inventory_store import InventoryStore
from layercheck.models.in_use import InventoryEntry
from local.event_source import drain_queue
from local.lambda_context import FakeLambdaContext
from local.seed import OCI_LAYER, blob, create_repository, descriptor, push_image
from tests.conftest import ApiEvent
from tests.integration.event_support import prepare_event_doors, push_event
from tests.integration.moto_ecr import serve_pull_through_cache_rules
from tests.support import TABLE_NAME, emf_totals, load_event

REPOSITORY = "team-a/api"
# A bus that does not exist (deleted, or EVENT_BUS_NAME misconfigured): EventBridge refuses every entry with
# ResourceNotFoundException, which no retry can fix.
MISSING_BUS = "layercheck-bus-deleted"


@pytest.fixture
def doors(ecr: Any, results_table: str, monkeypatch: pytest.MonkeyPatch) -> str:
    serve_pull_through_cache_rules(monkeypatch, [])  # moto lacks the action; this registry has no rules
    return prepare_event_doors(monkeypatch, PUSH_RECHECK_SECONDS="0")


@pytest.fixture
def sqs(aws: None) -> Any:
    return boto3.client("sqs", region_name="us-east-1")


def _logged(caplog: pytest.LogCaptureFixture, message: str) -> list[dict[str, Any]]:
    return [vars(record) for record in caplog.records if record.getMessage() == message]


def _broken_image(ecr: Any) -> str:
    create_repository(ecr, REPOSITORY)
    absent = [descriptor(OCI_LAYER, blob("never-uploaded"))]
    digest: str = push_image(ecr, REPOSITORY, ["os"], tag="v1", absent_layers=absent)["digest"]
    return digest


def test_push_door_records_and_logs_change_events_it_could_not_send(
    ecr: Any, doors: str, monkeypatch: pytest.MonkeyPatch, capsys: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a broken image (its first verdict is a change) and a bus that refuses every event
    monkeypatch.setenv("EVENT_BUS_NAME", MISSING_BUS)
    digest = _broken_image(ecr)

    # When ECR announces the push
    answer = lambda_handler(push_event(REPOSITORY, digest, "v1"), FakeLambdaContext())

    # Then the verdict stands, and the lost event is counted and logged with EventBridge's code
    assert answer["status"] == "BROKEN"
    assert emf_totals(capsys.readouterr().out)["ChangeEventsUnsent"] == 1
    [unsent] = _logged(caplog, "change events not sent")
    assert unsent["codes"] == ["ResourceNotFoundException"]


def test_audit_queue_door_records_and_logs_change_events_it_could_not_send(
    ecr: Any, doors: str, sqs: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("EVENT_BUS_NAME", MISSING_BUS)
    _broken_image(ecr)

    lambda_handler(load_event("eventbridge_scheduled_event.json"), FakeLambdaContext())
    report = drain_queue(lambda_handler, sqs, doors)

    assert report.failed_message_ids == []
    assert emf_totals(capsys.readouterr().out)["ChangeEventsUnsent"] == 1
    [unsent] = _logged(caplog, "change events not sent")
    assert unsent["codes"] == ["ResourceNotFoundException"]


# -- images in use that can no longer be pulled ---------------------------------------------------------------------

OWN, HOME = "123456789012", "us-east-1"
GONE_DIGEST = "sha256:" + "d" * 64
INVENTORY = "k8s-prod"


def _image_verdicts(dynamodb: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """Image verdicts by (repository, digest) (the table holds inventory entries too)."""
    from layercheck.integrations.results_table import from_dynamodb

    pages = dynamodb.get_paginator("scan").paginate(
        TableName=TABLE_NAME, FilterExpression="itemType = :image", ExpressionAttributeValues={":image": {"S": "image"}}
    )
    items = [from_dynamodb(item) for page in pages for item in page["Items"]]
    return {(item.repositoryName, item.reference): item.model_dump(mode="json") for item in items}  # type: ignore[union-attr]


def _report_in_use(dynamodb: Any, *references: tuple[str, str | None, str | None]) -> None:
    """Inventory entries (repository, tag, digest) as POST /inventory stores them."""
    entries = [
        InventoryEntry(
            source=INVENTORY,
            registryId=OWN,
            region=HOME,
            repositoryName=repository,
            imageTag=tag,
            imageDigest=digest,
            reportedAt="2026-01-01T00:00:00Z",
            expiresAt=4_000_000_000,
        )
        for repository, tag, digest in references
    ]
    InventoryStore(TABLE_NAME, dynamodb).put_entries(entries)


def test_in_use_images_that_are_gone_are_missing_with_their_users_counted_and_logged_by_name(
    ecr: Any,
    dynamodb: Any,
    doors: str,
    sqs: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    caplog: pytest.LogCaptureFixture,
    api_event: ApiEvent,
) -> None:
    # Given an audit of team-a/ only, and workloads on: a tag ECR no longer holds, a digest deleted from its
    # repository, a digest in a repository deleted since, and a good image in a repository outside the prefixes
    monkeypatch.setenv("AUDIT_REPOSITORY_PREFIXES", "team-a/")
    create_repository(ecr, REPOSITORY)
    push_image(ecr, REPOSITORY, ["os", "app"], tag="v1")
    create_repository(ecr, "other/tool")
    elsewhere = push_image(ecr, "other/tool", ["os", "tool"], tag="v1")["digest"]
    _report_in_use(
        dynamodb,
        (REPOSITORY, "rolled-back", None),
        (REPOSITORY, None, GONE_DIGEST),
        ("team-a/deleted", None, GONE_DIGEST),
        ("other/tool", None, elsewhere),
    )

    # When one audit runs
    lambda_handler(load_event("eventbridge_scheduled_event.json"), FakeLambdaContext())
    report = drain_queue(lambda_handler, sqs, doors)

    # Then the three gone images are MISSING with their users, count in InUseImagesMissing (its own alarm), and
    # each is named in a log line with its users and ECR's code
    assert report.failed_message_ids == []
    totals = emf_totals(capsys.readouterr().out)
    assert (totals["InUseImagesMissing"], totals["InUseImagesBroken"]) == (3, 0)
    users = [{"kind": "inventory", "id": INVENTORY}]
    logged = {
        (entry["repository"], tuple(entry["image_tags"]), entry["image_digest"], entry["status"], entry["code"])
        for entry in _logged(caplog, "image in use cannot be pulled")
    }
    assert logged == {
        (REPOSITORY, ("rolled-back",), None, "MISSING", "ImageNotFoundException"),
        (REPOSITORY, (), GONE_DIGEST, "MISSING", "ImageNotFoundException"),
        ("team-a/deleted", (), GONE_DIGEST, "MISSING", "RepositoryNotFoundException"),
    }
    # and each is stored MISSING with who runs it, the tag that names nothing keyed by that tag
    verdicts = _image_verdicts(dynamodb)
    assert (verdicts[(REPOSITORY, GONE_DIGEST)]["status"], verdicts[(REPOSITORY, GONE_DIGEST)]["usedBy"]) == (
        "MISSING",
        users,
    )
    by_tag = verdicts[(REPOSITORY, "tag:rolled-back")]
    assert "imageDigest" not in by_tag and by_tag["imageTags"] == ["rolled-back"]
    assert by_tag["usedBy"] == [{**users[0], "tag": "rolled-back"}]
    # and GET /images?status=MISSING lists the three, as the InUseImagesMissing alarm's description says
    response = lambda_handler(api_event("GET", "/images", query={"status": "MISSING"}), FakeLambdaContext())
    assert response["statusCode"] == 200, response["body"]
    listed = json.loads(response["body"])["items"]
    assert sorted((image["repositoryName"], image.get("imageDigest") or image["imageTags"][0]) for image in listed) == [
        (REPOSITORY, "rolled-back"),
        (REPOSITORY, GONE_DIGEST),
        ("team-a/deleted", GONE_DIGEST),
    ]
    # and the repository outside the prefixes is not checked, but said
    [outside] = _logged(caplog, "images in use outside the audit's repository prefixes")
    assert outside["repositories"] == ["other/tool"]
    assert ("other/tool", elsewhere) not in verdicts


# -- one repository's AccessDenied is that repository's --------------------------------------------------------------


def test_a_repository_whose_policy_denies_the_reader_is_that_repositorys_failure_not_the_registrys(
    ecr: Any,
    dynamodb: Any,
    doors: str,
    sqs: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """ECR answers AccessDeniedException on DescribeImages and BatchGetImage of a repository whose repository policy
    denies the caller (moto enforces no repository policy: its answer is replaced for that repository)."""
    from moto.ecr.responses import ECRResponse

    locked = "team-a/locked"
    for action in ("describe_images", "batch_get_image"):
        original = getattr(ECRResponse, action)

        def deny(self: ECRResponse, _original: Any = original) -> Any:
            if json.loads(self.body).get("repositoryName") == locked:
                body = json.dumps({"__type": "AccessDeniedException", "message": "denied by the repository policy"})
                return 400, {"status": "400"}, body
            return _original(self)

        monkeypatch.setattr(ECRResponse, action, deny)
    create_repository(ecr, locked)
    in_use = push_image(ecr, locked, ["os", "secret"], tag="v1")["digest"]
    create_repository(ecr, REPOSITORY)
    good = push_image(ecr, REPOSITORY, ["os", "app"], tag="v1")["digest"]
    _report_in_use(dynamodb, (locked, None, in_use))

    lambda_handler(load_event("eventbridge_scheduled_event.json"), FakeLambdaContext())
    report = drain_queue(lambda_handler, sqs, doors)

    # Then no item failed or was retried, the registry is not unreadable, the other repository is audited, the
    # locked repository is logged with ECR's code and its image in use has an UNCHECKED verdict with that code
    assert report.failed_message_ids == []
    out = capsys.readouterr().out
    assert "RegistriesUnreadable" not in emf_totals(out)
    verdicts = _image_verdicts(dynamodb)
    assert verdicts[(REPOSITORY, good)]["status"] == "COMPLETE"
    assert (verdicts[(locked, in_use)]["status"], verdicts[(locked, in_use)]["failureCode"]) == (
        "UNCHECKED",
        "AccessDeniedException",
    )
    [unreadable] = _logged(caplog, "repository unreadable")
    assert (unreadable["repository"], unreadable["code"]) == (locked, "AccessDeniedException")
