"""Amazon ECR: the only module that talks to it. Translates ECR's answers into our models and its errors into ours.

One ``EcrRegistry`` serves the registry (account and Region) of its client; the audit builds one per audited registry
from ``RegistryClients`` (dependencies.py), each with that registry's rate limiter.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from layercheck.contracts import ecr_codes
from layercheck.errors import RepositoryCheckError
from layercheck.integrations.aws import client_config, ecr_pages
from layercheck.integrations.aws_errors import code_and_message, error_code
from layercheck.logic.catalog import IMAGE_ACTIVE, IMAGE_STATUS_ANY, ImageDetail, PullThroughCacheRule, RepositoryRef
from layercheck.logic.check import DEFAULT_WORKERS, BatchAnswer
from layercheck.logic.chunks import chunked
from layercheck.logic.ratelimit import RateLimiter
from layercheck.models.identifiers import ValidDigest
from layercheck.models.verdicts import layer_answers, layer_failures

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

    from layercheck.logic.images import FetchedManifest, ManifestAnswer, ManifestFailure
    from layercheck.logic.in_use import TagAnswer
    from layercheck.logic.replication import ReplicationConfiguration

# BatchGetImage and DescribeImages take at most 100 image ids.
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_BatchGetImage.html
MAX_IMAGE_IDS_PER_CALL = 100
# Pull-through cache rules change rarely (an administrator adds one); they are read when an image would be BROKEN and
# kept this long per registry, so an audit reads them once per container, not once per repository.
PULL_THROUGH_RULES_TTL_SECONDS = 600


def new_client(workers: int = DEFAULT_WORKERS) -> ECRClient:
    """A client for the check's threads (boto3 clients are thread-safe); the composition root keeps one per container.
    The endpoint comes from AWS_ENDPOINT_URL[_ECR]."""
    client: ECRClient = boto3.client("ecr", config=client_config(workers))
    return client


def translate_error(error: ClientError | BotoCoreError) -> RepositoryCheckError:
    """ECR's error code verbatim (it becomes the digests' ``failureCode``); transport errors by their class name."""
    return RepositoryCheckError(*code_and_message(error))


class EcrRegistry:
    """Implements ``LayerAvailabilityPort``, ``ManifestPort`` and ``CatalogPort`` over one shared ECR client.

    Every call takes a token from the registry's rate limiter first (registry_services keeps one per registry and
    container): the function's ECR call rate to that registry stays under the configured ceiling, whichever door is
    busy.
    """

    def __init__(
        self,
        client: ECRClient | None = None,
        *,
        rate_limiter: RateLimiter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client or new_client()
        self._rate_limiter = rate_limiter
        self._clock = clock
        self._pull_through_rules: dict[str, tuple[float, list[PullThroughCacheRule]]] = {}

    def _acquire(self) -> None:
        if self._rate_limiter is not None:
            self._rate_limiter.acquire()

    def batch_check_layer_availability(
        self, registry_id: str, repository_name: str, layer_digests: Sequence[ValidDigest]
    ) -> BatchAnswer:
        self._acquire()
        try:
            response = self._client.batch_check_layer_availability(
                **_registry(registry_id), repositoryName=repository_name, layerDigests=list(layer_digests)
            )
        except (ClientError, BotoCoreError) as error:
            raise translate_error(error) from error
        return BatchAnswer(
            layers=layer_answers(response.get("layers", [])), failures=layer_failures(response.get("failures", []))
        )

    def batch_get_image(
        self, registry_id: str, repository_name: str, image_digests: Sequence[ValidDigest]
    ) -> ManifestAnswer:
        """Manifests by digest, as stored: the accepted media types include indexes and manifest lists, so ECR does
        not convert a multi-arch image to one platform. A digest ECR answers without naming it is "not found"."""
        # The image modules load with the first image read: a layer check (the API's busiest route) never needs them.
        from layercheck.logic.images import (
            ACCEPTED_MEDIA_TYPES,
            UNANSWERED_IMAGE,
            FetchedManifest,
            ManifestAnswer,
            ManifestFailure,
        )

        manifests: dict[str, FetchedManifest] = {}
        failures: dict[str, ManifestFailure] = {}
        for chunk in chunked(list(image_digests), MAX_IMAGE_IDS_PER_CALL):
            self._acquire()
            try:
                response = self._client.batch_get_image(
                    **_registry(registry_id),
                    repositoryName=repository_name,
                    imageIds=[{"imageDigest": digest} for digest in chunk],
                    acceptedMediaTypes=list(ACCEPTED_MEDIA_TYPES),
                )
            except (ClientError, BotoCoreError) as error:
                raise translate_error(error) from error
            for image in response.get("images", []):
                digest = image.get("imageId", {}).get("imageDigest")
                if digest in chunk and digest not in manifests and "imageManifest" in image:
                    manifests[digest] = FetchedManifest(
                        digest, image["imageManifest"], image.get("imageManifestMediaType")
                    )
            unattributed: set[tuple[str, str]] = set()
            for failure in response.get("failures", []):
                digest = failure.get("imageId", {}).get("imageDigest")
                code, reason = failure.get("failureCode", UNANSWERED_IMAGE), failure.get("failureReason", "")
                if digest in chunk and digest not in manifests:
                    failures[digest] = ManifestFailure(digest, code, reason)
                elif digest not in chunk:
                    unattributed.add((code, reason))
            # ECR names the digest of each failure; moto names none ({"imageTag": "null"}). One kind of unattributed
            # failure stands for every digest left unanswered; anything else is "unanswered", never "not found".
            code, reason = (
                next(iter(unattributed)) if len(unattributed) == 1 else (UNANSWERED_IMAGE, "ECR did not answer it")
            )
            for digest in chunk:
                if digest not in manifests and digest not in failures:
                    failures[digest] = ManifestFailure(digest, code, reason)
        return ManifestAnswer(manifests=manifests, failures=failures)

    def list_repositories(self, registry_id: str | None = None) -> Iterator[RepositoryRef]:
        """Every repository, page by page (the pages are fetched as the caller consumes them)."""
        for repository in self._listing("describe_repositories", "repositories", **_registry(registry_id)):
            yield RepositoryRef(repository["registryId"], repository["repositoryName"])

    def list_image_details(
        self, registry_id: str, repository_name: str, *, tagged_only: bool = False
    ) -> Iterator[ImageDetail]:
        """Every image with its tags, push time and storage status (DescribeImages: one entry per image, unlike
        ListImages' one per tag), archived ones included, optionally only tagged ones."""
        # Without imageStatus ECR lists ACTIVE images only: archived ones would silently drop out of the audit.
        image_filter = {"imageStatus": IMAGE_STATUS_ANY, **({"tagStatus": "TAGGED"} if tagged_only else {})}
        for image in self._listing(
            "describe_images",
            "imageDetails",
            registryId=registry_id,
            repositoryName=repository_name,
            filter=image_filter,
        ):
            yield _image_detail(image)

    def describe_image(self, registry_id: str, repository_name: str, image_digest: str) -> ImageDetail | None:
        """One image's tags and push time, or None when ECR no longer has it."""
        return self._one_image(registry_id, repository_name, image_digest)

    def held_image(self, registry_id: str, repository_name: str, image_digest: str) -> ImageDetail | None:
        """``logic.deletion.HeldImagePort``: the image in any storage class (DescribeImages lists ACTIVE images only
        unless its filter names another ``imageStatus``), or None when the repository no longer holds it.
        https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImagesFilter.html"""
        return self._one_image(registry_id, repository_name, image_digest, filter={"imageStatus": IMAGE_STATUS_ANY})

    def _one_image(
        self, registry_id: str, repository_name: str, image_digest: str, **arguments: Any
    ) -> ImageDetail | None:
        """DescribeImages of one digest: its detail, or None for ECR's ImageNotFoundException."""
        self._acquire()
        try:
            response = self._client.describe_images(
                **_registry(registry_id),
                repositoryName=repository_name,
                imageIds=[{"imageDigest": image_digest}],
                **arguments,
            )
        except ClientError as error:
            if error_code(error) == ecr_codes.IMAGE_NOT_FOUND_EXCEPTION:
                return None
            raise translate_error(error) from error
        except BotoCoreError as error:
            raise translate_error(error) from error
        details = [_image_detail(image) for image in response.get("imageDetails", [])]
        return next((detail for detail in details if detail.image_digest == image_digest), None)

    # -- reads that never record a pull (DescribeImages, DescribeRegistry) -------------------------------------------

    def resolve_tags(self, registry_id: str, region: str, repository_name: str, tags: Sequence[str]) -> TagAnswer:
        """``logic.in_use.TagResolverPort``: each tag's digest, or ``ImageNotFoundException`` for a tag the repository
        does not hold; raises ``RepositoryCheckError`` for anything else (a missing repository ...). ``region`` is the
        client's own: the audit asks each registry's ``EcrRegistry`` about that registry only.

        DescribeImages, never BatchGetImage: BatchGetImage records a pull (``lastRecordedPullTime``), which would keep
        every in-use tag "recently pulled" for ``sinceImagePulled`` lifecycle rules."""
        from layercheck.logic.in_use import TagAnswer

        answer = TagAnswer()
        unique = list(dict.fromkeys(tags))
        found, _ = self._describe_ids(registry_id, repository_name, [{"imageTag": tag} for tag in unique])
        for image in found:
            for tag in image.get("imageTags", []):
                if tag in unique:
                    answer.digests.setdefault(tag, image["imageDigest"])
        for tag in unique:
            if tag not in answer.digests:
                answer.missing[tag] = ecr_codes.IMAGE_NOT_FOUND_EXCEPTION
        return answer

    def present_images(self, registry_id: str, repository_name: str, image_digests: Sequence[str]) -> set[str]:
        """The digests the repository holds (a replica probe at a destination: DescribeImages, so no pull is
        recorded there); raises ``RepositoryCheckError`` (``RepositoryNotFoundException`` ...)."""
        unique = list(dict.fromkeys(image_digests))
        found, _ = self._describe_ids(registry_id, repository_name, [{"imageDigest": d} for d in unique])
        return {image["imageDigest"] for image in found} & set(unique)

    def _describe_ids(
        self, registry_id: str, repository_name: str, image_ids: list[dict[str, str]]
    ) -> tuple[list[Any], list[dict[str, str]]]:
        """DescribeImages by id, 100 per call. ECR fails a whole call with ``ImageNotFoundException`` when one id is
        unknown, so such a call is split in halves until the unknown ids are named: k unknown ids of n cost about
        k·log2(n) more calls, none when all exist. Returns the image details found and the ids not found."""
        found: list[Any] = []
        missing: list[dict[str, str]] = []
        pending = [list(chunk) for chunk in chunked(image_ids, MAX_IMAGE_IDS_PER_CALL)]
        while pending:
            ids = pending.pop(0)
            self._acquire()
            try:
                identifiers: Any = ids  # ECR's ImageIdentifier: {"imageTag"} or {"imageDigest"}
                response = self._client.describe_images(
                    **_registry(registry_id), repositoryName=repository_name, imageIds=identifiers
                )
            except ClientError as error:
                if error_code(error) != ecr_codes.IMAGE_NOT_FOUND_EXCEPTION:
                    raise translate_error(error) from error
                if len(ids) == 1:
                    missing.extend(ids)
                else:
                    pending[0:0] = [ids[: len(ids) // 2], ids[len(ids) // 2 :]]
                continue
            except BotoCoreError as error:
                raise translate_error(error) from error
            found.extend(response.get("imageDetails", []))
        return found, missing

    def replication_configuration(self) -> ReplicationConfiguration:
        """The registry's replication rules (DescribeRegistry describes the client's own registry); raises
        ``RepositoryCheckError``."""
        from layercheck.logic.replication import ReplicationConfiguration

        self._acquire()
        try:
            answer = self._client.describe_registry()
        except (ClientError, BotoCoreError) as error:
            raise translate_error(error) from error
        return ReplicationConfiguration.from_describe_registry(dict(answer))

    def pull_through_cache_rule(self, registry_id: str, repository_name: str) -> PullThroughCacheRule | None:
        """The registry's pull-through cache rule covering the repository (the longest prefix wins), or None.

        The rules are read with DescribePullThroughCacheRules (every page) and kept ``PULL_THROUGH_RULES_TTL_SECONDS``;
        an error is not kept, so the next image asks again."""
        cached = self._pull_through_rules.get(registry_id)
        if cached is None or self._clock() >= cached[0]:
            cached = (self._clock() + PULL_THROUGH_RULES_TTL_SECONDS, list(self._read_pull_through_rules(registry_id)))
            self._pull_through_rules[registry_id] = cached
        covering = [rule for rule in cached[1] if rule.covers(repository_name)]
        return max(covering, key=lambda rule: len(rule.ecr_repository_prefix), default=None)

    def _read_pull_through_rules(self, registry_id: str) -> Iterator[PullThroughCacheRule]:
        for rule in self._listing(
            "describe_pull_through_cache_rules", "pullThroughCacheRules", **_registry(registry_id)
        ):
            yield PullThroughCacheRule(rule.get("ecrRepositoryPrefix", ""), rule.get("upstreamRegistryUrl", ""))

    def _listing(self, operation: str, result_key: str, **arguments: Any) -> Iterator[Any]:
        """Every entry of an ECR listing, each page after a token of the rate limiter; errors translated."""
        try:
            for page in ecr_pages(self._client, operation, before_call=self._acquire, **arguments):
                yield from page.get(result_key, [])
        except (ClientError, BotoCoreError) as error:
            raise translate_error(error) from error


def _image_detail(image: Any) -> ImageDetail:
    return ImageDetail(
        image_digest=image["imageDigest"],
        image_tags=tuple(image.get("imageTags", [])),
        pushed_at=image.get("imagePushedAt"),
        image_status=image.get("imageStatus") or IMAGE_ACTIVE,
        last_archived_at=image.get("lastArchivedAt"),
    )


def _registry(registry_id: str | None) -> dict[str, Any]:
    """``registryId`` for a call; an empty one means the caller's default registry, so it is left out, as the AWS CLI
    leaves it out when ``--registry-id`` is not given."""
    return {"registryId": registry_id} if registry_id else {}
