"""The images in use in one account and Region, from fakes of the four ports (ECS, Lambda, inventory, ECR tags)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pytest

from layercheck.errors import RepositoryCheckError, TransientCheckError
from layercheck.logic.in_use import (
    EcsContainer,
    EcsService,
    EcsTask,
    EcsWorkloads,
    InUseSourceError,
    LambdaImageFunction,
    RegistryRef,
    SourceFailure,
    TagAnswer,
    UnresolvedImage,
    discover_in_use,
)
from layercheck.models.in_use import InUseImage, InventoryEntry, UsedBy

ACCOUNT, REGION = "123456789012", "eu-west-1"
AUDIT = RegistryRef(ACCOUNT, REGION)
HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
OTHER_HOST = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
SERVICE = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/api"
TASK = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/prod/0123"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:thumbnails"


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


@dataclass
class FakeEcs:
    workloads: EcsWorkloads = field(default_factory=EcsWorkloads)
    error: InUseSourceError | None = None

    def list_workloads(self) -> EcsWorkloads:
        if self.error:
            raise self.error
        return self.workloads


@dataclass
class FakeLambda:
    functions: list[LambdaImageFunction] = field(default_factory=list)
    error_after: int | None = None

    def list_image_functions(self) -> Iterator[LambdaImageFunction]:
        for count, function in enumerate(self.functions):
            if self.error_after is not None and count == self.error_after:
                raise InUseSourceError("lambda", "AccessDeniedException", "no")
            yield function


@dataclass
class FakeInventory:
    entries: list[InventoryEntry] = field(default_factory=list)
    asked: list[tuple[str, str]] = field(default_factory=list)

    def list_entries(self, registry_id: str, region: str) -> Iterator[InventoryEntry]:
        self.asked.append((registry_id, region))
        yield from self.entries


@dataclass
class FakeTags:
    """ECR's tags: (registry, region, repository) -> {tag: digest}; a repository missing raises as ECR would."""

    tags: dict[tuple[str, str, str], dict[str, str]] = field(default_factory=dict)
    calls: list[tuple[str, str, str, tuple[str, ...]]] = field(default_factory=list)

    def resolve_tags(self, registry_id: str, region: str, repository_name: str, tags: Sequence[str]) -> TagAnswer:
        self.calls.append((registry_id, region, repository_name, tuple(tags)))
        known = self.tags.get((registry_id, region, repository_name))
        if known is None:
            raise RepositoryCheckError("RepositoryNotFoundException", "no such repository")
        return TagAnswer(
            digests={tag: known[tag] for tag in tags if tag in known},
            missing={tag: "ImageNotFoundException" for tag in tags if tag not in known},
        )


def entry(repository: str, *, tag: str | None = None, image_digest: str | None = None) -> InventoryEntry:
    return InventoryEntry(
        source="k8s-prod",
        registryId=ACCOUNT,
        region=REGION,
        repositoryName=repository,
        imageTag=tag,
        imageDigest=image_digest,
        reportedAt="2026-01-01T00:00:00Z",
        expiresAt=2_000_000_000,
    )


def key(repository: str, n: int, region: str = REGION) -> InUseImage:
    return InUseImage(ACCOUNT, region, repository, digest(n))


def test_discover_in_use_resolves_an_ecs_service_tag_through_ecr() -> None:
    # Given a service whose task definition names api:v1, which ECR holds as digest 1
    ecs = FakeEcs(EcsWorkloads(services=(EcsService(SERVICE, (f"{HOST}/api:v1",)),)))
    tags = FakeTags({(ACCOUNT, REGION, "api"): {"v1": digest(1)}})

    # When the images in use are discovered
    found = discover_in_use(AUDIT, ecs=ecs, lambda_functions=None, inventory=None, tags=tags)

    # Then the image is in use by the service
    assert found.images == {key("api", 1): [UsedBy(kind="ecs-service", id=SERVICE)]}
    assert found.unresolved == [] and found.failures == [] and found.ignored == 0


