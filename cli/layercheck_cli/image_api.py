"""``check-image --api-url``: the image checked by the deployed API (``POST /images/checks``), signed as every
``--api-url`` request is, and printed in the shape of the local check's verdict."""

from __future__ import annotations

from typing import Any

import botocore.session

from layercheck.contracts import routes
from layercheck_cli import api
from layercheck_cli.errors import CliError
from layercheck_cli.images import parse_image_reference
from layercheck_cli.session import ConnectionOptions

COMPLETE = "COMPLETE"
# Fields of a stored verdict that say nothing to someone reading a check (the API's checkId is kept: it is the id
# under which the API stored the verdict).
_STORAGE_FIELDS = frozenset({"itemType", "source", "expiresAt"})


def printed_verdict(verdict: dict[str, Any]) -> dict[str, Any]:
    """A verdict as ``check-image`` prints it, whichever way it was checked: no storage fields, no nulls."""
    return {key: value for key, value in verdict.items() if key not in _STORAGE_FIELDS and value is not None}


def is_complete(verdict: dict[str, Any]) -> bool:
    """``--fail-on-missing``'s gate: anything but COMPLETE (BROKEN, UNCHECKED, ARCHIVED) fails it."""
    return verdict.get("status") == COMPLETE


def image_check_request(reference: str, registry_id: str | None) -> dict[str, Any]:
    """``POST /images/checks``'s body for one image: a full image URI names the registry and the Region."""
    image = parse_image_reference(reference)
    body: dict[str, Any] = {}
    registry = registry_id or image.registry_id
    if registry:
        body["registryId"] = registry
    if image.region:
        body["region"] = image.region
    body["images"] = [{"repositoryName": image.repository_name, **image.image_id}]
    return body


def check_image_through_api(
    reference: str,
    api_url: str,
    session: botocore.session.Session,
    options: ConnectionOptions,
    *,
    registry_id: str | None,
) -> dict[str, Any]:
    """The API's verdict of one image, with the answer's ``checkId``. The request is signed for the API's Region
    (an ``execute-api`` host's, else the configured one), never for the image URI's."""
    body = image_check_request(reference, registry_id)
    answer = api.call_api(session, options, "POST", api.route_url(api_url, routes.IMAGE_CHECKS), body)
    verdicts = answer.get("verdicts")
    if not isinstance(verdicts, list) or len(verdicts) != 1 or not isinstance(verdicts[0], dict):
        raise CliError(f"The layercheck API answered POST {routes.IMAGE_CHECKS} without one verdict: {answer!r:.200}")
    return printed_verdict({**verdicts[0], "checkId": answer.get("checkId")})
