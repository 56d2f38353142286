"""The organization audit's logic over fakes of its ports: registry items, in-use images first, replica probing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from layercheck.errors import RepositoryCheckError, TransientCheckError
from layercheck.integrations.ecs import EcsInUse, EcsService, EcsWorkloads
from layercheck.logic.audit import AuditService
from layercheck.logic.audit_scope import image_slices, in_use_first
from layercheck.logic.catalog import ImageDetail, RepositoryRef
from layercheck.logic.check import BatchAnswer
from layercheck.logic.in_use import TagAnswer
from layercheck.logic.org_audit import OrganizationAudit, RegistryServices, audited_registry_rule
from layercheck.logic.registries import AccountSelection, Registry, RegistryUnreadable
from layercheck.logic.replica_probe import ItemReplicaProbe
from layercheck.logic.replication import (
    DestinationHolds,
    DestinationLacks,
    DestinationUnreadable,
    ReplicationConfiguration,
    ReplicationDestination,
    SourceImage,
)
from layercheck.models.audit import AuditScope, RegistryWorkItem, ReplicaDestination, RepositoryWorkItem
from layercheck.models.in_use import InUseReference, InventoryEntry, UsedBy
from layercheck.models.verdicts import LayerAnswer, LayerFailure

OWN, MEMBER, REGION = "123456789012", "111122223333", "us-east-1"
HOST = f"{OWN}.dkr.ecr.{REGION}.amazonaws.com"
SERVICE = UsedBy(kind="ecs-service", id=f"arn:aws:ecs:{REGION}:{OWN}:service/prod/api")


def d(n: int) -> str:
    return f"sha256:{n:064x}"


# -- fakes of the ports ----------------------------------------------------------------------------------------------


@dataclass
class FakeQueue:
    sent: list[BaseModel] = field(default_factory=list)

    def send_work_items(self, items: Sequence[BaseModel]) -> int:
        self.sent.extend(items)
        return len(items)


@dataclass
class FakeEcr:
    """One registry: repositories, their images, replication rules; ``error`` fails the registry-wide reads."""

    repositories: dict[str, list[ImageDetail]] = field(default_factory=dict)
    rules: ReplicationConfiguration = field(default_factory=ReplicationConfiguration)
    error: RepositoryCheckError | None = None

    def list_repositories(self, registry_id: str | None = None) -> Iterator[RepositoryRef]:
        if self.error:
            raise self.error
        yield from (RepositoryRef(registry_id or OWN, name) for name in self.repositories)

    def list_image_details(
        self, registry_id: str, repository_name: str, *, tagged_only: bool = False
    ) -> Iterator[ImageDetail]:
        yield from self.repositories.get(repository_name, [])

    def describe_image(self, registry_id: str, repository_name: str, image_digest: str) -> ImageDetail | None:
        return None

    def replication_configuration(self) -> ReplicationConfiguration:
        if self.error:
            raise self.error
        return self.rules

    def resolve_tags(self, registry_id: str, region: str, repository_name: str, tags: Sequence[str]) -> TagAnswer:
        digests = {tag: i.image_digest for i in self.repositories.get(repository_name, []) for tag in i.image_tags}
        return TagAnswer(digests={t: digests[t] for t in tags if t in digests})


@dataclass
class FakeEcs:
    workloads: EcsWorkloads

    def list_workloads(self) -> EcsWorkloads:
        return self.workloads


@dataclass
class FakeReferences:
    """``InUseReferencesPort`` in memory: what each registry audit handed to each repository, in chunks of ``size``."""

    kept: dict[tuple[str, str, str, str], list[InUseReference]] = field(default_factory=dict)
    size: int = 1000

    def put_references(
        self,
        audit_id: str,
        registry_id: str,
        region: str,
        repository_name: str,
        references: Sequence[InUseReference],
        *,
        now: datetime,
    ) -> int:
        self.kept[(audit_id, registry_id, region, repository_name)] = list(references)
        return -(-len(references) // self.size)

    def references(
        self, audit_id: str, registry_id: str, region: str, repository_name: str, chunks: int
    ) -> list[InUseReference]:
        return self.kept[(audit_id, registry_id, region, repository_name)]


class NoImageChecks:
    def check_images(self, *args: object, **kwargs: object) -> object:
        raise AssertionError("no image is checked by a registry item")


@dataclass
class FakeRegistries:
    services: dict[Registry, RegistryServices | RegistryUnreadable]
    unreadable_codes: frozenset[str] = frozenset({"AccessDeniedException"})
    noted: list[tuple[Registry, str]] = field(default_factory=list)

    def for_registry(self, registry: Registry) -> RegistryServices | RegistryUnreadable:
        return self.services[registry]

    def unreadable(
        self, registry: Registry, error: RepositoryCheckError, *, registry_wide: bool
    ) -> RegistryUnreadable | None:
        self.noted.append((registry, error.code))
        # as integrations/sessions.py: a service's AccessDeniedException is registry-wide only on a registry-wide call
        if error.code not in self.unreadable_codes or (error.code == "AccessDeniedException" and not registry_wide):
            return None
        return RegistryUnreadable(account_id=registry.account_id, region=registry.region, code=error.code, reason="")


def services(
    ecr: FakeEcr, queue: FakeQueue, ecs: FakeEcs | None = None, references: FakeReferences | None = None
) -> RegistryServices:
    audit = AuditService(
        catalog=ecr,
        queue=queue,
        images=NoImageChecks(),  # type: ignore[arg-type]
        region=REGION,
        in_use_references=references or FakeReferences(),
    )
    return RegistryServices(audit=audit, replication=ecr, tags=ecr, in_use_sources=(EcsInUse(ecs),) if ecs else ())


def registry(account: str = OWN, region: str = REGION) -> Registry:
    return Registry(account_id=account, region=region)


# -- the start and the registry item ---------------------------------------------------------------------------------


def test_start_queues_one_registry_item_per_registry_with_the_scope() -> None:
    queue = FakeQueue()
    audit = OrganizationAudit(FakeRegistries({}), queue)
    registries = [registry(account, region) for account in (OWN, MEMBER) for region in (REGION, "eu-west-1")]

    started = audit.start("audit-1", AuditScope(repositoryPrefixes=("team-a/",), newestImages=3), registries)

    assert started.registries == 4
    assert [(item.registryId, item.region) for item in queue.sent] == [  # type: ignore[attr-defined]
        (r.account_id, r.region) for r in registries
    ]
    assert queue.sent[0] == RegistryWorkItem(
        auditId="audit-1", registryId=OWN, region=REGION, repositoryPrefixes=["team-a/"], newestImages=3
    )


def test_a_registry_item_queues_its_repositories_with_their_in_use_images_and_replica_destinations() -> None:
    # Given a registry replicating team-a/ to eu-west-1, an ECS service on team-a/api:v1, and team-b outside the scope
    ecr = FakeEcr(
        repositories={
            "team-a/api": [ImageDetail(d(1), ("v1",))],
            "team-a/web": [ImageDetail(d(2), ("v1",))],
            "team-b/job": [ImageDetail(d(3), ("v1",))],
        },
        rules=ReplicationConfiguration.model_validate(
            {
                "rules": [
                    {
                        "destinations": [{"region": "eu-west-1", "registryId": OWN}],
                        "repositoryFilters": [{"filter": "team-a/api", "filterType": "PREFIX_MATCH"}],
                    }
                ]
            }
        ),
    )
    ecs = FakeEcs(EcsWorkloads(services=(EcsService(SERVICE.id, (f"{HOST}/team-a/api:v1",)),)))
    queue, references = FakeQueue(), FakeReferences()
    discovered = datetime(2026, 1, 1, tzinfo=UTC)
    audit = OrganizationAudit(
        FakeRegistries({registry(): services(ecr, queue, ecs, references)}), queue, clock=lambda: discovered
    )

    audited = audit.audit_registry(
        RegistryWorkItem(auditId="a", registryId=OWN, region=REGION, repositoryPrefixes=["team-a/"])
    )

    # Then one item per repository in scope, each with its Region, destinations and where its references are
    assert (audited.repositories, audited.in_use_references, audited.replicated_repositories) == (2, 1, 1)
    api, web = queue.sent
    assert isinstance(api, RepositoryWorkItem) and isinstance(web, RepositoryWorkItem)
    assert (api.repositoryName, api.region) == ("team-a/api", REGION)
    assert (api.inUseChunks, api.inUseObservedAt) == (1, discovered)
    assert references.kept[("a", OWN, REGION, "team-a/api")] == [
        InUseReference(usedBy=SERVICE.model_copy(update={"tag": "v1"}))
    ]
    assert [(dest.region, dest.registryId) for dest in api.replicaDestinations] == [("eu-west-1", OWN)]
    # web: nobody runs anything there, as of the same discovery
    assert (web.inUseChunks, web.inUseObservedAt, web.replicaDestinations) == (0, discovered, [])


def test_a_registry_whose_role_cannot_be_assumed_is_reported_and_queues_nothing() -> None:
    queue = FakeQueue()
    refused = RegistryUnreadable(account_id=MEMBER, region=REGION, code="AccessDenied", reason="not authorized")
    audit = OrganizationAudit(FakeRegistries({registry(MEMBER): refused}), queue)

    audited = audit.audit_registry(RegistryWorkItem(auditId="a", registryId=MEMBER, region=REGION))

    assert audited.unreadable == refused
    assert queue.sent == []


def test_a_registry_the_reader_role_may_not_list_is_unreadable_not_a_failure() -> None:
    queue = FakeQueue()
    ecr = FakeEcr(error=RepositoryCheckError("AccessDeniedException", "no ecr:DescribeRegistry"))
    registries = FakeRegistries({registry(MEMBER): services(ecr, queue)})

    audited = OrganizationAudit(registries, queue).audit_registry(
        RegistryWorkItem(auditId="a", registryId=MEMBER, region=REGION)
    )

    assert audited.unreadable is not None and audited.unreadable.code == "AccessDeniedException"
    assert registries.noted == [(registry(MEMBER), "AccessDeniedException")]


@pytest.mark.parametrize(("code", "raised"), [("ThrottlingException", TransientCheckError), ("KmsError", None)])
def test_a_registry_read_error_that_is_not_unreadable_is_raised(code: str, raised: type[Exception] | None) -> None:
    queue = FakeQueue()
    ecr = FakeEcr(error=RepositoryCheckError(code, "..."))
    audit = OrganizationAudit(FakeRegistries({registry(): services(ecr, queue)}), queue)

    with pytest.raises(raised or RepositoryCheckError):
        audit.audit_registry(RegistryWorkItem(auditId="a", registryId=OWN, region=REGION))


# -- in-use images first ---------------------------------------------------------------------------------------------


def test_in_use_images_come_first_even_outside_the_selection() -> None:
    listed = [ImageDetail(d(n), (f"t{n}",)) for n in range(1, 5)]
    selected = listed[:2]  # what the scope kept
    ordered = in_use_first(selected, listed, [d(4), d(9)])

    # d(4) as ECR listed it (with its tag), d(9) as the discovery named it (ECR did not list it: still checked)
    assert [(i.image_digest, i.image_tags) for i in ordered] == [
        (d(4), ("t4",)),
        (d(9), ()),
        (d(1), ("t1",)),
        (d(2), ("t2",)),
    ]


def test_image_slices_carry_users_push_times_and_destinations() -> None:
    pushed = datetime(2026, 1, 1, tzinfo=UTC)
    item = RepositoryWorkItem(
        auditId="a",
        registryId=OWN,
        region="eu-west-1",
        repositoryName="repo",
        replicaDestinations=[ReplicaDestination(region="us-west-2", registryId=OWN)],
    )

    (first,) = image_slices(item, [ImageDetail(d(1), ("v1",), pushed)], {d(1): [SERVICE]})

    assert first.region == "eu-west-1"
    assert first.images[0].usedBy == [SERVICE] and first.images[0].imagePushedAt == pushed
    assert first.replicaDestinations == item.replicaDestinations


# -- the replica probe -----------------------------------------------------------------------------------------------


@dataclass
class FakeDestination:
    images: set[str]
    blobs: set[str]
    repository_error: RepositoryCheckError | None = None
    presence_calls: list[list[str]] = field(default_factory=list)
    blob_calls: list[list[str]] = field(default_factory=list)

    def present_images(self, registry_id: str, repository_name: str, image_digests: Sequence[str]) -> set[str]:
        if self.repository_error:
            raise self.repository_error
        self.presence_calls.append(list(image_digests))
        return self.images & set(image_digests)

    def batch_check_layer_availability(
        self, registry_id: str, repository_name: str, layer_digests: list[str]
    ) -> BatchAnswer:
        self.blob_calls.append(list(layer_digests))
        return BatchAnswer(
            layers=[
                LayerAnswer(layerDigest=b, layerAvailability="AVAILABLE") for b in layer_digests if b in self.blobs
            ],
            failures=[
                LayerFailure(layerDigest=b, failureCode="MissingLayerDigest")
                for b in layer_digests
                if b not in self.blobs
            ],
        )


@dataclass
class FakeDestinations:
    readers: dict[str, FakeDestination | RegistryUnreadable]

    def reader(self, destination: ReplicationDestination) -> FakeDestination | RegistryUnreadable:
        return self.readers[destination.region]


WEST = ReplicationDestination(region="us-west-2", registryId=OWN)


def test_the_probe_asks_each_destination_about_all_images_once_and_each_shared_blob_once() -> None:
    west = FakeDestination(images={d(1), d(2)}, blobs={d(10), d(11)})
    probe = ItemReplicaProbe(FakeDestinations({"us-west-2": west}), "repo", [d(1), d(2), d(3)])

    answers = [
        probe.probe(WEST, "repo", SourceImage(d(1), None, blob_digests=(d(10), d(11)))),
        probe.probe(WEST, "repo", SourceImage(d(2), None, blob_digests=(d(10), d(12)))),
        probe.probe(WEST, "repo", SourceImage(d(3), None, blob_digests=(d(10),))),
    ]

    assert answers == [DestinationHolds(), DestinationHolds(missing_layers=(d(12),)), DestinationLacks()]
    assert west.presence_calls == [[d(1), d(2), d(3)]]
    assert west.blob_calls == [[d(10), d(11)], [d(12)]]


def test_the_probe_reads_a_missing_repository_as_absent_and_other_errors_as_unreadable() -> None:
    gone = FakeDestination(set(), set(), RepositoryCheckError("RepositoryNotFoundException", "no repo"))
    denied = FakeDestination(set(), set(), RepositoryCheckError("AccessDeniedException", "denied"))
    refused = RegistryUnreadable(account_id=MEMBER, region="ap-south-1", code="AccessDenied", reason="role")
    destinations = FakeDestinations({"us-west-2": gone, "eu-west-1": denied, "ap-south-1": refused})
    probe = ItemReplicaProbe(destinations, "repo", [d(1)])
    image = SourceImage(d(1), None, blob_digests=(d(10),))

    assert probe.probe(WEST, "repo", image) == DestinationLacks()
    assert probe.probe(ReplicationDestination(region="eu-west-1", registryId=OWN), "repo", image) == (
        DestinationUnreadable("AccessDeniedException", "denied")
    )
    assert probe.probe(ReplicationDestination(region="ap-south-1", registryId=MEMBER), "repo", image) == (
        DestinationUnreadable("AccessDenied", "role")
    )


def test_a_region_without_an_endpoint_is_unreadable_rather_than_retried() -> None:
    # botocore gives up on a Region that has no ECR endpoint with EndpointConnectionError, which is transient on a
    # single call; for a whole registry RegistryClients reads it as "Region not reachable" (sessions.py)
    queue = FakeQueue()
    ecr = FakeEcr(error=RepositoryCheckError("EndpointConnectionError", "Could not connect"))
    registries = FakeRegistries({registry(): services(ecr, queue)}, frozenset({"EndpointConnectionError"}))

    audited = OrganizationAudit(registries, queue).audit_registry(
        RegistryWorkItem(auditId="a", registryId=OWN, region=REGION)
    )

    assert audited.unreadable is not None and audited.unreadable.code == "EndpointConnectionError"


# -- workloads on other audited registries' images -------------------------------------------------------------------


@dataclass
class FakeInventoryWriter:
    entries: list[InventoryEntry] = field(default_factory=list)

    def put_entries(self, entries: Sequence[InventoryEntry]) -> int:
        self.entries.extend(entries)
        return len(entries)


def test_a_registry_item_reports_workloads_on_other_audited_registries_images_to_their_inventory() -> None:
    # Given the member account's ECS running an image of this account's registry (audited) by tag, one of the member's
    # own registry, and one of a registry nobody audits
    member_host = f"{MEMBER}.dkr.ecr.{REGION}.amazonaws.com"
    member_service = UsedBy(kind="ecs-service", id=f"arn:aws:ecs:{REGION}:{MEMBER}:service/prod/web")
    images = (
        f"{HOST}/shared/base:stable",
        f"{member_host}/web@{d(7)}",
        f"999988887777.dkr.ecr.{REGION}.amazonaws.com/x:1",
    )
    ecs = FakeEcs(EcsWorkloads(services=(EcsService(member_service.id, images),)))
    ecr = FakeEcr(repositories={"web": [ImageDetail(d(7), ())]})
    queue, writer = FakeQueue(), FakeInventoryWriter()
    audit = OrganizationAudit(
        FakeRegistries({registry(MEMBER): services(ecr, queue, ecs)}),
        queue,
        inventory=writer,
        is_audited=audited_registry_rule(AccountSelection(accounts=(OWN, MEMBER)), [REGION], OWN),
        inventory_ttl_hours=48,
        clock=lambda: datetime(2026, 1, 1, tzinfo=UTC),
    )

    audited = audit.audit_registry(RegistryWorkItem(auditId="a", registryId=MEMBER, region=REGION))

    # Then the other audited registry gets one entry naming the service, by the tag (it resolves tags itself); the
    # member's own image stays the member's, the unaudited registry's is ignored
    assert audited.reported_elsewhere == 1
    [entry] = writer.entries
    assert (entry.registryId, entry.region, entry.repositoryName, entry.imageTag, entry.imageDigest) == (
        OWN,
        REGION,
        "shared/base",
        "stable",
        None,
    )
    assert (entry.usedBy, entry.source) == (member_service, f"ecs-service:{member_service.id}")
    assert entry.expiresAt == int(datetime(2026, 1, 3, tzinfo=UTC).timestamp())
    [web] = queue.sent
    assert isinstance(web, RepositoryWorkItem) and web.inUseChunks == 1


def test_a_workload_whose_arn_is_too_long_for_a_source_name_is_reported_under_a_hash_and_named_in_used_by() -> None:
    from layercheck.logic.image_uris import ImageUri
    from layercheck.logic.inventory import workload_entry

    service = UsedBy(kind="ecs-service", id=f"arn:aws:ecs:{REGION}:{MEMBER}:service/{'c' * 200}/{'s' * 200}")
    uri = ImageUri(OWN, REGION, "shared/base", None, d(1))

    entry = workload_entry(uri, service, reported_at=datetime(2026, 1, 1, tzinfo=UTC), ttl_hours=1)

    assert entry.source.startswith("ecs-service:sha256-") and len(entry.source) <= 128
    assert (entry.usedBy, entry.imageDigest, entry.imageTag) == (service, d(1), None)
