"""The two functions of DESIGN.md's picture, from one asset and one handler: "api" behind API Gateway, and "worker"
for the push rule, the audit schedule and the audit queue. Each has its own reserved concurrency, so slow API calls
cannot starve the audit queue's consumer (nor an audit the API), and only the environment and permissions it uses."""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import LayerCheckConfig
from infra.constructs import permissions
from infra.constructs.change_events import ChangeEvents
from infra.constructs.function import LayerCheckFunction, SharedCode
from infra.constructs.in_use_permissions import UNSCOPED_ACTIONS, in_use_nag_findings, in_use_statements
from infra.constructs.queues import dead_letter_queue
from infra.constructs.reader_access import assume_reader_role_statement, organizations_statement
from infra.nag import acknowledge
from layercheck.contracts import environment as env

# API Gateway stops waiting for the integration after 29 s. The function stops before that, so it never runs on for a
# caller who is gone (its start-up is on API Gateway's clock too); the code stops starting ECR calls at
# API_DEADLINE_SECONDS, which leaves time to store the verdicts and answer.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
API_TIMEOUT_SECONDS = 28
API_DEADLINE_SECONDS = 24


def _shared_environment(config: LayerCheckConfig, results_table: dynamodb.ITable, bus_name: str) -> dict[str, str]:
    """What both functions read: the results table, the check engine's settings, the registries served, the reader
    role's name (other accounts' registries) and the change-event bus (both store image verdicts)."""
    return {
        env.RESULTS_TABLE_NAME: results_table.table_name,
        env.RESULTS_TTL_DAYS: str(config.results_ttl_days),
        env.ECR_MAX_CALLS_PER_SECOND: str(config.ecr_calls_per_second_per_environment),
        env.CHECK_WORKERS: str(config.check_workers),
        # This account (resolved at deploy time) and the other registries the stack may read: the API refuses any
        # other registryId, and the push door any other event account, before an ECR call.
        env.REGISTRY_IDS: ",".join([Aws.ACCOUNT_ID, *config.registry_account_ids]),
        env.READER_ROLE_NAME: config.reader_role_name,
        env.EVENT_BUS_NAME: bus_name,
        # The reader roles' trust requires it when set (LayerCheckReader, readerExternalId).
        **({env.READER_EXTERNAL_ID: config.reader_external_id} if config.reader_external_id else {}),
    }


def _audit_accounts(config: LayerCheckConfig) -> dict[str, str]:
    """``AUDIT_ACCOUNTS`` when configured; unset, the function's default applies (this account)."""
    return {env.AUDIT_ACCOUNTS: config.audit_accounts_value} if config.audit_accounts else {}


def _api_environment(config: LayerCheckConfig) -> dict[str, str]:
    """The API also reads the audited accounts (POST /inventory keeps only their images) and the inventory's TTL."""
    return {
        env.API_DEADLINE_SECONDS: str(API_DEADLINE_SECONDS),
        env.INVENTORY_TTL_HOURS: str(config.inventory_ttl_hours),
        **_audit_accounts(config),
    }


def _worker_environment(
    config: LayerCheckConfig, idempotency_table: dynamodb.ITable, audit_queue: sqs.IQueue
) -> dict[str, str]:
    """The event doors' settings: idempotency, the audit queue, the audit's scope, accounts and Regions, replicas, and
    the push check's second look."""
    environment = {
        env.IDEMPOTENCY_TABLE_NAME: idempotency_table.table_name,
        env.IDEMPOTENCY_EXPIRES_SECONDS: str(config.idempotency_expires_seconds),
        env.AUDIT_QUEUE_URL: audit_queue.queue_url,
        env.AUDIT_REPOSITORY_PREFIXES: ",".join(config.effective_audit_prefixes),
        env.AUDIT_TAGGED_ONLY: str(config.audit_tagged_only).lower(),
        env.AUDIT_NEWEST_IMAGES: str(config.audit_newest_images),
        env.REPLICATION_GRACE_MINUTES: str(config.replication_grace_minutes),
        env.PUSH_RECHECK_SECONDS: str(config.push_recheck_seconds),
        **_audit_accounts(config),
    }
    if config.audit_regions:
        environment[env.AUDIT_REGIONS] = ",".join(config.audit_regions)
    return environment


