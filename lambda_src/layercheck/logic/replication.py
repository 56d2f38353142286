"""Replicas judged by what ECR says about replication first, then at their destinations.

ECR replicates what is pushed after a replication rule exists (older images only through
``StartReplicationBackfill``), asynchronously, and a destination's own lifecycle policy may delete a copy later. So
for every image of a source repository that a rule's filters match, the source registry's
``DescribeImageReplicationStatus`` is read first (one call per image), and each destination (Region, registry) is
judged from it:

- no entry for the destination: ``NOT_SCHEDULED`` (ECR never scheduled a copy: the image predates the rule; a
  backfill can start one). Not counted, kept so that it can be found.
- ``IN_PROGRESS``: ``PENDING``. ``FAILED``: ``FAILED``, with ECR's ``failureCode``.
- ``COMPLETE``: only now is the destination asked (``ReplicaProbePort.probe``): ``COMPLETE`` when it holds the digest
  and every blob pullable, ``BROKEN`` when it lacks some (``missingLayers``) or holds them archived (not pullable
  until restored: a copy that cannot serve a pull is not whole), ``MISSING`` when the digest is gone there although
  ECR replicated it, ``UNCHECKED`` when the destination cannot be read (``failureCode`` / ``failureReason``).

When the status itself cannot be read (the reader role lacks ``ecr:DescribeImageReplicationStatus``, the image went
away meanwhile ...), every destination is judged as before ECR was asked: at the destination alone, with
``REPLICATION_GRACE_MINUTES`` as the only sign of a copy in progress (an image pushed less than that ago whose copy is
not whole yet is ``PENDING``; 0 = no grace; no push time known = no grace). Such a replica says so:
``failureCode`` ``ReplicationStatusUnavailable`` and a ``failureReason`` naming ECR's error.

``replicas_incomplete(replicas)`` is the ``ReplicasIncomplete`` metric: BROKEN + MISSING + FAILED.

- ``ReplicationConfiguration.from_describe_registry(answer)`` reads DescribeRegistry's ``replicationConfiguration``.
- ``replication_destinations(config, ...)``: a rule without ``repositoryFilters`` replicates every repository; with
  filters, the repositories whose name starts with one of its ``PREFIX_MATCH`` filters. The source registry itself
  (same Region and registry) is never a destination; a destination named by two rules counts once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from layercheck.models.replicas import INCOMPLETE_REPLICA_STATUSES, Replica, ReplicaStatus

PREFIX_MATCH = "PREFIX_MATCH"  # the only RepositoryFilter.filterType ECR knows today
STATUS_UNAVAILABLE = "ReplicationStatusUnavailable"
ARCHIVED_AT_DESTINATION = "LayersArchived"


# -- DescribeRegistry's replicationConfiguration, as ECR spells it ---------------------------------------------------


class _EcrShape(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class RepositoryFilter(_EcrShape):
    filter: str
    filterType: str = PREFIX_MATCH


class ReplicationDestination(_EcrShape):
    region: str
    registryId: str


class ReplicationRule(_EcrShape):
    destinations: list[ReplicationDestination] = []
    repositoryFilters: list[RepositoryFilter] = []

    def matches(self, repository_name: str) -> bool:
        """No filter: every repository. A filter type this code does not know matches nothing, so a new kind of
        filter can never make a repository look unreplicated by mistake."""
        if not self.repositoryFilters:
            return True
        return any(
            f.filterType == PREFIX_MATCH and repository_name.startswith(f.filter) for f in self.repositoryFilters
        )


class ReplicationConfiguration(_EcrShape):
    rules: list[ReplicationRule] = []

    @classmethod
    def from_describe_registry(cls, answer: Mapping[str, Any]) -> ReplicationConfiguration:
        """DescribeRegistry's answer (a registry that never configured replication has no rules, or no key)."""
        return cls.model_validate(answer.get("replicationConfiguration") or {})


