"""The REST API: every method AWS_IAM, request validation, JSON access logs, throttling, resource policy options."""

from __future__ import annotations

import json
from typing import Any

from infra.constructs.api import ROUTES
from tests.infra.conftest import Synthesized


def _route_paths(synth: Synthesized) -> dict[str, str]:
    """Logical id of each API resource -> its full path."""
    resources = synth.resources("AWS::ApiGateway::Resource")

    def path(logical_id: str) -> str:
        properties = resources[logical_id]["Properties"]
        parent = properties["ParentId"]
        prefix = path(parent["Ref"]) if "Ref" in parent else ""
        return f"{prefix}/{properties['PathPart']}"

    return {logical_id: path(logical_id) for logical_id in resources}


def _methods(synth: Synthesized) -> list[dict[str, Any]]:
    return [method["Properties"] for method in synth.resources("AWS::ApiGateway::Method").values()]


def test_every_method_requires_aws_iam(each: Synthesized) -> None:
    methods = _methods(each)
    assert len(methods) == len(ROUTES)
    assert {method["AuthorizationType"] for method in methods} == {"AWS_IAM"}


def test_api_exposes_exactly_the_routes_the_lambda_serves_and_no_cors_preflight(synthesized: Synthesized) -> None:
    paths = _route_paths(synthesized)
    routes = {(method["HttpMethod"], paths[method["ResourceId"]["Ref"]]) for method in _methods(synthesized)}
    assert routes == {("POST", "/checks"), ("GET", "/results"), ("GET", "/swagger")}
    assert "OPTIONS" not in {method["HttpMethod"] for method in _methods(synthesized)}


def test_every_method_uses_the_request_validator_and_proxies_to_the_function(synthesized: Synthesized) -> None:
    (validator_id, validator) = next(iter(synthesized.resources("AWS::ApiGateway::RequestValidator").items()))
    assert validator["Properties"]["ValidateRequestBody"] is True
    assert validator["Properties"]["ValidateRequestParameters"] is True
    function_id = next(iter(synthesized.resources("AWS::Lambda::Function")))
    for method in _methods(synthesized):
        assert method["RequestValidatorId"] == {"Ref": validator_id}
        assert method["Integration"]["Type"] == "AWS_PROXY"
        assert function_id in json.dumps(method["Integration"]["Uri"])


def test_results_declares_its_optional_query_parameters(synthesized: Synthesized) -> None:
    paths = _route_paths(synthesized)
    (results,) = [m for m in _methods(synthesized) if paths[m["ResourceId"]["Ref"]] == "/results"]
    assert results["RequestParameters"] == {
        "method.request.querystring.repositoryName": False,
        "method.request.querystring.layerDigest": False,
        "method.request.querystring.nextToken": False,
    }


def test_stage_logs_json_access_lines_and_throttles(synthesized: Synthesized) -> None:
    stage = synthesized.only("AWS::ApiGateway::Stage")["Properties"]
    access_log = json.loads(stage["AccessLogSetting"]["Format"])
    assert {"requestId", "status", "userArn", "callerAccount", "resourcePath", "integrationLatency"} <= set(access_log)
    log_groups = synthesized.resources("AWS::Logs::LogGroup")
    assert stage["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"][0] in log_groups
    assert stage["StageName"] == "v1"
    assert stage["TracingEnabled"] is True
    assert stage["MethodSettings"] == [
        {
            "DataTraceEnabled": False,
            "HttpMethod": "*",
            "MetricsEnabled": True,
            "ResourcePath": "/*",
            "ThrottlingBurstLimit": 40,
            "ThrottlingRateLimit": 20,
        }
    ]


def test_default_api_is_regional_without_resource_policy_or_account_wide_logging_role(synthesized: Synthesized) -> None:
    api = synthesized.only("AWS::ApiGateway::RestApi")["Properties"]
    assert api["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert "Policy" not in api
    assert not synthesized.resources("AWS::ApiGateway::Account")
    assert not synthesized.resources("AWS::WAFv2::WebACLAssociation")


def test_resource_policy_restricts_callers_to_the_organization_and_vpc_endpoint(custom: Synthesized) -> None:
    api = custom.only("AWS::ApiGateway::RestApi")["Properties"]
    assert api["EndpointConfiguration"] == {"Types": ["PRIVATE"], "VpcEndpointIds": ["vpce-0123456789abcdef0"]}
    statements = api["Policy"]["Statement"]
    allow = [s for s in statements if s["Effect"] == "Allow"]
    denies = {json.dumps(s["Condition"], sort_keys=True) for s in statements if s["Effect"] == "Deny"}
    assert [s["Action"] for s in allow] == ["execute-api:Invoke"]
    assert denies == {
        json.dumps({"StringNotEquals": {"aws:PrincipalOrgID": "o-abcdef1234"}}, sort_keys=True),
        json.dumps({"StringNotEquals": {"aws:SourceVpce": ["vpce-0123456789abcdef0"]}}, sort_keys=True),
    }


def test_optional_waf_and_execution_logging(custom: Synthesized) -> None:
    association = custom.only("AWS::WAFv2::WebACLAssociation")["Properties"]
    assert association["WebACLArn"] == "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/layercheck/0123"
    (settings,) = custom.only("AWS::ApiGateway::Stage")["Properties"]["MethodSettings"]
    assert settings["LoggingLevel"] == "ERROR"
