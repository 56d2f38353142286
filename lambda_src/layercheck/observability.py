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
from layercheck.models.stored import NOT_PULLABLE, Source
from layercheck.models.verdicts import CheckSummary

if TYPE_CHECKING:
    from layercheck.logic.audit import RepositoryAudited
    from layercheck.logic.change_events import UnsentEvent
    from layercheck.logic.image_check import ImageCheckOutcome
    from layercheck.logic.org_audit import RegistryAudited
    from layercheck.logic.registries import RegistryUnreadable

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


# The image metrics a door emits, zero included, beside ImagesChecked and BrokenImages: those it looks for.
IN_USE_WATCH = (metric_names.IN_USE_IMAGES_BROKEN, metric_names.IN_USE_IMAGES_MISSING)
REQUEST_WATCH = (*IN_USE_WATCH, metric_names.REPLICAS_INCOMPLETE)
AUDIT_WATCH = (*REQUEST_WATCH, metric_names.IN_USE_IMAGES_AT_RISK)


def record_image_check(outcome: ImageCheckOutcome, *, watched: Sequence[str] = (), layers: bool = True) -> None:
    """One image check's metrics: its layer pairs (``record_check``, unless ``layers`` is false), ``ImagesChecked``,
    ``BrokenImages``, the ``watched`` ones of ``InUseImagesBroken`` (BROKEN images someone runs),
    ``InUseImagesMissing`` (images someone runs that cannot be pulled: gone or archived), ``ReplicasIncomplete`` and
    ``InUseImagesAtRisk`` (images someone runs that the lifecycle policy would expire or archive), zero included, and
    the change events EventBridge did not take."""
    if layers:
        record_check(outcome.layer_summary)
    counts = {
        metric_names.IMAGES_CHECKED: len(outcome.verdicts),
        metric_names.BROKEN_IMAGES: outcome.broken,
        metric_names.IN_USE_IMAGES_BROKEN: outcome.in_use_broken,
        metric_names.IN_USE_IMAGES_MISSING: outcome.in_use_missing,
        metric_names.REPLICAS_INCOMPLETE: outcome.replicas_incomplete,
        metric_names.IN_USE_IMAGES_AT_RISK: outcome.in_use_at_risk,
    }
    for name in (metric_names.IMAGES_CHECKED, metric_names.BROKEN_IMAGES, *watched):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=counts[name])
    record_events_unsent(outcome.events_unsent)


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


def record_registry_unreadable(unreadable: RegistryUnreadable, *, named_by_request: bool = False) -> None:
    """A registry (account × Region) that could not be read: counted (``RegistriesUnreadable``) and logged with AWS's
    code, an error in the audit and for an event, a warning when a request named it (the caller is answered why)."""
    metrics.add_metric(name=metric_names.REGISTRIES_UNREADABLE, unit=MetricUnit.Count, value=1)
    (logger.warning if named_by_request else logger.error)(
        "registry unreadable",
        account=unreadable.account_id,
        unreadable_region=unreadable.region,
        code=unreadable.code,
        reason=unreadable.reason,
    )


# -- the audit's records: what an operator reads in the worker's log ------------------------------------------------


def log_registry_audited(audited: RegistryAudited) -> None:
    """A registry item's fan-out, and what it could not account for (each a warning an operator can act on)."""
    if audited.outside_prefixes:
        logger.warning(
            "images in use outside the audit's repository prefixes", repositories=list(audited.outside_prefixes)
        )
    if audited.named_not_held:
        logger.warning(
            "workloads name repositories the registry does not hold", repositories=list(audited.named_not_held)
        )
    if audited.not_reported_elsewhere is not None:
        logger.warning("in-use images of other registries not reported", reason=audited.not_reported_elsewhere)
    for failure in audited.source_failures:
        logger.warning("in-use source unreadable", source=failure.source, code=failure.code, reason=failure.message)
    logger.info(
        "fanned out registry",
        repositories=audited.repositories,
        in_use_references=audited.in_use_references,
        replicated_repositories=audited.replicated_repositories,
        reported_elsewhere=audited.reported_elsewhere,
    )


def log_repository_audited(repository_name: str, audited: RepositoryAudited, *, in_use: int) -> None:
    """A repository item's own records: a lifecycle preview not had (the stored risks stay; the next audit previews
    again), a repository gone, one whose images ECR refused to list (that repository only: not retried), a fan-out."""
    if audited.lifecycle is not None and (preview := audited.lifecycle.not_previewed) is not None:
        logger.warning("lifecycle not previewed", code=preview.code, reason=preview.reason)
    if audited.repository_gone:
        in_use_missing = 0 if audited.outcome is None else len(audited.outcome.verdicts)
        logger.info("repository not held", in_use_missing=in_use_missing)
    elif audited.unlisted is not None:
        logger.error(
            "repository unreadable",
            repository=repository_name,
            code=audited.unlisted.code,
            reason=audited.unlisted.message,
            in_use=in_use,
        )
    if audited.queued_slices and not audited.repository_gone:
        logger.info("fanned out repository", images=audited.images_in_scope, slices=audited.queued_slices)


def record_audited_images(outcome: ImageCheckOutcome) -> None:
    """An audit's image check: every metric the audit watches, an error per image in use that cannot be pulled (its
    workloads cannot start a new copy: scale-out, rollback, node replacement), a record per image in use at
    lifecycle risk, and the summary."""
    for verdict in outcome.verdicts:
        if verdict.in_use and verdict.status in NOT_PULLABLE:
            logger.error(
                "image in use cannot be pulled",
                repository=verdict.repositoryName,
                image_digest=verdict.imageDigest,
                image_tags=verdict.imageTags,
                status=verdict.status,
                code=verdict.failureCode,
                used_by=[user.model_dump(mode="json") for user in verdict.usedBy],
            )
        elif verdict.lifecycleRisk is not None and verdict.in_use:
            logger.info(
                "image in use at lifecycle risk",
                image_digest=verdict.imageDigest,
                image_tags=verdict.imageTags,
                action=verdict.lifecycleRisk.action,
                rule_priority=verdict.lifecycleRisk.rulePriority,
            )
    record_image_check(outcome, watched=AUDIT_WATCH)
    logger.info(
        "audited images",
        images=len(outcome.verdicts),
        broken=outcome.broken,
        unchecked=outcome.unchecked,
        in_use_broken=outcome.in_use_broken,
        in_use_missing=outcome.in_use_missing,
        replicas_incomplete=outcome.replicas_incomplete,
        in_use_at_risk=outcome.in_use_at_risk,
    )
