"""What the API's routes share: which registry and Region a request may name, the ECR adapter that reads it, what
they answer when it cannot be read, and how an error answer is documented."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from layercheck.contracts import environment as env
from layercheck.dependencies import ecr_registry, home_region, registry_clients, registry_services
from layercheck.errors import RegionNotAuditedError, RegistryNotServedError
from layercheck.integrations.ecr import EcrRegistry
from layercheck.logic.registries import Registry, RegistryUnreadable, parse_regions
from layercheck.models.api import ErrorResponse
from layercheck.observability import logger, record_registry_unreadable
from layercheck.settings import account_of, load_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

    from layercheck.integrations.ecr_lifecycle import EcrLifecycle
    from layercheck.logic.image_check import ImageCheckService
    from layercheck.logic.layer_check import LayerCheckService


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


def audited_region(requested: str | None) -> str | None:
    """The Region to check: the one named, or the function's own (None when no audited Region is configured: the
    function's own is then the one audited); refused unless the deployment audits it (``AUDIT_REGIONS``), before any
    AWS call."""
    configured = load_settings().audit_regions
    if requested is None and not configured:
        return None
    region = requested or home_region()
    audited = parse_regions(configured, home_region=home_region())
    if region not in audited:
        raise RegionNotAuditedError(region, audited)
    return region


@dataclass(frozen=True)
class ServedRegistry:
    """A registry a request may read, resolved once at the door: its ECR adapter and the services over it. The home
    registry (this account, the function's own Region) is one of them: its services are the container's own."""

    registry: Registry
    own: str
    adapter: EcrRegistry | None = None  # another registry's, through its reader clients; None at home

    @property
    def home(self) -> bool:
        return self.adapter is None

    @property
    def ecr(self) -> EcrRegistry:
        """The registry's ECR adapter (at home the container's own, made when first asked for)."""
        return self.adapter if self.adapter is not None else ecr_registry()

    @property
    def region(self) -> str:
        return self.registry.region

    def layer_checks(self) -> LayerCheckService:
        from layercheck.dependencies import layer_check_service, layer_check_service_for

        return (
            layer_check_service() if self.adapter is None else layer_check_service_for(self.adapter, region=self.region)
        )

    def image_checks(self) -> ImageCheckService:
        from layercheck.dependencies import image_check_service, image_check_service_for

        return (
            image_check_service() if self.adapter is None else image_check_service_for(self.adapter, region=self.region)
        )

    def lifecycle(self) -> EcrLifecycle | RegistryUnreadable:
        from layercheck.dependencies import ecr_lifecycle

        return ecr_lifecycle() if self.home else registry_services(self.own).lifecycle(self.registry)


def resolve(registry_id: str, region: str, own: str) -> ServedRegistry | RegistryUnreadable:
    """The one way a route reaches a registry (``region`` resolved at the edge: the one named or the function's own):
    this account's home registry through the function's own client, any other account or Region through
    ``RegistryClients`` (the reader role in another account), with that registry's own rate limiter."""
    registry = Registry(account_id=registry_id, region=region)
    if is_home(registry_id, region, own):
        return ServedRegistry(registry, own)
    registry_clients(own).start_invocation()  # an unreadable registry is asked again on each request, once
    adapter = registry_services(own).ecr(registry)
    if isinstance(adapter, RegistryUnreadable):
        return adapter
    return ServedRegistry(registry, own, adapter)


def is_home(registry_id: str, region: str | None, own: str) -> bool:
    """This account's registry in the function's own Region (``region`` None or equal to it): read with the
    function's own role and client."""
    return registry_id == own and (region is None or region == home_region())


def unreadable_reason(unreadable: RegistryUnreadable) -> str:
    """A served registry this deployment cannot read (reader role missing or not trusting us, Region not enabled):
    logged and counted (``RegistriesUnreadable``, as the audit counts it) once per request; the reason every entry of
    the answer carries with AWS's code. Nothing is stored over a real verdict."""
    record_registry_unreadable()
    logger.warning(
        "registry unreadable",
        account=unreadable.account_id,
        unreadable_region=unreadable.region,
        code=unreadable.code,
        reason=unreadable.reason,
    )
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
