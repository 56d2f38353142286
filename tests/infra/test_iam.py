"""Least privilege: each function's IAM actions and their resources, every call of the code granted, no wildcard."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

import botocore
import botocore.session
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
# The attributes the integrations keep their boto3 clients in.
CLIENT_ATTRIBUTES = {"_client", "_sts"}


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
            # The one conditional grant: assuming the reader role only in the Organization (test_reader_role_...).
            assert statement["Effect"] == "Allow", statement
            assert "Condition" not in statement or statement["Action"] == "sts:AssumeRole", statement
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


def _helper_calls() -> dict[str, set[str]]:
    """The client methods each function of the shared plumbing (integrations/aws.py) calls, through its own private
    helpers too: ``client.<method>(...)`` and every string it hands to ``get_paginator``."""
    tree = ast.parse((INTEGRATIONS / "aws.py").read_text(encoding="utf-8"))
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    direct: dict[str, set[str]] = {}
    calls: dict[str, set[str]] = {}
    for name, function in functions.items():
        direct[name], calls[name] = set(), set()
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in functions:
                calls[name].add(node.func.id)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                target = node.func.value
                if isinstance(target, ast.Name) and target.id == "client":
                    direct[name].add(node.func.attr)
                    direct[name].update(
                        arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                    )

    def reached(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        methods = set(direct[name])
        for callee in calls[name] - seen - {name}:
            methods |= reached(callee, seen | {name})
        return methods

    return {name: reached(name) for name in functions}


def _client_calls(module: str, service: str) -> set[str]:
    """The IAM action names (without the service prefix) of the boto3 operations an integration module calls:
    ``self._client.<operation>(...)`` (or ``self._sts``), the operations a helper of the shared plumbing it calls
    sends (``batch_write(...)`` is BatchWriteItem), and every operation named as a string, as
    ``get_paginator("<operation>")`` and helpers that pass the name on to it do. Operation names come from botocore's
    model of ``service``, so a string that is not one of its operations is not mistaken for a call."""
    model = botocore.session.get_session().get_service_model(service)
    operations = {botocore.xform_name(name): name for name in model.operation_names}
    helpers = _helper_calls()
    tree = ast.parse((INTEGRATIONS / module).read_text(encoding="utf-8"))
    called: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
            if isinstance(target, ast.Attribute) and target.attr in CLIENT_ATTRIBUTES and node.func.attr in operations:
                called.add(operations[node.func.attr])
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in helpers:
            called.update(operations[method] for method in helpers[node.func.id] if method in operations)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in operations:
            called.add(operations[node.value])
    # IAM authorizes SQS's batch operations (SendMessageBatch ...) with the single operation's action.
    return {name.removesuffix("Batch") if service == "sqs" else name for name in called}


def test_the_plumbing_helpers_are_read_as_the_calls_they_send() -> None:
    helpers = _helper_calls()

    assert {"batch_write_item"} <= helpers["batch_write"]
    assert {"batch_get_item"} <= helpers["batch_get"]
    assert {"get_paginator", "query"} <= helpers["query_pages"]
    assert {"BatchWriteItem", "Query"} <= _client_calls("inventory_store.py", "dynamodb")


@pytest.mark.parametrize(
    ("module", "service", "roles"),
    [
        ("ecr.py", "ecr", ("Api", "Worker")),
        ("ecr_replication.py", "ecr", ("Worker",)),  # ECR's replication status of each audited image
        ("ecr_lifecycle.py", "ecr", ("Api", "Worker")),  # POST /lifecycle/previews; the audit's lifecycle risk
        ("results_table.py", "dynamodb", ("Api", "Worker")),
        ("inventory_store.py", "dynamodb", ("Api", "Worker")),  # the API writes entries, the audit reads them
        ("event_bus.py", "events", ("Api", "Worker")),  # both store image verdicts, so both publish changes
        ("sessions.py", "sts", ("Api", "Worker")),  # other served registries (API), other accounts (audit)
        ("audit_queue.py", "sqs", ("Worker",)),
        ("ecs.py", "ecs", ("Worker",)),
        ("lambda_functions.py", "lambda", ("Worker",)),
        ("organizations.py", "organizations", ("Worker",)),
    ],
)
def test_every_aws_call_of_the_functions_integrations_is_granted(
    custom: Synthesized, module: str, service: str, roles: tuple[str, ...]
) -> None:
    """A call added to an integration without its permission would pass every moto test and fail in an account.
    Read on the assembly with every option on (the Organization, other registries), by the roles that call it."""
    calls = {f"{service}:{name}" for name in _client_calls(module, service)}
    assert calls, module
    granted = set.union(*(set(_of_service(grants(custom, role), service)) for role in roles))
    assert calls <= granted, sorted(calls - granted)


def test_api_reads_this_accounts_audited_registries_and_other_accounts_only_through_the_reader_role(
    custom: Synthesized,
) -> None:
    granted = grants(custom, "Api")
    scoped = {
        f"arn:{{AWS::Partition}}:ecr:{region}:{THIS_ACCOUNT}:repository/{prefix}*"
        for region in ("{AWS::Region}", "eu-west-1", "us-east-1")
        for prefix in ("team-a/", "team-b/")
    }
    assert _of_service(granted, "ecr") == {
        "ecr:BatchCheckLayerAvailability": scoped,
        "ecr:BatchGetImage": scoped,
        "ecr:DescribeImages": scoped,
        "ecr:DescribePullThroughCacheRules": {"*"},
        # Lifecycle previews, on the image reads' repositories; never PutLifecyclePolicy nor DeleteLifecyclePolicy.
        "ecr:GetLifecyclePolicy": scoped,
        "ecr:StartLifecyclePolicyPreview": scoped,
        "ecr:GetLifecyclePolicyPreview": scoped,
    }
    # registryAccountIds: served through that account's reader role, never with the API's own role.
    assert _of_service(granted, "sts") == {"sts:AssumeRole": {"arn:{AWS::Partition}:iam::*:role/OrgReader"}}


def test_no_function_names_another_accounts_resource(each: Synthesized) -> None:
    """Other accounts are read only through their reader role: no grant names another account's resources."""
    for role in ("Api", "Worker"):
        for action, resources in grants(each, role).items():
            assert not [r for r in resources if OTHER_ACCOUNT in r], (role, action)
            assert not [r for r in resources if ":iam::*:" in r] or action == "sts:AssumeRole", (role, action)


