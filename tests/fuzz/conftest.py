"""Fuzz tier: generated requests over real HTTP to the local API Gateway, with a moto server behind the handler."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.adapter import LocalApiGateway
from local.environment import create_results_table, lambda_environment, moto_server
from tests.fault.conftest import reset_moto


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        reset_moto(endpoint)
        create_results_table(endpoint)
        yield endpoint


@pytest.fixture
def api_url(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The handler behind the local API Gateway, as the function runs it, its AWS calls going to the moto server."""
    for name, value in lambda_environment(moto_endpoint).items():
        monkeypatch.setenv(name, value)
    from layercheck.handler import lambda_handler

    with LocalApiGateway(lambda_handler, stdout_sink=[]) as api:
        yield api.url
