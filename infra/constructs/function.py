"""The one Lambda function: our package as the asset, Powertools from its public layer, least-privilege role."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from aws_cdk import Aws, CfnElement, Duration, IgnoreMode, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.config import LayerCheckConfig
from infra.constructs.queues import dead_letter_queue
from infra.nag import acknowledge

LAMBDA_SOURCE = Path(__file__).resolve().parents[2] / "lambda_src"
HANDLER = "layercheck.handler.lambda_handler"
# The newest Python runtime aws-cdk-lib knows (cdk-nag's Serverless-LambdaLatestVersion insists on it); the
# Powertools layer is published per Python version, so both are derived from this one value.
RUNTIME = lambda_.Runtime.PYTHON_3_14
PYTHON_VERSION = RUNTIME.name.removeprefix("python")
ARCHITECTURE = lambda_.Architecture.ARM_64
# gitignore-style allowlist: only the ``layercheck`` package's Python sources go into the asset (no caches, no
# egg-info written by an editable install, no stray files). tests/infra checks the result.
ASSET_EXCLUDES = ["/*", "!/layercheck/", "/layercheck/**", "!/layercheck/**/", "!/layercheck/**/*.py", "__pycache__/"]

# Powertools reads these. The service names every log line and trace; the function switches off the `service`
# dimension Powertools Metrics would add, so its metrics carry `Source` alone (see observability.py).
SERVICE_NAME = "layercheck"
METRICS_NAMESPACE = "LayerCheck"

# Read-only ECR actions the check engine and the image walker call on named repositories (the prefix-scoped ARNs).
ECR_REPOSITORY_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:DescribeImages"]
# The audit lists each registry with DescribeRepositories and no repository names, which ECR authorizes against
# `repository/*`: a prefix-scoped resource would deny the listing. It returns repository metadata only (names,
# URIs, settings; no images), and the audit keeps only the repositories in scope (AUDIT_REPOSITORY_PREFIXES).
ECR_LISTING_ACTIONS = ["ecr:DescribeRepositories"]


def powertools_layer_parameter(version: str) -> str:
    """The public SSM parameter that holds the Powertools layer ARN for our runtime and architecture.
    https://docs.aws.amazon.com/powertools/python/latest/#lambda-layer"""
    return f"/aws/service/powertools/python/{ARCHITECTURE.name}/python{PYTHON_VERSION}/{version}"


def _registry_accounts(config: LayerCheckConfig) -> list[str | None]:
    """The registries in scope; ``None`` is this stack's own account."""
    return [None, *config.registry_account_ids]


def _repository_patterns(config: LayerCheckConfig) -> list[str]:
    return [f"{prefix}*" for prefix in config.repository_prefixes] or ["*"]


def _repository_arn(account: str | None, pattern: str) -> str:
    return f"arn:{Aws.PARTITION}:ecr:{Aws.REGION}:{account or Aws.ACCOUNT_ID}:repository/{pattern}"


def ecr_repository_arns(config: LayerCheckConfig) -> list[str]:
    """Repository ARNs of the configured scope: this account's registry plus any other registries, each limited to
    the configured name prefixes (every repository when there are none)."""
    return [
        _repository_arn(account, pattern)
        for account in _registry_accounts(config)
        for pattern in _repository_patterns(config)
    ]


def ecr_listing_arns(config: LayerCheckConfig) -> list[str]:
    """``repository/*`` of every registry in scope: what a name-less DescribeRepositories is authorized against."""
    return [_repository_arn(account, "*") for account in _registry_accounts(config)]


def _ecr_nag_findings(config: LayerCheckConfig) -> dict[str, str]:
    """IAM5 acknowledgements of both ECR statements, ``finding id -> reason``, with each ARN spelled as cdk-nag
    spells it (pseudo parameters in angle brackets). Without prefixes both statements name the same ARNs."""

    def finding(account: str | None, pattern: str) -> str:
        account_id = account or "<AWS::AccountId>"
        return f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:{account_id}:repository/{pattern}]"

    accounts = _registry_accounts(config)
    if not config.repository_prefixes:
        reason = "No repositoryPrefixes, so every repository is in scope: read-only ECR image actions and listing."
        return {finding(account, "*"): reason for account in accounts}
    findings = {
        finding(account, "*"): "ecr:DescribeRepositories without names is authorized on repository/*; it reveals "
        "repository metadata only, and the audit filters by prefix."
        for account in accounts
    }
    scoped = "Read-only ECR image actions on the repositories in scope (context repositoryPrefixes)."
    for account in accounts:
        for pattern in _repository_patterns(config):
            findings[finding(account, pattern)] = scoped
    return findings


