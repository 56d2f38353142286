"""Images in use: who runs an image (``usedBy``) and the inventory entries other runtimes report (POST /inventory).

``UsedBy`` is the shape of DESIGN.md's ``usedBy`` items on image verdicts and in change events; ``InventoryEntry`` is
one reported image as the inventory store keeps it (``integrations/inventory_store.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from layercheck.contracts import events as event_names
from layercheck.contracts.patterns import (
    DIGEST_PATTERN,
    IMAGE_TAG_PATTERN,
    INVENTORY_SOURCE_PATTERN,
    REGION_PATTERN,
    REGISTRY_ID_PATTERN,
    REPOSITORY_NAME_PATTERN,
)

# IAM's bound on an ARN: a workload's, or the caller that reported it.
MAX_ARN_LENGTH = 2048


class UsedByKind(StrEnum):
    """Who runs an image (contracts/events.py spells the values)."""

    ECS_SERVICE = event_names.USED_BY_ECS_SERVICE
    ECS_TASK = event_names.USED_BY_ECS_TASK
    LAMBDA_FUNCTION = event_names.USED_BY_LAMBDA_FUNCTION
    INVENTORY = event_names.USED_BY_INVENTORY


# Workloads layercheck finds itself come before those a report names: a verdict names at most so many users
# (models/bounds.py), and a crowd of reports must never push an ECS service or a Lambda function out of the list.
DISCOVERED_KINDS = frozenset({UsedByKind.ECS_SERVICE, UsedByKind.ECS_TASK, UsedByKind.LAMBDA_FUNCTION})


def _absent(value: object) -> bool:
    return value is None


class UsedBy(BaseModel):
    """One workload running an image: an ECS service or standalone task, a Lambda function, or an inventory source.

    ``tag``: the workload names the image by this tag (it runs what the tag named when it was resolved, and its next
    deployment gets what the tag names then); absent when it names the digest. ``reportedBy``: the caller that
    reported it (POST /inventory's IAM principal), absent for what layercheck discovered itself."""

    model_config = ConfigDict(frozen=True)

    kind: UsedByKind
    # the service's, task's or function's ARN; the inventory's source name
    id: str = Field(min_length=1, max_length=MAX_ARN_LENGTH)
    tag: Annotated[str | None, Field(pattern=IMAGE_TAG_PATTERN)] = Field(default=None, exclude_if=_absent)
    reportedBy: str | None = Field(default=None, max_length=MAX_ARN_LENGTH, exclude_if=_absent)

    @property
    def is_discovered(self) -> bool:
        return self.kind in DISCOVERED_KINDS


def ordered_users(users: Iterable[UsedBy]) -> list[UsedBy]:
    """Each user once, discovered workloads (ECS, Lambda) first, then reported ones, each group in first-seen order."""
    unique = list(dict.fromkeys(users))
    return [user for user in unique if user.is_discovered] + [user for user in unique if not user.is_discovered]


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
    # The caller that reported it (POST /inventory's IAM principal ARN); absent on entries written before it was kept.
    reportedBy: str | None = Field(default=None, max_length=MAX_ARN_LENGTH, exclude_if=_absent)
    # Set only by the audit of another registry that found a workload of its account on this registry's image (an ECS
    # service, task or Lambda function): the verdict's usedBy names that workload, not an inventory source.
    usedBy: UsedBy | None = Field(default=None, exclude_if=_absent)

    def user(self) -> UsedBy:
        """Who this entry says runs the image, with the tag it names and who reported it."""
        if self.usedBy is not None:
            return self.usedBy.model_copy(update={"tag": self.imageTag}) if self.imageTag else self.usedBy
        return UsedBy(kind=UsedByKind.INVENTORY, id=self.source, tag=self.imageTag, reportedBy=self.reportedBy)


class InUseReference(BaseModel):
    """One workload's reference to an image of a repository, as the audit's discovery found it: by digest, or by the
    tag in ``usedBy.tag`` (resolved by the repository's own audit, against its listing)."""

    model_config = ConfigDict(frozen=True)

    imageDigest: Annotated[str | None, Field(pattern=DIGEST_PATTERN)] = Field(default=None, exclude_if=_absent)
    usedBy: UsedBy
