"""Shapes of ``POST /lifecycle/previews`` (DESIGN.md "HTTP API"): the single source of its validation and of its
OpenAPI schema. Validation errors name the field (``lifecyclePolicyText``, ``repositoryName``)."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from layercheck.models.identifiers import Region, RegistryId, RepositoryName
from layercheck.models.in_use import UsedBy
from layercheck.models.lifecycle import LifecycleAction

# ECR's LifecyclePolicyText bounds (StartLifecyclePolicyPreview): checked here, so that botocore never refuses the
# call on our side (a 5xx) and the caller learns the rule.
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_StartLifecyclePolicyPreview.html
MIN_POLICY_TEXT_LENGTH = 100
MAX_POLICY_TEXT_LENGTH = 30720
PolicyText = Annotated[str, Field(min_length=MIN_POLICY_TEXT_LENGTH, max_length=MAX_POLICY_TEXT_LENGTH)]


class LifecyclePreviewRequest(BaseModel):
    """The in-use images of one repository that a lifecycle policy would expire or archive: ``lifecyclePolicyText``
    (a proposed policy; default: the repository's own) previewed by ECR, never applied."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    registryId: RegistryId | None = None
    region: Region | None = None
    repositoryName: RepositoryName
    lifecyclePolicyText: PolicyText | None = None

    @field_validator("lifecyclePolicyText")
    @classmethod
    def _a_json_object(cls, text: str | None) -> str | None:
        """ECR validates the rules themselves; a text that is not a JSON object is refused before asking it."""
        if text is None:
            return None
        try:
            document = json.loads(text)
        except ValueError as error:
            raise PydanticCustomError(
                "policy_json", "lifecyclePolicyText is not JSON: {error}", {"error": str(error)}
            ) from error
        if not isinstance(document, dict):
            raise PydanticCustomError("policy_json", "lifecyclePolicyText must be a JSON object with rules")
        return text


class ImageAtRisk(BaseModel):
    """An image in use that the policy would expire (``EXPIRE``) or archive (``TRANSITION`` to
    ``targetStorageClass``), by the rule ``rulePriority``, with who runs it."""

    model_config = ConfigDict(frozen=True)

    imageDigest: str
    imageTags: list[str]
    action: LifecycleAction
    rulePriority: int | None
    targetStorageClass: str | None = Field(default=None, exclude_if=lambda value: value is None)
    usedBy: list[UsedBy]


class LifecyclePreviewSummary(BaseModel):
    """``lifecyclePolicy``: which policy was previewed (``proposed``, the ``repository``'s own) or ``none`` (the
    repository has none: nothing at risk). ``storedVerdicts``: the repository's stored image verdicts the images in
    use were read from (0: layercheck has not audited the repository, so it knows of no image in use; absent where
    the images in use were discovered live). ``previewedAt`` is absent when nothing was previewed (no policy, or no
    image in use)."""

    model_config = ConfigDict(frozen=True)

    lifecyclePolicy: Literal["proposed", "repository", "none"]
    imagesInUse: int
    atRisk: int
    expiring: int
    archiving: int
    storedVerdicts: int | None = Field(default=None, exclude_if=lambda value: value is None)
    previewedAt: str | None = Field(default=None, exclude_if=lambda value: value is None)


class LifecyclePreviewResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    registryId: str
    region: str
    repositoryName: str
    atRisk: list[ImageAtRisk]
    summary: LifecyclePreviewSummary
