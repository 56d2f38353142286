"""Asking ECR again, right after a push, about blobs it said it lacks.

ECR can be briefly inconsistent right after a push (the image event can arrive before every blob reads back as
AVAILABLE). A push check therefore re-asks about the absent blobs only, after short growing pauses within a bounded
budget, and only the blobs still absent at the end can make the image BROKEN. The pause is injected: tests never sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field

from layercheck.logic.check import DEFAULT_WORKERS, LayerAvailabilityPort, RepositoryTarget, check_repositories
from layercheck.logic.judge import is_absent
from layercheck.models.verdicts import LayerAnswer, LayerFailure, RepositoryResult

FIRST_PAUSE_SECONDS = 0.5


@dataclass(frozen=True)
class RecheckPolicy:
    """Pauses of 0.5 s, 1 s, 2 s ... cut so that their sum never exceeds ``budget_seconds`` (0 turns rechecks off)."""

    budget_seconds: float
    sleep: Callable[[float], None] = field(default=time.sleep)
    first_pause: float = FIRST_PAUSE_SECONDS

    def pauses(self) -> Iterator[float]:
        waited = 0.0
        pause = self.first_pause
        while self.budget_seconds - waited > 1e-9:
            step = min(pause, self.budget_seconds - waited)
            yield step
            waited += step
            pause *= 2


def recheck_absent(
    target: RepositoryTarget,
    answers: MutableMapping[str, LayerAnswer | LayerFailure],
    registry: LayerAvailabilityPort,
    policy: RecheckPolicy,
    *,
    workers: int = DEFAULT_WORKERS,
) -> int:
    """Update ``answers`` in place with ECR's latest word on every absent blob of ``target``; returns the number of
    BatchCheckLayerAvailability rounds made. Each round asks only about the blobs still absent."""
    absent = [digest for digest in target.layer_digests if is_absent(answers.get(digest))]
    rounds = 0
    for pause in policy.pauses():
        if not absent:
            break
        policy.sleep(pause)
        rounds += 1
        outcome = check_repositories(
            [RepositoryTarget(target.registry_id, target.repository_name, absent)], registry, workers=workers
        )
        for result in outcome.results:
            answers.update({layer.layerDigest: layer for layer in result.layers})
            answers.update({failure.layerDigest: failure for failure in result.failures})
        absent = [digest for digest in absent if is_absent(answers.get(digest))]
    return rounds


def result_of(target: RepositoryTarget, answers: MutableMapping[str, LayerAnswer | LayerFailure]) -> RepositoryResult:
    """The repository's result as the engine shapes it (answers in first-seen digest order), from the final answers."""
    digests = [digest for digest in dict.fromkeys(target.layer_digests) if digest in answers]
    return RepositoryResult(
        registryId=target.registry_id,
        repositoryName=target.repository_name,
        layers=[answer for d in digests if isinstance(answer := answers[d], LayerAnswer)],
        failures=[answer for d in digests if isinstance(answer := answers[d], LayerFailure)],
    )
