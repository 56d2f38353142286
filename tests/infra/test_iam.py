"""Least privilege: the function's IAM actions and their resources, and no wildcard action that grants anything."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from infra.constructs.function import ECR_ACTIONS
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


def test_function_reads_ecr_with_exactly_five_actions_on_repository_arns(synthesized: Synthesized) -> None:
    (ecr,) = [s for s in _function_statements(synthesized) if any(a.startswith("ecr:") for a in _as_list(s["Action"]))]
    assert (
        sorted(ecr["Action"])
        == sorted(ECR_ACTIONS)
        == [
            "ecr:BatchCheckLayerAvailability",
            "ecr:BatchGetImage",
            "ecr:DescribeImages",
            "ecr:DescribeRepositories",
            "ecr:ListImages",
        ]
    )
    assert ecr["Effect"] == "Allow"
    assert ecr["Resource"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":ecr:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":repository/*",
            ],
        ]
    }


def test_ecr_scope_follows_repository_prefixes_and_extra_registries(custom: Synthesized) -> None:
    (ecr,) = [s for s in _function_statements(custom) if any(a.startswith("ecr:") for a in _as_list(s["Action"]))]
    rendered = sorted(
        "".join(part if isinstance(part, str) else "{" + part["Ref"] + "}" for part in arn["Fn::Join"][1])
        for arn in ecr["Resource"]
    )
    prefix = "arn:{AWS::Partition}:ecr:{AWS::Region}:"
    assert rendered == [
        f"{prefix}111122223333:repository/team-a/*",
        f"{prefix}111122223333:repository/team-b/*",
        f"{prefix}{{AWS::AccountId}}:repository/team-a/*",
        f"{prefix}{{AWS::AccountId}}:repository/team-b/*",
    ]


def test_function_statements_name_their_resources(synthesized: Synthesized) -> None:
    """Beyond ECR: its log group, the table (and its index), the audit queue and the failure queue; the only
    resource "*" is X-Ray's, which has no resource-level permissions."""
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
