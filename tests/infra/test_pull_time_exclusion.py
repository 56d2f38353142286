"""ECR records a pull on every BatchGetImage except an excluded principal's: every role of ours that may call it is
registered as a pull-time update exclusion, so audits and checks leave `sinceImagePulled` lifecycle rules alone."""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import Synthesized
from tests.infra.policies import as_list


def _roles_granted(synth: Synthesized, action: str) -> set[str]:
    """Logical ids of the roles that any policy of the template (attached or inline) allows ``action``."""
    roles: set[str] = set()

    def allows(document: dict[str, Any]) -> bool:
        return any(
            statement["Effect"] == "Allow" and action in as_list(statement["Action"])
            for statement in document["Statement"]
        )

    for policy in synth.resources("AWS::IAM::Policy").values():
        if allows(policy["Properties"]["PolicyDocument"]):
            roles |= {role["Ref"] for role in policy["Properties"]["Roles"]}
    for role_id, role in synth.resources("AWS::IAM::Role").items():
        if any(allows(inline["PolicyDocument"]) for inline in role["Properties"].get("Policies", [])):
            roles.add(role_id)
    return roles


def _excluded(synth: Synthesized) -> set[str]:
    excluded: set[str] = set()
    for exclusion in synth.resources("AWS::ECR::PullTimeUpdateExclusion").values():
        role_id, attribute = exclusion["Properties"]["PrincipalArn"]["Fn::GetAtt"]
        assert attribute == "Arn"
        excluded.add(role_id)
    return excluded


def test_every_role_granted_batch_get_image_is_excluded_from_pull_time_updates(synthesized: Synthesized) -> None:
    pulling = _roles_granted(synthesized, "ecr:BatchGetImage")
    # Both functions read manifests: the API's image checks, the worker's push checks and audits.
    assert {synthesized.named("AWS::IAM::Role", f"Functions{name}Role")[0] for name in ("Api", "Worker")} == pulling
    assert _excluded(synthesized) == pulling


def test_the_context_switch_leaves_the_exclusions_out(custom: Synthesized) -> None:
    assert custom.config.pull_time_update_exclusion is False
    assert _roles_granted(custom, "ecr:BatchGetImage")
    assert not custom.resources("AWS::ECR::PullTimeUpdateExclusion")
