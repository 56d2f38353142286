"""Real HTTP through the local API Gateway to the handler, and from it over HTTP to a moto server on 127.0.0.1."""

from __future__ import annotations

import base64
import http.client
import json
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from local.adapter import LocalApiGateway, json_request, proxy_event
from local.scenario import MALFORMED_DIGESTS, MISSING_REPOSITORY, demo_request


def test_post_checks_over_http_agrees_with_ecr_over_http(local_api: LocalApiGateway, ecr_over_http: Any) -> None:
    request = demo_request()

    status, body = json_request(f"{local_api.url}/checks", "POST", request.body())

    assert status == 200
    for result in body["results"]:
        entries = result["layers"] + result["failures"]
        assert len(entries) == len(set(request.layer_digests)) == 128
        valid = [d for d in dict.fromkeys(request.layer_digests) if d not in MALFORMED_DIGESTS]
        if result["repositoryName"] == MISSING_REPOSITORY:
            with pytest.raises(ecr_over_http.exceptions.RepositoryNotFoundException):
                ecr_over_http.batch_check_layer_availability(repositoryName=MISSING_REPOSITORY, layerDigests=valid[:1])
            continue
        direct: dict[str, Any] = {}
        for start in range(0, len(valid), 100):
            answer = ecr_over_http.batch_check_layer_availability(
                repositoryName=result["repositoryName"], layerDigests=valid[start : start + 100]
            )
            direct.update({e["layerDigest"]: e for e in answer["layers"] + answer["failures"]})
        assert {e["layerDigest"]: e for e in entries if e["layerDigest"] in direct} == direct
    assert body["summary"]["checked"] == 4 * 128


def test_results_are_readable_over_http_after_a_check(local_api: LocalApiGateway) -> None:
    request = demo_request()
    json_request(f"{local_api.url}/checks", "POST", request.body())

    status, page = json_request(f"{local_api.url}/results?layerDigest={quote(request.layer_digests[0])}")

    assert status == 200
    assert {item["repositoryName"] for item in page["items"]} == {
        "platform/base",
        "team-a/api",
        "team-b/worker",
        MISSING_REPOSITORY,
    }


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"\xff\xfe binary", b'{"repositoryNames": 5}', json.dumps({"layerDigests": ["x"] * 10}).encode()],
)
def test_malformed_requests_over_http_get_4xx_with_a_json_body(local_api: LocalApiGateway, payload: bytes) -> None:
    status, body = json_request(f"{local_api.url}/checks", "POST", payload)

    assert 400 <= status < 500
    assert body["errors"] and body["message"]


def test_adapter_answers_502_when_the_handler_raises() -> None:
    def broken_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("boom")

    with LocalApiGateway(broken_handler) as api:
        status, body = json_request(f"{api.url}/checks", "POST", {"a": 1})

    assert (status, body) == (502, {"message": "Internal server error"})


def test_adapter_builds_a_complete_rest_proxy_event() -> None:
    captured: list[dict[str, Any]] = []

    def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
        captured.append(event)
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}

    with LocalApiGateway(echo) as api:
        parts = urlsplit(api.url)
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
        connection.putrequest("POST", "/results?repositoryName=a&repositoryName=b&limit=5")
        connection.putheader("X-Multi", "one")
        connection.putheader("X-Multi", "two")
        connection.putheader("Content-Length", "3")
        connection.endheaders(b"\xff\x00\x01")
        assert connection.getresponse().status == 200

    (event,) = captured
    assert event["httpMethod"] == "POST" and event["path"] == "/results"
    assert event["multiValueQueryStringParameters"] == {"repositoryName": ["a", "b"], "limit": ["5"]}
    assert event["queryStringParameters"] == {"repositoryName": "b", "limit": "5"}
    assert event["multiValueHeaders"]["X-Multi"] == ["one", "two"]
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\xff\x00\x01"
    context = event["requestContext"]
    assert context["stage"] == "local" and context["requestId"] and context["path"] == "/local/results"


def test_proxy_event_keeps_utf8_bodies_as_text() -> None:
    event = proxy_event("POST", "/checks", [("Content-Type", "application/json")], '{"ä": 1}'.encode())

    assert (event["body"], event["isBase64Encoded"]) == ('{"ä": 1}', False)
