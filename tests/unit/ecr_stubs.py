"""botocore Stubber helpers for ECR behaviour moto does not have: responses in ECR's real shapes (the Stubber checks
every response and request against botocore's ECR service model), and the services wired over one stubbed client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.stub import Stubber

from layercheck.integrations.aws import ECR_MAX_RESULTS
from layercheck.integrations.ecr import EcrRegistry
from layercheck.logic.image_check import ImageCheckService
from layercheck.logic.images import ACCEPTED_MEDIA_TYPES, OCI_INDEX, OCI_MANIFEST
from layercheck.logic.push import PushCheckService
from layercheck.logic.recheck import RecheckPolicy
from tests.unit.test_images_service import FakeStore

REGISTRY = "123456789012"
REPOSITORY = "team-a/api"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"


def d(label: str) -> str:
    return "sha256:" + label.encode().hex().ljust(64, "0")[:64]


def manifest(config: str, *layers: str) -> str:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": d(config), "size": 1},
            "layers": [{"mediaType": LAYER_TYPE, "digest": d(x), "size": 1} for x in layers],
        }
    )


def index(*children: str) -> str:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_MANIFEST, "digest": d(x), "size": 1} for x in children],
        }
    )


def stubbed_ecr() -> Iterator[Stubbed]:
    """For a fixture: ``yield from stubbed_ecr()``; every queued answer must have been asked for by the end."""
    client = boto3.client("ecr", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield Stubbed(client, stubber)
        stubber.assert_no_pending_responses()


@dataclass
class Stubbed:
    client: Any
    stubber: Stubber

    def registry(self, clock: Any = None) -> EcrRegistry:
        return EcrRegistry(self.client) if clock is None else EcrRegistry(self.client, clock=clock)

    def images(self, store: FakeStore | None = None, registry: EcrRegistry | None = None) -> ImageCheckService:
        ecr = registry or self.registry()
        return ImageCheckService(
            registry=ecr, manifests=ecr, store=store or FakeStore(), workers=1, pull_through=ecr, region="us-east-1"
        )

    def push(self, budget: float, slept: list[float], store: FakeStore | None = None) -> PushCheckService:
        images = self.images(store)
        return PushCheckService(
            catalog=images.manifests,  # type: ignore[arg-type]
            images=images,
            recheck=RecheckPolicy(budget, sleep=slept.append),
        )

    # -- one expected call each, in ECR's shapes --

    def describe_image(self, digest: str, tags: list[str]) -> None:
        self.stubber.add_response(
            "describe_images",
            {"imageDetails": [{"repositoryName": REPOSITORY, "imageDigest": digest, "imageTags": tags}]},
            {"registryId": REGISTRY, "repositoryName": REPOSITORY, "imageIds": [{"imageDigest": digest}]},
        )

    def batch_get_image(
        self, documents: dict[str, str], failures: dict[str, str] | None = None, repository: str = REPOSITORY
    ) -> None:
        """``documents`` by digest; ``failures`` maps a digest to ECR's ImageFailureCode."""
        asked = [*documents, *(failures or {})]
        self.stubber.add_response(
            "batch_get_image",
            {
                "images": [
                    {
                        "registryId": REGISTRY,
                        "repositoryName": repository,
                        "imageId": {"imageDigest": digest},
                        "imageManifest": text,
                        "imageManifestMediaType": json.loads(text)["mediaType"],
                    }
                    for digest, text in documents.items()
                ],
                "failures": [
                    {"imageId": {"imageDigest": digest}, "failureCode": code, "failureReason": f"{code} for {digest}"}
                    for digest, code in (failures or {}).items()
                ],
            },
            {
                "registryId": REGISTRY,
                "repositoryName": repository,
                "imageIds": [{"imageDigest": digest} for digest in asked],
                "acceptedMediaTypes": list(ACCEPTED_MEDIA_TYPES),
            },
        )

    def check_layers(
        self,
        asked: list[str],
        *,
        available: tuple[str, ...] = (),
        unavailable: tuple[str, ...] = (),
        archived: tuple[str, ...] = (),
        repository: str = REPOSITORY,
    ) -> None:
        """One BatchCheckLayerAvailability answer: the digests not named as layers are MissingLayerDigest failures."""
        states = {**dict.fromkeys(available, "AVAILABLE"), **dict.fromkeys(unavailable, "UNAVAILABLE")}
        states |= dict.fromkeys(archived, "ARCHIVED")
        self.stubber.add_response(
            "batch_check_layer_availability",
            {
                "layers": [
                    {"layerDigest": x, "layerAvailability": states[x], "layerSize": 1, "mediaType": LAYER_TYPE}
                    for x in asked
                    if x in states
                ],
                "failures": [
                    {"layerDigest": x, "failureCode": "MissingLayerDigest", "failureReason": "Layer not found"}
                    for x in asked
                    if x not in states
                ],
            },
            {"registryId": REGISTRY, "repositoryName": repository, "layerDigests": asked},
        )

    def pull_through_rules(self, *pages: list[tuple[str, str]]) -> None:
        """DescribePullThroughCacheRules, one page per argument, chained by nextToken as ECR does."""
        for number, rules in enumerate(pages):
            expected: dict[str, Any] = {"registryId": REGISTRY, "maxResults": ECR_MAX_RESULTS}
            if number:
                expected["nextToken"] = f"rules-{number}"
            response: dict[str, Any] = {
                "pullThroughCacheRules": [
                    {"ecrRepositoryPrefix": prefix, "upstreamRegistryUrl": url, "registryId": REGISTRY}
                    for prefix, url in rules
                ]
            }
            if number + 1 < len(pages):
                response["nextToken"] = f"rules-{number + 1}"
            self.stubber.add_response("describe_pull_through_cache_rules", response, expected)
