"""The check engine: every (repository, digest) pair answered, with as few ECR calls as the 100-digest limit allows.

Plain Python over a port (``LayerAvailabilityPort``), so it runs the same in the Lambda, the command line and tests.
A digest list is judged once however many repositories it is asked of (``AskedDigests``); the worker threads only
make the ECR calls, and the answers are assembled once at the end. The engine shares one interpreter lock with
botocore, so every microsecond spent here per pair is taken from the calls (docs/BENCHMARKS.md has the profile).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from layercheck.errors import RepositoryCheckError
from layercheck.logic.chunks import chunked
from layercheck.logic.digests import MAX_DIGESTS_PER_CALL, AskedDigests, invalid_digest_reason
from layercheck.logic.failure_text import bounded_code, bounded_reason
from layercheck.models.identifiers import ValidDigest
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
UNANSWERED_REASON = "ECR's answer did not mention this digest"
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
        self, registry_id: str, repository_name: str, layer_digests: Sequence[ValidDigest]
    ) -> BatchAnswer:
        """One ``BatchCheckLayerAvailability`` call (1 to 100 digests, each judged well-formed before: only a
        ``ValidDigest`` is ever sent); raises ``RepositoryCheckError``."""
        ...


@dataclass(frozen=True)
class RepositoryTarget:
    """``layer_digests`` as asked, repeats and malformed digests included. Targets that share one list object (a
    request hands the same list to each of its repositories) share one judgement of it."""

    registry_id: str
    repository_name: str
    layer_digests: Sequence[str]


@dataclass(frozen=True)
class _Call:
    target_index: int
    digests: list[ValidDigest]  # 1 to MAX_DIGESTS_PER_CALL


@dataclass(frozen=True)
class _Judgement:
    asked: AskedDigests
    invalid: dict[str, LayerFailure]  # the InvalidLayerDigest answer of each malformed digest, built once


ProgressCallback = Callable[[int, int], None]
# Asked before each ECR call; False means "start no more calls" (their digests are answered DEADLINE_EXCEEDED_CODE).
ShouldContinue = Callable[[], bool]


def _judge(targets: Sequence[RepositoryTarget]) -> list[_Judgement]:
    """Each target's digests judged, each distinct list object once (the targets keep the lists, and so their ids,
    alive for as long as the judgements are used)."""
    by_list: dict[int, _Judgement] = {}
    judgements: list[_Judgement] = []
    for target in targets:
        judgement = by_list.get(id(target.layer_digests))
        if judgement is None:
            asked = AskedDigests.of(target.layer_digests)
            invalid = {
                digest: LayerFailure(
                    layerDigest=digest,
                    failureCode=FailureCode.INVALID_LAYER_DIGEST,
                    failureReason=invalid_digest_reason(digest),
                )
                for digest in asked.malformed
            }
            judgement = by_list[id(target.layer_digests)] = _Judgement(asked, invalid)
        judgements.append(judgement)
    return judgements


def plan_calls(targets: Sequence[RepositoryTarget]) -> list[_Call]:
    """The minimum set of ECR calls: Σ ceil(distinct valid digests / 100) over the repositories."""
    return _plan(_judge(targets))


def _plan(judgements: list[_Judgement]) -> list[_Call]:
    return [
        _Call(index, chunk)
        for index, judgement in enumerate(judgements)
        for chunk in chunked(list(judgement.asked.valid), MAX_DIGESTS_PER_CALL)
    ]


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
    judgements = _judge(targets)
    calls = _plan(judgements)
    answers = _run_calls(
        calls, targets, registry, workers=workers, on_progress=on_progress, should_continue=should_continue
    )
    answers_by_target: list[list[BatchAnswer]] = [[] for _ in targets]
    for call, answer in zip(calls, answers, strict=True):
        answers_by_target[call.target_index].append(answer)
    results = [
        _assemble(target, judgement, target_answers)
        for target, judgement, target_answers in zip(targets, judgements, answers_by_target, strict=True)
    ]
    return CheckOutcome(results=results, summary=CheckSummary.of(results))


def _merge_repeated(targets: Sequence[RepositoryTarget]) -> list[RepositoryTarget]:
    """A repository named twice is one target with both digest lists; the others are kept as they are (with their
    shared lists)."""
    merged: dict[tuple[str, str], RepositoryTarget] = {}
    for target in targets:
        key = (target.registry_id, target.repository_name)
        earlier = merged.get(key)
        merged[key] = (
            target
            if earlier is None
            else RepositoryTarget(*key, [*earlier.layer_digests, *target.layer_digests])  # keeps first-seen order
        )
    return list(merged.values())


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


def _failed(digests: Sequence[str], code: str, reason: str) -> BatchAnswer:
    return BatchAnswer(failures=[LayerFailure(layerDigest=d, failureCode=code, failureReason=reason) for d in digests])


def _bounded(answer: BatchAnswer) -> BatchAnswer:
    """ECR's per-digest failures with their text bounded (logic/failure_text.py); usually ``answer`` itself. The
    failures of one call mostly share one code and reason, so each distinct text is measured once."""
    texts = {(failure.failureCode, failure.failureReason) for failure in answer.failures}
    if all(bounded_code(code) is code and bounded_reason(reason) is reason for code, reason in texts):
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


def _assemble(target: RepositoryTarget, judgement: _Judgement, answers: list[BatchAnswer]) -> RepositoryResult:
    """One repository's result in first-seen digest order; a digest ECR did not mention is a failure, never dropped.

    ECR's word per digest: a layer over a failure, and the first mention of each kind (the lists are walked in
    reverse so that the first mention is the one a dict keeps)."""
    answered: dict[str, LayerAnswer | LayerFailure] = {
        failure.layerDigest: failure for answer in reversed(answers) for failure in reversed(answer.failures)
    }
    answered.update({layer.layerDigest: layer for answer in reversed(answers) for layer in reversed(answer.layers)})
    answered.update(judgement.invalid)  # never sent: nothing ECR said can be about them

    layers: list[LayerAnswer] = []
    failures: list[LayerFailure] = []
    for digest in judgement.asked.distinct:
        entry = answered.get(digest)
        if entry is None:
            failures.append(
                LayerFailure(layerDigest=digest, failureCode=UNANSWERED_CODE, failureReason=UNANSWERED_REASON)
            )
        elif isinstance(entry, LayerAnswer):
            layers.append(entry)
        else:
            failures.append(entry)
    return RepositoryResult(
        registryId=target.registry_id, repositoryName=target.repository_name, layers=layers, failures=failures
    )
