"""The images in use in one account and Region: discovery over the sources in the list (ECS, Lambda and the inventory,
each over a fake of what it reads), then each repository's references resolved against what it holds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from layercheck.integrations.ecs import EcsContainer, EcsInUse, EcsService, EcsTask, EcsWorkloads
from layercheck.integrations.ecs import in_use_source as ecs_source
from layercheck.integrations.inventory_store import InventoryInUse
from layercheck.integrations.inventory_store import in_use_source as inventory_source
from layercheck.integrations.lambda_functions import LambdaImageFunction, LambdaInUse
from layercheck.logic.in_use import (
    FoundReference,
    InUseReferences,
    InUseSource,
    InUseSourceError,
    RegistryRef,
    ResolvedInUse,
    SourceFailure,
    SourceReach,
    discover_in_use,
    resolve_in_use,
    sources_for,
)
from layercheck.logic.verdict_build import GoneImage
from layercheck.models.in_use import InUseReference, InventoryEntry, UsedBy

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


def discover(
    *, ecs: FakeEcs | None = None, functions: FakeLambda | None = None, inventory: FakeInventory | None = None
) -> InUseReferences:
    sources: list[InUseSource] = []
    if ecs is not None:
        sources.append(EcsInUse(ecs))
    if functions is not None:
        sources.append(LambdaInUse(functions))
    if inventory is not None:
        sources.append(InventoryInUse(inventory))
    return discover_in_use(AUDIT, sources)


def resolved(found: InUseReferences, repository: str, tags: dict[str, str], held: set[str]) -> ResolvedInUse:
    return resolve_in_use(found.by_repository.get(repository, []), tags, held)


SERVICE_USER = UsedBy(kind="ecs-service", id=SERVICE)


def test_discovery_collects_an_ecs_services_tag_and_the_repositorys_listing_resolves_it() -> None:
    # Given a service whose task definition names api:v1, which the repository holds as digest 1
    found = discover(ecs=FakeEcs(EcsWorkloads(services=(EcsService(SERVICE, (f"{HOST}/api:v1",)),))))

    # Then discovery keeps the reference by tag (no ECR call), and the listing resolves it
    assert found.by_repository == {"api": [InUseReference(usedBy=SERVICE_USER.model_copy(update={"tag": "v1"}))]}
    answer = resolved(found, "api", {"v1": digest(1)}, {digest(1)})
    assert answer.users == {digest(1): [UsedBy(kind="ecs-service", id=SERVICE, tag="v1")]}
    assert answer.held == [digest(1)] and answer.gone == []


def test_a_services_running_tasks_count_for_the_service_and_keep_their_resolved_digest() -> None:
    # Given a service on api:v1 (now digest 2) whose running task still runs digest 1 (ECS resolved it at start)
    service = EcsService(SERVICE, (f"{HOST}/api:v1",), deployment_ids=("ecs-svc/111",))
    task = EcsTask(TASK, (EcsContainer(f"{HOST}/api:v1", digest(1)),), started_by="ecs-svc/111")

    found = discover(ecs=FakeEcs(EcsWorkloads((service,), (task,))))

    # Then both digests are in use by the service, and no ecs-task entry grows with the task count
    answer = resolved(found, "api", {"v1": digest(2)}, {digest(1), digest(2)})
    assert answer.users == {
        digest(2): [UsedBy(kind="ecs-service", id=SERVICE, tag="v1")],
        digest(1): [SERVICE_USER],
    }


def test_a_standalone_task_is_named_as_ecs_task() -> None:
    task = EcsTask(TASK, (EcsContainer(f"{HOST}/batch@{digest(3)}"),), started_by="events-rule/nightly")

    found = discover(ecs=FakeEcs(EcsWorkloads(tasks=(task,))))

    assert found.by_repository == {
        "batch": [InUseReference(imageDigest=digest(3), usedBy=UsedBy(kind="ecs-task", id=TASK))]
    }


def test_lambdas_resolved_digest_wins_then_the_uris_digest_then_its_tag() -> None:
    # Given three functions: one Lambda resolved to digest 5 (its tag now points at 6), one deployed by digest 7,
    # one by tag only (the listing resolves it to 8)
    functions = [
        LambdaImageFunction(f"{FUNCTION}-a", f"{HOST}/fn:v1", f"{HOST}/fn@{digest(5)}"),
        LambdaImageFunction(f"{FUNCTION}-b", f"{HOST}/fn@{digest(7)}"),
        LambdaImageFunction(f"{FUNCTION}-c", f"{HOST}/fn:v2"),
    ]

    found = discover(functions=FakeLambda(functions))

    answer = resolved(found, "fn", {"v1": digest(6), "v2": digest(8)}, {digest(n) for n in (5, 6, 7, 8)})
    assert answer.users == {
        digest(5): [UsedBy(kind="lambda-function", id=f"{FUNCTION}-a")],
        digest(7): [UsedBy(kind="lambda-function", id=f"{FUNCTION}-b")],
        digest(8): [UsedBy(kind="lambda-function", id=f"{FUNCTION}-c", tag="v2")],
    }


def test_a_lambda_function_failed_with_image_deleted_runs_a_missing_image() -> None:
    """Real Lambda: when the image a function was deployed from is deleted, the function goes to State Failed with
    StateReasonCode ImageDeleted, and GetFunction still names the digest it resolved at deployment
    (Code.ResolvedImageUri). That digest is the image it runs: gone from the repository, it is MISSING with the
    function as its user."""
    functions = [LambdaImageFunction(FUNCTION, f"{HOST}/fn:v1", f"{HOST}/fn@{digest(5)}")]

    found = discover(functions=FakeLambda(functions))

    # The tag now names another image (pushed again); the resolved digest is gone
    answer = resolved(found, "fn", {"v1": digest(6)}, {digest(6)})
    assert answer.held == []
    assert [(gone.image_digest, gone.code) for gone in answer.gone] == [(digest(5), "ImageNotFoundException")]
    assert answer.users[digest(5)] == [UsedBy(kind="lambda-function", id=FUNCTION)]


def test_discovery_reads_the_audited_registrys_inventory_with_who_reported_each_entry() -> None:
    reporter = "arn:aws:iam::123456789012:role/k8s-reporter"
    inventory = FakeInventory([entry("web", tag="v1"), entry("web", image_digest=digest(9))])
    inventory.entries[0] = inventory.entries[0].model_copy(update={"reportedBy": reporter})

    found = discover(inventory=inventory)

    assert inventory.asked == [(ACCOUNT, REGION)]
    answer = resolved(found, "web", {"v1": digest(4)}, {digest(4), digest(9)})
    assert answer.users == {
        digest(4): [UsedBy(kind="inventory", id="k8s-prod", tag="v1", reportedBy=reporter)],
        digest(9): [UsedBy(kind="inventory", id="k8s-prod")],
    }


def test_users_of_one_image_are_named_once_each_discovered_workloads_before_reports() -> None:
    # Given an inventory report, a function and a service (listed twice) on the same tag, read in that order
    ecs = FakeEcs(EcsWorkloads(services=(EcsService(SERVICE, (f"{HOST}/api:v1", f"{HOST}/api:v1", f"{HOST}/api:v2")),)))
    functions = FakeLambda([LambdaImageFunction(FUNCTION, f"{HOST}/api:v1")])

    found = discover(ecs=ecs, functions=functions, inventory=FakeInventory([entry("api", tag="v1")]))
    found.by_repository["api"].reverse()  # the report first: it must still come last

    answer = resolved(found, "api", {"v1": digest(1), "v2": digest(2)}, {digest(1), digest(2)})
    assert answer.users[digest(1)] == [
        UsedBy(kind="lambda-function", id=FUNCTION, tag="v1"),
        UsedBy(kind="ecs-service", id=SERVICE, tag="v1"),
        UsedBy(kind="inventory", id="k8s-prod", tag="v1"),
    ]


def test_discovery_ignores_images_outside_the_audited_registry_and_not_in_ecr() -> None:
    # Given images from Docker Hub, public ECR, another account and another Region of this account
    images = (
        "nginx:1.27",
        "public.ecr.aws/nginx/nginx:1.27",
        f"210987654321.dkr.ecr.{REGION}.amazonaws.com/api:v1",
        f"{OTHER_HOST}/api@{digest(1)}",
    )

    found = discover(ecs=FakeEcs(EcsWorkloads(services=(EcsService(SERVICE, images),))))

    assert found.by_repository == {} and found.ignored == 4


def test_tags_and_digests_the_repository_does_not_hold_are_gone_with_their_users() -> None:
    # Given a service on a deleted tag and a function on a deleted digest
    ecs = FakeEcs(EcsWorkloads(services=(EcsService(SERVICE, (f"{HOST}/api:gone",)),)))
    functions = FakeLambda([LambdaImageFunction(FUNCTION, f"{HOST}/api@{digest(5)}")])

    found = discover(ecs=ecs, functions=functions)
    answer = resolved(found, "api", {"v1": digest(1)}, {digest(1)})

    # Then both are gone, the tag keyed by itself (it names no digest), each with its users
    assert answer.held == []
    assert [(g.image_digest, g.image_tags, g.code) for g in answer.gone] == [
        (digest(5), (), "ImageNotFoundException"),
        (None, ("gone",), "ImageNotFoundException"),
    ]
    assert answer.users == {
        digest(5): [UsedBy(kind="lambda-function", id=FUNCTION)],
        "tag:gone": [UsedBy(kind="ecs-service", id=SERVICE, tag="gone")],
    }


def test_a_repository_that_does_not_exist_makes_every_reference_gone_with_its_code() -> None:
    found = discover(functions=FakeLambda([LambdaImageFunction(FUNCTION, f"{HOST}/deleted:v1")]))

    answer = resolve_in_use(found.by_repository["deleted"], {}, (), gone_code="RepositoryNotFoundException")

    assert answer.gone == [
        GoneImage(None, ("v1",), "RepositoryNotFoundException", "the tag v1 a workload names resolves to no image")
    ]


def test_tags_whose_lookup_failed_are_neither_in_use_nor_gone() -> None:
    found = discover(ecs=FakeEcs(EcsWorkloads(services=(EcsService(SERVICE, (f"{HOST}/api:v1",)),))))

    answer = resolve_in_use(found.by_repository["api"], {}, set(), unresolved={"v1"})

    assert (answer.users, answer.gone) == ({}, [])


def test_discovery_keeps_the_other_sources_when_one_fails() -> None:
    # Given ECS refusing access, and Lambda failing after its first function
    ecs = FakeEcs(error=InUseSourceError("ecs", "AccessDeniedException", "not allowed"))
    functions = FakeLambda(
        [LambdaImageFunction(FUNCTION, f"{HOST}/fn@{digest(1)}"), LambdaImageFunction("x", f"{HOST}/fn@{digest(2)}")],
        error_after=1,
    )

    found = discover(ecs=ecs, functions=functions, inventory=FakeInventory([entry("web", image_digest=digest(3))]))

    # Then what was read still counts, and each failure is named
    assert sorted(found.by_repository) == ["fn", "web"] and found.count == 2
    assert found.failures == [
        SourceFailure("ecs", "AccessDeniedException", "not allowed"),
        SourceFailure("lambda", "AccessDeniedException", "no"),
    ]


def test_discovery_makes_no_registry_call_however_many_images_a_report_names() -> None:
    """The registry's audit must finish in bounded time: 10,000 reported tags in 1,000 repositories that do not
    exist are collected, not resolved (each repository's own audit resolves its references)."""
    entries = [entry(f"made-up-{n % 1000}", tag=f"v{n}") for n in range(10_000)]

    found = discover(inventory=FakeInventory(entries))

    assert found.count == 10_000 and len(found.by_repository) == 1000


@dataclass
class ScheduledJobs:
    """A source the project did not have, as a newcomer writes one: a name, and the references it finds."""

    jobs: list[tuple[str, str]]  # (schedule ARN, image it runs)
    error: InUseSourceError | None = None
    name: str = "scheduler"
    asked: list[RegistryRef] = field(default_factory=list)

    def references(self, registry: RegistryRef) -> Iterator[FoundReference]:
        self.asked.append(registry)
        for schedule, image in self.jobs:
            yield FoundReference(image, UsedBy(kind="ecs-task", id=schedule))
        if self.error:
            raise self.error


def test_discovery_reads_every_source_in_the_list_in_its_order() -> None:
    # Given ECS, then a new source, both on batch:nightly
    schedule = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/nightly"
    ecs = EcsInUse(FakeEcs(EcsWorkloads(services=(EcsService(SERVICE, (f"{HOST}/batch:nightly",)),))))
    jobs = ScheduledJobs([(schedule, f"{HOST}/batch:nightly"), (schedule, "nginx:1.27")])

    found = discover_in_use(AUDIT, [ecs, jobs])

    # Then the new source was asked about the audited registry, and its users follow ECS's
    assert jobs.asked == [AUDIT]
    assert found.by_repository == {
        "batch": [
            InUseReference(usedBy=UsedBy(kind="ecs-service", id=SERVICE, tag="nightly")),
            InUseReference(usedBy=UsedBy(kind="ecs-task", id=schedule, tag="nightly")),
        ]
    }
    assert found.ignored == 1


def test_a_failing_source_is_named_by_its_own_name_and_keeps_what_it_found_before() -> None:
    schedule = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/nightly"
    jobs = ScheduledJobs(
        [(schedule, f"{HOST}/batch@{digest(4)}")], error=InUseSourceError("scheduler", "AccessDeniedException", "no")
    )

    found = discover_in_use(AUDIT, [jobs])

    assert found.count == 1
    assert found.failures == [SourceFailure("scheduler", "AccessDeniedException", "no")]


def test_sources_for_keeps_the_factories_order_and_leaves_out_a_source_with_nothing_to_read() -> None:
    # Given the command line's reach: the registry's clients, and no inventory
    asked: list[str] = []

    def client(service_name: str) -> Any:
        asked.append(service_name)
        return object()  # the client a real reach makes; nothing is called on it here

    jobs = ScheduledJobs([])

    sources = sources_for(SourceReach(AUDIT, client), [lambda reach: jobs, inventory_source, ecs_source])

    # Then the inventory's factory made nothing, and ECS's source was made over the registry's ECS client
    assert [source.name for source in sources] == ["scheduler", "ecs"] and sources[0] is jobs
    assert asked == ["ecs"]
