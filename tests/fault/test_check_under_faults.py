"""Under throttling, 503s and dropped connections a check answers exactly what a clean run answers, and stores it all;
when a repository's retries run out, its pairs are failures carrying ECR's error code, never missing."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from layercheck.integrations.ecr import EcrRegistry
from layercheck.integrations.results_table import ResultsTable
from layercheck.logic.check import check_repositories, plan_calls
from layercheck.logic.layer_check import LayerCheckService
from layercheck.models.stored import Source
from layercheck.models.verdicts import CheckOutcome, FailureCode
from local.faultproxy import FaultPlan, FaultProxy
from tests.fault.conftest import (
    DYNAMODB_TARGET_PREFIX,
    ECR_TARGET_PREFIX,
    THROTTLED_REPOSITORY,
    FaultRegistry,
    FunctionClients,
    total_attempts,
)

ECR_CHECK = "BatchCheckLayerAvailability"
_plain = TypeDeserializer()
# The issue's mix: 20 % throttled, 5 % HTTP 503, 2 % connections dropped; each attempt draws anew.
ISSUE_MIX = FaultPlan(
    latency_seconds=0.0,
    throttle_share=0.20,
    unavailable_share=0.05,
    drop_share=0.02,
    seed=20261127,
    fault_targets=(ECR_TARGET_PREFIX,),
)


def stored_pairs(dynamodb: Any, table: str, repositories: list[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every stored layer verdict of these repositories, read back with one paginated scan of the test's table."""
    wanted = set(repositories)
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for attributes in page["Items"]:
            item = {name: _plain.deserialize(value) for name, value in attributes.items()}
            if "layerDigest" in item and item["repositoryName"] in wanted:
                pairs[(item["repositoryName"], item["layerDigest"])] = item
    return pairs


def clean_outcome(registry: FaultRegistry, clients: FunctionClients, proxy: FaultProxy) -> CheckOutcome:
    proxy.set_plan(FaultPlan(latency_seconds=0.0))
    outcome = check_repositories(registry.targets(), EcrRegistry(clients.ecr), workers=16)
    proxy.reset()
    return outcome


def test_check_under_throttling_503s_and_drops_gives_the_clean_verdicts_and_stores_every_pair(
    registry: FaultRegistry,
    function_clients: FunctionClients,
    fault_proxy: FaultProxy,
    results_table: str,
) -> None:
    # Given the verdicts of a run without faults
    clean = clean_outcome(registry, function_clients, fault_proxy)
    assert clean.summary.checked == 3000 and clean.summary.errors == 0

    # When the same check runs with ECR answering 20 % throttling, 5 % 503 and dropping 2 % of connections
    fault_proxy.set_plan(ISSUE_MIX)
    service = LayerCheckService(
        registry=EcrRegistry(function_clients.ecr),
        store=ResultsTable(results_table, function_clients.dynamodb),
        workers=16,
        region="us-east-1",
    )
    outcome = service.check_and_store(registry.targets(), source=Source.API, check_id="under-faults")

    # Then every verdict is the clean run's, in the same order, and none is an error
    assert outcome.results == clean.results
    assert outcome.summary == clean.summary
    stats = fault_proxy.stats()
    assert stats.faults["throttling"] > 0, stats
    assert sum(stats.faults.values()) >= 10, stats
    # ... ECR answered each planned call exactly once: faults cost retries, never extra or missing calls
    assert stats.forwarded[ECR_CHECK] == len(plan_calls(registry.targets()))
    assert stats.requests[ECR_CHECK] == stats.forwarded[ECR_CHECK] + stats.faults_by_operation[ECR_CHECK]

    # And every one of the 3,000 pairs is stored with the answered verdict
    stored = stored_pairs(function_clients.dynamodb, results_table, registry.repositories)
    assert len(stored) == 3000
    for result in outcome.results:
        for layer in result.layers:
            item = stored[(result.repositoryName, layer.layerDigest)]
            assert (item["status"], item["checkId"]) == (layer.layerAvailability, "under-faults")
        for failure in result.failures:
            assert stored[(result.repositoryName, failure.layerDigest)]["failureCode"] == failure.failureCode


