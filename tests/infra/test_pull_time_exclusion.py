"""ECR records a pull on every BatchGetImage except an excluded principal's: every role of ours that may call it is
registered as a pull-time update exclusion in every Region where it may call it, so audits and checks leave
`sinceImagePulled` lifecycle rules alone.

An exclusion belongs to one registry, one account and one Region (RegisterPullTimeUpdateExclusion has no Region or
registry parameter: it acts where it is called; ECR refuses a second one for the same principal with
ExclusionAlreadyExistsException). So each Region must hold each role's exclusion exactly once."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import App, Fn, Stack
from aws_cdk import aws_ecr as ecr

from infra.app import build_app, cdk_json_context
from infra.config import LayerCheckConfig
from infra.constructs.permissions import PULLING_FUNCTIONS, any_of
from infra.constructs.reader_access import IAM_ROLE_NAME_MAX, function_role_name
from infra.exclusion_stack import exclusion_stack_name
from tests.infra.conftest import Synthesized
from tests.infra.policies import as_list, render

HOME = "{AWS::Region}"


def _roles_granted(synth: Synthesized, action: str) -> dict[str, set[str]]:
    """Logical id -> resources, of the central roles that any policy of the template allows ``action``."""
    roles: dict[str, set[str]] = {}
    for policy in synth.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Allow" and action in as_list(statement["Action"]):
                for role in policy["Properties"]["Roles"]:
                    roles.setdefault(role["Ref"], set()).update(render(r) for r in as_list(statement["Resource"]))
    for role_id, role in synth.resources("AWS::IAM::Role").items():
        for inline in role["Properties"].get("Policies", []):
            for statement in inline["PolicyDocument"]["Statement"]:
                if statement["Effect"] == "Allow" and action in as_list(statement["Action"]):
                    roles.setdefault(role_id, set()).update(render(r) for r in as_list(statement["Resource"]))
    return roles


def _role_arn(synth: Synthesized, role_id: str) -> str:
    """The role's ARN as the template fixes it (path and name), rendered like the exclusion stacks' ARNs."""
    properties = synth.template_json["Resources"][role_id]["Properties"]
    return f"arn:{{AWS::Partition}}:iam::{{AWS::AccountId}}:role{properties['Path']}{properties['RoleName']}"


def _holds(condition: Any, conditions: dict[str, Any], region: str) -> bool:
    """CloudFormation's condition functions, as far as the stack uses them, in a stack deployed to ``region``."""
    if isinstance(condition, dict) and "Condition" in condition:
        return _holds(conditions[condition["Condition"]], conditions, region)
    (function, arguments), *_ = condition.items()
    if function == "Fn::Not":
        return not _holds(arguments[0], conditions, region)
    if function == "Fn::Or":
        return any(_holds(argument, conditions, region) for argument in arguments)
    if function == "Fn::Equals":
        left, right = (region if value == {"Ref": "AWS::Region"} else value for value in arguments)
        return bool(left == right)
    raise AssertionError(f"unexpected condition function {function}")


def _exclusions_in(synth: Synthesized, region: str) -> list[str]:
    """The principals excluded in ``region`` when the central stack is deployed there: its own exclusions whose
    condition holds, and those of the exclusion stack bound to that Region, if any."""
    conditions = synth.template_json.get("Conditions", {})
    found = [
        # The central stack names its own roles by attribute: the ARN their fixed path and name make.
        _role_arn(synth, exclusion["Properties"]["PrincipalArn"]["Fn::GetAtt"][0])
        for exclusion in synth.resources("AWS::ECR::PullTimeUpdateExclusion").values()
        if "Condition" not in exclusion or _holds({"Condition": exclusion["Condition"]}, conditions, region)
    ]
    template = synth.templates().get(exclusion_stack_name(synth.config.stack_name, region))
    if template is not None:
        found += [
            render(resource["Properties"]["PrincipalArn"])
            for resource in template["Resources"].values()
            if resource["Type"] == "AWS::ECR::PullTimeUpdateExclusion"
        ]
    return found


def test_every_role_granted_batch_get_image_is_excluded_from_pull_time_updates(synthesized: Synthesized) -> None:
    pulling = set(_roles_granted(synthesized, "ecr:BatchGetImage"))
    # Both functions read manifests: the API's image checks, the worker's push checks and audits.
    assert {synthesized.named("AWS::IAM::Role", f"Functions{name}Role")[0] for name in PULLING_FUNCTIONS} == pulling
    excluded = {
        exclusion["Properties"]["PrincipalArn"]["Fn::GetAtt"][0]
        for exclusion in synthesized.resources("AWS::ECR::PullTimeUpdateExclusion").values()
    }
    assert excluded == pulling
    # No auditRegions: the stack's own Region is the only one, registered unconditionally, and no other stack.
    assert all("Condition" not in e for e in synthesized.resources("AWS::ECR::PullTimeUpdateExclusion").values())
    assert not [name for name in synthesized.templates() if "PullTimeExclusions" in name]


