"""What each function may do, and nothing more: the ECR, DynamoDB and SQS actions its code calls, on named resources.

tests/infra reads the boto3 calls of ``lambda_src/layercheck/integrations`` and checks that every one is granted here,
so a new call without its permission fails the tests instead of failing in an account.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnCondition, Fn, ICfnConditionExpression
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import LayerCheckConfig
from infra.constructs.reader_access import FUNCTION_IDS
from layercheck import results_table_schema

# Read-only ECR actions on named repositories: checks (BatchCheckLayerAvailability) and image walks (BatchGetImage for
# manifests, DescribeImages for digests, tags and storage class).
ECR_IMAGE_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:DescribeImages"]
# Lifecycle previews (POST /lifecycle/previews; the audit's lifecycle risk): the repository's policy and ECR's dry run
# of a policy over its images. StartLifecyclePolicyPreview changes no policy and no image; Put/DeleteLifecyclePolicy
# are never granted.
ECR_LIFECYCLE_ACTIONS = ["ecr:GetLifecyclePolicy", "ecr:StartLifecyclePolicyPreview", "ecr:GetLifecyclePolicyPreview"]
# The audit lists each registry with DescribeRepositories and no repository names, which ECR authorizes against
# `repository/*`: a prefix-scoped resource would deny the listing. It returns repository metadata only (names, URIs,
# settings; no images), and the audit keeps only the repositories in scope (AUDIT_REPOSITORY_PREFIXES).
ECR_LISTING_ACTIONS = ["ecr:DescribeRepositories"]
# Registry-level reads, which support no resource-level permissions (Resource "*"): an image that would be BROKEN is
# judged against the registry's pull-through cache rules first (docs/EVENTS.md); the audit also reads the registry's
# replication rules (DescribeRegistry) to know which replicas an image should have.
API_REGISTRY_ACTIONS = ["ecr:DescribePullThroughCacheRules"]
WORKER_REGISTRY_ACTIONS = ["ecr:DescribePullThroughCacheRules", "ecr:DescribeRegistry"]
# A replica's presence by digest and its blobs, at a replication rule's destination in this account.
ECR_REPLICA_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:DescribeImages"]
# What ECR says about replicating each audited image (IN_PROGRESS | COMPLETE | FAILED per destination), asked in the
# source registry before any destination is looked at (integrations/ecr_replication.py).
ECR_REPLICATION_STATUS_ACTIONS = ["ecr:DescribeImageReplicationStatus"]
# The results table: exactly the calls of the integrations that own it (results_table.py, image_writes.py,
# inventory_store.py, in_use_references.py). Both functions store layer verdicts (BatchWriteItem) and image verdicts
# (read with BatchGetItem / GetItem, written with a conditional UpdateItem that stages the change event); the API
# also reads them back (GET /results, GET /images: Query on the table and its indexes) and stores POST /inventory
# entries (BatchWriteItem, after counting a source's entries with Query); the worker reads a registry's inventory
# entries (Query), hands each repository its in-use references (PutItem, GetItem) and sweeps the waiting change events
# (Query on byPendingChange). No Scan. Only the worker deletes, one item at a time on condition: the verdict of an
# image ECR deleted that nobody runs (logic/deletion.py); everything else expires by TTL.
API_RESULTS_ACTIONS = [
    "dynamodb:BatchWriteItem",
    "dynamodb:BatchGetItem",
    "dynamodb:GetItem",
    "dynamodb:UpdateItem",
    "dynamodb:Query",
]
WORKER_RESULTS_ACTIONS = [*API_RESULTS_ACTIONS, "dynamodb:PutItem", "dynamodb:DeleteItem"]
RESULTS_TABLE_INDEXES = tuple(name for name, _, _ in results_table_schema.GLOBAL_INDEXES)
# The API reads every index; the worker only the waiting change events.
WORKER_RESULTS_INDEXES = (results_table_schema.PENDING_CHANGE_INDEX,)
# What Powertools Idempotency's DynamoDBPersistenceLayer calls (put the in-progress record, read it back on a
# conflict, update it with the result, delete it when the handler fails).
IDEMPOTENCY_ACTIONS = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]


def _repository_patterns(config: LayerCheckConfig) -> list[str]:
    return [f"{prefix}*" for prefix in config.repository_prefixes] or ["*"]


def audited_regions(config: LayerCheckConfig) -> list[str]:
    """The stack's own Region (a token) and every audited Region (``auditRegions``), each once."""
    return list(dict.fromkeys([Aws.REGION, *config.audit_regions]))


