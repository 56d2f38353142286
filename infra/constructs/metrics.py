"""The function's own metrics as CloudWatch sees them, for the alarms and the dashboard alike.

Names, namespace, dimension and its values come from ``layercheck.contracts.metrics``, the module the function's code
emits them with, so a renamed metric cannot leave a graph or an alarm watching nothing."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from layercheck.contracts import metrics

PERIOD = Duration.minutes(5)


def layercheck_metric(name: str, source: str) -> cloudwatch.Metric:
    """One of the EMF metrics the function emits, summed per period.

    CloudWatch matches a metric only on its exact set of dimensions. The function emits ``Source`` alone (it turns
    off the ``service`` dimension Powertools Metrics would add), so ``Source`` alone is named here; tests/infra
    compares this with an EMF line the function's own code prints."""
    return cloudwatch.Metric(
        namespace=metrics.NAMESPACE,
        metric_name=name,
        dimensions_map={metrics.SOURCE_DIMENSION: source},
        statistic=cloudwatch.Stats.SUM,
        period=PERIOD,
        label=source,
    )


def summed_over_sources(name: str) -> cloudwatch.MathExpression:
    """A metric summed over every door. Alarms cannot use SEARCH, so the sources are listed explicitly, and FILL
    makes a door with no data count as zero instead of blanking the sum."""
    # Metric ids must be unique within a graph that shows several of these sums, and start with a lower-case letter.
    using = {f"{name.lower()}_{source}": layercheck_metric(name, source) for source in metrics.SOURCES}
    return cloudwatch.MathExpression(
        expression=" + ".join(f"FILL({metric_id}, 0)" for metric_id in using),
        using_metrics=using,
        label=name,
        period=PERIOD,
    )
