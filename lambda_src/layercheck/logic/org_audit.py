"""The organization-wide audit: every audited registry (``AUDIT_ACCOUNTS`` × ``AUDIT_REGIONS``), each on its own.

Three levels of work items keep every step short whatever the estate's size:
1. the schedule queues one ``RegistryWorkItem`` per registry (200 registries: 20 SendMessageBatch calls);
2. a registry item, with that registry's credentials (``RegistryServicesPort``): discovers the images in use in that
   account and Region (logic/in_use.py), reads its replication rules (DescribeRegistry), lists its repositories in
   scope and queues one ``RepositoryWorkItem`` each, carrying the repository's in-use images and replica
   destinations;
3. repository and image items are audited by that registry's ``AuditService`` (logic/audit.py).

A registry that cannot be read (its role cannot be assumed, access denied, Region not enabled) gives a
``RegistryUnreadable``: the door logs and counts it and the item succeeds, so SQS does not retry it (no retry storm)
and the other registries go on. Errors that may pass (throttling, 5xx) still raise, for SQS to retry the item.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from layercheck.errors import (
    LayercheckError,
    RepositoryCheckError,
    raise_if_transient,
)
from layercheck.logic.audit import AuditService, RepositoryAudited
from layercheck.logic.audit_scope import SEND_CHUNK, WorkQueuePort, in_scope
from layercheck.logic.image_check import ImageCheckOutcome
from layercheck.logic.in_use import (
    InUseReferences,
    InUseSource,
    RegistryRef,
    SourceFailure,
    TagResolverPort,
    discover_in_use,
)
from layercheck.logic.inventory import workload_entry
from layercheck.logic.registries import Registry, RegistryUnreadable, audited_registry_rule
from layercheck.logic.replication import ReplicationConfiguration, ReplicationDestination, replication_destinations
from layercheck.models.audit import (
    AuditScope,
    ImagesWorkItem,
    RegistryWorkItem,
    ReplicaDestination,
    RepositoryWorkItem,
)
from layercheck.models.in_use import InUseReference, InventoryEntry
from layercheck.models.stored import utc_now

__all__ = ["OrganizationAudit", "RegistryServices", "audited_registry_rule"]

# Repositories whose in-use references are stored at once by a registry's audit.
HAND_OVER_WORKERS = 8


class ReplicationRulesPort(Protocol):
    def replication_configuration(self) -> ReplicationConfiguration:
        """The registry's rules (DescribeRegistry); raises ``RepositoryCheckError``."""
        ...


class InventoryWriterPort(Protocol):
    def put_entries(self, entries: Sequence[InventoryEntry]) -> int:
        """Store every entry (refreshing its TTL); raises ``ResultsNotStoredError``."""
        ...


@dataclass(frozen=True)
class RegistryServices:
    """What the audit needs of one registry, built with that registry's account credentials and Region;
    ``in_use_sources``: where its ``usedBy`` comes from, read in this order."""

    audit: AuditService
    replication: ReplicationRulesPort
    tags: TagResolverPort
    in_use_sources: tuple[InUseSource, ...] = ()


class RegistryServicesPort(Protocol):
    def for_registry(self, registry: Registry) -> RegistryServices | RegistryUnreadable:
        """The registry's services (made once per container), or why the registry cannot be read."""
        ...

    def unreadable(
        self, registry: Registry, error: RepositoryCheckError, *, registry_wide: bool
    ) -> RegistryUnreadable | None:
        """Whether an error met on the registry makes the whole registry unreadable (remembered for the rest of the
        invocation), else None. ``registry_wide``: the error came from a registry-wide call (DescribeRepositories,
        DescribeRegistry), where an AccessDeniedException means the reader role cannot read the registry at all; on
        one repository it is that repository's failure."""
        ...


@dataclass(frozen=True)
class OrganizationAuditStarted:
    audit_id: str
    registries: int


