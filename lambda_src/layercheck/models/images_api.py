"""Shapes of the image routes of the HTTP API (DESIGN.md "HTTP API"): POST /images/checks, GET /images and
POST /inventory. The single source of their validation and of their OpenAPI schema.

Validation errors name the entry and the field (``images.3.imageTag``, ``images.3`` for "exactly one of imageTag and
imageDigest", ``status``): the API door's RequestValidationError handler turns pydantic's ``loc`` into ``field``.

doors/images_api.py serves them: ``POST /images/checks`` (the image check service, ``source`` ``api``; verdicts in
request order), ``GET /images`` (query parameters named in contracts/routes.py) and ``POST /inventory``
(``logic.inventory.inventory_entries`` → ``InventoryStore.put_entries``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from layercheck.contracts.patterns import (
    INVENTORY_SOURCE_PATTERN,
)
from layercheck.models.identifiers import Digest as ImageDigest
from layercheck.models.identifiers import ImageTag, Region, RegistryId, RepositoryName
from layercheck.models.stored import ImageStatus, Source, StoredImageVerdict

MAX_IMAGES_PER_CHECK = 100
# Distinct blobs (configs and layers) one POST /images/checks checks at most: 50 BatchCheckLayerAvailability calls,
# well inside the API's deadline. Images beyond it are answered UNCHECKED (BlobBudgetExceeded), not stored.
MAX_BLOBS_PER_REQUEST = 5000
MAX_INVENTORY_IMAGES = 1000
# Unexpired inventory entries one source may hold across the audited registries, and one registry from every source:
# a registry's audit reads all of them, and each repository's audit resolves its own, so these bound the work any
# report can add. A report that would pass one is refused (400) naming it.
MAX_INVENTORY_IMAGES_PER_SOURCE = 5_000
MAX_INVENTORY_IMAGES_PER_REGISTRY = 20_000
# Inventory strings are judged one by one (a malformed one is "ignored"); beyond this length a string is refused with
# the request, as it cannot be an image URI and would only bloat the answer.
MAX_INVENTORY_URI_LENGTH = 1024
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
MAX_NEXT_TOKEN_LENGTH = 2048

# GET /images?status=: the statuses the sparse status index holds (COMPLETE images are not in it).
ListedStatus = Literal["BROKEN", "MISSING", "UNCHECKED", "ARCHIVED"]


class ImageIdentifier(BaseModel):
    """One image to check, by tag or by digest (ECR's ``ImageIdentifier``, with exactly one of the two). The rule is
    in the OpenAPI document too (``oneOf``), so that clients and request generators know it."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "oneOf": [
                {"required": ["imageTag"], "not": {"required": ["imageDigest"]}},
                {"required": ["imageDigest"], "not": {"required": ["imageTag"]}},
            ]
        },
    )

    repositoryName: RepositoryName
    imageTag: ImageTag | None = None
    imageDigest: ImageDigest | None = None

    @model_validator(mode="after")
    def _exactly_one_reference(self) -> Self:
        if (self.imageTag is None) == (self.imageDigest is None):
            raise PydanticCustomError(
                "exactly_one_of",
                "give exactly one of imageTag and imageDigest (this entry gives {given})",
                {"given": "both" if self.imageTag is not None else "neither"},
            )
        return self


class ImageCheckRequest(BaseModel):
    """``POST /images/checks``: 1-100 images of one registry and Region (default: the function's own)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    registryId: RegistryId | None = None
    region: Region | None = None
    images: Annotated[list[ImageIdentifier], Field(min_length=1, max_length=MAX_IMAGES_PER_CHECK)]


class UncheckedImage(BaseModel):
    """An entry of ``POST /images/checks`` answered ``UNCHECKED`` and therefore not stored (``stored`` false): an image
    ECR says does not exist (a tag or digest the repository does not hold, a repository that does not exist: nothing
    to keep the latest state of, and nothing a caller can fill the table with), a registry that cannot be read, a check
    stopped by the API's deadline (``DeadlineExceeded``) or by an ECR error a retry may pass.

    Shaped as an image verdict (``StoredImageVerdict``) as far as one exists: the image as it was asked for
    (``imageTags`` holds the tag asked, ``imageDigest`` the digest asked, absent when asked by tag: ECR named none),
    without ``expiresAt`` (nothing stored expires)."""

    model_config = ConfigDict(frozen=True)

    registryId: str
    region: str
    repositoryName: str
    imageDigest: str | None = Field(default=None, exclude_if=lambda value: value is None)
    imageTags: list[str] = []
    status: Literal[ImageStatus.UNCHECKED] = ImageStatus.UNCHECKED
    missingLayers: list[str] = []
    failureCode: str
    failureReason: str
    checkedAt: str  # ISO-8601 UTC
    source: Literal[Source.API] = Source.API
    checkId: str
    itemType: Literal["image"] = "image"
    stored: Literal[False] = False


ImageCheckVerdict = StoredImageVerdict | UncheckedImage


class ImageCheckSummary(BaseModel):
    """Counts of the answer's verdicts by status; ``checked`` is their sum (an image asked twice counts twice)."""

    model_config = ConfigDict(frozen=True)

    checked: int = 0
    complete: int = 0
    broken: int = 0
    unchecked: int = 0
    archived: int = 0

    @classmethod
    def of(cls, verdicts: Sequence[ImageCheckVerdict]) -> ImageCheckSummary:
        counts = Counter(verdict.status for verdict in verdicts)
        return cls(
            checked=len(verdicts),
            complete=counts[ImageStatus.COMPLETE],
            broken=counts[ImageStatus.BROKEN],
            unchecked=counts[ImageStatus.UNCHECKED],
            archived=counts[ImageStatus.ARCHIVED],
        )


class ImageCheckResponse(BaseModel):
    checkId: str
    verdicts: list[ImageCheckVerdict]  # in request order
    summary: ImageCheckSummary


class ImagesResponse(BaseModel):
    items: list[StoredImageVerdict]
    nextToken: str | None = None


InventoryUri = Annotated[str, Field(min_length=1, max_length=MAX_INVENTORY_URI_LENGTH)]


class InventoryRequest(BaseModel):
    """``POST /inventory``: the images a runtime layercheck cannot list (Kubernetes, on-premises) uses now."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Annotated[str, Field(pattern=INVENTORY_SOURCE_PATTERN)]
    images: Annotated[list[InventoryUri], Field(min_length=1, max_length=MAX_INVENTORY_IMAGES)]


class IgnoredImage(BaseModel):
    """A reported string that is not an ECR private image URI of an audited registry, and why."""

    model_config = ConfigDict(frozen=True)

    index: int  # its position in the request's ``images``
    image: str
    reason: str


class InventoryResponse(BaseModel):
    accepted: int  # entries stored (repeats of one image in a request count once)
    ignored: list[IgnoredImage] = []
