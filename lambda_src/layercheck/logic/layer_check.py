"""Check, then keep the verdicts: the use case every door shares, over ports so that it stays free of boto3."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from layercheck.logic.check import (
    DEADLINE_EXCEEDED_CODE,
    DEFAULT_WORKERS,
    LayerAvailabilityPort,
    RepositoryTarget,
    ShouldContinue,
    check_repositories,
)
from layercheck.models.stored import Source, StoredItem, layer_verdicts, utc_now
from layercheck.models.verdicts import CheckOutcome


class VerdictStore(Protocol):
    def put_verdicts(self, items: Sequence[StoredItem]) -> int:
        """Store every item as the latest state; raises ``ResultsNotStoredError`` for what could not be stored."""
        ...


@dataclass
class LayerCheckService:
    registry: LayerAvailabilityPort
    store: VerdictStore
    ttl_days: int = 30
    workers: int = DEFAULT_WORKERS
    clock: Callable[[], datetime] = field(default=utc_now)
    region: str = field(kw_only=True)  # the Region of the registry client above: its verdicts' ``region``

    def check_and_store(
        self,
        targets: Sequence[RepositoryTarget],
        *,
        source: Source,
        check_id: str | None = None,
        should_continue: ShouldContinue | None = None,
    ) -> CheckOutcome:
        """``should_continue`` stops new ECR calls (the API's deadline); pairs left unchecked are answered
        ``DeadlineExceeded`` and not stored, so they never overwrite a real verdict."""
        outcome = check_repositories(targets, self.registry, workers=self.workers, should_continue=should_continue)
        verdicts = layer_verdicts(
            outcome.results,
            source=source,
            checked_at=self.clock(),
            ttl_days=self.ttl_days,
            region=self.region,
            check_id=check_id,
        )
        if should_continue is not None:
            verdicts = [verdict for verdict in verdicts if verdict.failureCode != DEADLINE_EXCEEDED_CODE]
        self.store.put_verdicts(verdicts)
        return outcome