def nag_region(region: str) -> str:
    """A Region as cdk-nag spells it in a finding id."""
    return "<AWS::Region>" if region == Aws.REGION else region


def _repository_arn(region: str, pattern: str) -> str:
    return f"arn:{Aws.PARTITION}:ecr:{region}:{Aws.ACCOUNT_ID}:repository/{pattern}"


def ecr_repository_arns(config: LayerCheckConfig, regions: list[str]) -> list[str]:
    """This account's repositories in scope, in each Region: those under the configured prefixes, or all of them."""
    return [_repository_arn(region, pattern) for region in regions for pattern in _repository_patterns(config)]


def ecr_image_statement(config: LayerCheckConfig) -> iam.PolicyStatement:
    """Checks and image walks in this account's registries the stack audits (its own Region and ``auditRegions``);
    other accounts are read through their reader role, never with the function's own role."""
    return iam.PolicyStatement(
        actions=ECR_IMAGE_ACTIONS, resources=ecr_repository_arns(config, audited_regions(config))
    )


def ecr_replication_status_statement(config: LayerCheckConfig) -> iam.PolicyStatement:
    """The audit's source repositories, as the image statement: the repositories in scope of the audited Regions."""
    return iam.PolicyStatement(
        actions=ECR_REPLICATION_STATUS_ACTIONS, resources=ecr_repository_arns(config, audited_regions(config))
    )


def ecr_lifecycle_statement(config: LayerCheckConfig) -> iam.PolicyStatement:
    """Lifecycle previews on the same repositories as the image reads (this account's, in the audited Regions)."""
    return iam.PolicyStatement(
        actions=ECR_LIFECYCLE_ACTIONS, resources=ecr_repository_arns(config, audited_regions(config))
    )


def ecr_replica_statement(config: LayerCheckConfig) -> iam.PolicyStatement:
    """Replicas probed where a replication rule sends them: this account's other Regions, whichever a rule names
    (unknown at synth). Presence (DescribeImages, which records no pull) and blobs only, on the repositories in scope
    (a replica keeps its source repository's name)."""
    return iam.PolicyStatement(
        actions=ECR_REPLICA_ACTIONS, resources=[_repository_arn("*", p) for p in _repository_patterns(config)]
    )


def ecr_registry_statement(actions: list[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=actions, resources=["*"])


def resource_star_finding(star_actions: list[str], *, tracing: bool) -> dict[str, str]:
    """The IAM5 acknowledgement of a role's ``Resource: "*"``: only actions with no resource-level permissions."""
    actions = [*star_actions, *(["xray:PutTraceSegments, PutTelemetryRecords"] if tracing else [])]
    return {"AwsSolutions-IAM5[Resource::*]": f"{', '.join(actions)}: no resource-level permissions exist."}


def ecr_listing_statement(config: LayerCheckConfig) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        actions=ECR_LISTING_ACTIONS, resources=[_repository_arn(region, "*") for region in audited_regions(config)]
    )


def results_table_statements(
    table: dynamodb.ITable, actions: list[str], *, indexes: tuple[str, ...]
) -> list[iam.PolicyStatement]:
    """The granted actions on the table, and Query on the ``indexes`` the function reads (an index is read, never
    written)."""
    statements = [iam.PolicyStatement(actions=actions, resources=[table.table_arn])]
    if indexes:
        index_arns = [f"{table.table_arn}/index/{index}" for index in indexes]
        statements.append(iam.PolicyStatement(actions=["dynamodb:Query"], resources=index_arns))
    return statements


