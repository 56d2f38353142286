"""Amazon ECR's lifecycle policy previews: ``logic.lifecycle.LifecyclePreviewPort`` over one ECR client.

Reads only: GetLifecyclePolicy, StartLifecyclePolicyPreview (a dry run: it changes no policy and no image) and
GetLifecyclePolicyPreview. Errors become ``RepositoryCheckError`` with ECR's code, as in integrations/ecr.py; the two
"nothing there" answers (no policy, no preview) are ``None``.
https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_StartLifecyclePolicyPreview.html
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from layercheck.errors import RepositoryCheckError
from layercheck.integrations.aws_errors import error_code
from layercheck.integrations.ecr import new_client, translate_error
from layercheck.logic.lifecycle import (
    MAX_IMAGE_IDS_PER_CALL,
    POLICY_NOT_FOUND,
    PreviewAnswer,
    PreviewResult,
)
from layercheck.logic.ratelimit import RateLimiter
from layercheck.models.lifecycle import LifecycleAction

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

PREVIEW_NOT_FOUND = "LifecyclePolicyPreviewNotFoundException"
# An action type this version does not know: reported, never read as "no risk".
UNKNOWN_ACTION = "UnknownLifecycleAction"
_ACTIONS = {action.value: action for action in LifecycleAction}


class EcrLifecycle:
    """Lifecycle previews of one registry's repositories. Every call takes a token from the registry's rate limiter
    first, as ``EcrRegistry``'s calls do."""

    def __init__(self, client: ECRClient | None = None, *, rate_limiter: RateLimiter | None = None) -> None:
        self._client = client or new_client()
        self._rate_limiter = rate_limiter

    def _acquire(self) -> None:
        if self._rate_limiter is not None:
            self._rate_limiter.acquire()

    def lifecycle_policy(self, registry_id: str, repository_name: str) -> str | None:
        self._acquire()
        try:
            response = self._client.get_lifecycle_policy(**_registry(registry_id), repositoryName=repository_name)
        except ClientError as error:
            if error_code(error) == POLICY_NOT_FOUND:
                return None
            raise translate_error(error) from error
        except BotoCoreError as error:
            raise translate_error(error) from error
        return response.get("lifecyclePolicyText")

    def start_preview(self, registry_id: str, repository_name: str, policy_text: str | None) -> str:
        arguments: dict[str, Any] = {**_registry(registry_id), "repositoryName": repository_name}
        if policy_text is not None:
            arguments["lifecyclePolicyText"] = policy_text
        self._acquire()
        try:
            response = self._client.start_lifecycle_policy_preview(**arguments)
        except (ClientError, BotoCoreError) as error:
            raise translate_error(error) from error
        return response.get("lifecyclePolicyText") or policy_text or ""

    def preview_answer(
        self, registry_id: str, repository_name: str, image_digests: Sequence[str]
    ) -> PreviewAnswer | None:
        """One call with ``imageIds`` (so no ``nextToken``: ECR does not page an answer about named images)."""
        if not 0 < len(image_digests) <= MAX_IMAGE_IDS_PER_CALL:
            raise ValueError(f"GetLifecyclePolicyPreview takes 1-{MAX_IMAGE_IDS_PER_CALL} image ids")
        self._acquire()
        try:
            response = self._client.get_lifecycle_policy_preview(
                **_registry(registry_id),
                repositoryName=repository_name,
                imageIds=[{"imageDigest": digest} for digest in image_digests],
            )
        except ClientError as error:
            if error_code(error) == PREVIEW_NOT_FOUND:
                return None
            raise translate_error(error) from error
        except BotoCoreError as error:
            raise translate_error(error) from error
        results = [result for result in response.get("previewResults", []) if result.get("action")]
        return PreviewAnswer(
            status=response.get("status", ""),
            policy_text=response.get("lifecyclePolicyText", ""),
            results=tuple(_preview_result(dict(result)) for result in results),
        )


def _preview_result(result: dict[str, Any]) -> PreviewResult:
    """A ``LifecyclePolicyPreviewResult`` with an action (results without one are images the policy leaves alone)."""
    action = dict(result["action"])
    known = _ACTIONS.get(str(action.get("type")))
    if known is None:
        raise RepositoryCheckError(
            UNKNOWN_ACTION, f"the preview names action {action.get('type')!r}, which layercheck does not know"
        )
    return PreviewResult(
        image_digest=result.get("imageDigest", ""),
        image_tags=tuple(result.get("imageTags", [])),
        action=known,
        rule_priority=result.get("appliedRulePriority"),
        target_storage_class=action.get("targetStorageClass"),
    )


def _registry(registry_id: str | None) -> dict[str, Any]:
    """``registryId`` for a call; an empty one means the caller's default registry, so it is left out."""
    return {"registryId": registry_id} if registry_id else {}
