"""The REST API: every method AWS_IAM, request validation, JSON access logs, throttling, resource policy options."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Validations

from layercheck.contracts.routes import ROUTES
from tests.infra.conftest import Synthesized
from tests.infra.policies import render


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


def test_api_exposes_exactly_the_routes_the_lambda_serves_and_no_cors_preflight(each: Synthesized) -> None:
    paths = _route_paths(each)
    routes = {(method["HttpMethod"], paths[method["ResourceId"]["Ref"]]) for method in _methods(each)}
    assert routes == {(method, path) for method, path, _ in ROUTES}
    assert ("POST", "/checks") in routes and ("GET", "/results") in routes
    assert "OPTIONS" not in {method["HttpMethod"] for method in _methods(each)}


def test_every_method_proxies_to_the_api_function(each: Synthesized) -> None:
    api_function, _ = each.function("Api")
    for method in _methods(each):
        assert method["Integration"]["Type"] == "AWS_PROXY"
        (target,) = [
            part["Fn::GetAtt"][0] for part in method["Integration"]["Uri"]["Fn::Join"][1] if "Fn::GetAtt" in part
        ]
        assert target == api_function


def test_requests_are_validated_once_by_the_function_so_api_gateway_has_no_validator(each: Synthesized) -> None:
    """API Gateway's validator would answer a second, different 400 without naming the field and rule (DESIGN.md
    asks for that), so the Pydantic models validate alone, and cdk-nag's APIG2 is acknowledged saying so."""
    assert not each.resources("AWS::ApiGateway::RequestValidator")
    assert all("RequestValidatorId" not in method for method in _methods(each))
    (api,) = [c for c in each.app.node.find_all() if c.node.path.endswith("/Http/Api")]
    acknowledged = {
        finding: reason
        for entry in api.node.metadata
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for finding, reason in entry.data.items()
    }
    assert "Pydantic" in acknowledged["AwsSolutions::AwsSolutions-APIG2"]


def test_each_route_declares_every_query_parameter_the_function_reads(synthesized: Synthesized) -> None:
    paths = _route_paths(synthesized)
    declared = {
        (method["HttpMethod"], paths[method["ResourceId"]["Ref"]]): method.get("RequestParameters", {})
        for method in _methods(synthesized)
    }
    for method, path, query in ROUTES:
        assert declared[(method, path)] == {f"method.request.querystring.{name}": False for name in query}
    assert declared[("GET", "/images")] == {
        "method.request.querystring.status": False,
        "method.request.querystring.risk": False,
        "method.request.querystring.repositoryName": False,
        "method.request.querystring.registryId": False,
        "method.request.querystring.region": False,
        "method.request.querystring.nextToken": False,
        "method.request.querystring.limit": False,
    }


def test_api_routes_are_exactly_the_contract_with_method_path_and_query_parameters(each: Synthesized) -> None:
    """One contract (contracts/routes.py) for the stack, the Lambda's resolver and the local tooling:
    tests/unit/test_contracts.py checks the resolver against it, this the deployed API."""
    paths = _route_paths(each)
    deployed = {
        (
            method["HttpMethod"],
            paths[method["ResourceId"]["Ref"]],
            frozenset(name.removeprefix("method.request.querystring.") for name in method.get("RequestParameters", {})),
        )
        for method in _methods(each)
    }
    assert deployed == {(method, path, frozenset(query)) for method, path, query in ROUTES}
    assert {path for _, path, _ in deployed} >= {"/checks", "/results", "/images/checks", "/images", "/inventory"}


def test_stage_logs_json_access_lines_and_throttles(synthesized: Synthesized) -> None:
    stage = synthesized.only("AWS::ApiGateway::Stage")["Properties"]
    access_log = json.loads(stage["AccessLogSetting"]["Format"])
    assert {"requestId", "status", "userArn", "callerAccount", "resourcePath", "integrationLatency"} <= set(access_log)
    log_groups = synthesized.resources("AWS::Logs::LogGroup")
    # The log group's ARN without the ":*" suffix (feature flag apigateway:logGroupDestinationArnWithoutWildcard).
    (log_group,) = [
        part["Ref"]
        for part in stage["AccessLogSetting"]["DestinationArn"]["Fn::Join"][1]
        if "Ref" in part and part["Ref"] in log_groups
    ]
    assert render(stage["AccessLogSetting"]["DestinationArn"]).endswith(f":log-group:{{{log_group}}}")
    assert stage["StageName"] == "v1"
    assert stage["TracingEnabled"] is True
    assert stage["MethodSettings"] == [
        {
            "DataTraceEnabled": False,
            "HttpMethod": "*",
            "MetricsEnabled": True,
            "ResourcePath": "/*",
            "ThrottlingBurstLimit": 10,
            "ThrottlingRateLimit": 10,
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


def test_a_route_with_a_path_parameter_declares_it_required_beside_its_optional_query() -> None:
    """The construct's one way to declare routes, given a route with a path parameter (none of the current routes has
    one): the parameter is a resource of its own and a required request parameter."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_apigateway as apigw
    from aws_cdk.assertions import Template

    from infra.constructs.api import add_routes
    from layercheck.contracts.routes import Route

    stack = Stack(App(), "Routes")
    api = apigw.RestApi(stack, "Api", deploy=False)
    add_routes(api, [Route("GET", "/checks/{checkId}", ("limit",))])
    template = Template.from_stack(stack).to_json()["Resources"]

    (resource,) = [r["Properties"] for r in template.values() if r["Type"] == "AWS::ApiGateway::Resource"
                   if r["Properties"]["PathPart"].startswith("{")]  # fmt: skip
    (method,) = [r["Properties"] for r in template.values() if r["Type"] == "AWS::ApiGateway::Method"]
    assert resource["PathPart"] == "{checkId}"
    assert method["RequestParameters"] == {
        "method.request.path.checkId": True,
        "method.request.querystring.limit": False,
    }
    assert method["AuthorizationType"] == "AWS_IAM"
