"""The answer of a lifecycle preview, one shape for the API (``POST /lifecycle/previews``) and the command line
(``layercheck preview-lifecycle``): the in-use images at risk with who runs each, and a summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from layercheck.logic.lifecycle import LifecyclePreview, PreviewState
from layercheck.models.in_use import UsedBy
from layercheck.models.lifecycle import LifecycleAction
from layercheck.models.lifecycle_api import ImageAtRisk, LifecyclePreviewResponse, LifecyclePreviewSummary


@dataclass(frozen=True)
class ImageInUse:
    """What the caller knows of an image in use: its tags (when ECR's preview names none) and who runs it."""

    image_tags: Sequence[str]
    used_by: Sequence[UsedBy]


def preview_answer(
    preview: LifecyclePreview,
    *,
    region: str,
    in_use: Mapping[str, ImageInUse],
    proposed: bool,
    stored_verdicts: int | None = None,
) -> LifecyclePreviewResponse:
    """``in_use``: every image in use, by digest; ``stored_verdicts``: how many image verdicts of the repository the
    in-use images were read from (the API's), None when they were discovered live (the command line's)."""
    at_risk = [
        ImageAtRisk(
            imageDigest=risky.image_digest,
            imageTags=list(risky.image_tags or in_use[risky.image_digest].image_tags),
            action=risky.risk.action,
            rulePriority=risky.risk.rulePriority,
            targetStorageClass=risky.risk.targetStorageClass,
            usedBy=list(in_use[risky.image_digest].used_by),
        )
        for risky in preview.at_risk
    ]
    policy = "proposed" if proposed else "repository"
    summary = LifecyclePreviewSummary(
        lifecyclePolicy="none" if preview.state is PreviewState.NO_POLICY else policy,
        imagesInUse=len(in_use),
        atRisk=len(at_risk),
        expiring=sum(image.action is LifecycleAction.EXPIRE for image in at_risk),
        archiving=sum(image.action is LifecycleAction.TRANSITION for image in at_risk),
        storedVerdicts=stored_verdicts,
        previewedAt=preview.previewed_at,
    )
    return LifecyclePreviewResponse(
        registryId=preview.registry_id,
        region=region,
        repositoryName=preview.repository_name,
        atRisk=at_risk,
        summary=summary,
    )
