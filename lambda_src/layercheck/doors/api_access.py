"""What the API's routes share: which registry and Region a request may name, and the ECR adapter that reads it."""

from __future__ import annotations

from typing import Any

from layercheck.dependencies import ecr_registry, home_region, registry_clients, registry_services
from layercheck.errors import RegistryNotServedError
from layercheck.integrations.ecr import EcrRegistry
from layercheck.logic.registries import Registry, RegistryUnreadable
from layercheck.settings import account_of, load_settings


def own_account(lambda_context: Any) -> str:
    """The account in this function's ARN: ECR's default registry for its calls."""
    return account_of(lambda_context.invoked_function_arn)


def served_registry(requested: str | None, own: str) -> str:
    """The registry to check: the one named, or ECR's default (the caller's account); refused unless this deployment
    serves it (``REGISTRY_IDS``), before any ECR call or write."""
    registry_id = requested or own
    if registry_id not in load_settings().served_registry_ids(own):
        raise RegistryNotServedError(registry_id)
    return registry_id


def registry_adapter(registry_id: str, region: str, own: str) -> EcrRegistry | RegistryUnreadable:
    """This account's home registry through the function's own client; any other account or Region through
    ``RegistryClients`` (the reader role in another account), with that registry's own rate limiter."""
    if is_home(registry_id, region, own):
        return ecr_registry()
    registry_clients(own).start_invocation()  # an unreadable registry is asked again on each request, once
    return registry_services(own).ecr(Registry(account_id=registry_id, region=region))


def is_home(registry_id: str, region: str | None, own: str) -> bool:
    """This account's registry in the function's own Region (``region`` None or equal to it): read with the
    function's own role and client."""
    return registry_id == own and (region is None or region == home_region())
