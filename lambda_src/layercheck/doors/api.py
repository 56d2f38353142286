"""The REST door: API Gateway proxy events in, JSON out. Routes translate; the service decides; errors map here only."""

from __future__ import annotations

import uuid
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, Server, Tag
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from layercheck.contracts import routes
from layercheck.contracts.environment import AUDIT_REGIONS, AUDIT_REPOSITORY_PREFIXES, REGISTRY_IDS
from layercheck.contracts.patterns import DIGEST_PATTERN, REGION_PATTERN, REGISTRY_ID_PATTERN, REPOSITORY_NAME_PATTERN
from layercheck.dependencies import home_region, layer_check_service, layer_check_service_for, results_table
from layercheck.doors import images_api, lifecycle_api
from layercheck.doors.api_access import (
    audited_region,
    check_error_answers,
    error_answer,
    is_home,
    own_account,
    registry_adapter,
    served_registry,
    unreadable_reason,
)
from layercheck.doors.json_body import content_type_note, read_bodies_as_json
from layercheck.errors import (
    InvalidPageTokenError,
    InventoryBoundError,
    RegionNotAuditedError,
    RegistryNotServedError,
    RepositoryOutOfScopeError,
    RequestRuleError,
    ResultsNotStoredError,
)
from layercheck.logic.check import RepositoryTarget
from layercheck.logic.deadline import Deadline
from layercheck.logic.failure_text import bounded_code, bounded_reason
from layercheck.logic.registries import RegistryUnreadable
from layercheck.models.api import CheckRequest, CheckResponse, ErrorDetail, ErrorResponse, ResultsResponse
from layercheck.models.stored import Source
from layercheck.models.verdicts import CheckSummary, LayerFailure, RepositoryResult
from layercheck.observability import logger, record_check
from layercheck.settings import load_settings

OPENAPI_TITLE = "layercheck"
OPENAPI_VERSION = "1.0.0"
# A huge malformed request would otherwise answer with one error per element.
MAX_REPORTED_ERRORS = 20
# "." is resolved against the document's own URL (Swagger UI does so): the stage behind API Gateway
# (https://<id>.execute-api.<region>.amazonaws.com/v1/swagger -> .../v1), the root locally or on a custom domain.
SERVERS = [Server(url=".", description="where this document is served from")]
SIGV4 = "sigv4"
SECURITY_SCHEMES: dict[str, Any] = {
    SIGV4: APIKey(
        name="Authorization",
        in_=APIKeyIn.header,
        description="AWS Signature Version 4 (IAM authorisation): sign with the execute-api service name.",
        openapi_extensions={"x-amazon-apigateway-authtype": "awsSigv4"},
    )
}
CHECKS_TAG, RESULTS_TAG = "checks", "results"
TAGS = [
    Tag(name=CHECKS_TAG, description="Check layer digests in ECR now, and store the verdicts"),
    Tag(name=RESULTS_TAG, description="Read the latest stored verdicts"),
    *images_api.TAGS,
]

app = APIGatewayRestResolver(enable_validation=True)
read_bodies_as_json(app)
_openapi: dict[str, Any] = {
    "title": OPENAPI_TITLE,
    "version": OPENAPI_VERSION,
    "description": "ECR layer-availability checks across repositories. Every call is signed with SigV4 (AWS_IAM).",
    "servers": SERVERS,
    "tags": TAGS,
    "security_schemes": SECURITY_SCHEMES,
    "security": [{SIGV4: []}],
}
app.configure_openapi(**_openapi)
app.enable_swagger(path=routes.SWAGGER, **_openapi)


_VALIDATION_RESPONSES: dict[int, OpenAPIResponse] = {
    422: error_answer("The request breaks a rule"),
    400: error_answer("A parameter is malformed, or the body is not JSON"),
}


