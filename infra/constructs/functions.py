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
from infra.constructs.function import LayerCheckFunction, SharedCode
from infra.constructs.queues import dead_letter_queue
from infra.nag import acknowledge
from layercheck.contracts import environment as env

# API Gateway stops waiting for the integration after 29 s. The function stops before that, so it never runs on for a
# caller who is gone (its start-up is on API Gateway's clock too); the code stops starting ECR calls at
# API_DEADLINE_SECONDS, which leaves time to store the verdicts and answer.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
API_TIMEOUT_SECONDS = 28
API_DEADLINE_SECONDS = 24


def _shared_environment(config: LayerCheckConfig, results_table: dynamodb.ITable) -> dict[str, str]:
    """What both functions read: the results table, the check engine's settings, the registries served."""
    return {
        env.RESULTS_TABLE_NAME: results_table.table_name,
        env.RESULTS_TTL_DAYS: str(config.results_ttl_days),
        env.ECR_MAX_CALLS_PER_SECOND: str(config.ecr_calls_per_second_per_environment),
        env.CHECK_WORKERS: str(config.check_workers),
        # This account (resolved at deploy time) and the other registries the stack may read: the API refuses any
        # other registryId, and the push door any other event account, before an ECR call.
        env.REGISTRY_IDS: ",".join([Aws.ACCOUNT_ID, *config.registry_account_ids]),
    }


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
    ) -> None:
        super().__init__(scope, construct_id)
        shared = SharedCode(self, "Code", config=config)
        shared_environment = _shared_environment(config, results_table)

        self.api = LayerCheckFunction(
            self,
            "Api",
            config=config,
            shared=shared,
            description="layercheck API: checks and results behind API Gateway",
            timeout=Duration.seconds(API_TIMEOUT_SECONDS),
            reserved_concurrency=config.api_reserved_concurrency,
            environment={**shared_environment, env.API_DEADLINE_SECONDS: str(API_DEADLINE_SECONDS)},
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
            environment={
                **shared_environment,
                env.IDEMPOTENCY_TABLE_NAME: idempotency_table.table_name,
                env.IDEMPOTENCY_EXPIRES_SECONDS: str(config.idempotency_expires_seconds),
                env.AUDIT_QUEUE_URL: audit_queue.queue_url,
                env.AUDIT_REPOSITORY_PREFIXES: ",".join(config.effective_audit_prefixes),
                env.AUDIT_TAGGED_ONLY: str(config.audit_tagged_only).lower(),
                env.AUDIT_NEWEST_IMAGES: str(config.audit_newest_images),
            },
            function_options=lambda_.FunctionOptions(
                retry_attempts=config.async_retry_attempts,
                max_event_age=Duration.hours(config.async_max_event_age_hours),
                on_failure=destinations.SqsDestination(self.failed_invocations),
            ),
        )

        # The API: checks and image walks in this account's repositories in scope, layer checks only in the other
        # registries, and the results table's writes and reads.
        self.api.role.add_to_policy(permissions.ecr_image_statement(config))
        self.api.role.add_to_policy(permissions.ecr_registry_statement(permissions.API_REGISTRY_ACTIONS))
        for statement in permissions.other_registry_statements(config):
            self.api.role.add_to_policy(statement)
        for statement in permissions.results_table_statements(results_table, permissions.API_RESULTS_ACTIONS):
            self.api.role.add_to_policy(statement)
        # The worker: image walks and the registry listing in this account, verdict writes, idempotency records, and
        # the audit queue it fans out to (its consumption is granted by the event source mapping, triggers.py).
        self.worker.role.add_to_policy(permissions.ecr_image_statement(config))
        self.worker.role.add_to_policy(permissions.ecr_listing_statement())
        self.worker.role.add_to_policy(permissions.ecr_registry_statement(permissions.WORKER_REGISTRY_ACTIONS))
        for statement in permissions.results_table_statements(results_table, permissions.WORKER_RESULTS_ACTIONS):
            self.worker.role.add_to_policy(statement)
        self.worker.role.add_to_policy(
            iam.PolicyStatement(actions=permissions.IDEMPOTENCY_ACTIONS, resources=[idempotency_table.table_arn])
        )
        audit_queue.grant_send_messages(self.worker.role)

        # Both call BatchGetImage (image checks over the API, push checks and audits).
        permissions.exclude_from_pull_time_updates(self, config, {"Api": self.api.role, "Worker": self.worker.role})
        self._acknowledge(config)

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
        acknowledge(
            self.api.role,
            {
                **permissions.ecr_nag_findings(config, listing=False, other_registries=True),
                **permissions.resource_star_finding(permissions.API_REGISTRY_ACTIONS, tracing=config.tracing),
            },
        )
        acknowledge(
            self.worker.role,
            {
                **permissions.ecr_nag_findings(config, listing=True, other_registries=False),
                **permissions.resource_star_finding(permissions.WORKER_REGISTRY_ACTIONS, tracing=config.tracing),
            },
        )
