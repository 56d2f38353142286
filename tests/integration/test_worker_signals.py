"""What the worker doors (push, audit queue) must never drop silently: change events EventBridge did not take, and
images in use that can no longer be pulled (issue 10 §3/§4 review findings)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from layercheck.handler import lambda_handler
from local.event_source import drain_queue
from local.lambda_context import FakeLambdaContext
from local.seed import OCI_LAYER, blob, create_repository, descriptor, push_image
from tests.integration.event_support import prepare_event_doors, push_event
from tests.integration.moto_ecr import serve_pull_through_cache_rules
from tests.support import emf_totals, load_event

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
