"""Bounds on what grows with the estate: users of an image (usedBy), a replica's missing layers, and the images an
audit work item carries. Limits: DynamoDB item 400 KB, EventBridge entry 256 KB, SQS message 256 KiB."""

from __future__ import annotations

from datetime import UTC, datetime

from layercheck.logic.audit import image_slices, packed
from layercheck.logic.catalog import ImageDetail
from layercheck.logic.in_use import EcsService, EcsWorkloads
from layercheck.logic.org_audit import OrganizationAudit
from layercheck.models.audit import (
    MAX_IMAGES_PER_WORK_ITEM,
    MAX_WORK_ITEM_BYTES,
    AuditImage,
    RegistryWorkItem,
    ReplicaDestination,
    RepositoryWorkItem,
)
from layercheck.models.bounds import MAX_LISTED
from layercheck.models.in_use import UsedBy
from layercheck.models.replicas import Replica
from layercheck.models.stored import StoredImageVerdict
from tests.unit.test_org_audit import HOST, OWN, REGION, FakeEcr, FakeEcs, FakeQueue, FakeRegistries, registry, services

EVENTBRIDGE_ENTRY_BYTES = 256 * 1024
LONGEST_ID = 2048  # IAM's bound on an ARN


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


def user(n: int) -> UsedBy:
    prefix = f"arn:aws:ecs:{REGION}:{OWN}:task/{n}/"
    return UsedBy(kind="ecs-task", id=prefix + "x" * (LONGEST_ID - len(prefix)))


def worst_image(n: int) -> AuditImage:
    """As many tags and users as anyone could give it, each as long as ECR and IAM allow."""
    tags = [f"{t}-" + "t" * 290 for t in range(120)]
    return AuditImage(imageDigest=digest(n), imageTags=tags, usedBy=[user(u) for u in range(120)])


def test_an_image_verdict_names_at_most_max_listed_users_and_counts_the_rest() -> None:
    verdict = StoredImageVerdict(
        registryId=OWN,
        region=REGION,
        repositoryName="team/api",
        checkedAt="2026-01-01T00:00:00Z",
        source="schedule",
        expiresAt=0,
        imageDigest=digest(1),
        status="BROKEN",
        usedBy=[user(n) for n in range(1000)],
        missingLayers=[digest(n) for n in range(MAX_LISTED)],
        replicas=[
            Replica(
                region=f"eu-west-{r}", registryId=OWN, status="BROKEN", missingLayers=[digest(n) for n in range(500)]
            )
            for r in range(25)
        ],
    )

    assert (len(verdict.usedBy), verdict.usedByOmitted) == (MAX_LISTED, 1000 - MAX_LISTED)
    assert {(len(r.missingLayers), r.missingLayersOmitted) for r in verdict.replicas} == {
        (MAX_LISTED, 500 - MAX_LISTED)
    }
    # the worst verdict still fits an EventBridge entry (and so a DynamoDB item)
    assert len(verdict.model_dump_json().encode()) < EVENTBRIDGE_ENTRY_BYTES


def test_a_bounded_verdict_reads_back_the_same() -> None:
    verdict = StoredImageVerdict.model_validate(
        {
            "registryId": OWN,
            "repositoryName": "r",
            "checkedAt": "x",
            "source": "push",
            "expiresAt": 0,
            "imageDigest": digest(1),
            "status": "COMPLETE",
            "usedBy": [user(n).model_dump() for n in range(60)],
        }
    )

    assert StoredImageVerdict.model_validate_json(verdict.model_dump_json()) == verdict


def test_a_work_item_image_carries_at_most_max_listed_tags_and_users() -> None:
    image = worst_image(1)

    assert (len(image.imageTags), image.imageTagsOmitted) == (MAX_LISTED, 120 - MAX_LISTED)
    assert (len(image.usedBy), image.usedByOmitted) == (MAX_LISTED, 120 - MAX_LISTED)


def test_image_slices_of_the_worst_images_each_fit_an_sqs_message() -> None:
    item = RepositoryWorkItem(
        auditId="a" * 128,
        registryId=OWN,
        region=REGION,
        repositoryName="team/api",
        replicaDestinations=[ReplicaDestination(region=f"eu-west-{r}", registryId=OWN) for r in range(25)],
    )
    worst = worst_image(0)
    details = [ImageDetail(digest(n), tuple(worst.imageTags), datetime(2026, 1, 1, tzinfo=UTC)) for n in range(150)]
    users = {detail.image_digest: list(worst.usedBy) for detail in details}

    slices = image_slices(item, details, users)

    assert [image.imageDigest for s in slices for image in s.images] == [d.image_digest for d in details]
    assert max(len(s.model_dump_json().encode()) for s in slices) <= MAX_WORK_ITEM_BYTES
    assert all(len(s.images) <= MAX_IMAGES_PER_WORK_ITEM for s in slices)


def test_small_images_still_go_a_hundred_to_a_slice() -> None:
    images = [AuditImage(imageDigest=digest(n)) for n in range(250)]

    assert [len(group) for group in packed(images)] == [100, 100, 50]


def test_a_repository_item_carries_the_in_use_images_that_fit_and_the_registry_item_reports_the_rest() -> None:
    # Given three images of one repository each run by 60 standalone tasks whose ARNs are as long as IAM allows
    images = tuple(f"{HOST}/team/api@{digest(n)}" for n in range(3))
    ecs = FakeEcs(EcsWorkloads(services=tuple(EcsService(user(n).id, images) for n in range(60))))
    ecr = FakeEcr(repositories={"team/api": [ImageDetail(digest(n), ()) for n in range(3)]})
    queue = FakeQueue()
    audit = OrganizationAudit(FakeRegistries({registry(): services(ecr, queue, ecs)}), queue, REGION)

    audited = audit.audit_registry(RegistryWorkItem(auditId="a", registryId=OWN, region=REGION))

    # Then the queued item fits SQS, and what it could not carry is reported by digest, not dropped silently
    [item] = queue.sent
    assert isinstance(item, RepositoryWorkItem)
    assert len(item.model_dump_json().encode()) <= MAX_WORK_ITEM_BYTES
    carried = [image.imageDigest for image in item.inUse]
    reported = [entry.image.imageDigest for entry in audited.in_use_not_carried]
    assert carried and reported and sorted(carried + reported) == [digest(n) for n in range(3)]
