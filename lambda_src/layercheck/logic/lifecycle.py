"""The images in use that a repository's lifecycle policy would expire or archive, as ECR's own preview says.

layercheck never evaluates lifecycle rules: ECR's preview is the judge. For one repository and its in-use digests:
``StartLifecyclePolicyPreview`` (the repository's own policy, or a proposed text), then ``GetLifecyclePolicyPreview``
with ``imageIds`` = the in-use digests, 100 per call (with ``imageIds`` ECR does not page), polled as botocore's
``LifecyclePolicyPreviewComplete`` waiter polls (every 5 s): ``COMPLETE`` is done, ``FAILED`` ends it, and so does
``EXPIRED`` (the results are gone). ``EXPIRE`` and ``TRANSITION`` (to the archive storage class) both make an image
unpullable: both are risks. Images nobody runs are not asked about and carry no risk; with none in use, only the
repository's policy is read, so that a repository ECR does not hold is reported rather than "nothing at risk".

ECR keeps one preview per repository and answers the latest, whoever started it:
- every answer is checked to be for the policy text this preview is about (JSON compared after normalising, so key
  order and spacing do not count); an answer for another text means someone else's preview replaced ours, and ours is
  started again (at most ``MAX_STARTS`` times);
- a preview of the same text that is already running (or, with ``reuse_finished``, complete) is read, not started
  again: a caller that ran out of time (the API's 503) finds it when it retries;
- a start refused with ``LifecyclePolicyPreviewInProgressException`` (another text's preview is running) waits and
  tries again while time lasts.

Time is bounded by ``PreviewClock.seconds_left`` and spent only through its ``sleep`` (both injected). ECR's answers
never raise: what could not be previewed is an outcome ``NOT_PREVIEWED`` with a code and a reason, so an audit goes
on with its other repositories. https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from layercheck.errors import LayercheckError, RepositoryCheckError, is_transient
from layercheck.logic.chunks import chunked
from layercheck.models.lifecycle import LifecycleAction, LifecycleRisk
from layercheck.models.stored import iso_utc, utc_now

# ECR's error codes (StartLifecyclePolicyPreview, GetLifecyclePolicy).
PREVIEW_IN_PROGRESS = "LifecyclePolicyPreviewInProgressException"
POLICY_NOT_FOUND = "LifecyclePolicyNotFoundException"
# layercheck's codes for a preview that could not be read in time; the preview itself goes on in ECR.
PREVIEW_PENDING = "PreviewPending"
PREVIEW_REPLACED = "PreviewReplaced"
# GetLifecyclePolicyPreview takes at most 100 imageIds.
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_GetLifecyclePolicyPreview.html
MAX_IMAGE_IDS_PER_CALL = 100
# botocore's LifecyclePolicyPreviewComplete waiter (botocore/data/ecr/2015-09-21/waiters-2.json): delay 5 s.
POLL_SECONDS = 5.0
# Starts of our preview, the first included, before giving up on a repository where others keep starting theirs.
MAX_STARTS = 3


class PreviewStatus(StrEnum):
    """ECR's ``LifecyclePolicyPreviewStatus``."""

    IN_PROGRESS = "IN_PROGRESS"
    COMPLETE = "COMPLETE"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"


ENDED = frozenset({PreviewStatus.FAILED, PreviewStatus.EXPIRED})
# Codes of an outcome that a later try may not meet (the caller retries: the API's 503 with Retry-After).
RETRYABLE_CODES = frozenset({PREVIEW_PENDING, PREVIEW_REPLACED, PREVIEW_IN_PROGRESS, PreviewStatus.EXPIRED})


@dataclass(frozen=True)
class PreviewResult:
    """One ``previewResults`` entry: an image the previewed policy would act on."""

    image_digest: str
    image_tags: tuple[str, ...]
    action: LifecycleAction
    rule_priority: int | None
    target_storage_class: str | None = None


@dataclass(frozen=True)
class PreviewAnswer:
    """One GetLifecyclePolicyPreview answer: the repository's latest preview, whoever started it."""

    status: str
    policy_text: str
    results: tuple[PreviewResult, ...] = ()


class LifecyclePreviewPort(Protocol):
    def lifecycle_policy(self, registry_id: str, repository_name: str) -> str | None:
        """The repository's policy text, None when it has none; raises ``RepositoryCheckError``."""
        ...

    def start_preview(self, registry_id: str, repository_name: str, policy_text: str | None) -> str:
        """Start a preview of ``policy_text`` (None: the repository's own policy); returns the text ECR previews.
        Raises ``RepositoryCheckError`` (``PREVIEW_IN_PROGRESS``, ``POLICY_NOT_FOUND`` ...)."""
        ...

    def preview_answer(
        self, registry_id: str, repository_name: str, image_digests: Sequence[str]
    ) -> PreviewAnswer | None:
        """The latest preview with the results for these digests (at most 100); None when the repository has no
        preview; raises ``RepositoryCheckError``."""
        ...


