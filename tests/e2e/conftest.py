"""End-to-end tier: real HTTP on 127.0.0.1 — a moto server for AWS and the local API Gateway in front of the handler."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local.adapter import LocalApiGateway
from local.environment import create_results_table, lambda_environment, moto_server
from local.lambda_context import LOCAL_REGION
from local.scenario import seed_registry


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def seeded_endpoint(moto_endpoint: str) -> str:
    ecr = boto3.client(
        "ecr", endpoint_url=moto_endpoint, region_name=LOCAL_REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )
    seed_registry(ecr)
    create_results_table(moto_endpoint)
    return moto_endpoint


@pytest.fixture
def local_api(seeded_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalApiGateway]:
    """The handler behind the local API Gateway, its AWS calls going over HTTP to the moto server."""
    for name, value in lambda_environment(seeded_endpoint).items():
        monkeypatch.setenv(name, value)
    from layercheck.handler import lambda_handler

    with LocalApiGateway(lambda_handler) as api:
        yield api


@pytest.fixture
def ecr_over_http(seeded_endpoint: str) -> Any:
    return boto3.client(
        "ecr", endpoint_url=seeded_endpoint, region_name=LOCAL_REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )
