"""The few conditions that need a person, each an alarm on the alarm topic, all built by one helper."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import LayerCheckConfig
from infra.constructs.metrics import PERIOD, summed_over_sources
from layercheck.contracts import metrics, routes

ABOVE = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD


@dataclass(frozen=True)
class Watched:
    """What the alarms watch: the two functions by name, the API, the audit queue and every dead-letter queue."""

    functions: dict[str, lambda_.IFunction]
    api: apigw.RestApi
    audit_queue: sqs.IQueue
    dead_letter_queues: Sequence[tuple[str, sqs.IQueue]]


def alarm(
    scope: Construct,
    construct_id: str,
    *,
    topic: sns.ITopic,
    description: str,
    metric: cloudwatch.IMetric,
    threshold: float,
    comparison: cloudwatch.ComparisonOperator = AT_LEAST,
    notify_ok: bool = True,
) -> cloudwatch.Alarm:
    """The one alarm shape: breach in a single period, missing data is not a breach, notify the topic when it fires
    (and, with ``notify_ok``, when it clears)."""
    created = cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_description=description,
        metric=metric,
        threshold=threshold,
        comparison_operator=comparison,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    action = cloudwatch_actions.SnsAction(topic)
    created.add_alarm_action(action)
    if notify_ok:
        created.add_ok_action(action)
    return created


def organization_alarms(scope: Construct, *, topic: sns.ITopic, watched: Watched) -> list[cloudwatch.Alarm]:
    """Broken images that something runs and images something runs that cannot be pulled (the alarms that page),
    images something runs that a lifecycle policy would expire or archive, incomplete replicas, registries the audit
    could not read, change events EventBridge has not taken."""
    broken_list = f"{watched.api.url}{routes.IMAGES.lstrip('/')}?{routes.STATUS}=BROKEN"
    return [*_in_use_alarms(scope, topic, watched, broken_list), *_audit_alarms(scope, topic, broken_list)]


def _in_use_alarms(scope: Construct, topic: sns.ITopic, watched: Watched, broken_list: str) -> list[cloudwatch.Alarm]:
    missing_list = f"{watched.api.url}{routes.IMAGES.lstrip('/')}?{routes.STATUS}=MISSING"
    risk_list = f"{watched.api.url}{routes.IMAGES.lstrip('/')}?{routes.RISK}={routes.RISK_LIFECYCLE}"
    return [
        alarm(
            scope,
            "InUseImagesBroken",
            topic=topic,
            description="PAGE: a running workload's image is BROKEN (a scale-out, rollback or node replacement cannot "
            f"pull it). usedBy says who runs it: GET {broken_list} (SigV4).",
            metric=summed_over_sources(metrics.IN_USE_IMAGES_BROKEN),
            threshold=0,
            comparison=ABOVE,
            notify_ok=False,  # a quiet period does not mean the image was repaired
        ),
        alarm(
            scope,
            "InUseImagesMissing",
            topic=topic,
            description="PAGE: a running workload's image cannot be pulled: the registry no longer holds it (deleted, "
            f"its repository deleted, a tag that names nothing) or it is archived. GET {missing_list} (SigV4) and "
            "?status=ARCHIVED name it and who runs it.",
            metric=summed_over_sources(metrics.IN_USE_IMAGES_MISSING),
            threshold=0,
            comparison=ABOVE,
            notify_ok=False,
        ),
        alarm(
            scope,
            "InUseImagesAtRisk",
            topic=topic,
            description="A running workload's image is at risk: its repository's lifecycle policy would expire or "
            "archive it (ECR's own preview; a policy acts within 24 hours of an image matching). Change the policy or "
            f"move the workload before it does. GET {risk_list} (SigV4) names each image, the rule and who runs it.",
            metric=summed_over_sources(metrics.IN_USE_IMAGES_AT_RISK),
            threshold=0,
            comparison=ABOVE,
            notify_ok=False,  # a period without an audit is not a policy that changed
        ),
    ]


def _audit_alarms(scope: Construct, topic: sns.ITopic, broken_list: str) -> list[cloudwatch.Alarm]:
    return [
        alarm(
            scope,
            "ReplicasIncomplete",
            topic=topic,
            description="A replica is BROKEN or MISSING at its replication destination (the verdict's replicas): "
            f"GET {broken_list} lists broken images; the source's verdict names the destination.",
            metric=summed_over_sources(metrics.REPLICAS_INCOMPLETE),
            threshold=0,
            comparison=ABOVE,
            notify_ok=False,
        ),
        alarm(
            scope,
            "RegistriesUnreadable",
            topic=topic,
            description="An audited registry (account x Region) could not be read: the reader role is missing or does "
            "not trust this deployment, or the Region is not enabled. The worker's log says which ('registry "
            "unreadable').",
            metric=summed_over_sources(metrics.REGISTRIES_UNREADABLE),
            threshold=0,
            comparison=ABOVE,
            notify_ok=False,
        ),
        alarm(
            scope,
            "ChangeEventsUnsent",
            topic=topic,
            description="Change events are waiting: EventBridge refused them after every retry, or the invocation "
            "that stored their verdicts died before sending them. They stay on their items and are sent again by the "
            "next write of the image or the sweep each scheduled audit starts with (same changeId); this alarm clears "
            "when a sweep leaves none. The logs say why ('change events not sent', 'change events still waiting').",
            metric=summed_over_sources(metrics.CHANGE_EVENTS_UNSENT),
            threshold=0,
            comparison=ABOVE,
        ),
    ]


def operator_alarms(
    scope: Construct, *, config: LayerCheckConfig, topic: sns.ITopic, watched: Watched
) -> list[cloudwatch.Alarm]:
    alarms = [
        alarm(
            scope,
            "BrokenImages",
            topic=topic,
            description="An image references a blob its repository does not hold (see the results table).",
            metric=summed_over_sources(metrics.BROKEN_IMAGES),
            threshold=0,
            comparison=ABOVE,
            # No OK action: the next quiet period does not mean the image was fixed.
            notify_ok=False,
        ),
        *organization_alarms(scope, topic=topic, watched=watched),
        *(
            alarm(
                scope,
                f"{name}FunctionErrors",
                topic=topic,
                description=f"The layercheck {name.lower()} function failed (a client error is a 4xx answer, "
                "not a function error).",
                metric=function.metric_errors(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                threshold=1,
            )
            for name, function in watched.functions.items()
        ),
        alarm(
            scope,
            "Api5xx",
            topic=topic,
            description="The API answered 5xx: no client input should cause one (a throttled function is one too).",
            metric=watched.api.metric_server_error(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            threshold=1,
        ),
        alarm(
            scope,
            "AuditBacklog",
            topic=topic,
            description="The audit queue's oldest work item has waited longer than its retries could take: the "
            "queue is not being consumed, and its items would expire unchecked.",
            metric=watched.audit_queue.metric_approximate_age_of_oldest_message(
                period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=config.audit_backlog_alarm_seconds,
            comparison=ABOVE,
        ),
    ]
    return alarms + _dead_letter_alarms(scope, topic, watched)


def _dead_letter_alarms(scope: Construct, topic: sns.ITopic, watched: Watched) -> list[cloudwatch.Alarm]:
    return [
        alarm(
            scope,
            f"{name}NotEmpty",
            topic=topic,
            description=f"{name}: messages that no retry could process are waiting for a person.",
            metric=queue.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=0,
            comparison=ABOVE,
        )
        for name, queue in watched.dead_letter_queues
    ]
