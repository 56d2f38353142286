"""Lifecycle risk: what ECR's lifecycle preview says a repository's policy would do to an image in use, and the
"Image Risk Changed" event's detail (DESIGN.md "Stored items" ``lifecycleRisk`` and "Change events").

``LifecycleRisk`` is the shape of an image verdict's ``lifecycleRisk``; only images in use carry one. Both actions
make the image unpullable: ``EXPIRE`` deletes it, ``TRANSITION`` moves it to the archive storage class (pulls fail
until it is restored). ECR's preview is the only judge (logic/lifecycle.py): layercheck never evaluates rules itself.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from layercheck.models.in_use import UsedBy


class LifecycleAction(StrEnum):
    """ECR's ``LifecyclePolicyRuleAction.type`` (GetLifecyclePolicyPreview's ``previewResults[].action``)."""

    EXPIRE = "EXPIRE"
    TRANSITION = "TRANSITION"


class LifecycleRisk(BaseModel):
    """What the lifecycle policy would do to an image in use, as ECR's preview answered at ``previewedAt``.

    ``rulePriority`` is the preview's ``appliedRulePriority`` (null only if ECR named no rule); ``targetStorageClass``
    is present for a ``TRANSITION`` (``ARCHIVE``)."""

    model_config = ConfigDict(frozen=True)

    action: LifecycleAction
    rulePriority: int | None = Field(ge=1)
    targetStorageClass: str | None = Field(default=None, exclude_if=lambda value: value is None)
    previewedAt: str  # ISO-8601 UTC: when ECR's preview answered

    def same_risk(self, other: LifecycleRisk) -> bool:
        """The same action by the same rule to the same storage class, whenever it was previewed."""
        return (self.action, self.rulePriority, self.targetStorageClass) == (
            other.action,
            other.rulePriority,
            other.targetStorageClass,
        )


class ImageRiskChangedDetail(BaseModel):
    """The "Image Risk Changed" event's ``detail``: every field always present, ``previousLifecycleRisk`` null when
    the risk appears and ``lifecycleRisk`` null when it clears."""

    model_config = ConfigDict(frozen=True)

    registryId: str
    region: str
    repositoryName: str
    imageDigest: str
    imageTags: list[str]
    previousLifecycleRisk: LifecycleRisk | None
    lifecycleRisk: LifecycleRisk | None
    usedBy: list[UsedBy]
    observedAt: str  # ISO-8601 UTC: when ECR was read
    checkId: str | None
    changeId: str  # stable across re-sends of the same change (at least once delivery)
