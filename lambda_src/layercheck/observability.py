"""Logger, Tracer and Metrics for the whole function, configured only by the POWERTOOLS_* variables the stack sets."""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from layercheck.contracts import metrics as metric_names
from layercheck.models.stored import Source
from layercheck.models.verdicts import CheckSummary

logger = Logger()
tracer = Tracer()
# The metrics contract has one dimension, Source. Powertools would add "service" (POWERTOOLS_SERVICE_NAME) to every
# metric, and CloudWatch matches dimension sets exactly: an alarm on Source alone would then find no data.
metrics = Metrics(service="")

SOURCE_DIMENSION = metric_names.SOURCE_DIMENSION

# Read-only requests (GET /results, Swagger) emit no metrics by design; Powertools would warn on every one of them.
warnings.filterwarnings("ignore", message="No application metrics to publish")


def use_source(source: Source) -> None:
    """Every metric of this invocation is dimensioned by the door that received it.

    An invocation that emitted no metric (a replayed event, an ignored one, a read) left its dimension behind, as
    Powertools clears state only when it flushes: start from a clean slate so no stale ``Source`` can carry over."""
    metrics.clear_metrics()
    metrics.add_dimension(name=SOURCE_DIMENSION, value=source.value)


def record_check(summary: CheckSummary) -> None:
    """Each metric counts (repository, digest) pairs: LayersChecked equals the answer's ``summary.checked``."""
    for name, value in (
        (metric_names.LAYERS_CHECKED, summary.checked),
        (metric_names.LAYERS_AVAILABLE, summary.available),
        (metric_names.LAYERS_UNAVAILABLE, summary.unavailable),
        (metric_names.LAYERS_MISSING, summary.missing),
        (metric_names.INVALID_DIGESTS, summary.invalid),
        (metric_names.CHECK_ERRORS, summary.errors),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def record_images(
    checked: int, broken: int, *, in_use_broken: int | None = None, replicas_incomplete: int | None = None
) -> None:
    """``InUseImagesBroken`` (BROKEN images someone runs) and ``ReplicasIncomplete`` (BROKEN + MISSING copies at
    replication destinations) are emitted, zero included, by the doors that look for them (the audit)."""
    metrics.add_metric(name=metric_names.IMAGES_CHECKED, unit=MetricUnit.Count, value=checked)
    metrics.add_metric(name=metric_names.BROKEN_IMAGES, unit=MetricUnit.Count, value=broken)
    if in_use_broken is not None:
        metrics.add_metric(name=metric_names.IN_USE_IMAGES_BROKEN, unit=MetricUnit.Count, value=in_use_broken)
    if replicas_incomplete is not None:
        metrics.add_metric(name=metric_names.REPLICAS_INCOMPLETE, unit=MetricUnit.Count, value=replicas_incomplete)


def record_registry_unreadable() -> None:
    """One audited registry (account × Region) could not be read; the door logs which and why."""
    metrics.add_metric(name=metric_names.REGISTRIES_UNREADABLE, unit=MetricUnit.Count, value=1)
