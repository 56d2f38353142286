"""``check-image REPOSITORY[:TAG|@DIGEST]``: the image's verdict, by the same walk and judgement as the push door
(``layercheck.logic.image_check``): index → platform manifests → config + layers, every blob checked."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import botocore.session

from layercheck.integrations.ecr import EcrRegistry
from layercheck.logic.catalog import IMAGE_ACTIVE
from layercheck.logic.image_check import ImageCheckService
from layercheck.logic.images import ImageRef
from layercheck.models.stored import Source, StoredItem
from layercheck_cli.image_api import printed_verdict
from layercheck_cli.images import parse_image_reference
from layercheck_cli.multi import default_registry_id, ecr_client
from layercheck_cli.session import ConnectionOptions


class _NoStore:
    """The command line keeps nothing: verdicts are printed, not written to the results table."""

    def put_verdicts(self, items: Sequence[StoredItem]) -> int:
        return 0


def check_image(
    reference: str,
    session: botocore.session.Session,
    options: ConnectionOptions,
    *,
    registry_id: str | None,
    workers: int,
) -> dict[str, Any]:
    image = parse_image_reference(reference)
    if image.region is not None:
        # A full image URI names where the image lives: its Region wins over the configured one (and needs none).
        options = dataclasses.replace(options, region=image.region)
    client = ecr_client(session, options, workers=workers)
    registry = registry_id or image.registry_id or default_registry_id(session, options, client)
    described = client.describe_images(
        registryId=registry, repositoryName=image.repository_name, imageIds=[image.image_id]
    )["imageDetails"][0]
    ecr = EcrRegistry(client)
    service = ImageCheckService(registry=ecr, manifests=ecr, store=_NoStore(), workers=workers)
    # The storage status as ECR lists it: an archived image is judged ARCHIVED without being read, as the API does.
    image_ref = ImageRef(
        described["imageDigest"],
        tuple(described.get("imageTags", [])),
        described.get("imageStatus") or IMAGE_ACTIVE,
        described.get("lastArchivedAt"),
    )
    outcome = service.check_images(registry, image.repository_name, [image_ref], source=Source.API)
    [verdict] = outcome.verdicts
    # The command line stores nothing: the check id of a verdict never written would name nothing.
    document = printed_verdict(verdict.model_dump(mode="json", exclude={"checkId"}))
    document["layerSummary"] = outcome.layer_summary.model_dump(mode="json")
    return document
