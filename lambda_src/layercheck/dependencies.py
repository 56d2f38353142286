"""Composition root: the concrete integrations behind the ports, built once per container from the settings.

Doors are handed one ``Services`` value (:func:`services`, one per own account and container): the REST resolver
carries it in its context, the event doors take it as a parameter. Every registry, the function's own included, is
reached the same way: ``Services.registries`` (registry_services.py), with that registry's client and rate limiter.
Each part is made when first asked for, so an API cold start builds only what its route uses, and a test hands a door
``Services(own_account, part=fake, ...)``.

It owns every cache of the function (clients, services, the idempotency configuration): nothing else memoises, and a
test's reset is one loop over ``CACHED``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from layercheck.contracts import environment as env
from layercheck.errors import MissingConfigurationError
from layercheck.logic.registries import Registry, RegistryLocation, RegistryUnreadable
from layercheck.settings import Settings, load_settings
from layercheck.startup import collector_paused, part

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from layercheck.integrations.audit_queue import AuditQueue
    from layercheck.integrations.ecr import EcrRegistry
    from layercheck.integrations.event_bus import EventBus
    from layercheck.integrations.image_writes import ImageVerdictWrites
    from layercheck.integrations.in_use_references import InUseReferenceStore
    from layercheck.integrations.inventory_store import InventoryStore
    from layercheck.integrations.manifest_store import ManifestStore
    from layercheck.integrations.organizations import OrganizationsAccounts
    from layercheck.integrations.results_table import ResultsTable
    from layercheck.integrations.sessions import RegistryClients
    from layercheck.logic.deletion import DeletionService
    from layercheck.logic.image_check import ImageCheckService
    from layercheck.logic.in_use import InUseSourceFactory
    from layercheck.logic.layer_check import LayerCheckService
    from layercheck.logic.org_audit import OrganizationAudit
    from layercheck.logic.push import PushCheckService
    from layercheck.registry_services import Registries, ServedRegistry

T = TypeVar("T")

CACHED: list[functools._lru_cache_wrapper[Any]] = [load_settings]


def cached(factory: Callable[[], T]) -> Callable[[], T]:
    """``functools.cache``, registered so that :func:`reset` forgets it. What it builds lives as long as the container,
    so it is built with the cyclic collector paused (startup.py)."""

    @functools.wraps(factory)
    def build() -> T:
        with collector_paused():
            return factory()

    wrapper = functools.cache(build)
    CACHED.append(wrapper)
    return wrapper


@cached
def dynamodb_client() -> DynamoDBClient:
    """The container's DynamoDB client: the results table's stores and the idempotency records share it."""
    from layercheck.integrations import results_table

    return results_table.new_client()


class Services:
    """What the doors use, for a function of one account: every part made when first asked for, then kept.

    ``Services(own_account, name=value, ...)`` gives parts ready-made (tests give fakes); a name that is not a part is
    refused, so a typo never leaves the real part in place."""

    def __init__(self, own_account: str, **given: Any) -> None:
        unknown = sorted(name for name in given if not isinstance(getattr(Services, name, None), part))
        if unknown:
            raise TypeError(f"not parts of Services: {', '.join(unknown)}")
        self.own_account = own_account
        self.__dict__.update(given)

    # -- configuration ----------------------------------------------------------------------------------------------

    @part
    def settings(self) -> Settings:
        return load_settings()

    @part
    def audited_regions(self) -> tuple[str, ...]:
        """``AUDIT_REGIONS``, or the function's own Region: parsed once."""
        return self.settings.audited_regions()

    @part
    def is_audited(self) -> Callable[[RegistryLocation], bool]:
        """The one rule for "audited" (``AUDIT_ACCOUNTS`` × ``AUDIT_REGIONS``): the audit's and POST /inventory's."""
        return self.settings.is_audited(self.own_account)

    @part
    def ecr_regions(self) -> frozenset[str]:
        from layercheck.integrations.sessions import ecr_regions

        return ecr_regions(self.settings.home_region())

    # -- registries: the one way to reach one, the home registry included ------------------------------------------

    @part
    def registry_clients(self) -> RegistryClients:
        """Sessions (assumed roles) and clients per (account, Region), failures per invocation."""
        from layercheck.integrations.sessions import RegistryClients, own_session
        from layercheck.observability import current_invocation

        return RegistryClients(
            own_account_id=self.own_account,
            own_session=own_session(),
            role_name=self.settings.reader_role_name,
            invocation=current_invocation,  # session names: <function name>@<request id>
            external_id=self.settings.reader_external_id,
        )

    @part
    def registries(self) -> Registries:
        from layercheck.logic.ratelimit import RegistryRateLimiters
        from layercheck.registry_services import Registries

        return Registries(
            self.registry_clients,
            RegistryRateLimiters(self.settings.ecr_max_calls_per_second),
            queue=lambda: self.audit_queue,
            inventory=lambda: self.inventory,
            in_use_sources=in_use_sources,  # imported when the audit first needs them
            in_use_references=lambda: self.in_use_references,
            image_checks=self._image_checks,
            layer_checks=self._layer_checks,
            replication_grace_minutes=self.settings.replication_grace_minutes,
        )

    def _layer_checks(self, registry: EcrRegistry, region: str) -> LayerCheckService:
        from layercheck.logic.layer_check import LayerCheckService

        return LayerCheckService(
            registry=registry,
            store=self.results,
            ttl_days=self.settings.results_ttl_days,
            workers=self.settings.check_workers,
            region=region,
        )

    def _image_checks(self, registry: EcrRegistry, region: str) -> ImageCheckService:
        from layercheck.logic.image_check import ImageCheckService

        return ImageCheckService(
            registry=registry,
            manifests=registry,
            store=self.results,
            ttl_days=self.settings.results_ttl_days,
            workers=self.settings.check_workers,
            pull_through=registry,
            region=region,
            image_store=self.image_writes,
            events=self.event_bus,
            manifest_memory=self.manifest_memory,
        )

    @part
    def serve(self) -> Callable[[str, str], ServedRegistry | RegistryUnreadable]:
        """The one way a door reaches a registry (``registry id``, ``region`` resolved at the edge): this account's
        through the function's own role, any other account through its reader role, each with its own rate limiter.
        A registry found unreadable stays so until the door starts the next invocation
        (``registry_clients.start_invocation()``)."""
        return self._serve

    def _serve(self, registry_id: str, region: str) -> ServedRegistry | RegistryUnreadable:
        from layercheck.registry_services import ServedRegistry, readable

        registry = Registry(account_id=registry_id, region=region)
        adapter = self.registries.ecr(registry)
        if isinstance(adapter, RegistryUnreadable):
            return adapter
        return ServedRegistry(
            registry,
            adapter,
            layer_checks=lambda: readable(self.registries.layer_checks(registry)),
            image_checks=lambda: readable(self.registries.image_checks(registry)),
            lifecycle=lambda: readable(self.registries.lifecycle(registry)),
        )

    # -- the results table and its stores (one table, one client) --------------------------------------------------

    @part
    def results(self) -> ResultsTable:
        from layercheck.integrations.results_table import ResultsTable

        return ResultsTable(
            self.settings.results_table_name, dynamodb_client(), home_region=self.settings.home_region()
        )

    @part
    def image_writes(self) -> ImageVerdictWrites:
        from layercheck.integrations.image_writes import ImageVerdictWrites

        return ImageVerdictWrites(
            self.settings.results_table_name, dynamodb_client(), home_region=self.settings.home_region()
        )

    @part
    def manifest_memory(self) -> ManifestStore:
        from layercheck.integrations.manifest_store import ManifestStore

        return ManifestStore(self.settings.results_table_name, dynamodb_client())

    @part
    def in_use_references(self) -> InUseReferenceStore:
        from layercheck.integrations.in_use_references import InUseReferenceStore

        return InUseReferenceStore(self.settings.results_table_name, dynamodb_client())

    @part
    def inventory(self) -> InventoryStore:
        from layercheck.integrations.inventory_store import InventoryStore

        return InventoryStore(self.settings.results_table_name, dynamodb_client())

    # -- events, the audit queue, the organization ----------------------------------------------------------------

    @part
    def event_bus(self) -> EventBus | None:
        """The change-event bus (``EVENT_BUS_NAME``); None when unset: verdicts are stored, no event is published."""
        name = self.settings.event_bus_name
        if not name:
            return None
        from layercheck.integrations.event_bus import EventBus

        return EventBus(name)

    @part
    def audit_queue(self) -> AuditQueue:
        from layercheck.integrations.audit_queue import AuditQueue, new_client

        queue_url = self.settings.audit_queue_url
        if not queue_url:
            raise MissingConfigurationError(env.AUDIT_QUEUE_URL, "audit")
        return AuditQueue(queue_url, new_client())

    @part
    def organizations(self) -> OrganizationsAccounts:
        from layercheck.integrations.organizations import OrganizationsAccounts

        return OrganizationsAccounts()

    @part
    def organization_audit(self) -> OrganizationAudit:
        from layercheck.logic.org_audit import OrganizationAudit

        return OrganizationAudit(
            self.registries,
            self.audit_queue,
            inventory=self.inventory,
            # Workloads on images of other audited registries are reported to those registries' inventories.
            is_audited=self.is_audited,
            inventory_ttl_hours=self.settings.inventory_ttl_hours,
        )

    # -- the push door's services, over the registry an event names (``serve``) ----------------------------------------

    @part
    def push_checks(self) -> Callable[[ServedRegistry], PushCheckService]:
        def push_checks(served: ServedRegistry) -> PushCheckService:
            from layercheck.logic.push import PushCheckService
            from layercheck.logic.recheck import RecheckPolicy

            recheck = RecheckPolicy(self.settings.push_recheck_seconds)
            return PushCheckService(catalog=served.ecr, images=served.image_checks(), recheck=recheck)

        return push_checks

    @part
    def deletions(self) -> Callable[[ServedRegistry], DeletionService]:
        def deletions(served: ServedRegistry) -> DeletionService:
            from layercheck.logic.deletion import DeletionService

            return DeletionService(catalog=served.ecr, images=served.image_checks(), stored=self.image_writes)

        return deletions


# Where ``usedBy`` comes from, in the order users are named (discovered workloads before reports): one factory per
# source, "module:function", each making its source for one registry (integrations/ecs.py's is the example). Adding a
# source is its module and one line here; the command line reads the same list.
IN_USE_SOURCES = (
    "layercheck.integrations.ecs:in_use_source",
    "layercheck.integrations.lambda_functions:in_use_source",
    "layercheck.integrations.inventory_store:in_use_source",
)


def in_use_sources() -> tuple[InUseSourceFactory, ...]:
    """The factories of ``IN_USE_SOURCES``, imported when first asked for: a check's cold start loads none of them."""
    import importlib

    factories = []
    for entry in IN_USE_SOURCES:
        module_name, _, name = entry.partition(":")
        factories.append(getattr(importlib.import_module(module_name), name))
    return tuple(factories)


@functools.cache
def services(own_account: str) -> Services:
    """The container's ``Services`` for a function of ``own_account`` (the account in its ARN)."""
    return Services(own_account)


CACHED.append(services)


def reset() -> None:
    """Forget every cached object (tests change the environment between cases)."""
    for cache in CACHED:
        cache.cache_clear()
