"""Teaching in-process moto the ECR actions it lacks (see local/moto_ecr.py, local/moto_lifecycle.py), undone after
each test."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from moto.ecr.models import ecr_backends
from moto.ecr.responses import ECRResponse

from local.moto_ecr import ACTION_METHOD, pull_through_cache_rules_action
from local.moto_lifecycle import PreviewSettings, lifecycle_preview_actions


def serve_pull_through_cache_rules(monkeypatch: pytest.MonkeyPatch, rules: list[dict[str, str]]) -> None:
    """``rules``: ECR ``PullThroughCacheRule`` entries (``ecrRepositoryPrefix``, ``upstreamRegistryUrl``); the list
    may be changed by the test afterwards."""
    monkeypatch.setattr(ECRResponse, ACTION_METHOD, pull_through_cache_rules_action(rules), raising=False)


def serve_lifecycle_previews(
    monkeypatch: pytest.MonkeyPatch, settings: PreviewSettings | None = None
) -> PreviewSettings:
    """The lifecycle preview stand-in (ECR's documented semantics over moto's images); returns its settings."""
    settings = settings or PreviewSettings()
    for name, method in lifecycle_preview_actions(settings).items():
        monkeypatch.setattr(ECRResponse, name, method, raising=False)
    return settings


def archive_image(account: str, region: str, repository_name: str, image_digest: str) -> None:
    """Stands in for ``UpdateImageStorageClass`` to ``ARCHIVE`` (or a lifecycle ``transition``), which moto lacks:
    the image's ``DescribeImages`` entry says ``imageStatus`` ``ARCHIVED`` with its ``lastArchivedAt``, as ECR's does
    for an archived image asked for with ``filter.imageStatus``.
    https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageDetail.html"""
    repository = ecr_backends[account][region].repositories[repository_name]
    [image] = [image for image in repository.images if image.image_digest == image_digest]
    image.image_status = "ARCHIVED"
    image.last_archived_at = datetime.now(UTC)
