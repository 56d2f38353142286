"""The REST API: IAM-signed (SigV4) calls only, on the routes the Lambda's resolver serves, and nothing else."""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import LayerCheckConfig
from infra.nag import acknowledge
from layercheck.contracts.routes import ROUTES, Route

# Requests are validated once, by the function's Pydantic models (layercheck.models.api), before any AWS call: every
# malformed request gets the same 4xx naming the field and the rule, deployed or local (DESIGN.md), and no body or
# query string can cause a 5xx. API Gateway's own validator would answer a second, different 400 without that
# detail, and could not express the models' cross-field rules (repositories x digests <= 10,000 pairs); so there is
# none, and cdk-nag's APIG2 is acknowledged below with that reason.
APIG2_REASON = (
    "Every body and query string is validated once, by the function's Pydantic models, with 4xx answers that name "
    "the field and rule."
)

# One JSON object per request; the caller's IAM identity is the point of an IAM-authorized API's access log.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integration.latency",
    "integrationStatus": "$context.integration.status",
    "sourceIp": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "callerAccount": "$context.identity.accountId",
    "caller": "$context.identity.caller",
    "userArn": "$context.identity.userArn",
    "vpceId": "$context.identity.vpceId",
    "errorMessage": "$context.error.message",
    "xrayTraceId": "$context.xrayTraceId",
}


def resource_policy(config: LayerCheckConfig) -> iam.PolicyDocument | None:
    """Who may call at all, before IAM authorization: callers from one AWS Organization and/or through given VPC
    endpoints. Without either, no resource policy: only principals of this account with an IAM permission can call.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-resource-policies-examples.html"""
    if not config.organization_id and not config.vpc_endpoint_ids:
        return None

    def invoke(effect: iam.Effect, conditions: dict[str, object] | None = None) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            effect=effect,
            principals=[iam.AnyPrincipal()],
            actions=["execute-api:Invoke"],
            resources=["execute-api:/*"],
            conditions=conditions,
        )

    statements = [invoke(iam.Effect.ALLOW)]
    if config.organization_id:
        statements.append(invoke(iam.Effect.DENY, {"StringNotEquals": {"aws:PrincipalOrgID": config.organization_id}}))
    if config.vpc_endpoint_ids:
        statements.append(invoke(iam.Effect.DENY, {"StringNotEquals": {"aws:SourceVpce": config.vpc_endpoint_ids}}))
    return iam.PolicyDocument(statements=statements)


class CheckApi(Construct):
    """API Gateway REST API in front of the API function: AWS_IAM on every method, access logs, stage throttling."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: LayerCheckConfig, function: lambda_.IFunction
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=config.log_retention,
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        )
        private = bool(config.vpc_endpoint_ids)
        endpoints = [
            ec2.InterfaceVpcEndpoint.from_interface_vpc_endpoint_attributes(
                self, f"Vpce{i}", vpc_endpoint_id=v, port=443
            )
            for i, v in enumerate(config.vpc_endpoint_ids)
        ]
        logging_level = (
            None
            if config.api_execution_log_level == "OFF"
            else apigw.MethodLoggingLevel[config.api_execution_log_level]
        )
        self.api = apigw.LambdaRestApi(
            self,
            "Api",
            handler=function,
            proxy=False,
            description="layercheck: check ECR layer availability across repositories (SigV4-signed callers)",
            endpoint_configuration=apigw.EndpointConfiguration(
                types=[apigw.EndpointType.PRIVATE if private else apigw.EndpointType.REGIONAL],
                vpc_endpoints=endpoints or None,
            ),
            policy=resource_policy(config),
            # The account-wide API Gateway logging role is not this stack's to own (see apiExecutionLogLevel).
            cloud_watch_role=False,
            default_method_options=apigw.MethodOptions(authorization_type=apigw.AuthorizationType.IAM),
            deploy_options=apigw.StageOptions(
                stage_name=config.api_stage_name,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
                throttling_rate_limit=config.api_throttle_rate_limit,
                throttling_burst_limit=config.api_throttle_burst_limit,
                tracing_enabled=config.tracing,
                metrics_enabled=True,
                logging_level=logging_level,
                data_trace_enabled=False,
            ),
        )
        add_routes(self.api, ROUTES)
        if config.waf_web_acl_arn:
            wafv2.CfnWebACLAssociation(
                self,
                "WebAcl",
                resource_arn=self.api.deployment_stage.stage_arn,
                web_acl_arn=config.waf_web_acl_arn,
            )
        self._acknowledge(config)

    def _acknowledge(self, config: LayerCheckConfig) -> None:
        findings = {
            "AwsSolutions-COG4": "Callers are internal tools and roles signing with SigV4: AWS_IAM by design.",
            "AwsSolutions-APIG2": APIG2_REASON,
        }
        if not config.waf_web_acl_arn:
            findings["AwsSolutions-APIG3"] = "IAM-signed internal API with stage throttling; set wafWebAclArn for WAF."
        if config.api_execution_log_level == "OFF":
            findings["AwsSolutions-APIG6"] = (
                "JSON access logs record every call; execution logs need the account-wide API Gateway logging role, "
                "which this stack does not own (set apiExecutionLogLevel where the account has it)."
            )
        if not config.tracing:
            findings["Serverless-APIGWXrayEnabled"] = "X-Ray tracing switched off in context (tracing=false)."
        acknowledge(self.api, findings)


def add_routes(api: apigw.RestApi, routes: Sequence[Route]) -> None:
    """Every route the function's resolver serves: its path parameters required, every query parameter it reads
    declared optional (documentation for API Gateway's console and exports, not validation)."""
    for route in routes:
        resource = api.root.resource_for_path(route.path)
        parameters = {f"method.request.path.{name}": True for name in route.path_parameters}
        parameters |= {f"method.request.querystring.{name}": False for name in route.query}
        resource.add_method(
            route.method, authorization_type=apigw.AuthorizationType.IAM, request_parameters=parameters or None
        )
