"""The API door end to end in-process: API Gateway events in; answers, DynamoDB items and EMF metrics out."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import pytest

from layercheck.handler import lambda_handler
from layercheck.logic.chunks import chunked
from layercheck.logic.digests import MAX_DIGESTS_PER_CALL, unique_in_order
from local.lambda_context import FakeLambdaContext
from local.scenario import MALFORMED_DIGESTS, MISSING_REPOSITORY, REPOSITORY_LAYERS, demo_request
from local.seed import blob, digest_of
from tests.conftest import ApiEvent
from tests.integration.conftest import stored_items
from tests.support import emf_blobs, emf_totals, hand_layer_checks

pytestmark = pytest.mark.usefixtures("results_table")


def call(event: dict[str, Any], context: FakeLambdaContext) -> tuple[int, Any]:
    response = lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def ask_ecr_directly(ecr: Any, repository: str, digests: list[str]) -> dict[str, dict[str, Any]]:
    """ECR's own answer for each digest, one call per 100, as a user would ask it."""
    answers: dict[str, dict[str, Any]] = {}
    try:
        for chunk in chunked(unique_in_order(digests), MAX_DIGESTS_PER_CALL):
            response = ecr.batch_check_layer_availability(repositoryName=repository, layerDigests=chunk)
            answers.update({entry["layerDigest"]: entry for entry in response["layers"] + response["failures"]})
    except ecr.exceptions.RepositoryNotFoundException as error:
        message = error.response["Error"]["Message"]
        answers.update(
            {
                d: {"layerDigest": d, "failureCode": "RepositoryNotFoundException", "failureReason": message}
                for d in unique_in_order(digests)
            }
        )
    return answers


