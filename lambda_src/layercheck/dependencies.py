"""Composition root: the concrete integrations behind the ports, built once per container from the settings.

It owns every cache of the function (clients, services, the idempotency configuration): nothing else memoises, no
door imports back into it for a reset, and a test's reset is one loop over ``CACHED``. The event doors' services are
imported inside their factories, so an API cold start does not load them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from layercheck.errors import MissingConfigurationError
from layercheck.integrations import ecr
from layercheck.integrations import results_table as results_table_integration
from layercheck.integrations.ecr import EcrRegistry
from layercheck.integrations.results_table import ResultsTable
from layercheck.logic.layer_check import LayerCheckService
from layercheck.logic.ratelimit import RateLimiter
from layercheck.settings import load_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_sqs import SQSClient

    from layercheck.integrations.audit_queue import AuditQueue
    from layercheck.logic.audit import AuditService
    from layercheck.logic.image_check import ImageCheckService
    from layercheck.logic.push import PushCheckService

T = TypeVar("T")

CACHED: list[functools._lru_cache_wrapper[Any]] = [load_settings]


def cached(factory: Callable[[], T]) -> Callable[[], T]:
    """``functools.cache``, registered so that :func:`reset` forgets it."""
    wrapper = functools.cache(factory)
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
def ecr_registry() -> EcrRegistry:
    return EcrRegistry(ecr_client(), rate_limiter=RateLimiter(load_settings().ecr_max_calls_per_second))


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


@cached
def image_check_service() -> ImageCheckService:
    from layercheck.logic.image_check import ImageCheckService

    settings = load_settings()
    return ImageCheckService(
        registry=ecr_registry(),
        manifests=ecr_registry(),
        store=results_table(),
        ttl_days=settings.results_ttl_days,
        workers=settings.check_workers,
        pull_through=ecr_registry(),
    )


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
def audit_queue() -> AuditQueue:
    from layercheck.integrations.audit_queue import AuditQueue

    queue_url = load_settings().audit_queue_url
    if not queue_url:
        raise MissingConfigurationError("AUDIT_QUEUE_URL", "audit")
    return AuditQueue(queue_url, sqs_client())


@cached
def audit_service() -> AuditService:
    from layercheck.logic.audit import AuditService

    return AuditService(catalog=ecr_registry(), queue=audit_queue(), images=image_check_service())


# -- idempotency of the event doors ---------------------------------------------------------------------------------


@cached
def idempotency_store() -> DynamoDBPersistenceLayer:
    """Powertools' DynamoDB persistence layer; records expire after ``IDEMPOTENCY_EXPIRES_SECONDS``."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from layercheck.idempotency_table_schema import PARTITION_KEY, TTL_ATTRIBUTE

    table_name = load_settings().idempotency_table_name
    if not table_name:
        raise MissingConfigurationError("IDEMPOTENCY_TABLE_NAME", "event")
    return DynamoDBPersistenceLayer(
        table_name=table_name, key_attr=PARTITION_KEY, expiry_attr=TTL_ATTRIBUTE, boto3_client=dynamodb_client()
    )


@cached
def idempotency_config() -> IdempotencyConfig:
    """One configuration for every door: Powertools configures a persistence layer once, with the first config it
    sees. ``key`` is the path of the delivery key in the data each door passes (see doors/idempotency.py)."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="key",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=load_settings().idempotency_expires_seconds,
    )


def reset() -> None:
    """Forget every cached object (tests change the environment between cases)."""
    for cache in CACHED:
        cache.cache_clear()