def test_discover_in_use_counts_a_services_running_tasks_for_the_service_and_keeps_their_resolved_digest() -> None:
    # Given a service on api:v1 (now digest 2 in ECR) whose running task still runs digest 1 (ECS resolved it at start)
    service = EcsService(SERVICE, (f"{HOST}/api:v1",), deployment_ids=("ecs-svc/111",))
    task = EcsTask(TASK, (EcsContainer(f"{HOST}/api:v1", digest(1)),), started_by="ecs-svc/111")
    tags = FakeTags({(ACCOUNT, REGION, "api"): {"v1": digest(2)}})

    found = discover_in_use(
        AUDIT, ecs=FakeEcs(EcsWorkloads((service,), (task,))), lambda_functions=None, inventory=None, tags=tags
    )

    # Then both digests are in use by the service, and no ecs-task entry grows with the task count
    assert found.images == {
        key("api", 2): [UsedBy(kind="ecs-service", id=SERVICE)],
        key("api", 1): [UsedBy(kind="ecs-service", id=SERVICE)],
    }


def test_discover_in_use_names_a_standalone_task_as_ecs_task() -> None:
    task = EcsTask(TASK, (EcsContainer(f"{HOST}/batch@{digest(3)}"),), started_by="events-rule/nightly")

    found = discover_in_use(
        AUDIT, ecs=FakeEcs(EcsWorkloads(tasks=(task,))), lambda_functions=None, inventory=None, tags=FakeTags()
    )

    assert found.images == {key("batch", 3): [UsedBy(kind="ecs-task", id=TASK)]}


def test_discover_in_use_prefers_lambdas_resolved_digest_then_the_uris_digest_then_its_tag() -> None:
    # Given three functions: one Lambda resolved to digest 5 (its tag now points at 6), one deployed by digest 7,
    # one by tag only (resolved through ECR to 8)
    functions = [
        LambdaImageFunction(f"{FUNCTION}-a", f"{HOST}/fn:v1", f"{HOST}/fn@{digest(5)}"),
        LambdaImageFunction(f"{FUNCTION}-b", f"{HOST}/fn@{digest(7)}"),
        LambdaImageFunction(f"{FUNCTION}-c", f"{HOST}/fn:v2"),
    ]
    tags = FakeTags({(ACCOUNT, REGION, "fn"): {"v1": digest(6), "v2": digest(8)}})

    found = discover_in_use(AUDIT, ecs=None, lambda_functions=FakeLambda(functions), inventory=None, tags=tags)

    assert found.images == {
        key("fn", 5): [UsedBy(kind="lambda-function", id=f"{FUNCTION}-a")],
        key("fn", 7): [UsedBy(kind="lambda-function", id=f"{FUNCTION}-b")],
        key("fn", 8): [UsedBy(kind="lambda-function", id=f"{FUNCTION}-c")],
    }
    # v1 was never asked of ECR: the resolved digest made it unnecessary
    assert tags.calls == [(ACCOUNT, REGION, "fn", ("v2",))]


def test_discover_in_use_reads_the_audited_registrys_inventory() -> None:
    inventory = FakeInventory([entry("web", tag="v1"), entry("web", image_digest=digest(9))])
    tags = FakeTags({(ACCOUNT, REGION, "web"): {"v1": digest(4)}})

    found = discover_in_use(AUDIT, ecs=None, lambda_functions=None, inventory=inventory, tags=tags)

    assert inventory.asked == [(ACCOUNT, REGION)]
    assert found.images == {
        key("web", 9): [UsedBy(kind="inventory", id="k8s-prod")],
        key("web", 4): [UsedBy(kind="inventory", id="k8s-prod")],
    }


def test_discover_in_use_merges_users_of_one_image_once_each_and_resolves_each_repository_in_one_call() -> None:
    # Given a service, a function and an inventory entry on the same tag, and the service listed with it twice
    ecs = FakeEcs(EcsWorkloads(services=(EcsService(SERVICE, (f"{HOST}/api:v1", f"{HOST}/api:v1", f"{HOST}/api:v2")),)))
    functions = FakeLambda([LambdaImageFunction(FUNCTION, f"{HOST}/api:v1")])
    tags = FakeTags({(ACCOUNT, REGION, "api"): {"v1": digest(1), "v2": digest(2)}})

    found = discover_in_use(
        AUDIT, ecs=ecs, lambda_functions=functions, inventory=FakeInventory([entry("api", tag="v1")]), tags=tags
    )

    assert found.images[key("api", 1)] == [
        UsedBy(kind="ecs-service", id=SERVICE),
        UsedBy(kind="lambda-function", id=FUNCTION),
        UsedBy(kind="inventory", id="k8s-prod"),
    ]
    assert tags.calls == [(ACCOUNT, REGION, "api", ("v1", "v2"))]


