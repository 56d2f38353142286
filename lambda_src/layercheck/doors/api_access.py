"""What the API's routes share: which registry and Region a request may name, the ECR adapter that reads it, what
they answer when it cannot be read, and how an error answer is documented."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from layercheck.contracts import environment as env
from layercheck.dependencies import Services
from layercheck.errors import RegionNotAuditedError, RegistryNotServedError
from layercheck.logic.registries import RegistryUnreadable
from layercheck.models.api import ErrorResponse
from layercheck.observability import record_registry_unreadable
from layercheck.settings import account_of

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

SERVICES = "services"  # the REST resolver's context key of the request's ``Services``


def own_account(lambda_context: Any) -> str:
    """The account in this function's ARN: ECR's default registry for its calls."""
    return account_of(lambda_context.invoked_function_arn)


def handed(context: Mapping[str, Any]) -> Services:
    """The ``Services`` the REST door put in the resolver's context for this request."""
    services: Services = context[SERVICES]
    return services


def served_registry(services: Services, requested: str | None) -> str:
    """The registry to check: the one named, or ECR's default (the caller's account); refused unless this deployment
    serves it (``REGISTRY_IDS``), before any ECR call or write."""
    registry_id = requested or services.own_account
    if registry_id not in services.settings.served_registry_ids(services.own_account):
        raise RegistryNotServedError(registry_id)
    return registry_id


def audited_region(services: Services, requested: str | None) -> str:
    """The Region to check: the one named, or the function's own; refused unless the deployment audits it
    (``AUDIT_REGIONS``, the function's own when unset), before any AWS call."""
    region = requested or services.settings.home_region()
    audited = services.audited_regions
    if region not in audited:
        raise RegionNotAuditedError(region, list(audited))
    return region


def unreadable_reason(unreadable: RegistryUnreadable) -> str:
    """A served registry this deployment cannot read (reader role missing or not trusting us, Region not enabled):
    logged and counted (``RegistriesUnreadable``, as the audit counts it) once per request; the reason every entry of
    the answer carries with AWS's code. Nothing is stored over a real verdict."""
    record_registry_unreadable(unreadable, named_by_request=True)
    return f"registry {unreadable.account_id} in {unreadable.region} cannot be read: {unreadable.reason}"


def error_answer(description: str) -> OpenAPIResponse:
    """An error response of the OpenAPI document: ``ErrorResponse``, as the door's exception handlers write it."""
    return {"description": description, "content": {"application/json": {"model": ErrorResponse}}}


def check_error_answers() -> dict[int, OpenAPIResponse]:
    """The errors of a route that checks and stores (POST /checks, POST /images/checks) beside its validation ones."""
    return {
        403: error_answer(
            f"registryId is not a registry this deployment serves ({env.REGISTRY_IDS}), region is not audited "
            f"({env.AUDIT_REGIONS}), or a repository is outside the audit's prefixes ({env.AUDIT_REPOSITORY_PREFIXES})"
        ),
        503: error_answer("The check ran but some verdicts could not be stored; retry"),
    }