def test_worker_walks_and_lists_this_accounts_audited_registries_and_probes_replicas_anywhere_in_it(
    custom: Synthesized, synthesized: Synthesized
) -> None:
    def arns(regions: tuple[str, ...], patterns: tuple[str, ...]) -> set[str]:
        return {
            f"arn:{{AWS::Partition}}:ecr:{region}:{THIS_ACCOUNT}:repository/{pattern}"
            for region in regions
            for pattern in patterns
        }

    audited = ("{AWS::Region}", "eu-west-1", "us-east-1")
    scoped = arns(audited, ("team-a/*", "team-b/*"))
    # Replication destinations are whichever Region of this account a rule names: presence and blobs only.
    replicas = arns(("*",), ("team-a/*", "team-b/*"))
    # A name-less DescribeRepositories is authorized against repository/*, so a prefix-scoped resource would deny
    # the audit's listing; the image actions follow repositoryPrefixes.
    assert _of_service(grants(custom, "Worker"), "ecr") == {
        "ecr:BatchCheckLayerAvailability": scoped | replicas,
        "ecr:BatchGetImage": scoped,
        # What ECR says about each audited image's copies: asked in the source repositories only.
        "ecr:DescribeImageReplicationStatus": scoped,
        "ecr:DescribeImages": scoped | replicas,
        "ecr:DescribeRepositories": arns(audited, ("*",)),
        "ecr:DescribePullThroughCacheRules": {"*"},
        "ecr:DescribeRegistry": {"*"},
        "ecr:GetLifecyclePolicy": scoped,
        "ecr:StartLifecyclePolicyPreview": scoped,
        "ecr:GetLifecyclePolicyPreview": scoped,
    }
    home = arns(("{AWS::Region}",), ("*",))
    anywhere = arns(("*",), ("*",))
    assert _of_service(grants(synthesized, "Worker"), "ecr") == {
        "ecr:BatchCheckLayerAvailability": home | anywhere,
        "ecr:BatchGetImage": home,
        "ecr:DescribeImageReplicationStatus": home,
        "ecr:DescribeImages": home | anywhere,
        "ecr:DescribeRepositories": home,
        "ecr:DescribePullThroughCacheRules": {"*"},
        "ecr:DescribeRegistry": {"*"},
        "ecr:GetLifecyclePolicy": home,
        "ecr:StartLifecyclePolicyPreview": home,
        "ecr:GetLifecyclePolicyPreview": home,
    }