@pytest.mark.usefixtures("seeded_registry")
def test_post_checks_answers_every_distinct_pair_as_ecr_does(
    api_event: ApiEvent, lambda_context: FakeLambdaContext, ecr: Any, dynamodb: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given 4 repositories (one missing) and 133 digests: > 100, malformed ones and repeats
    request = demo_request()
    assert len(request.layer_digests) > 130 and len(set(request.layer_digests)) == 128

    # When
    status, body = call(api_event("POST", "/checks", body=request.body()), lambda_context)

    # Then every distinct digest is answered exactly once per repository, identical to ECR's own answer
    assert status == 200
    assert [r["repositoryName"] for r in body["results"]] == [*REPOSITORY_LAYERS, MISSING_REPOSITORY]
    for result in body["results"]:
        answered = [entry["layerDigest"] for entry in result["layers"] + result["failures"]]
        assert sorted(answered) == sorted(set(request.layer_digests))
        well_formed = [d for d in request.layer_digests if d not in MALFORMED_DIGESTS]
        direct = ask_ecr_directly(ecr, result["repositoryName"], well_formed)
        for entry in result["layers"] + result["failures"]:
            if entry["layerDigest"] in MALFORMED_DIGESTS:
                # never sent to ECR, answered as ECR answers them (even where the repository does not exist)
                assert entry == {
                    "layerDigest": entry["layerDigest"],
                    "failureCode": "InvalidLayerDigest",
                    "failureReason": f"Invalid layer digest '{entry['layerDigest']}'",
                }
            else:
                assert entry == direct[entry["layerDigest"]]
        assert result["registryId"] == "123456789012"

    # ... the summary adds up
    summary = body["summary"]
    held = {repo: {digest_of(blob(label)) for label in labels} for repo, labels in REPOSITORY_LAYERS.items()}
    assert summary == {
        "checked": 4 * 128,
        "available": sum(len(layers) for layers in held.values()),
        "unavailable": 0,
        "missing": sum(125 - len(layers) for layers in held.values()),
        "invalid": 4 * 3,
        "errors": 125,
    }

    # ... the EMF metrics say the same, dimensioned by Source=api
    totals = emf_totals(capsys.readouterr().out)
    assert totals == {
        "LayersChecked": summary["checked"],
        "LayersAvailable": summary["available"],
        "LayersUnavailable": 0,
        "LayersMissing": summary["missing"],
        "InvalidDigests": summary["invalid"],
        "CheckErrors": summary["errors"],
    }

    # ... and DynamoDB holds one item per pair with the answer's status
    items = stored_items(dynamodb)
    assert len(items) == summary["checked"]
    statuses = {(i["repositoryName"], i["layerDigest"]): i for i in items}
    for result in body["results"]:
        for layer in result["layers"]:
            item = statuses[(result["repositoryName"], layer["layerDigest"])]
            assert (item["status"], item["layerSize"], item["source"]) == ("AVAILABLE", layer["layerSize"], "api")
        for failure in result["failures"]:
            item = statuses[(result["repositoryName"], failure["layerDigest"])]
            assert item["failureCode"] == failure["failureCode"]
            assert item["status"] == {"MissingLayerDigest": "MISSING", "InvalidLayerDigest": "INVALID"}.get(
                failure["failureCode"], "ERROR"
            )
            assert item["checkId"] == body["checkId"]
            assert item["expiresAt"] > 0


@pytest.mark.usefixtures("small_registry")
def test_emf_metrics_carry_namespace_and_source_dimension(
    api_event: ApiEvent, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    call(
        api_event("POST", "/checks", body={"repositoryNames": ["platform/base"], "layerDigests": ["x"]}), lambda_context
    )

    (blob_,) = emf_blobs(capsys.readouterr().out)
    directive = blob_["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "LayerCheck"
    # exactly the contract's one dimension: CloudWatch matches dimension sets exactly
    assert directive["Dimensions"] == [["Source"]]
    assert blob_["Source"] == "api" and "service" not in blob_


@pytest.mark.usefixtures("small_registry")
def test_checking_again_overwrites_the_latest_state_instead_of_adding(
    api_event: ApiEvent, lambda_context: FakeLambdaContext, dynamodb: Any
) -> None:
    body = {"repositoryNames": ["platform/base", "team-a/api"], "layerDigests": [digest_of(blob("base-1")), "bad"]}

    call(api_event("POST", "/checks", body=body), lambda_context)
    call(api_event("POST", "/checks", body=body), lambda_context)

    assert len(stored_items(dynamodb)) == 4


@pytest.mark.usefixtures("small_registry")
def test_get_results_pages_through_a_repository(api_event: ApiEvent, lambda_context: FakeLambdaContext) -> None:
    digests = [digest_of(blob(f"base-{i}")) for i in range(60)]
    call(
        api_event("POST", "/checks", body={"repositoryNames": ["platform/base"], "layerDigests": digests}),
        lambda_context,
    )

    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        query = {"repositoryName": "platform/base", "limit": "25"} | ({"nextToken": token} if token else {})
        status, page = call(api_event("GET", "/results", query=query), lambda_context)
        assert status == 200
        seen += [item["layerDigest"] for item in page["items"]]
        pages += 1
        token = page["nextToken"]
        if not token:
            break

    assert sorted(seen) == sorted(digests)
    assert pages == 3


@pytest.mark.usefixtures("small_registry")
def test_get_results_by_digest_finds_every_repository_holding_it(
    api_event: ApiEvent, lambda_context: FakeLambdaContext
) -> None:
    base_0 = digest_of(blob("base-0"))
    call(
        api_event("POST", "/checks", body={"repositoryNames": [*REPOSITORY_LAYERS], "layerDigests": [base_0]}),
        lambda_context,
    )

    status, page = call(api_event("GET", "/results", query={"layerDigest": base_0}), lambda_context)

    assert status == 200
    assert sorted((i["repositoryName"], i["status"]) for i in page["items"]) == [
        ("platform/base", "AVAILABLE"),
        ("team-a/api", "AVAILABLE"),
        ("team-b/worker", "AVAILABLE"),
    ]


GOOD = {"repositoryNames": ["platform/base"], "layerDigests": [digest_of(blob("base-0"))]}


@pytest.mark.parametrize(
    ("raw_body", "status", "field", "rule"),
    [
        ("not json", 400, "", "json_invalid"),
        ('{"repositoryNames": ["a"', 400, "", "json_invalid"),
        (json.dumps({"layerDigests": ["x"]}), 422, "repositoryNames", "missing"),
        (json.dumps({"repositoryNames": ["platform/base"], "layerDigests": []}), 422, "layerDigests", "too_short"),
        (json.dumps({"repositoryNames": [], "layerDigests": ["x"]}), 422, "repositoryNames", "too_short"),
        (json.dumps({"repositoryNames": "platform/base", "layerDigests": ["x"]}), 422, "repositoryNames", "list_type"),
        (json.dumps({"repositoryNames": [1], "layerDigests": ["x"]}), 422, "repositoryNames.0", "string_type"),
        (
            json.dumps({"repositoryNames": ["UPPER"], "layerDigests": ["x"]}),
            422,
            "repositoryNames.0",
            "string_pattern_mismatch",
        ),
        (json.dumps(["platform/base"]), 422, "", "model_attributes_type"),
        (json.dumps({**GOOD, "registryId": "abc"}), 422, "registryId", "string_pattern_mismatch"),
        (json.dumps({**GOOD, "extra": 1}), 422, "extra", "extra_forbidden"),
        # bodies Powertools' own validation would turn into a crash
        ("[" * 100_000, 400, "", "json_invalid"),
        (
            '{"repositoryNames": ["platform/base"], "layerDigests": ["x"], "registryId": ' + "9" * 5000 + "}",
            400,
            "",
            "json_invalid",
        ),
        # strings that cannot be digests: refused, never stored under a key DynamoDB would reject
        (
            json.dumps({"repositoryNames": ["platform/base"], "layerDigests": [""]}),
            422,
            "layerDigests.0",
            "string_too_short",
        ),
        (
            json.dumps({"repositoryNames": ["platform/base"], "layerDigests": ["😀" * 10]}),
            422,
            "layerDigests.0",
            "string_pattern_mismatch",
        ),
        (
            json.dumps({"repositoryNames": ["platform/base"], "layerDigests": ["a" * 136]}),
            422,
            "layerDigests.0",
            "string_too_long",
        ),
        (
            json.dumps({"repositoryNames": ["platform/base"], "layerDigests": ["sha256:x"] * 1_000_000}),
            422,
            "layerDigests",
            "too_long",
        ),
        (
            json.dumps(
                {"repositoryNames": [f"r{i}" for i in range(20)], "layerDigests": [f"d{i}" for i in range(600)]}
            ),
            422,
            "",
            "too_many_pairs",
        ),
    ],
)
@pytest.mark.usefixtures("small_registry")
def test_malformed_check_requests_get_a_4xx_naming_field_and_rule(
    api_event: ApiEvent, lambda_context: FakeLambdaContext, raw_body: str, status: int, field: str, rule: str
) -> None:
    got_status, body = call(api_event("POST", "/checks", raw_body=raw_body), lambda_context)

    assert got_status == status
    assert body["message"]
    assert any(error["field"] == field and error["rule"] == rule for error in body["errors"]), body
    assert len(body["errors"]) <= 20

    # and a good request afterwards still works
    good_status, good = call(api_event("POST", "/checks", body=GOOD), lambda_context)
    assert (good_status, good["summary"]["available"]) == (200, 1)


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({}, 400, "repositoryName"),
        ({"repositoryName": "platform/base", "layerDigest": "sha256:" + "a" * 64}, 400, "layerDigest"),
        ({"layerDigest": "latest"}, 422, "layerDigest"),
        ({"repositoryName": "platform/base", "limit": "0"}, 422, "limit"),
        ({"repositoryName": "platform/base", "limit": "many"}, 422, "limit"),
        ({"repositoryName": "platform/base", "nextToken": "garbage!"}, 400, "nextToken"),
        # a well-formed token with keys DynamoDB would refuse (empty sort key, an extra attribute)
        (
            {
                "repositoryName": "platform/base",
                "nextToken": "eyJwayI6ICIxMjM0NTY3ODkwMTIjcGxhdGZvcm0vYmFzZSIsICJzayI6ICIifQ",
            },
            400,
            "nextToken",
        ),
        (
            {
                "repositoryName": "platform/base",
                "nextToken": "eyJwayI6ICIxMjM0NTY3ODkwMTIjcGxhdGZvcm0vYmFzZSIsICJzayI6ICJ4IiwgIngiOiAieSJ9",
            },
            400,
            "nextToken",
        ),
    ],
)
@pytest.mark.usefixtures("small_registry")
def test_malformed_results_queries_get_a_4xx_naming_the_parameter(
    api_event: ApiEvent, lambda_context: FakeLambdaContext, query: dict[str, str], status: int, field: str
) -> None:
    got_status, body = call(api_event("GET", "/results", query=query), lambda_context)

    assert got_status == status
    assert [error["field"] for error in body["errors"]] == [field]


@pytest.mark.usefixtures("small_registry")
def test_get_results_by_digest_can_be_narrowed_to_one_registry(
    api_event: ApiEvent, lambda_context: FakeLambdaContext
) -> None:
    base_0 = digest_of(blob("base-0"))
    call(
        api_event("POST", "/checks", body={"repositoryNames": ["platform/base"], "layerDigests": [base_0]}),
        lambda_context,
    )

    _, own = call(
        api_event("GET", "/results", query={"layerDigest": base_0, "registryId": "123456789012"}), lambda_context
    )
    _, other = call(
        api_event("GET", "/results", query={"layerDigest": base_0, "registryId": "210987654321"}), lambda_context
    )

    assert [item["repositoryName"] for item in own["items"]] == ["platform/base"]
    assert other["items"] == []


def test_unknown_routes_answer_404(api_event: ApiEvent, lambda_context: FakeLambdaContext) -> None:
    status, _ = call(api_event("GET", "/nothing-here"), lambda_context)

    assert status == 404


@pytest.mark.usefixtures("small_registry")
def test_a_storage_failure_is_a_503_never_a_silent_success(
    api_event: ApiEvent, lambda_context: FakeLambdaContext, dynamodb: Any
) -> None:
    dynamodb.delete_table(TableName="layercheck-results-test")

    status, body = call(api_event("POST", "/checks", body=GOOD), lambda_context)

    assert status == 503
    assert "could not be stored" in body["message"]


def test_swagger_ui_and_openapi_document_are_served(api_event: ApiEvent, lambda_context: FakeLambdaContext) -> None:
    page = lambda_handler(api_event("GET", "/swagger"), lambda_context)
    document = lambda_handler(api_event("GET", "/swagger", query={"format": "json"}), lambda_context)

    assert page["statusCode"] == 200 and "swagger" in page["body"].lower()
    assert "/checks" in json.loads(document["body"])["paths"]


# -- registries this deployment serves (REGISTRY_IDS) ---------------------------------------------------------------


class NoEcrCalls:
    """A service that fails the test if the door hands it anything: a refused request never reaches ECR or DynamoDB."""

    def check_and_store(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the refused request reached the check service")


@pytest.mark.parametrize(
    ("registry_ids", "requested"),
    [
        (None, "210987654321"),  # default: this account only (the account in the function's ARN)
        ("210987654321", "123456789012"),  # configured: the function's own account is no longer served
        ("210987654321", None),  # ... not even as ECR's default registry
    ],
)
def test_post_checks_refuses_a_registry_not_served_before_any_call(
    api_event: ApiEvent,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    dynamodb: Any,
    registry_ids: str | None,
    requested: str | None,
) -> None:
    if registry_ids is not None:
        monkeypatch.setenv("REGISTRY_IDS", registry_ids)
    hand_layer_checks(monkeypatch, lambda services, registry: NoEcrCalls())
    body = GOOD | ({"registryId": requested} if requested else {})

    status, answer = call(api_event("POST", "/checks", body=body), lambda_context)

    assert status == 403
    assert answer["errors"] == [
        {"location": "body", "field": "registryId", "rule": "served_registry", "message": answer["message"]}
    ]
    assert "REGISTRY_IDS" in answer["message"]
    assert stored_items(dynamodb) == []


@pytest.mark.usefixtures("small_registry")
def test_post_checks_checks_every_configured_registry(
    api_event: ApiEvent, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_IDS", "123456789012, 210987654321")

    own_status, own = call(api_event("POST", "/checks", body=GOOD), lambda_context)
    other_status, other = call(api_event("POST", "/checks", body=GOOD | {"registryId": "210987654321"}), lambda_context)

    assert (own_status, own["summary"]["available"]) == (200, 1)
    assert other_status == 200 and other["results"][0]["registryId"] == "210987654321"


# -- bodies, whatever their Content-Type and encoding -----------------------------------------------------------------


def with_content_type(event: dict[str, Any], content_type: str) -> dict[str, Any]:
    event["headers"]["Content-Type"] = content_type
    if event.get("multiValueHeaders"):
        event["multiValueHeaders"]["Content-Type"] = [content_type]
    return event


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", "application/json"])
@pytest.mark.usefixtures("small_registry")
def test_post_checks_reads_a_json_body_whatever_its_content_type(
    api_event: ApiEvent, lambda_context: FakeLambdaContext, content_type: str
) -> None:
    # curl -d '{...}' sends application/x-www-form-urlencoded unless told otherwise
    event = with_content_type(api_event("POST", "/checks", body=GOOD), content_type)

    status, answer = call(event, lambda_context)

    assert (status, answer["summary"]["available"]) == (200, 1)


def test_a_body_that_is_not_json_names_the_content_type_it_came_with(
    api_event: ApiEvent, lambda_context: FakeLambdaContext
) -> None:
    event = with_content_type(
        api_event("POST", "/checks", raw_body="repositoryNames=platform/base&layerDigests=x"),
        "application/x-www-form-urlencoded",
    )

    status, answer = call(event, lambda_context)

    assert status == 400
    assert "Content-Type application/x-www-form-urlencoded" in answer["message"]
    assert "application/json" in answer["message"]
    assert [error["rule"] for error in answer["errors"]] == ["json_invalid"]


@pytest.mark.parametrize(
    "raw_body",
    [
        base64.b64encode(b'{"repositoryNames": ["\xff\xfe"]}').decode(),  # not UTF-8
        "not base64 at all!",
    ],
)
def test_a_base64_body_that_is_not_utf8_json_is_a_400(
    api_event: ApiEvent, lambda_context: FakeLambdaContext, raw_body: str
) -> None:
    event = api_event("POST", "/checks", raw_body=raw_body)
    event["isBase64Encoded"] = True

    status, answer = call(event, lambda_context)

    assert status == 400
    assert [(error["field"], error["rule"]) for error in answer["errors"]] == [("", "json_invalid")]


# -- the API's deadline (API Gateway gives up after 29 s) -----------------------------------------------------------


@dataclass
class CountdownContext(FakeLambdaContext):
    """A Lambda context on a fake clock: the function has ``timeout_ms`` and each ECR call takes ``call_ms``."""

    timeout_ms: int = 30_000
    elapsed_ms: int = 0

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return self.timeout_ms - self.elapsed_ms


class SlowRegistry:
    """ECR, as far as the check engine sees it: every call answers AVAILABLE and takes ``call_ms`` of the fake clock."""

    def __init__(self, context: CountdownContext, call_ms: int) -> None:
        self.context, self.call_ms, self.calls = context, call_ms, 0

    def batch_check_layer_availability(self, registry_id: str, repository_name: str, digests: list[str]) -> Any:
        from layercheck.logic.check import BatchAnswer
        from layercheck.models.verdicts import LayerAnswer

        self.calls += 1
        self.context.elapsed_ms += self.call_ms
        return BatchAnswer(layers=[LayerAnswer(layerDigest=d, layerAvailability="AVAILABLE") for d in digests])


def test_post_checks_starts_no_ecr_call_after_the_deadline(
    api_event: ApiEvent, monkeypatch: pytest.MonkeyPatch, dynamodb: Any, results_table: str
) -> None:
    from layercheck.logic.layer_check import LayerCheckService

    # Given calls of 10 s each, one at a time, and the default budget of 27 s
    context = CountdownContext()
    registry = SlowRegistry(context, call_ms=10_000)
    hand_layer_checks(
        monkeypatch, lambda services, _: LayerCheckService(registry, services.results, workers=1, region="us-east-1")
    )
    repositories = [f"team-{i}/app" for i in range(5)]

    # When 5 repositories are asked about
    status, answer = call(
        api_event("POST", "/checks", body={"repositoryNames": repositories, "layerDigests": GOOD["layerDigests"]}),
        context,
    )

    # Then the calls started at 0, 10 and 20 s ran; none started at 30 s; the others are DeadlineExceeded errors
    assert status == 200
    assert registry.calls == 3
    failures = [failure for result in answer["results"] for failure in result["failures"]]
    assert [f["failureCode"] for f in failures] == ["DeadlineExceeded"] * 2
    assert "ask again" in failures[0]["failureReason"]
    assert answer["summary"] == {
        "checked": 5,
        "available": 3,
        "unavailable": 0,
        "missing": 0,
        "invalid": 0,
        "errors": 2,
    }
    # ... and only what was checked is stored: an unchecked pair never overwrites a real verdict
    assert sorted(item["repositoryName"] for item in stored_items(dynamodb)) == repositories[:3]


def test_the_deadline_follows_a_function_timeout_shorter_than_the_budget(
    api_event: ApiEvent, monkeypatch: pytest.MonkeyPatch, results_table: str
) -> None:
    from layercheck.logic.layer_check import LayerCheckService

    # Given a function with 12 s left (2 s of them kept to store and answer), API_DEADLINE_SECONDS=27, 3 s calls
    context = CountdownContext(timeout_ms=12_000)
    registry = SlowRegistry(context, call_ms=3_000)
    hand_layer_checks(
        monkeypatch, lambda services, _: LayerCheckService(registry, services.results, workers=1, region="us-east-1")
    )
    body = {"repositoryNames": [f"r{i}" for i in range(5)], "layerDigests": GOOD["layerDigests"]}

    status, answer = call(api_event("POST", "/checks", body=body), context)

    # Then calls start at 0, 3, 6 and 9 s of the 10 s left to check; not at 12 s
    assert status == 200
    assert registry.calls == 4
    assert answer["summary"]["errors"] == 1


def test_a_shorter_api_deadline_seconds_stops_earlier(
    api_event: ApiEvent, monkeypatch: pytest.MonkeyPatch, results_table: str
) -> None:
    from layercheck.logic.layer_check import LayerCheckService

    monkeypatch.setenv("API_DEADLINE_SECONDS", "5")
    context = CountdownContext()
    registry = SlowRegistry(context, call_ms=3_000)
    hand_layer_checks(
        monkeypatch, lambda services, _: LayerCheckService(registry, services.results, workers=1, region="us-east-1")
    )
    body = {"repositoryNames": [f"r{i}" for i in range(5)], "layerDigests": GOOD["layerDigests"]}

    _, answer = call(api_event("POST", "/checks", body=body), context)

    assert registry.calls == 2  # at 0 and 3 s; not at 6 s
    assert answer["summary"]["errors"] == 3


# -- the OpenAPI document, where it is served --------------------------------------------------------------------


def test_the_served_openapi_document_is_the_committed_one(
    api_event: ApiEvent, lambda_context: FakeLambdaContext
) -> None:
    from local.openapi import openapi_document

    served = lambda_handler(api_event("GET", "/swagger", query={"format": "json"}), lambda_context)

    assert json.loads(served["body"]) == openapi_document()


def test_the_openapi_server_resolves_to_the_stage_behind_api_gateway(
    api_event: ApiEvent, lambda_context: FakeLambdaContext
) -> None:
    # Swagger UI resolves a relative server URL against the document's URL (the page's, with ?format=json)
    document_url = "https://abcdef1234.execute-api.us-east-1.amazonaws.com/prod/swagger?format=json"
    served = json.loads(lambda_handler(api_event("GET", "/swagger", query={"format": "json"}), lambda_context)["body"])

    (server,) = served["servers"]
    base = urljoin(document_url, server["url"]).rstrip("/")

    assert base + "/checks" == "https://abcdef1234.execute-api.us-east-1.amazonaws.com/prod/checks"
    assert served["components"]["securitySchemes"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert served["security"] == [{"sigv4": []}]
    checks = served["paths"]["/checks"]["post"]
    assert checks["tags"] == ["checks"] and {"403", "503"} <= set(checks["responses"])
