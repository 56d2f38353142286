"""Every error answer of the HTTP API, mapped in one place: the exception, the status and the ``ErrorResponse`` body.

Plain Python over the domain exceptions and pydantic's error dicts, with no Powertools import: the REST resolver
(doors/api.py) registers each mapping as an exception handler, and the light ``POST /checks`` door (doors/checks.py)
answers with the same functions, so that the two doors cannot answer the same request differently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, NamedTuple

from layercheck.contracts import routes
from layercheck.contracts.environment import AUDIT_REGIONS, AUDIT_REPOSITORY_PREFIXES, REGISTRY_IDS
from layercheck.doors.request_body import JSON_INVALID
from layercheck.errors import (
    InvalidPageTokenError,
    InventoryBoundError,
    RegionNotAuditedError,
    RegistryNotServedError,
    RepositoryOutOfScopeError,
    RequestRuleError,
    ResultsNotStoredError,
)
from layercheck.models.api import ErrorDetail, ErrorResponse
from layercheck.observability import logger

# A huge malformed request would otherwise answer with one error per element.
MAX_REPORTED_ERRORS = 20
JSON_CONTENT_TYPE = "application/json"


class ErrorAnswer(NamedTuple):
    status: HTTPStatus
    body: ErrorResponse

    def json(self) -> str:
        return self.body.model_dump_json()


def _answer(status: HTTPStatus, message: str, errors: list[ErrorDetail] | None = None) -> ErrorAnswer:
    return ErrorAnswer(status, ErrorResponse(message=message, errors=errors or []))


def content_type_note(headers: Mapping[str, Any]) -> str:
    """`` (sent as <type>; ...)`` when the request did not say it was JSON, to explain a refused body.
    ``headers``: case-insensitive, as Powertools' event gives them (``lower_case_headers`` for a raw event)."""
    content_type = str(headers.get("content-type") or "").strip()
    if not content_type or content_type.startswith(JSON_CONTENT_TYPE):
        return ""
    return f" (sent with Content-Type {content_type}; this API reads every body as JSON: send {JSON_CONTENT_TYPE})"


def lower_case_headers(headers: Mapping[str, Any] | None) -> dict[str, Any]:
    """A raw event's headers keyed in lower case (the last of two spellings wins, as in Powertools' own dict)."""
    return {str(name).lower(): value for name, value in (headers or {}).items()}


def invalid_request(problems: Sequence[Mapping[str, Any]], headers: Mapping[str, Any]) -> ErrorAnswer:
    """pydantic's errors (as Powertools' request validation raises them: location first) as a 422, or a 400 when the
    body is not JSON at all."""
    details = [_detail(problem) for problem in problems[:MAX_REPORTED_ERRORS]]
    if any(detail.rule == JSON_INVALID for detail in details):
        return _answer(
            HTTPStatus.BAD_REQUEST, f"the request body is not valid JSON{content_type_note(headers)}", details
        )
    more = f" (first {MAX_REPORTED_ERRORS} of {len(problems)} shown)" if len(problems) > MAX_REPORTED_ERRORS else ""
    return _answer(HTTPStatus.UNPROCESSABLE_ENTITY, f"the request breaks {len(problems)} rule(s){more}", details)


def _detail(problem: Mapping[str, Any]) -> ErrorDetail:
    location, *path = [str(part) for part in problem.get("loc", ())] or ["body"]
    if location == "body" and path and path[0] == "request":
        path = path[1:]  # the body is bound to the parameter "request"; callers know only their own field names
    if problem.get("type") == JSON_INVALID:
        path = []  # Powertools puts the parser's character offset here, not a field
    return ErrorDetail(
        location=location,
        field=".".join(path),
        rule=str(problem.get("type", "invalid")),
        message=str(problem.get("msg", "invalid value")),
    )


def request_rule_broken(error: RequestRuleError) -> ErrorAnswer:
    detail = ErrorDetail(location=error.location, field=error.field, rule=error.rule, message=error.message)
    return _answer(HTTPStatus.BAD_REQUEST, error.message, [detail])


def registry_not_served(error: RegistryNotServedError) -> ErrorAnswer:
    message = (
        f"registryId {error.registry_id} is not a registry this deployment serves: it checks only the registries "
        f"of {REGISTRY_IDS} (by default, its own account's)"
    )
    detail = ErrorDetail(location="body", field="registryId", rule="served_registry", message=message)
    return _answer(HTTPStatus.FORBIDDEN, message, [detail])


def region_not_audited(error: RegionNotAuditedError) -> ErrorAnswer:
    message = f"region {error.region} is not audited by this deployment ({AUDIT_REGIONS}: {', '.join(error.audited)})"
    detail = ErrorDetail(location="body", field="region", rule="audited_region", message=message)
    return _answer(HTTPStatus.FORBIDDEN, message, [detail])


def repository_out_of_scope(error: RepositoryOutOfScopeError) -> ErrorAnswer:
    message = (
        f"{', '.join(error.repositories)} outside the audit's repository prefixes "
        f"({AUDIT_REPOSITORY_PREFIXES}: {', '.join(error.prefixes)}): this deployment checks only what it audits"
    )
    detail = ErrorDetail(location="body", field="images", rule="audited_repository", message=message)
    return _answer(HTTPStatus.FORBIDDEN, message, [detail])


def inventory_bound(error: InventoryBoundError) -> ErrorAnswer:
    detail = ErrorDetail(location="body", field="images", rule=error.bound, message=str(error))
    return _answer(HTTPStatus.BAD_REQUEST, str(error), [detail])


def invalid_page_token(error: InvalidPageTokenError) -> ErrorAnswer:
    detail = ErrorDetail(location="query", field=routes.NEXT_TOKEN, rule="issued_token", message=str(error))
    return _answer(HTTPStatus.BAD_REQUEST, str(error), [detail])


def results_not_stored(error: ResultsNotStoredError) -> ErrorAnswer:
    # Not the client's fault and nothing is lost by retrying: latest-state writes are idempotent.
    logger.error("verdicts not stored", unstored=len(error.unstored_keys), reason=error.reason)
    return _answer(
        HTTPStatus.SERVICE_UNAVAILABLE,
        f"the check ran but {len(error.unstored_keys)} verdicts could not be stored; retry",
    )


# The domain errors every route may raise, and their answers (request validation is mapped by ``invalid_request``).
DOMAIN_ERRORS: dict[type[Exception], Callable[[Any], ErrorAnswer]] = {
    RequestRuleError: request_rule_broken,
    RegistryNotServedError: registry_not_served,
    RegionNotAuditedError: region_not_audited,
    RepositoryOutOfScopeError: repository_out_of_scope,
    InventoryBoundError: inventory_bound,
    InvalidPageTokenError: invalid_page_token,
    ResultsNotStoredError: results_not_stored,
}


def domain_error_answer(error: Exception) -> ErrorAnswer | None:
    """The answer of the nearest mapped class in ``error``'s MRO, as Powertools looks exception handlers up; None when
    nothing maps it (the error then propagates: a bug, not a client's mistake)."""
    for error_class in type(error).__mro__:
        answer = DOMAIN_ERRORS.get(error_class)
        if answer is not None:
            return answer(error)
    return None
