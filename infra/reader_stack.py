"""``LayerCheckReader``: the read-only role each audited member account holds, trusted only by the central deployment.

Always in the app, beside the central stack. Deployed per account
(``npx cdk deploy LayerCheckReader -c centralAccountId=<central account>``) or to many accounts at once through a
CloudFormation StackSet made from its synthesized template (docs/DEPLOY.md "Member accounts"). It contains:

- the role ``READER_ROLE_NAME`` (context ``readerRoleName``) with exactly the actions the audit and the in-use
  discovery use: ECR reads and lifecycle previews (a dry run: no Put or DeleteLifecyclePolicy) on ``repository/*`` of
  this account in any Region, ``DescribeRegistry`` and ``DescribePullThroughCacheRules`` (registry-level actions with
  no resource type: ``*``), ECS and Lambda list/describe actions on the narrowest resources each service allows;
- a trust policy naming the central account (parameter ``CentralAccountId``, default from context
  ``centralAccountId``; left empty, the account the stack is deployed to, as in a single-account deployment) and, by
  ``aws:PrincipalArn`` (StringEquals), exactly the central stack's two function roles
  (``role/layercheck/<stackName>/<stackName>-Api`` and ``-Worker``: fixed names, so a role deleted and created again
  keeps working, and no other role of the central account matches, whatever its path); with ``organizationId``, only
  principals of that Organization; with ``readerExternalId``, only an AssumeRole that sends that ExternalId
  (``sts:ExternalId``);
- an ECR pull-time update exclusion for the role (context ``readerPullTimeExclusion``, default on): the audit's
  ``BatchGetImage`` would otherwise count as a pull and keep every image "recently pulled" for lifecycle rules that
  expire by ``sinceImagePulled``. Exclusions are per registry (account and Region): deploy the stack in every
  audited Region. IAM roles are global, so in every Region but one set the parameter ``CreateRole=false``: the
  stack then only registers the exclusion for the role created elsewhere.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, BootstraplessSynthesizer, CfnCondition, CfnOutput, CfnParameter, Fn, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct, Node
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from infra.config import ReaderExternalId, ReaderRoleName
from infra.constructs.in_use_permissions import UNSCOPED_REASON, in_use_nag_findings, in_use_statements
from infra.constructs.permissions import PULLING_FUNCTIONS
from infra.constructs.reader_access import function_role_arn
from infra.nag import acknowledge

ECR_REPOSITORY_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:DescribeImageReplicationStatus",
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
)
ECR_REGISTRY_ACTIONS = ("ecr:DescribePullThroughCacheRules", "ecr:DescribeRegistry")
# Lifecycle previews: the repository's policy and ECR's dry run of a policy (no Put/DeleteLifecyclePolicy).
ECR_LIFECYCLE_ACTIONS = ("ecr:GetLifecyclePolicy", "ecr:StartLifecyclePolicyPreview", "ecr:GetLifecyclePolicyPreview")


class ReaderConfig(BaseModel):
    """The reader stack's context keys (cdk.json or ``-c``)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    stack_name: str = Field("LayerCheckReader", alias="readerStackName", pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
    role_name: ReaderRoleName = Field("LayerCheckReader", alias="readerRoleName")
    central_account_id: str = Field("", alias="centralAccountId", pattern=r"^(\d{12})?$")
    central_stack_name: str = Field("LayerCheck", alias="stackName")
    # Refused (see _no_role_pattern): the trust names the two function roles exactly, never a pattern.
    central_role_name_pattern: str = Field("", alias="centralRoleNamePattern")
    organization_id: str = Field("", alias="organizationId", pattern=r"^(o-[a-z0-9]{10,32})?$")
    pull_time_exclusion: bool = Field(True, alias="readerPullTimeExclusion")
    external_id: ReaderExternalId = Field("", alias="readerExternalId")

    @classmethod
    def from_context(cls, node: Node) -> ReaderConfig:
        keys = [field.alias or name for name, field in cls.model_fields.items()]
        values = {key: value for key in keys if (value := node.try_get_context(key)) is not None}
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            raise ValueError(f"invalid LayerCheckReader context in cdk.json or -c: {error}") from error

    @model_validator(mode="after")
    def _no_role_pattern(self) -> ReaderConfig:
        if self.central_role_name_pattern:
            raise ValueError(
                "centralRoleNamePattern: the reader role trusts exactly the two function roles of the central stack "
                "(stackName); a pattern would let any role created on that path read the member account"
            )
        return self

    def trusted_role_arns(self, central_account: str) -> list[str]:
        """The central functions' two roles (infra/constructs/function.py names them), in ``central_account``."""
        return [function_role_arn(self.central_stack_name, function, central_account) for function in PULLING_FUNCTIONS]


class LayerCheckReaderStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: ReaderConfig, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            description="layercheck reader: read-only ECR, ECS and Lambda access for the central layercheck audit",
            # No CDK bootstrap needed in member accounts: no assets, and no BootstrapVersion parameter that a
            # StackSet instance could not resolve. `cdk deploy` deploys it with the CLI's own credentials.
            synthesizer=kwargs.pop("synthesizer", None) or BootstraplessSynthesizer(),
            **kwargs,
        )
        trusted_account, creates_role = self._parameters(config)
        self.role = iam.Role(
            self,
            "Role",
            role_name=config.role_name,
            description="layercheck: read ECR images and the ECS/Lambda inventories for the central audit",
            assumed_by=self._trusted_principal(config, trusted_account),
            inline_policies={"layercheck-read": self._read_policy()},
        )
        role_resource = self.role.node.default_child
        assert isinstance(role_resource, iam.CfnRole)
        role_resource.cfn_options.condition = creates_role
        acknowledge(
            self.role,
            {
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:*:<AWS::AccountId>:repository/*]": (
                    "every repository of this account, in every audited Region: the audit walks the whole registry"
                ),
                "AwsSolutions-IAM5[Resource::*]": (
                    f"DescribeRegistry and DescribePullThroughCacheRules, {UNSCOPED_REASON}: '*' alone grants them"
                ),
                **in_use_nag_findings(["*"]),
            },
        )

        role_arn = f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/{config.role_name}"
        if config.pull_time_exclusion:
            ecr.CfnPullTimeUpdateExclusion(
                self,
                "PullTimeExclusion",
                # The role's own ARN where this stack creates it (so the exclusion waits for the role), else its name.
                principal_arn=Fn.condition_if(creates_role.logical_id, self.role.role_arn, role_arn).to_string(),
            )
        CfnOutput(self, "ReaderRoleArn", value=role_arn, description="The role the central audit assumes")

    def _parameters(self, config: ReaderConfig) -> tuple[str, CfnCondition]:
        """The stack's two parameters: the central account it trusts (empty: this account), and whether this Region's
        instance creates the role (IAM roles are global)."""
        central_account = CfnParameter(
            self,
            "CentralAccountId",
            type="String",
            allowed_pattern=r"^(\d{12})?$",
            description="The account of the central layercheck deployment whose function roles may assume the role "
            "(empty: this account)",
            default=config.central_account_id,
        )
        central_account_given = CfnCondition(
            self,
            "CentralAccountGiven",
            expression=Fn.condition_not(Fn.condition_equals(central_account.value_as_string, "")),
        )
        trusted_account = Fn.condition_if(
            central_account_given.logical_id, central_account.value_as_string, Aws.ACCOUNT_ID
        ).to_string()
        create_role = CfnParameter(
            self,
            "CreateRole",
            type="String",
            allowed_values=["true", "false"],
            default="true",
            description="false in every Region but one: IAM roles are global, pull-time exclusions are per Region",
        )
        creates_role = CfnCondition(
            self, "CreatesRole", expression=Fn.condition_equals(create_role.value_as_string, "true")
        )
        return trusted_account, creates_role

    @staticmethod
    def _trusted_principal(config: ReaderConfig, central_account: str) -> iam.IPrincipal:
        # StringEquals on exact ARNs: ArnLike with a wildcard would also admit any role given that path later.
        equals: dict[str, Any] = {"aws:PrincipalArn": config.trusted_role_arns(central_account)}
        if config.organization_id:
            equals["aws:PrincipalOrgID"] = config.organization_id
        if config.external_id:
            # The central functions send it with every AssumeRole (READER_EXTERNAL_ID, from the same context key).
            equals["sts:ExternalId"] = config.external_id
        return iam.AccountPrincipal(central_account).with_conditions({"StringEquals": equals})

    @staticmethod
    def _read_policy() -> iam.PolicyDocument:
        def arn(service: str, resource: str) -> str:
            """This account's resources of ``service`` in any Region (the role is global; registries are not)."""
            return f"arn:{Aws.PARTITION}:{service}:*:{Aws.ACCOUNT_ID}:{resource}"

        return iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="ReadRepositories",
                    actions=list(ECR_REPOSITORY_ACTIONS),
                    resources=[arn("ecr", "repository/*")],
                ),
                iam.PolicyStatement(
                    sid="PreviewLifecyclePolicies",
                    actions=list(ECR_LIFECYCLE_ACTIONS),
                    resources=[arn("ecr", "repository/*")],
                ),
                iam.PolicyStatement(sid="ReadRegistry", actions=list(ECR_REGISTRY_ACTIONS), resources=["*"]),
                *in_use_statements(["*"]),
            ]
        )