def test_repository_still_throttled_after_every_retry_answers_each_pair_as_a_throttling_failure(
    registry: FaultRegistry,
    function_clients: FunctionClients,
    fault_proxy: FaultProxy,
    results_table: str,
) -> None:
    # Given ECR throttles every call for one repository, and answers the others normally
    clean = clean_outcome(registry, function_clients, fault_proxy)
    fault_proxy.set_plan(
        FaultPlan(
            latency_seconds=0.0, throttled_repositories=(THROTTLED_REPOSITORY,), fault_targets=(ECR_TARGET_PREFIX,)
        )
    )
    service = LayerCheckService(
        registry=EcrRegistry(function_clients.ecr),
        store=ResultsTable(results_table, function_clients.dynamodb),
        workers=16,
        region="us-east-1",
    )

    # When one check covers it and the others
    outcome = service.check_and_store(registry.targets([THROTTLED_REPOSITORY]), source=Source.API, check_id="exhausted")

    # Then the other repositories' verdicts are untouched
    by_name = {result.repositoryName: result for result in outcome.results}
    assert [by_name[result.repositoryName] for result in clean.results] == clean.results

    # ... and every digest of the throttled one is answered: a ThrottlingException failure, or InvalidLayerDigest
    throttled = by_name[THROTTLED_REPOSITORY]
    assert throttled.layers == []
    assert [failure.layerDigest for failure in throttled.failures] == registry.digests
    codes = Counter(failure.failureCode for failure in throttled.failures)
    assert codes == {"ThrottlingException": 130, FailureCode.INVALID_LAYER_DIGEST: 20}
    assert all(f.failureReason == "Rate exceeded" for f in throttled.failures if f.failureCode == "ThrottlingException")
    assert outcome.summary.errors == 130
    assert outcome.summary.checked == 3000 + 150

    # ... after botocore really tried each of its two calls the configured number of times
    stats = fault_proxy.stats()
    assert stats.faults_by_operation[ECR_CHECK] == 2 * total_attempts(function_clients.ecr)

    # And the failures are stored too, as ERROR with the code, so the table shows what could not be checked
    stored = stored_pairs(function_clients.dynamodb, results_table, [THROTTLED_REPOSITORY])
    assert len(stored) == 150
    statuses = Counter((item["status"], item.get("failureCode")) for item in stored.values())
    assert statuses == {("ERROR", "ThrottlingException"): 130, ("INVALID", FailureCode.INVALID_LAYER_DIGEST): 20}


@pytest.mark.parametrize(
    "plan",
    [
        # A fifth of the attempts: with the table client's 6 attempts, one write of the ~30 fails all of them about
        # once in 500 runs (0.2^6 x 30), and none of the ~30 is faulted about once in 1,000 (0.8^30). The bodies hold
        # the check's timestamps, so the proxy's draws differ from run to run: a third of the attempts failed a run
        # in fifty.
        FaultPlan(latency_seconds=0.0, seed=3, fault_targets=(DYNAMODB_TARGET_PREFIX,), throttle_share=0.2),
        FaultPlan(latency_seconds=0.0, seed=3, fault_targets=(DYNAMODB_TARGET_PREFIX,), unavailable_share=0.2),
        FaultPlan(latency_seconds=0.0, seed=3, fault_targets=(DYNAMODB_TARGET_PREFIX,), drop_share=0.2),
    ],
    ids=["throttling", "unavailable", "dropped"],
)
def test_dynamodb_faults_are_retried_by_botocore_and_the_check_is_stored(
    plan: FaultPlan,
    registry: FaultRegistry,
    function_clients: FunctionClients,
    fault_proxy: FaultProxy,
    results_table: str,
) -> None:
    # Given DynamoDB (not ECR) fails a fifth of the attempts in one way
    fault_proxy.set_plan(plan)
    service = LayerCheckService(
        registry=EcrRegistry(function_clients.ecr),
        store=ResultsTable(results_table, function_clients.dynamodb),
        workers=16,
        region="us-east-1",
    )

    # When a check of five repositories is stored
    names = registry.repositories[:5]
    outcome = service.check_and_store(
        [target for target in registry.targets() if target.repository_name in names],
        source=Source.API,
        check_id="dynamodb-faults",
    )

    # Then every pair is stored, with this check's id, though DynamoDB failed some writes
    assert fault_proxy.stats().faults_by_operation["BatchWriteItem"] > 0
    stored = stored_pairs(function_clients.dynamodb, results_table, names)
    assert len(stored) == outcome.summary.checked == 750
    assert {item["checkId"] for item in stored.values()} == {"dynamodb-faults"}
