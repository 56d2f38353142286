"""DynamoDB writes it did not process are re-sent until stored; a write that finally fails reaches the caller."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from layercheck.errors import ResultsNotStoredError
from layercheck.handler import lambda_handler
from layercheck.integrations.aws import BACKOFF_BASE_SECONDS
from layercheck.integrations.results_table import (
    UNPROCESSED_RETRIES,
    ResultsTable,
    item_key,
    to_dynamodb,
)
from layercheck.logic.check import BatchAnswer, RepositoryTarget
from layercheck.logic.layer_check import LayerCheckService
from layercheck.models.stored import Source, StoredLayerVerdict, layer_verdicts
from layercheck.models.verdicts import LayerAnswer, RepositoryResult
from local.adapter import LocalApiGateway, json_request
from local.environment import lambda_environment
from local.faultproxy import FaultPlan, FaultProxy
from tests.fault.conftest import DYNAMODB_TARGET_PREFIX, FaultRegistry

TABLE = "results"
CHECKED_AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
DIGESTS = [f"sha256:{n:064x}" for n in range(25)]  # one BatchWriteItem's worth


class EverythingAvailable:
    """A registry port that finds every digest (the store is under test, not ECR)."""

    def batch_check_layer_availability(
        self, registry_id: str, repository_name: str, layer_digests: list[str]
    ) -> BatchAnswer:
        return BatchAnswer(layers=[LayerAnswer(layerDigest=d, layerAvailability="AVAILABLE") for d in layer_digests])


@pytest.fixture
def stubbed_dynamodb() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def service_with(client: Any, sleeps: list[float]) -> LayerCheckService:
    return LayerCheckService(
        registry=EverythingAvailable(),
        store=ResultsTable(TABLE, client, sleep=sleeps.append),
        clock=lambda: CHECKED_AT,
        region="us-east-1",
    )


def expected_verdicts() -> list[StoredLayerVerdict]:
    """The verdicts the service stores for one repository × DIGESTS, built as the service builds them."""
    result = RepositoryResult(
        registryId="123456789012",
        repositoryName="app",
        layers=[LayerAnswer(layerDigest=d, layerAvailability="AVAILABLE") for d in DIGESTS],
    )
    return layer_verdicts(
        [result], source=Source.API, checked_at=CHECKED_AT, ttl_days=30, region="us-east-1", check_id="c-1"
    )


def expected_puts() -> list[dict[str, Any]]:
    return [{"PutRequest": {"Item": to_dynamodb(verdict)}} for verdict in expected_verdicts()]


TARGETS = [RepositoryTarget("123456789012", "app", DIGESTS)]


def test_unprocessed_items_are_resent_round_after_round_until_all_are_stored(
    stubbed_dynamodb: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed_dynamodb
    puts = expected_puts()
    # Given DynamoDB leaves 10, then 3 of the items unprocessed (as it does under a hot partition)
    rounds = [puts, puts[5:15], puts[7:10]]
    for sent, left in zip(rounds, [*rounds[1:], []], strict=True):
        stubber.add_response(
            "batch_write_item",
            {"UnprocessedItems": {TABLE: left} if left else {}},
            {"RequestItems": {TABLE: sent}},  # exactly what is still unprocessed goes out again
        )
    sleeps: list[float] = []

    # When the service checks and stores
    outcome = service_with(client, sleeps).check_and_store(TARGETS, source=Source.API, check_id="c-1")

    # Then every pair was answered and stored, after one backoff per re-send, each within its jitter window
    assert outcome.summary.available == 25
    assert len(sleeps) == 2
    assert all(0 <= pause <= BACKOFF_BASE_SECONDS * 2**attempt for attempt, pause in enumerate(sleeps))


def test_items_still_unprocessed_after_every_retry_are_reported_to_the_caller(
    stubbed_dynamodb: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed_dynamodb
    puts = expected_puts()
    # Given DynamoDB never processes the last two items
    stubber.add_response("batch_write_item", {"UnprocessedItems": {TABLE: puts[-2:]}}, {"RequestItems": {TABLE: puts}})
    for _ in range(UNPROCESSED_RETRIES):
        stubber.add_response(
            "batch_write_item", {"UnprocessedItems": {TABLE: puts[-2:]}}, {"RequestItems": {TABLE: puts[-2:]}}
        )

    # When the service checks and stores, then it raises, naming exactly the two unstored keys
    with pytest.raises(ResultsNotStoredError) as raised:
        service_with(client, []).check_and_store(TARGETS, source=Source.API, check_id="c-1")
    assert raised.value.unstored_keys == [item_key(verdict) for verdict in expected_verdicts()[-2:]]
    assert "unprocessed" in raised.value.reason


def test_api_answers_503_with_a_json_body_when_dynamodb_keeps_throttling(
    registry: FaultRegistry,
    fault_proxy: FaultProxy,
    results_table: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the function talks to AWS through the proxy, and DynamoDB throttles every write
    for name, value in {**lambda_environment(fault_proxy.url), "RESULTS_TABLE_NAME": results_table}.items():
        monkeypatch.setenv(name, value)
    fault_proxy.set_plan(FaultPlan(latency_seconds=0.0, throttle_share=1.0, fault_targets=(DYNAMODB_TARGET_PREFIX,)))
    body = {
        "registryId": "123456789012",
        "repositoryNames": registry.repositories[:2],
        "layerDigests": registry.digests[:30],
    }

    # When a check is posted
    with LocalApiGateway(lambda_handler, stdout_sink=[]) as api:
        status, answer = json_request(f"{api.url}/checks", "POST", body)

    # Then the caller hears that 60 verdicts were not stored, as JSON, and no write went unnoticed
    assert status == 503
    assert "60 verdicts could not be stored" in answer["message"]
    stats = fault_proxy.stats()
    assert stats.forwarded.get("BatchWriteItem", 0) == 0
    assert stats.faults_by_operation["BatchWriteItem"] >= 3  # three batches, each tried until botocore gave up
