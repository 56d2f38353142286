"""``POST /checks``, the API's busiest route, answered without Powertools' Event Handler.

The handler sends an API Gateway event for ``POST /checks`` here and every other one to the REST resolver
(doors/api.py). That resolver, its OpenAPI document and validation machinery, and the image and lifecycle routes with
their models are then never imported for a check: a cold start that answers a check pays only for what the check
uses. The route is still declared in the resolver (the OpenAPI document and ``GET /swagger`` describe it, and a path
the handler does not match exactly reaches it there), and both call :func:`answer_check`.

What a client sees is the resolver's answer, byte for byte: the body read by ``request_body.read_json_body``,
validated by the same model with Powertools' rules (``from_attributes``, a list body read as its first element, no
body a missing field), every error answered by doors/api_errors.py, the success serialized as Powertools serializes a
route's return value (``model_dump(mode="json", by_alias=True)``, compact JSON), in the REST proxy shape.
tests/integration/test_checks_door.py holds the two doors to the same answers.
"""

from __future__ import annotations

import json
import uuid
from http import HTTPStatus
from typing import Any

from pydantic import ValidationError

from layercheck import dependencies as root
from layercheck.dependencies import Services
from layercheck.doors.api_access import (
    audited_region,
    own_account,
    served_registry,
    unreadable_reason,
)
from layercheck.doors.api_errors import JSON_CONTENT_TYPE, domain_error_answer, invalid_request, lower_case_headers
from layercheck.doors.request_body import UnreadableBodyError, read_json_body
from layercheck.logic.check import RepositoryTarget
from layercheck.logic.deadline import Deadline
from layercheck.logic.failure_text import bounded_code, bounded_reason
from layercheck.logic.registries import RegistryUnreadable
from layercheck.models.api import CheckRequest, CheckResponse
from layercheck.models.stored import Source
from layercheck.models.verdicts import CheckSummary, LayerFailure, RepositoryResult
from layercheck.observability import logger, record_check

# Powertools' missing-field error for an absent body (``get_missing_field_error``), the fields our answer reads.
_BODY_MISSING = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}


class InvalidCheckRequestError(Exception):
    """The body is not a valid ``CheckRequest``; ``problems`` in pydantic's shape, located in the body."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


def handle(event: dict[str, Any], context: Any, services: Services | None = None) -> dict[str, Any]:
    try:
        request = read_check_request(event)
        request_id = event["requestContext"]["requestId"]  # read after validation, as the resolver's route does
        handed = services or root.services(own_account(context))
        handed.registry_clients.start_invocation()  # a registry found unreadable is asked again, once per request
        response = answer_check(request, request_id=request_id, lambda_context=context, services=handed)
    except InvalidCheckRequestError as invalid:
        answer = invalid_request(invalid.problems, lower_case_headers(event.get("headers")))
        return proxy_response(answer.status, answer.json())
    except Exception as error:
        mapped = domain_error_answer(error)
        if mapped is None:
            raise  # not a client's mistake: the invocation fails, as it does behind the resolver
        return proxy_response(mapped.status, mapped.json())
    return proxy_response(HTTPStatus.OK, _compact_json(response.model_dump(mode="json", by_alias=True)))


def read_check_request(event: dict[str, Any]) -> CheckRequest:
    """The body as Powertools' request validation reads a single body parameter: a JSON list stands for its first
    element (the parameter is not a list), no body is a missing body, and pydantic validates with
    ``from_attributes``; every problem's location starts with ``body``."""
    try:
        body = read_json_body(event)
    except UnreadableBodyError as error:
        raise InvalidCheckRequestError(error.problems) from error
    if body is None:
        raise InvalidCheckRequestError([dict(_BODY_MISSING)])
    if isinstance(body, list) and body:
        body = body[0]
    try:
        return CheckRequest.model_validate(body, from_attributes=True)
    except ValidationError as error:
        problems = [{**problem, "loc": ("body", *problem["loc"])} for problem in error.errors()]
        raise InvalidCheckRequestError(problems) from error


def answer_check(
    request: CheckRequest, *, request_id: str | None, lambda_context: Any, services: Services
) -> CheckResponse:
    """Check every (repository, digest) pair in ECR, store the verdicts, and answer them (both doors' route)."""
    registry_id = served_registry(services, request.registryId)
    region = audited_region(services, request.region)
    deadline = Deadline.starting_now(
        lambda_context.get_remaining_time_in_millis, services.settings.api_deadline_seconds
    )
    check_id = request_id or str(uuid.uuid4())
    targets = [RepositoryTarget(registry_id, name, request.layerDigests) for name in request.repositoryNames]
    served = services.serve(registry_id, region)
    if isinstance(served, RegistryUnreadable):
        return _unreadable_answer(check_id, targets, served)
    service = served.layer_checks()
    outcome = service.check_and_store(targets, source=Source.API, check_id=check_id, should_continue=deadline.has_time)
    record_check(outcome.summary)
    logger.info("checked layers", check_id=check_id, **outcome.summary.model_dump())
    return CheckResponse(checkId=check_id, results=outcome.results, summary=outcome.summary)


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


def _compact_json(document: Any) -> str:
    """Powertools' serializer for a JSON answer: ``json.dumps`` with no spaces (ASCII, as its default)."""
    return json.dumps(document, separators=(",", ":"))


def proxy_response(status: int, body: str) -> dict[str, Any]:
    """A JSON answer in API Gateway's REST proxy shape, as Powertools' REST resolver builds it."""
    return {
        "statusCode": status,
        "body": body,
        "isBase64Encoded": False,
        "multiValueHeaders": {"Content-Type": [JSON_CONTENT_TYPE]},
    }
