"""The REST door: API Gateway proxy events in, JSON out. Routes translate; the service decides; errors map here only."""

from __future__ import annotations

import base64
import json
import uuid
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from layercheck.contracts.patterns import DIGEST_PATTERN, REGISTRY_ID_PATTERN, REPOSITORY_NAME_PATTERN
from layercheck.dependencies import layer_check_service, results_table
from layercheck.errors import InvalidPageTokenError, RequestRuleError, ResultsNotStoredError
from layercheck.logic.check import RepositoryTarget
from layercheck.models.api import (
    CheckRequest,
    CheckResponse,
    ErrorDetail,
    ErrorResponse,
    ResultsResponse,
)
from layercheck.models.stored import Source
from layercheck.observability import logger, record_check

OPENAPI_TITLE = "layercheck"
OPENAPI_VERSION = "1.0.0"
# A huge malformed request would otherwise answer with one error per element.
MAX_REPORTED_ERRORS = 20

app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(
    title=OPENAPI_TITLE,
    version=OPENAPI_VERSION,
    description="ECR layer-availability checks across repositories. Every call is signed with SigV4 (AWS_IAM).",
)
app.enable_swagger(path="/swagger")

_VALIDATION_RESPONSES: dict[int, OpenAPIResponse] = {
    422: {"description": "The request breaks a rule", "content": {"application/json": {"model": ErrorResponse}}},
    400: {"description": "A parameter is malformed", "content": {"application/json": {"model": ErrorResponse}}},
}


def _default_registry_id() -> str:
    """ECR's default registry is the caller's account: the account in this function's ARN."""
    return str(app.lambda_context.invoked_function_arn.split(":")[4])


@app.post(
    "/checks",
    summary="Check layer digests in repositories",
    description="Answers every (repository, digest) pair in ECR's own Layer / LayerFailure shapes and stores them.",
    responses={200: {"description": "Every pair answered"}, **_VALIDATION_RESPONSES},
)
def create_check(request: Annotated[CheckRequest, Body()]) -> CheckResponse:
    registry_id = request.registryId or _default_registry_id()
    check_id = app.current_event.request_context.request_id or str(uuid.uuid4())
    targets = [RepositoryTarget(registry_id, name, request.layerDigests) for name in request.repositoryNames]
    outcome = layer_check_service().check_and_store(targets, source=Source.API, check_id=check_id)
    record_check(outcome.summary)
    logger.info("checked layers", check_id=check_id, **outcome.summary.model_dump())
    return CheckResponse(checkId=check_id, results=outcome.results, summary=outcome.summary)


@app.get(
    "/results",
    summary="Latest stored verdicts of a repository, or of a digest across repositories",
    responses={200: {"description": "One page of stored verdicts"}, **_VALIDATION_RESPONSES},
)
def list_results(
    repositoryName: Annotated[str | None, Query(pattern=REPOSITORY_NAME_PATTERN, min_length=2, max_length=256)] = None,  # noqa: N803
    layerDigest: Annotated[str | None, Query(pattern=DIGEST_PATTERN)] = None,  # noqa: N803
    registryId: Annotated[str | None, Query(pattern=REGISTRY_ID_PATTERN)] = None,  # noqa: N803
    nextToken: Annotated[str | None, Query(max_length=2048)] = None,  # noqa: N803
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> ResultsResponse:
    if (repositoryName is None) == (layerDigest is None):
        raise RequestRuleError(
            "query",
            "repositoryName" if repositoryName is None else "layerDigest",
            "exactly_one_of",
            "give exactly one of repositoryName and layerDigest",
        )
    if repositoryName is not None:
        page = results_table().query_repository(
            registryId or _default_registry_id(), repositoryName, limit=limit, next_token=nextToken
        )
    else:
        page = results_table().query_layer_digest(
            str(layerDigest), registry_id=registryId, limit=limit, next_token=nextToken
        )
    return ResultsResponse(items=page.items, nextToken=page.next_token)


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
        return _error(HTTPStatus.BAD_REQUEST, "the request body is not valid JSON", details)
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


@app.exception_handler(InvalidPageTokenError)
def _invalid_page_token(error: InvalidPageTokenError) -> Response[Any]:
    return _error(
        HTTPStatus.BAD_REQUEST,
        str(error),
        [ErrorDetail(location="query", field="nextToken", rule="issued_token", message=str(error))],
    )


@app.exception_handler(ResultsNotStoredError)
def _results_not_stored(error: ResultsNotStoredError) -> Response[Any]:
    # Not the client's fault and nothing is lost by retrying: latest-state writes are idempotent.
    logger.error("verdicts not stored", unstored=len(error.unstored_keys), reason=error.reason)
    return _error(
        HTTPStatus.SERVICE_UNAVAILABLE,
        f"the check ran but {len(error.unstored_keys)} verdicts could not be stored; retry",
    )


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    unreadable = _unreadable_body(event)
    if unreadable is not None:
        return _proxy_error(HTTPStatus.BAD_REQUEST, "the request body is not valid JSON", unreadable)
    return app.resolve(event, context)


def _unreadable_body(event: dict[str, Any]) -> ErrorDetail | None:
    """Bodies Powertools' validation cannot turn into a 4xx by itself: it maps only ``json.JSONDecodeError``, while
    non-UTF-8 bytes, nesting deeper than the parser's recursion limit and integers longer than Python's 4,300-digit
    limit raise other errors."""
    body = event.get("body")
    if not body:
        return None
    try:
        text = base64.b64decode(body).decode() if event.get("isBase64Encoded") else str(body)
        json.loads(text)
    except json.JSONDecodeError:
        return None  # Powertools reports these itself, with the position
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError and binascii.Error are ValueErrors
        return ErrorDetail(location="body", field="", rule="json_invalid", message=type(error).__name__)
    return None


def _proxy_error(status: HTTPStatus, message: str, detail: ErrorDetail) -> dict[str, Any]:
    return {
        "statusCode": int(status),
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": ErrorResponse(message=message, errors=[detail]).model_dump_json(),
        "isBase64Encoded": False,
    }