@dataclass(frozen=True)
class PreviewClock:
    seconds_left: Callable[[], float]  # the time the caller may still spend; <= 0: no more waiting
    sleep: Callable[[float], None]
    now: Callable[[], datetime] = utc_now
    poll_seconds: float = POLL_SECONDS


class PreviewState(StrEnum):
    PREVIEWED = "PREVIEWED"
    NO_POLICY = "NO_POLICY"  # nothing at risk: the repository has no lifecycle policy
    NOTHING_IN_USE = "NOTHING_IN_USE"  # nothing at risk: nobody runs an image of the repository
    NOT_PREVIEWED = "NOT_PREVIEWED"  # see code and reason


@dataclass(frozen=True)
class PreviewedRisk:
    image_digest: str
    image_tags: tuple[str, ...]
    risk: LifecycleRisk


@dataclass(frozen=True)
class LifecyclePreview:
    registry_id: str
    repository_name: str
    state: PreviewState
    at_risk: tuple[PreviewedRisk, ...] = ()  # in the order the in-use digests were given
    previewed_at: str | None = None  # ISO-8601 UTC, when PREVIEWED
    code: str | None = None  # NOT_PREVIEWED: ECR's error code or preview status, or PREVIEW_PENDING / _REPLACED
    reason: str | None = None

    @property
    def retryable(self) -> bool:
        """Not previewed for a reason a later try may not meet (time ran out, another preview, throttling)."""
        return self.state is PreviewState.NOT_PREVIEWED and (
            self.code in RETRYABLE_CODES or is_transient(self.code or "")
        )


class LifecyclePreviewUnavailableError(LayercheckError):
    """A caller that needs the preview (the API, the command line) could not have it: ``preview`` says why;
    ``proposed_policy``: the caller sent the policy text (so ECR's refusal of it is the caller's to fix);
    ``registry_unreadable``: the registry itself could not be read (reader role missing, Region not enabled)."""

    def __init__(
        self, preview: LifecyclePreview, *, proposed_policy: bool = False, registry_unreadable: bool = False
    ) -> None:
        super().__init__(f"lifecycle preview of {preview.repository_name} not available: {preview.reason}")
        self.preview = preview
        self.proposed_policy = proposed_policy
        self.registry_unreadable = registry_unreadable


def normalised_policy(text: str) -> str:
    """The policy as JSON with sorted keys and no spacing, so that equal policies compare equal; text that is not
    JSON compares as itself."""
    try:
        return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    except ValueError:
        return text.strip()


def preview_lifecycle(
    port: LifecyclePreviewPort,
    registry_id: str,
    repository_name: str,
    in_use_digests: Sequence[str],
    *,
    clock: PreviewClock,
    policy_text: str | None = None,
    reuse_finished: bool = True,
) -> LifecyclePreview:
    """What ``policy_text`` (None: the repository's own policy) would do to the in-use digests, per ECR's preview.

    ``reuse_finished``: a COMPLETE preview of the same text is read instead of starting another (the retry of a caller
    that ran out of time); False always previews the images as they are now."""
    digests = list(dict.fromkeys(in_use_digests))
    try:
        # Read even when nothing is in use: a repository ECR does not hold is an error, never "nothing at risk".
        own = port.lifecycle_policy(registry_id, repository_name) if policy_text is None or not digests else None
        policy = policy_text if policy_text is not None else own
        if policy is None:
            return LifecyclePreview(registry_id, repository_name, PreviewState.NO_POLICY)
        if not digests:
            return LifecyclePreview(registry_id, repository_name, PreviewState.NOTHING_IN_USE)
        run = _PreviewRun(port, registry_id, repository_name, digests, clock, policy_text, normalised_policy(policy))
        return run.outcome(reuse_finished)
    except RepositoryCheckError as error:
        if error.code == POLICY_NOT_FOUND:  # the repository's policy was deleted meanwhile
            return LifecyclePreview(registry_id, repository_name, PreviewState.NO_POLICY)
        return LifecyclePreview(
            registry_id, repository_name, PreviewState.NOT_PREVIEWED, code=error.code, reason=error.message
        )


@dataclass(frozen=True)
class _Interrupted:
    """A later batch's answer that is not our complete preview: the run goes on from it."""

    answer: PreviewAnswer | None


