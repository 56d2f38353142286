"""Each contract is defined once: the Lambda, the local tooling (and, in tests/infra, the stack) use the same names.

The names themselves are DESIGN.md's: tests outside this repository rely on them exactly, so they are pinned here
against the document's spelling, not against the constants (which would make the check unable to fail).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from layercheck.contracts import environment, events, metrics, patterns, routes
from layercheck.models.stored import Source
from layercheck.settings import Settings
from local.environment import lambda_environment


def _constants(module: object) -> dict[str, object]:
    return {name: value for name, value in vars(module).items() if name.isupper()}


def test_environment_names_are_designs_spelling() -> None:
    # DESIGN.md "Lambda environment"
    assert set(_constants(environment).values()) >= {
        "RESULTS_TABLE_NAME",
        "AUDIT_QUEUE_URL",
        "IDEMPOTENCY_TABLE_NAME",
        "EVENT_BUS_NAME",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "AUDIT_REPOSITORY_PREFIXES",
        "AUDIT_TAGGED_ONLY",
        "AUDIT_NEWEST_IMAGES",
        "AUDIT_ACCOUNTS",
        "AUDIT_REGIONS",
        "READER_ROLE_NAME",
        "REPLICATION_GRACE_MINUTES",
        "INVENTORY_TTL_HOURS",
        "REGISTRY_IDS",
    }


def test_every_variable_the_settings_read_is_a_contract_name() -> None:
    # Given an environment holding every contract variable with a recognisable value
    names = set(_constants(environment).values())
    read: list[str] = []

    class Recording(dict[str, str]):
        def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
            read.append(key)
            return super().get(key, default)

    # When the settings read it
    Settings.from_environment(Recording({environment.RESULTS_TABLE_NAME: "t"}))

    # Then they asked for contract names only
    assert read, "the settings read no variable"
    assert set(read) <= names, sorted(set(read) - names)


def test_the_local_environment_sets_contract_names_and_the_metrics_contract() -> None:
    local = lambda_environment("http://127.0.0.1:1")
    ours = {name for name in local if not name.startswith("AWS_")}
    assert ours <= set(_constants(environment).values()), sorted(ours - set(_constants(environment).values()))
    assert local[environment.POWERTOOLS_SERVICE_NAME] == "layercheck"
    assert local[environment.POWERTOOLS_METRICS_NAMESPACE] == "LayerCheck"


def test_metric_names_and_sources_are_designs_spelling() -> None:
    # DESIGN.md "Metrics"
    assert metrics.NAMESPACE == "LayerCheck"
    assert metrics.SOURCE_DIMENSION == "Source"
    assert metrics.SOURCES == ("api", "schedule", "push")
    assert {str(source) for source in Source} == set(metrics.SOURCES)
    assert {value for name, value in _constants(metrics).items() if isinstance(value, str) and name[0] != "S"} >= {
        "LayersChecked",
        "LayersAvailable",
        "LayersUnavailable",
        "LayersMissing",
        "InvalidDigests",
        "CheckErrors",
        "ImagesChecked",
        "BrokenImages",
        "InUseImagesBroken",
        "ReplicasIncomplete",
    }


def test_event_names_are_designs_spelling() -> None:
    assert events.LAYERCHECK_SOURCE == "layercheck"
    assert events.IMAGE_VERDICT_CHANGED_DETAIL_TYPE == "Image Verdict Changed"
    assert events.AUDIT_INPUT_KEY == "layercheckAudit"


def test_routes_are_designs_paths() -> None:
    assert {routes.CHECKS, routes.RESULTS, routes.IMAGE_CHECKS, routes.IMAGES, routes.INVENTORY} == {
        "/checks",
        "/results",
        "/images/checks",
        "/images",
        "/inventory",
    }
    for _method, path, query in routes.ROUTES:
        assert path.startswith("/")
        assert len(set(query)) == len(query), path


def test_get_images_lists_lifecycle_risks_under_designs_names_from_the_index_that_holds_them() -> None:
    # DESIGN.md "HTTP API": GET /images?risk=lifecycle; the index's partition value is the query's value
    from layercheck import results_table_schema

    assert (routes.RISK, routes.RISK_LIFECYCLE) == ("risk", "lifecycle")
    assert ("GET", routes.IMAGES) in {(method, path) for method, path, _ in routes.ROUTES}
    assert routes.RISK in dict(((m, p), q) for m, p, q in routes.ROUTES)[("GET", routes.IMAGES)]
    assert results_table_schema.LIFECYCLE_RISK_VALUE == routes.RISK_LIFECYCLE
    assert events.IMAGE_RISK_CHANGED_DETAIL_TYPE == "Image Risk Changed"


def test_the_api_serves_exactly_the_declared_routes() -> None:
    # The resolver's routes (what the Lambda answers) and the contract's (what API Gateway declares) are one set:
    # a route missing from the contract would be unreachable behind API Gateway, one missing from the resolver a 404.
    from layercheck.doors.api import app

    served = {(route.method.upper(), route.path) for route in app._static_routes + app._dynamic_routes}
    declared = {(method, routes.resolver_path(path)) for method, path, _ in routes.ROUTES}
    assert served == declared


def test_a_path_parameter_is_one_whole_segment_and_the_resolver_routes_it_as_one() -> None:
    assert routes.path_parameters("/registries/{registryId}/checks/{checkId}") == ("registryId", "checkId")
    assert (
        routes.resolver_path("/registries/{registryId}/checks/{checkId}") == "/registries/<registryId>/checks/<checkId>"
    )
    for malformed in ("/checks/id-{checkId}", "/checks/{checkId", "/{a}/{a}"):
        with pytest.raises(ValueError, match="path parameter"):
            routes.path_parameters(malformed)

    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    from tests.support import load_event

    app = APIGatewayRestResolver()
    app.get(routes.resolver_path("/checks/{checkId}"))(lambda checkId: {"checkId": checkId})  # noqa: N803
    event = load_event("api_gateway_rest_proxy.json")

    def get(path: str) -> dict[str, Any]:
        return app.resolve(event | {"httpMethod": "GET", "path": path, "body": None}, None)

    assert json.loads(get("/checks/abc-123")["body"]) == {"checkId": "abc-123"}
    # A "/" is a separator, encoded or not (API Gateway decodes %2F before it routes): never inside a parameter.
    assert get("/checks/team-a/api")["statusCode"] == 404


def test_repository_names_never_travel_in_a_path() -> None:
    """They hold "/" (team-a/api): a route names its repository in the query string or the body (routes.py)."""
    for route in routes.ROUTES:
        assert routes.REPOSITORY_NAME not in route.path_parameters, route
    assert any(routes.REPOSITORY_NAME in route.query for route in routes.ROUTES)


def test_patterns_accept_and_refuse_as_ecr_does() -> None:
    assert re.fullmatch(patterns.REGISTRY_ID_PATTERN, "123456789012")
    assert not re.fullmatch(patterns.REGISTRY_ID_PATTERN, "12345678901")
    assert re.fullmatch(patterns.REPOSITORY_NAME_PATTERN, "team-a/api")
    assert not re.fullmatch(patterns.REPOSITORY_NAME_PATTERN, "Team/API")
    assert re.fullmatch(patterns.REPOSITORY_PREFIX_PATTERN, "team-a/")
    assert re.fullmatch(patterns.DIGEST_PATTERN, "sha256:" + "a" * 64)
    assert not re.fullmatch(patterns.DIGEST_PATTERN, "sha256:" + "A" * 64)
