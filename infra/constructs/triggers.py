"""The event doors: the ECR push rule, the audit schedule, and the SQS queue that fans a large audit out.

Every asynchronous path ends in a dead-letter queue: EventBridge delivery failures in ``event_delivery_dlq``,
function failures on those events in the function's on-failure destination, audit work items that keep failing in
``audit_dlq`` (through the audit queue's redrive policy).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import AUDIT_MAX_RECEIVE_COUNT, AUDIT_QUEUE_RETENTION_DAYS, LayerCheckConfig
from infra.constructs.queues import dead_letter_queue, secure_queue
from infra.nag import acknowledge
from layercheck.contracts import events as event_names


def push_event_pattern(repository_prefixes: list[str]) -> events.EventPattern:
    """Successful image pushes, deletions and storage-class changes (archive, restore), as ECR emits them to the
    default bus, limited to the repository scope if any: a deletion or an archive of an image in use is judged
    when it happens, not at the next audit (docs/EVENTS.md).
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html"""
    detail: dict[str, object] = {
        "action-type": list(event_names.ECR_IMAGE_ACTIONS),
        "result": [event_names.ECR_RESULT_SUCCESS],
    }
    if repository_prefixes:
        detail["repository-name"] = [{"prefix": prefix} for prefix in repository_prefixes]
    return events.EventPattern(
        source=[event_names.ECR_SOURCE], detail_type=[event_names.ECR_IMAGE_ACTION_DETAIL_TYPE], detail=detail
    )


class AuditQueue(Construct):
    """Work items of a registry audit, with their dead-letter queue. Built before the worker, which sends to it."""

    def __init__(self, scope: Construct, construct_id: str, *, config: LayerCheckConfig) -> None:
        super().__init__(scope, construct_id)
        self.dlq = dead_letter_queue(self, "DeadLetters", fed_by="redrive", retain=config.retain_data)
        self.queue = secure_queue(
            self,
            "Queue",
            visibility_timeout=Duration.seconds(config.audit_visibility_timeout_seconds),
            retention_period=Duration.days(AUDIT_QUEUE_RETENTION_DAYS),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dlq, max_receive_count=AUDIT_MAX_RECEIVE_COUNT),
        )


class EventTriggers(Construct):
    """Connects the worker function to its three asynchronous doors."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LayerCheckConfig,
        function: lambda_.IFunction,
        audit_queue: AuditQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.event_delivery_dlq = dead_letter_queue(
            self,
            "EventDeliveryDeadLetters",
            fed_by="the push and schedule rules' Lambda targets",
            retain=config.retain_data,
        )

        def lambda_target() -> targets.LambdaFunction:
            # No `event`: the function receives the EventBridge event itself. For the schedule that is the standard
            # "Scheduled Event", whose `id` stays the same when EventBridge retries its delivery: the audit is keyed by
            # that id (audit#<id>), so a retried delivery does not start a second audit. A constant input would
            # carry no id (docs/DEPLOY.md shows the input transformer for a rule of your own).
            return targets.LambdaFunction(
                function,
                dead_letter_queue=self.event_delivery_dlq,
                retry_attempts=config.event_retry_attempts,
                max_event_age=Duration.hours(config.event_max_age_hours),
            )

        self.push_rule = events.Rule(
            self,
            "PushRule",
            description="layercheck: verify every image pushed to ECR, and judge deleted or archived ones at once",
            enabled=config.push_checks_enabled,
            event_pattern=push_event_pattern(config.repository_prefixes),
            targets=[lambda_target()],
        )
        self.schedule_rule = events.Rule(
            self,
            "AuditSchedule",
            description="layercheck: audit every image in scope (the backstop for best-effort push events)",
            enabled=config.schedule_enabled,
            schedule=events.Schedule.expression(config.schedule_expression),
            targets=[lambda_target()],
        )

        self.audit_mapping = self._audit_mapping(config, function, audit_queue)

    def _audit_mapping(
        self, config: LayerCheckConfig, function: lambda_.IFunction, audit_queue: AuditQueue
    ) -> lambda_.EventSourceMapping:
        # The mapping is built here (not with function.add_event_source) so it lives, and is acknowledged, in this
        # construct. Batch item failures let one bad work item retry alone instead of its whole batch.
        mapping = lambda_.EventSourceMapping(
            self,
            "AuditMapping",
            target=function,
            event_source_arn=audit_queue.queue.queue_arn,
            batch_size=config.audit_batch_size,
            max_concurrency=config.audit_max_concurrency,
            report_batch_item_failures=True,
        )
        audit_queue.queue.grant_consume_messages(function)
        acknowledge(
            mapping,
            {
                "Serverless-LambdaEventSourceMappingDestination": "SQS mappings take no on-failure destination; "
                "the audit queue's redrive policy delivers failed work items to its DLQ."
            },
        )
        return mapping
