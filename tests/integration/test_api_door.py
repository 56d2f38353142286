"""The API door end to end in-process: API Gateway events in; answers, DynamoDB items and EMF metrics out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from layercheck.handler import lambda_handler
from layercheck.logic.digests import chunked, unique_in_order
from local.lambda_context import FakeLambdaContext
from local.scenario import MALFORMED_DIGESTS, MISSING_REPOSITORY, REPOSITORY_LAYERS, demo_request
from local.seed import blob, digest_of
from tests.conftest import ApiEvent
from tests.integration.conftest import stored_items
from tests.support import emf_blobs, emf_totals

pytestmark = pytest.mark.usefixtures("results_table")


def call(event: dict[str, Any], context: FakeLambdaContext) -> tuple[int, Any]:
    response = lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def ask_ecr_directly(ecr: Any, repository: str, digests: list[str]) -> dict[str, dict[str, Any]]:
    """ECR's own answer for each digest, one call per 100, as a user would ask it."""
    answers: dict[str, dict[str, Any]] = {}
    try:
        for chunk in chunked(unique_in_order(digests)):
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
