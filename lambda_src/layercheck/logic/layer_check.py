"""Check, then keep the verdicts: the use case every door shares, over ports so that it stays free of boto3."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from layercheck.logic.check import DEFAULT_WORKERS, LayerAvailabilityPort, RepositoryTarget, check_repositories
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

    def check_and_store(
        self, targets: Sequence[RepositoryTarget], *, source: Source, check_id: str | None = None
    ) -> CheckOutcome:
        outcome = check_repositories(targets, self.registry, workers=self.workers)
        verdicts = layer_verdicts(
            outcome.results, source=source, checked_at=self.clock(), ttl_days=self.ttl_days, check_id=check_id
        )
        self.store.put_verdicts(verdicts)
        return outcome
