"""The audit's lifecycle guard through the real doors on moto: the schedule, the audit queue, the results table, the
change-event bus and GET /images, with the documented stand-in for ECR's lifecycle previews (local/moto_lifecycle.py).

Four images ``v1``..``v4`` are pushed in that order under a "keep 2" policy, so ECR's preview would expire ``v1`` and
``v2``; an ECS service runs ``v1``, nobody runs the others.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from moto.core.exceptions import ServiceException
from moto.ecr.responses import ECRResponse

from layercheck.handler import lambda_handler
from local.environment import EVENT_BUS_NAME
from local.event_source import drain_queue
from local.lambda_context import FakeLambdaContext
from local.moto_lifecycle import START_ACTION, PreviewSettings
from local.seed import create_repository, push_image
from tests.conftest import ApiEvent
from tests.integration.event_support import change_event_queue, prepare_event_doors
from tests.integration.moto_ecr import serve_lifecycle_previews, serve_pull_through_cache_rules
from tests.support import emf_totals, load_event

ACCOUNT, REGION = "123456789012", "us-east-1"
HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
REPOSITORY = "team-a/app"
RISK_CHANGED = "Image Risk Changed"


def keep(count: int) -> str:
    rule = {
        "rulePriority": 1,
        "description": f"keep the newest {count}",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": count},
        "action": {"type": "expire"},
    }
    return json.dumps({"rules": [rule]})


@pytest.fixture
def previews(monkeypatch: pytest.MonkeyPatch) -> PreviewSettings:
    return serve_lifecycle_previews(monkeypatch)


@pytest.fixture
def doors(ecr: Any, results_table: str, previews: PreviewSettings, monkeypatch: pytest.MonkeyPatch) -> str:
    serve_pull_through_cache_rules(monkeypatch, [])
    monkeypatch.setenv("EVENT_BUS_NAME", EVENT_BUS_NAME)
    return prepare_event_doors(monkeypatch, PUSH_RECHECK_SECONDS="0")


@pytest.fixture
def changes(doors: str) -> Callable[[], list[dict[str, Any]]]:
    return change_event_queue(REGION)


@pytest.fixture
def images(ecr: Any, doors: str) -> dict[str, str]:
    """``v1``..``v4`` under "keep 2", and an ECS service on ``v1``; the service's ARN under ``service``."""
    create_repository(ecr, REPOSITORY)
    digests = {f"v{n}": push_image(ecr, REPOSITORY, [f"app-{n}"], tag=f"v{n}")["digest"] for n in (1, 2, 3, 4)}
    ecr.put_lifecycle_policy(repositoryName=REPOSITORY, lifecyclePolicyText=keep(2))
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="prod")
    definition = ecs.register_task_definition(
        family="app", containerDefinitions=[{"name": "app", "image": f"{HOST}/{REPOSITORY}:v1", "memory": 128}]
    )["taskDefinition"]["taskDefinitionArn"]
    service = ecs.create_service(cluster="prod", serviceName="app", taskDefinition=definition, desiredCount=0)
    return digests | {"service": service["service"]["serviceArn"]}


def run_audit(queue_url: str) -> None:
    lambda_handler(load_event("eventbridge_scheduled_event.json") | {"id": str(uuid.uuid4())}, FakeLambdaContext())
    report = drain_queue(lambda_handler, boto3.client("sqs", region_name=REGION), queue_url)
    assert report.failed_message_ids == []


