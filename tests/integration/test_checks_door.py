"""The light ``POST /checks`` door answers exactly as the REST resolver's route does: the same event given to both
doors gets the same response, status, headers and body byte for byte (valid requests, every kind of malformed body,
each mapped domain error), and an error neither maps propagates from both."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layercheck.doors import api, checks
from layercheck.errors import ResultsNotStoredError
from layercheck.logic.layer_check import LayerCheckService
from layercheck.models.stored import StoredItem
from local.lambda_context import FakeLambdaContext
from tests.conftest import ApiEvent
from tests.fuzz.test_decoder_properties import PROPERTY, AvailableRegistry, MemoryStore, content_types, raw_bodies
from tests.support import hand_layer_checks

DIGEST = "sha256:" + "a" * 64
GOOD = {"repositoryNames": ["platform/base", "team-a/api"], "layerDigests": [DIGEST, "sha256:bad", DIGEST]}


class RefusingStore:
    def put_verdicts(self, items: Sequence[StoredItem]) -> int:
        raise ResultsNotStoredError([{"pk": "x"}], "ProvisionedThroughputExceededException")


@pytest.fixture
def over_fakes(monkeypatch: pytest.MonkeyPatch, aws_environment: dict[str, str]) -> None:
    service = LayerCheckService(AvailableRegistry(), MemoryStore(), region="us-east-1")
    hand_layer_checks(monkeypatch, lambda services, registry: service)


def both(event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    context = FakeLambdaContext()
    return checks.handle(json.loads(json.dumps(event)), context), api.handle(json.loads(json.dumps(event)), context)


def with_body(api_event: ApiEvent, raw_body: str | None, content_type: str = "application/json") -> dict[str, Any]:
    event = api_event("POST", "/checks", raw_body=raw_body)
    event["headers"]["Content-Type"] = event["multiValueHeaders"]["Content-Type"][0] = content_type
    return event


RAW_BODIES = [
    json.dumps(GOOD),
    json.dumps({**GOOD, "registryId": "123456789012"}),
    json.dumps([GOOD]),  # a list stands for its first element
    json.dumps([GOOD, 1]),
    json.dumps([]),
    json.dumps([1]),
    "null",
    "",
    None,
    "0",
    "false",
    '""',
    '"text"',
    "{",
    '{"repositoryNames": ["a"], ',
    "[" * 5000,
    '{"registryId": ' + "9" * 5000 + "}",
    json.dumps({"repositoryNames": [], "layerDigests": []}),
    json.dumps({"repositoryNames": ["UPPER", "a"], "layerDigests": ["x" * 200, "", 3]}),
    json.dumps({**GOOD, "extra": True}),
    json.dumps({**GOOD, "registryId": "42", "region": "mars-1"}),
    json.dumps({"repositoryNames": [f"r{i}" for i in range(101)], "layerDigests": [f"d{i}" for i in range(1001)]}),
    json.dumps({"repositoryNames": [f"r{i:02}" for i in range(100)], "layerDigests": [f"d{i}" for i in range(101)]}),
    json.dumps({"repositoryNames": "platform/base", "layerDigests": {"a": 1}}),
]


@pytest.mark.usefixtures("over_fakes")
@pytest.mark.parametrize("raw_body", RAW_BODIES)
@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded", "text/plain"])
def test_both_doors_answer_a_body_alike(api_event: ApiEvent, raw_body: str | None, content_type: str) -> None:
    light, resolver = both(with_body(api_event, raw_body, content_type))
    assert light == resolver


@pytest.mark.usefixtures("over_fakes")
@pytest.mark.parametrize("raw", [b"\xff\xfe not utf-8", b"not base64 at all", json.dumps(GOOD).encode()])
def test_both_doors_answer_a_base64_body_alike(api_event: ApiEvent, raw: bytes) -> None:
    event = with_body(api_event, base64.b64encode(raw).decode() if raw != b"not base64 at all" else "%%%")
    event["isBase64Encoded"] = True
    light, resolver = both(event)
    assert light == resolver


@pytest.mark.usefixtures("over_fakes")
@pytest.mark.parametrize(
    ("variables", "body"),
    [
        ({}, {**GOOD, "registryId": "210987654321"}),  # not served: 403
        ({"AUDIT_REGIONS": "eu-west-1"}, {**GOOD, "region": "ap-south-1"}),  # not audited: 403
        ({"AUDIT_REGIONS": "us-east-1,eu-west-1"}, {**GOOD, "region": "eu-west-2"}),
    ],
)
def test_both_doors_map_domain_errors_alike(
    api_event: ApiEvent, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], body: dict[str, Any]
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    light, resolver = both(api_event("POST", "/checks", body=body))
    assert light["statusCode"] == 403
    assert light == resolver


@pytest.mark.usefixtures("aws_environment")
def test_both_doors_answer_a_storage_failure_with_the_same_503(
    api_event: ApiEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = LayerCheckService(AvailableRegistry(), RefusingStore(), region="us-east-1")
    hand_layer_checks(monkeypatch, lambda services, registry: service)
    light, resolver = both(api_event("POST", "/checks", body=GOOD))
    assert light["statusCode"] == 503
    assert light == resolver


@pytest.mark.usefixtures("aws_environment")
def test_an_unmapped_error_propagates_from_both_doors(api_event: ApiEvent, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> LayerCheckService:
        raise LookupError("a bug, not a client's mistake")

    hand_layer_checks(monkeypatch, lambda services, registry: broken())
    event = api_event("POST", "/checks", body=GOOD)
    for door in (checks.handle, api.handle):
        with pytest.raises(LookupError):
            door(event, FakeLambdaContext())


@pytest.mark.usefixtures("over_fakes")
def test_both_doors_answer_generated_bodies_alike(api_event: ApiEvent) -> None:
    @PROPERTY
    @given(body=st.one_of(raw_bodies, st.binary(max_size=60)), content_type=content_types)
    def property_(body: str | bytes, content_type: str) -> None:
        if isinstance(body, bytes):
            event = with_body(api_event, base64.b64encode(body).decode(), content_type)
            event["isBase64Encoded"] = True
        else:
            event = with_body(api_event, body, content_type)
        light, resolver = both(event)
        assert light == resolver

    property_()