@app.post(
    routes.CHECKS,
    summary="Check layer digests in repositories",
    description="Answers every (repository, digest) pair in ECR's own Layer / LayerFailure shapes and stores them. "
    f"Pairs whose ECR call could not start within the time budget ({routes.CHECKS} stops starting calls after "
    "API_DEADLINE_SECONDS) are failures with failureCode DeadlineExceeded, counted in summary.errors and not stored.",
    tags=[CHECKS_TAG],
    responses={
        200: {"description": "Every pair answered"},
        **_VALIDATION_RESPONSES,
        **check_error_answers(),
    },
)
def create_check(request: Annotated[CheckRequest, Body()]) -> CheckResponse:
    own = own_account(app.lambda_context)
    registry_id = served_registry(request.registryId, own)
    audited_region(request.region)
    region = request.region  # None: the function's own Region, read with its own client
    deadline = Deadline.starting_now(
        app.lambda_context.get_remaining_time_in_millis, load_settings().api_deadline_seconds
    )
    check_id = app.current_event.request_context.request_id or str(uuid.uuid4())
    targets = [RepositoryTarget(registry_id, name, request.layerDigests) for name in request.repositoryNames]
    if is_home(registry_id, region, own):
        service = layer_check_service()
    else:
        region = region or home_region()  # another served account, in the function's Region
        adapter = registry_adapter(registry_id, region, own)
        if isinstance(adapter, RegistryUnreadable):
            return _unreadable_answer(check_id, targets, adapter)
        service = layer_check_service_for(adapter, region=region)
    outcome = service.check_and_store(targets, source=Source.API, check_id=check_id, should_continue=deadline.has_time)
    record_check(outcome.summary)
    logger.info("checked layers", check_id=check_id, **outcome.summary.model_dump())
    return CheckResponse(checkId=check_id, results=outcome.results, summary=outcome.summary)


@app.get(
    routes.RESULTS,
    summary="Latest stored verdicts of a repository, or of a digest across repositories",
    description="registryId is not limited to the registries the API checks: this reads only the results table, "
    "which also holds the verdicts of audited accounts.",
    tags=[RESULTS_TAG],
    responses={200: {"description": "One page of stored verdicts"}, **_VALIDATION_RESPONSES},
)
def list_results(
    repository_name: Annotated[
        str | None, Query(alias=routes.REPOSITORY_NAME, pattern=REPOSITORY_NAME_PATTERN, min_length=2, max_length=256)
    ] = None,
    layer_digest: Annotated[str | None, Query(alias=routes.LAYER_DIGEST, pattern=DIGEST_PATTERN)] = None,
    registry_id: Annotated[str | None, Query(alias=routes.REGISTRY_ID, pattern=REGISTRY_ID_PATTERN)] = None,
    region: Annotated[str | None, Query(alias=routes.REGION, pattern=REGION_PATTERN)] = None,
    next_token: Annotated[str | None, Query(alias=routes.NEXT_TOKEN, max_length=2048)] = None,
    limit: Annotated[int, Query(alias=routes.LIMIT, ge=1, le=100)] = 50,
) -> ResultsResponse:
    if (repository_name is None) == (layer_digest is None):
        raise RequestRuleError(
            "query",
            routes.REPOSITORY_NAME if repository_name is None else routes.LAYER_DIGEST,
            "exactly_one_of",
            f"give exactly one of {routes.REPOSITORY_NAME} and {routes.LAYER_DIGEST}",
        )
    if repository_name is not None:
        page = results_table().query_repository(
            registry_id or own_account(app.lambda_context),
            repository_name,
            region=region,
            limit=limit,
            next_token=next_token,
        )
    else:
        page = results_table().query_layer_digest(
            str(layer_digest), registry_id=registry_id, region=region, limit=limit, next_token=next_token
        )
    return ResultsResponse(items=page.items, nextToken=page.next_token)


def _unreadable_answer(check_id: str, targets: list[RepositoryTarget], unreadable: RegistryUnreadable) -> CheckResponse:
    """Every pair is a failure with AWS's code, as a repository-level error is (counted in ``CheckErrors`` too)."""
    reason = bounded_reason(unreadable_reason(unreadable))
    code = bounded_code(unreadable.code)
    results = [
        RepositoryResult(
            registryId=target.registry_id,
            repositoryName=target.repository_name,
            failures=[
                LayerFailure(layerDigest=digest, failureCode=code, failureReason=reason)
                for digest in dict.fromkeys(target.layer_digests)
            ],
        )
        for target in targets
    ]
    summary = CheckSummary.of(results)
    record_check(summary)
    return CheckResponse(checkId=check_id, results=results, summary=summary)


# -- errors, mapped in one place ---------------------------------------------------------------------------------


def _error(status: HTTPStatus, message: str, errors: list[ErrorDetail] | None = None) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=ErrorResponse(message=message, errors=errors or []).model_dump_json(),
    )


