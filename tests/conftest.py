"""Shared fixtures: the Lambda's environment, a fake context, API Gateway events built from a published sample."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

# Powertools reads these when its objects are created (module import), as in Lambda where the stack sets them first.
os.environ.update(
    {
        "POWERTOOLS_SERVICE_NAME": "layercheck",
        "POWERTOOLS_METRICS_NAMESPACE": "LayerCheck",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)

from layercheck import dependencies
from layercheck.observability import metrics
from local.lambda_context import FakeLambdaContext
from tests.support import TABLE_NAME, load_event


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    """Each test starts with no cached clients/settings and no pending metrics."""
    dependencies.reset()
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()
    dependencies.reset()


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Fake credentials and the environment the stack gives the function (no endpoint: moto intercepts in-process)."""
    values = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "RESULTS_TABLE_NAME": TABLE_NAME,
    }
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


ApiEvent = Callable[..., dict[str, Any]]


@pytest.fixture
def api_event() -> ApiEvent:
    """``api_event("POST", "/checks", body={...})``: AWS's REST proxy sample carrying this request."""

    def build(
        method: str,
        path: str,
        *,
        body: Any = None,
        raw_body: str | None = None,
        query: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        event = copy.deepcopy(load_event("api_gateway_rest_proxy.json"))
        event["httpMethod"] = event["requestContext"]["httpMethod"] = method
        event["path"] = path
        event["pathParameters"] = {"proxy": path.lstrip("/")}
        event["requestContext"]["path"] = f"/prod{path}"
        event["body"] = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
        if query:
            event["queryStringParameters"] = dict(query)
            event["multiValueQueryStringParameters"] = {name: [value] for name, value in query.items()}
            event["requestContext"]["path"] += "?" + urlencode(query)
        return event

    return build