def risk_events(changes: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [event["detail"] for event in changes() if event["detail-type"] == RISK_CHANGED]


def at_risk(api_event: ApiEvent) -> dict[str, dict[str, Any]]:
    """GET /images?risk=lifecycle, every page, by digest."""
    found: dict[str, dict[str, Any]] = {}
    token: str | None = None
    while True:
        query = {"risk": "lifecycle", "limit": "1"} | ({"nextToken": token} if token else {})
        response = lambda_handler(api_event("GET", "/images", query=query), FakeLambdaContext())
        assert response["statusCode"] == 200, response["body"]
        page = json.loads(response["body"])
        found |= {item["imageDigest"]: item for item in page["items"]}
        token = page.get("nextToken")
        if not token:
            return found


def repository_images(api_event: ApiEvent) -> dict[str, dict[str, Any]]:
    response = lambda_handler(api_event("GET", "/images", query={"repositoryName": REPOSITORY}), FakeLambdaContext())
    return {item["imageDigest"]: item for item in json.loads(response["body"])["items"]}


def test_an_image_a_service_runs_that_keep_2_would_expire_is_at_risk_once_and_announced_once(
    doors: str,
    images: dict[str, str],
    api_event: ApiEvent,
    changes: Callable[[], list[dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # When the audit runs
    run_audit(doors)

    # Then v1 (run by the service) carries ECR's EXPIRE by rule 1; v2, expiring too but run by nobody, carries none
    stored = repository_images(api_event)
    assert stored[images["v1"]]["lifecycleRisk"]["action"] == "EXPIRE"
    assert stored[images["v1"]]["lifecycleRisk"]["rulePriority"] == 1
    assert [digest for digest, item in stored.items() if "lifecycleRisk" in item] == [images["v1"]]
    # and it counts once in the metric its alarm reads
    assert emf_totals(capsys.readouterr().out)["InUseImagesAtRisk"] == 1
    # and one Image Risk Changed names it, the risk and who runs it
    [event] = risk_events(changes)
    assert (event["imageDigest"], event["previousLifecycleRisk"]) == (images["v1"], None)
    assert event["lifecycleRisk"]["action"] == "EXPIRE"
    assert event["usedBy"][0]["id"] == images["service"]
    # and GET /images?risk=lifecycle lists it alone
    assert list(at_risk(api_event)) == [images["v1"]]


def test_a_second_audit_that_finds_the_same_risk_announces_nothing(
    doors: str, images: dict[str, str], api_event: ApiEvent, changes: Callable[[], list[dict[str, Any]]]
) -> None:
    run_audit(doors)
    assert len(risk_events(changes)) == 1

    run_audit(doors)

    assert risk_events(changes) == []
    assert list(at_risk(api_event)) == [images["v1"]]


def test_a_risk_that_clears_is_announced_once_and_leaves_the_list(
    ecr: Any, doors: str, images: dict[str, str], api_event: ApiEvent, changes: Callable[[], list[dict[str, Any]]]
) -> None:
    run_audit(doors)
    risk_events(changes)

    # When the policy keeps 10 and the audit runs again
    ecr.put_lifecycle_policy(repositoryName=REPOSITORY, lifecyclePolicyText=keep(10))
    run_audit(doors)

    # Then one event says the risk cleared, and the image leaves the list and carries no risk
    [event] = risk_events(changes)
    assert event["imageDigest"] == images["v1"]
    assert (event["previousLifecycleRisk"]["action"], event["lifecycleRisk"]) == ("EXPIRE", None)
    assert at_risk(api_event) == {}
    assert "lifecycleRisk" not in repository_images(api_event)[images["v1"]]


def test_a_preview_that_cannot_be_had_keeps_the_stored_risk_and_the_audit_goes_on(
    ecr: Any,
    doors: str,
    images: dict[str, str],
    api_event: ApiEvent,
    changes: Callable[[], list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    run_audit(doors)
    risk_events(changes)

    # Given a reader that may no longer start previews (real ECR: AccessDeniedException), and a policy that would
    # clear the risk
    class AccessDenied(ServiceException):
        code = "AccessDeniedException"
        message = "not authorized to perform: ecr:StartLifecyclePolicyPreview"

    def refuse(self: ECRResponse) -> str:
        raise AccessDenied()

    monkeypatch.setattr(ECRResponse, START_ACTION, refuse)
    ecr.put_lifecycle_policy(repositoryName=REPOSITORY, lifecyclePolicyText=keep(10))

    # When the audit runs (run_audit asserts every work item succeeded)
    run_audit(doors)

    # Then the risk it could not recompute stays, unannounced, and the log says why
    assert list(at_risk(api_event)) == [images["v1"]]
    assert risk_events(changes) == []
    [logged] = [record for record in caplog.records if record.getMessage() == "lifecycle not previewed"]
    assert vars(logged)["code"] == "AccessDeniedException"