def replication_destinations(
    config: ReplicationConfiguration, *, source_registry_id: str, source_region: str, repository_name: str
) -> list[ReplicationDestination]:
    """Where ``repository_name`` replicates to, in rule order, each destination once, never the source itself."""
    found: dict[tuple[str, str], ReplicationDestination] = {}
    for rule in config.rules:
        if not rule.matches(repository_name):
            continue
        for destination in rule.destinations:
            key = (destination.region, destination.registryId)
            if key != (source_region, source_registry_id):
                found.setdefault(key, destination)
    return list(found.values())


# -- what ECR says: DescribeImageReplicationStatus ------------------------------------------------------------------


class EcrReplicationState(StrEnum):
    """``ImageReplicationStatus.status``."""

    IN_PROGRESS = "IN_PROGRESS"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"


class ImageReplicationStatus(_EcrShape):
    """One entry of ``replicationStatuses``, as ECR spells it. A state this code does not know is kept verbatim."""

    region: str
    registryId: str
    status: str
    failureCode: str | None = None


@dataclass(frozen=True)
class StatusUnavailable:
    """ECR's replication status could not be read for the image: its error code and message."""

    code: str
    reason: str


ReplicationStatuses = dict[tuple[str, str], ImageReplicationStatus]  # by (region, registryId)
EcrSays = ReplicationStatuses | StatusUnavailable


def by_destination(statuses: Iterable[ImageReplicationStatus]) -> ReplicationStatuses:
    return {(status.region, status.registryId): status for status in statuses}


# -- what the destination holds -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceImage:
    """The source image, as its own check found it: the blobs and platform manifests a whole copy must hold."""

    image_digest: str
    pushed_at: datetime | None
    blob_digests: tuple[str, ...] = ()
    manifest_digests: tuple[str, ...] = ()  # an index's platform manifests


@dataclass(frozen=True)
class DestinationHolds:
    """The destination has the digest; what it lacks of the image's blobs and platform manifests, and which of its
    blobs it holds archived (not pullable until restored)."""

    missing_layers: tuple[str, ...] = ()
    missing_manifests: tuple[str, ...] = ()
    archived_layers: tuple[str, ...] = ()


@dataclass(frozen=True)
class DestinationLacks:
    """The destination has no image with the digest (or no such repository)."""


@dataclass(frozen=True)
class DestinationUnreadable:
    code: str
    reason: str


DestinationAnswer = DestinationHolds | DestinationLacks | DestinationUnreadable


class ReplicaProbePort(Protocol):
    def replication_status(self, repository_name: str, image: SourceImage) -> EcrSays:
        """What the source registry's ECR says about the image's replication; never raises for ECR's errors."""
        ...

    def probe(self, destination: ReplicationDestination, repository_name: str, image: SourceImage) -> DestinationAnswer:
        """What the destination holds of the image; never raises for the destination's own errors."""
        ...


# -- judging one copy ------------------------------------------------------------------------------------------------


def within_grace(pushed_at: datetime | None, now: datetime, grace_minutes: int) -> bool:
    return bool(grace_minutes) and pushed_at is not None and now - pushed_at < timedelta(minutes=grace_minutes)


@dataclass(frozen=True)
class Grace:
    """The fallback's clock: when the image was pushed, now, and ``REPLICATION_GRACE_MINUTES``."""

    pushed_at: datetime | None
    now: datetime
    minutes: int


