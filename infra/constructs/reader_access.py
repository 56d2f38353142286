"""What the central stack's functions need to read other accounts: the statements, for the function construct to add.

- ``assume_reader_role_statement``: ``sts:AssumeRole`` on exactly ``arn:<partition>:iam::*:role/<READER_ROLE_NAME>``
  and nothing broader; with ``organizationId`` set, only roles of accounts in that Organization
  (``aws:ResourceOrgID``: on an identity policy the *principal*'s organization would always be ours, so the
  condition that narrows anything is the one on the role's account).
- ``organizations_statement``: the listings of ``AUDIT_ACCOUNTS=organization``. ListAccounts does not support
  resource-level permissions (resource ``*``); acknowledge cdk-nag's IAM5 with that reason where it is attached.

- ``function_role_arn``: the central functions' roles by their fixed names, which the reader role's trust, the
  change-event bus policy and the pull-time exclusions name exactly.
"""

from __future__ import annotations

import hashlib

from aws_cdk import Aws
from aws_cdk import aws_iam as iam

ORGANIZATIONS_LIST_ACTIONS = (
    "organizations:ListAccounts",
    "organizations:ListAccountsForParent",
    "organizations:ListChildren",
)


def function_role_path(stack_name: str) -> str:
    """The IAM path of the central stack's two function roles: the reader role's trust names exactly these
    (``role/layercheck/<stackName>/*``), not every role whose generated name happens to start like the stack's."""
    return f"/layercheck/{stack_name}/"


# The construct ids of the two functions (infra/constructs/functions.py), which also name their roles.
FUNCTION_IDS = ("Api", "Worker")
# IAM role names: at most 64 characters, unique in the account (not per path).
IAM_ROLE_NAME_MAX = 64


def function_role_name(stack_name: str, function: str) -> str:
    """The fixed name of a central function's role (``<stackName>-Api``, ``<stackName>-Worker``): known at synth, so
    the stacks that register it as a pull-time update exclusion in the other audited Regions can name its ARN.
    A stack name too long for IAM is cut and keeps a short hash of the whole name, so two names never collide."""
    name = f"{stack_name}-{function}"
    if len(name) <= IAM_ROLE_NAME_MAX:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: IAM_ROLE_NAME_MAX - len(digest) - 1]}-{digest}"


def function_role_arn(stack_name: str, function: str, account: str = Aws.ACCOUNT_ID) -> str:
    """The ARN of that role in ``account`` (default: the deploying account) and the deploying partition, path
    included. The name is fixed, so a role deleted and created again has the same ARN."""
    path = function_role_path(stack_name)
    return f"arn:{Aws.PARTITION}:iam::{account}:role{path}{function_role_name(stack_name, function)}"


# ECR's PullTimeUpdateExclusion takes a principalArn of at most 200 characters; the partition is only known at deploy
# time, so the longest one (aws-us-gov) bounds it at synth.
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_RegisterPullTimeUpdateExclusion.html
EXCLUSION_PRINCIPAL_MAX = 200
LONGEST_PARTITION = "aws-us-gov"


def longest_function_role_arn(stack_name: str, functions: tuple[str, ...]) -> int:
    """The length of the longest of the functions' role ARNs, in the longest partition."""
    path = function_role_path(stack_name)
    return max(
        len(f"arn:{LONGEST_PARTITION}:iam::123456789012:role{path}{function_role_name(stack_name, f)}")
        for f in functions
    )


def reader_role_arn_pattern(role_name: str) -> str:
    """Every account's reader role, in the deploying partition (aws, aws-cn, aws-us-gov)."""
    return f"arn:{Aws.PARTITION}:iam::*:role/{role_name}"


def assume_reader_role_statement(*, role_name: str, organization_id: str = "") -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid="AssumeLayerCheckReader",
        actions=["sts:AssumeRole"],
        resources=[reader_role_arn_pattern(role_name)],
        conditions={"StringEquals": {"aws:ResourceOrgID": organization_id}} if organization_id else None,
    )


def organizations_statement() -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid="ListOrganizationAccounts", actions=list(ORGANIZATIONS_LIST_ACTIONS), resources=["*"]
    )
