"""Fault tier: the real ECR and DynamoDB integrations against a moto server on 127.0.0.1, behind the fault proxy.

The registry is seeded once per module. Layers go in through moto's own layer-upload flow, called in-process (the
server runs in this process): the same initiate / upload part / complete steps, without 3,000 HTTP round trips.
"""

from __future__ import annotations

import contextlib
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.retries import standard

from layercheck.logic.check import RepositoryTarget
from local.environment import (
    RESULTS_TABLE_NAME,
    create_results_table,
    lambda_environment,
    moto_server,
    patched_environ,
)
from local.faultproxy import FaultPlan, FaultProxy
from local.lambda_context import LOCAL_ACCOUNT_ID, LOCAL_REGION
from local.seed import blob, digest_of

ECR_TARGET_PREFIX = "AmazonEC2ContainerRegistry_"
DYNAMODB_TARGET_PREFIX = "DynamoDB_"
THROTTLED_REPOSITORY = "fault/always-throttled"
CREDENTIALS = {"region_name": LOCAL_REGION, "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass(frozen=True)
class FaultRegistry:
    """20 repositories × 150 digests (3,000 pairs): 130 well-formed, each held by about a third of the repositories,
    and 20 malformed. Two ECR calls per repository (100 + 30 valid digests)."""

    repositories: list[str]
    digests: list[str]
    held: dict[str, set[str]]

    def targets(self, extra: list[str] | None = None) -> list[RepositoryTarget]:
        return [RepositoryTarget(LOCAL_ACCOUNT_ID, name, self.digests) for name in self.repositories + (extra or [])]


def _seed_layers(repository: str, labels: list[str]) -> set[str]:
    from moto.ecr.models import ecr_backends

    backend = ecr_backends[LOCAL_ACCOUNT_ID][LOCAL_REGION]
    digests = set()
    for label in labels:
        data = blob(label, 128)
        upload = backend.initiate_layer_upload(repository)
        backend.upload_layer_part(repository, upload["uploadId"], 0, len(data) - 1, data)
        digests.add(backend.complete_layer_upload(repository, upload["uploadId"], [])["layerDigest"])
    return digests


def reset_moto(endpoint: str) -> None:
    """moto keeps its state per process, shared by every server in it: start each module from an empty account."""
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30).close()


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        reset_moto(endpoint)
        yield endpoint


@pytest.fixture(scope="module")
def registry(moto_endpoint: str) -> FaultRegistry:
    ecr: Any = boto3.client("ecr", endpoint_url=moto_endpoint, **CREDENTIALS)
    labels = [f"fault-layer-{i}" for i in range(130)]
    repositories = [f"fault/service-{k:02d}" for k in range(20)]
    held = {}
    for k, name in enumerate([*repositories, THROTTLED_REPOSITORY]):
        ecr.create_repository(repositoryName=name)
        held[name] = _seed_layers(name, [label for i, label in enumerate(labels) if (i + k) % 3 == 0])
    malformed = [f"sha256:XYZ{i:061d}" if i % 2 else f"v1.{i}" for i in range(20)]
    digests = [digest_of(blob(label, 128)) for label in labels] + malformed
    return FaultRegistry(repositories, digests, held)


@pytest.fixture
def results_table(moto_endpoint: str, request: pytest.FixtureRequest) -> str:
    """A fresh results table per test, so that reading back what a test stored reads only that."""
    name = f"{RESULTS_TABLE_NAME}-{abs(hash(request.node.nodeid)) % 10**8}"
    create_results_table(moto_endpoint, name)
    return name


@pytest.fixture(scope="module")
def module_proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    with FaultProxy(moto_endpoint, FaultPlan(latency_seconds=0.0)) as proxy:
        yield proxy


@pytest.fixture
def fault_proxy(module_proxy: FaultProxy) -> Iterator[FaultProxy]:
    """The module's proxy with no faults and no latency; each test sets its own plan."""
    module_proxy.set_plan(FaultPlan(latency_seconds=0.0))
    module_proxy.reset()
    yield module_proxy
    module_proxy.set_plan(FaultPlan(latency_seconds=0.0))


@dataclass(frozen=True)
class FunctionClients:
    ecr: Any
    dynamodb: Any


@pytest.fixture
def function_clients(fault_proxy: FaultProxy) -> FunctionClients:
    """ECR and DynamoDB clients built exactly as the function builds them (retry configuration included), pointed at
    the proxy through botocore's own ``AWS_ENDPOINT_URL``."""
    from layercheck.integrations import ecr, results_table

    with patched_environ(lambda_environment(fault_proxy.url)):
        return FunctionClients(ecr=ecr.new_client(16), dynamodb=results_table.new_client())


def total_attempts(client: Any) -> int:
    """How many times botocore sends one call before giving up (first try included)."""
    return int(client.meta.config.retries["total_max_attempts"])


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's retry decisions and attempt counts stay real; only its backoff unit shrinks (1 s -> 10 ms for
    throttling), so exhausting seven attempts takes a fraction of a second instead of up to a minute."""
    scales = getattr(standard.ExponentialBackoff, "_DEFAULT_BACKOFF_CONFIG", None)
    if isinstance(scales, dict):
        monkeypatch.setitem(scales, "throttling_base_scale", 0.01)
        monkeypatch.setitem(scales, "non_throttling_base_scale", 0.002)
    with contextlib.suppress(AttributeError):
        for service in ("dynamodb",):
            service_scales = standard.ExponentialBackoff._SERVICE_BACKOFF_CONFIG.get(service)
            if isinstance(service_scales, dict):
                monkeypatch.setitem(service_scales, "non_throttling_base_scale", 0.002)
