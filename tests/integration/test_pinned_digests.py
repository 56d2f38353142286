"""The digests that actually run: an ECS service's deployment pins the digest its tag named, and a deletion of that
digest is seen at once, through the real audit and push doors on moto.

moto has no service revisions: ``local/moto_ecs.py`` stands them in as ECS describes them (DescribeServices'
``currentServiceRevisions``, DescribeServiceRevisions' ``containerImages[].imageDigest``), and the test pins the
revision as a deployment would, with the digest the tag named at that moment. moto emits no ECR events: the DELETE is
injected after BatchDeleteImage, as ECR would send it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from moto.ecs.responses import EC2ContainerServiceResponse

from layercheck.handler import lambda_handler
from local.environment import EVENT_BUS_NAME
from local.event_source import drain_queue
from local.lambda_context import FakeLambdaContext
from local.moto_ecs import REVISIONS_METHOD, PinnedContainer, ServiceRevisions, service_revisions_action
from local.seed import create_repository, push_image
from tests.integration.conftest import stored_items
from tests.integration.event_support import change_event_queue, image_action_event, image_verdicts, prepare_event_doors
from tests.integration.moto_ecr import serve_pull_through_cache_rules
from tests.support import emf_totals, load_event

ACCOUNT = "123456789012"
REGION = "us-east-1"
HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


@pytest.fixture
def revisions(aws: None, monkeypatch: pytest.MonkeyPatch) -> ServiceRevisions:
    pinned = ServiceRevisions()
    monkeypatch.setattr(EC2ContainerServiceResponse, REVISIONS_METHOD, service_revisions_action(pinned), raising=False)
    return pinned


@pytest.fixture
def doors(ecr: Any, results_table: str, monkeypatch: pytest.MonkeyPatch) -> str:
    serve_pull_through_cache_rules(monkeypatch, [])
    monkeypatch.setenv("EVENT_BUS_NAME", EVENT_BUS_NAME)
    return prepare_event_doors(monkeypatch, PUSH_RECHECK_SECONDS="0")


def run_audit(queue_url: str) -> None:
    schedule = load_event("eventbridge_scheduled_event.json") | {"id": str(uuid.uuid4())}
    lambda_handler(schedule, FakeLambdaContext())
    assert drain_queue(lambda_handler, boto3.client("sqs", region_name=REGION), queue_url).failed_message_ids == []


def move_tag(ecr: Any, tag: str, digest: str) -> None:
    [held] = ecr.batch_get_image(repositoryName="app", imageIds=[{"imageDigest": digest}])["images"]
    ecr.put_image(repositoryName="app", imageManifest=held["imageManifest"], imageTag=tag, imageDigest=digest)


def test_a_service_pinned_to_a_digest_whose_tag_moved_runs_two_images_and_its_deletion_is_seen_at_once(
    ecr: Any, dynamodb: Any, doors: str, revisions: ServiceRevisions, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the service "api" deployed on app:stable while stable named v1, the tag since moved to v4
    create_repository(ecr, "app")
    v1 = push_image(ecr, "app", ["os", "v1"], tag="v1")["digest"]
    v4 = push_image(ecr, "app", ["os", "v4"], tag="v4")["digest"]
    move_tag(ecr, "stable", v1)
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="prod")
    definition = ecs.register_task_definition(
        family="api", containerDefinitions=[{"name": "api", "image": f"{HOST}/app:stable", "memory": 128}]
    )["taskDefinition"]["taskDefinitionArn"]
    service = ecs.create_service(cluster="prod", serviceName="api", taskDefinition=definition, desiredCount=2)
    service_arn = service["service"]["serviceArn"]
    revisions.pin(ACCOUNT, REGION, "prod", "api", [PinnedContainer("api", f"{HOST}/app:stable", v1)])
    move_tag(ecr, "stable", v4)

    # When the scheduled audit runs
    run_audit(doors)

    # Then v1 is in use by its pinned digest (no tag), v4 by the tag the next deployment gets
    verdicts = image_verdicts(stored_items(dynamodb))
    assert verdicts[("app", v1)]["usedBy"] == [{"kind": "ecs-service", "id": service_arn}]
    assert verdicts[("app", v4)]["usedBy"] == [{"kind": "ecs-service", "id": service_arn, "tag": "stable"}]
    assert {verdicts[("app", d)]["status"] for d in (v1, v4)} == {"COMPLETE"}

    # And when v1 is deleted, ECR's DELETE makes it MISSING at once, naming the service, counted and announced once
    changes: Callable[[], list[dict[str, Any]]] = change_event_queue(REGION)
    capsys.readouterr()
    ecr.batch_delete_image(repositoryName="app", imageIds=[{"imageDigest": v1}])
    answer = lambda_handler(image_action_event("DELETE", "app", v1, "v1"), FakeLambdaContext())

    assert answer["status"] == "MISSING"
    assert image_verdicts(stored_items(dynamodb))[("app", v1)]["usedBy"] == [{"kind": "ecs-service", "id": service_arn}]
    assert emf_totals(capsys.readouterr().out)["InUseImagesMissing"] == 1
    [event] = changes()
    assert (event["detail"]["previousStatus"], event["detail"]["status"]) == ("COMPLETE", "MISSING")
    assert event["detail"]["usedBy"] == [{"kind": "ecs-service", "id": service_arn}]
