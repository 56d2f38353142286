"""The check engine over the lean request path and over the botocore client, against the same moto server behind the
fault proxy: the same verdicts for every pair, and, under the same injected faults, the same requests at the wire.

The proxy draws each request's fault from a hash of its body and how many times that body was seen: both paths send
byte-identical bodies, so after a reset they meet exactly the same throttling, 503s and dropped connections (what real
ECR does under load; moto itself never throttles).
"""

from __future__ import annotations

from collections import Counter

from botocore.credentials import Credentials

from layercheck.integrations.ecr import EcrRegistry
from layercheck.integrations.ecr_lean import LeanEcrLayerCheck
from layercheck.logic.check import LayerAvailabilityPort, check_repositories, plan_calls
from layercheck.models.verdicts import CheckOutcome
from local.faultproxy import FaultPlan, FaultProxy, ProxyStats
from tests.fault.conftest import ECR_TARGET_PREFIX, THROTTLED_REPOSITORY, FaultRegistry, FunctionClients
from tests.fault.test_check_under_faults import ECR_CHECK, ISSUE_MIX

# moto does not check signatures; the signed request itself is compared in test_ecr_lean_differential.py.
MOTO_KEYS = Credentials("testing", "testing")
NOT_A_REPOSITORY = "fault/never-created"


def run_both(
    registry: FaultRegistry, clients: FunctionClients, proxy: FaultProxy, plan: FaultPlan, extra: list[str]
) -> dict[str, tuple[CheckOutcome, ProxyStats]]:
    ports: dict[str, LayerAvailabilityPort] = {
        "botocore": EcrRegistry(clients.ecr),
        "lean": LeanEcrLayerCheck(clients.ecr, MOTO_KEYS),
    }
    runs = {}
    for name, port in ports.items():
        proxy.set_plan(plan)
        proxy.reset()
        outcome = check_repositories(registry.targets(extra), port, workers=16)
        runs[name] = (outcome, proxy.stats())
    return runs


def test_lean_path_gives_the_clients_verdicts_for_every_pair_of_a_registry(
    registry: FaultRegistry, function_clients: FunctionClients, fault_proxy: FaultProxy
) -> None:
    runs = run_both(registry, function_clients, fault_proxy, FaultPlan(latency_seconds=0.0), [NOT_A_REPOSITORY])

    (lean, lean_stats), (botocore_outcome, botocore_stats) = runs["lean"], runs["botocore"]
    assert lean == botocore_outcome
    assert lean.summary.available > 0 and lean.summary.missing > 0 and lean.summary.invalid > 0
    missing_repository = lean.results[-1]
    assert {failure.failureCode for failure in missing_repository.failures} >= {"RepositoryNotFoundException"}
    assert lean_stats.requests[ECR_CHECK] == botocore_stats.requests[ECR_CHECK]
    assert lean_stats.requests[ECR_CHECK] == len(plan_calls(registry.targets([NOT_A_REPOSITORY])))


def test_lean_path_meets_the_same_faults_and_retries_them_as_botocore_does(
    registry: FaultRegistry, function_clients: FunctionClients, fault_proxy: FaultProxy
) -> None:
    """20 % throttled, 5 % HTTP 503, 2 % dropped connections, drawn anew for each attempt."""
    clean = run_both(registry, function_clients, fault_proxy, FaultPlan(latency_seconds=0.0), [])["botocore"][0]

    runs = run_both(registry, function_clients, fault_proxy, ISSUE_MIX, [])

    (lean, lean_stats), (botocore_outcome, botocore_stats) = runs["lean"], runs["botocore"]
    assert lean == botocore_outcome == clean
    assert lean_stats.faults["throttling"] > 0 and lean_stats.faults["dropped"] > 0
    assert lean_stats.faults == botocore_stats.faults
    assert lean_stats.requests[ECR_CHECK] == botocore_stats.requests[ECR_CHECK]


def test_lean_path_gives_up_on_a_throttled_repository_after_the_clients_attempts(
    registry: FaultRegistry, function_clients: FunctionClients, fault_proxy: FaultProxy
) -> None:
    plan = FaultPlan(
        latency_seconds=0.0, throttled_repositories=(THROTTLED_REPOSITORY,), fault_targets=(ECR_TARGET_PREFIX,)
    )

    runs = run_both(registry, function_clients, fault_proxy, plan, [THROTTLED_REPOSITORY])

    (lean, lean_stats), (botocore_outcome, botocore_stats) = runs["lean"], runs["botocore"]
    assert lean == botocore_outcome
    throttled = lean.results[-1]
    assert Counter(failure.failureCode for failure in throttled.failures)["ThrottlingException"] == 130
    attempts = function_clients.ecr.meta.config.retries["total_max_attempts"]
    assert lean_stats.faults_by_operation[ECR_CHECK] == botocore_stats.faults_by_operation[ECR_CHECK] == 2 * attempts
