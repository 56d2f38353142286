"""The scheduled audit's own shapes: its scope, and the work items it queues on SQS (one per registry, repository or
slice of images). Plain Pydantic, no Powertools: the command line's ``layercheck audit`` uses them too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from layercheck.contracts.patterns import REGISTRY_ID_PATTERN, REPOSITORY_PREFIX_PATTERN
from layercheck.models.bounds import MAX_USED_BY_BYTES, bounded_list
from layercheck.models.identifiers import Digest, Region, RepositoryName
from layercheck.models.in_use import UsedBy
from layercheck.models.lifecycle import LifecycleRisk

# BatchGetImage takes at most 100 image ids per call, so a slice of 100 images is fetched in one call (plus one per
# 100 platform manifests of indexes); checking it takes seconds, far inside the function's timeout.
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_BatchGetImage.html
MAX_IMAGES_PER_WORK_ITEM = 100
# SQS takes a message body of at most 256 KiB (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/
# API_SendMessage.html). A work item's images (``images``, ``inUse``) are packed within this budget, which leaves the
# item's other fields (ids, names, at most 25 replica destinations: a few KB) room to spare.
MAX_WORK_ITEM_BYTES = 256 * 1024
WORK_ITEM_IMAGES_BUDGET_BYTES = 224 * 1024


RepositoryPrefix = Annotated[str, Field(min_length=1, max_length=256, pattern=REPOSITORY_PREFIX_PATTERN)]


# -- scope -----------------------------------------------------------------------------------------------------------


class AuditScopeInput(BaseModel):
    """What a rule's constant input may say; every field narrows the scope the stack configured, none widens it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    repositoryPrefixes: Annotated[list[RepositoryPrefix], Field(min_length=1, max_length=100)] | None = None
    taggedOnly: bool | None = None
    newestImages: Annotated[int, Field(ge=1, le=100_000)] | None = None


class AuditScope(BaseModel):
    """The effective scope of one audit: repositories whose name starts with a prefix (all when there are none),
    tagged images only or all, the newest N images of each repository or all (0)."""

    model_config = ConfigDict(frozen=True)

    repositoryPrefixes: tuple[str, ...] = ()
    taggedOnly: bool = False
    newestImages: int = Field(default=0, ge=0)


# -- audit work items (SQS message bodies) ------------------------------------------------------------------------
#
# ``region`` is absent only from items queued before the organization audit existed: such an item is about the
# function's own Region (``region or home Region``). Leaving it out when absent keeps their JSON, and so their
# idempotency key, unchanged.


def _absent(value: object) -> bool:
    return value is None or (isinstance(value, list | tuple) and not value)


class AuditImage(BaseModel):
    model_config = ConfigDict(frozen=True)

    imageDigest: Digest
    imageTags: list[str] = []
    # ECR's imageStatus as the audit listed it (an ARCHIVED image is judged without being read); absent means ACTIVE.
    imageStatus: str = Field(default="ACTIVE", min_length=1, max_length=32, exclude_if=lambda value: value == "ACTIVE")
    lastArchivedAt: datetime | None = Field(default=None, exclude_if=_absent)
    # When ECR says it was pushed: a replica of a younger image is not yet MISSING (REPLICATION_GRACE_MINUTES).
    imagePushedAt: datetime | None = Field(default=None, exclude_if=_absent)
    # Who runs the image (images in use): checked whatever the scope, and its verdict carries them.
    usedBy: list[UsedBy] = Field(default=[], exclude_if=_absent)
    # What the repository's lifecycle policy would do to it, as the repository item's preview said (images in use).
    lifecycleRisk: LifecycleRisk | None = Field(default=None, exclude_if=_absent)
    # Tags and users beyond MAX_LISTED (models/bounds.py) are counted, not carried: an item must fit an SQS message.
    imageTagsOmitted: int = Field(default=0, exclude_if=lambda value: not value)
    usedByOmitted: int = Field(default=0, exclude_if=lambda value: not value)

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: object) -> object:
        tags_bounded = bounded_list(data, "imageTags", "imageTagsOmitted")
        return bounded_list(tags_bounded, "usedBy", "usedByOmitted", max_bytes=MAX_USED_BY_BYTES)


class ReplicaDestination(BaseModel):
    """A registry the repository replicates to (DescribeRegistry's rules, read once by the registry item)."""

    model_config = ConfigDict(frozen=True)

    region: Region
    registryId: str = Field(pattern=REGISTRY_ID_PATTERN)


class RegistryWorkItem(BaseModel):
    """Audit one registry (an account in a Region): discover the images in use there, read its replication rules,
    list its repositories in scope and queue one ``RepositoryWorkItem`` each."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["registry"] = "registry"
    auditId: str = Field(min_length=1, max_length=128)
    registryId: str = Field(pattern=REGISTRY_ID_PATTERN)
    region: Region
    repositoryPrefixes: list[RepositoryPrefix] = []
    taggedOnly: bool = False
    newestImages: int = Field(default=0, ge=0)


class RepositoryWorkItem(BaseModel):
    """Audit one repository: list its images in scope, check them here or, if many, fan them out as image slices.

    ``inUseObservedAt``: when the registry's audit discovered the workloads; with it, this audit knows who runs every
    image of the repository: the ``inUseChunks`` chunks of references the registry's audit stored (0: nobody runs
    any), checked first and whatever ``taggedOnly`` / ``newestImages`` say. Without it (an item of an earlier version,
    which carried ``inUse`` itself), who runs what is not recomputed and the stored ``usedBy`` stays.
    ``replicaDestinations``: where each audited image must also be whole."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["repository"] = "repository"
    auditId: str = Field(min_length=1, max_length=128)
    registryId: str = Field(pattern=REGISTRY_ID_PATTERN)
    region: Region | None = Field(default=None, exclude_if=_absent)
    repositoryName: RepositoryName
    taggedOnly: bool = False
    newestImages: int = Field(default=0, ge=0)
    inUse: list[AuditImage] = Field(default=[], exclude_if=_absent)
    replicaDestinations: list[ReplicaDestination] = Field(default=[], exclude_if=_absent)
    inUseChunks: int = Field(default=0, ge=0, exclude_if=lambda value: not value)
    inUseObservedAt: datetime | None = Field(default=None, exclude_if=_absent)


class ImagesWorkItem(BaseModel):
    """Check a slice of at most ``MAX_IMAGES_PER_WORK_ITEM`` images of one repository; with ``inUseObservedAt``, each
    image's ``usedBy`` is who runs it (nobody when empty), as discovered then."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["images"] = "images"
    auditId: str = Field(min_length=1, max_length=128)
    registryId: str = Field(pattern=REGISTRY_ID_PATTERN)
    region: Region | None = Field(default=None, exclude_if=_absent)
    repositoryName: RepositoryName
    images: Annotated[list[AuditImage], Field(min_length=1, max_length=MAX_IMAGES_PER_WORK_ITEM)]
    replicaDestinations: list[ReplicaDestination] = Field(default=[], exclude_if=_absent)
    inUseObservedAt: datetime | None = Field(default=None, exclude_if=_absent)
    # With it, each image's ``lifecycleRisk`` is its risk (none: not at risk) as the repository's preview found it.
    lifecycleRiskObservedAt: str | None = Field(default=None, exclude_if=_absent)


AuditWorkItem = Annotated[RegistryWorkItem | RepositoryWorkItem | ImagesWorkItem, Field(discriminator="kind")]
