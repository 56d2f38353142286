"""``check-image`` checked here: the images' verdicts by the same use case as ``POST /images/checks``
(``layercheck.logic.image_requests.RequestedImages``: tags resolved with DescribeImages, each image described, walked
and judged by ``ImageCheckService``: index → platform manifests → config + layers, every blob checked), with nothing
stored. Images are grouped by registry and Region (a full image URI names its own); each group is one use case.

An image ECR does not hold (or cannot be read) is answered UNCHECKED with ECR's code, as the API answers it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import botocore.session

from layercheck.integrations.ecr import EcrRegistry
from layercheck.logic.image_check import ImageCheckService
from layercheck.logic.image_requests import RequestedImages
from layercheck.models.images_api import ImageIdentifier
from layercheck.models.stored import StoredItem
from layercheck.models.verdicts import CheckSummary
from layercheck_cli.image_api import printed_verdict
from layercheck_cli.image_inputs import RequestedImage
from layercheck_cli.multi import ecr_client
from layercheck_cli.preflight import registry_of_caller
from layercheck_cli.session import ConnectionOptions

# The command line stores nothing: a verdict's checkId (and "stored") would name nothing.
_NOT_STORED = ("checkId", "stored")
CHECK_ID = "layercheck-cli"


class _NoStore:
    """The command line keeps nothing: verdicts are printed, not written to the results table."""

    def put_verdicts(self, items: Sequence[StoredItem]) -> int:
        return 0


@dataclass(frozen=True)
class CheckedImages:
    verdicts: list[dict[str, Any]]  # one per image asked, in order
    layer_summary: CheckSummary


def identifier(image: RequestedImage) -> ImageIdentifier:
    return ImageIdentifier(repositoryName=image.reference.repository_name, **image.reference.image_id)


def check_images(
    images: Sequence[RequestedImage],
    session: botocore.session.Session,
    options: ConnectionOptions,
    *,
    registry_id: str | None,
    workers: int,
) -> CheckedImages:
    groups: dict[tuple[str | None, str | None], list[int]] = {}
    for position, image in enumerate(images):
        groups.setdefault((registry_id or image.reference.registry_id, image.reference.region), []).append(position)
    verdicts: list[dict[str, Any]] = [{} for _ in images]
    summaries: list[CheckSummary] = []
    for (registry, region), positions in groups.items():
        # A full image URI names where the image lives: its Region wins over the configured one (and needs none).
        group_options = dataclasses.replace(options, region=region) if region else options
        client = ecr_client(session, group_options, workers=workers)
        ecr = EcrRegistry(client)
        region_here = client.meta.region_name
        service = ImageCheckService(registry=ecr, manifests=ecr, store=_NoStore(), workers=workers, region=region_here)
        service.pull_through = ecr  # a pull-through cache fetches missing layers on pull, as the API judges it
        requested = RequestedImages(
            lookup=ecr,
            service=service,
            registry_id=registry or registry_of_caller(session, group_options, client),
            region=region_here,
        )
        outcome = requested.check(
            [identifier(images[position]) for position in positions], check_id=CHECK_ID, should_continue=lambda: True
        )
        for position, verdict in zip(positions, outcome.verdicts, strict=True):
            document = printed_verdict(verdict.model_dump(mode="json"))
            verdicts[position] = {key: value for key, value in document.items() if key not in _NOT_STORED}
        summaries.append(outcome.layer_summary)
    totals = {name: sum(getattr(summary, name) for summary in summaries) for name in CheckSummary.model_fields}
    return CheckedImages(verdicts, CheckSummary(**totals))
