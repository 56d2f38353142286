"""The audit's scope rules and its cut into work items, over fakes of the catalog and the queue."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel

from layercheck.errors import AuditScopeError, RepositoryCheckError, TransientCheckError
from layercheck.logic import audit
from layercheck.logic.audit import AuditService
from layercheck.logic.audit_scope import effective_scope, image_slices, select_images
from layercheck.logic.catalog import ImageDetail, RepositoryRef
from layercheck.models.audit import AuditScope, AuditScopeInput, ImagesWorkItem, RepositoryWorkItem


def d(n: int) -> str:
    return f"sha256:{n:064x}"


@pytest.mark.parametrize(
    ("configured", "requested", "expected"),
    [
        (AuditScope(), None, AuditScope()),
        (AuditScope(), AuditScopeInput(repositoryPrefixes=["team-a/"]), AuditScope(repositoryPrefixes=("team-a/",))),
        (
            AuditScope(repositoryPrefixes=("team-",)),
            AuditScopeInput(repositoryPrefixes=["team-a/"], taggedOnly=True),
            AuditScope(repositoryPrefixes=("team-a/",), taggedOnly=True),
        ),
        (AuditScope(taggedOnly=True), AuditScopeInput(taggedOnly=False), AuditScope(taggedOnly=True)),
        (AuditScope(newestImages=10), AuditScopeInput(newestImages=50), AuditScope(newestImages=10)),
        (AuditScope(newestImages=10), AuditScopeInput(newestImages=3), AuditScope(newestImages=3)),
        (AuditScope(), AuditScopeInput(newestImages=3), AuditScope(newestImages=3)),
    ],
)
def test_a_constant_input_only_narrows_the_configured_scope(
    configured: AuditScope, requested: AuditScopeInput | None, expected: AuditScope
) -> None:
    assert effective_scope(configured, requested) == expected


def test_a_constant_input_outside_the_configured_prefixes_is_refused() -> None:
    with pytest.raises(AuditScopeError) as raised:
        effective_scope(
            AuditScope(repositoryPrefixes=("team-a/",)), AuditScopeInput(repositoryPrefixes=["team-a/x", "team-b/"])
        )

    assert raised.value.prefixes == ["team-b/"]


def test_select_images_keeps_the_newest_tagged_ones_in_a_stable_order() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    images = [
        ImageDetail(d(1), ("old",), start),
        ImageDetail(d(2), (), start + timedelta(hours=3)),
        ImageDetail(d(4), ("new",), start + timedelta(hours=2)),
        ImageDetail(d(3), ("same",), start + timedelta(hours=2)),
    ]

    assert [i.image_digest for i in select_images(images, newest=2)] == [d(2), d(3)]
    assert [i.image_digest for i in select_images(images, tagged_only=True, newest=2)] == [d(3), d(4)]
    assert len(select_images(images)) == 4


def test_image_slices_respect_the_work_item_limit() -> None:
    item = RepositoryWorkItem(auditId="a", registryId="123456789012", repositoryName="repo")

    slices = image_slices(item, [ImageDetail(d(n), (f"t{n}",)) for n in range(201)])

    assert [len(s.images) for s in slices] == [100, 100, 1]
    assert slices[0].images[0].imageTags == ["t0"]


@dataclass
class FakeCatalog:
    repositories: list[RepositoryRef] = field(default_factory=list)
    images: dict[str, list[ImageDetail]] = field(default_factory=dict)
    error: RepositoryCheckError | None = None

    def list_repositories(self, registry_id: str | None = None) -> Iterator[RepositoryRef]:
        if self.error:
            raise self.error
        yield from self.repositories

    def list_image_details(
        self, registry_id: str, repository_name: str, *, tagged_only: bool = False
    ) -> Iterator[ImageDetail]:
        if self.error:
            raise self.error
        yield from self.images.get(repository_name, [])

    def describe_image(self, registry_id: str, repository_name: str, image_digest: str) -> ImageDetail | None:
        return None


@dataclass
class FakeQueue:
    sent: list[list[BaseModel]] = field(default_factory=list)

    def send_work_items(self, items: Sequence[BaseModel]) -> int:
        self.sent.append(list(items))
        return len(items)


class NoImageChecks:
    def check_images(self, *args: object, **kwargs: object) -> object:
        raise AssertionError("no image should be checked here")


def test_start_queues_one_item_per_repository_in_scope_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "SEND_CHUNK", 2)
    names = ["team-a/x", "team-b/y", "team-a/z", "team-a/w"]
    catalog = FakeCatalog([RepositoryRef("123456789012", name) for name in names])
    queue = FakeQueue()

    started = AuditService(catalog, queue, NoImageChecks(), region="us-east-1").start(  # type: ignore[arg-type]
        "audit-1", AuditScope(repositoryPrefixes=("team-a/",), taggedOnly=True, newestImages=5)
    )

    assert started.repositories == 3
    assert [len(batch) for batch in queue.sent] == [2, 1]
    first = queue.sent[0][0]
    assert isinstance(first, RepositoryWorkItem)
    assert (first.repositoryName, first.taggedOnly, first.newestImages) == ("team-a/x", True, 5)


def test_a_throttled_repository_listing_is_transient() -> None:
    catalog = FakeCatalog(error=RepositoryCheckError("ThrottlingException", "slow"))

    with pytest.raises(TransientCheckError):
        AuditService(catalog, FakeQueue(), NoImageChecks(), region="us-east-1").start("a", AuditScope())  # type: ignore[arg-type]


def test_a_repository_deleted_since_the_listing_is_skipped() -> None:
    catalog = FakeCatalog(error=RepositoryCheckError("RepositoryNotFoundException", "gone"))
    item = RepositoryWorkItem(auditId="a", registryId="123456789012", repositoryName="repo")

    audited = AuditService(catalog, FakeQueue(), NoImageChecks(), region="us-east-1").audit_repository(item)  # type: ignore[arg-type]

    assert audited.repository_gone


def test_a_large_repository_fans_out_into_image_slices() -> None:
    catalog = FakeCatalog(images={"repo": [ImageDetail(d(n), ("t",)) for n in range(250)]})
    queue = FakeQueue()
    item = RepositoryWorkItem(auditId="a", registryId="123456789012", repositoryName="repo", newestImages=0)

    audited = AuditService(catalog, queue, NoImageChecks(), region="us-east-1").audit_repository(item)  # type: ignore[arg-type]

    assert (audited.images_in_scope, audited.queued_slices) == (250, 3)
    assert all(isinstance(slice_, ImagesWorkItem) for slice_ in queue.sent[0])


def test_image_slices_carry_each_images_archive_status_through_the_queue() -> None:
    """A repository too large for one work item fans out; its archived images must stay ARCHIVED in the slices."""
    item = RepositoryWorkItem(auditId="a", registryId="123456789012", repositoryName="repo")
    archived_at = datetime(2025, 6, 1, tzinfo=UTC)
    images = [ImageDetail(d(0), ("old",), image_status="ARCHIVED", last_archived_at=archived_at)]
    images += [ImageDetail(d(n), ()) for n in range(1, 101)]

    first = image_slices(item, images)[0]
    sent = ImagesWorkItem.model_validate_json(first.model_dump_json())

    assert (sent.images[0].imageStatus, sent.images[0].lastArchivedAt) == ("ARCHIVED", archived_at)
    assert "imageStatus" not in first.model_dump(mode="json")["images"][1]  # an active image's message is unchanged