class Functions(Construct):
    """Both functions, their roles' grants, and the ECR pull-time update exclusions of those roles."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LayerCheckConfig,
        results_table: dynamodb.ITable,
        idempotency_table: dynamodb.ITable,
        audit_queue: sqs.IQueue,
        change_events: ChangeEvents,
    ) -> None:
        super().__init__(scope, construct_id)
        shared = SharedCode(self, "Code", config=config)
        shared_environment = _shared_environment(config, results_table, change_events.bus_name)

        self.api = LayerCheckFunction(
            self,
            "Api",
            config=config,
            shared=shared,
            description="layercheck API: checks and results behind API Gateway",
            timeout=Duration.seconds(API_TIMEOUT_SECONDS),
            reserved_concurrency=config.api_reserved_concurrency,
            environment={**shared_environment, **_api_environment(config)},
        )
        # Failed asynchronous invocations (push and schedule events the worker could not handle after its retries)
        # land here with the error, via Lambda's on-failure destination.
        self.failed_invocations = dead_letter_queue(
            self,
            "FailedInvocations",
            fed_by="the worker's asynchronous invocations (on-failure destination)",
            retain=config.retain_data,
        )
        self.worker = LayerCheckFunction(
            self,
            "Worker",
            config=config,
            shared=shared,
            description="layercheck worker: push checks, scheduled audits and the audit queue",
            timeout=Duration.seconds(config.worker_timeout_seconds),
            reserved_concurrency=config.worker_reserved_concurrency,
            environment={**shared_environment, **_worker_environment(config, idempotency_table, audit_queue)},
            function_options=lambda_.FunctionOptions(
                retry_attempts=config.async_retry_attempts,
                max_event_age=Duration.hours(config.async_max_event_age_hours),
                on_failure=destinations.SqsDestination(self.failed_invocations),
            ),
        )

        self._grant_api(config, results_table, change_events)
        self._grant_worker(config, results_table, idempotency_table, audit_queue, change_events)

        # Both call BatchGetImage (image checks over the API, push checks and audits).
        permissions.exclude_from_pull_time_updates(self, config, {"Api": self.api.role, "Worker": self.worker.role})
        self._acknowledge(config)

    def _grant_api(self, config: LayerCheckConfig, results_table: dynamodb.ITable, change_events: ChangeEvents) -> None:
        """Checks, image walks and lifecycle previews in this account's audited registries, other served accounts
        through their reader role, the results table's writes and reads (and the inventory's writes), change events."""
        role = self.api.role
        role.add_to_policy(permissions.ecr_image_statement(config))
        role.add_to_policy(permissions.ecr_lifecycle_statement(config))
        role.add_to_policy(permissions.ecr_registry_statement(permissions.API_REGISTRY_ACTIONS))
        if config.api_reads_other_accounts:
            role.add_to_policy(
                assume_reader_role_statement(role_name=config.reader_role_name, organization_id=config.organization_id)
            )
        for statement in permissions.results_table_statements(
            results_table, permissions.API_RESULTS_ACTIONS, indexes=permissions.RESULTS_TABLE_INDEXES
        ):
            role.add_to_policy(statement)
        change_events.grant_publish(role)

    def _grant_worker(
        self,
        config: LayerCheckConfig,
        results_table: dynamodb.ITable,
        idempotency_table: dynamodb.ITable,
        audit_queue: sqs.IQueue,
        change_events: ChangeEvents,
    ) -> None:
        """Image walks, lifecycle previews and listings in this account's audited Regions, replicas in any Region of
        it, the in-use discovery, other accounts through the reader role (audited accounts and replication
        destinations alike), the Organization's account list, verdict writes and inventory reads, idempotency records,
        the audit queue it fans out to (its consumption is granted by the event source mapping, triggers.py), change
        events."""
        role = self.worker.role
        role.add_to_policy(permissions.ecr_image_statement(config))
        role.add_to_policy(permissions.ecr_lifecycle_statement(config))
        role.add_to_policy(permissions.ecr_listing_statement(config))
        role.add_to_policy(permissions.ecr_replica_statement(config))
        role.add_to_policy(permissions.ecr_replication_status_statement(config))
        role.add_to_policy(permissions.ecr_registry_statement(permissions.WORKER_REGISTRY_ACTIONS))
        for statement in in_use_statements(permissions.audited_regions(config)):
            role.add_to_policy(statement)
        # Always: a replication rule may send images to another account's registry, which only its reader role
        # can read (the role must exist there and trust this deployment; otherwise the replica is UNCHECKED).
        role.add_to_policy(
            assume_reader_role_statement(role_name=config.reader_role_name, organization_id=config.organization_id)
        )
        if config.audits_the_organization:
            role.add_to_policy(organizations_statement())
        for statement in permissions.results_table_statements(
            results_table, permissions.WORKER_RESULTS_ACTIONS, indexes=permissions.WORKER_RESULTS_INDEXES
        ):
            role.add_to_policy(statement)
        role.add_to_policy(
            iam.PolicyStatement(actions=permissions.IDEMPOTENCY_ACTIONS, resources=[idempotency_table.table_arn])
        )
        audit_queue.grant_send_messages(role)
        change_events.grant_publish(role)

    def _acknowledge(self, config: LayerCheckConfig) -> None:
        acknowledge(
            self.api.function,
            {
                "Serverless-LambdaDLQ": "Invoked synchronously by API Gateway only: the caller gets every error, "
                "there is no asynchronous event to dead-letter."
            },
        )
        acknowledge(
            self.worker.function,
            {"Serverless-LambdaDLQ": "Asynchronous failures go to the on-failure destination, which keeps the error."},
        )
        if not config.tracing:
            for function in (self.api.function, self.worker.function):
                acknowledge(
                    function, {"Serverless-LambdaTracing": "X-Ray tracing switched off in context (tracing=false)."}
                )
        reader_role = {
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/{config.reader_role_name}]": (
                "Exactly the reader role, in whichever account is read (audited, served, or a replication "
                "destination); organizationId narrows it to the Organization."
            )
        }
        acknowledge(
            self.api.role,
            {
                **permissions.ecr_nag_findings(config, listing=False, replicas=False),
                **permissions.resource_star_finding(permissions.API_REGISTRY_ACTIONS, tracing=config.tracing),
                **(reader_role if config.api_reads_other_accounts else {}),
            },
        )
        star = [
            "ecr:DescribeRegistry, DescribePullThroughCacheRules",
            "the in-use listings (" + ", ".join(action.split(":")[1] for action in UNSCOPED_ACTIONS) + ")",
        ]
        if config.audits_the_organization:
            star.append("organizations:List*")
        acknowledge(
            self.worker.role,
            {
                **permissions.ecr_nag_findings(config, listing=True, replicas=True),
                **permissions.resource_star_finding(star, tracing=config.tracing),
                **in_use_nag_findings([permissions.nag_region(r) for r in permissions.audited_regions(config)]),
                **reader_role,
            },
        )
