"""Each manifest read once, through the real audit and push doors on moto: a digest's walk is kept in the results
table, and a later check of an image ECR still holds asks BatchGetImage nothing about it."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient

from layercheck.handler import lambda_handler
from local.environment import EVENT_BUS_NAME
from local.event_source import drain_queue
from local.lambda_context import FakeLambdaContext
from local.seed import create_repository, push_image, push_index
from tests.integration.conftest import stored_items
from tests.integration.event_support import change_event_queue, image_verdicts, prepare_event_doors, push_event
from tests.integration.moto_ecr import serve_pull_through_cache_rules
from tests.support import load_event

REGION = "us-east-1"
REPOSITORY = "app"


@pytest.fixture
def doors(ecr: Any, results_table: str, monkeypatch: pytest.MonkeyPatch) -> str:
    serve_pull_through_cache_rules(monkeypatch, [])
    monkeypatch.setenv("EVENT_BUS_NAME", EVENT_BUS_NAME)
    queue_url = prepare_event_doors(monkeypatch, PUSH_RECHECK_SECONDS="0")
    create_repository(ecr, REPOSITORY)
    return queue_url


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Every AWS call made by any client, by ``service:Operation``."""
    counts: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def counted(self: BaseClient, operation_name: str, api_params: Any) -> Any:
        counts[f"{self.meta.service_model.service_name}:{operation_name}"] += 1
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counted)
    yield counts


def run_audit(queue_url: str) -> None:
    schedule = load_event("eventbridge_scheduled_event.json") | {"id": str(uuid.uuid4())}
    lambda_handler(schedule, FakeLambdaContext())
    assert drain_queue(lambda_handler, boto3.client("sqs", region_name=REGION), queue_url).failed_message_ids == []


def test_a_second_audit_of_unchanged_images_reads_no_manifest_and_announces_nothing(
    ecr: Any, dynamodb: Any, doors: str, calls: Counter[str]
) -> None:
    # Given three images, one of them a two-platform index, and a broken one (its change is announced once)
    push_image(ecr, REPOSITORY, ["os", "a"], tag="a")
    push_image(ecr, REPOSITORY, ["os", "b"], tag="b", not_uploaded=("b",))
    amd = push_image(ecr, REPOSITORY, ["os", "amd"])
    arm = push_image(ecr, REPOSITORY, ["os", "arm"], platform="linux/arm64")
    push_index(ecr, REPOSITORY, [amd, arm], tag="multi")
    changes: Callable[[], list[dict[str, Any]]] = change_event_queue(REGION)
    run_audit(doors)
    assert calls["ecr:BatchGetImage"] >= 1
    assert len(changes()) == 1  # none → BROKEN
    first = image_verdicts(stored_items(dynamodb))
    calls.clear()

    # When the same images are audited again
    run_audit(doors)

    # Then no manifest is read, the layers are still checked, the verdicts are the same and nothing is announced
    assert calls["ecr:BatchGetImage"] == 0
    assert calls["ecr:BatchCheckLayerAvailability"] >= 1
    second = image_verdicts(stored_items(dynamodb))
    assert {key: v["status"] for key, v in second.items()} == {key: v["status"] for key, v in first.items()}
    assert changes() == []


def test_a_known_image_deleted_since_is_read_again_and_found_missing(
    ecr: Any, dynamodb: Any, doors: str, calls: Counter[str]
) -> None:
    """A push event for a digest ECR no longer holds (DescribeImages says so): its kept walk is not used."""
    image = push_image(ecr, REPOSITORY, ["os"], tag="v1")
    lambda_handler(push_event(REPOSITORY, image["digest"], "v1"), FakeLambdaContext())
    ecr.batch_delete_image(repositoryName=REPOSITORY, imageIds=[{"imageDigest": image["digest"]}])
    calls.clear()

    answer = lambda_handler(push_event(REPOSITORY, image["digest"], "v1"), FakeLambdaContext())

    assert answer["status"] == "MISSING"
    assert calls["ecr:BatchGetImage"] == 1
