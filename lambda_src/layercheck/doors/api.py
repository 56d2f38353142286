"""The REST door: API Gateway proxy events in, JSON out. Routes translate; the service decides; errors are mapped
once (doors/api_errors.py) and registered here.

Every route and the OpenAPI document live here. The handler answers ``POST /checks`` through its light door
(doors/checks.py) without this module; the route below is what the document describes and what a request the
handler does not recognise as exactly ``POST /checks`` reaches, and both call ``checks.answer_check``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, Server, Tag
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from layercheck import dependencies as root
from layercheck.contracts import routes
from layercheck.contracts.patterns import DIGEST_PATTERN, REGION_PATTERN, REGISTRY_ID_PATTERN, REPOSITORY_NAME_PATTERN
from layercheck.dependencies import Services
from layercheck.doors import images_api, lifecycle_api
from layercheck.doors.api_access import SERVICES, check_error_answers, error_answer, handed, own_account
from layercheck.doors.api_errors import DOMAIN_ERRORS, ErrorAnswer, invalid_request
from layercheck.doors.checks import answer_check
from layercheck.doors.json_body import read_bodies_as_json
from layercheck.errors import RequestRuleError
from layercheck.models.api import CheckRequest, CheckResponse, ResultsResponse

OPENAPI_TITLE = "layercheck"
OPENAPI_VERSION = "1.0.0"
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
    routes.resolver_path(routes.CHECKS),
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
    request_id = app.current_event.request_context.request_id
    return answer_check(request, request_id=request_id, lambda_context=app.lambda_context, services=handed(app.context))


@app.get(
    routes.resolver_path(routes.RESULTS),
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
    services = handed(app.context)
    if repository_name is not None:
        page = services.results.query_repository(
            registry_id or services.own_account,
            repository_name,
            region=region or services.settings.home_region(),
            limit=limit,
            next_token=next_token,
        )
    else:
        page = services.results.query_layer_digest(
            str(layer_digest), registry_id=registry_id, region=region, limit=limit, next_token=next_token
        )
    return ResultsResponse(items=page.items, nextToken=page.next_token)


# -- errors, mapped in one place (doors/api_errors.py) ------------------------------------------------------------


def _response(answer: ErrorAnswer) -> Response[Any]:
    return Response(status_code=answer.status, content_type=content_types.APPLICATION_JSON, body=answer.json())


@app.exception_handler(RequestValidationError)
def _invalid_request(error: RequestValidationError) -> Response[Any]:
    return _response(invalid_request(list(error.errors()), app.current_event.headers))


def _mapped(answer: Callable[[Any], ErrorAnswer]) -> Callable[[Any], Response[Any]]:
    return lambda error: _response(answer(error))


for _error_type, _answer in DOMAIN_ERRORS.items():
    app.exception_handler(_error_type)(_mapped(_answer))
app.include_router(images_api.router)
app.include_router(lifecycle_api.router)


def handle(event: dict[str, Any], context: Any, services: Services | None = None) -> dict[str, Any]:
    """Resolve the request with its ``Services`` in the resolver's context (the container's unless handed others)."""
    handed = services or root.services(own_account(context))
    handed.registry_clients.start_invocation()  # a registry found unreadable is asked again, once per request
    app.context[SERVICES] = handed  # cleared when the request is answered
    return app.resolve(event, context)
