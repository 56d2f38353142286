"""The fault proxy answers as AWS does, so botocore treats each injected fault as the real one (and retries it)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from local.faultproxy import FaultPlan, FaultProxy, remote_reset, remote_set_plan, remote_stats
from tests.fault.conftest import CREDENTIALS, FaultRegistry

ECR_CHECK = "BatchCheckLayerAvailability"


def ecr_with_attempts(proxy: FaultProxy, attempts: int) -> Any:
    return boto3.client(
        "ecr",
        endpoint_url=proxy.url,
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
        **CREDENTIALS,
    )


def check_one(client: Any, registry: FaultRegistry) -> Any:
    return client.batch_check_layer_availability(
        repositoryName=registry.repositories[0], layerDigests=registry.digests[:3]
    )


def test_throttling_answer_is_a_throttling_exception_botocore_retries(
    registry: FaultRegistry, fault_proxy: FaultProxy
) -> None:
    fault_proxy.set_plan(FaultPlan(latency_seconds=0.0, throttle_share=1.0))
    with pytest.raises(ClientError) as raised:
        check_one(ecr_with_attempts(fault_proxy, 3), registry)
    assert raised.value.response["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert fault_proxy.stats().faults == {"throttling": 3}


def test_http_503_is_a_transient_error_botocore_retries(registry: FaultRegistry, fault_proxy: FaultProxy) -> None:
    fault_proxy.set_plan(FaultPlan(latency_seconds=0.0, unavailable_share=1.0))
    with pytest.raises(ClientError) as raised:
        check_one(ecr_with_attempts(fault_proxy, 2), registry)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert fault_proxy.stats().faults == {"unavailable": 2}


def test_dropped_connection_is_a_connection_error_botocore_retries(
    registry: FaultRegistry, fault_proxy: FaultProxy
) -> None:
    fault_proxy.set_plan(FaultPlan(latency_seconds=0.0, drop_share=1.0))
    with pytest.raises(ConnectionClosedError):
        check_one(ecr_with_attempts(fault_proxy, 2), registry)
    assert fault_proxy.stats().faults == {"dropped": 2}


def test_without_faults_the_answer_is_moto_s_and_every_request_is_counted_by_operation(
    registry: FaultRegistry, fault_proxy: FaultProxy
) -> None:
    answer = check_one(ecr_with_attempts(fault_proxy, 1), registry)
    assert len(answer["layers"]) + len(answer["failures"]) == 3
    stats = fault_proxy.stats()
    assert stats.requests == stats.forwarded == {ECR_CHECK: 1}
    assert not stats.faults


def test_the_same_seed_and_requests_draw_the_same_faults_whatever_the_order(fault_proxy: FaultProxy) -> None:
    plan = FaultPlan(latency_seconds=0.0, throttle_share=0.3, unavailable_share=0.2, drop_share=0.1, seed=11)
    bodies = [f'{{"repositoryName": "r{i}"}}'.encode() for i in range(200)]

    def draws(order: list[bytes]) -> dict[bytes, object]:
        fault_proxy.set_plan(plan)
        fault_proxy.reset()
        return {body: fault_proxy.decide("AmazonEC2ContainerRegistry_V20150921.X", body)[0] for body in order}

    forward, backward = draws(bodies), draws(bodies[::-1])
    assert forward == backward
    assert {str(kind) for kind in forward.values()} == {"throttling", "unavailable", "dropped", "None"}


def test_faults_can_be_limited_to_one_service_and_one_repository(fault_proxy: FaultProxy) -> None:
    fault_proxy.set_plan(
        FaultPlan(
            latency_seconds=0.0, throttled_repositories=("team/hot",), fault_targets=("AmazonEC2ContainerRegistry_",)
        )
    )
    ecr = "AmazonEC2ContainerRegistry_V20150921.BatchCheckLayerAvailability"
    assert fault_proxy.decide(ecr, b'{"repositoryName": "team/hot"}')[0] == "throttling"
    assert fault_proxy.decide(ecr, b'{"repositoryName": "team/cold"}')[0] is None
    assert fault_proxy.decide("DynamoDB_20120810.BatchWriteItem", b'{"repositoryName": "team/hot"}')[0] is None


def test_a_proxy_in_another_process_is_steered_through_its_admin_endpoints(
    registry: FaultRegistry, fault_proxy: FaultProxy
) -> None:
    remote_set_plan(fault_proxy.url, FaultPlan(latency_seconds=0.001, throttle_share=1.0))
    assert fault_proxy.plan.throttle_share == 1.0
    with pytest.raises(ClientError):
        check_one(ecr_with_attempts(fault_proxy, 1), registry)
    assert remote_stats(fault_proxy.url).faults_by_operation == {ECR_CHECK: 1}
    remote_reset(fault_proxy.url)
    assert remote_stats(fault_proxy.url).requests == {}


def test_a_plan_with_shares_over_one_is_refused() -> None:
    with pytest.raises(ValueError, match="add up to at most 1"):
        FaultPlan(throttle_share=0.8, drop_share=0.3)
