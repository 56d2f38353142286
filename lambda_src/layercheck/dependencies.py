"""Composition root: the concrete integrations behind the ports, built once per container from the settings.

The event doors' services are imported inside their factories, so an API cold start does not load them.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from layercheck.errors import MissingConfigurationError
from layercheck.integrations import ecr
from layercheck.integrations import results_table as dynamodb
from layercheck.integrations.ecr import EcrRegistry
from layercheck.integrations.results_table import ResultsTable
from layercheck.logic.ratelimit import RateLimiter
from layercheck.logic.service import LayerCheckService
from layercheck.settings import load_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from layercheck.integrations.audit_queue import AuditQueue
    from layercheck.logic.audit import AuditService
    from layercheck.logic.image_check import ImageCheckService
    from layercheck.logic.push import PushCheckService


@functools.cache
def ecr_registry() -> EcrRegistry:
    settings = load_settings()
    return EcrRegistry(
        ecr.default_client(settings.check_workers), rate_limiter=RateLimiter(settings.ecr_max_calls_per_second)
    )


@functools.cache
def results_table() -> ResultsTable:
    return ResultsTable(load_settings().results_table_name)


@functools.cache
def layer_check_service() -> LayerCheckService:
    settings = load_settings()
    return LayerCheckService(
        registry=ecr_registry(),
        store=results_table(),
        ttl_days=settings.results_ttl_days,
        workers=settings.check_workers,
    )


@functools.cache
def image_check_service() -> ImageCheckService:
    from layercheck.logic.image_check import ImageCheckService

    settings = load_settings()
    return ImageCheckService(
        registry=ecr_registry(),
        manifests=ecr_registry(),
        store=results_table(),
        ttl_days=settings.results_ttl_days,
        workers=settings.check_workers,
    )


@functools.cache
def push_check_service() -> PushCheckService:
    from layercheck.logic.push import PushCheckService

    return PushCheckService(catalog=ecr_registry(), images=image_check_service())


@functools.cache
def audit_queue() -> AuditQueue:
    from layercheck.integrations.audit_queue import AuditQueue

    queue_url = load_settings().audit_queue_url
    if not queue_url:
        raise MissingConfigurationError("AUDIT_QUEUE_URL", "audit")
    return AuditQueue(queue_url)


@functools.cache
def audit_service() -> AuditService:
    from layercheck.logic.audit import AuditService

    return AuditService(catalog=ecr_registry(), queue=audit_queue(), images=image_check_service())


@functools.cache
def idempotency_store() -> DynamoDBPersistenceLayer:
    """Powertools' DynamoDB persistence layer; records expire after ``IDEMPOTENCY_EXPIRES_SECONDS``."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from layercheck.idempotency_table_schema import PARTITION_KEY, TTL_ATTRIBUTE

    table_name = load_settings().idempotency_table_name
    if not table_name:
        raise MissingConfigurationError("IDEMPOTENCY_TABLE_NAME", "event")
    return DynamoDBPersistenceLayer(
        table_name=table_name, key_attr=PARTITION_KEY, expiry_attr=TTL_ATTRIBUTE, boto3_client=dynamodb.default_client()
    )


def reset() -> None:
    """Forget every cached object (tests change the environment between cases)."""
    for factory in (
        ecr_registry,
        results_table,
        layer_check_service,
        image_check_service,
        push_check_service,
        audit_queue,
        audit_service,
        idempotency_store,
    ):
        factory.cache_clear()
    load_settings.cache_clear()
    ecr.default_client.cache_clear()
    dynamodb.default_client.cache_clear()
    from layercheck.integrations import audit_queue as sqs

    sqs.default_client.cache_clear()
    from layercheck.doors import idempotency

    idempotency.reset()
