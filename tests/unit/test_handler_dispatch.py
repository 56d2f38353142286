"""The handler refuses events no door recognises, loudly, so an asynchronous caller's retries and DLQ keep them."""

from __future__ import annotations

import pytest

from layercheck.errors import UnsupportedEventError
from layercheck.handler import is_api_event, lambda_handler
from local.lambda_context import FakeLambdaContext
from tests.support import load_event


def test_api_gateway_events_are_recognised() -> None:
    assert is_api_event(load_event("api_gateway_rest_proxy.json"))
    assert not is_api_event({"source": "aws.ecr"})


@pytest.mark.parametrize(
    "event", [{}, {"hello": "world"}, {"source": "com.example", "detail-type": "Other"}, None, 42, "text", [1]]
)
def test_unrecognised_events_raise_a_clear_error(event: object) -> None:
    with pytest.raises(UnsupportedEventError, match="unsupported event"):
        lambda_handler(event, FakeLambdaContext())  # type: ignore[arg-type]
