"""Shapes of the HTTP API: the single source of truth for validation, the OpenAPI document and the CLI's --api-url."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from layercheck.contracts.patterns import REGION_PATTERN, REGISTRY_ID_PATTERN
from layercheck.models.identifiers import RepositoryName
from layercheck.models.stored import StoredImageVerdict, StoredLayerVerdict
from layercheck.models.verdicts import CheckSummary, RepositoryResult

# Request size limits. MAX_PAIRS (repositories × distinct digests) comes from a measurement, see docs/API.md "Limits":
# it keeps the answer well inside API Gateway's 29-second integration timeout and Lambda's 6 MB response.
MAX_REPOSITORIES = 100
MAX_LAYER_DIGESTS = 1000
MAX_PAIRS = 10_000
# A digest is at most 135 characters ("sha512:" + 128 hex) written in the OCI digest alphabet. Strings of that
# alphabet and length are answered (malformed ones as InvalidLayerDigest, as ECR does); anything else is refused
# with a 422: it cannot be a digest, would not fit a DynamoDB key, and could blow up the answer's size.
MAX_DIGEST_LENGTH = 135
DIGEST_TEXT_PATTERN = r"^[A-Za-z0-9:+._=-]+$"

LayerDigestText = Annotated[str, Field(min_length=1, max_length=MAX_DIGEST_LENGTH, pattern=DIGEST_TEXT_PATTERN)]


class CheckRequest(BaseModel):
    """``POST /checks``: every digest in every repository. Malformed digests are answered, not rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    registryId: Annotated[str | None, Field(pattern=REGISTRY_ID_PATTERN)] = None
    # The registry's Region (default: the function's own); another Region or account is read through the reader role.
    region: Annotated[str | None, Field(pattern=REGION_PATTERN)] = None
    repositoryNames: Annotated[list[RepositoryName], Field(min_length=1, max_length=MAX_REPOSITORIES)]
    layerDigests: Annotated[list[LayerDigestText], Field(min_length=1, max_length=MAX_LAYER_DIGESTS)]

    @model_validator(mode="after")
    def _within_max_pairs(self) -> Self:
        pairs = len(set(self.repositoryNames)) * len(set(self.layerDigests))
        if pairs > MAX_PAIRS:
            raise PydanticCustomError(
                "too_many_pairs",
                "repositoryNames × distinct layerDigests is {pairs} pairs; the maximum is {maximum} per request",
                {"pairs": pairs, "maximum": MAX_PAIRS},
            )
        return self


class CheckResponse(BaseModel):
    checkId: str
    results: list[RepositoryResult]
    summary: CheckSummary


class ResultsResponse(BaseModel):
    items: list[StoredLayerVerdict | StoredImageVerdict]
    nextToken: str | None = None


class ErrorDetail(BaseModel):
    location: str  # body, query, path
    field: str  # dotted path inside the location, e.g. "layerDigests.3"
    rule: str  # the rule broken, pydantic's error type (missing, too_short, string_pattern_mismatch ...)
    message: str


class ErrorResponse(BaseModel):
    message: str
    errors: list[ErrorDetail] = []
