"""ECR's replication status of an image: the integration over botocore's Stubber (moto lacks
DescribeImageReplicationStatus: each answer is in ECR's real shape, which the Stubber checks against botocore's model),
and how a work item's probe asks for it (once per image, the first alone, the rest concurrently)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import boto3
import pytest
from botocore.stub import Stubber

from layercheck.errors import RepositoryCheckError
from layercheck.integrations.ecr_replication import UNREADABLE_ANSWER, EcrReplicationStatus
from layercheck.logic.check import BatchAnswer
from layercheck.logic.registries import Registry, RegistryUnreadable
from layercheck.logic.replica_probe import ItemReplicaProbe
from layercheck.logic.replication import (
    DestinationHolds,
    ImageReplicationStatus,
    ReplicationDestination,
    SourceImage,
    StatusUnavailable,
)
from layercheck.models.verdicts import LayerAnswer

SOURCE = "123456789012"
REPOSITORY = "team-a/api"
DIGEST = "sha256:" + "a" * 64


def d(n: int) -> str:
    return f"sha256:{n:064x}"


@pytest.fixture
def stubbed() -> Iterator[tuple[EcrReplicationStatus, Stubber]]:
    client = boto3.client("ecr", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield EcrReplicationStatus(client), stubber
        stubber.assert_no_pending_responses()


def test_ecr_replication_status_reads_each_destinations_state(stubbed: tuple[EcrReplicationStatus, Stubber]) -> None:
    """Real ECR: one entry per destination a copy was scheduled to, with IN_PROGRESS | COMPLETE | FAILED and, when
    FAILED, a failureCode."""
    reader, stubber = stubbed
    stubber.add_response(
        "describe_image_replication_status",
        {
            "repositoryName": REPOSITORY,
            "imageId": {"imageDigest": DIGEST},
            "replicationStatuses": [
                {"region": "eu-west-1", "registryId": SOURCE, "status": "COMPLETE"},
                {"region": "us-west-2", "registryId": "111122223333", "status": "FAILED", "failureCode": "KMS_ERROR"},
            ],
        },
        expected_params={"registryId": SOURCE, "repositoryName": REPOSITORY, "imageId": {"imageDigest": DIGEST}},
    )

    statuses = reader.image_replication_statuses(SOURCE, REPOSITORY, DIGEST)

    assert statuses == [
        ImageReplicationStatus(region="eu-west-1", registryId=SOURCE, status="COMPLETE"),
        ImageReplicationStatus(region="us-west-2", registryId="111122223333", status="FAILED", failureCode="KMS_ERROR"),
    ]


def test_ecr_replication_status_of_an_image_never_scheduled_is_empty(
    stubbed: tuple[EcrReplicationStatus, Stubber],
) -> None:
    """Real ECR: an image pushed before the replication rule existed answers no replicationStatuses at all."""
    reader, stubber = stubbed
    stubber.add_response(
        "describe_image_replication_status",
        {"repositoryName": REPOSITORY, "imageId": {"imageDigest": DIGEST}, "replicationStatuses": []},
    )
    assert reader.image_replication_statuses(SOURCE, REPOSITORY, DIGEST) == []


@pytest.mark.parametrize("code", ["AccessDeniedException", "ImageNotFoundException", "ServerException"])
def test_ecr_replication_status_errors_carry_ecrs_code(
    stubbed: tuple[EcrReplicationStatus, Stubber], code: str
) -> None:
    """Real ECR: a role without ecr:DescribeImageReplicationStatus gets AccessDeniedException; an image deleted
    meanwhile ImageNotFoundException."""
    reader, stubber = stubbed
    stubber.add_client_error("describe_image_replication_status", service_error_code=code, service_message="no")
    with pytest.raises(RepositoryCheckError) as raised:
        reader.image_replication_statuses(SOURCE, REPOSITORY, DIGEST)
    assert raised.value.code == code


def test_ecr_replication_status_entry_without_a_status_is_an_error_not_dropped(
    stubbed: tuple[EcrReplicationStatus, Stubber],
) -> None:
    """ECR's model makes every field of ImageReplicationStatus optional: an entry lacking one cannot be matched to a
    destination, and is reported rather than left out."""
    reader, stubber = stubbed
    stubber.add_response("describe_image_replication_status", {"replicationStatuses": [{"region": "eu-west-1"}]})
    with pytest.raises(RepositoryCheckError) as raised:
        reader.image_replication_statuses(SOURCE, REPOSITORY, DIGEST)
    assert raised.value.code == UNREADABLE_ANSWER


# -- the work item's probe ------------------------------------------------------------------------------------------


@dataclass
class FakeStatusReader:
    """ECR's answers by digest; ``denied``: the role lacks the action (every call AccessDeniedException)."""

    denied: bool = False
    asked: list[str] = field(default_factory=list)
    threads: set[int] = field(default_factory=set)
    barrier: threading.Barrier | None = None

    def image_replication_statuses(
        self, registry_id: str, repository_name: str, image_digest: str
    ) -> list[ImageReplicationStatus]:
        self.asked.append(image_digest)
        self.threads.add(threading.get_ident())
        if self.denied:
            raise RepositoryCheckError("AccessDeniedException", "not authorized")
        if self.barrier is not None and image_digest != d(1):
            self.barrier.wait(timeout=5)  # only passes when the other images are asked at the same time
        return [ImageReplicationStatus(region="eu-west-1", registryId=SOURCE, status="IN_PROGRESS")]


