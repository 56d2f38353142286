"""Least privilege: the function's IAM actions and their resources, and no wildcard action that grants anything."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from infra.constructs.function import ECR_LISTING_ACTIONS, ECR_REPOSITORY_ACTIONS
from tests.infra.conftest import Synthesized

POLICY_PROPERTIES = ("PolicyDocument", "KeyPolicy", "Policy", "AssumeRolePolicyDocument")


def _statements(synth: Synthesized) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every policy statement in the template: IAM policies, queue, topic, key and API resource policies."""
    for logical_id, resource in synth.template_json["Resources"].items():
        for key in POLICY_PROPERTIES:
            document = resource.get("Properties", {}).get(key)
            if isinstance(document, dict):
                for statement in document.get("Statement", []):
                    yield f"{logical_id}.{key}", statement


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _function_statements(synth: Synthesized) -> list[dict[str, Any]]:
    (policy,) = [
        p for logical_id, p in synth.resources("AWS::IAM::Policy").items() if logical_id.startswith("CheckerRole")
    ]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_no_statement_allows_a_wildcard_action(each: Synthesized) -> None:
    statements = list(_statements(each))
    assert statements, "the template has policies"
    for where, statement in statements:
        actions = _as_list(statement.get("Action", [])) + _as_list(statement.get("NotAction", []))
        wildcards = [action for action in actions if "*" in action]
        if statement["Effect"] == "Allow":
            assert not wildcards, f"{where} allows {wildcards}"
        else:
            # The only wildcard denies are the TLS guards of queues (cdk-nag SQS4 requires `sqs:*` there).
            assert not wildcards or statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, where


def _render(arn: Any) -> str:
    """An ARN as one string, pseudo parameters in braces: ``arn:{AWS::Partition}:ecr:...``."""
    if isinstance(arn, str):
        return arn
    return "".join(part if isinstance(part, str) else "{" + part["Ref"] + "}" for part in arn["Fn::Join"][1])


def _ecr_statements(synth: Synthesized) -> dict[tuple[str, ...], list[str]]:
    """The function's ECR statements: sorted actions -> sorted rendered resource ARNs (all of them Allow)."""
    found: dict[tuple[str, ...], list[str]] = {}
    for statement in _function_statements(synth):
        actions = _as_list(statement["Action"])
        if any(action.startswith("ecr:") for action in actions):
            assert statement["Effect"] == "Allow"
            assert all(action.startswith("ecr:") for action in actions), actions
            found[tuple(sorted(actions))] = sorted(_render(arn) for arn in _as_list(statement["Resource"]))
    return found


IMAGE_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:DescribeImages")
LISTING_ACTIONS = ("ecr:DescribeRepositories",)
ECR_ARN = "arn:{AWS::Partition}:ecr:{AWS::Region}:"


def test_ecr_actions_are_the_four_the_code_calls() -> None:
    assert tuple(sorted(ECR_REPOSITORY_ACTIONS)) == IMAGE_ACTIONS
    assert tuple(ECR_LISTING_ACTIONS) == LISTING_ACTIONS


def test_function_reads_ecr_image_actions_and_lists_repositories_in_separate_statements(
    synthesized: Synthesized,
) -> None:
    # Every repository is in scope by default: both statements name this account's repository/*.
    assert _ecr_statements(synthesized) == {
        IMAGE_ACTIONS: [f"{ECR_ARN}{{AWS::AccountId}}:repository/*"],
        LISTING_ACTIONS: [f"{ECR_ARN}{{AWS::AccountId}}:repository/*"],
    }


def test_prefixes_narrow_image_actions_but_listing_stays_on_each_registry(custom: Synthesized) -> None:
    # A name-less DescribeRepositories is authorized against repository/*, so a prefix-scoped resource would deny the
    # audit's listing; the image actions follow repositoryPrefixes in every registry in scope.
    assert _ecr_statements(custom) == {
        IMAGE_ACTIONS: [
            f"{ECR_ARN}111122223333:repository/team-a/*",
            f"{ECR_ARN}111122223333:repository/team-b/*",
            f"{ECR_ARN}{{AWS::AccountId}}:repository/team-a/*",
            f"{ECR_ARN}{{AWS::AccountId}}:repository/team-b/*",
        ],
        LISTING_ACTIONS: [
            f"{ECR_ARN}111122223333:repository/*",
            f"{ECR_ARN}{{AWS::AccountId}}:repository/*",
        ],
    }


def test_function_reads_and_writes_the_idempotency_table_and_nothing_under_it(each: Synthesized) -> None:
    table_id, _ = each.named("AWS::DynamoDB::Table", "IdempotencyTable")
    statements = [s for s in _function_statements(each) if table_id in json.dumps(s["Resource"])]
    actions = {action for statement in statements for action in _as_list(statement["Action"])}
    # What Powertools' DynamoDB persistence layer calls, all granted by grant_read_write_data.
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} <= actions
    for statement in statements:
        assert statement["Effect"] == "Allow"
        # The table itself: it has no index, so no "<table>/index/*" resource.
        assert statement["Resource"] == [{"Fn::GetAtt": [table_id, "Arn"]}]


def test_function_statements_name_their_resources(synthesized: Synthesized) -> None:
    """Beyond ECR: its log group, the two tables (and the results table's index), the audit queue and the failure
    queue; the only resource "*" is X-Ray's, which has no resource-level permissions."""
    by_action: dict[str, list[Any]] = {}
    for statement in _function_statements(synthesized):
        for action in _as_list(statement["Action"]):
            by_action.setdefault(action, []).extend(_as_list(statement["Resource"]))
    star_actions = sorted(action for action, resources in by_action.items() if "*" in resources)
    assert star_actions == ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    assert {"dynamodb:PutItem", "dynamodb:BatchWriteItem", "dynamodb:Query", "dynamodb:GetItem"} <= by_action.keys()
    assert {"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"} <= by_action.keys()
    assert {"logs:CreateLogStream", "logs:PutLogEvents"} <= by_action.keys()
    services = {action.split(":")[0] for action in by_action}
    assert services == {"ecr", "dynamodb", "sqs", "logs", "xray"}


def test_without_tracing_there_is_no_resource_star(custom: Synthesized) -> None:
    for statement in _function_statements(custom):
        assert statement["Resource"] != "*", statement


def test_function_sends_audit_work_items_only_to_its_own_queues(synthesized: Synthesized) -> None:
    queue_ids = set(synthesized.resources("AWS::SQS::Queue"))
    for statement in _function_statements(synthesized):
        if "sqs:SendMessage" in _as_list(statement["Action"]):
            (queue_id, attribute) = statement["Resource"]["Fn::GetAtt"]
            assert queue_id in queue_ids
            assert attribute == "Arn"
