"""Logger, Tracer and Metrics for the whole function, configured only by the POWERTOOLS_* variables the stack sets."""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

from layercheck.contracts import environment as env
from layercheck.contracts import metrics as metric_names
from layercheck.models.stored import Source
from layercheck.models.verdicts import CheckSummary

if TYPE_CHECKING:
    from layercheck.logic.change_events import UnsentEvent

Handler = Callable[[Any, Any], Any]
# Powertools' own rule for "not in Lambda" (Tracer._is_tracer_disabled): no task root, or a local emulator.
_LAMBDA_TASK_ROOT, _LOCAL_EMULATORS = "LAMBDA_TASK_ROOT", ("AWS_SAM_LOCAL", "CHALICE_LOCAL")


def tracing_enabled() -> bool:
    """Tracing is on in Lambda unless ``POWERTOOLS_TRACE_DISABLED`` is true, as Powertools decides it."""
    disabled = resolve_truthy_env_var_choice(env=os.environ.get(env.POWERTOOLS_TRACE_DISABLED, "false"))
    in_lambda = bool(os.environ.get(_LAMBDA_TASK_ROOT)) and not any(os.environ.get(name) for name in _LOCAL_EMULATORS)
    return in_lambda and not disabled


class LazyTracer:
    """Powertools' ``Tracer``, created on the first invocation and only when tracing is on.

    ``Tracer()`` imports the X-Ray SDK (and botocore with it) even when ``POWERTOOLS_TRACE_DISABLED=true``: about a
    third of the handler's import time for nothing. The decorator keeps Powertools' shape,
    ``@tracer.capture_lambda_handler(capture_response=False)``; with tracing off it calls the handler as it is."""

    def __init__(self, enabled: Callable[[], bool] = tracing_enabled) -> None:
        self._enabled = enabled
        self._tracer: Tracer | None = None
        self._decided = False

    @property
    def active(self) -> Tracer | None:
        """The real tracer once tracing is known to be on; None when it is off (the X-Ray SDK is then never loaded)."""
        if not self._decided:
            self._tracer = Tracer() if self._enabled() else None
            self._decided = True
        return self._tracer

    def capture_lambda_handler(self, *, capture_response: bool = True) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            traced: Handler | None = None

            @functools.wraps(handler)
            def run(event: Any, context: Any) -> Any:
                nonlocal traced
                tracer = self.active
                if tracer is None:
                    return handler(event, context)
                if traced is None:
                    traced = tracer.capture_lambda_handler(handler, capture_response=capture_response)
                return traced(event, context)

            return run

        return decorate


logger = Logger()


def current_invocation() -> tuple[str | None, str | None]:
    """The function name and request id of the invocation being handled: the handler's ``inject_lambda_context``
    put them in the logger's keys (``clear_state=True`` replaces them each invocation); (None, None) outside one."""
    keys = logger.get_current_keys()
    return keys.get("function_name"), keys.get("function_request_id")


tracer = LazyTracer()
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
    checked: int,
    broken: int,
    *,
    in_use_broken: int | None = None,
    in_use_missing: int | None = None,
    replicas_incomplete: int | None = None,
    in_use_at_risk: int | None = None,
) -> None:
    """``InUseImagesBroken`` (BROKEN images someone runs), ``InUseImagesMissing`` (images someone runs that cannot be
    pulled: gone or archived), ``ReplicasIncomplete`` and ``InUseImagesAtRisk`` (images someone runs that the
    lifecycle policy would expire or archive) are emitted, zero included, by the doors that look for them (the audit,
    and checks of images whose stored usedBy they answer with)."""
    metrics.add_metric(name=metric_names.IMAGES_CHECKED, unit=MetricUnit.Count, value=checked)
    metrics.add_metric(name=metric_names.BROKEN_IMAGES, unit=MetricUnit.Count, value=broken)
    for name, value in (
        (metric_names.IN_USE_IMAGES_BROKEN, in_use_broken),
        (metric_names.IN_USE_IMAGES_MISSING, in_use_missing),
        (metric_names.REPLICAS_INCOMPLETE, replicas_incomplete),
        (metric_names.IN_USE_IMAGES_AT_RISK, in_use_at_risk),
    ):
        if value is not None:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def record_events_unsent(unsent: Sequence[UnsentEvent]) -> None:
    """Change events EventBridge did not take after every retry: logged with the codes and counted
    (``ChangeEventsUnsent``); the verdicts they describe are stored all the same."""
    if not unsent:
        return
    metrics.add_metric(name=metric_names.CHANGE_EVENTS_UNSENT, unit=MetricUnit.Count, value=len(unsent))
    logger.error(
        "change events not sent",
        unsent=len(unsent),
        codes=sorted({event.code for event in unsent}),
        first_message=unsent[0].message,
    )


def record_sweep(sent: int, unsent: Sequence[UnsentEvent]) -> None:
    """After the sweep of waiting change events: ``ChangeEventsUnsent`` counts what is still waiting, zero included,
    so that its alarm sees data on every scheduled audit."""
    metrics.add_metric(name=metric_names.CHANGE_EVENTS_UNSENT, unit=MetricUnit.Count, value=len(unsent))
    if sent or unsent:
        logger.info("swept waiting change events", sent=sent, still_waiting=len(unsent))
    if unsent:
        logger.error(
            "change events still waiting",
            unsent=len(unsent),
            codes=sorted({event.code for event in unsent}),
            first_message=unsent[0].message,
        )


def record_registry_unreadable() -> None:
    """One audited registry (account × Region) could not be read; the door logs which and why."""
    metrics.add_metric(name=metric_names.REGISTRIES_UNREADABLE, unit=MetricUnit.Count, value=1)
