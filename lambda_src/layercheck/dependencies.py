"""Composition root: the concrete integrations behind the ports, built once per container from the settings."""

from __future__ import annotations

import functools

from layercheck.integrations import ecr
from layercheck.integrations import results_table as dynamodb
from layercheck.integrations.ecr import EcrRegistry
from layercheck.integrations.results_table import ResultsTable
from layercheck.logic.ratelimit import RateLimiter
from layercheck.logic.service import LayerCheckService
from layercheck.settings import load_settings


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


def reset() -> None:
    """Forget every cached object (tests change the environment between cases)."""
    for factory in (ecr_registry, results_table, layer_check_service):
        factory.cache_clear()
    load_settings.cache_clear()
    ecr.default_client.cache_clear()
    dynamodb.default_client.cache_clear()
