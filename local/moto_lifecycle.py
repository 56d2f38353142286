"""A stand-in for ECR's lifecycle policy previews in moto, which implements none (it keeps lifecycle policies:
Put/Get/DeleteLifecyclePolicy). Test and local tooling only, never product code.

``teach_lifecycle_previews`` gives moto's ``ECRResponse`` the two actions, as local/moto_ecr.py teaches it
``DescribePullThroughCacheRules``:
- ``StartLifecyclePolicyPreview`` evaluates the proposed text, or the repository's stored policy, over the repository's
  images at that moment with ECR's documented semantics (local/lifecycle_rules.py), and keeps the result as the
  repository's one preview (a new start replaces it; a start while it is in progress raises
  ``LifecyclePolicyPreviewInProgressException``; no policy raises ``LifecyclePolicyNotFoundException``).
- ``GetLifecyclePolicyPreview`` answers the latest preview in ECR's shape, only the images ``imageIds`` names when
  given (by digest or tag). ``PreviewSettings.pending_polls`` answers that many Gets ``IN_PROGRESS`` first (default
  0: ``COMPLETE`` at once); ECR's own waiting is covered by the Stubber tests of the product.
Neither changes a policy or an image.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.core.exceptions import ServiceException
from moto.ecr.exceptions import InvalidParameterException, LifecyclePolicyNotFoundException
from moto.ecr.models import ECRBackend, Repository
from moto.ecr.responses import ECRResponse

from local.lifecycle_rules import LifecyclePolicyError, Marked, StoredImage, evaluate

START_ACTION = "start_lifecycle_policy_preview"
GET_ACTION = "get_lifecycle_policy_preview"


class LifecyclePolicyPreviewInProgressException(ServiceException):
    code = "LifecyclePolicyPreviewInProgressException"
    message = "The previous lifecycle policy preview request has not completed. Wait and try again."


class LifecyclePolicyPreviewNotFoundException(ServiceException):
    code = "LifecyclePolicyPreviewNotFoundException"
    message = "There is no dry run for this repository."


@dataclass
class PreviewSettings:
    """What a test controls: how long previews stay in progress, the evaluator's clock, and what was started."""

    pending_polls: int = 0
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    started: list[str] = field(default_factory=list)  # the policy text of every preview started, in order


@dataclass
class _Preview:
    registry_id: str
    policy_text: str
    results: list[dict[str, Any]]
    polls_left: int


def lifecycle_preview_actions(settings: PreviewSettings) -> dict[str, Callable[[ECRResponse], str]]:
    """The two action methods, reading ``settings`` at each call (a test may change it afterwards)."""

    def start_lifecycle_policy_preview(self: ECRResponse) -> str:
        backend, name = self.ecr_backend, self._get_param("repositoryName")
        repository = backend._get_repository(name, self._get_param("registryId"))
        text = self._get_param("lifecyclePolicyText") or repository.lifecycle_policy
        if not text:
            raise LifecyclePolicyNotFoundException(name, repository.registry_id)
        previews = _previews(backend)
        current = previews.get(name)
        if current is not None and current.polls_left > 0:
            raise LifecyclePolicyPreviewInProgressException()
        try:
            marked = evaluate(text, _images(repository), settings.now())
        except LifecyclePolicyError as error:
            raise InvalidParameterException(f"Invalid parameter at 'LifecyclePolicyText': {error}") from error
        results = [
            _result(image, marked[image.image_digest]) for image in repository.images if image.image_digest in marked
        ]
        previews[name] = _Preview(repository.registry_id, text, results, settings.pending_polls)
        settings.started.append(text)
        return json.dumps(
            {
                "registryId": repository.registry_id,
                "repositoryName": name,
                "lifecyclePolicyText": text,
                "status": "IN_PROGRESS",
            }
        )

    def get_lifecycle_policy_preview(self: ECRResponse) -> str:
        backend, name = self.ecr_backend, self._get_param("repositoryName")
        backend._get_repository(name, self._get_param("registryId"))
        preview = _previews(backend).get(name)
        if preview is None:
            raise LifecyclePolicyPreviewNotFoundException()
        answer: dict[str, Any] = {
            "registryId": preview.registry_id,
            "repositoryName": name,
            "lifecyclePolicyText": preview.policy_text,
        }
        if preview.polls_left > 0:
            preview.polls_left -= 1
            return json.dumps({**answer, "status": "IN_PROGRESS", "previewResults": []})
        results = _named(preview.results, self._get_param("imageIds"))
        return json.dumps({**answer, "status": "COMPLETE", "previewResults": results, "summary": _summary(results)})

    return {START_ACTION: start_lifecycle_policy_preview, GET_ACTION: get_lifecycle_policy_preview}


def teach_lifecycle_previews(settings: PreviewSettings | None = None) -> PreviewSettings:
    """Teach moto the two actions for this whole process (a local moto server runs in it); returns the settings."""
    settings = settings or PreviewSettings()
    for name, method in lifecycle_preview_actions(settings).items():
        setattr(ECRResponse, name, method)
    return settings


def _previews(backend: ECRBackend) -> dict[str, _Preview]:
    """The one preview per repository, kept on moto's backend (account and Region), so a moto reset forgets it."""
    previews: dict[str, _Preview] = vars(backend).setdefault("layercheck_lifecycle_previews", {})
    return previews


def _images(repository: Repository) -> list[StoredImage]:
    return [
        StoredImage(
            digest=image.image_digest,
            tags=tuple(image.image_tags),
            pushed_at=datetime.fromtimestamp(image.image_pushed_at, UTC),
            push_order=order,
        )
        for order, image in enumerate(repository.images)
    ]


def _result(image: Any, marked: Marked) -> dict[str, Any]:
    action: dict[str, str] = {"type": marked.action}
    if marked.target_storage_class:
        action["targetStorageClass"] = marked.target_storage_class
    return {
        "imageTags": list(image.image_tags),
        "imageDigest": image.image_digest,
        "imagePushedAt": image.image_pushed_at,
        "action": action,
        "appliedRulePriority": marked.rule_priority,
        "storageClass": "STANDARD",
    }


def _named(results: list[dict[str, Any]], image_ids: list[dict[str, str]] | None) -> list[dict[str, Any]]:
    if not image_ids:
        return results
    digests = {image_id.get("imageDigest") for image_id in image_ids} - {None}
    tags = {image_id.get("imageTag") for image_id in image_ids} - {None}
    return [result for result in results if result["imageDigest"] in digests or tags & set(result["imageTags"])]


def _summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    archiving = sum(result["action"]["type"] == "TRANSITION" for result in results)
    summary: dict[str, Any] = {"expiringImageTotalCount": len(results) - archiving}
    if archiving:
        summary["transitioningImageTotalCounts"] = [{"targetStorageClass": "ARCHIVE", "imageTotalCount": archiving}]
    return summary
