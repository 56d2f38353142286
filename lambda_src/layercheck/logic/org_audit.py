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

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from layercheck.errors import LayercheckError, RepositoryCheckError, TransientCheckError, is_transient
from layercheck.logic.audit import SEND_CHUNK, AuditService, RepositoryAudited, WorkQueuePort, in_scope, packed
from layercheck.logic.image_check import ImageCheckOutcome
from layercheck.logic.in_use import (
    EcsPort,
    InUseImages,
    InventoryPort,
    LambdaPort,
    RegistryRef,
    SourceFailure,
    TagResolverPort,
    UnresolvedImage,
    discover_in_use,
    image_gone,
)
from layercheck.logic.inventory import workload_entry
from layercheck.logic.registries import AccountSelection, Registry, RegistryUnreadable
from layercheck.logic.replication import ReplicationConfiguration, replication_destinations
from layercheck.models.audit import (
    AuditImage,
    AuditScope,
    ImagesWorkItem,
    RegistryWorkItem,
    ReplicaDestination,
    RepositoryWorkItem,
)
from layercheck.models.in_use import InUseImage, InventoryEntry, UsedBy
from layercheck.models.stored import utc_now


class ReplicationRulesPort(Protocol):
    def replication_configuration(self) -> ReplicationConfiguration:
        """The registry's rules (DescribeRegistry); raises ``RepositoryCheckError``."""
        ...


class InventoryWriterPort(Protocol):
    def put_entries(self, entries: Sequence[InventoryEntry]) -> int:
        """Store every entry (refreshing its TTL); raises ``ResultsNotStoredError``."""
        ...


def audited_registry_rule(
    selection: AccountSelection, regions: Sequence[str], own_account: str
) -> Callable[[RegistryRef], bool]:
    """Whether a registry is audited (``AUDIT_ACCOUNTS`` × ``AUDIT_REGIONS``), without asking Organizations: with
    ``organization`` every account of an audited Region counts (an entry for an account the audit does not cover is
    never read and expires)."""
    accounts = frozenset(selection.accounts or (own_account,))
    audited_regions = frozenset(regions)

    def audited(registry: RegistryRef) -> bool:
        return registry.region in audited_regions and (selection.organization or registry.registry_id in accounts)

    return audited


@dataclass(frozen=True)
class RegistryServices:
    """What the audit needs of one registry, built with that registry's account credentials and Region."""

    audit: AuditService
    replication: ReplicationRulesPort
    tags: TagResolverPort
    ecs: EcsPort | None = None
    lambda_functions: LambdaPort | None = None
    inventory: InventoryPort | None = None


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
class InUseEntry:
    """An image in use that no repository item of this audit checks (see ``RegistryAudited``)."""

    image: InUseImage
    used_by: tuple[UsedBy, ...]


@dataclass(frozen=True)
class RegistryAudited:
    """``unresolved``: tags in use ECR could not resolve; ``in_deleted_repositories``: digests in use in repositories
    the registry no longer holds; ``outside_prefixes``: images in use in repositories outside the audit's prefixes
    (not checked by this audit, logged)."""

    registry: Registry
    repositories: int = 0
    in_use_images: int = 0
    unresolved: tuple[UnresolvedImage, ...] = ()
    source_failures: tuple[SourceFailure, ...] = ()
    replicated_repositories: int = 0
    unreadable: RegistryUnreadable | None = None
    in_deleted_repositories: tuple[InUseEntry, ...] = ()
    outside_prefixes: tuple[InUseEntry, ...] = ()
    # workloads here on images of other audited registries, reported to those registries' inventories
    reported_elsewhere: int = 0
    not_reported_elsewhere: str | None = None  # why the report could not be stored
    # images in use beyond what one repository item can carry within SQS's 256 KiB: not checked first, logged
    in_use_not_carried: tuple[InUseEntry, ...] = ()

    @property
    def in_use_gone(self) -> int:
        """Images in use that can no longer be pulled because they are gone (counted in ``InUseImagesBroken``)."""
        return sum(image_gone(u.code) for u in self.unresolved) + len(self.in_deleted_repositories)