def judge_replica(
    destination: ReplicationDestination, ecr_says: EcrSays, ask: Callable[[], DestinationAnswer], grace: Grace
) -> Replica:
    """One copy: from ECR's status for ``destination``, asking the destination (``ask``) only when ECR says COMPLETE,
    or when its status could not be read (then the grace stands in for IN_PROGRESS)."""
    where = {"region": destination.region, "registryId": destination.registryId}
    if isinstance(ecr_says, StatusUnavailable):
        return _judged_without_status(where, ask(), grace, ecr_says)
    status = ecr_says.get((destination.region, destination.registryId))
    if status is None:
        return Replica(**where, status=ReplicaStatus.NOT_SCHEDULED)
    if status.status == EcrReplicationState.IN_PROGRESS:
        return Replica(**where, status=ReplicaStatus.PENDING)
    if status.status == EcrReplicationState.FAILED:
        reason = f"ECR reports the replication to {destination.registryId} in {destination.region} failed"
        return Replica(**where, status=ReplicaStatus.FAILED, failureCode=status.failureCode, failureReason=reason)
    if status.status != EcrReplicationState.COMPLETE:
        reason = f"ECR reports replication status {status.status!r}, which layercheck does not know"
        return Replica(**where, status=ReplicaStatus.UNCHECKED, failureCode=STATUS_UNAVAILABLE, failureReason=reason)
    return _judged_at_destination(where, ask())


def _judged_at_destination(where: dict[str, str], answer: DestinationAnswer) -> Replica:
    if isinstance(answer, DestinationUnreadable):
        return Replica(**where, status=ReplicaStatus.UNCHECKED, failureCode=answer.code, failureReason=answer.reason)
    if isinstance(answer, DestinationLacks):
        return Replica(**where, status=ReplicaStatus.MISSING)
    missing = sorted({*answer.missing_layers, *answer.missing_manifests, *answer.archived_layers})
    if not missing:
        return Replica(**where, status=ReplicaStatus.COMPLETE)
    if answer.archived_layers:
        reason = f"{len(answer.archived_layers)} blob(s) archived at the destination: not pullable until restored"
        return Replica(
            **where,
            status=ReplicaStatus.BROKEN,
            missingLayers=missing,
            failureCode=ARCHIVED_AT_DESTINATION,
            failureReason=reason,
        )
    return Replica(**where, status=ReplicaStatus.BROKEN, missingLayers=missing)


def _judged_without_status(
    where: dict[str, str], answer: DestinationAnswer, grace: Grace, unavailable: StatusUnavailable
) -> Replica:
    judged = _judged_at_destination(where, answer)
    if judged.status is ReplicaStatus.UNCHECKED:
        return judged
    note = f"ECR's replication status could not be read ({unavailable.code}: {unavailable.reason})"
    if judged.status is not ReplicaStatus.COMPLETE and within_grace(grace.pushed_at, grace.now, grace.minutes):
        assert grace.pushed_at is not None  # within_grace says so
        minutes = int((grace.now - grace.pushed_at).total_seconds() // 60)
        note += f"; pushed {minutes} min ago, within the {grace.minutes}-minute replication grace"
        return Replica(**where, status=ReplicaStatus.PENDING, failureCode=STATUS_UNAVAILABLE, failureReason=note)
    note += "; judged at the destination alone"
    return judged.model_copy(update={"failureCode": STATUS_UNAVAILABLE, "failureReason": note})


def check_replicas(
    probe: ReplicaProbePort,
    destinations: Sequence[ReplicationDestination],
    repository_name: str,
    image: SourceImage,
    *,
    now: datetime,
    grace_minutes: int,
) -> list[Replica]:
    """One ``Replica`` per destination, in the destinations' order; ECR's status is asked once for the image."""
    if not destinations:
        return []
    ecr_says = probe.replication_status(repository_name, image)
    grace = Grace(image.pushed_at, now, grace_minutes)
    return [judge_replica(d, ecr_says, partial(probe.probe, d, repository_name, image), grace) for d in destinations]


def replicas_incomplete(replicas: Iterable[Replica]) -> int:
    """``ReplicasIncomplete``: BROKEN + MISSING + FAILED copies (PENDING, NOT_SCHEDULED, UNCHECKED are not counted)."""
    return sum(replica.status in INCOMPLETE_REPLICA_STATUSES for replica in replicas)
