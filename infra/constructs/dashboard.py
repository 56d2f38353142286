"""The operator's dashboard: what the doors checked and found, each function's health, the API, the queues, alarms.

Metric names and the ``Source`` values come from ``layercheck.contracts.metrics`` (see metrics.py)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import LayerCheckConfig
from infra.constructs.alarms import Watched
from infra.constructs.metrics import PERIOD, layercheck_metric, summed_over_sources
from layercheck.contracts import metrics

INTRODUCTION = (
    f"## layercheck\nVerdicts come from the functions' EMF metrics (namespace `{metrics.NAMESPACE}`, dimension "
    f"`{metrics.SOURCE_DIMENSION}`). Broken images are listed by `GET /images?status=BROKEN` (`usedBy`: who runs them)."
)


def _graph(title: str, lines: Sequence[cloudwatch.IMetric], width: int = 8) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=list(lines), width=width, height=6)


def _verdict_row() -> list[cloudwatch.IWidget]:
    return [
        _graph("Layers checked, by door", [layercheck_metric(metrics.LAYERS_CHECKED, s) for s in metrics.SOURCES]),
        _graph("Layer verdicts (all doors)", [summed_over_sources(name) for name in metrics.LAYER_VERDICT_METRICS]),
        _graph(
            "Images checked, broken, in use and broken, incomplete replicas",
            [
                summed_over_sources(name)
                for name in (
                    metrics.IMAGES_CHECKED,
                    metrics.BROKEN_IMAGES,
                    metrics.IN_USE_IMAGES_BROKEN,
                    metrics.IN_USE_IMAGES_MISSING,
                    metrics.REPLICAS_INCOMPLETE,
                )
            ],
        ),
    ]


def _estate_row() -> list[cloudwatch.IWidget]:
    """What runs, what replicates, what could not be read, what subscribers have not been told."""
    return [
        _graph(
            "Images in use broken or not pullable (pages): GET /images?status=BROKEN, MISSING; at lifecycle risk",
            [
                summed_over_sources(name)
                for name in (metrics.IN_USE_IMAGES_BROKEN, metrics.IN_USE_IMAGES_MISSING, metrics.IN_USE_IMAGES_AT_RISK)
            ],
        ),
        _graph("Incomplete replicas (BROKEN + MISSING)", [summed_over_sources(metrics.REPLICAS_INCOMPLETE)]),
        _graph(
            "Unreadable registries, unsent change events",
            [summed_over_sources(name) for name in (metrics.REGISTRIES_UNREADABLE, metrics.CHANGE_EVENTS_UNSENT)],
        ),
    ]


def _function_row(name: str, function: lambda_.IFunction) -> list[cloudwatch.IWidget]:
    return [
        _graph(
            f"{name} function: invocations, errors, throttles",
            [
                function.metric_invocations(period=PERIOD),
                function.metric_errors(period=PERIOD),
                function.metric_throttles(period=PERIOD),
            ],
        ),
        _graph(
            f"{name} function: duration",
            [
                function.metric_duration(period=PERIOD, statistic=stat, label=stat)
                for stat in (cloudwatch.Stats.p(50), cloudwatch.Stats.p(99), cloudwatch.Stats.MAXIMUM)
            ],
        ),
        _graph(
            f"{name} function: concurrency",
            [function.metric("ConcurrentExecutions", period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM)],
        ),
    ]


def operator_dashboard(
    scope: Construct, *, config: LayerCheckConfig, watched: Watched, alarms: Sequence[cloudwatch.IAlarm]
) -> cloudwatch.Dashboard:
    dashboard = cloudwatch.Dashboard(
        scope, "Dashboard", dashboard_name=f"{config.stack_name}-{Aws.REGION}", default_interval=Duration.days(7)
    )
    dashboard.add_widgets(cloudwatch.TextWidget(markdown=INTRODUCTION, width=24, height=2))
    dashboard.add_widgets(*_verdict_row())
    dashboard.add_widgets(*_estate_row())
    for name, function in watched.functions.items():
        dashboard.add_widgets(*_function_row(name, function))
    api = watched.api
    dashboard.add_widgets(
        _graph(
            "API requests, 4xx, 5xx",
            [
                api.metric_count(period=PERIOD),
                api.metric_client_error(period=PERIOD),
                api.metric_server_error(period=PERIOD),
            ],
        ),
        _graph(
            "API latency",
            [
                api.metric_latency(period=PERIOD, statistic=cloudwatch.Stats.p(50), label="p50"),
                api.metric_latency(period=PERIOD, statistic=cloudwatch.Stats.p(99), label="p99"),
                api.metric_integration_latency(
                    period=PERIOD, statistic=cloudwatch.Stats.p(99), label="integration p99"
                ),
            ],
        ),
        _graph(
            "Audit queue",
            [
                watched.audit_queue.metric_approximate_number_of_messages_visible(period=PERIOD, label="visible"),
                watched.audit_queue.metric_approximate_age_of_oldest_message(
                    period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM, label="oldest (s)"
                ),
            ],
        ),
    )
    dashboard.add_widgets(
        _graph(
            "Dead-letter queues (must stay at 0)",
            [
                queue.metric_approximate_number_of_messages_visible(
                    period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM, label=name
                )
                for name, queue in watched.dead_letter_queues
            ],
            width=12,
        ),
        cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(alarms), width=12, height=6),
    )
    return dashboard