@dataclass(frozen=True)
class RegistryAudited:
    """``outside_prefixes``: repositories outside the audit's prefixes that workloads run images of (not checked by
    this audit, logged); ``named_not_held``: repositories the registry does not hold that workloads still name (each
    still gets its repository item, which keeps their images MISSING)."""

    registry: Registry
    repositories: int = 0
    in_use_references: int = 0
    source_failures: tuple[SourceFailure, ...] = ()
    replicated_repositories: int = 0
    unreadable: RegistryUnreadable | None = None
    outside_prefixes: tuple[str, ...] = ()
    named_not_held: tuple[str, ...] = ()
    # workloads here on images of other audited registries, reported to those registries' inventories
    reported_elsewhere: int = 0
    not_reported_elsewhere: str | None = None  # why the report could not be stored


@dataclass
class OrganizationAudit:
    """``inventory`` and ``is_audited``: where and whether to report workloads running images of other audited
    registries (both None: such images are ignored). A report reaches the other registry's audit through its inventory
    (``usedBy`` kept): the same audit if that registry's item runs later, else the next one; so cross-registry usage is
    attributed at the latest one audit later, and kept ``inventory_ttl_hours`` (audits must run more often)."""

    registries: RegistryServicesPort
    queue: WorkQueuePort
    inventory: InventoryWriterPort | None = None
    is_audited: Callable[[RegistryRef], bool] | None = None
    inventory_ttl_hours: int = 48
    clock: Callable[[], datetime] = field(default=utc_now)

    def start(self, audit_id: str, scope: AuditScope, registries: Sequence[Registry]) -> OrganizationAuditStarted:
        """Queue one registry item per audited registry: the start stays short however many registries there are."""
        items = [
            RegistryWorkItem(
                auditId=audit_id,
                registryId=registry.account_id,
                region=registry.region,
                repositoryPrefixes=list(scope.repositoryPrefixes),
                taggedOnly=scope.taggedOnly,
                newestImages=scope.newestImages,
            )
            for registry in registries
        ]
        queued = sum(self.queue.send_work_items(items[i : i + SEND_CHUNK]) for i in range(0, len(items), SEND_CHUNK))
        return OrganizationAuditStarted(audit_id=audit_id, registries=queued)

    def audit_registry(self, item: RegistryWorkItem) -> RegistryAudited:
        """Discover who runs what here, hand each repository its references, and queue one item per repository in
        scope (and per repository the workloads name that the registry no longer holds). No ECR call per reference:
        however many images the sources name, this item finishes in bounded time."""
        registry = Registry(account_id=item.registryId, region=item.region)
        services = self.registries.for_registry(registry)
        if isinstance(services, RegistryUnreadable):
            return RegistryAudited(registry, unreadable=services)
        try:
            rules = services.replication.replication_configuration()
            listed = [r.repository_name for r in services.audit.catalog.list_repositories(item.registryId)]
        except RepositoryCheckError as error:
            unreadable = self._unreadable_or_raise(registry, "(registry)", error, registry_wide=True)
            return RegistryAudited(registry, unreadable=unreadable)
        observed_at = self.clock()
        found = self._discover(services, RegistryRef(item.registryId, item.region))
        reported, not_reported = self._report_elsewhere(found)
        outside = sorted(name for name in found.by_repository if not in_scope(name, item.repositoryPrefixes))
        named_not_held = sorted(set(found.by_repository) - set(listed) - set(outside))
        repositories = [name for name in listed if in_scope(name, item.repositoryPrefixes)] + named_not_held
        chunks = self._hand_over(services, item, found.by_repository, set(repositories), observed_at)
        queued = 0
        replicated = 0
        for start in range(0, len(repositories), SEND_CHUNK):
            pending = []
            for name in repositories[start : start + SEND_CHUNK]:
                destinations = replication_destinations(
                    rules, source_registry_id=item.registryId, source_region=item.region, repository_name=name
                )
                replicated += bool(destinations)
                pending.append(_repository_item(item, name, destinations, chunks.get(name, 0), observed_at))
            queued += self.queue.send_work_items(pending)
        return RegistryAudited(
            registry,
            repositories=queued,
            in_use_references=found.count,
            source_failures=tuple(found.failures),
            replicated_repositories=replicated,
            outside_prefixes=tuple(outside),
            named_not_held=tuple(named_not_held),
            reported_elsewhere=reported,
            not_reported_elsewhere=not_reported,
        )

    def _discover(self, services: RegistryServices, here: RegistryRef) -> InUseReferences:
        is_audited = self.is_audited if self.inventory is not None else None
        return discover_in_use(
            here,
            services.in_use_sources,
            elsewhere=None if is_audited is None else (lambda other: other != here and is_audited(other)),
        )

    @staticmethod
    def _hand_over(
        services: RegistryServices,
        item: RegistryWorkItem,
        by_repository: dict[str, list[InUseReference]],
        audited: set[str],
        observed_at: datetime,
    ) -> dict[str, int]:
        """Store each audited repository's references for its item; returns the chunks each item must read."""
        store = services.audit.in_use_references
        named = [name for name in by_repository if name in audited]
        if store is None or not named:
            return {}

        def put(name: str) -> int:
            return store.put_references(
                item.auditId, item.registryId, item.region, name, by_repository[name], now=observed_at
            )

        with ThreadPoolExecutor(max_workers=min(HAND_OVER_WORKERS, len(named)), thread_name_prefix="in-use") as pool:
            return dict(zip(named, pool.map(put, named), strict=True))

    def _report_elsewhere(self, in_use: InUseReferences) -> tuple[int, str | None]:
        """Workloads here on other audited registries' images, as inventory entries of those registries."""
        if self.inventory is None or not in_use.elsewhere:
            return 0, None
        now = self.clock()
        entries = [
            workload_entry(uri, used_by, reported_at=now, ttl_hours=self.inventory_ttl_hours)
            for uri, used_by in in_use.elsewhere
        ]
        try:
            return self.inventory.put_entries(entries), None
        except LayercheckError as error:  # the registry's own audit goes on; the door logs what was not reported
            return 0, str(error)

    def audit_repository(self, item: RepositoryWorkItem) -> RepositoryAudited | RegistryUnreadable:
        registry = _registry_of(item)
        services = self.registries.for_registry(registry)
        if isinstance(services, RegistryUnreadable):
            return services
        try:
            return services.audit.audit_repository(item)
        except RepositoryCheckError as error:
            # On one repository only a registry-level cause (credentials, Region) makes the registry unreadable; an
            # AccessDenied of that repository's policy is that repository's: its in-use images get their verdicts.
            unreadable = self.registries.unreadable(registry, error, registry_wide=False)
            if unreadable is not None:
                return unreadable
            raise_if_transient(error, item.repositoryName)
            return services.audit.audit_unlisted_repository(item, error)

    def audit_images(self, item: ImagesWorkItem) -> ImageCheckOutcome | RegistryUnreadable:
        registry = _registry_of(item)
        services = self.registries.for_registry(registry)
        if isinstance(services, RegistryUnreadable):
            return services
        return services.audit.audit_images(item)

    def _unreadable_or_raise(
        self, registry: Registry, what: str, error: RepositoryCheckError, *, registry_wide: bool
    ) -> RegistryUnreadable:
        """Unreadable first: a Region without an endpoint (``EndpointConnectionError`` after botocore's retries) is
        reported, not retried by SQS until the dead-letter queue; throttling and 5xx are retried."""
        unreadable = self.registries.unreadable(registry, error, registry_wide=registry_wide)
        if unreadable is not None:
            return unreadable
        raise_if_transient(error, what)
        raise error


def _repository_item(
    item: RegistryWorkItem,
    name: str,
    destinations: Sequence[ReplicationDestination],
    chunks: int,
    observed_at: datetime,
) -> RepositoryWorkItem:
    return RepositoryWorkItem(
        auditId=item.auditId,
        registryId=item.registryId,
        region=item.region,
        repositoryName=name,
        taggedOnly=item.taggedOnly,
        newestImages=item.newestImages,
        replicaDestinations=[ReplicaDestination(region=d.region, registryId=d.registryId) for d in destinations],
        inUseChunks=chunks,
        inUseObservedAt=observed_at,
    )


def _registry_of(item: RepositoryWorkItem | ImagesWorkItem) -> Registry:
    """The item's registry. Its Region is resolved at the queue door (an item queued before items carried one is the
    function's own Region's): an item without one here is a fault, not a guess."""
    if item.region is None:
        raise ValueError(f"work item of {item.registryId}/{item.repositoryName} has no Region")
    return Registry(account_id=item.registryId, region=item.region)
