"""The in-use discovery's ECS and Lambda reads (integrations/ecs.py, integrations/lambda_functions.py), on the narrowest
resources each service allows, for the central worker (this account, audited Regions) and the LayerCheckReader role
(its account, any Region) alike. https://docs.aws.amazon.com/service-authorization/latest/reference/
list_amazonelasticcontainerservice.html and list_awslambda.html:

- ``ecs:ListClusters`` and ``ecs:DescribeTaskDefinition`` have no resource type; ``ecs:ListServices`` and
  ``ecs:ListTasks`` none either (a request names its cluster only through the ``ecs:cluster`` condition key, which
  would narrow nothing here: a role can only list its own account's clusters). ``lambda:ListFunctions`` has none.
  Only ``*`` grants these.
- ``ecs:DescribeServices`` on ``service/*`` and ``ecs:DescribeTasks`` on ``task/*`` (``*`` spans the cluster part of
  the long ARN format and the short format alike); ``ecs:DescribeServiceRevisions`` on ``service-revision/*``
  (``service-revision/<cluster>/<service>/<id>``: the digests each deployment pinned).
- ``lambda:GetFunction`` and ``lambda:ListAliases`` on ``function:*`` (``*`` spans ``:<qualifier>`` too).
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam

UNSCOPED_ACTIONS = (
    "ecs:DescribeTaskDefinition",
    "ecs:ListClusters",
    "ecs:ListServices",
    "ecs:ListTasks",
    "lambda:ListFunctions",
)
# action -> (service, resource) it is granted on, in each Region.
SCOPED_ACTIONS = {
    "ecs:DescribeServices": ("ecs", "service/*"),
    "ecs:DescribeTasks": ("ecs", "task/*"),
    "ecs:DescribeServiceRevisions": ("ecs", "service-revision/*"),
    "lambda:GetFunction": ("lambda", "function:*"),
    "lambda:ListAliases": ("lambda", "function:*"),
}

REASONS = {
    "service/*": "the in-use discovery describes every service of every cluster of this account",
    "task/*": "the in-use discovery describes the running tasks of every cluster of this account",
    "service-revision/*": "the in-use discovery reads the digests every service's current deployment pinned",
    "function:*": "the in-use discovery reads the image and aliases of every container-image function of this account",
}
UNSCOPED_REASON = (
    "ecs:ListClusters, ListServices, ListTasks, DescribeTaskDefinition and lambda:ListFunctions have no resource type"
)


def _arn(service: str, region: str, resource: str) -> str:
    return f"arn:{Aws.PARTITION}:{service}:{region}:{Aws.ACCOUNT_ID}:{resource}"


def in_use_statements(regions: list[str]) -> list[iam.PolicyStatement]:
    """One statement per resource type, each over this account's resources of that type in ``regions``."""
    statements = [iam.PolicyStatement(sid="ListInUseWorkloads", actions=list(UNSCOPED_ACTIONS), resources=["*"])]
    by_resource: dict[tuple[str, str], list[str]] = {}
    for action, target in SCOPED_ACTIONS.items():
        by_resource.setdefault(target, []).append(action)
    for (service, resource), actions in by_resource.items():
        statements.append(
            iam.PolicyStatement(actions=actions, resources=[_arn(service, region, resource) for region in regions])
        )
    return statements


def in_use_nag_findings(nag_regions: list[str]) -> dict[str, str]:
    """IAM5 acknowledgements of :func:`in_use_statements`, Regions spelled as cdk-nag spells them."""
    return {
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:{service}:{region}:<AWS::AccountId>:{resource}]": REASONS[
            resource
        ]
        for region in nag_regions
        for service, resource in set(SCOPED_ACTIONS.values())
    }
