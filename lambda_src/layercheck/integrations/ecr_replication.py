"""Amazon ECR's replication status of one image: ``DescribeImageReplicationStatus`` in the source registry.

Beside ``ecr.py`` (same service, same client, same rate limiter), kept apart so that each module stays one job:
``ecr.py`` reads images and blobs, this one what ECR says about copying them.
https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImageReplicationStatus.html
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from layercheck.errors import RepositoryCheckError
from layercheck.integrations.aws_errors import code_and_message
from layercheck.logic.ratelimit import RateLimiter
from layercheck.logic.replication import ImageReplicationStatus

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

UNREADABLE_ANSWER = "UnreadableReplicationStatus"


class EcrReplicationStatus:
    """Implements ``replica_probe.ReplicationStatusPort`` over one registry's ECR client."""

    def __init__(self, client: ECRClient, *, rate_limiter: RateLimiter | None = None) -> None:
        self._client = client
        self._rate_limiter = rate_limiter

    def image_replication_statuses(
        self, registry_id: str, repository_name: str, image_digest: str
    ) -> list[ImageReplicationStatus]:
        """One entry per destination ECR has scheduled a copy of the image to (none: never scheduled, as for an
        image pushed before the rule); raises ``RepositoryCheckError`` with ECR's code (``AccessDeniedException``,
        ``ImageNotFoundException`` ...)."""
        if self._rate_limiter is not None:
            self._rate_limiter.acquire()
        arguments: dict[str, Any] = {"repositoryName": repository_name, "imageId": {"imageDigest": image_digest}}
        if registry_id:
            arguments["registryId"] = registry_id
        try:
            answer = self._client.describe_image_replication_status(**arguments)
        except (ClientError, BotoCoreError) as error:
            raise RepositoryCheckError(*code_and_message(error)) from error
        try:
            return [ImageReplicationStatus.model_validate(entry) for entry in answer.get("replicationStatuses", [])]
        except ValidationError as error:  # an entry without its destination or status cannot be matched to one
            raise RepositoryCheckError(UNREADABLE_ANSWER, f"replicationStatuses: {error}") from error
