"""Images in use: who runs an image (``usedBy``) and the inventory entries other runtimes report (POST /inventory).

``UsedBy`` is the shape of DESIGN.md's ``usedBy`` items on image verdicts and in "Image Verdict Changed" events;
``InventoryEntry`` is one reported image as the inventory store keeps it (``integrations/inventory_store.py``).

Wiring (phase B): ``StoredImageVerdict`` gains ``usedBy: list[UsedBy]`` (left out when empty); the audit fills it from
``logic.in_use.discover_in_use``'s answer.
"""

from __future__ import annotations

from typing import Annotated, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from layercheck.contracts.patterns import (
    DIGEST_PATTERN,
    IMAGE_TAG_PATTERN,
    INVENTORY_SOURCE_PATTERN,
    REGION_PATTERN,
    REGISTRY_ID_PATTERN,
    REPOSITORY_NAME_PATTERN,
)

# contracts/events.py USED_BY_KINDS, spelt as a Literal for the schema (a test pins the two together).
UsedByKind = Literal["ecs-service", "ecs-task", "lambda-function", "inventory"]


class UsedBy(BaseModel):
    """One workload running an image: an ECS service or standalone task, a Lambda function, or an inventory source."""

    model_config = ConfigDict(frozen=True)

    kind: UsedByKind
    # the service's, task's or function's ARN (IAM's ARN bound, 2048); the inventory's source name
    id: str = Field(min_length=1, max_length=2048)


class InUseImage(NamedTuple):
    """An image in use, by digest: the key of ``logic.in_use.discover_in_use``'s answer."""

    registryId: str
    region: str
    repositoryName: str
    imageDigest: str


class InventoryEntry(BaseModel):
    """One image an inventory source reported, kept until ``expiresAt`` (``INVENTORY_TTL_HOURS`` after the report).

    Exactly one of ``imageTag`` and ``imageDigest``: a URI naming both is kept by digest (what a client pulls)."""

    model_config = ConfigDict(frozen=True)

    itemType: Literal["inventory"] = "inventory"
    source: Annotated[str, Field(pattern=INVENTORY_SOURCE_PATTERN)]
    registryId: Annotated[str, Field(pattern=REGISTRY_ID_PATTERN)]
    region: Annotated[str, Field(pattern=REGION_PATTERN)]
    repositoryName: Annotated[str, Field(min_length=2, max_length=256, pattern=REPOSITORY_NAME_PATTERN)]
    imageTag: Annotated[str | None, Field(pattern=IMAGE_TAG_PATTERN)] = None
    imageDigest: Annotated[str | None, Field(pattern=DIGEST_PATTERN)] = None
    reportedAt: str  # ISO-8601 UTC
    expiresAt: int  # epoch seconds: DynamoDB's TTL deletes the item some time after, readers skip it from then on
    # Set only by the audit of another registry that found a workload of its account on this registry's image (an ECS
    # service, task or Lambda function): the verdict's usedBy names that workload, not an inventory source.
    usedBy: UsedBy | None = Field(default=None, exclude_if=lambda value: value is None)
