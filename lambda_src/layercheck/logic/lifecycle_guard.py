"""The audit's lifecycle guard: what a repository's own lifecycle policy would do to its images in use, as ECR's
preview says (logic/lifecycle.py), turned into the risk each in-use image's verdict carries.

One preview per repository item that knows who runs its images: its current policy, the in-use digests 100 per
``GetLifecyclePolicyPreview``, waiting at most ``PREVIEW_BUDGET_SECONDS`` and never more than half the time the
invocation has left (``InvocationTime``: the item's images are checked after it). The guard never fails the audit:
- a repository with no image in use costs no ECR call, and has nothing at risk;
- no lifecycle policy: nothing at risk (a policy deleted since the last audit clears the risks);
- a preview that cannot finish in time, another preview that keeps replacing ours, throttling, access denied: not
  previewed. The stored risks stay as they are (the risk group is not recomputed) and the door logs why.

A repository too big for one work item hands its images to slices (``with_risks``): each image carries its risk,
each slice the time of the preview, so the slice's write is the same as the repository item's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from layercheck.logic.lifecycle import (
    LifecyclePreview,
    LifecyclePreviewPort,
    PreviewClock,
    PreviewState,
    preview_lifecycle,
)
from layercheck.logic.risk_changes import RiskKnowledge
from layercheck.models.audit import ImagesWorkItem
from layercheck.models.lifecycle import LifecycleRisk
from layercheck.models.stored import observed_iso, utc_now

# How long one repository's preview may be waited for. ECR's waiter polls every 5 s; a preview of a repository's
# images usually completes within seconds. A preview still running when the budget ends is read by the next audit
# (the same policy's preview in progress is read, not started again).
PREVIEW_BUDGET_SECONDS = 60.0


class InvocationTime:
    """The time the current invocation has left, from its Lambda context (the queue door sets it each invocation);
    None outside an invocation (the command line, tests)."""

    def __init__(self) -> None:
        self._remaining_ms: Callable[[], int] | None = None

    def start(self, remaining_ms: Callable[[], int]) -> None:
        self._remaining_ms = remaining_ms

    def seconds_left(self) -> float | None:
        return None if self._remaining_ms is None else self._remaining_ms() / 1000


@dataclass(frozen=True)
class GuardOutcome:
    """``risks``: what to write on the repository's verdicts (None: not previewed, the stored risks stay);
    ``preview``: ECR's answer, None when nothing is in use (no preview asked for)."""

    risks: RiskKnowledge | None
    preview: LifecyclePreview | None = None

    @property
    def not_previewed(self) -> LifecyclePreview | None:
        """The preview that could not be had (its code and reason), for the door to log."""
        if self.preview is not None and self.preview.state is PreviewState.NOT_PREVIEWED:
            return self.preview
        return None


@dataclass
class LifecycleGuard:
    """Lifecycle previews of one registry's repositories for its audit (``port``: that registry's ECR)."""

    port: LifecyclePreviewPort
    budget_seconds: float = PREVIEW_BUDGET_SECONDS
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    clock: Callable[[], datetime] = field(default=utc_now)
    invocation: InvocationTime | None = None

    def risks(self, registry_id: str, repository_name: str, in_use_digests: Sequence[str]) -> GuardOutcome:
        """The risk of each in-use digest per the repository's own policy (``reuse_finished`` off: the images as
        they are now, not as an earlier preview saw them)."""
        started = self.clock()
        if not in_use_digests:
            return GuardOutcome(RiskKnowledge({}, observed_iso(started)))
        ends = self.monotonic() + self._budget()
        preview = preview_lifecycle(
            self.port,
            registry_id,
            repository_name,
            in_use_digests,
            clock=PreviewClock(seconds_left=lambda: ends - self.monotonic(), sleep=self.sleep, now=self.clock),
            reuse_finished=False,
        )
        if preview.state is PreviewState.NOT_PREVIEWED:
            return GuardOutcome(None, preview)
        risks = {risky.image_digest: risky.risk for risky in preview.at_risk}
        return GuardOutcome(RiskKnowledge(risks, observed_iso(started)), preview)

    def _budget(self) -> float:
        left = None if self.invocation is None else self.invocation.seconds_left()
        return self.budget_seconds if left is None else max(0.0, min(self.budget_seconds, left / 2))


def with_risks(slices: Sequence[ImagesWorkItem], risks: RiskKnowledge | None) -> list[ImagesWorkItem]:
    """The slices of a repository, each image with its risk and each slice with the preview's time (None: the
    slices as they are, and their writes keep the stored risks)."""
    if risks is None:
        return list(slices)
    return [
        work.model_copy(
            update={
                "images": [
                    image.model_copy(update={"lifecycleRisk": risks.risks.get(image.imageDigest)})
                    for image in work.images
                ],
                "lifecycleRiskObservedAt": risks.observed_at,
            }
        )
        for work in slices
    ]


def slice_risks(work: ImagesWorkItem) -> RiskKnowledge | None:
    """What a slice carries of its repository's preview (None: not previewed)."""
    if work.lifecycleRiskObservedAt is None:
        return None
    risks: dict[str, LifecycleRisk] = {
        image.imageDigest: image.lifecycleRisk for image in work.images if image.lifecycleRisk is not None
    }
    return RiskKnowledge(risks, work.lifecycleRiskObservedAt)
