"""What one image write changes, given what the item held: observations in the order they happened, and the change
event staged with the write (the outbox).

An image verdict holds four groups of attributes, each observed at its own time (models/stored.py): the findings
(``observedAt``), who runs the image (``usedByObservedAt``), its replicas (``replicasObservedAt``) and its lifecycle
risk (``lifecycleRiskObservedAt``). A write carries the groups its caller recomputed; each replaces the stored group
only if it was observed at the same time or later. So an audit that read ECR before a repair never overwrites the push
check's COMPLETE that came after it, and a push check, which does not know who runs the image or what the lifecycle
policy would do to it, never touches ``usedBy`` or ``lifecycleRisk``. An image nobody runs carries no risk: a write
that leaves it without users drops its risk too (a risk that clears).

Pure: the results table reads the item, calls ``merge``, and writes the answer with a condition on the version it
read (integrations/image_writes.py), so two writers cannot both decide from the same old item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from layercheck.contracts.events import IMAGE_VERDICT_CHANGED_DETAIL_TYPE
from layercheck.logic.change_events import (
    ImageVerdictChangedDetail,
    PendingChange,
    pending_change,
    verdict_changed,
)
from layercheck.logic.risk_changes import RiskKnowledge, RiskObservation, stage_risk_change
from layercheck.models.in_use import UsedBy, ordered_users
from layercheck.models.lifecycle import LifecycleRisk
from layercheck.models.replicas import Replica
from layercheck.models.stored import ImageStatus, StoredImageVerdict, observed_iso

# Changes an item keeps waiting for EventBridge at most: beyond, the newest waiting one and the new one are announced
# as one change (from the older's previous status to the new status), so an item stays far below DynamoDB's 400 KB.
MAX_PENDING_CHANGES = 3

FINDINGS = "findings"
USERS = "users"
REPLICAS = "replicas"
RISK = "risk"
# The attributes of the groups other than the findings (results_updates.py writes the same groups).
GROUP_FIELDS = {
    USERS: ("usedBy", "usedByOmitted", "usedByObservedAt"),
    REPLICAS: ("replicas", "replicasObservedAt"),
    RISK: ("lifecycleRisk", "lifecycleRiskObservedAt"),
}


@dataclass(frozen=True)
class UsersObservation:
    """Who runs the image, recomputed by the audit's discovery at ``observed_at`` (ISO, ``observed_iso``)."""

    users: tuple[UsedBy, ...]
    observed_at: str
    omitted: int = 0  # users a work item could not carry (counted, not named)


@dataclass(frozen=True)
class InUseKnowledge:
    """Who runs each image (by digest; an image not named: nobody), as the audit discovered it at ``observed_at``.
    ``omitted``: users beyond what a work item carried, counted per digest."""

    users: Mapping[str, Sequence[UsedBy]]
    observed_at: datetime
    omitted: Mapping[str, int] = field(default_factory=dict)
    risks: RiskKnowledge | None = None  # what the repository's lifecycle preview found; None: not previewed

    def observation(self, digest: str | None) -> UsersObservation:
        users = tuple(ordered_users(self.users.get(digest or "", ())))
        return UsersObservation(users, observed_iso(self.observed_at), self.omitted.get(digest or "", 0))

    def risk_observation(self, digest: str | None) -> RiskObservation | None:
        return None if self.risks is None else self.risks.observation(digest)


@dataclass(frozen=True)
class ReplicasObservation:
    replicas: tuple[Replica, ...]
    observed_at: str


@dataclass(frozen=True)
class ImageObservation:
    """One check's verdict of an image (findings with ``observedAt``) and the groups it recomputed besides; None: not
    recomputed, the stored group stays."""

    verdict: StoredImageVerdict
    users: UsersObservation | None = None
    replicas: ReplicasObservation | None = None
    risk: RiskObservation | None = None


@dataclass(frozen=True)
class StoredImage:
    """An image item as read: its verdict, its version (for the conditional write) and its waiting changes."""

    verdict: StoredImageVerdict
    version: int = 0
    pending: tuple[PendingChange, ...] = ()


@dataclass(frozen=True)
class ImageUpdate:
    """The item after the write (``verdict``: what is answered and announced), which groups to write, the change
    staged with the write, and the changes waiting on the item afterwards (to send once written)."""

    verdict: StoredImageVerdict
    groups: frozenset[str]
    previous_status: ImageStatus | None
    change: PendingChange | None = None
    pending: tuple[PendingChange, ...] = ()
    dropped: tuple[str, ...] = ()  # waiting changes folded into ``change`` (removed from the item with the write)
    risk_change: PendingChange | None = None

    @property
    def staged(self) -> tuple[PendingChange, ...]:
        """The changes this write stages: a verdict change, a risk change, both or none."""
        return tuple(change for change in (self.change, self.risk_change) if change is not None)


def _not_older(ours: str | None, stored: str | None) -> bool:
    """Ours replaces the stored group unless the stored one was observed later (a time absent is the oldest)."""
    return stored is None or (ours is not None and ours >= stored)


