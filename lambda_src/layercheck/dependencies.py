"""Composition root: the concrete integrations behind the ports, built once per container from the settings.

It owns every cache of the function (clients, services, the idempotency configuration): nothing else memoises, no
door imports back into it for a reset, and a test's reset is one loop over ``CACHED``. The event doors' services are
imported inside their factories, so an API cold start does not load them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from layercheck.contracts import environment as env
from layercheck.errors import MissingConfigurationError
from layercheck.integrations import ecr
from layercheck.integrations import results_table as results_table_integration
from layercheck.integrations.ecr import EcrRegistry
from layercheck.integrations.results_table import ResultsTable
from layercheck.logic.layer_check import LayerCheckService
from layercheck.logic.ratelimit import RateLimiter
from layercheck.settings import load_settings
from layercheck.startup import collector_paused

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_sqs import SQSClient

    from layercheck.integrations.audit_queue import AuditQueue
    from layercheck.integrations.ecr_lifecycle import EcrLifecycle
    from layercheck.integrations.event_bus import EventBus
    from layercheck.integrations.image_writes import ImageVerdictWrites
    from layercheck.integrations.in_use_references import InUseReferenceStore
    from layercheck.integrations.inventory_store import InventoryStore
    from layercheck.integrations.organizations import OrganizationsAccounts
    from layercheck.integrations.sessions import RegistryClients
    from layercheck.logic.deletion import DeletionService
    from layercheck.logic.image_check import ImageCheckService
    from layercheck.logic.in_use import InUseSourceFactory
    from layercheck.logic.org_audit import OrganizationAudit
    from layercheck.logic.push import PushCheckService
    from layercheck.logic.ratelimit import RegistryRateLimiters
    from layercheck.registry_services import AuditRegistries

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


# -- clients (thread-safe, one per container) -----------------------------------------------------------------------


@cached
def ecr_client() -> ECRClient:
    return ecr.new_client(load_settings().check_workers)


@cached
def dynamodb_client() -> DynamoDBClient:
    return results_table_integration.new_client()


@cached
def sqs_client() -> SQSClient:
    from layercheck.integrations.audit_queue import new_client

    return new_client()


# -- integrations and services --------------------------------------------------------------------------------------


@cached
def ecr_rate_limiter() -> RateLimiter:
    """The home registry's ECR call ceiling, shared by every adapter of the function's own client."""
    return RateLimiter(load_settings().ecr_max_calls_per_second)


@cached
def ecr_registry() -> EcrRegistry:
    return EcrRegistry(ecr_client(), rate_limiter=ecr_rate_limiter())


@cached
def ecr_lifecycle() -> EcrLifecycle:
    """Lifecycle previews of the home registry (the function's own client and rate limiter)."""
    from layercheck.integrations.ecr_lifecycle import EcrLifecycle

    return EcrLifecycle(ecr_client(), rate_limiter=ecr_rate_limiter())


@cached
def results_table() -> ResultsTable:
    return ResultsTable(load_settings().results_table_name, dynamodb_client())


@cached
def layer_check_service() -> LayerCheckService:
    settings = load_settings()
    return LayerCheckService(
        registry=ecr_registry(),
        store=results_table(),
        ttl_days=settings.results_ttl_days,
        workers=settings.check_workers,
    )


def layer_check_service_for(registry: EcrRegistry, *, region: str) -> LayerCheckService:
    """Layer checks over another registry's ECR adapter (the API asked about another account or Region)."""
    settings = load_settings()
    return LayerCheckService(
        registry=registry,
        store=results_table(),
        ttl_days=settings.results_ttl_days,
        workers=settings.check_workers,
        region=region,
    )


@cached
def image_check_service() -> ImageCheckService:
    return image_check_service_for(ecr_registry(), region=home_region())


def image_check_service_for(registry: EcrRegistry, *, region: str | None = None) -> ImageCheckService:
    """Image checks over one registry's ECR adapter (this account's, or an audited registry's, with its Region)."""
    from layercheck.integrations.manifest_store import ManifestStore
    from layercheck.logic.image_check import ImageCheckService

    settings = load_settings()
    return ImageCheckService(
        registry=registry,
        manifests=registry,
        store=results_table(),
        ttl_days=settings.results_ttl_days,
        workers=settings.check_workers,
        pull_through=registry,
        region=region,
        image_store=image_verdict_writes(),
        events=event_bus(),
        manifest_memory=ManifestStore(settings.results_table_name, dynamodb_client()),
    )


@cached
def image_verdict_writes() -> ImageVerdictWrites:
    from layercheck.integrations.image_writes import ImageVerdictWrites

    return ImageVerdictWrites(
        load_settings().results_table_name, dynamodb_client(), home_region=results_table().home_region
    )


@cached
def in_use_references() -> InUseReferenceStore:
    from layercheck.integrations.in_use_references import InUseReferenceStore

    return InUseReferenceStore(load_settings().results_table_name, dynamodb_client())


@cached
def event_bus() -> EventBus | None:
    """The change-event bus (``EVENT_BUS_NAME``); None when unset: verdicts are stored, no event is published."""
    name = load_settings().event_bus_name
    if not name:
        return None
    from layercheck.integrations.event_bus import EventBus

    return EventBus(name)


@cached
def push_check_service() -> PushCheckService:
    from layercheck.logic.push import PushCheckService
    from layercheck.logic.recheck import RecheckPolicy

    return PushCheckService(
        catalog=ecr_registry(),
        images=image_check_service(),
        recheck=RecheckPolicy(load_settings().push_recheck_seconds),
    )


@cached
def deletion_service() -> DeletionService:
    from layercheck.logic.deletion import DeletionService

    return DeletionService(catalog=ecr_registry(), images=image_check_service(), stored=image_verdict_writes())


@cached
def audit_queue() -> AuditQueue:
    from layercheck.integrations.audit_queue import AuditQueue

    queue_url = load_settings().audit_queue_url
    if not queue_url:
        raise MissingConfigurationError(env.AUDIT_QUEUE_URL, "audit")
    return AuditQueue(queue_url, sqs_client())


# -- the organization-wide audit: clients and services per audited registry ------------------------------


def home_region() -> str:
    """The function's own Region (Lambda sets ``AWS_REGION``): the default audited Region, and the Region of work
    items queued before items carried one."""

    region = os.environ.get(env.AWS_REGION) or os.environ.get(env.AWS_DEFAULT_REGION)
    if not region:
        raise MissingConfigurationError(env.AWS_REGION, "audit")
    return region


@cached
def ecr_regions() -> frozenset[str]:
    """The Regions botocore knows Amazon ECR in, in the function's partition: a Region outside it has no endpoint to
    call (botocore would retry a DNS failure for seconds before giving up)."""
    import botocore.session

    session = botocore.session.get_session()
    partition = session.get_partition_for_region(home_region())
    return frozenset(session.get_available_regions("ecr", partition_name=partition))


@cached
def registry_rate_limiters() -> RegistryRateLimiters:
    from layercheck.logic.ratelimit import RegistryRateLimiters

    return RegistryRateLimiters(load_settings().ecr_max_calls_per_second)


@functools.cache
def registry_clients(own_account_id: str) -> RegistryClients:
    """One per container: sessions (assumed roles) and clients per (account, Region), failures per invocation."""
    from layercheck.integrations.sessions import RegistryClients
    from layercheck.observability import current_invocation

    return RegistryClients(
        own_account_id=own_account_id,
        role_name=load_settings().reader_role_name,
        invocation=current_invocation,  # session names: <function name>@<request id>
        # Set when the reader roles' trust requires an ExternalId (context readerExternalId).
        external_id=os.environ.get(env.READER_EXTERNAL_ID) or None,
    )


CACHED.append(registry_clients)


@cached
def inventory_store() -> InventoryStore:
    from layercheck.integrations.inventory_store import InventoryStore

    return InventoryStore(load_settings().results_table_name, dynamodb_client())


@cached
def organizations_accounts() -> OrganizationsAccounts:
    from layercheck.integrations.organizations import OrganizationsAccounts

    return OrganizationsAccounts()


def in_use_sources() -> tuple[InUseSourceFactory, ...]:
    """Where ``usedBy`` comes from: one factory per source, each making it for one registry (integrations/ecs.py's
    ``in_use_source`` is the example). Users are named in this order, discovered workloads before reports. Adding a
    source is its module and one line here; the command line reads the same list. Imported on the first call, so a
    check's cold start loads none of them."""
    from layercheck.integrations import ecs, inventory_store, lambda_functions

    return (
        ecs.in_use_source,
        lambda_functions.in_use_source,
        inventory_store.in_use_source,
    )


@functools.cache
def registry_services(own_account_id: str) -> AuditRegistries:
    from layercheck.registry_services import AuditRegistries

    return AuditRegistries(
        registry_clients(own_account_id),
        registry_rate_limiters(),
        queue=audit_queue,
        inventory=inventory_store,
        in_use_sources=in_use_sources(),
        in_use_references=in_use_references,
        image_checks=lambda registry, region: image_check_service_for(registry, region=region),
        replication_grace_minutes=load_settings().replication_grace_minutes,
    )


CACHED.append(registry_services)


@functools.cache
def organization_audit(own_account_id: str) -> OrganizationAudit:
    from layercheck.logic.org_audit import OrganizationAudit, audited_registry_rule
    from layercheck.logic.registries import parse_account_selection, parse_regions

    settings = load_settings()
    # Workloads on images of other audited registries are reported to those registries' inventories.
    is_audited = audited_registry_rule(
        parse_account_selection(settings.audit_accounts),
        parse_regions(settings.audit_regions, home_region=home_region()),
        own_account_id,
    )
    return OrganizationAudit(
        registry_services(own_account_id),
        audit_queue(),
        home_region(),
        inventory=inventory_store(),
        is_audited=is_audited,
        inventory_ttl_hours=settings.inventory_ttl_hours,
    )


CACHED.append(organization_audit)


def reset() -> None:
    """Forget every cached object (tests change the environment between cases)."""
    for cache in CACHED:
        cache.cache_clear()