def test_worker_discovers_images_in_use_on_the_narrowest_resources_ecs_and_lambda_allow(custom: Synthesized) -> None:
    """Service Authorization Reference: ListClusters, ListServices, ListTasks, DescribeTaskDefinition and
    lambda:ListFunctions have no resource type (only "*"); DescribeServices takes service ARNs, DescribeTasks task
    ARNs, DescribeServiceRevisions service-revision ARNs, GetFunction and ListAliases function ARNs, here this
    account's in each audited Region."""

    def arns(service: str, resource: str) -> set[str]:
        return {
            f"arn:{{AWS::Partition}}:{service}:{region}:{THIS_ACCOUNT}:{resource}"
            for region in ("{AWS::Region}", "eu-west-1", "us-east-1")
        }

    worker = grants(custom, "Worker")
    assert {**_of_service(worker, "ecs"), **_of_service(worker, "lambda")} == {
        "ecs:ListClusters": {"*"},
        "ecs:ListServices": {"*"},
        "ecs:ListTasks": {"*"},
        "ecs:DescribeTaskDefinition": {"*"},
        "ecs:DescribeServices": arns("ecs", "service/*"),
        "ecs:DescribeTasks": arns("ecs", "task/*"),
        "ecs:DescribeServiceRevisions": arns("ecs", "service-revision/*"),
        "lambda:ListFunctions": {"*"},
        "lambda:GetFunction": arns("lambda", "function:*"),
        "lambda:ListAliases": arns("lambda", "function:*"),
    }
    assert not _of_service(grants(custom, "Api"), "ecs") and not _of_service(grants(custom, "Api"), "lambda")