@dataclass
class FakeDestinations:
    status: FakeStatusReader | RegistryUnreadable

    def reader(self, destination: ReplicationDestination) -> object:
        raise AssertionError("not asked in these tests")

    def replication_status(self, source: Registry) -> FakeStatusReader | RegistryUnreadable:
        return self.status


def _probe(status: FakeStatusReader | RegistryUnreadable, digests: Sequence[str], workers: int = 4) -> ItemReplicaProbe:
    source = Registry(account_id=SOURCE, region="us-east-1")
    return ItemReplicaProbe(FakeDestinations(status), REPOSITORY, digests, source=source, workers=workers)  # type: ignore[arg-type]


def test_the_probe_asks_ecr_once_per_image_the_first_alone_then_the_rest_concurrently() -> None:
    reader = FakeStatusReader(barrier=threading.Barrier(3))
    probe = _probe(reader, [d(1), d(2), d(3), d(4)])

    first = probe.replication_status(REPOSITORY, SourceImage(d(1), None))
    for n in (2, 3, 4):
        probe.replication_status(REPOSITORY, SourceImage(d(n), None))

    assert first == {
        ("eu-west-1", SOURCE): ImageReplicationStatus(region="eu-west-1", registryId=SOURCE, status="IN_PROGRESS")
    }
    assert reader.asked[0] == d(1) and sorted(reader.asked) == [d(1), d(2), d(3), d(4)]
    assert probe.status_calls == 4
    assert len(reader.threads) >= 3  # d(2..4) met at the barrier: asked at the same time


def test_the_probe_stops_asking_ecr_when_the_role_lacks_the_action() -> None:
    reader = FakeStatusReader(denied=True)
    probe = _probe(reader, [d(1), d(2), d(3)])

    answers = [probe.replication_status(REPOSITORY, SourceImage(d(n), None)) for n in (1, 2, 3)]

    assert answers == [StatusUnavailable("AccessDeniedException", "not authorized")] * 3
    assert reader.asked == [d(1)]


def test_the_probe_reads_an_unreadable_source_registry_as_status_unavailable() -> None:
    refused = RegistryUnreadable(account_id=SOURCE, region="us-east-1", code="AccessDenied", reason="role")
    probe = _probe(refused, [d(1)])
    assert probe.replication_status(REPOSITORY, SourceImage(d(1), None)) == StatusUnavailable("AccessDenied", "role")


def test_the_probe_without_a_source_registry_never_asks_ecr() -> None:
    probe = ItemReplicaProbe(FakeDestinations(FakeStatusReader()), REPOSITORY, [d(1)])  # type: ignore[arg-type]
    answer = probe.replication_status(REPOSITORY, SourceImage(d(1), None))
    assert isinstance(answer, StatusUnavailable) and probe.status_calls == 0


@dataclass
class ArchivedDestination:
    """A destination holding the image with one blob archived (BatchCheckLayerAvailability's ARCHIVED)."""

    def present_images(self, registry_id: str, repository_name: str, image_digests: Sequence[str]) -> set[str]:
        return set(image_digests)

    def batch_check_layer_availability(
        self, registry_id: str, repository_name: str, layer_digests: list[str]
    ) -> BatchAnswer:
        availability = {d(10): "AVAILABLE", d(11): "ARCHIVED"}
        return BatchAnswer(
            layers=[LayerAnswer(layerDigest=b, layerAvailability=availability[b]) for b in layer_digests], failures=[]
        )


def test_the_probe_tells_archived_blobs_at_the_destination_apart() -> None:
    """Real ECR: BatchCheckLayerAvailability answers ARCHIVED for the blobs of an archived image."""

    @dataclass
    class Destinations:
        def reader(self, destination: ReplicationDestination) -> ArchivedDestination:
            return ArchivedDestination()

    probe = ItemReplicaProbe(Destinations(), REPOSITORY, [d(1)])  # type: ignore[arg-type]
    answer = probe.probe(
        ReplicationDestination(region="eu-west-1", registryId=SOURCE),
        REPOSITORY,
        SourceImage(d(1), None, blob_digests=(d(10), d(11))),
    )
    assert answer == DestinationHolds(archived_layers=(d(11),))


@dataclass
class RecordingDestination(ArchivedDestination):
    """ArchivedDestination that records what BatchCheckLayerAvailability was asked."""

    asked: list[list[str]] = field(default_factory=list)

    def batch_check_layer_availability(
        self, registry_id: str, repository_name: str, layer_digests: Sequence[str]
    ) -> BatchAnswer:
        self.asked.append(list(layer_digests))
        return super().batch_check_layer_availability(registry_id, repository_name, list(layer_digests))


def test_the_probe_never_sends_a_malformed_blob_digest_and_counts_it_missing() -> None:
    """ECR answers a malformed digest ``InvalidLayerDigest`` (absent); the probe answers so itself, without the call."""
    destination = RecordingDestination()

    @dataclass
    class Destinations:
        def reader(self, _: ReplicationDestination) -> RecordingDestination:
            return destination

    probe = ItemReplicaProbe(Destinations(), REPOSITORY, [d(1)])  # type: ignore[arg-type]
    answer = probe.probe(
        ReplicationDestination(region="eu-west-1", registryId=SOURCE),
        REPOSITORY,
        SourceImage(d(1), None, blob_digests=(d(10), "sha256:not-a-digest")),
    )

    assert destination.asked == [[d(10)]]
    assert answer == DestinationHolds(missing_layers=("sha256:not-a-digest",))