def ecr_nag_findings(config: LayerCheckConfig, *, listing: bool, replicas: bool) -> dict[str, str]:
    """IAM5 acknowledgements of a role's ECR statements, ``finding id -> reason``, each ARN spelled as cdk-nag
    spells it (pseudo parameters in angle brackets)."""

    def finding(region: str, pattern: str) -> str:
        return f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:{region}:<AWS::AccountId>:repository/{pattern}]"

    regions = [nag_region(region) for region in audited_regions(config)]
    scoped = (
        "Read-only ECR actions on the repositories in scope (context repositoryPrefixes) of the audited Regions."
        if config.repository_prefixes
        else "No repositoryPrefixes, so every repository of the audited Regions is in scope: read-only ECR actions."
    )
    findings = {finding(region, pattern): scoped for region in regions for pattern in _repository_patterns(config)}
    if listing and config.repository_prefixes:
        for region in regions:
            findings[finding(region, "*")] = (
                "ecr:DescribeRepositories without names is authorized on repository/*; it reveals repository "
                "metadata only, and the audit filters by prefix."
            )
    if replicas:
        for pattern in _repository_patterns(config):
            findings[finding("*", pattern)] = (
                "Replicas are probed (DescribeImages, BatchCheckLayerAvailability) in whichever Region of this "
                "account a replication rule names: not known at synth."
            )
    return findings


# The functions whose roles call BatchGetImage (image checks over the API; push checks and audits): the construct ids
# of infra/constructs/functions.py, which also name their roles (reader_access.function_role_name).
PULLING_FUNCTIONS = FUNCTION_IDS


def exclude_from_pull_time_updates(scope: Construct, config: LayerCheckConfig, roles: dict[str, iam.IRole]) -> None:
    """Register each role that calls BatchGetImage as an ECR pull-time update exclusion: ECR records a pull
    (``lastRecordedPullTime``) on every BatchGetImage except an excluded principal's, and lifecycle rules that expire
    or archive by ``sinceImagePulled`` read that time, so an audit that is not excluded keeps every image "recently
    pulled". ECR allows 100 exclusions per account; ``pullTimeUpdateExclusion=false`` leaves them out.
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-time-update-exclusions.html

    An exclusion belongs to one registry (account and Region: RegisterPullTimeUpdateExclusion takes no Region or
    registry id, it acts where it is called), and the roles pull in the stack's Region and every ``auditRegions``
    Region. Those Regions are covered by one small stack each (infra/exclusion_stack.py); this stack registers the
    roles in its own Region only when that Region is not one of them, so no registry gets the same exclusion twice
    (which ECR refuses with ExclusionAlreadyExistsException)."""
    if not config.pull_time_update_exclusion:
        return
    condition = None
    if config.audit_regions:
        condition = CfnCondition(
            scope,
            "HomeRegionNotAudited",
            expression=Fn.condition_not(
                any_of([Fn.condition_equals(Aws.REGION, region) for region in config.audit_regions])
            ),
        )
    for name, role in roles.items():
        exclusion = ecr.CfnPullTimeUpdateExclusion(scope, f"{name}PullTimeUpdateExclusion", principal_arn=role.role_arn)
        if condition is not None:
            exclusion.cfn_options.condition = condition


def any_of(conditions: list[ICfnConditionExpression]) -> ICfnConditionExpression:
    """``Fn::Or`` of any number of conditions (CloudFormation's takes 2 to 10: nest groups of 10)."""
    if len(conditions) == 1:
        return conditions[0]
    if len(conditions) <= 10:
        return Fn.condition_or(*conditions)
    return any_of([any_of(conditions[start : start + 10]) for start in range(0, len(conditions), 10)])
