"""The two functions: one asset and handler, each with its own concurrency, timeout, environment and log group."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra.constructs.function import HANDLER
from infra.constructs.functions import API_DEADLINE_SECONDS, API_TIMEOUT_SECONDS
from layercheck.contracts import environment as env
from tests.infra.conftest import Synthesized

NAMES = ("Api", "Worker")
# API Gateway's integration timeout: https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
API_GATEWAY_TIMEOUT_SECONDS = 29


def _function(synth: Synthesized, name: str) -> dict[str, Any]:
    return synth.function(name)[1]


def _variables(synth: Synthesized, name: str) -> dict[str, Any]:
    variables: dict[str, Any] = _function(synth, name)["Environment"]["Variables"]
    return variables


def test_both_functions_run_our_one_handler_from_one_asset_on_arm64_with_the_newest_python(
    synthesized: Synthesized,
) -> None:
    functions = [_function(synthesized, name) for name in NAMES]
    assert {f["Handler"] for f in functions} == {HANDLER} == {"layercheck.handler.lambda_handler"}
    assert {f["Runtime"] for f in functions} == {"python3.14"}
    assert [f["Architectures"] for f in functions] == [["arm64"], ["arm64"]]
    assert {f["MemorySize"] for f in functions} == {1024}
    # One zip in the assembly, named by both.
    assert len({f["Code"]["S3Key"] for f in functions}) == 1
    assert len(synthesized.resources("AWS::Lambda::Function")) == 2


def test_api_function_stops_before_api_gateway_gives_up_and_worker_has_time_for_audits(
    each: Synthesized,
) -> None:
    api, worker = (_function(each, name) for name in NAMES)
    assert api["Timeout"] == API_TIMEOUT_SECONDS < API_GATEWAY_TIMEOUT_SECONDS
    # The code stops starting ECR calls at the deadline, with time left to store the verdicts and answer.
    assert int(_variables(each, "Api")[env.API_DEADLINE_SECONDS]) == API_DEADLINE_SECONDS < API_TIMEOUT_SECONDS
    assert worker["Timeout"] == each.config.worker_timeout_seconds == 300


def test_each_function_has_its_own_reserved_concurrency(each: Synthesized) -> None:
    assert _function(each, "Api")["ReservedConcurrentExecutions"] == each.config.api_reserved_concurrency
    assert _function(each, "Worker")["ReservedConcurrentExecutions"] == each.config.worker_reserved_concurrency


def test_functions_take_powertools_from_the_public_layer_parameter_of_their_runtime(synthesized: Synthesized) -> None:
    for name in NAMES:
        (layer,) = _function(synthesized, name)["Layers"]
        parameter = synthesized.template_json["Parameters"][layer["Ref"]]
        assert parameter == {
            "Type": "AWS::SSM::Parameter::Value<String>",
            "Default": "/aws/service/powertools/python/arm64/python3.14/3.37.0",
        }


def _shared(synth: Synthesized) -> dict[str, Any]:
    results_table_id, _ = synth.named("AWS::DynamoDB::Table", "ResultsTable")
    return {
        env.RESULTS_TABLE_NAME: {"Ref": results_table_id},
        env.POWERTOOLS_SERVICE_NAME: "layercheck",
        env.POWERTOOLS_METRICS_NAMESPACE: "LayerCheck",
        env.POWERTOOLS_LOG_LEVEL: "INFO",
        env.POWERTOOLS_TRACE_DISABLED: "false",
        env.RESULTS_TTL_DAYS: "30",
        # 500 calls/s for the stack, split over 10 + 5 reserved environments.
        env.ECR_MAX_CALLS_PER_SECOND: "33",
        env.CHECK_WORKERS: "16",
        # This account only, resolved at deploy time.
        env.REGISTRY_IDS: {"Ref": "AWS::AccountId"},
        env.READER_ROLE_NAME: "LayerCheckReader",
        # The stack's own bus by default (both functions store image verdicts, so both publish changes).
        env.EVENT_BUS_NAME: "LayerCheck-verdicts",
    }


def test_api_function_environment_is_what_the_api_reads_and_nothing_of_the_event_doors(
    synthesized: Synthesized,
) -> None:
    # POST /inventory: entries count as in use for 48 h; AUDIT_ACCOUNTS is unset (this account, the default).
    assert _variables(synthesized, "Api") == {
        **_shared(synthesized),
        env.API_DEADLINE_SECONDS: "24",
        env.INVENTORY_TTL_HOURS: "48",
    }


def test_worker_environment_carries_the_event_doors_settings(synthesized: Synthesized) -> None:
    idempotency_table_id, _ = synthesized.named("AWS::DynamoDB::Table", "IdempotencyTable")
    audit_queue_id, _ = synthesized.named("AWS::SQS::Queue", "AuditQueue")
    assert _variables(synthesized, "Worker") == {
        **_shared(synthesized),
        env.IDEMPOTENCY_TABLE_NAME: {"Ref": idempotency_table_id},
        # 30 h: EventBridge's 24 h of delivery retries plus Lambda's 6 h asynchronous event age.
        env.IDEMPOTENCY_EXPIRES_SECONDS: "108000",
        env.AUDIT_QUEUE_URL: {"Ref": audit_queue_id},
        env.AUDIT_REPOSITORY_PREFIXES: "",
        env.AUDIT_TAGGED_ONLY: "false",
        env.AUDIT_NEWEST_IMAGES: "0",
        env.REPLICATION_GRACE_MINUTES: "60",
        env.PUSH_RECHECK_SECONDS: "3",
    }


def test_registry_ids_are_this_account_and_the_configured_registries(custom: Synthesized) -> None:
    for name in NAMES:
        assert _variables(custom, name)[env.REGISTRY_IDS] == {
            "Fn::Join": ["", [{"Ref": "AWS::AccountId"}, ",111122223333"]]
        }


def test_custom_context_reaches_the_environment(custom: Synthesized) -> None:
    worker = _variables(custom, "Worker")
    # The audit scope defaults to the IAM scope; 300 calls/s over 15 + 5 environments.
    assert worker[env.AUDIT_REPOSITORY_PREFIXES] == "team-a/,team-b/"
    assert worker[env.AUDIT_TAGGED_ONLY] == "true"
    assert worker[env.AUDIT_NEWEST_IMAGES] == "5"
    assert worker[env.IDEMPOTENCY_EXPIRES_SECONDS] == "129600"
    assert worker[env.AUDIT_REGIONS] == "eu-west-1,us-east-1"
    assert worker[env.REPLICATION_GRACE_MINUTES] == "0"
    assert worker[env.PUSH_RECHECK_SECONDS] == "5"
    assert _variables(custom, "Api")[env.INVENTORY_TTL_HOURS] == "72"
    # The API reads AUDIT_ACCOUNTS too: POST /inventory keeps only images of audited accounts.
    for name in NAMES:
        variables = _variables(custom, name)
        assert variables[env.AUDIT_ACCOUNTS] == "organization,ou-ab12-teams001"
        assert (variables[env.READER_ROLE_NAME], variables[env.EVENT_BUS_NAME]) == ("OrgReader", "platform-events")
    for name in NAMES:
        assert _variables(custom, name)[env.ECR_MAX_CALLS_PER_SECOND] == "15"
        assert _variables(custom, name)[env.POWERTOOLS_TRACE_DISABLED] == "true"
        function = _function(custom, name)
        assert "TracingConfig" not in function or function["TracingConfig"]["Mode"] == "PassThrough"


@pytest.mark.parametrize("name", NAMES)
def test_each_function_logs_json_to_its_own_log_group_with_retention(synthesized: Synthesized, name: str) -> None:
    function = _function(synthesized, name)
    log_group = function["LoggingConfig"]["LogGroup"]["Ref"]
    assert log_group.startswith(f"Functions{name}Logs")
    assert function["LoggingConfig"] == {
        "LogFormat": "JSON",
        "ApplicationLogLevel": "INFO",
        "SystemLogLevel": "WARN",
        "LogGroup": {"Ref": log_group},
    }
    assert synthesized.resources("AWS::Logs::LogGroup")[log_group]["Properties"]["RetentionInDays"] == 30


def test_every_log_group_has_retention(each: Synthesized) -> None:
    for log_group in each.resources("AWS::Logs::LogGroup").values():
        assert log_group["Properties"]["RetentionInDays"] == each.config.log_retention_days


def test_tracing_is_active_by_default(synthesized: Synthesized) -> None:
    for name in NAMES:
        assert _function(synthesized, name)["TracingConfig"] == {"Mode": "Active"}


def test_only_the_worker_has_asynchronous_settings_and_they_end_in_the_failed_invocations_queue(
    synthesized: Synthesized,
) -> None:
    worker_id, _ = synthesized.function("Worker")
    failed_queue, _ = synthesized.named("AWS::SQS::Queue", "FunctionsFailedInvocations")
    (invoke_config,) = synthesized.resources("AWS::Lambda::EventInvokeConfig").values()
    assert invoke_config["Properties"] == {
        "FunctionName": {"Ref": worker_id},
        "MaximumRetryAttempts": 2,
        "MaximumEventAgeInSeconds": 6 * 3600,
        "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [failed_queue, "Arn"]}}},
        "Qualifier": "$LATEST",
    }


def test_api_function_is_invoked_by_its_api_only_and_worker_by_its_rules_only(each: Synthesized) -> None:
    api_id, _ = each.function("Api")
    worker_id, _ = each.function("Worker")
    api_gateway_id = next(iter(each.resources("AWS::ApiGateway::RestApi")))
    rule_ids = set(each.resources("AWS::Events::Rule"))
    permissions = [p["Properties"] for p in each.resources("AWS::Lambda::Permission").values()]
    assert permissions
    for permission in permissions:
        target = permission["FunctionName"]["Fn::GetAtt"][0]
        if target == api_id:
            assert permission["Principal"] == "apigateway.amazonaws.com"
            assert api_gateway_id in str(permission["SourceArn"])
        else:
            assert target == worker_id
            assert permission["Principal"] == "events.amazonaws.com"
            assert permission["SourceArn"]["Fn::GetAtt"][0] in rule_ids


def test_function_roles_have_no_managed_policies(each: Synthesized) -> None:
    each.template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": Match.object_like(
                {"Statement": [Match.object_like({"Principal": {"Service": "lambda.amazonaws.com"}})]}
            ),
            "ManagedPolicyArns": Match.absent(),
        },
    )
    for role in each.resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


def test_function_environments_use_only_contract_names_and_each_only_what_it_reads(each: Synthesized) -> None:
    """Every variable name comes from contracts/environment.py (one definition for the stack, the Lambda and the local
    tooling); the API gets none of the event doors' settings, the worker none of the API's."""
    contract = {value for value in vars(env).values() if isinstance(value, str) and value.isupper()}
    api, worker = (set(_variables(each, name)) for name in NAMES)
    assert api <= contract and worker <= contract, sorted((api | worker) - contract)
    assert not api & {
        env.IDEMPOTENCY_TABLE_NAME,
        env.AUDIT_QUEUE_URL,
        env.AUDIT_REGIONS,
        env.REPLICATION_GRACE_MINUTES,
        env.PUSH_RECHECK_SECONDS,
        env.AUDIT_REPOSITORY_PREFIXES,
    }
    assert not worker & {env.API_DEADLINE_SECONDS, env.INVENTORY_TTL_HOURS}


def test_function_roles_carry_the_path_the_reader_role_trusts(each: Synthesized) -> None:
    for name in NAMES:
        _, role = each.named("AWS::IAM::Role", f"Functions{name}Role")
        assert role["Properties"]["Path"] == f"/layercheck/{each.config.stack_name}/"


def test_reader_external_id_reaches_both_functions_only_when_set(synthesized: Synthesized, custom: Synthesized) -> None:
    for name in NAMES:
        assert env.READER_EXTERNAL_ID not in _variables(synthesized, name)
        assert _variables(custom, name)[env.READER_EXTERNAL_ID] == "layercheck-central-7f3a"
