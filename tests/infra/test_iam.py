"""Least privilege: each function's IAM actions and their resources, every call of the code granted, no wildcard."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

import pytest

from tests.infra.conftest import REPO_ROOT, Synthesized
from tests.infra.policies import as_list, render

POLICY_PROPERTIES = ("PolicyDocument", "KeyPolicy", "Policy", "AssumeRolePolicyDocument")
INTEGRATIONS = REPO_ROOT / "lambda_src" / "layercheck" / "integrations"
ECR_ARN = "arn:{AWS::Partition}:ecr:{AWS::Region}:"
THIS_ACCOUNT = "{AWS::AccountId}"
OTHER_ACCOUNT = "111122223333"
# The one documented wildcard: what SNS asks KMS for when CloudWatch publishes to an encrypted topic.
# https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
DOCUMENTED_WILDCARDS = {("cloudwatch.amazonaws.com", "kms:GenerateDataKey*")}


def _statements(synth: Synthesized) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every policy statement in the template: IAM policies, queue, topic, key and API resource policies."""
    for logical_id, resource in synth.template_json["Resources"].items():
        for key in POLICY_PROPERTIES:
            document = resource.get("Properties", {}).get(key)
            if isinstance(document, dict):
                for statement in document.get("Statement", []):
                    yield f"{logical_id}.{key}", statement


def grants(synth: Synthesized, role: str) -> dict[str, set[str]]:
    """Action -> rendered resources, over every Allow statement of the ``Api`` or ``Worker`` role's policies."""
    role_id, _ = synth.named("AWS::IAM::Role", f"Functions{role}Role")
    found: dict[str, set[str]] = {}
    for policy in synth.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow" and "Condition" not in statement, statement
            for action in as_list(statement["Action"]):
                found.setdefault(action, set()).update(render(r) for r in as_list(statement["Resource"]))
    return found


def _of_service(granted: dict[str, set[str]], service: str) -> dict[str, set[str]]:
    return {action: resources for action, resources in granted.items() if action.startswith(f"{service}:")}


def test_no_statement_allows_a_wildcard_action(each: Synthesized) -> None:
    statements = list(_statements(each))
    assert statements, "the template has policies"
    for where, statement in statements:
        actions = as_list(statement.get("Action", [])) + as_list(statement.get("NotAction", []))
        wildcards = [action for action in actions if "*" in action]
        if statement["Effect"] == "Allow":
            principal = (
                statement.get("Principal", {}).get("Service") if isinstance(statement.get("Principal"), dict) else None
            )
            assert {(principal, action) for action in wildcards} <= DOCUMENTED_WILDCARDS, f"{where} allows {wildcards}"
        else:
            # The only wildcard denies are the TLS guards of queues (cdk-nag SQS4 requires `sqs:*` there).
            assert not wildcards or statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, where


def _client_calls(module: str) -> set[str]:
    """The IAM action names (without the service prefix) of the boto3 operations an integration module calls on its
    client: ``self._client.<operation>(...)`` and ``self._client.get_paginator("<operation>")``."""
    tree = ast.parse((INTEGRATIONS / module).read_text(encoding="utf-8"))
    operations: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
            if isinstance(target, ast.Attribute) and target.attr == "_client":
                if node.func.attr == "get_paginator":
                    assert isinstance(node.args[0], ast.Constant)
                    operations.add(str(node.args[0].value))
                else:
                    operations.add(node.func.attr)
    pascal = {"".join(part.title() for part in operation.split("_")) for operation in operations}
    # IAM authorizes SQS's batch operations (SendMessageBatch ...) with the single operation's action.
    return {name.removesuffix("Batch") for name in pascal}


@pytest.mark.parametrize(
    ("module", "service"),
    [("ecr.py", "ecr"), ("results_table.py", "dynamodb"), ("audit_queue.py", "sqs")],
)
def test_every_aws_call_of_the_functions_integrations_is_granted(
    synthesized: Synthesized, module: str, service: str
) -> None:
    """A call added to an integration without its permission would pass every moto test and fail in an account."""
    calls = {f"{service}:{name}" for name in _client_calls(module)}
    assert calls, module
    granted = set(_of_service(grants(synthesized, "Api"), service)) | set(
        _of_service(grants(synthesized, "Worker"), service)
    )
    assert calls <= granted, sorted(calls - granted)


def test_api_reads_images_in_scope_and_only_checks_layers_in_other_registries(custom: Synthesized) -> None:
    ecr = _of_service(grants(custom, "Api"), "ecr")
    scoped = {f"{ECR_ARN}{THIS_ACCOUNT}:repository/team-a/*", f"{ECR_ARN}{THIS_ACCOUNT}:repository/team-b/*"}
    other = {f"{ECR_ARN}{OTHER_ACCOUNT}:repository/team-a/*", f"{ECR_ARN}{OTHER_ACCOUNT}:repository/team-b/*"}
    assert ecr == {
        "ecr:BatchCheckLayerAvailability": scoped | other,
        "ecr:BatchGetImage": scoped,
        "ecr:DescribeImages": scoped,
        "ecr:DescribePullThroughCacheRules": {"*"},
    }


