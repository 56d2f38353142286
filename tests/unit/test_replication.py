"""Replicas: which destinations a repository replicates to, and how each copy is judged (pure, no AWS)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from layercheck.logic.replication import (
    REPLICATION_PENDING,
    DestinationAnswer,
    DestinationHolds,
    DestinationLacks,
    DestinationUnreadable,
    ReplicationConfiguration,
    ReplicationDestination,
    SourceImage,
    check_replicas,
    judge_replica,
    replicas_incomplete,
    replication_destinations,
)
from layercheck.models.replicas import Replica, ReplicaStatus

SOURCE = "111122223333"
OTHER = "444455556666"
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(hours=3)
LAYER_A = "sha256:" + "a" * 64
LAYER_B = "sha256:" + "b" * 64
EU = ReplicationDestination(region="eu-west-1", registryId=SOURCE)

# DescribeRegistry's answer, as ECR returns it: two rules, one filtered, one for every repository.
DESCRIBE_REGISTRY = {
    "registryId": SOURCE,
    "replicationConfiguration": {
        "rules": [
            {
                "destinations": [{"region": "eu-west-1", "registryId": SOURCE}],
                "repositoryFilters": [{"filter": "prod/", "filterType": "PREFIX_MATCH"}],
            },
            {
                "destinations": [
                    {"region": "us-west-2", "registryId": OTHER},
                    {"region": "eu-west-1", "registryId": SOURCE},  # also named by the first rule
                    {"region": "us-east-1", "registryId": SOURCE},  # the source itself
                ],
            },
        ]
    },
}


def _destinations(repository_name: str, answer: Mapping[str, Any] = DESCRIBE_REGISTRY) -> list[tuple[str, str]]:
    config = ReplicationConfiguration.from_describe_registry(answer)
    found = replication_destinations(
        config, source_registry_id=SOURCE, source_region="us-east-1", repository_name=repository_name
    )
    return [(d.region, d.registryId) for d in found]


def test_replication_destinations_follow_rule_filters_once_each_never_the_source() -> None:
    assert _destinations("prod/web") == [("eu-west-1", SOURCE), ("us-west-2", OTHER)]
    # Not under prod/: only the unfiltered rule applies (which also names eu-west-1).
    assert _destinations("dev/web") == [("us-west-2", OTHER), ("eu-west-1", SOURCE)]


def test_replication_destinations_of_a_registry_without_replication_are_none() -> None:
    assert _destinations("prod/web", {"registryId": SOURCE, "replicationConfiguration": {"rules": []}}) == []
    assert _destinations("prod/web", {"registryId": SOURCE}) == []


def test_replication_destinations_ignore_an_unknown_filter_type() -> None:
    answer = {
        "replicationConfiguration": {
            "rules": [
                {
                    "destinations": [{"region": "eu-west-1", "registryId": SOURCE}],
                    "repositoryFilters": [{"filter": "prod", "filterType": "SOMETHING_NEW"}],
                }
            ]
        }
    }
    assert _destinations("prod/web", answer) == []


def _judge(answer: DestinationAnswer, *, pushed_at: datetime | None = OLD, grace: int = 60) -> Replica:
    return judge_replica(EU, answer, pushed_at=pushed_at, now=NOW, grace_minutes=grace)


def test_judge_replica_complete_broken_missing_unchecked() -> None:
    assert _judge(DestinationHolds()) == Replica(region="eu-west-1", registryId=SOURCE, status=ReplicaStatus.COMPLETE)
    broken = _judge(DestinationHolds(missing_layers=(LAYER_B, LAYER_A)))
    assert (broken.status, broken.missingLayers) == (ReplicaStatus.BROKEN, [LAYER_A, LAYER_B])
    assert _judge(DestinationLacks()).status == ReplicaStatus.MISSING
    unchecked = _judge(DestinationUnreadable("AccessDenied", "not authorized to perform sts:AssumeRole"))
    assert (unchecked.status, unchecked.failureCode) == (ReplicaStatus.UNCHECKED, "AccessDenied")


def test_judge_replica_counts_a_missing_platform_manifest_as_missing_content() -> None:
    manifest = "sha256:" + "c" * 64
    broken = _judge(DestinationHolds(missing_manifests=(manifest,)))
    assert (broken.status, broken.missingLayers) == (ReplicaStatus.BROKEN, [manifest])


def test_judge_replica_within_grace_is_pending_not_missing() -> None:
    # Given an image pushed 10 minutes ago, When its copy is absent or partial, Then it is UNCHECKED (pending).
    for answer in (DestinationLacks(), DestinationHolds(missing_layers=(LAYER_A,))):
        replica = _judge(answer, pushed_at=NOW - timedelta(minutes=10))
        assert replica.status == ReplicaStatus.UNCHECKED
        assert replica.failureCode == REPLICATION_PENDING
        assert replica.failureReason == "pushed 10 min ago, within the 60-minute replication grace"


def test_judge_replica_grace_ends_and_can_be_turned_off() -> None:
    assert _judge(DestinationLacks(), pushed_at=NOW - timedelta(minutes=60)).status == ReplicaStatus.MISSING
    assert _judge(DestinationLacks(), pushed_at=NOW - timedelta(minutes=1), grace=0).status == ReplicaStatus.MISSING
    # No push time known: no grace.
    assert _judge(DestinationLacks(), pushed_at=None).status == ReplicaStatus.MISSING


def test_judge_replica_already_whole_within_grace_is_complete() -> None:
    assert _judge(DestinationHolds(), pushed_at=NOW - timedelta(minutes=1)).status == ReplicaStatus.COMPLETE


def test_replica_serializes_to_the_contract_shape() -> None:
    complete = _judge(DestinationHolds()).model_dump(mode="json")
    assert complete == {"region": "eu-west-1", "registryId": SOURCE, "status": "COMPLETE", "missingLayers": []}
    pending = _judge(DestinationLacks(), pushed_at=NOW).model_dump(mode="json")
    assert set(pending) == {"region", "registryId", "status", "missingLayers", "failureCode", "failureReason"}


class StagedDestinations:
    """A probe answering from what each destination Region holds (moto does not replicate: tests stage copies)."""

    def __init__(self, answers: dict[str, DestinationAnswer]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, str, str]] = []

    def probe(self, destination: ReplicationDestination, repository_name: str, image: SourceImage) -> DestinationAnswer:
        self.asked.append((destination.region, repository_name, image.image_digest))
        return self.answers[destination.region]


def test_check_replicas_one_entry_per_destination_and_incomplete_count() -> None:
    # Given one whole copy, one missing a layer and one absent copy
    destinations = [
        ReplicationDestination(region=region, registryId=SOURCE)
        for region in ("eu-west-1", "eu-central-1", "ap-south-1")
    ]
    probe = StagedDestinations(
        {
            "eu-west-1": DestinationHolds(),
            "eu-central-1": DestinationHolds(missing_layers=(LAYER_B,)),
            "ap-south-1": DestinationLacks(),
        }
    )
    image = SourceImage(image_digest="sha256:" + "d" * 64, pushed_at=OLD, blob_digests=(LAYER_A, LAYER_B))

    replicas = check_replicas(probe, destinations, "prod/web", image, now=NOW, grace_minutes=60)

    assert [(r.region, r.status) for r in replicas] == [
        ("eu-west-1", ReplicaStatus.COMPLETE),
        ("eu-central-1", ReplicaStatus.BROKEN),
        ("ap-south-1", ReplicaStatus.MISSING),
    ]
    assert replicas[1].missingLayers == [LAYER_B]
    assert replicas_incomplete(replicas) == 2
    assert [asked[0] for asked in probe.asked] == ["eu-west-1", "eu-central-1", "ap-south-1"]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [((), 0), (("COMPLETE", "UNCHECKED"), 0), (("BROKEN", "MISSING", "MISSING", "COMPLETE"), 3)],
)
def test_replicas_incomplete_counts_broken_and_missing(statuses: tuple[str, ...], expected: int) -> None:
    replicas = [Replica(region="eu-west-1", registryId=SOURCE, status=ReplicaStatus(s)) for s in statuses]
    assert replicas_incomplete(replicas) == expected
