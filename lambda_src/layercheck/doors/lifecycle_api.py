"""The API's lifecycle route: POST /lifecycle/previews, the in-use images a lifecycle policy would expire or archive
(included in doors/api.py's resolver; the handler below maps the one error this route adds).

The images in use are the audit's latest knowledge: the stored image verdicts of the repository that name who runs
them (``usedBy``). ECR's own preview judges them (logic/lifecycle.py); no policy is ever changed.
"""

from __future__ import annotations

import time
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from layercheck.contracts import environment as env
from layercheck.contracts import routes
from layercheck.dependencies import Services
from layercheck.doors.api_access import (
    audited_region,
    error_answer,
    handed,
    served_registry,
    unreadable_reason,
)
from layercheck.errors import RequestRuleError
from layercheck.integrations.ecr_lifecycle import EcrLifecycle
from layercheck.integrations.sessions import UNREADABLE_CODES
from layercheck.logic.deadline import Deadline
from layercheck.logic.lifecycle import (
    POLL_SECONDS,
    LifecyclePreview,
    LifecyclePreviewUnavailableError,
    PreviewClock,
    PreviewState,
    preview_lifecycle,
)
from layercheck.logic.lifecycle_answer import ImageInUse, preview_answer
from layercheck.logic.registries import RegistryUnreadable
from layercheck.models.api import ErrorDetail, ErrorResponse
from layercheck.models.images_api import MAX_PAGE_SIZE
from layercheck.models.lifecycle_api import LifecyclePreviewRequest, LifecyclePreviewResponse
from layercheck.models.stored import StoredImageVerdict
from layercheck.observability import logger

LIFECYCLE_TAG = "lifecycle"
REPOSITORY_NOT_FOUND = "RepositoryNotFoundException"
# ECR's refusals of a policy text it cannot preview (StartLifecyclePolicyPreview).
POLICY_REFUSED_CODES = frozenset({"InvalidParameterException", "ValidationException"})
RETRY_AFTER_SECONDS = int(POLL_SECONDS)
ERRORS: dict[int, OpenAPIResponse] = {
    422: error_answer("The request breaks a rule, or ECR refuses lifecyclePolicyText (the answer names the field)"),
    400: error_answer("A parameter is malformed, the body is not JSON, or region is not a Region of Amazon ECR"),
    403: error_answer(
        f"registryId is not a registry this deployment serves ({env.REGISTRY_IDS}), region is not audited "
        f"({env.AUDIT_REGIONS}), or the registry cannot be read in region"
    ),
    404: error_answer("ECR holds no such repository"),
    502: error_answer("ECR could not preview the policy (the preview FAILED, access denied ...): the reason says why"),
    503: error_answer("The preview is not done yet (it goes on in ECR): retry after Retry-After seconds to read it"),
}

router = Router()  # type: ignore[no-untyped-call]


@router.post(
    routes.resolver_path(routes.LIFECYCLE_PREVIEWS),
    summary="The in-use images a lifecycle policy would expire or archive",
    description="ECR previews lifecyclePolicyText (default: the repository's own policy) with "
    "StartLifecyclePolicyPreview; the answer lists the images in use (stored verdicts with usedBy, from the audit "
    "and reports) that it would expire (EXPIRE) or archive (TRANSITION, with targetStorageClass), with who runs each. "
    "No policy is changed. A preview not done within API_DEADLINE_SECONDS is a 503 with Retry-After: the preview "
    "goes on in ECR, and the same request then reads it rather than start another.",
    tags=[LIFECYCLE_TAG],
    responses={200: {"description": "The in-use images at risk (none: an empty atRisk)"}, **ERRORS},
)
def preview_lifecycle_policy(request: Annotated[LifecyclePreviewRequest, Body()]) -> LifecyclePreviewResponse:
    services = handed(router.context)
    registry_id = served_registry(services, request.registryId)
    region = audited_region(services, request.region)
    if region not in services.ecr_regions:
        raise RequestRuleError(
            "body", routes.REGION, "ecr_region", f"region {region} is not a Region Amazon ECR is known to serve"
        )
    deadline = Deadline.starting_now(
        router.lambda_context.get_remaining_time_in_millis, services.settings.api_deadline_seconds
    )
    proposed = request.lifecyclePolicyText is not None
    in_use, stored_verdicts = _stored_in_use(services, registry_id, region, request.repositoryName)
    port = _lifecycle_port(services, registry_id, region)
    if isinstance(port, RegistryUnreadable):
        unreadable = LifecyclePreview(
            registry_id,
            request.repositoryName,
            PreviewState.NOT_PREVIEWED,
            code=port.code,
            reason=unreadable_reason(port),
        )
        raise LifecyclePreviewUnavailableError(unreadable, proposed_policy=proposed, registry_unreadable=True)
    preview = preview_lifecycle(
        port,
        registry_id,
        request.repositoryName,
        list(in_use),
        clock=PreviewClock(seconds_left=deadline.seconds_left, sleep=time.sleep),
        policy_text=request.lifecyclePolicyText,
    )
    if preview.state is PreviewState.NOT_PREVIEWED:
        raise LifecyclePreviewUnavailableError(preview, proposed_policy=proposed)
    answer = preview_answer(preview, region=region, in_use=in_use, proposed=proposed, stored_verdicts=stored_verdicts)
    logger.info("previewed lifecycle policy", repository=request.repositoryName, **answer.summary.model_dump())
    return answer