@dataclass
class _PreviewRun:
    port: LifecyclePreviewPort
    registry_id: str
    repository_name: str
    digests: list[str]
    clock: PreviewClock
    proposed: str | None
    expected: str  # the normalised policy text the answers must be for
    starts: int = 0
    batches: list[list[str]] = field(init=False)

    def __post_init__(self) -> None:
        self.batches = [list(batch) for batch in chunked(self.digests, MAX_IMAGE_IDS_PER_CALL)]

    def outcome(self, reuse_finished: bool) -> LifecyclePreview:
        answer = self._read(self.batches[0])
        reusable = (
            {PreviewStatus.IN_PROGRESS, PreviewStatus.COMPLETE} if reuse_finished else {PreviewStatus.IN_PROGRESS}
        )
        start = answer is None or not self._is_ours(answer) or answer.status not in reusable
        current: PreviewAnswer | LifecyclePreview | None = self._start() if start else answer
        while True:
            if isinstance(current, LifecyclePreview):
                return current
            if current is not None and not self._is_ours(current):
                current = self._start()  # someone else's preview replaced ours
                continue
            if current is not None and current.status == PreviewStatus.COMPLETE:
                results = self._all_results(current)
                if isinstance(results, _Interrupted):
                    current = results.answer
                    continue
                return self._previewed(results)
            if current is not None and current.status in ENDED:
                return self._not_previewed(current.status, f"ECR's lifecycle policy preview ended {current.status}")
            # IN_PROGRESS (or not visible yet right after our start): wait for it while time lasts.
            if not self._wait():
                return self._not_previewed(
                    PREVIEW_PENDING, "the lifecycle policy preview is still in progress in ECR: retry to read it"
                )
            current = self._read(self.batches[0])

    def _start(self) -> PreviewAnswer | LifecyclePreview | None:
        """Our preview started (or one of the same text found running); waits while another text's preview runs."""
        while True:
            if self.starts >= MAX_STARTS:
                return self._not_previewed(
                    PREVIEW_REPLACED,
                    f"other lifecycle policy previews of the repository replaced ours {self.starts} times",
                )
            try:
                previewed_text = self.port.start_preview(self.registry_id, self.repository_name, self.proposed)
            except RepositoryCheckError as error:
                if error.code != PREVIEW_IN_PROGRESS:
                    raise
                if not self._wait():
                    return self._not_previewed(
                        PREVIEW_IN_PROGRESS, "another lifecycle policy preview of the repository is in progress"
                    )
                answer = self._read(self.batches[0])
                if answer is not None and self._is_ours(answer) and answer.status not in ENDED:
                    return answer  # the running one is of our text: read it rather than wait to start another
                continue
            self.starts += 1
            if previewed_text:
                self.expected = normalised_policy(previewed_text)
            return self._read(self.batches[0])

    def _all_results(self, first: PreviewAnswer) -> list[PreviewResult] | _Interrupted:
        results = list(first.results)
        for batch in self.batches[1:]:
            answer = self._read(batch)
            if answer is None or not self._is_ours(answer) or answer.status != PreviewStatus.COMPLETE:
                return _Interrupted(answer)
            results.extend(answer.results)
        return results

    def _previewed(self, results: list[PreviewResult]) -> LifecyclePreview:
        previewed_at = iso_utc(self.clock.now())
        in_use = set(self.digests)
        found: dict[str, PreviewedRisk] = {}
        for result in results:
            if result.image_digest in in_use and result.image_digest not in found:
                archiving = result.action is LifecycleAction.TRANSITION
                risk = LifecycleRisk(
                    action=result.action,
                    rulePriority=result.rule_priority,
                    targetStorageClass=result.target_storage_class if archiving else None,
                    previewedAt=previewed_at,
                )
                found[result.image_digest] = PreviewedRisk(result.image_digest, result.image_tags, risk)
        at_risk = tuple(found[digest] for digest in self.digests if digest in found)
        return LifecyclePreview(
            self.registry_id, self.repository_name, PreviewState.PREVIEWED, at_risk, previewed_at=previewed_at
        )

    def _read(self, batch: list[str]) -> PreviewAnswer | None:
        return self.port.preview_answer(self.registry_id, self.repository_name, batch)

    def _is_ours(self, answer: PreviewAnswer) -> bool:
        return normalised_policy(answer.policy_text) == self.expected

    def _wait(self) -> bool:
        left = self.clock.seconds_left()
        if left <= 0:
            return False
        self.clock.sleep(min(self.clock.poll_seconds, left))
        return True

    def _not_previewed(self, code: str, reason: str) -> LifecyclePreview:
        return LifecyclePreview(
            self.registry_id, self.repository_name, PreviewState.NOT_PREVIEWED, code=code, reason=reason
        )
