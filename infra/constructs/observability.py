"""What an operator watches: one dashboard, and alarms on the few conditions that need a person, sent to SNS."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import LayerCheckConfig
from infra.constructs.function import METRICS_NAMESPACE
from infra.nag import acknowledge

SOURCES = ("api", "schedule", "push")
PERIOD = Duration.minutes(5)
LAYER_METRICS = ("LayersAvailable", "LayersUnavailable", "LayersMissing", "InvalidDigests", "CheckErrors")

# Explicit key administration and use for the account (no "kms:*"): IAM policies in the account decide who may do
# each of these. https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
KEY_ACCOUNT_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateKeyDescription",
]


def layercheck_metric(name: str, source: str) -> cloudwatch.Metric:
    """One of the EMF metrics the function emits, summed per period.

    CloudWatch matches a metric only on its exact set of dimensions. The function emits ``Source`` alone (it turns
    off the ``service`` dimension Powertools Metrics would add), so ``Source`` alone is named here; tests/infra
    compares this with an EMF line the function's own code prints."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"Source": source},
        statistic=cloudwatch.Stats.SUM,
        period=PERIOD,
        label=source,
    )


def summed_over_sources(name: str) -> cloudwatch.MathExpression:
    """A metric summed over the three doors. Alarms cannot use SEARCH, so the sources are listed explicitly, and
    FILL makes a door with no data count as zero instead of blanking the sum."""
    # Metric ids must be unique within a graph that shows several of these sums, and start with a lower-case letter.
    using = {f"{name.lower()}_{source}": layercheck_metric(name, source) for source in SOURCES}
    return cloudwatch.MathExpression(
        expression=" + ".join(f"FILL({metric_id}, 0)" for metric_id in using),
        using_metrics=using,
        label=name,
        period=PERIOD,
    )


class Observability(Construct):
    """Dashboard, alarms and their encrypted, TLS-only SNS topic (with an optional e-mail subscription)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LayerCheckConfig,
        function: lambda_.Function,
        api: apigw.RestApi,
        audit_queue: sqs.IQueue,
        dead_letter_queues: Sequence[tuple[str, sqs.IQueue]],
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = self._alarm_topic(config)
        action = cloudwatch_actions.SnsAction(self.topic)

        broken = cloudwatch.Alarm(
            self,
            "BrokenImages",
            alarm_description="An image references a blob its repository does not hold (see the results table).",
            metric=summed_over_sources("BrokenImages"),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        # No OK action: the next quiet period does not mean the image was fixed.
        broken.add_alarm_action(action)

        function_errors = cloudwatch.Alarm(
            self,
            "FunctionErrors",
            alarm_description="The layercheck function failed (client errors are 4xx answers, not function errors).",
            metric=function.metric_errors(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        api_errors = cloudwatch.Alarm(
            self,
            "Api5xx",
            alarm_description="The API answered 5xx: no client input should cause one.",
            metric=api.metric_server_error(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        dlq_alarms = [
            cloudwatch.Alarm(
                self,
                f"{name}NotEmpty",
                alarm_description=f"{name}: messages that no retry could process are waiting for a person.",
                metric=queue.metric_approximate_number_of_messages_visible(
                    period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
                ),
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            for name, queue in dead_letter_queues
        ]
        for alarm in [function_errors, api_errors, *dlq_alarms]:
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
        self.alarms = [broken, function_errors, api_errors, *dlq_alarms]

        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"{config.stack_name}-{Aws.REGION}", default_interval=Duration.days(7)
        )
        self._widgets(function, api, audit_queue, dead_letter_queues)

    def _alarm_topic(self, config: LayerCheckConfig) -> sns.Topic:
        key = kms.Key(
            self,
            "TopicKey",
            description="layercheck alarm topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
            policy=iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        principals=[iam.AccountRootPrincipal()], actions=KEY_ACCOUNT_ACTIONS, resources=["*"]
                    ),
                    # CloudWatch alarms publish to an encrypted topic only if they may use its key.
                    iam.PolicyStatement(
                        principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                        actions=["kms:Decrypt", "kms:GenerateDataKey"],
                        resources=["*"],
                        conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
                    ),
                ]
            ),
        )
        topic = sns.Topic(self, "AlarmTopic", display_name="layercheck alarms", master_key=key, enforce_ssl=True)
        if config.alarm_email:
            subscription = topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
            acknowledge(
                subscription,
                {
                    "Serverless-SNSRedrivePolicy": "An e-mail copy of an alarm; the alarm itself stays in CloudWatch "
                    "and on the dashboard, so a queue of undelivered e-mails would add nothing."
                },
            )
        return topic

    def _widgets(
        self,
        function: lambda_.Function,
        api: apigw.RestApi,
        audit_queue: sqs.IQueue,
        dead_letter_queues: Sequence[tuple[str, sqs.IQueue]],
    ) -> None:
        def graph(title: str, metrics: Sequence[cloudwatch.IMetric], width: int = 8) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=list(metrics), width=width, height=6)

        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown="## layercheck\nLayer verdicts come from the function's EMF metrics (namespace `LayerCheck`, "
                "dimension `Source`). A broken image is named in the results table (`status` = `BROKEN`).",
                width=24,
                height=2,
            )
        )
        self.dashboard.add_widgets(
            graph("Layers checked, by door", [layercheck_metric("LayersChecked", s) for s in SOURCES]),
            graph("Layer verdicts (all doors)", [summed_over_sources(name) for name in LAYER_METRICS]),
            graph(
                "Images checked and broken", [summed_over_sources("ImagesChecked"), summed_over_sources("BrokenImages")]
            ),
        )
        self.dashboard.add_widgets(
            graph(
                "Function invocations, errors, throttles",
                [
                    function.metric_invocations(period=PERIOD),
                    function.metric_errors(period=PERIOD),
                    function.metric_throttles(period=PERIOD),
                ],
            ),
            graph(
                "Function duration",
                [
                    function.metric_duration(period=PERIOD, statistic=stat, label=stat)
                    for stat in (cloudwatch.Stats.p(50), cloudwatch.Stats.p(99), cloudwatch.Stats.MAXIMUM)
                ],
            ),
            graph(
                "Function concurrency",
                [function.metric("ConcurrentExecutions", period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM)],
            ),
        )
        self.dashboard.add_widgets(
            graph(
                "API requests, 4xx, 5xx",
                [
                    api.metric_count(period=PERIOD),
                    api.metric_client_error(period=PERIOD),
                    api.metric_server_error(period=PERIOD),
                ],
            ),
            graph(
                "API latency",
                [
                    api.metric_latency(period=PERIOD, statistic=cloudwatch.Stats.p(50), label="p50"),
                    api.metric_latency(period=PERIOD, statistic=cloudwatch.Stats.p(99), label="p99"),
                    api.metric_integration_latency(
                        period=PERIOD, statistic=cloudwatch.Stats.p(99), label="integration p99"
                    ),
                ],
            ),
            graph(
                "Audit queue",
                [
                    audit_queue.metric_approximate_number_of_messages_visible(period=PERIOD, label="visible"),
                    audit_queue.metric_approximate_age_of_oldest_message(period=PERIOD, label="oldest (s)"),
                ],
            ),
        )
        self.dashboard.add_widgets(
            graph(
                "Dead-letter queues (must stay at 0)",
                [
                    queue.metric_approximate_number_of_messages_visible(
                        period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM, label=name
                    )
                    for name, queue in dead_letter_queues
                ],
                width=12,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=12, height=6),
        )
