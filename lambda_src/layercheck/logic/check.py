"""The check engine: every (repository, digest) pair answered, with as few ECR calls as the 100-digest limit allows.

Plain Python over a port (``LayerAvailabilityPort``), so it runs the same in the Lambda, the command line and tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from layercheck.errors import RepositoryCheckError
from layercheck.logic.digests import (
    MAX_DIGESTS_PER_CALL,
    chunked,
    invalid_digest_reason,
    is_valid_digest,
    unique_in_order,
)
from layercheck.logic.failure_text import bounded_code, bounded_reason
from layercheck.models.verdicts import (
    CheckOutcome,
    CheckSummary,
    FailureCode,
    LayerAnswer,
    LayerFailure,
    RepositoryResult,
)

DEFAULT_WORKERS = 16
UNANSWERED_CODE = "UnansweredLayerDigest"
# A pair whose call was not started because the caller's time ran out (the API's deadline): an error, never a verdict.
DEADLINE_EXCEEDED_CODE = "DeadlineExceeded"
DEADLINE_EXCEEDED_REASON = "not checked: the request's time ran out before this digest's ECR call; ask again"


@dataclass(frozen=True)
class BatchAnswer:
    """ECR's answer to one call: the digests it found and the ones it reported as failures."""

    layers: list[LayerAnswer] = field(default_factory=list)
    failures: list[LayerFailure] = field(default_factory=list)


class LayerAvailabilityPort(Protocol):
    def batch_check_layer_availability(
        self, registry_id: str, repository_name: str, layer_digests: list[str]
    ) -> BatchAnswer:
        """One ``BatchCheckLayerAvailability`` call (1 to 100 digests); raises ``RepositoryCheckError``."""
        ...


@dataclass(frozen=True)
class RepositoryTarget:
    registry_id: str
    repository_name: str
    layer_digests: Sequence[str]


@dataclass(frozen=True)
class _Call:
    target_index: int
    digests: list[str]


ProgressCallback = Callable[[int, int], None]
# Asked before each ECR call; False means "start no more calls" (their digests are answered DEADLINE_EXCEEDED_CODE).
ShouldContinue = Callable[[], bool]


def plan_calls(targets: Sequence[RepositoryTarget]) -> list[_Call]:
    """The minimum set of ECR calls: Σ ceil(distinct valid digests / 100) over the repositories."""
    calls: list[_Call] = []
    for index, target in enumerate(targets):
        valid = [digest for digest in unique_in_order(target.layer_digests) if is_valid_digest(digest)]
        calls.extend(_Call(index, chunk) for chunk in chunked(valid, MAX_DIGESTS_PER_CALL))
    return calls


def check_repositories(
    targets: Sequence[RepositoryTarget],
    registry: LayerAvailabilityPort,
    *,
    workers: int = DEFAULT_WORKERS,
    on_progress: ProgressCallback | None = None,
    should_continue: ShouldContinue | None = None,
) -> CheckOutcome:
    """Check every digest of every target; repeated targets (same registry and name) are merged, first seen first."""
    targets = _merge_repeated(targets)
    calls = plan_calls(targets)
    answers = _run_calls(
        calls, targets, registry, workers=workers, on_progress=on_progress, should_continue=should_continue
    )

    results = [
        _assemble(target, [answer for call, answer in zip(calls, answers, strict=True) if call.target_index == index])
        for index, target in enumerate(targets)
    ]
    return CheckOutcome(results=results, summary=CheckSummary.of(results))


def _merge_repeated(targets: Sequence[RepositoryTarget]) -> list[RepositoryTarget]:
    merged: dict[tuple[str, str], list[str]] = {}
    for target in targets:
        merged.setdefault((target.registry_id, target.repository_name), []).extend(target.layer_digests)
    return [RepositoryTarget(registry, name, digests) for (registry, name), digests in merged.items()]


def _run_calls(
    calls: list[_Call],
    targets: Sequence[RepositoryTarget],
    registry: LayerAvailabilityPort,
    *,
    workers: int,
    on_progress: ProgressCallback | None,
    should_continue: ShouldContinue | None = None,
) -> list[BatchAnswer]:
    if not calls:
        return []
    done = 0
    progress_lock = threading.Lock()

    def answer(call: _Call) -> BatchAnswer:
        nonlocal done
        target = targets[call.target_index]
        if should_continue is not None and not should_continue():
            result = _failed(call.digests, DEADLINE_EXCEEDED_CODE, DEADLINE_EXCEEDED_REASON)
        else:
            try:
                result = _bounded(
                    registry.batch_check_layer_availability(target.registry_id, target.repository_name, call.digests)
                )
            except RepositoryCheckError as error:
                # The call failed for the whole repository: every digest of this call carries ECR's code and message.
                result = _failed(call.digests, bounded_code(error.code), bounded_reason(error.message))
        if on_progress is not None:
            with progress_lock:
                done += 1
                on_progress(done, len(calls))
        return result

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(calls))), thread_name_prefix="ecr-check") as pool:
        return list(pool.map(answer, calls))


def _failed(digests: list[str], code: str, reason: str) -> BatchAnswer:
    return BatchAnswer(failures=[LayerFailure(layerDigest=d, failureCode=code, failureReason=reason) for d in digests])


def _bounded(answer: BatchAnswer) -> BatchAnswer:
    """ECR's per-digest failures with their text bounded (logic/failure_text.py); usually ``answer`` itself."""
    if all(
        bounded_code(f.failureCode) is f.failureCode and bounded_reason(f.failureReason) is f.failureReason
        for f in answer.failures
    ):
        return answer
    failures = [
        LayerFailure(
            layerDigest=f.layerDigest,
            failureCode=bounded_code(f.failureCode),
            failureReason=bounded_reason(f.failureReason),
        )
        for f in answer.failures
    ]
    return BatchAnswer(layers=answer.layers, failures=failures)


def _assemble(target: RepositoryTarget, answers: list[BatchAnswer]) -> RepositoryResult:
    """One repository's result in first-seen digest order; a digest ECR did not mention is a failure, never dropped."""
    layer_by_digest: dict[str, LayerAnswer] = {}
    failure_by_digest: dict[str, LayerFailure] = {}
    for answer in answers:
        for layer in answer.layers:
            layer_by_digest.setdefault(layer.layerDigest, layer)
        for failure in answer.failures:
            failure_by_digest.setdefault(failure.layerDigest, failure)

    layers: list[LayerAnswer] = []
    failures: list[LayerFailure] = []
    for digest in unique_in_order(target.layer_digests):
        if not is_valid_digest(digest):
            failures.append(
                LayerFailure(
                    layerDigest=digest,
                    failureCode=FailureCode.INVALID_LAYER_DIGEST,
                    failureReason=invalid_digest_reason(digest),
                )
            )
        elif digest in layer_by_digest:
            layers.append(layer_by_digest[digest])
        elif digest in failure_by_digest:
            failures.append(failure_by_digest[digest])
        else:
            failures.append(
                LayerFailure(
                    layerDigest=digest,
                    failureCode=UNANSWERED_CODE,
                    failureReason="ECR's answer did not mention this digest",
                )
            )
    return RepositoryResult(
        registryId=target.registry_id, repositoryName=target.repository_name, layers=layers, failures=failures
    )