class CheckerFunction(Construct):
    """The layercheck Lambda with its log group, role, asynchronous-invocation settings and failure queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LayerCheckConfig,
        results_table: dynamodb.ITable,
        idempotency_table: dynamodb.ITable,
        audit_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY

        self.log_group = logs.LogGroup(self, "Logs", retention=config.log_retention, removal_policy=removal)
        # Failed asynchronous invocations (push and schedule events the function could not handle after its
        # retries) land here with the error, via Lambda's on-failure destination.
        self.failed_invocations = dead_letter_queue(
            self, "FailedInvocations", fed_by="the function's asynchronous invocations (on-failure destination)"
        )
        # Our own role: no AWS managed policy (AWSLambdaBasicExecutionRole would allow logs on every group).
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description="layercheck function"
        )
        self.log_group.grant_write(self.role)

        powertools = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "Powertools",
            # Resolved by CloudFormation at deploy time ({{resolve:ssm}}-style parameter): no lookup at synth.
            ssm.StringParameter.value_for_string_parameter(
                self, powertools_layer_parameter(config.powertools_layer_version)
            ),
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description="layercheck: ECR layer availability checks (API, push events, scheduled audits)",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(LAMBDA_SOURCE), exclude=ASSET_EXCLUDES, ignore_mode=IgnoreMode.GIT),
            layers=[powertools],
            role=self.role,
            memory_size=config.lambda_memory_mb,
            timeout=Duration.seconds(config.lambda_timeout_seconds),
            # Caps concurrent environments, hence the total ECR call rate (see ECR_MAX_CALLS_PER_SECOND).
            reserved_concurrent_executions=config.reserved_concurrency,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel[config.log_level],
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE if config.tracing else lambda_.Tracing.DISABLED,
            retry_attempts=config.async_retry_attempts,
            max_event_age=Duration.hours(config.async_max_event_age_hours),
            on_failure=destinations.SqsDestination(self.failed_invocations),
            environment={
                "RESULTS_TABLE_NAME": results_table.table_name,
                "IDEMPOTENCY_TABLE_NAME": idempotency_table.table_name,
                "AUDIT_QUEUE_URL": audit_queue.queue_url,
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": config.log_level,
                "POWERTOOLS_TRACE_DISABLED": str(not config.tracing).lower(),
                "RESULTS_TTL_DAYS": str(config.results_ttl_days),
                "IDEMPOTENCY_EXPIRES_SECONDS": str(config.idempotency_expires_seconds),
                "AUDIT_REPOSITORY_PREFIXES": ",".join(config.effective_audit_prefixes),
                "AUDIT_TAGGED_ONLY": str(config.audit_tagged_only).lower(),
                "AUDIT_NEWEST_IMAGES": str(config.audit_newest_images),
                "ECR_MAX_CALLS_PER_SECOND": str(config.ecr_calls_per_second_per_environment),
                "CHECK_WORKERS": str(config.check_workers),
            },
        )

        self.role.add_to_policy(
            iam.PolicyStatement(actions=ECR_REPOSITORY_ACTIONS, resources=ecr_repository_arns(config))
        )
        self.role.add_to_policy(iam.PolicyStatement(actions=ECR_LISTING_ACTIONS, resources=ecr_listing_arns(config)))
        results_table.grant_read_write_data(self.role)
        idempotency_table.grant_read_write_data(self.role)
        audit_queue.grant_send_messages(self.role)

        self._acknowledge(config, results_table)

    def _acknowledge(self, config: LayerCheckConfig, results_table: dynamodb.ITable) -> None:
        function_findings = {
            "Serverless-LambdaDLQ": "Asynchronous failures go to the on-failure destination, which keeps the error."
        }
        if not config.tracing:
            function_findings["Serverless-LambdaTracing"] = "X-Ray tracing switched off in context (tracing=false)."
        acknowledge(self.function, function_findings)
        table_id = Stack.of(self).resolve(cast(CfnElement, results_table.node.default_child).logical_id)
        findings = {
            f"AwsSolutions-IAM5[Resource::<{table_id}.Arn>/index/*]": "grant_read_write_data: the indexes of our "
            "own results table, and only those.",
        }
        findings.update(_ecr_nag_findings(config))
        if config.tracing:
            findings["AwsSolutions-IAM5[Resource::*]"] = (
                "xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions."
            )
        acknowledge(self.role, findings)