def test_function_roles_have_the_fixed_names_the_exclusion_stacks_name(each: Synthesized) -> None:
    for function in PULLING_FUNCTIONS:
        _, role = each.named("AWS::IAM::Role", f"Functions{function}Role")
        assert role["Properties"]["RoleName"] == function_role_name(each.config.stack_name, function)


@pytest.mark.parametrize("home", ["eu-west-1", "us-east-1", "ap-southeast-2"])
def test_each_region_where_a_role_pulls_excludes_it_exactly_once(custom: Synthesized, home: str) -> None:
    # Given auditRegions eu-west-1 and us-east-1, and the central stack deployed to `home` (audited or not)
    pulling = _roles_granted(custom, "ecr:BatchGetImage")
    regions = {
        re.match(r"arn:\{AWS::Partition\}:ecr:(\{AWS::Region\}|[a-z0-9-]+):", resource)[1]  # type: ignore[index]
        for resources in pulling.values()
        for resource in resources
    }
    assert regions == {HOME, "eu-west-1", "us-east-1"}
    role_arns = sorted(_role_arn(custom, role_id) for role_id in pulling)
    assert len(role_arns) == len(PULLING_FUNCTIONS)

    # Then every Region where a role may call BatchGetImage holds each role's exclusion once, no more
    for region in {home if r == HOME else r for r in regions}:
        assert sorted(_exclusions_in(custom, region)) == role_arns, region


def test_exclusion_stacks_are_bound_to_their_region_and_deploy_after_the_central_stack(custom: Synthesized) -> None:
    manifest = json.loads((custom.assembly_dir / "manifest.json").read_text(encoding="utf-8"))
    for region in custom.config.audit_regions:
        artifact = manifest["artifacts"][exclusion_stack_name(custom.config.stack_name, region)]
        assert artifact["environment"] == f"aws://unknown-account/{region}"
        assert custom.config.stack_name in artifact["dependencies"]
        # Nothing to upload, so no CDK bootstrap needed in that Region.
        assert "BootstrapVersion" not in custom.templates()[exclusion_stack_name(custom.config.stack_name, region)].get(
            "Parameters", {}
        )


def test_the_context_switch_leaves_every_function_exclusion_out() -> None:
    # Given auditRegions and pullTimeUpdateExclusion=false (built, not synthesized: the tree says it all)
    context = {**cdk_json_context(), "auditRegions": "eu-west-1,us-east-1", "pullTimeUpdateExclusion": "false"}
    app, central = build_app(context=context)

    # Then neither the central stack nor any other stack registers the functions' roles (LayerCheckReader still
    # registers its own role: readerPullTimeExclusion)
    exclusions = [c for c in app.node.find_all() if isinstance(c, ecr.CfnPullTimeUpdateExclusion)]
    assert {Stack.of(exclusion).stack_name for exclusion in exclusions} == {"LayerCheckReader"}
    assert {child.node.id for child in app.node.children if isinstance(child, Stack)} == {
        central.stack_name,
        "LayerCheckReader",
    }


def test_any_of_nests_cloudformations_or_within_its_ten_conditions() -> None:
    regions = [f"region-{number}" for number in range(23)]
    resolved = Stack(App(), "Conditions").resolve(any_of([Fn.condition_equals("here", r) for r in regions]))

    def leaves(condition: dict[str, Any]) -> list[str]:
        if "Fn::Or" in condition:
            assert 2 <= len(condition["Fn::Or"]) <= 10
            return [leaf for part in condition["Fn::Or"] for leaf in leaves(part)]
        return [condition["Fn::Equals"][1]]

    assert leaves(resolved) == regions
    assert Stack(App(), "One").resolve(any_of([Fn.condition_equals("here", "a")])) == {"Fn::Equals": ["here", "a"]}


def test_function_role_names_fit_iam_and_stay_distinct_for_long_stack_names() -> None:
    long_a, long_b = "A" * 100 + "-prod", "A" * 100 + "-test"
    names = {function_role_name(stack, function) for stack in (long_a, long_b) for function in PULLING_FUNCTIONS}
    assert len(names) == 4
    assert all(len(name) <= IAM_ROLE_NAME_MAX for name in names)
    assert function_role_name("LayerCheck", "Worker") == "LayerCheck-Worker"


def test_a_stack_name_too_long_for_the_exclusions_role_arn_fails_at_synth_naming_the_limit() -> None:
    """ECR's RegisterPullTimeUpdateExclusion takes a principalArn of at most 200 characters; CloudFormation would
    only refuse it at deploy, after the central stack. The roles' ARNs grow with stackName (path and name)."""
    longest_accepted = "L" * 86  # arn:aws-us-gov:iam::<12>:role/layercheck/<86>/<64-character role name>: 200
    LayerCheckConfig.model_validate({"stackName": longest_accepted})

    with pytest.raises(ValueError, match=r"201 characters long .* over the 200 an ECR pull-time update exclusion"):
        build_app(context={**cdk_json_context(), "stackName": "L" * 87})
    # Without exclusions the name is only IAM's business
    assert LayerCheckConfig.model_validate({"stackName": "L" * 87, "pullTimeUpdateExclusion": False})
