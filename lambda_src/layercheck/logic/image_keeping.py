"""Keeping image verdicts: write each observation (merged into its item, logic/verdict_merge.py), then announce every
change waiting on the items written (the one just staged and any an earlier invocation left), and take what
EventBridge accepted off the outbox.

The verdicts answered are the items as written: a push or API check answers with the ``usedBy`` the audit stored, an
observation older than the stored findings answers with the stored ones. Nothing here raises for an event EventBridge
refused: the change stays on the item, is counted in ``unsent``, and goes out on the next occasion.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from layercheck.errors import ResultsNotStoredError
from layercheck.logic.change_events import EventPublisherPort, PendingChange, UnsentEvent, event_entry
from layercheck.logic.verdict_merge import ImageObservation, ImageUpdate, ImageVerdictStore, StoredImage
from layercheck.models.stored import StoredImageVerdict


@dataclass(frozen=True)
class Kept:
    verdicts: list[StoredImageVerdict]  # one per observation, in order, as the items hold them now
    events_sent: int = 0
    events_unsent: list[UnsentEvent] = field(default_factory=list)


@dataclass
class VerdictKeeper:
    store: ImageVerdictStore
    events: EventPublisherPort | None = None

    def keep(self, observations: Sequence[ImageObservation]) -> Kept:
        """Write and announce; raises ``ResultsNotStoredError`` for what could not be written, after announcing what
        was (a retry finds those written and does not announce them again)."""
        writes = self.store.write_images(observations, stage_changes=self.events is not None)
        updates = [write.update for write in writes if write.update is not None]
        sent, unsent = self.announce(updates)
        failed = [(obs, write) for obs, write in zip(observations, writes, strict=True) if write.update is None]
        if failed:
            keys = [{"repositoryName": o.verdict.repositoryName, "image": o.verdict.reference} for o, _ in failed]
            raise ResultsNotStoredError(keys, "; ".join(sorted({write.reason for _, write in failed})))
        verdicts = [write.update.verdict for write in writes if write.update is not None]
        return Kept(verdicts=verdicts, events_sent=sent, events_unsent=unsent)

    def announce(self, updates: Sequence[ImageUpdate]) -> tuple[int, list[UnsentEvent]]:
        """Send every change waiting on these items, oldest first, and clear what was taken."""
        waiting = [(update.verdict, change) for update in updates for change in update.pending]
        return self.send_waiting(waiting)

    def send_waiting(
        self, waiting: Sequence[tuple[StoredImageVerdict, PendingChange]]
    ) -> tuple[int, list[UnsentEvent]]:
        if self.events is None or not waiting:
            return 0, []
        ordered = sorted(waiting, key=lambda pair: (pair[1].time, pair[1].change_id))
        outcome = self.events.publish([event_entry(change) for _, change in ordered])
        refused = {unsent.entry.change_id for unsent in outcome.unsent}
        taken: dict[tuple[str, str | None, str, str], tuple[StoredImageVerdict, list[str]]] = {}
        for verdict, change in ordered:
            if change.change_id not in refused:
                key = (verdict.registryId, verdict.region, verdict.repositoryName, verdict.reference)
                taken.setdefault(key, (verdict, []))[1].append(change.change_id)
        for verdict, change_ids in taken.values():
            self.store.clear_sent(verdict, change_ids)
        return outcome.sent, list(outcome.unsent)


@dataclass(frozen=True)
class Swept:
    sent: int
    unsent: list[UnsentEvent]


def sweep(keeper: VerdictKeeper, waiting: Iterable[StoredImage], *, batch: int = 100) -> Swept:
    """Send every change still waiting on any item (the ``byPendingChange`` index), ``batch`` items at a time: what an
    invocation that died after its write, or a bus that refused, left behind. ``unsent``: what is still waiting."""
    sent = 0
    unsent: list[UnsentEvent] = []
    group: list[tuple[StoredImageVerdict, PendingChange]] = []
    for item in waiting:
        group.extend((item.verdict, change) for change in item.pending)
        if len(group) >= batch:
            done, left = keeper.send_waiting(group)
            sent, unsent, group = sent + done, unsent + left, []
    if group:
        done, left = keeper.send_waiting(group)
        sent, unsent = sent + done, unsent + left
    return Swept(sent, unsent)
