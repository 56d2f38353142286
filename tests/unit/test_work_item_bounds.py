"""Bounds on what grows with the estate: users of an image (usedBy), a replica's missing layers, and the images an
audit work item carries. Limits: DynamoDB item 400 KB, EventBridge entry 256 KB, SQS message 256 KiB."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from layercheck.integrations.ecs import EcsService, EcsWorkloads
from layercheck.logic.audit_scope import image_slices, packed
from layercheck.logic.catalog import ImageDetail
from layercheck.logic.org_audit import OrganizationAudit
from layercheck.models.audit import (
    MAX_IMAGES_PER_WORK_ITEM,
    MAX_WORK_ITEM_BYTES,
    AuditImage,
    RegistryWorkItem,
    ReplicaDestination,
    RepositoryWorkItem,
)
from layercheck.models.bounds import MAX_LISTED, MAX_USED_BY_BYTES
from layercheck.models.in_use import UsedBy
from layercheck.models.replicas import Replica
from layercheck.models.stored import StoredImageVerdict
from tests.unit.test_org_audit import (
    HOST,
    OWN,
    REGION,
    FakeEcr,
    FakeEcs,
    FakeQueue,
    FakeReferences,
    FakeRegistries,
    registry,
    services,
)

EVENTBRIDGE_ENTRY_BYTES = 256 * 1024
LONGEST_ID = 2048  # IAM's bound on an ARN


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


def user(n: int) -> UsedBy:
    prefix = f"arn:aws:ecs:{REGION}:{OWN}:task/{n}/"
    return UsedBy(kind="ecs-task", id=prefix + "x" * (LONGEST_ID - len(prefix)))


def short_user(n: int) -> UsedBy:
    return UsedBy(kind="ecs-task", id=f"arn:aws:ecs:{REGION}:{OWN}:task/prod/{n:032x}")


def used_by_bytes(users: list[UsedBy]) -> int:
    return len(json.dumps([u.model_dump(mode="json") for u in users], separators=(",", ":")).encode())


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

    # users as long as IAM allows: as many as fit MAX_USED_BY_BYTES, the rest counted
    assert len(verdict.usedBy) + verdict.usedByOmitted == 1000
    assert 1 <= len(verdict.usedBy) < MAX_LISTED and used_by_bytes(verdict.usedBy) <= MAX_USED_BY_BYTES
    assert {(len(r.missingLayers), r.missingLayersOmitted) for r in verdict.replicas} == {
        (MAX_LISTED, 500 - MAX_LISTED)
    }
    # the worst verdict still fits an EventBridge entry (and so a DynamoDB item)
    assert len(verdict.model_dump_json().encode()) < EVENTBRIDGE_ENTRY_BYTES


def test_an_image_verdict_names_at_most_max_listed_short_users() -> None:
    verdict = StoredImageVerdict.model_validate(
        {
            "registryId": OWN,
            "repositoryName": "r",
            "checkedAt": "x",
            "source": "push",
            "expiresAt": 0,
            "imageDigest": digest(1),
            "status": "COMPLETE",
            "usedBy": [short_user(n).model_dump() for n in range(120)],
        }
    )

    assert (len(verdict.usedBy), verdict.usedByOmitted) == (MAX_LISTED, 120 - MAX_LISTED)


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
    assert len(image.usedBy) + image.usedByOmitted == 120 and used_by_bytes(image.usedBy) <= MAX_USED_BY_BYTES


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


def test_a_registry_item_hands_every_reference_over_however_many_and_its_items_stay_small() -> None:
    # Given 60 services with ARNs as long as IAM allows, each running 30 images of one repository by digest
    images = tuple(f"{HOST}/team/api@{digest(n)}" for n in range(30))
    ecs = FakeEcs(EcsWorkloads(services=tuple(EcsService(user(n).id, images) for n in range(60))))
    ecr = FakeEcr(repositories={"team/api": [ImageDetail(digest(n), ()) for n in range(30)]})
    queue, references = FakeQueue(), FakeReferences(size=100)
    audit = OrganizationAudit(FakeRegistries({registry(): services(ecr, queue, ecs, references)}), queue)

    audit.audit_registry(RegistryWorkItem(auditId="a", registryId=OWN, region=REGION))

    # Then every one of the 1,800 references reaches the repository's audit, and its work item carries none of them
    [item] = queue.sent
    assert isinstance(item, RepositoryWorkItem)
    assert len(references.kept[("a", OWN, REGION, "team/api")]) == 1800 and item.inUseChunks == 18
    assert len(item.model_dump_json().encode()) < 1024
