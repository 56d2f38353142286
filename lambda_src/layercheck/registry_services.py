"""Every registry's services, made once per container: its ECR adapter (with that registry's rate limiter), layer and
image checks, lifecycle previews, audit and in-use sources, over the clients ``RegistryClients`` gives per
(account, Region). The function's own registry is one of them, read with the function's own role.

Composition glue beside ``dependencies.py``, which builds the one instance with what it needs injected (so this
module never imports the composition root back). The audit queue and the inventory come as factories, called only
when a registry's audit services are first needed: the API function has no audit queue. What only the audit uses is
imported when first needed, so a check's cold start does not load it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from layercheck.integrations.ecr import EcrRegistry
from layercheck.logic.layer_check import LayerCheckService
from layercheck.logic.registries import RegistryUnreadable

T = TypeVar("T")

if TYPE_CHECKING:
    from layercheck.errors import RepositoryCheckError
    from layercheck.integrations.ecr_lifecycle import EcrLifecycle
    from layercheck.integrations.ecr_replication import EcrReplicationStatus
    from layercheck.integrations.inventory_store import InventoryStore
    from layercheck.integrations.sessions import RegistryClients
    from layercheck.logic.audit import InUseReferencesPort
    from layercheck.logic.audit_scope import WorkQueuePort
    from layercheck.logic.image_check import ImageCheckService
    from layercheck.logic.in_use import InUseSource, InUseSourceFactory
    from layercheck.logic.lifecycle_guard import InvocationTime
    from layercheck.logic.org_audit import RegistryServices
    from layercheck.logic.ratelimit import RegistryRateLimiters
    from layercheck.logic.registries import Registry
    from layercheck.logic.replication import ReplicationDestination


def readable(answer: T | RegistryUnreadable) -> T:
    """A part of a registry already found readable in this invocation (the home registry, read with the function's
    own role; a registry a door has just resolved): unreadable now would be a fault, not an answer."""
    if isinstance(answer, RegistryUnreadable):
        raise RuntimeError(f"registry {answer.account_id} in {answer.region} cannot be read: {answer.code}")
    return answer


@dataclass(frozen=True)
class ServedRegistry:
    """A registry a request may read, resolved once at the door (``Services.serve``): its ECR adapter and the
    services over it, as made for every registry (the function's own is one of them)."""

    registry: Registry
    ecr: EcrRegistry
    layer_checks: Callable[[], LayerCheckService]
    image_checks: Callable[[], ImageCheckService]
    lifecycle: Callable[[], EcrLifecycle | RegistryUnreadable]

    @property
    def region(self) -> str:
        return self.registry.region


class Registries:
    """``RegistryServicesPort`` and ``replica_probe.DestinationsPort`` over ``RegistryClients``: each audited registry's
    ECR adapter (with that registry's rate limiter), image checks, audit and in-use sources, made once per container."""

    def __init__(
        self,
        clients: RegistryClients,
        limiters: RegistryRateLimiters,
        *,
        queue: Callable[[], WorkQueuePort],
        inventory: Callable[[], InventoryStore],
        in_use_sources: Callable[[], Sequence[InUseSourceFactory]],
        in_use_references: Callable[[], InUseReferencesPort],
        image_checks: Callable[[EcrRegistry, str], ImageCheckService],
        layer_checks: Callable[[EcrRegistry, str], LayerCheckService],
        replication_grace_minutes: int,
    ) -> None:
        self._clients = clients
        self._limiters = limiters
        self._queue = queue
        self._inventory = inventory
        self._in_use_sources = in_use_sources
        self._in_use_references = in_use_references
        self._image_checks = image_checks
        self._layer_checks = layer_checks
        self._replication_grace_minutes = replication_grace_minutes
        self._lock = threading.Lock()
        self._ecr: dict[Registry, EcrRegistry] = {}
        self._replication_status: dict[Registry, EcrReplicationStatus] = {}
        self._services: dict[Registry, RegistryServices] = {}
        self._image_checks_made: dict[Registry, ImageCheckService] = {}
        self._layer_checks_made: dict[Registry, LayerCheckService] = {}

    @functools.cached_property
    def invocation(self) -> InvocationTime:
        """The worker's current invocation's time left (its queue door starts it): bounds the lifecycle previews."""
        from layercheck.logic.lifecycle_guard import InvocationTime

        return InvocationTime()

    def ecr(self, registry: Registry) -> EcrRegistry | RegistryUnreadable:
        client = self._clients.ecr(registry)
        if isinstance(client, RegistryUnreadable):
            return client
        with self._lock:
            if registry not in self._ecr:
                limiter = self._limiters.for_registry(registry.account_id, registry.region)
                self._ecr[registry] = EcrRegistry(client, rate_limiter=limiter)
            return self._ecr[registry]

    def image_checks(self, registry: Registry) -> ImageCheckService | RegistryUnreadable:
        """Image checks over the registry's ECR adapter, made once per registry."""
        adapter = self.ecr(registry)
        if isinstance(adapter, RegistryUnreadable):
            return adapter
        return self._made(self._image_checks_made, registry, lambda: self._image_checks(adapter, registry.region))

    def layer_checks(self, registry: Registry) -> LayerCheckService | RegistryUnreadable:
        """Layer checks over the registry's ECR adapter, made once per registry."""
        adapter = self.ecr(registry)
        if isinstance(adapter, RegistryUnreadable):
            return adapter
        return self._made(self._layer_checks_made, registry, lambda: self._layer_checks(adapter, registry.region))

    def _made(self, made: dict[Registry, T], registry: Registry, make: Callable[[], T]) -> T:
        with self._lock:
            if registry in made:
                return made[registry]
        service = make()  # outside the lock: making one may make clients, and other threads read other registries
        with self._lock:
            return made.setdefault(registry, service)

    def lifecycle(self, registry: Registry) -> EcrLifecycle | RegistryUnreadable:
        """Lifecycle previews of one registry, over its client and with its rate limiter (made per call: it keeps
        nothing but the two)."""
        from layercheck.integrations.ecr_lifecycle import EcrLifecycle

        client = self._clients.ecr(registry)
        if isinstance(client, RegistryUnreadable):
            return client
        return EcrLifecycle(client, rate_limiter=self._limiters.for_registry(registry.account_id, registry.region))

    def reader(self, destination: ReplicationDestination) -> EcrRegistry | RegistryUnreadable:
        from layercheck.logic.registries import Registry

        return self.ecr(Registry(account_id=destination.registryId, region=destination.region))

    def replication_status(self, source: Registry) -> EcrReplicationStatus | RegistryUnreadable:
        """The source registry's ``DescribeImageReplicationStatus``, on its ECR client and rate limiter."""
        from layercheck.integrations.ecr_replication import EcrReplicationStatus

        client = self._clients.ecr(source)
        if isinstance(client, RegistryUnreadable):
            return client
        with self._lock:
            if source not in self._replication_status:
                limiter = self._limiters.for_registry(source.account_id, source.region)
                self._replication_status[source] = EcrReplicationStatus(client, rate_limiter=limiter)
            return self._replication_status[source]

    def for_registry(self, registry: Registry) -> RegistryServices | RegistryUnreadable:
        """The registry's audit services, made once per registry (its ECR adapter, image checks, lifecycle previews,
        in-use sources), or why the registry cannot be read."""
        from layercheck.logic.audit import AuditService
        from layercheck.logic.lifecycle_guard import LifecycleGuard
        from layercheck.logic.org_audit import RegistryServices

        with self._lock:
            if registry in self._services:
                return self._services[registry]
        ecr_adapter = self.ecr(registry)
        if isinstance(ecr_adapter, RegistryUnreadable):
            return ecr_adapter
        images = self.image_checks(registry)
        if isinstance(images, RegistryUnreadable):
            return images
        lifecycle = self.lifecycle(registry)
        if isinstance(lifecycle, RegistryUnreadable):
            return lifecycle
        sources = self._in_use_sources_of(registry)
        if isinstance(sources, RegistryUnreadable):
            return sources
        services = RegistryServices(
            audit=AuditService(
                catalog=ecr_adapter,
                queue=self._queue(),
                images=images,
                region=registry.region,
                destinations=self,
                replication_grace_minutes=self._replication_grace_minutes,
                in_use_references=self._in_use_references(),
                tags=ecr_adapter,
                lifecycle=LifecycleGuard(lifecycle, invocation=self.invocation),
            ),
            replication=ecr_adapter,
            tags=ecr_adapter,
            in_use_sources=sources,
        )
        with self._lock:
            return self._services.setdefault(registry, services)

    def _in_use_sources_of(self, registry: Registry) -> tuple[InUseSource, ...] | RegistryUnreadable:
        """The in-use sources the root's factories make for the registry, over its clients and the inventory; the
        registry is unreadable when a client a source needs cannot be made (its reader role cannot be assumed ...)."""
        from layercheck.logic.in_use import RegistryRef, SourceReach, sources_for

        def client(service_name: str) -> Any:
            answer = self._clients.client(service_name, registry)
            if isinstance(answer, RegistryUnreadable):
                raise _ClientUnavailableError(answer)
            return answer

        reach = SourceReach(RegistryRef(registry.account_id, registry.region), client, self._inventory())
        try:
            return sources_for(reach, self._in_use_sources())
        except _ClientUnavailableError as unavailable:
            return unavailable.unreadable

    def unreadable(
        self, registry: Registry, error: RepositoryCheckError, *, registry_wide: bool
    ) -> RegistryUnreadable | None:
        from botocore.exceptions import ClientError

        # RegistryClients classifies AWS's errors (integrations/sessions.py); the adapter kept only code and message.
        aws_error = ClientError({"Error": {"Code": error.code, "Message": error.message}}, "DescribeRepositories")
        return self._clients.note_failure(registry, aws_error, registry_wide=registry_wide)


class _ClientUnavailableError(Exception):
    """A source's factory asked for a client of a registry that cannot be read (carries why)."""

    def __init__(self, unreadable: RegistryUnreadable) -> None:
        super().__init__(unreadable.reason)
        self.unreadable = unreadable