def _role_statements(synth: Synthesized, role: str) -> list[dict[str, Any]]:
    role_id, _ = synth.named("AWS::IAM::Role", f"Functions{role}Role")
    return [
        statement
        for policy in synth.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_reader_role_is_assumed_exactly_and_only_in_the_organization_when_one_is_configured(
    synthesized: Synthesized, custom: Synthesized
) -> None:
    (assume,) = [s for s in _role_statements(custom, "Worker") if s["Action"] == "sts:AssumeRole"]
    assert render(assume["Resource"]) == "arn:{AWS::Partition}:iam::*:role/OrgReader"
    assert assume["Condition"] == {"StringEquals": {"aws:ResourceOrgID": "o-abcdef1234"}}
    # Without organizationId: the worker still may (replication destinations in other accounts), with no condition;
    # the API only when it serves other registries (registryAccountIds).
    (default,) = [s for s in _role_statements(synthesized, "Worker") if s["Action"] == "sts:AssumeRole"]
    assert (render(default["Resource"]), "Condition" in default) == (
        "arn:{AWS::Partition}:iam::*:role/LayerCheckReader",
        False,
    )
    assert "sts:AssumeRole" not in grants(synthesized, "Api")


def test_organization_listing_only_when_the_audit_covers_the_organization(
    synthesized: Synthesized, custom: Synthesized
) -> None:
    assert _of_service(grants(custom, "Worker"), "organizations") == {
        "organizations:ListAccounts": {"*"},
        "organizations:ListAccountsForParent": {"*"},
        "organizations:ListChildren": {"*"},
    }
    for synth, role in ((synthesized, "Worker"), (custom, "Api"), (synthesized, "Api")):
        assert not _of_service(grants(synth, role), "organizations")


def test_both_functions_publish_change_events_to_exactly_the_configured_bus(
    synthesized: Synthesized, custom: Synthesized
) -> None:
    # By default the stack's own bus, named from the stack
    (bus_id,) = synthesized.resources("AWS::Events::EventBus")
    assert synthesized.resources("AWS::Events::EventBus")[bus_id]["Properties"]["Name"] == "LayerCheck-verdicts"
    for role in ("Api", "Worker"):
        assert grants(synthesized, role)["events:PutEvents"] == {f"{{{bus_id}.Arn}}"}
        assert set(_of_service(grants(synthesized, role), "events")) == {"events:PutEvents"}
    # With eventBusName, that existing bus: none created
    assert not custom.resources("AWS::Events::EventBus")
    for role in ("Api", "Worker"):
        assert grants(custom, role)["events:PutEvents"] == {
            "arn:{AWS::Partition}:events:{AWS::Region}:{AWS::AccountId}:event-bus/platform-events"
        }


def test_only_the_two_function_roles_may_publish_on_the_stacks_bus(
    synthesized: Synthesized, custom: Synthesized
) -> None:
    """Within one account an identity policy alone allows PutEvents: only a Deny on the bus restricts who publishes."""
    (bus,) = synthesized.resources("AWS::Events::EventBus").values()
    (statement,) = bus["Properties"]["Policy"]["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == (
        "Deny",
        {"AWS": "*"},
        "events:PutEvents",
    )
    assert render(statement["Resource"]) == (
        "arn:{AWS::Partition}:events:{AWS::Region}:{AWS::AccountId}:event-bus/LayerCheck-verdicts"
    )
    assert {key: [render(arn) for arn in arns] for key, arns in statement["Condition"]["StringNotEquals"].items()} == {
        "aws:PrincipalArn": [
            "arn:{AWS::Partition}:iam::{AWS::AccountId}:role/layercheck/LayerCheck/LayerCheck-Api",
            "arn:{AWS::Partition}:iam::{AWS::AccountId}:role/layercheck/LayerCheck/LayerCheck-Worker",
        ]
    }
    assert set(statement["Condition"]) == {"StringNotEquals"}
    # The function roles are exactly the roles the stack creates for the two functions
    for role in ("Api", "Worker"):
        _, resource = synthesized.named("AWS::IAM::Role", f"Functions{role}Role")
        assert resource["Properties"]["RoleName"] == f"LayerCheck-{role}"
        assert resource["Properties"]["Path"] == "/layercheck/LayerCheck/"
    # An existing bus (eventBusName) is not changed: no bus, no policy
    assert not custom.resources("AWS::Events::EventBus")
    assert not custom.resources("AWS::Events::EventBusPolicy")


def test_results_table_grants_are_the_calls_of_each_function_and_only_the_worker_deletes(each: Synthesized) -> None:
    results_id, _ = each.named("AWS::DynamoDB::Table", "ResultsTable")
    idempotency_id, _ = each.named("AWS::DynamoDB::Table", "IdempotencyTable")
    table = f"{{{results_id}.Arn}}"
    pending = f"{table}/index/byPendingChange"
    indexes = {
        f"{table}/index/byLayerDigest",
        f"{table}/index/byImageStatus",
        f"{table}/index/byLifecycleRisk",
        pending,
    }
    api = _of_service(grants(each, "Api"), "dynamodb")
    # The API stores check and image verdicts (an image item read before its conditional write) and reads them back
    # (the table and its indexes).
    assert api == {
        "dynamodb:BatchWriteItem": {table},
        "dynamodb:BatchGetItem": {table},
        "dynamodb:GetItem": {table},
        "dynamodb:UpdateItem": {table},
        "dynamodb:Query": {table} | indexes,
    }
    worker = _of_service(grants(each, "Worker"), "dynamodb")
    idempotency = f"{{{idempotency_id}.Arn}}"
    # The worker stores verdicts, reads the inventory's entries (Query on the table), hands each repository its
    # in-use references (PutItem, GetItem), sweeps the waiting change events (Query on byPendingChange), removes the
    # verdict of a deleted image nobody runs (DeleteItem on the table, never an index), and keeps Powertools
    # Idempotency's records in its own table.
    assert worker == {
        "dynamodb:BatchWriteItem": {table},
        "dynamodb:BatchGetItem": {table},
        "dynamodb:Query": {table, pending},
        "dynamodb:PutItem": {table, idempotency},
        "dynamodb:GetItem": {table, idempotency},
        "dynamodb:UpdateItem": {table, idempotency},
        "dynamodb:DeleteItem": {table, idempotency},
    }
    assert not {"dynamodb:Scan", "dynamodb:DeleteItem"} & {a for a, r in api.items() if table in r}
    assert "dynamodb:Scan" not in worker


def test_only_the_worker_touches_queues_and_only_its_own(each: Synthesized) -> None:
    assert not _of_service(grants(each, "Api"), "sqs")
    audit_queue, _ = each.named("AWS::SQS::Queue", "AuditQueue")
    failed, _ = each.named("AWS::SQS::Queue", "FunctionsFailedInvocations")
    worker = _of_service(grants(each, "Worker"), "sqs")
    assert worker["sqs:SendMessage"] == {f"{{{audit_queue}.Arn}}", f"{{{failed}.Arn}}"}
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"):
        assert worker[action] == {f"{{{audit_queue}.Arn}}"}


# Actions with no resource-level permissions, the only ones granted on "*" (besides X-Ray's).
STAR_ACTIONS = {
    "Api": {"ecr:DescribePullThroughCacheRules"},
    "Worker": {
        "ecr:DescribePullThroughCacheRules",
        "ecr:DescribeRegistry",
        "ecs:ListClusters",
        "ecs:ListServices",
        "ecs:ListTasks",
        "ecs:DescribeTaskDefinition",
        "lambda:ListFunctions",
    },
}
ORGANIZATIONS = {"organizations:ListAccounts", "organizations:ListAccountsForParent", "organizations:ListChildren"}


@pytest.mark.parametrize("role", ["Api", "Worker"])
def test_function_statements_name_their_resources(synthesized: Synthesized, role: str) -> None:
    """Beyond ECR, DynamoDB and SQS: its own log group; the only resource "*" is for actions without resource-level
    permissions (X-Ray, the registry's reads, the in-use listings)."""
    granted = grants(synthesized, role)
    star_actions = {action for action, resources in granted.items() if "*" in resources}
    assert star_actions == STAR_ACTIONS[role] | {"xray:PutTelemetryRecords", "xray:PutTraceSegments"}
    log_group, _ = synthesized.named("AWS::Logs::LogGroup", f"Functions{role}Logs")
    assert granted["logs:CreateLogStream"] == granted["logs:PutLogEvents"] == {f"{{{log_group}.Arn}}"}
    services = {"ecr", "dynamodb", "logs", "xray", "events"} | (
        {"sqs", "ecs", "lambda", "sts"} if role == "Worker" else set()
    )
    assert {action.split(":")[0] for action in granted} == services


def test_without_tracing_only_the_registry_reads_and_listings_have_resource_star(custom: Synthesized) -> None:
    for role in ("Api", "Worker"):
        star = {action for action, resources in grants(custom, role).items() if "*" in resources}
        assert star == STAR_ACTIONS[role] | (ORGANIZATIONS if role == "Worker" else set())
