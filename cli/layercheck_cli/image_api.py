"""``check-image --api-url``: the images checked by the deployed API (``POST /images/checks``), signed as every
``--api-url`` request is, and printed in the shape of the local check's verdicts.

One request names one registry and Region and 1-100 images: the images are grouped by the registry and Region their
references name (``--registry-id``, a full image URI), in calls of at most 100, and the answers put back in order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import botocore.session

from layercheck.contracts import routes
from layercheck.logic.chunks import chunked
from layercheck.models.images_api import MAX_IMAGES_PER_CHECK
from layercheck_cli import api
from layercheck_cli.errors import CliError
from layercheck_cli.image_inputs import RequestedImage
from layercheck_cli.session import ConnectionOptions

# Fields of a stored verdict that say nothing to someone reading a check (the API's checkId is kept: it is the id
# under which the API stored the verdict).
_STORAGE_FIELDS = frozenset({"itemType", "source", "expiresAt"})


def printed_verdict(verdict: dict[str, Any]) -> dict[str, Any]:
    """A verdict as ``check-image`` prints it, whichever way it was checked: no storage fields, no nulls."""
    return {key: value for key, value in verdict.items() if key not in _STORAGE_FIELDS and value is not None}


def image_check_requests(
    images: Sequence[RequestedImage], registry_id: str | None
) -> Iterator[tuple[list[int], dict[str, Any]]]:
    """``POST /images/checks`` bodies, each with the positions of its images: per registry and Region, 100 a call."""
    groups: dict[tuple[str | None, str | None], list[int]] = {}
    for position, image in enumerate(images):
        groups.setdefault((registry_id or image.reference.registry_id, image.reference.region), []).append(position)
    for (registry, region), positions in groups.items():
        for chunk in chunked(positions, MAX_IMAGES_PER_CHECK):
            body: dict[str, Any] = {}
            if registry:
                body["registryId"] = registry
            if region:
                body["region"] = region
            body["images"] = [
                {"repositoryName": images[p].reference.repository_name, **images[p].reference.image_id} for p in chunk
            ]
            yield list(chunk), body


def check_images_through_api(
    images: Sequence[RequestedImage],
    api_url: str,
    session: botocore.session.Session,
    options: ConnectionOptions,
    *,
    registry_id: str | None,
) -> list[dict[str, Any]]:
    """The API's verdict of each image, in order, each with its answer's ``checkId``. Requests are signed for the
    API's Region (an ``execute-api`` host's, else the configured one), never for an image URI's."""
    verdicts: list[dict[str, Any]] = [{} for _ in images]
    url = api.route_url(api_url, routes.IMAGE_CHECKS)
    for positions, body in image_check_requests(images, registry_id):
        answer = api.call_api(session, options, "POST", url, body)
        answered = answer.get("verdicts")
        if not isinstance(answered, list) or len(answered) != len(positions):
            raise CliError(
                f"The layercheck API answered POST {routes.IMAGE_CHECKS} with no verdict for each of the "
                f"{len(positions)} images asked: {answer!r:.200}"
            )
        for position, verdict in zip(positions, answered, strict=True):
            if not isinstance(verdict, dict):
                raise CliError(f"The layercheck API answered POST {routes.IMAGE_CHECKS} with a verdict that is not an "
                               f"object: {verdict!r:.200}")  # fmt: skip
            verdicts[position] = printed_verdict({**verdict, "checkId": answer.get("checkId")})
    return verdicts