def test_no_function_may_do_more_than_check_layers_in_another_registry(each: Synthesized) -> None:
    for role in ("Api", "Worker"):
        for action, resources in grants(each, role).items():
            if any(OTHER_ACCOUNT in resource for resource in resources):
                assert action == "ecr:BatchCheckLayerAvailability", (role, action)


def test_worker_walks_and_lists_this_accounts_registry_only(custom: Synthesized, synthesized: Synthesized) -> None:
    scoped = {f"{ECR_ARN}{THIS_ACCOUNT}:repository/team-a/*", f"{ECR_ARN}{THIS_ACCOUNT}:repository/team-b/*"}
    # A name-less DescribeRepositories is authorized against repository/*, so a prefix-scoped resource would deny
    # the audit's listing; the image actions follow repositoryPrefixes.
    assert _of_service(grants(custom, "Worker"), "ecr") == {
        "ecr:BatchCheckLayerAvailability": scoped,
        "ecr:BatchGetImage": scoped,
        "ecr:DescribeImages": scoped,
        "ecr:DescribeRepositories": {f"{ECR_ARN}{THIS_ACCOUNT}:repository/*"},
        "ecr:DescribePullThroughCacheRules": {"*"},
        "ecr:DescribeRegistry": {"*"},
    }
    everything = {f"{ECR_ARN}{THIS_ACCOUNT}:repository/*"}
    assert _of_service(grants(synthesized, "Worker"), "ecr") == {
        "ecr:BatchCheckLayerAvailability": everything,
        "ecr:BatchGetImage": everything,
        "ecr:DescribeImages": everything,
        "ecr:DescribeRepositories": everything,
        "ecr:DescribePullThroughCacheRules": {"*"},
        "ecr:DescribeRegistry": {"*"},
    }


def test_results_table_grants_are_the_calls_of_each_function_and_never_scan_or_delete(each: Synthesized) -> None:
    results_id, _ = each.named("AWS::DynamoDB::Table", "ResultsTable")
    idempotency_id, _ = each.named("AWS::DynamoDB::Table", "IdempotencyTable")
    table = f"{{{results_id}.Arn}}"
    indexes = {f"{table}/index/byLayerDigest", f"{table}/index/byImageStatus"}
    api = _of_service(grants(each, "Api"), "dynamodb")
    # The API stores check and image verdicts and reads them back (the table and its two indexes).
    assert api == {"dynamodb:BatchWriteItem": {table}, "dynamodb:PutItem": {table}, "dynamodb:Query": {table} | indexes}
    worker = _of_service(grants(each, "Worker"), "dynamodb")
    idempotency = f"{{{idempotency_id}.Arn}}"
    # The worker stores verdicts, and keeps Powertools Idempotency's records in its own table.
    assert worker == {
        "dynamodb:BatchWriteItem": {table},
        "dynamodb:PutItem": {table, idempotency},
        "dynamodb:GetItem": {idempotency},
        "dynamodb:UpdateItem": {idempotency},
        "dynamodb:DeleteItem": {idempotency},
    }
    for granted in (api, worker):
        assert not {"dynamodb:Scan", "dynamodb:DeleteItem"} & {a for a, r in granted.items() if table in r}


def test_only_the_worker_touches_queues_and_only_its_own(each: Synthesized) -> None:
    assert not _of_service(grants(each, "Api"), "sqs")
    audit_queue, _ = each.named("AWS::SQS::Queue", "AuditQueue")
    failed, _ = each.named("AWS::SQS::Queue", "FunctionsFailedInvocations")
    worker = _of_service(grants(each, "Worker"), "sqs")
    assert worker["sqs:SendMessage"] == {f"{{{audit_queue}.Arn}}", f"{{{failed}.Arn}}"}
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"):
        assert worker[action] == {f"{{{audit_queue}.Arn}}"}


@pytest.mark.parametrize("role", ["Api", "Worker"])
def test_function_statements_name_their_resources(synthesized: Synthesized, role: str) -> None:
    """Beyond ECR, DynamoDB and SQS: its own log group; the only resource "*" is for actions without resource-level
    permissions (X-Ray, the registry's pull-through cache rules)."""
    granted = grants(synthesized, role)
    star_actions = sorted(action for action, resources in granted.items() if "*" in resources)
    registry = ["ecr:DescribePullThroughCacheRules"] + (["ecr:DescribeRegistry"] if role == "Worker" else [])
    assert star_actions == sorted([*registry, "xray:PutTelemetryRecords", "xray:PutTraceSegments"])
    log_group, _ = synthesized.named("AWS::Logs::LogGroup", f"Functions{role}Logs")
    assert granted["logs:CreateLogStream"] == granted["logs:PutLogEvents"] == {f"{{{log_group}.Arn}}"}
    assert {action.split(":")[0] for action in granted} <= {"ecr", "dynamodb", "sqs", "logs", "xray"}


def test_without_tracing_only_the_registry_reads_have_resource_star(custom: Synthesized) -> None:
    for role in ("Api", "Worker"):
        star = {action for action, resources in grants(custom, role).items() if "*" in resources}
        assert star and star <= {"ecr:DescribePullThroughCacheRules", "ecr:DescribeRegistry"}
