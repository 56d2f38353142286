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


def test_every_door_in_the_table_resolves_to_a_function() -> None:
    # Given the dispatch table, whose doors are named as "module:function" so they are imported on first use
    from layercheck.handler import DOORS, _door_function

    # Then each name resolves to a callable (a renamed door would otherwise fail only when its event arrives)
    for door in DOORS:
        assert callable(_door_function(door.entry)), door.entry


@pytest.mark.parametrize(
    ("event_file", "recognised_by"),
    [
        ("api_gateway_rest_proxy.json", "layercheck.doors.checks:handle"),
        ("sqs_audit_work_item.json", "layercheck.doors.queue:handle"),
        ("ecr_image_push.json", "layercheck.doors.push:handle"),
        ("eventbridge_scheduled_event.json", "layercheck.doors.schedule:handle_scheduled_event"),
        ("scheduler_scheduled_event.json", "layercheck.doors.schedule:handle_scheduled_event"),
        ("audit_constant_input.json", "layercheck.doors.schedule:handle_constant_input"),
    ],
)
def test_each_sample_event_is_recognised_by_exactly_one_door(event_file: str, recognised_by: str) -> None:
    from layercheck.handler import DOORS

    event = load_event(event_file)
    recognising = [door.entry for door in DOORS if door.recognises(event)]
    # POST /checks is an API event too: its light door comes first, the REST resolver would answer it the same way
    if recognised_by == "layercheck.doors.checks:handle":
        assert recognising == [recognised_by, "layercheck.doors.api:handle"]
    else:
        assert recognising == [recognised_by]


@pytest.mark.parametrize(
    ("method", "path", "door"),
    [
        ("POST", "/checks", "layercheck.doors.checks:handle"),
        ("GET", "/checks", "layercheck.doors.api:handle"),
        ("post", "/checks", "layercheck.doors.api:handle"),
        ("POST", "/checks/", "layercheck.doors.api:handle"),
        ("GET", "/results", "layercheck.doors.api:handle"),
        ("POST", "/images/checks", "layercheck.doors.api:handle"),
        ("GET", "/swagger", "layercheck.doors.api:handle"),
    ],
)
def test_only_post_checks_exactly_takes_the_light_door(method: str, path: str, door: str) -> None:
    from layercheck.handler import DOORS

    event = {**load_event("api_gateway_rest_proxy.json"), "httpMethod": method, "path": path}
    assert next(entry.entry for entry in DOORS if entry.recognises(event)) == door