@dataclass
class OrganizationAudit:
    """``inventory`` and ``is_audited``: where and whether to report workloads running images of other audited
    registries (both None: such images are ignored). A report reaches the other registry's audit through its inventory
    (``usedBy`` kept): the same audit if that registry's item runs later, else the next one; so cross-registry usage is
    attributed at the latest one audit later, and kept ``inventory_ttl_hours`` (audits must run more often)."""

    registries: RegistryServicesPort
    queue: WorkQueuePort
    home_region: str
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
        repositories = [name for name in listed if in_scope(name, item.repositoryPrefixes)]
        here = RegistryRef(item.registryId, item.region)
        is_audited = self.is_audited if self.inventory is not None else None
        in_use = discover_in_use(
            here,
            ecs=services.ecs,
            lambda_functions=services.lambda_functions,
            inventory=services.inventory,
            tags=services.tags,
            elsewhere=None if is_audited is None else (lambda other: other != here and is_audited(other)),
        )
        reported, not_reported = self._report_elsewhere(in_use)
        carried, not_carried = _bounded_in_use(_in_use_by_repository(in_use), here)
        replicated = 0
        pending: list[RepositoryWorkItem] = []
        queued = 0
        for name in repositories:
            destinations = replication_destinations(
                rules, source_registry_id=item.registryId, source_region=item.region, repository_name=name
            )
            replicated += bool(destinations)
            pending.append(
                RepositoryWorkItem(
                    auditId=item.auditId,
                    registryId=item.registryId,
                    region=item.region,
                    repositoryName=name,
                    taggedOnly=item.taggedOnly,
                    newestImages=item.newestImages,
                    inUse=carried.get(name, []),
                    replicaDestinations=[
                        ReplicaDestination(region=d.region, registryId=d.registryId) for d in destinations
                    ],
                )
            )
            if len(pending) >= SEND_CHUNK:
                queued += self.queue.send_work_items(pending)
                pending = []
        if pending:
            queued += self.queue.send_work_items(pending)
        held = frozenset(listed)
        unchecked = [
            InUseEntry(image, tuple(used_by))
            for image, used_by in sorted(in_use.images.items())
            if image.repositoryName not in repositories
        ]
        return RegistryAudited(
            registry,
            repositories=queued,
            in_use_images=len(in_use.images),
            unresolved=tuple(in_use.unresolved),
            source_failures=tuple(in_use.failures),
            replicated_repositories=replicated,
            in_deleted_repositories=tuple(e for e in unchecked if e.image.repositoryName not in held),
            outside_prefixes=tuple(e for e in unchecked if e.image.repositoryName in held),
            reported_elsewhere=reported,
            not_reported_elsewhere=not_reported,
            in_use_not_carried=tuple(not_carried),
        )

    def _report_elsewhere(self, in_use: InUseImages) -> tuple[int, str | None]:
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
        registry = Registry(account_id=item.registryId, region=item.region or self.home_region)
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
            if is_transient(error.code):
                raise TransientCheckError(item.repositoryName, [error.code]) from error
            return services.audit.audit_unlisted_repository(item, error)

    def audit_images(self, item: ImagesWorkItem) -> ImageCheckOutcome | RegistryUnreadable:
        registry = Registry(account_id=item.registryId, region=item.region or self.home_region)
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
        if is_transient(error.code):
            raise TransientCheckError(what, [error.code]) from error
        raise error


def _in_use_by_repository(in_use: InUseImages) -> dict[str, list[AuditImage]]:
    """The work item's ``inUse`` entries, by repository name, in a stable order (digest)."""
    grouped: dict[str, list[AuditImage]] = defaultdict(list)
    for image, used_by in sorted(in_use.images.items()):
        grouped[image.repositoryName].append(AuditImage(imageDigest=image.imageDigest, usedBy=list(used_by)))
    return dict(grouped)


def _bounded_in_use(
    by_repository: dict[str, list[AuditImage]], registry: RegistryRef
) -> tuple[dict[str, list[AuditImage]], list[InUseEntry]]:
    """Each repository item carries the in-use images that fit its message (SQS: 256 KiB; about a thousand images with
    one user each); the rest are returned to be logged (cap + log: a second item checking them would race the
    repository item's verdicts, which say nobody runs them)."""
    carried: dict[str, list[AuditImage]] = {}
    dropped: list[InUseEntry] = []
    for name, images in by_repository.items():
        first, *rest = packed(images, max_count=len(images))
        carried[name] = first
        dropped.extend(
            InUseEntry(InUseImage(*registry, name, image.imageDigest), tuple(image.usedBy))
            for group in rest
            for image in group
        )
    return carried, dropped