@app.exception_handler(RequestValidationError)
def _invalid_request(error: RequestValidationError) -> Response[Any]:
    problems = list(error.errors())
    details = [_detail(problem) for problem in problems[:MAX_REPORTED_ERRORS]]
    if any(detail.rule == "json_invalid" for detail in details):
        note = content_type_note(app.current_event.headers)
        return _error(HTTPStatus.BAD_REQUEST, f"the request body is not valid JSON{note}", details)
    more = f" (first {MAX_REPORTED_ERRORS} of {len(problems)} shown)" if len(problems) > MAX_REPORTED_ERRORS else ""
    return _error(HTTPStatus.UNPROCESSABLE_ENTITY, f"the request breaks {len(problems)} rule(s){more}", details)


def _detail(problem: dict[str, Any]) -> ErrorDetail:
    location, *path = [str(part) for part in problem.get("loc", ())] or ["body"]
    if location == "body" and path and path[0] == "request":
        path = path[1:]  # the body is bound to the parameter "request"; callers know only their own field names
    if problem.get("type") == "json_invalid":
        path = []  # Powertools puts the parser's character offset here, not a field
    return ErrorDetail(
        location=location,
        field=".".join(path),
        rule=str(problem.get("type", "invalid")),
        message=str(problem.get("msg", "invalid value")),
    )


@app.exception_handler(RequestRuleError)
def _request_rule_broken(error: RequestRuleError) -> Response[Any]:
    detail = ErrorDetail(location=error.location, field=error.field, rule=error.rule, message=error.message)
    return _error(HTTPStatus.BAD_REQUEST, error.message, [detail])


@app.exception_handler(RegistryNotServedError)
def _registry_not_served(error: RegistryNotServedError) -> Response[Any]:
    message = (
        f"registryId {error.registry_id} is not a registry this deployment serves: it checks only the registries "
        f"of {REGISTRY_IDS} (by default, its own account's)"
    )
    detail = ErrorDetail(location="body", field="registryId", rule="served_registry", message=message)
    return _error(HTTPStatus.FORBIDDEN, message, [detail])


@app.exception_handler(RegionNotAuditedError)
def _region_not_audited(error: RegionNotAuditedError) -> Response[Any]:
    message = f"region {error.region} is not audited by this deployment ({AUDIT_REGIONS}: {', '.join(error.audited)})"
    detail = ErrorDetail(location="body", field="region", rule="audited_region", message=message)
    return _error(HTTPStatus.FORBIDDEN, message, [detail])


@app.exception_handler(RepositoryOutOfScopeError)
def _repository_out_of_scope(error: RepositoryOutOfScopeError) -> Response[Any]:
    message = (
        f"{', '.join(error.repositories)} outside the audit's repository prefixes "
        f"({AUDIT_REPOSITORY_PREFIXES}: {', '.join(error.prefixes)}): this deployment checks only what it audits"
    )
    detail = ErrorDetail(location="body", field="images", rule="audited_repository", message=message)
    return _error(HTTPStatus.FORBIDDEN, message, [detail])


@app.exception_handler(InventoryBoundError)
def _inventory_bound(error: InventoryBoundError) -> Response[Any]:
    detail = ErrorDetail(location="body", field="images", rule=error.bound, message=str(error))
    return _error(HTTPStatus.BAD_REQUEST, str(error), [detail])


@app.exception_handler(InvalidPageTokenError)
def _invalid_page_token(error: InvalidPageTokenError) -> Response[Any]:
    return _error(
        HTTPStatus.BAD_REQUEST,
        str(error),
        [ErrorDetail(location="query", field=routes.NEXT_TOKEN, rule="issued_token", message=str(error))],
    )


@app.exception_handler(ResultsNotStoredError)
def _results_not_stored(error: ResultsNotStoredError) -> Response[Any]:
    # Not the client's fault and nothing is lost by retrying: latest-state writes are idempotent.
    logger.error("verdicts not stored", unstored=len(error.unstored_keys), reason=error.reason)
    return _error(
        HTTPStatus.SERVICE_UNAVAILABLE,
        f"the check ran but {len(error.unstored_keys)} verdicts could not be stored; retry",
    )


app.include_router(images_api.router)
app.include_router(lifecycle_api.router)


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