def merge(stored: StoredImage | None, observation: ImageObservation, *, stage_changes: bool = True) -> ImageUpdate:
    """What to write over ``stored`` (None: a first verdict) for ``observation``; ``stage_changes`` False (no bus to
    announce on) stages nothing."""
    ours = observation.verdict
    if stored is None and ours.status is ImageStatus.MISSING and not (observation.users and observation.users.users):
        return ImageUpdate(ours, frozenset(), None)  # gone, never judged, nobody runs it: nothing to keep
    if stored is None:
        groups = {FINDINGS} | _recomputed(observation)
        verdict = _risk_only_in_use(_with_groups(ours, ours, observation, findings=True), groups)
        if not stage_changes:
            return ImageUpdate(verdict, frozenset(groups), None)
        return _with_risk_change(_staged(verdict, frozenset(groups), None, ()), None)
    before = stored.verdict
    findings = _not_older(ours.observedAt, before.observedAt)
    groups = {FINDINGS} if findings else set()
    if observation.users is not None and _not_older(observation.users.observed_at, before.usedByObservedAt):
        groups.add(USERS)
    if observation.replicas is not None and _not_older(observation.replicas.observed_at, before.replicasObservedAt):
        groups.add(REPLICAS)
    if observation.risk is not None and _not_older(observation.risk.observed_at, before.lifecycleRiskObservedAt):
        groups.add(RISK)
    verdict = _risk_only_in_use(_with_groups(before, ours, observation, findings=findings, groups=groups), groups)
    if not stage_changes:
        return ImageUpdate(verdict, frozenset(groups), before.status, pending=stored.pending)
    if findings:
        update = _staged(verdict, frozenset(groups), before.status, stored.pending)
    else:
        update = ImageUpdate(verdict, frozenset(groups), before.status, pending=stored.pending)
    return _with_risk_change(update, before.lifecycleRisk) if RISK in groups else update


def _recomputed(observation: ImageObservation) -> set[str]:
    recomputed = ((USERS, observation.users), (REPLICAS, observation.replicas), (RISK, observation.risk))
    return {name for name, group in recomputed if group}


def _risk_only_in_use(verdict: StoredImageVerdict, groups: set[str]) -> StoredImageVerdict:
    """An image nobody runs carries no risk: a risk left on one is dropped, and the risk group written."""
    if verdict.lifecycleRisk is None or verdict.in_use:
        return verdict
    groups.add(RISK)
    return verdict.model_copy(update={"lifecycleRisk": None})


def _with_risk_change(update: ImageUpdate, previous: LifecycleRisk | None) -> ImageUpdate:
    """``update`` with the change its written risk makes (if any) staged beside its verdict change."""
    staged = stage_risk_change(previous, update.verdict, update.pending)
    if staged.change is None and not staged.dropped:
        return update
    pending = tuple(change for change in update.pending if change.change_id not in staged.dropped)
    if staged.change is not None:
        pending = (*pending, staged.change)
    return replace(update, risk_change=staged.change, pending=pending, dropped=(*update.dropped, *staged.dropped))


def _with_groups(
    base: StoredImageVerdict,
    ours: StoredImageVerdict,
    observation: ImageObservation,
    *,
    findings: bool,
    groups: set[str] | None = None,
) -> StoredImageVerdict:
    """``base`` with our findings (if written) and our recomputed groups (if written) laid over it."""
    groups = _recomputed(observation) if groups is None else groups
    update: dict[str, object] = {}
    if findings and base is not ours:
        kept = {name for names in GROUP_FIELDS.values() for name in names}
        update |= {name: getattr(ours, name) for name in type(ours).model_fields if name not in kept}
    if USERS in groups and observation.users is not None:
        update |= {
            "usedBy": list(observation.users.users),
            "usedByOmitted": observation.users.omitted,
            "usedByObservedAt": observation.users.observed_at,
        }
    if REPLICAS in groups and observation.replicas is not None:
        update |= {
            "replicas": list(observation.replicas.replicas),
            "replicasObservedAt": observation.replicas.observed_at,
        }
    if RISK in groups and observation.risk is not None:
        update |= {"lifecycleRisk": observation.risk.risk, "lifecycleRiskObservedAt": observation.risk.observed_at}
    if not update:
        return base
    # Validated again, so that usedBy is bounded however it was put together.
    return StoredImageVerdict.model_validate({**base.model_dump(), **update})


def _staged(
    verdict: StoredImageVerdict,
    groups: frozenset[str],
    previous_status: ImageStatus | None,
    waiting: tuple[PendingChange, ...],
) -> ImageUpdate:
    """The change the new findings make, folded with the newest waiting change when the item holds too many."""
    dropped: tuple[str, ...] = ()
    announced_previous = previous_status
    waiting_verdicts = [change for change in waiting if change.detail_type == IMAGE_VERDICT_CHANGED_DETAIL_TYPE]
    if len(waiting_verdicts) >= MAX_PENDING_CHANGES:
        newest = max(waiting_verdicts, key=lambda change: (change.time, change.change_id))
        folded = ImageVerdictChangedDetail.model_validate_json(newest.detail)
        announced_previous, dropped = folded.previousStatus, (newest.change_id,)
        waiting = tuple(change for change in waiting if change is not newest)
    detail = verdict_changed(announced_previous, verdict, region=str(verdict.region))
    change = pending_change(detail) if detail is not None else None
    pending = (*waiting, change) if change is not None else waiting
    return ImageUpdate(verdict, groups, previous_status, change=change, pending=pending, dropped=dropped)


@dataclass(frozen=True)
class ImageWrite:
    """One observation's write: ``update`` (what the item holds now and what waits to be sent), or why it could not be
    stored (``update`` None)."""

    update: ImageUpdate | None
    reason: str = ""

    @property
    def stored(self) -> bool:
        return self.update is not None


class ImageVerdictStore(Protocol):
    def write_images(self, observations: Sequence[ImageObservation], *, stage_changes: bool = True) -> list[ImageWrite]:
        """Merge each observation into its stored item (read, ``merge``, conditional write, again on a conflict) and
        stage its change in the same write; one answer per observation, in order. Never raises for an item it could
        not store (``ImageWrite.update`` None), so that what it did store still gets its events."""
        ...

    def clear_sent(self, verdict: StoredImageVerdict, change_ids: Sequence[str]) -> None:
        """Take the changes EventBridge accepted off the item's outbox (best effort: a change left there is sent again
        with the same changeId)."""
        ...
