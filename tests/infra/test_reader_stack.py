"""The LayerCheckReader stack, synthesized once on its own App (with cdk-nag, as `cdk synth` runs it): its trust
policy, its actions and their resources, the pull-time exclusion, and the central side's AssumeRole statement."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack

from infra.app import build_app, cdk_json_context
from infra.constructs.in_use_permissions import UNSCOPED_ACTIONS
from infra.constructs.reader_access import assume_reader_role_statement, organizations_statement
from infra.nag import add_nag_checks
from infra.reader_stack import (
    ECR_LIFECYCLE_ACTIONS,
    ECR_REGISTRY_ACTIONS,
    ECR_REPOSITORY_ACTIONS,
    LayerCheckReaderStack,
    ReaderConfig,
)
from tests.infra.conftest import Synthesized

CENTRAL = "111122223333"
ORGANIZATION = "o-abcdef1234"
EXTERNAL_ID = "layercheck-central-7f3a"
CONTEXT = {
    "centralAccountId": CENTRAL,
    "organizationId": ORGANIZATION,
    "readerRoleName": "OrgReader",
    "readerExternalId": EXTERNAL_ID,
}


@dataclass(frozen=True)
class Reader:
    template: dict[str, Any]
    report: dict[str, Any]

    def only(self, resource_type: str) -> dict[str, Any]:
        resources: dict[str, dict[str, Any]] = self.template["Resources"]
        (found,) = [r for r in resources.values() if r["Type"] == resource_type]
        return found


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reader]:
    outdir = tmp_path_factory.mktemp("reader.out")
    app = App(context={**cdk_json_context(), **CONTEXT}, outdir=str(outdir))
    stack = LayerCheckReaderStack(app, "LayerCheckReader", config=ReaderConfig.from_context(app.node))
    add_nag_checks(app)
    assembly = app.synth()  # raises on any cdk-nag finding that is not acknowledged
    template_file = assembly.get_stack_artifact(stack.artifact_id).template_file
    yield Reader(
        template=json.loads((Path(assembly.directory) / template_file).read_text(encoding="utf-8")),
        report=json.loads((Path(assembly.directory) / "validation-report.json").read_text(encoding="utf-8")),
    )


def _render(value: Any) -> Any:
    """Fn::Join of strings and Refs as one string (``arn:{AWS::Partition}:...``), a Ref as ``{Name}``, an Fn::If as
    ``<Condition?then:else>``; lists element by element."""
    if isinstance(value, list):
        return [_render(item) for item in value]
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(_render(part) for part in value["Fn::Join"][1])
    if isinstance(value, dict) and "Ref" in value:
        return "{" + value["Ref"] + "}"
    if isinstance(value, dict) and "Fn::If" in value:
        condition, then, otherwise = value["Fn::If"]
        return f"<{condition}?{_render(then)}:{_render(otherwise)}>"
    return value


# The trusted account: the CentralAccountId parameter, or this account when it is left empty.
CENTRAL_OR_THIS = "<CentralAccountGiven?{CentralAccountId}:{AWS::AccountId}>"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_reader_stack_trusts_only_the_central_function_roles(reader: Reader) -> None:
    role = reader.only("AWS::IAM::Role")["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRole"
    assert _render(statement["Principal"]["AWS"]) == f"arn:{{AWS::Partition}}:iam::{CENTRAL_OR_THIS}:root"
    # Exactly the two central function roles (infra/constructs/function.py names them), nothing else on their path;
    # only principals of the Organization, and only with the ExternalId the central functions send.
    condition = statement["Condition"]
    assert set(condition) == {"StringEquals"}
    assert _render(condition["StringEquals"]["aws:PrincipalArn"]) == [
        f"arn:{{AWS::Partition}}:iam::{CENTRAL_OR_THIS}:role/layercheck/LayerCheck/LayerCheck-Api",
        f"arn:{{AWS::Partition}}:iam::{CENTRAL_OR_THIS}:role/layercheck/LayerCheck/LayerCheck-Worker",
    ]
    assert {key: value for key, value in condition["StringEquals"].items() if key != "aws:PrincipalArn"} == {
        "aws:PrincipalOrgID": ORGANIZATION,
        "sts:ExternalId": EXTERNAL_ID,
    }
    assert role["RoleName"] == "OrgReader"
    parameter = reader.template["Parameters"]["CentralAccountId"]
    assert (parameter["Default"], parameter["AllowedPattern"]) == (CENTRAL, r"^(\d{12})?$")
    assert reader.template["Conditions"]["CentralAccountGiven"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "CentralAccountId"}, ""]}]
    }


def test_reader_stack_grants_the_audits_read_actions_on_the_narrowest_resources(reader: Reader) -> None:
    (policy,) = reader.only("AWS::IAM::Role")["Properties"]["Policies"]
    granted = {
        tuple(sorted(_as_list(s["Action"]))): sorted(_as_list(_render(s["Resource"])))
        for s in policy["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
    }

    def arn(service: str, resource: str) -> str:
        return f"arn:{{AWS::Partition}}:{service}:*:{{AWS::AccountId}}:{resource}"

    assert granted == {
        tuple(sorted(ECR_REPOSITORY_ACTIONS)): [arn("ecr", "repository/*")],
        tuple(sorted(ECR_LIFECYCLE_ACTIONS)): [arn("ecr", "repository/*")],
        tuple(sorted(ECR_REGISTRY_ACTIONS)): ["*"],
        tuple(sorted(UNSCOPED_ACTIONS)): ["*"],
        # service/* and task/* match the long ARN format (cluster/name) and the short one alike.
        ("ecs:DescribeServices",): [arn("ecs", "service/*")],
        ("ecs:DescribeTasks",): [arn("ecs", "task/*")],
        # the digests each service's current deployment pinned
        ("ecs:DescribeServiceRevisions",): [arn("ecs", "service-revision/*")],
        ("lambda:GetFunction", "lambda:ListAliases"): [arn("lambda", "function:*")],
    }
    # The audit asks ECR's replication status of each image in the member's registry before judging its copies.
    assert "ecr:DescribeImageReplicationStatus" in ECR_REPOSITORY_ACTIONS
    every_action = [action for actions in granted for action in actions]
    # Reads only, and ECR's lifecycle dry run (it changes no policy and no image); never a policy write.
    assert not [
        a
        for a in every_action
        if "*" in a
        or not (
            a.split(":")[1].startswith(("Describe", "List", "Get", "Batch")) or a == "ecr:StartLifecyclePolicyPreview"
        )
    ]
    assert not [a for a in every_action if a.startswith(("ecr:Put", "ecr:Delete", "ecr:Upload", "ecr:Initiate"))]
    assert {"ecr:GetLifecyclePolicy", "ecr:StartLifecyclePolicyPreview", "ecr:GetLifecyclePolicyPreview"} <= set(
        every_action
    )


def test_reader_stack_excludes_its_role_from_pull_time_updates(reader: Reader) -> None:
    exclusion = reader.only("AWS::ECR::PullTimeUpdateExclusion")["Properties"]["PrincipalArn"]
    condition, created, named = exclusion["Fn::If"]
    role_id = next(k for k, r in reader.template["Resources"].items() if r["Type"] == "AWS::IAM::Role")
    assert (condition, created) == ("CreatesRole", {"Fn::GetAtt": [role_id, "Arn"]})
    assert _render(named) == "arn:{AWS::Partition}:iam::{AWS::AccountId}:role/OrgReader"


def test_reader_stack_creates_the_role_in_one_region_only_when_asked(reader: Reader) -> None:
    # IAM roles are global: a StackSet over several Regions passes CreateRole=false in all but one.
    assert reader.only("AWS::IAM::Role")["Condition"] == "CreatesRole"
    assert reader.template["Conditions"]["CreatesRole"] == {"Fn::Equals": [{"Ref": "CreateRole"}, "true"]}
    assert reader.template["Parameters"]["CreateRole"]["Default"] == "true"


def test_reader_stack_needs_no_cdk_bootstrap(reader: Reader) -> None:
    # A StackSet instance cannot resolve CDK's BootstrapVersion SSM parameter in an account never bootstrapped.
    assert "BootstrapVersion" not in reader.template.get("Parameters", {})
    assert "CheckBootstrapVersion" not in reader.template.get("Rules", {})


def test_reader_stack_is_cdk_nag_clean_with_every_acknowledgement_used(reader: Reader) -> None:
    plugins = {plugin["pluginName"]: plugin for plugin in reader.report["pluginReports"]}
    assert "AwsSolutions" in plugins
    for plugin in plugins.values():
        assert (plugin["conclusion"], plugin["violations"]) == ("success", [])
    suppressed = {v["acknowledgedId"] for p in plugins.values() for v in p.get("suppressedViolations", [])}
    assert {s.split("::", 1)[1].split("[")[0] for s in suppressed} == {"AwsSolutions-IAM5"}


def test_reader_config_refuses_bad_context_naming_the_key() -> None:
    app = App(context={"centralAccountId": "12345"})
    with pytest.raises(ValueError, match="centralAccountId"):
        ReaderConfig.from_context(app.node)
    app = App(context={"readerRoleName": "no spaces allowed"})
    with pytest.raises(ValueError, match="readerRoleName"):
        ReaderConfig.from_context(app.node)


def test_reader_config_trusts_the_named_stacks_two_roles_and_refuses_a_pattern() -> None:
    app = App(context={"stackName": "LayerCheckProd"})
    arns = Stack(app, "Probe").resolve(ReaderConfig.from_context(app.node).trusted_role_arns("123456789012"))
    assert [_render(arn) for arn in arns] == [
        "arn:{AWS::Partition}:iam::123456789012:role/layercheck/LayerCheckProd/LayerCheckProd-Api",
        "arn:{AWS::Partition}:iam::123456789012:role/layercheck/LayerCheckProd/LayerCheckProd-Worker",
    ]
    app = App(context={"centralRoleNamePattern": "layercheck/*"})
    with pytest.raises(ValueError, match="centralRoleNamePattern"):
        ReaderConfig.from_context(app.node)


def _resolved(statement: Any) -> dict[str, Any]:
    stack = Stack(App(), "Central")
    resolved: dict[str, Any] = stack.resolve(statement.to_statement_json())
    return resolved


def test_reader_access_allows_assuming_exactly_the_reader_role_in_the_organization() -> None:
    statement = _resolved(assume_reader_role_statement(role_name="OrgReader", organization_id=ORGANIZATION))
    assert statement["Action"] == "sts:AssumeRole"
    assert _render(statement["Resource"]) == "arn:{AWS::Partition}:iam::*:role/OrgReader"
    assert statement["Condition"] == {"StringEquals": {"aws:ResourceOrgID": ORGANIZATION}}
    without = _resolved(assume_reader_role_statement(role_name="OrgReader"))
    assert "Condition" not in without


def test_reader_access_lists_the_organization_read_only() -> None:
    statement = _resolved(organizations_statement())
    assert sorted(statement["Action"]) == [
        "organizations:ListAccounts",
        "organizations:ListAccountsForParent",
        "organizations:ListChildren",
    ]


def test_the_app_always_holds_the_reader_stack_trusting_this_account_by_default(synthesized: Synthesized) -> None:
    # Given cdk.json as shipped (no centralAccountId): the app holds LayerCheckReader beside the central stack
    assert isinstance(synthesized.app.node.try_find_child("LayerCheckReader"), LayerCheckReaderStack)
    template = synthesized.templates()["LayerCheckReader"]

    # Then deployed without parameters it trusts the function roles of the account it is deployed to
    parameter = template["Parameters"]["CentralAccountId"]
    assert parameter["Default"] == ""
    (role,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert _render(statement["Principal"]["AWS"]) == f"arn:{{AWS::Partition}}:iam::{CENTRAL_OR_THIS}:root"
    # No organizationId and no readerExternalId in cdk.json: the two roles and no further condition.
    assert set(statement["Condition"]) == {"StringEquals"}
    assert [arn.rsplit(":", 1)[1] for arn in _render(statement["Condition"]["StringEquals"]["aws:PrincipalArn"])] == [
        "role/layercheck/LayerCheck/LayerCheck-Api",
        "role/layercheck/LayerCheck/LayerCheck-Worker",
    ]
    assert set(statement["Condition"]["StringEquals"]) == {"aws:PrincipalArn"}


def test_central_account_context_becomes_the_reader_parameters_default(custom: Synthesized) -> None:
    assert custom.templates()["LayerCheckReader"]["Parameters"]["CentralAccountId"]["Default"] == ""
    app, _ = build_app(context={**cdk_json_context(), "centralAccountId": CENTRAL})
    reader = app.node.try_find_child("LayerCheckReader")
    assert isinstance(reader, LayerCheckReaderStack)
    parameter = reader.node.find_child("CentralAccountId")
    assert reader.resolve(parameter.default) == CENTRAL  # type: ignore[attr-defined]
