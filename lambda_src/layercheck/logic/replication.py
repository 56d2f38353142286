"""Replicas verified at their destinations: where a repository replicates to, and whether each copy is whole there.

ECR's replication status says a copy was made, not that the destination can serve the image today (only new pushes
replicate, lifecycle rules act per Region, copies fail). So for every image of a source repository that a rule's
filters match, each destination (Region, registry) is asked: is the image there (by digest), and are all its blobs?

- ``ReplicationConfiguration.from_describe_registry(answer)`` reads DescribeRegistry's ``replicationConfiguration``.
- ``replication_destinations(config, ...)``: a rule without ``repositoryFilters`` replicates every repository; with
  filters, the repositories whose name starts with one of its ``PREFIX_MATCH`` filters. The source registry itself
  (same Region and registry) is never a destination; a destination named by two rules counts once.
- ``judge_replica``: the destination's answer → one ``Replica`` entry:
  ``COMPLETE`` (the digest and every blob are there), ``BROKEN`` (the digest is there, ``missingLayers`` are not),
  ``MISSING`` (the digest is not there), ``UNCHECKED`` (the destination could not be read: ``failureCode`` /
  ``failureReason`` say why).
- Replication is asynchronous. An image pushed less than ``REPLICATION_GRACE_MINUTES`` ago (0 = no grace) whose copy
  is not whole yet is ``UNCHECKED`` with ``failureCode`` ``ReplicationPending``, not MISSING or BROKEN: the entry is
  kept (one entry per destination, always, so a reader sees the destination exists and why it is not judged) and it
  does not count in ``ReplicasIncomplete``. A copy already whole is COMPLETE, grace or not. An image whose push time
  is unknown gets no grace.
- ``replicas_incomplete(replicas)`` is the ``ReplicasIncomplete`` metric: BROKEN + MISSING.

Wiring (phase B): the audit's repository work item reads the source registry's configuration once per container
(DescribeRegistry through ``RegistryClients.ecr(source)``, cached like pull-through rules), computes the
destinations of its repository and, after judging each source image, calls ``check_replicas`` with a
``ReplicaProbePort`` built on the destination registry's client. The probe should not pull: an identical digest is an
identical manifest, so the blobs to look for are the ones the source walk found; ``DescribeImages`` (the image and any
platform manifests of an index; ``ImageNotFoundException`` / ``RepositoryNotFoundException`` → ``DestinationLacks``)
and ``BatchCheckLayerAvailability`` (→ ``missing_layers``) answer without recording a pull at the destination. A
destination registry that cannot be read (``RegistryUnreadable``) → ``DestinationUnreadable``. The verdict's
``replicas`` is the list returned; the metric is ``replicas_incomplete``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from layercheck.models.replicas import Replica, ReplicaStatus

PREFIX_MATCH = "PREFIX_MATCH"  # the only RepositoryFilter.filterType ECR knows today
REPLICATION_PENDING = "ReplicationPending"

INCOMPLETE = frozenset({ReplicaStatus.BROKEN, ReplicaStatus.MISSING})


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
        filter can never make a repository look unreplicated (MISSING everywhere) by mistake."""
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


# -- judging one copy ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceImage:
    """The source image, as its own check found it: the blobs and platform manifests a whole copy must hold."""

    image_digest: str
    pushed_at: datetime | None
    blob_digests: tuple[str, ...] = ()
    manifest_digests: tuple[str, ...] = ()  # an index's platform manifests


@dataclass(frozen=True)
class DestinationHolds:
    """The destination has the digest; what it lacks of the image's blobs and platform manifests."""

    missing_layers: tuple[str, ...] = ()
    missing_manifests: tuple[str, ...] = ()


@dataclass(frozen=True)
class DestinationLacks:
    """The destination has no image with the digest (or no such repository)."""


@dataclass(frozen=True)
class DestinationUnreadable:
    code: str
    reason: str


DestinationAnswer = DestinationHolds | DestinationLacks | DestinationUnreadable


class ReplicaProbePort(Protocol):
    def probe(self, destination: ReplicationDestination, repository_name: str, image: SourceImage) -> DestinationAnswer:
        """What the destination holds of the image; never raises for the destination's own errors."""
        ...


def within_grace(pushed_at: datetime | None, now: datetime, grace_minutes: int) -> bool:
    return bool(grace_minutes) and pushed_at is not None and now - pushed_at < timedelta(minutes=grace_minutes)


def judge_replica(
    destination: ReplicationDestination,
    answer: DestinationAnswer,
    *,
    pushed_at: datetime | None,
    now: datetime,
    grace_minutes: int,
) -> Replica:
    where = {"region": destination.region, "registryId": destination.registryId}
    if isinstance(answer, DestinationUnreadable):
        return Replica(**where, status=ReplicaStatus.UNCHECKED, failureCode=answer.code, failureReason=answer.reason)
    missing: list[str] = []
    if isinstance(answer, DestinationHolds):
        missing = sorted({*answer.missing_layers, *answer.missing_manifests})
        if not missing:
            return Replica(**where, status=ReplicaStatus.COMPLETE)
    if within_grace(pushed_at, now, grace_minutes):
        assert pushed_at is not None  # within_grace says so
        minutes = int((now - pushed_at).total_seconds() // 60)
        reason = f"pushed {minutes} min ago, within the {grace_minutes}-minute replication grace"
        return Replica(**where, status=ReplicaStatus.UNCHECKED, failureCode=REPLICATION_PENDING, failureReason=reason)
    if isinstance(answer, DestinationLacks):
        return Replica(**where, status=ReplicaStatus.MISSING)
    return Replica(**where, status=ReplicaStatus.BROKEN, missingLayers=missing)


def check_replicas(
    probe: ReplicaProbePort,
    destinations: Sequence[ReplicationDestination],
    repository_name: str,
    image: SourceImage,
    *,
    now: datetime,
    grace_minutes: int,
) -> list[Replica]:
    """One ``Replica`` per destination, in the destinations' order."""
    return [
        judge_replica(
            destination,
            probe.probe(destination, repository_name, image),
            pushed_at=image.pushed_at,
            now=now,
            grace_minutes=grace_minutes,
        )
        for destination in destinations
    ]


def replicas_incomplete(replicas: Iterable[Replica]) -> int:
    """``ReplicasIncomplete``: BROKEN + MISSING copies (UNCHECKED ones, pending ones included, are not counted)."""
    return sum(replica.status in INCOMPLETE for replica in replicas)
