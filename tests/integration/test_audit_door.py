"""The scheduled audit on moto: a schedule queues work items, the queue door drains them into verdicts for every
image in scope; failures are reported per item, and redeliveries change nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from layercheck.errors import AuditScopeError, InvalidEventError, RepositoryCheckError
from layercheck.handler import lambda_handler
from layercheck.integrations.ecr import EcrRegistry
from layercheck.logic import audit, audit_scope
from local.event_source import drain_queue
from local.lambda_context import FakeLambdaContext
from local.seed import OCI_LAYER, blob, create_repository, descriptor, push_image, push_index
from tests.integration.conftest import stored_items
from tests.integration.event_support import image_verdicts, metric_sources, prepare_event_doors
from tests.integration.moto_ecr import serve_pull_through_cache_rules
from tests.support import emf_totals, load_event


def seed_audit_registry(ecr: Any) -> dict[tuple[str, str], str]:
    """Three repositories; returns the expected status of every image ECR holds, by (repository, digest)."""
    expected: dict[tuple[str, str], str] = {}
    create_repository(ecr, "team-a/api")
    v1 = push_image(ecr, "team-a/api", ["os", "api-1"], tag="v1")
    v2 = push_image(ecr, "team-a/api", ["os", "api-2"], tag="v2", docker=True)
    amd64 = push_image(ecr, "team-a/api", ["os", "api-amd64"], platform="linux/amd64")
    arm64 = push_image(ecr, "team-a/api", ["os", "api-arm64"], platform="linux/arm64")
    multi = push_index(ecr, "team-a/api", [amd64, arm64], tag="multi")
    broken = push_image(
        ecr, "team-a/api", ["os"], tag="broken", absent_layers=[descriptor(OCI_LAYER, blob("never-uploaded"))]
    )
    for image in (v1, v2, amd64, arm64, multi):
        expected[("team-a/api", image["digest"])] = "COMPLETE"
    expected[("team-a/api", broken["digest"])] = "BROKEN"
    create_repository(ecr, "team-b/worker")
    latest = push_image(ecr, "team-b/worker", ["os", "worker"], tag="latest")
    untagged = push_image(ecr, "team-b/worker", ["os", "worker-old"])
    expected[("team-b/worker", latest["digest"])] = "COMPLETE"
    expected[("team-b/worker", untagged["digest"])] = "COMPLETE"
    create_repository(ecr, "platform/empty")
    return expected


@pytest.fixture
def queue_url(ecr: Any, results_table: str, monkeypatch: pytest.MonkeyPatch) -> str:
    serve_pull_through_cache_rules(monkeypatch, [])  # moto lacks the action; this registry has no rules
    return prepare_event_doors(monkeypatch)


@pytest.fixture
def sqs(aws: None) -> Any:
    return boto3.client("sqs", region_name="us-east-1")


def queued_items(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


@pytest.mark.parametrize("fixture", ["eventbridge_scheduled_event.json", "scheduler_scheduled_event.json"])
def test_each_schedule_form_audits_every_image_through_the_queue(
    ecr: Any, queue_url: str, sqs: Any, dynamodb: Any, capsys: pytest.CaptureFixture[str], fixture: str
) -> None:
    # Given a registry of three repositories (one empty) holding complete, multi-arch, untagged and broken images
    expected = seed_audit_registry(ecr)

    # When the schedule fires, and the audit queue is drained into the function as the event source mapping would
    started = lambda_handler(load_event(fixture), FakeLambdaContext())
    report = drain_queue(lambda_handler, sqs, queue_url)

    # Then one registry item (this account, this Region), one work item per repository, and a correct schedule
    # verdict for every image of every repository, in the function's Region
    assert started["registries"] == 1
    assert [json.loads(body)["kind"] for body in report.bodies] == ["registry"] + ["repository"] * 3
    assert report.processed == 4
    assert report.failed_message_ids == []
    verdicts = image_verdicts(stored_items(dynamodb))
    assert {key: verdict["status"] for key, verdict in verdicts.items()} == expected
    assert {verdict["source"] for verdict in verdicts.values()} == {"schedule"}
    assert {(verdict["registryId"], verdict["region"]) for verdict in verdicts.values()} == {
        ("123456789012", "us-east-1")
    }
    assert {verdict["checkId"] for verdict in verdicts.values()} == {started["auditId"]}
    stdout = capsys.readouterr().out
    totals = emf_totals(stdout)
    assert totals["ImagesChecked"] == len(expected)
    assert totals["BrokenImages"] == 1
    assert metric_sources(stdout) == {"schedule"}


def test_a_constant_input_narrows_the_audit(
    ecr: Any, queue_url: str, sqs: Any, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = seed_audit_registry(ecr)
    # Given distinct push times (moto stamps whole seconds): v1 oldest ... broken newest
    _set_push_times(ecr, "team-a/api", ["v1", "v2", "multi", "broken"])

    # When a rule passes {"layercheckAudit": {"repositoryPrefixes": ["team-a/"], "taggedOnly": true, "newestImages": 2}}
    event = load_event("audit_constant_input.json")
    event["layercheckAudit"]["newestImages"] = 2
    started = lambda_handler(event, FakeLambdaContext())
    report = drain_queue(lambda_handler, sqs, queue_url)

    # Then only team-a's two newest tagged images are judged
    assert [json.loads(body)["kind"] for body in report.bodies] == ["registry", "repository"]
    assert started["scope"] == {"repositoryPrefixes": ["team-a/"], "taggedOnly": True, "newestImages": 2}
    verdicts = image_verdicts(stored_items(dynamodb))
    assert {tuple(v["imageTags"]) for v in verdicts.values()} == {("multi",), ("broken",)}
    assert all(key in expected for key in verdicts)


def test_a_constant_input_cannot_widen_the_configured_scope(
    ecr: Any, results_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare_event_doors(monkeypatch, AUDIT_REPOSITORY_PREFIXES="team-a/")
    event = {"layercheckAudit": {"repositoryPrefixes": ["team-b/"]}}

    with pytest.raises(AuditScopeError, match="team-b/"):
        lambda_handler(event, FakeLambdaContext())


def test_a_malformed_constant_input_is_refused(ecr: Any, queue_url: str) -> None:
    with pytest.raises(InvalidEventError, match="newestImages"):
        lambda_handler({"layercheckAudit": {"newestImages": "all of them"}}, FakeLambdaContext())


def test_a_repository_with_more_images_than_a_slice_fans_out_into_image_items(
    ecr: Any, queue_url: str, sqs: Any, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given slices of 2 images (instead of 100) and a repository of 5 images
    monkeypatch.setattr(audit, "MAX_IMAGES_PER_WORK_ITEM", 2)
    monkeypatch.setattr(audit_scope, "MAX_IMAGES_PER_WORK_ITEM", 2)
    create_repository(ecr, "team-a/many")
    digests = {push_image(ecr, "team-a/many", ["os", f"app-{i}"], tag=f"v{i}")["digest"] for i in range(5)}

    lambda_handler(load_event("eventbridge_scheduled_event.json"), FakeLambdaContext())
    report = drain_queue(lambda_handler, sqs, queue_url, batch_size=1)

    # Then the repository item queued three slices (2 + 2 + 1) and every image got its verdict
    kinds = [json.loads(body)["kind"] for body in report.bodies]
    assert kinds == ["registry", "repository", "images", "images", "images"]
    assert {digest for _, digest in image_verdicts(stored_items(dynamodb))} == digests


def test_failing_work_items_are_reported_in_batch_item_failures(
    ecr: Any, queue_url: str, sqs: Any, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a batch of three items: a good one, a body that is no work item, and one that ECR keeps throttling
    create_repository(ecr, "team-a/api")
    image = push_image(ecr, "team-a/api", ["os"], tag="v1")
    create_repository(ecr, "team-c/flaky")
    flaky = push_image(ecr, "team-c/flaky", ["os"], tag="v1")
    original = EcrRegistry.batch_get_image

    def throttled(self: EcrRegistry, registry_id: str, repository_name: str, image_digests: Any) -> Any:
        if repository_name == "team-c/flaky":
            raise RepositoryCheckError("ThrottlingException", "Rate exceeded")
        return original(self, registry_id, repository_name, image_digests)

    monkeypatch.setattr(EcrRegistry, "batch_get_image", throttled)
    bodies = [
        _images_item("team-a/api", image["digest"]),
        '{"kind": "everything", "auditId": "x"}',
        _images_item("team-c/flaky", flaky["digest"]),
    ]
    sqs.send_message_batch(
        QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies)]
    )

    # When the batch reaches the function
    report = drain_queue(lambda_handler, sqs, queue_url)

    # Then the two failures are reported by message id (they stay in the queue for retry and the DLQ); the good
    # item's verdict is stored, and nothing is stored for the throttled one
    assert report.batches == 1
    assert report.processed == 1
    assert len(report.failed_message_ids) == 2
    verdicts = image_verdicts(stored_items(dynamodb))
    assert set(verdicts) == {("team-a/api", image["digest"])}


def test_a_redelivered_work_item_changes_nothing_and_counts_nothing(
    ecr: Any, queue_url: str, sqs: Any, dynamodb: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    create_repository(ecr, "team-a/api")
    image = push_image(ecr, "team-a/api", ["os"], tag="v1")
    sqs.send_message(QueueUrl=queue_url, MessageBody=_images_item("team-a/api", image["digest"]))
    drain_queue(lambda_handler, sqs, queue_url)
    items = stored_items(dynamodb)
    assert emf_totals(capsys.readouterr().out)["ImagesChecked"] == 1

    # When SQS delivers the same item again
    sqs.send_message(QueueUrl=queue_url, MessageBody=_images_item("team-a/api", image["digest"]))
    report = drain_queue(lambda_handler, sqs, queue_url)

    assert report.processed == 1
    assert stored_items(dynamodb) == items
    assert "ImagesChecked" not in emf_totals(capsys.readouterr().out)


def test_a_replayed_schedule_event_queues_nothing_more(ecr: Any, queue_url: str, sqs: Any) -> None:
    seed_audit_registry(ecr)
    event = load_event("eventbridge_scheduled_event.json")
    first = lambda_handler(event, FakeLambdaContext())

    second = lambda_handler(event, FakeLambdaContext())

    assert second == first
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"


def test_a_constant_input_retried_by_eventbridge_is_one_audit_keyed_on_its_event_id(
    ecr: Any, queue_url: str, sqs: Any
) -> None:
    # Given a rule whose input transformer adds the event id to the constant input (docs/DEPLOY.md)
    seed_audit_registry(ecr)
    event = {**load_event("audit_constant_input.json"), "eventId": "c2f1e8a4-5d0e-4c4e-9a57-1c9a3b1f0d42"}

    # When EventBridge delivers it twice: its retry is a new invocation, with a new Lambda request id
    first = lambda_handler(event, FakeLambdaContext(aws_request_id="request-1"))
    second = lambda_handler(event, FakeLambdaContext(aws_request_id="request-2"))

    # Then one audit, named after the event, and one registry item queued
    assert first["auditId"] == "c2f1e8a4-5d0e-4c4e-9a57-1c9a3b1f0d42"
    assert second == first
    assert [item["kind"] for item in queued_items(sqs, queue_url)] == ["registry"]


def test_a_constant_input_without_an_event_id_is_keyed_on_the_request_id(ecr: Any, queue_url: str, sqs: Any) -> None:
    seed_audit_registry(ecr)
    event = load_event("audit_constant_input.json")

    first = lambda_handler(event, FakeLambdaContext(aws_request_id="request-1"))
    again = lambda_handler(event, FakeLambdaContext(aws_request_id="request-1"))  # Lambda's own retry
    other = lambda_handler(event, FakeLambdaContext(aws_request_id="request-2"))

    assert first["auditId"] == again["auditId"] == "request-1"
    assert other["auditId"] == "request-2"
    assert len(queued_items(sqs, queue_url)) == 2


def _images_item(repository_name: str, digest: str) -> str:
    return json.dumps(
        {
            "kind": "images",
            "auditId": "test-audit",
            "registryId": "123456789012",
            "repositoryName": repository_name,
            "images": [{"imageDigest": digest, "imageTags": ["v1"]}],
        }
    )


def _set_push_times(ecr: Any, repository_name: str, tags_oldest_first: list[str]) -> None:
    """moto stamps push times in whole seconds; give the tagged images distinct, ordered ones."""
    from moto.ecr.models import ecr_backends

    repository = ecr_backends["123456789012"]["us-east-1"].repositories[repository_name]
    start = datetime.now(UTC) - timedelta(days=1)
    for position, tag in enumerate(tags_oldest_first):
        image = next(image for image in repository.images if tag in image.image_tags)
        image.image_pushed_at = int((start + timedelta(minutes=position)).timestamp())