def _stored_in_use(
    services: Services, registry_id: str, region: str, repository_name: str
) -> tuple[dict[str, ImageInUse], int]:
    """The repository's stored image verdicts that name who runs them, by digest (every page), and how many image
    verdicts the repository has."""
    found: dict[str, ImageInUse] = {}
    verdicts = 0
    token: str | None = None
    while True:
        page = services.results.query_repository(
            registry_id, repository_name, region=region, limit=MAX_PAGE_SIZE, next_token=token, images_only=True
        )
        for item in page.items:
            if isinstance(item, StoredImageVerdict):
                verdicts += 1
                if item.usedBy and item.imageDigest:
                    found[item.imageDigest] = ImageInUse(item.imageTags, item.usedBy)
        token = page.next_token
        if not token:
            return found, verdicts


def _lifecycle_port(services: Services, registry_id: str, region: str) -> EcrLifecycle | RegistryUnreadable:
    """The registry's lifecycle previews, reached as every route reaches a registry (``Services.serve``)."""
    served = services.serve(registry_id, region)
    return served if isinstance(served, RegistryUnreadable) else served.lifecycle()


# -- this route's one error, mapped here once ------------------------------------------------------------------------


@router.exception_handler(LifecyclePreviewUnavailableError)
def _preview_unavailable(error: LifecyclePreviewUnavailableError) -> Response[Any]:
    """ECR's refusals of what the caller sent are the caller's (404, 422), and so is a registry this deployment
    cannot read (403); a preview not done in time, or refused for a reason that may pass, is a 503 with Retry-After;
    what ECR could not do otherwise is a 502."""
    preview = error.preview
    reason = f"{preview.code}: {preview.reason}"
    headers: dict[str, str] = {}
    if error.registry_unreadable or preview.code in UNREADABLE_CODES:
        status, field, rule = HTTPStatus.FORBIDDEN, "registryId", "readable_registry"
    elif preview.code == REPOSITORY_NOT_FOUND:
        status, field, rule = HTTPStatus.NOT_FOUND, "repositoryName", "repository_exists"
    elif preview.code in POLICY_REFUSED_CODES and error.proposed_policy:
        status, field, rule = HTTPStatus.UNPROCESSABLE_ENTITY, "lifecyclePolicyText", "ecr_lifecycle_policy"
    elif preview.retryable:
        status, field, rule = HTTPStatus.SERVICE_UNAVAILABLE, "", "preview_pending"
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    else:
        status, field, rule = HTTPStatus.BAD_GATEWAY, "", "preview_failed"
    logger.warning("lifecycle preview unavailable", repository=preview.repository_name, code=preview.code)
    message = f"the lifecycle policy preview of {preview.repository_name} is not available: {reason}"
    errors = [ErrorDetail(location="body", field=field, rule=rule, message=reason)]
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=ErrorResponse(message=message, errors=errors).model_dump_json(),
        headers=headers,
    )
