"""Pagination as real ECR does it: pages of at most ``maxResults`` chained by ``nextToken`` until a page has none.
moto ignores ``maxResults`` and answers everything in one page, so these use botocore's Stubber over ECR's real model
(it checks every request and answer against it): every page is followed, nothing is dropped or repeated."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from layercheck.logic.audit import AuditService
from layercheck.models.audit import AuditScope, RepositoryWorkItem
from tests.unit.ecr_stubs import REGISTRY, REPOSITORY, Stubbed, d, stubbed_ecr
from tests.unit.test_images_audit import FakeQueue, NoImageChecks

PAGE = 1000  # what the integration asks for: ECR's maximum


@pytest.fixture
def ecr() -> Iterator[Stubbed]:
    yield from stubbed_ecr()


def _pages(ecr: Stubbed, operation: str, key: str, pages: list[list[dict[str, Any]]], expected: dict[str, Any]) -> None:
    """Queue ``pages`` as ECR answers them: each but the last carries a nextToken, which the next request must send."""
    for number, entries in enumerate(pages):
        response: dict[str, Any] = {key: entries}
        if number + 1 < len(pages):
            response["nextToken"] = f"opaque-token-{number + 1}=="
        request = dict(expected, **({"nextToken": f"opaque-token-{number}=="} if number else {}))
        ecr.stubber.add_response(operation, response, request)


def test_list_image_details_follows_every_describe_images_page(ecr: Stubbed) -> None:
    """Real ECR: DescribeImages returns at most ``maxResults`` images per page and a ``nextToken`` while more remain
    (also when a page comes back short or empty); the filter must be sent again with every token."""
    pages = [
        [{"imageDigest": d(f"img-{page}-{n}"), "imageTags": [f"t{page}{n}"]} for n in range(size)]
        for page, size in enumerate((3, 0, 2))
    ]
    expected = {
        "registryId": REGISTRY,
        "repositoryName": REPOSITORY,
        "maxResults": PAGE,
        "filter": {"imageStatus": "ANY"},
    }
    _pages(ecr, "describe_images", "imageDetails", pages, expected)

    digests = [detail.image_digest for detail in ecr.registry().list_image_details(REGISTRY, REPOSITORY)]

    assert digests == [entry["imageDigest"] for page in pages for entry in page]
    assert len(set(digests)) == 5


def test_audit_start_queues_each_repository_of_every_describe_repositories_page_once(ecr: Stubbed) -> None:
    """Real ECR: DescribeRepositories pages through up to 100,000 repositories ``maxResults`` at a time."""
    names = [[f"team-a/svc-{page}-{n}" for n in range(4)] for page in range(3)]
    pages = [[{"registryId": REGISTRY, "repositoryName": name} for name in page] for page in names]
    _pages(ecr, "describe_repositories", "repositories", pages, {"registryId": REGISTRY, "maxResults": PAGE})
    queue = FakeQueue()

    started = AuditService(ecr.registry(), queue, NoImageChecks(), region="us-east-1").start(  # type: ignore[arg-type]
        "audit-1", AuditScope(), registry_id=REGISTRY
    )

    queued = [item.repositoryName for batch in queue.sent for item in batch if isinstance(item, RepositoryWorkItem)]
    assert queued == [name for page in names for name in page]
    assert started.repositories == 12


def test_pull_through_rules_of_every_page_are_read(ecr: Stubbed) -> None:
    """Real ECR: DescribePullThroughCacheRules pages like the others; a rule on the last page still counts."""
    ecr.pull_through_rules([("quay", "quay.io")], [], [("ecr-public", "public.ecr.aws")])

    rule = ecr.registry().pull_through_cache_rule(REGISTRY, "ecr-public/nginx/nginx")

    assert rule is not None and rule.upstream_registry_url == "public.ecr.aws"


def test_pull_through_rules_match_whole_path_segments_and_root_covers_everything(ecr: Stubbed) -> None:
    """Real ECR: a rule's ``ecrRepositoryPrefix`` names the first path segment(s) of its repositories; ``ROOT`` (an
    ECR upstream without a prefix) stands for every repository of the registry."""
    ecr.pull_through_rules([("docker", "registry-1.docker.io"), ("docker/library", "mirror.example")])
    registry = ecr.registry()

    assert registry.pull_through_cache_rule(REGISTRY, "dockerish/app") is None
    rule = registry.pull_through_cache_rule(REGISTRY, "docker/library/nginx")
    assert rule is not None and rule.upstream_registry_url == "mirror.example"  # the longest prefix wins

    ecr.pull_through_rules([("ROOT", "123456789012.dkr.ecr.eu-west-1.amazonaws.com")])
    other = ecr.registry().pull_through_cache_rule(REGISTRY, "any/name")
    assert other is not None and other.ecr_repository_prefix == "ROOT"
