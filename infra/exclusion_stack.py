"""``<stackName>-PullTimeExclusions-<region>``: the central functions' roles registered as ECR pull-time update
exclusions in one audited Region of this account.

An exclusion belongs to one registry, that is one account and one Region (``RegisterPullTimeUpdateExclusion`` acts
in the Region it is called in), while the functions call ``BatchGetImage`` in every Region of ``auditRegions``. The
app holds one of these stacks per audited Region, each bound to its Region, so that ``cdk deploy`` registers the
exclusions there too (the central stack registers its own Region only when that Region is not audited: see
``permissions.exclude_from_pull_time_updates``). The roles have fixed names (``function_role_name``), so their ARNs
are known here without a cross-Region reference; each stack depends on the central stack, which creates the roles.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import BootstraplessSynthesizer, Environment, Stack
from aws_cdk import aws_ecr as ecr
from constructs import Construct

from infra.config import LayerCheckConfig
from infra.constructs.permissions import PULLING_FUNCTIONS
from infra.constructs.reader_access import function_role_arn


def exclusion_stack_name(stack_name: str, region: str) -> str:
    return f"{stack_name}-PullTimeExclusions-{region}"


class PullTimeExclusionStack(Stack):
    def __init__(self, scope: Construct, *, config: LayerCheckConfig, region: str, **kwargs: Any) -> None:
        super().__init__(
            scope,
            exclusion_stack_name(config.stack_name, region),
            description=f"layercheck: the {config.stack_name} functions' pulls in {region} leave pull times alone",
            env=Environment(region=region),
            # Nothing to upload: deploys with the CLI's credentials, in a Region that need not be bootstrapped.
            synthesizer=kwargs.pop("synthesizer", None) or BootstraplessSynthesizer(),
            **kwargs,
        )
        for function in PULLING_FUNCTIONS:
            ecr.CfnPullTimeUpdateExclusion(
                self,
                f"{function}PullTimeUpdateExclusion",
                principal_arn=function_role_arn(config.stack_name, function),
            )


def exclusion_stacks(scope: Construct, config: LayerCheckConfig, central: Stack) -> list[PullTimeExclusionStack]:
    """One stack per ``auditRegions`` Region when the exclusions are on (none otherwise), deployed after ``central``."""
    if not config.pull_time_update_exclusion:
        return []
    stacks = [PullTimeExclusionStack(scope, config=config, region=region) for region in config.audit_regions]
    for stack in stacks:
        stack.add_stack_dependency(central, "the central stack creates the roles these exclusions name")
    return stacks
