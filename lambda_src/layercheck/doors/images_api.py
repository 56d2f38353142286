"""The API's image routes: POST /images/checks, GET /images, POST /inventory (included in doors/api.py's resolver,
whose exception handlers map their errors)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.models import Tag
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from layercheck.contracts import routes
from layercheck.contracts.environment import INVENTORY_TTL_HOURS
from layercheck.contracts.patterns import REGION_PATTERN, REGISTRY_ID_PATTERN, REPOSITORY_NAME_PATTERN
from layercheck.dependencies import Services
from layercheck.doors.api_access import (
    audited_region,
    check_error_answers,
    error_answer,
    handed,
    served_registry,
    unreadable_reason,
)
from layercheck.errors import RepositoryOutOfScopeError, RequestRuleError
from layercheck.logic.audit_scope import in_scope
from layercheck.logic.deadline import Deadline
from layercheck.logic.image_requests import RequestedImages, unchecked_image
from layercheck.logic.inventory import check_bounds, inventory_entries
from layercheck.logic.registries import RegistryUnreadable
from layercheck.models.images_api import (
    DEFAULT_PAGE_SIZE,
    MAX_BLOBS_PER_REQUEST,
    MAX_NEXT_TOKEN_LENGTH,
    MAX_PAGE_SIZE,
    ImageCheckRequest,
    ImageCheckResponse,
    ImageCheckSummary,
    ImagesResponse,
    InventoryRequest,
    InventoryResponse,
    ListedStatus,
)
from layercheck.models.stored import ImageStatus, StoredImageVerdict, utc_now
from layercheck.observability import REQUEST_WATCH, logger, record_image_check

IMAGES_TAG, INVENTORY_TAG = "images", "inventory"
TAGS = [
    Tag(name=IMAGES_TAG, description="Check whole images now, and list the stored image verdicts"),
    Tag(name=INVENTORY_TAG, description="Report images in use that layercheck cannot discover itself"),
]
ERRORS: dict[int, OpenAPIResponse] = {
    422: error_answer("The request breaks a rule (the answer names the entry and the field)"),
    400: error_answer("A parameter is malformed, or the body is not JSON"),
}

router = Router()  # type: ignore[no-untyped-call]


@router.post(
    routes.resolver_path(routes.IMAGE_CHECKS),
    summary="Check whole images (index, platform manifests, config and layers)",
    description="1-100 images by imageTag or imageDigest, answered in request order and stored (source api). An "
    "image ECR says does not exist (ImageNotFoundException, RepositoryNotFoundException) is answered as a verdict "
    "UNCHECKED with ECR's failureCode, not an error, and is neither stored nor announced (stored: false). So are "
    "images the deadline left unchecked (DeadlineExceeded) and those of a registry that cannot be read. region "
    "(default: the function's own) and another served registry are read through the reader role.",
    tags=[IMAGES_TAG],
    responses={
        200: {"description": "Every image answered"},
        **ERRORS,
        **check_error_answers(),
    },
)
def check_images(request: Annotated[ImageCheckRequest, Body()]) -> ImageCheckResponse:
    services = handed(router.context)
    registry_id = served_registry(services, request.registryId)
    region = audited_region(services, request.region)
    in_audit_scope(services, (image.repositoryName for image in request.images))
    deadline = Deadline.starting_now(
        router.lambda_context.get_remaining_time_in_millis, services.settings.api_deadline_seconds
    )
    event: APIGatewayProxyEvent = router.current_event  # type: ignore[assignment]  # the REST resolver's
    check_id = event.request_context.request_id or str(uuid.uuid4())
    served = services.serve(registry_id, region)
    if isinstance(served, RegistryUnreadable):
        return _unreadable_answer(check_id, request, served)
    requested = RequestedImages(
        served.ecr,
        served.image_checks(),
        registry_id,
        region,
        known=services.image_writes,
        max_blobs=MAX_BLOBS_PER_REQUEST,
    )
    outcome = requested.check(request.images, check_id=check_id, should_continue=deadline.has_time)
    record_image_check(outcome.whole, watched=REQUEST_WATCH)
    summary = ImageCheckSummary.of(outcome.verdicts)
    logger.info("checked images", check_id=check_id, **summary.model_dump())
    return ImageCheckResponse(checkId=check_id, verdicts=outcome.verdicts, summary=summary)


def in_audit_scope(services: Services, repository_names: Iterable[str]) -> None:
    """Refuse repositories outside the audit's prefixes (``AUDIT_REPOSITORY_PREFIXES``): the API stores and announces
    only what the audit would."""
    prefixes = services.settings.audit_repository_prefixes
    outside = [name for name in dict.fromkeys(repository_names) if not in_scope(name, prefixes)]
    if outside:
        raise RepositoryOutOfScopeError(outside, prefixes)


def _unreadable_answer(check_id: str, request: ImageCheckRequest, unreadable: RegistryUnreadable) -> ImageCheckResponse:
    reason, checked_at = unreadable_reason(unreadable), utc_now()
    verdicts = [
        unchecked_image(
            image,
            registry_id=unreadable.account_id,
            region=unreadable.region,
            code=unreadable.code,
            reason=reason,
            check_id=check_id,
            checked_at=checked_at,
        )
        for image in request.images
    ]
    return ImageCheckResponse(checkId=check_id, verdicts=list(verdicts), summary=ImageCheckSummary.of(verdicts))


@router.get(
    routes.resolver_path(routes.IMAGES),
    summary="Stored image verdicts in one status or at lifecycle risk across repositories, accounts and Regions, or "
    "of one repository",
    description="status=BROKEN|UNCHECKED|ARCHIVED reads a sparse index (COMPLETE images are not in it: an image "
    "leaves the list when it recovers), optionally narrowed to a registryId, and a region. risk=lifecycle reads "
    "another sparse index: the images in use whose repository's lifecycle policy would expire or archive them, as "
    "the audit's ECR preview found (lifecycleRisk), narrowed the same way; an image leaves it when its risk clears. "
    "repositoryName lists one repository's image verdicts (registryId default: this account; region default: the "
    "function's own). Give exactly one of the three.",
    tags=[IMAGES_TAG],
    responses={200: {"description": "One page of image verdicts"}, **ERRORS},
)
def list_images(
    status: Annotated[ListedStatus | None, Query(alias=routes.STATUS)] = None,
    risk: Annotated[Literal["lifecycle"] | None, Query(alias=routes.RISK)] = None,
    repository_name: Annotated[
        str | None, Query(alias=routes.REPOSITORY_NAME, pattern=REPOSITORY_NAME_PATTERN, min_length=2, max_length=256)
    ] = None,
    registry_id: Annotated[str | None, Query(alias=routes.REGISTRY_ID, pattern=REGISTRY_ID_PATTERN)] = None,
    region: Annotated[str | None, Query(alias=routes.REGION, pattern=REGION_PATTERN)] = None,
    next_token: Annotated[str | None, Query(alias=routes.NEXT_TOKEN, max_length=MAX_NEXT_TOKEN_LENGTH)] = None,
    limit: Annotated[int, Query(alias=routes.LIMIT, ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> ImagesResponse:
    given = [name for name, value in _selectors(status, risk, repository_name) if value is not None]
    if len(given) != 1:
        raise RequestRuleError(
            "query",
            given[-1] if given else routes.STATUS,
            "exactly_one_of",
            f"give exactly one of {routes.STATUS}, {routes.RISK} and {routes.REPOSITORY_NAME}",
        )
    services = handed(router.context)
    results = services.results
    if risk is not None:
        page = results.query_lifecycle_risk(registry_id=registry_id, region=region, limit=limit, next_token=next_token)
    elif status is not None:
        page = results.query_image_status(
            ImageStatus(status), registry_id=registry_id, region=region, limit=limit, next_token=next_token
        )
    else:
        page = results.query_repository(
            registry_id or services.own_account,
            str(repository_name),
            region=region or services.settings.home_region(),
            limit=limit,
            next_token=next_token,
            images_only=True,
        )
    items = [item for item in page.items if isinstance(item, StoredImageVerdict)]
    return ImagesResponse(items=items, nextToken=page.next_token)


def _selectors(status: str | None, risk: str | None, repository_name: str | None) -> list[tuple[str, str | None]]:
    return [(routes.STATUS, status), (routes.RISK, risk), (routes.REPOSITORY_NAME, repository_name)]


@router.post(
    routes.resolver_path(routes.INVENTORY),
    summary="Report the images a runtime uses (Kubernetes, on-premises)",
    description="Each ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/<repo>:tag or @digest) of an audited "
    f"account and Region counts as in use (usedBy kind inventory, id the source, reportedBy the caller's ARN) for "
    f"{INVENTORY_TTL_HOURS} hours (default 48) after its last report; the next audit checks it first. Other strings "
    "are listed in ignored with the reason. A source holds at most MAX_INVENTORY_IMAGES_PER_SOURCE (5,000) unexpired "
    "entries per registry, a registry MAX_INVENTORY_IMAGES_PER_REGISTRY (20,000): a report past either is a 400 "
    "naming the bound. Reporting is its own privilege (execute-api:Invoke on POST /inventory).",
    tags=[INVENTORY_TAG],
    responses={
        200: {"description": "The report recorded"},
        **ERRORS,
        503: error_answer("Some entries could not be stored; retry"),
    },
)
def report_inventory(request: Annotated[InventoryRequest, Body()]) -> InventoryResponse:
    services = handed(router.context)
    event: APIGatewayProxyEvent = router.current_event  # type: ignore[assignment]  # the REST resolver's
    reported_by = event.request_context.identity.user_arn  # the SigV4 caller API Gateway authorized
    entries, ignored = inventory_entries(
        request, reported_at=utc_now(), ttl_hours=services.settings.inventory_ttl_hours,
        is_audited=services.is_audited, reported_by=reported_by,
    )  # fmt: skip
    store = services.inventory
    check_bounds(
        entries,
        held_by_source=lambda registry_id, region: store.source_keys(request.source, registry_id, region),
        held_by_registry=store.count_entries,
    )
    store.put_entries(entries)
    logger.info(
        "inventory reported",
        source=request.source,
        reported_by=reported_by,
        accepted=len(entries),
        ignored=len(ignored),
    )
    return InventoryResponse(accepted=len(entries), ignored=ignored)