def test_discover_in_use_ignores_images_outside_the_audited_registries_and_not_in_ecr() -> None:
    # Given images from Docker Hub, public ECR, another account and another Region of this account
    images = (
        "nginx:1.27",
        "public.ecr.aws/nginx/nginx:1.27",
        f"210987654321.dkr.ecr.{REGION}.amazonaws.com/api:v1",
        f"{OTHER_HOST}/api@{digest(1)}",
    )
    ecs = FakeEcs(EcsWorkloads(services=(EcsService(SERVICE, images),)))
    tags = FakeTags()

    found = discover_in_use(AUDIT, ecs=ecs, lambda_functions=None, inventory=None, tags=tags)

    assert found.images == {} and found.ignored == 4 and tags.calls == []


def test_discover_in_use_keeps_another_audited_region_of_the_account() -> None:
    ecs = FakeEcs(EcsWorkloads(services=(EcsService(SERVICE, (f"{OTHER_HOST}/api@{digest(1)}",)),)))

    found = discover_in_use(
        AUDIT,
        ecs=ecs,
        lambda_functions=None,
        inventory=None,
        tags=FakeTags(),
        audited_registries=[AUDIT, RegistryRef(ACCOUNT, "us-east-1")],
    )

    assert found.images == {key("api", 1, "us-east-1"): [UsedBy(kind="ecs-service", id=SERVICE)]}


def test_discover_in_use_reports_tags_ecr_does_not_hold_with_their_users() -> None:
    # Given a service on a deleted tag and a function on a repository that no longer exists
    ecs = FakeEcs(EcsWorkloads(services=(EcsService(SERVICE, (f"{HOST}/api:gone",)),)))
    functions = FakeLambda([LambdaImageFunction(FUNCTION, f"{HOST}/deleted:v1")])
    tags = FakeTags({(ACCOUNT, REGION, "api"): {"v1": digest(1)}})

    found = discover_in_use(AUDIT, ecs=ecs, lambda_functions=functions, inventory=None, tags=tags)

    assert found.images == {}
    assert found.unresolved == [
        UnresolvedImage(
            ACCOUNT, REGION, "api", "gone", "ImageNotFoundException", (UsedBy(kind="ecs-service", id=SERVICE),)
        ),
        UnresolvedImage(
            ACCOUNT,
            REGION,
            "deleted",
            "v1",
            "RepositoryNotFoundException",
            (UsedBy(kind="lambda-function", id=FUNCTION),),
        ),
    ]


def test_discover_in_use_keeps_the_other_sources_when_one_fails() -> None:
    # Given ECS refusing access, and Lambda failing after its first function
    ecs = FakeEcs(error=InUseSourceError("ecs", "AccessDeniedException", "not allowed"))
    functions = FakeLambda(
        [LambdaImageFunction(FUNCTION, f"{HOST}/fn@{digest(1)}"), LambdaImageFunction("x", f"{HOST}/fn@{digest(2)}")],
        error_after=1,
    )

    found = discover_in_use(
        AUDIT,
        ecs=ecs,
        lambda_functions=functions,
        inventory=FakeInventory([entry("web", image_digest=digest(3))]),
        tags=FakeTags(),
    )

    # Then what was read still counts, and each failure is named
    assert set(found.images) == {key("fn", 1), key("web", 3)}
    assert found.failures == [
        SourceFailure("ecs", "AccessDeniedException", "not allowed"),
        SourceFailure("lambda", "AccessDeniedException", "no"),
    ]
    assert found.used_by(key("fn", 1)) == [UsedBy(kind="lambda-function", id=FUNCTION)]
    assert found.used_by(key("fn", 2)) == []


def test_discover_in_use_retries_a_throttled_tag_resolution_rather_than_calling_every_tag_unresolved() -> None:
    """ECR answers DescribeImages with ThrottlingException when the account's quota is spent (still so after
    botocore's retries): that says nothing about the tags, so the registry item must be retried."""

    class ThrottledTags:
        def resolve_tags(self, registry_id: str, region: str, repository_name: str, tags: Sequence[str]) -> TagAnswer:
            raise RepositoryCheckError("ThrottlingException", "Rate exceeded")

    service = EcsService(arn=SERVICE, images=(f"{HOST}/team-a/api:v1",))
    with pytest.raises(TransientCheckError) as raised:
        discover_in_use(
            AUDIT,
            ecs=FakeEcs(EcsWorkloads(services=(service,))),
            lambda_functions=None,
            inventory=None,
            tags=ThrottledTags(),
        )
    assert raised.value.codes == ["ThrottlingException"]
