"""The Lambda function: runtime, asset, layer, environment, logging, concurrency and asynchronous settings."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match

from infra.constructs.function import HANDLER
from tests.infra.conftest import Synthesized


def _function(synth: Synthesized) -> dict[str, Any]:
    properties: dict[str, Any] = synth.only("AWS::Lambda::Function")["Properties"]
    return properties


def test_function_runs_our_handler_on_arm64_with_the_newest_python(synthesized: Synthesized) -> None:
    function = _function(synthesized)
    assert function["Handler"] == HANDLER == "layercheck.handler.lambda_handler"
    assert function["Runtime"] == "python3.14"
    assert function["Architectures"] == ["arm64"]
    assert function["MemorySize"] == 1024
    # API Gateway gives up after 29 s; the timeout is sized for audit work items, which run far longer.
    assert function["Timeout"] == 300


def test_function_takes_powertools_from_the_public_layer_parameter_of_its_runtime(synthesized: Synthesized) -> None:
    (layer,) = _function(synthesized)["Layers"]
    parameter = synthesized.template_json["Parameters"][layer["Ref"]]
    assert parameter == {
        "Type": "AWS::SSM::Parameter::Value<String>",
        "Default": "/aws/service/powertools/python/arm64/python3.14/3.37.0",
    }


def test_function_environment_carries_every_setting_the_code_reads(synthesized: Synthesized) -> None:
    variables = _function(synthesized)["Environment"]["Variables"]
    results_table_id, _ = synthesized.named("AWS::DynamoDB::Table", "ResultsTable")
    idempotency_table_id, _ = synthesized.named("AWS::DynamoDB::Table", "IdempotencyTable")
    audit_queue_id = next(k for k in synthesized.resources("AWS::SQS::Queue") if k.startswith("AuditQueue"))
    assert variables == {
        "RESULTS_TABLE_NAME": {"Ref": results_table_id},
        "IDEMPOTENCY_TABLE_NAME": {"Ref": idempotency_table_id},
        "AUDIT_QUEUE_URL": {"Ref": audit_queue_id},
        "POWERTOOLS_SERVICE_NAME": "layercheck",
        "POWERTOOLS_METRICS_NAMESPACE": "LayerCheck",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_TRACE_DISABLED": "false",
        "RESULTS_TTL_DAYS": "30",
        # 30 h: EventBridge's 24 h of delivery retries plus Lambda's 6 h asynchronous event age.
        "IDEMPOTENCY_EXPIRES_SECONDS": "108000",
        "AUDIT_REPOSITORY_PREFIXES": "",
        "AUDIT_TAGGED_ONLY": "false",
        "AUDIT_NEWEST_IMAGES": "0",
        # 500 calls/s for the stack, split over 10 reserved environments.
        "ECR_MAX_CALLS_PER_SECOND": "50",
        "CHECK_WORKERS": "16",
    }


def test_custom_context_reaches_the_environment(custom: Synthesized) -> None:
    variables = _function(custom)["Environment"]["Variables"]
    # The audit scope defaults to the IAM scope; 300 calls/s over 20 environments.
    assert variables["AUDIT_REPOSITORY_PREFIXES"] == "team-a/,team-b/"
    assert variables["AUDIT_TAGGED_ONLY"] == "true"
    assert variables["AUDIT_NEWEST_IMAGES"] == "5"
    assert variables["ECR_MAX_CALLS_PER_SECOND"] == "15"
    assert variables["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert variables["IDEMPOTENCY_EXPIRES_SECONDS"] == "129600"
    assert "TracingConfig" not in _function(custom) or _function(custom)["TracingConfig"]["Mode"] == "PassThrough"


def test_function_logs_json_to_its_own_log_group_with_retention(synthesized: Synthesized) -> None:
    function = _function(synthesized)
    log_groups = synthesized.resources("AWS::Logs::LogGroup")
    function_log_group = function["LoggingConfig"]["LogGroup"]["Ref"]
    assert function["LoggingConfig"] == {
        "LogFormat": "JSON",
        "ApplicationLogLevel": "INFO",
        "SystemLogLevel": "WARN",
        "LogGroup": {"Ref": function_log_group},
    }
    assert log_groups[function_log_group]["Properties"]["RetentionInDays"] == 30


def test_every_log_group_has_retention(each: Synthesized) -> None:
    for log_group in each.resources("AWS::Logs::LogGroup").values():
        assert log_group["Properties"]["RetentionInDays"] == each.config.log_retention_days


def test_reserved_concurrency_caps_the_function(each: Synthesized) -> None:
    assert _function(each)["ReservedConcurrentExecutions"] == each.config.reserved_concurrency


def test_tracing_is_active_by_default(synthesized: Synthesized) -> None:
    assert _function(synthesized)["TracingConfig"] == {"Mode": "Active"}


def test_asynchronous_failures_go_to_the_failed_invocations_queue(synthesized: Synthesized) -> None:
    failed_queue = next(k for k in synthesized.resources("AWS::SQS::Queue") if k.startswith("CheckerFailedInvocations"))
    synthesized.template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "MaximumRetryAttempts": 2,
            "MaximumEventAgeInSeconds": 6 * 3600,
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [failed_queue, "Arn"]}}},
        },
    )


def test_function_role_has_no_managed_policies(each: Synthesized) -> None:
    each.template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": Match.object_like(
                {"Statement": [Match.object_like({"Principal": {"Service": "lambda.amazonaws.com"}})]}
            ),
            "ManagedPolicyArns": Match.absent(),
        },
    )
