"""Amazon ECR, tags to digests for the images in use (``logic.in_use.TagResolverPort``).

DescribeImages by tag, up to 100 image ids per call, never BatchGetImage: BatchGetImage records a pull
(``lastRecordedPullTime``), which would keep every in-use tag "recently pulled" for ``sinceImagePulled`` lifecycle
rules. DescribeImages fails a whole call with ``ImageNotFoundException`` when one id is unknown, so such a call is split
in halves until the missing tags are named: k missing tags of n cost about k·log2(n) more calls, none when all exist.

Kept apart from ``integrations/ecr.py`` only because issue 9's work owns that file now; phase B should move
``EcrTagResolver.resolve_tags`` onto ``EcrRegistry`` (one module per service) and share its rate limiter.
Wiring: ``dependencies.ecr_tag_resolver()`` builds one per container; the audit passes it to ``discover_in_use``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from layercheck.integrations.ecr import client_config, translate_error
from layercheck.logic.in_use import TagAnswer
from layercheck.logic.ratelimit import RateLimiter

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

# DescribeImages takes at most 100 image ids. https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImages.html
MAX_IMAGE_IDS_PER_DESCRIBE = 100
IMAGE_NOT_FOUND = "ImageNotFoundException"


class EcrTagResolver:
    """Implements ``TagResolverPort``; one ECR client per Region, made on first use unless ``client_for_region`` is
    given (the audit gives the audited account's clients)."""

    def __init__(
        self,
        client_for_region: Callable[[str], ECRClient] | None = None,
        *,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self._client_for_region = client_for_region or self._default_client
        self._clients: dict[str, ECRClient] = {}
        self._rate_limiter = rate_limiter

    def _default_client(self, region: str) -> ECRClient:
        if region not in self._clients:
            self._clients[region] = boto3.client("ecr", region_name=region, config=client_config())
        return self._clients[region]

    def resolve_tags(self, registry_id: str, region: str, repository_name: str, tags: Sequence[str]) -> TagAnswer:
        """Each tag's digest, or ``ImageNotFoundException`` for a tag the repository does not hold; raises
        ``RepositoryCheckError`` (via ``ecr.translate_error``) for anything else, such as a missing repository."""
        answer = TagAnswer()
        client = self._client_for_region(region)
        unique = list(dict.fromkeys(tags))
        for start in range(0, len(unique), MAX_IMAGE_IDS_PER_DESCRIBE):
            self._describe(
                client, registry_id, repository_name, unique[start : start + MAX_IMAGE_IDS_PER_DESCRIBE], answer
            )
        return answer

    def _describe(
        self, client: ECRClient, registry_id: str, repository_name: str, tags: list[str], answer: TagAnswer
    ) -> None:
        if self._rate_limiter is not None:
            self._rate_limiter.acquire()
        try:
            response = client.describe_images(
                registryId=registry_id, repositoryName=repository_name, imageIds=[{"imageTag": tag} for tag in tags]
            )
        except ClientError as error:
            if _code(error) != IMAGE_NOT_FOUND:
                raise translate_error(error) from error
            if len(tags) == 1:
                answer.missing[tags[0]] = IMAGE_NOT_FOUND
                return
            middle = len(tags) // 2
            self._describe(client, registry_id, repository_name, tags[:middle], answer)
            self._describe(client, registry_id, repository_name, tags[middle:], answer)
            return
        except BotoCoreError as error:
            raise translate_error(error) from error
        asked = set(tags)
        for image in response.get("imageDetails", []):
            for tag in image.get("imageTags", []):
                if tag in asked:
                    answer.digests[tag] = image["imageDigest"]
        for tag in tags:
            if tag not in answer.digests:
                answer.missing.setdefault(tag, IMAGE_NOT_FOUND)


def _code(error: ClientError) -> str:
    details: Any = error.response.get("Error", {})
    return str(details.get("Code", ""))
