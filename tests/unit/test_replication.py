"""Replicas: which destinations a repository replicates to, and how each copy is judged from ECR's replication status
and the destination (pure, no AWS)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from layercheck.logic.replication import (
    ARCHIVED_AT_DESTINATION,
    STATUS_UNAVAILABLE,
    DestinationAnswer,
    DestinationHolds,
    DestinationLacks,
    DestinationUnreadable,
    EcrSays,
    Grace,
    ImageReplicationStatus,
    ReplicationConfiguration,
    ReplicationDestination,
    SourceImage,
    StatusUnavailable,
    by_destination,
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


def _complete(*destinations: ReplicationDestination) -> EcrSays:
    """ECR's DescribeImageReplicationStatus once it has copied the image to each destination."""
    return by_destination(
        ImageReplicationStatus(region=d.region, registryId=d.registryId, status="COMPLETE") for d in destinations
    )


def _judge(
    answer: DestinationAnswer,
    *,
    ecr_says: EcrSays | None = None,
    pushed_at: datetime | None = OLD,
    grace: int = 60,
) -> Replica:
    says = _complete(EU) if ecr_says is None else ecr_says
    return judge_replica(EU, says, lambda: answer, Grace(pushed_at, NOW, grace))


def test_judge_replica_ecr_complete_then_the_destination_says_complete_broken_missing_unchecked() -> None:
    assert _judge(DestinationHolds()) == Replica(region="eu-west-1", registryId=SOURCE, status=ReplicaStatus.COMPLETE)
    broken = _judge(DestinationHolds(missing_layers=(LAYER_B, LAYER_A)))
    assert (broken.status, broken.missingLayers) == (ReplicaStatus.BROKEN, [LAYER_A, LAYER_B])
    # ECR said COMPLETE and the digest is gone: the destination's own lifecycle policy deleted the copy.
    assert _judge(DestinationLacks()).status == ReplicaStatus.MISSING
    unchecked = _judge(DestinationUnreadable("AccessDenied", "not authorized to perform sts:AssumeRole"))
    assert (unchecked.status, unchecked.failureCode) == (ReplicaStatus.UNCHECKED, "AccessDenied")


def test_judge_replica_counts_a_missing_platform_manifest_as_missing_content() -> None:
    manifest = "sha256:" + "c" * 64
    broken = _judge(DestinationHolds(missing_manifests=(manifest,)))
    assert (broken.status, broken.missingLayers) == (ReplicaStatus.BROKEN, [manifest])


def test_judge_replica_with_archived_blobs_is_broken_not_complete() -> None:
    """Real ECR: BatchCheckLayerAvailability answers ARCHIVED for a blob of an archived image, which no pull can
    fetch until it is restored (about 20 minutes): the copy cannot serve a failover."""
    replica = _judge(DestinationHolds(archived_layers=(LAYER_A,)))
    assert (replica.status, replica.missingLayers) == (ReplicaStatus.BROKEN, [LAYER_A])
    assert replica.failureCode == ARCHIVED_AT_DESTINATION
    assert replicas_incomplete([replica]) == 1


def _never_asked() -> DestinationAnswer:
    raise AssertionError("the destination is asked only when ECR says COMPLETE or cannot say")


@pytest.mark.parametrize(
    ("entries", "status", "failure_code"),
    [
        # Real ECR: an image pushed before the rule existed has no entry for the destination (never scheduled).
        ([], ReplicaStatus.NOT_SCHEDULED, None),
        ([{"status": "IN_PROGRESS"}], ReplicaStatus.PENDING, None),
        ([{"status": "FAILED", "failureCode": "REPLICATION_FAILED"}], ReplicaStatus.FAILED, "REPLICATION_FAILED"),
    ],
)
def test_judge_replica_follows_ecr_without_asking_the_destination(
    entries: list[dict[str, str]], status: ReplicaStatus, failure_code: str | None
) -> None:
    """Real ECR's DescribeImageReplicationStatus states (IN_PROGRESS | COMPLETE | FAILED), per destination."""
    says = by_destination(
        ImageReplicationStatus(region=EU.region, registryId=EU.registryId, **entry)  # type: ignore[arg-type]
        for entry in entries
    )
    replica = judge_replica(EU, says, _never_asked, Grace(NOW, NOW, 60))
    assert (replica.status, replica.failureCode) == (status, failure_code)


def test_judge_replica_ignores_ecr_entries_for_other_destinations() -> None:
    other = ReplicationDestination(region="ap-south-1", registryId=OTHER)
    replica = judge_replica(EU, _complete(other), _never_asked, Grace(OLD, NOW, 60))
    assert replica.status == ReplicaStatus.NOT_SCHEDULED


UNAVAILABLE = StatusUnavailable("AccessDeniedException", "not authorized to perform ecr:DescribeImageReplicationStatus")


def test_judge_replica_without_ecrs_status_falls_back_to_the_grace_and_says_so() -> None:
    # Given a reader role without ecr:DescribeImageReplicationStatus, When a copy of an image pushed 10 minutes ago is
    # absent or partial, Then it is PENDING (the grace), and the replica names the status call's failure.
    for answer in (DestinationLacks(), DestinationHolds(missing_layers=(LAYER_A,))):
        replica = _judge(answer, ecr_says=UNAVAILABLE, pushed_at=NOW - timedelta(minutes=10))
        assert (replica.status, replica.failureCode) == (ReplicaStatus.PENDING, STATUS_UNAVAILABLE)
        assert replica.failureReason is not None
        assert "AccessDeniedException" in replica.failureReason
        assert "pushed 10 min ago, within the 60-minute replication grace" in replica.failureReason


def test_judge_replica_without_ecrs_status_after_the_grace_is_judged_at_the_destination() -> None:
    missing = _judge(DestinationLacks(), ecr_says=UNAVAILABLE, pushed_at=NOW - timedelta(minutes=60))
    assert (missing.status, missing.failureCode) == (ReplicaStatus.MISSING, STATUS_UNAVAILABLE)
    assert _judge(DestinationLacks(), ecr_says=UNAVAILABLE, pushed_at=NOW, grace=0).status == ReplicaStatus.MISSING
    assert _judge(DestinationLacks(), ecr_says=UNAVAILABLE, pushed_at=None).status == ReplicaStatus.MISSING
    whole = _judge(DestinationHolds(), ecr_says=UNAVAILABLE, pushed_at=NOW)
    assert (whole.status, whole.failureCode) == (ReplicaStatus.COMPLETE, STATUS_UNAVAILABLE)


def test_replica_serializes_to_the_contract_shape() -> None:
    complete = _judge(DestinationHolds()).model_dump(mode="json")
    assert complete == {"region": "eu-west-1", "registryId": SOURCE, "status": "COMPLETE", "missingLayers": []}
    not_scheduled = judge_replica(EU, {}, _never_asked, Grace(OLD, NOW, 60)).model_dump(mode="json")
    assert not_scheduled["status"] == "NOT_SCHEDULED" and "failureCode" not in not_scheduled
    pending = _judge(DestinationLacks(), ecr_says=UNAVAILABLE, pushed_at=NOW).model_dump(mode="json")
    assert set(pending) == {"region", "registryId", "status", "missingLayers", "failureCode", "failureReason"}


class StagedDestinations:
    """A probe answering from what ECR says and what each destination Region holds (moto does not replicate)."""

    def __init__(self, answers: dict[str, DestinationAnswer], ecr_says: EcrSays) -> None:
        self.answers = answers
        self.ecr_says = ecr_says
        self.asked: list[tuple[str, str, str]] = []
        self.status_asked = 0

    def replication_status(self, repository_name: str, image: SourceImage) -> EcrSays:
        self.status_asked += 1
        return self.ecr_says

    def probe(self, destination: ReplicationDestination, repository_name: str, image: SourceImage) -> DestinationAnswer:
        self.asked.append((destination.region, repository_name, image.image_digest))
        return self.answers[destination.region]


def test_check_replicas_one_entry_per_destination_and_incomplete_count() -> None:
    # Given ECR saying COMPLETE for three copies (one whole, one missing a layer, one deleted there since), IN_PROGRESS
    # for a fourth, FAILED for a fifth and nothing for a sixth
    regions = ("eu-west-1", "eu-central-1", "ap-south-1", "us-west-2", "sa-east-1", "ca-central-1")
    destinations = [ReplicationDestination(region=region, registryId=SOURCE) for region in regions]
    entries = [ImageReplicationStatus(region=r, registryId=SOURCE, status="COMPLETE") for r in regions[:3]]
    entries += [
        ImageReplicationStatus(region="us-west-2", registryId=SOURCE, status="IN_PROGRESS"),
        ImageReplicationStatus(region="sa-east-1", registryId=SOURCE, status="FAILED", failureCode="KMS_ERROR"),
    ]
    probe = StagedDestinations(
        {
            "eu-west-1": DestinationHolds(),
            "eu-central-1": DestinationHolds(missing_layers=(LAYER_B,)),
            "ap-south-1": DestinationLacks(),
        },
        by_destination(entries),
    )
    image = SourceImage(image_digest="sha256:" + "d" * 64, pushed_at=OLD, blob_digests=(LAYER_A, LAYER_B))

    replicas = check_replicas(probe, destinations, "prod/web", image, now=NOW, grace_minutes=60)

    assert [(r.region, r.status) for r in replicas] == [
        ("eu-west-1", ReplicaStatus.COMPLETE),
        ("eu-central-1", ReplicaStatus.BROKEN),
        ("ap-south-1", ReplicaStatus.MISSING),
        ("us-west-2", ReplicaStatus.PENDING),
        ("sa-east-1", ReplicaStatus.FAILED),
        ("ca-central-1", ReplicaStatus.NOT_SCHEDULED),
    ]
    assert replicas[1].missingLayers == [LAYER_B]
    assert replicas_incomplete(replicas) == 3
    # ECR is asked once for the image; only the copies ECR calls COMPLETE are looked at
    assert probe.status_asked == 1
    assert [asked[0] for asked in probe.asked] == ["eu-west-1", "eu-central-1", "ap-south-1"]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ((), 0),
        (("COMPLETE", "UNCHECKED", "PENDING", "NOT_SCHEDULED"), 0),
        (("BROKEN", "MISSING", "MISSING", "FAILED", "COMPLETE"), 4),
    ],
)
def test_replicas_incomplete_counts_broken_missing_and_failed(statuses: tuple[str, ...], expected: int) -> None:
    replicas = [Replica(region="eu-west-1", registryId=SOURCE, status=ReplicaStatus(s)) for s in statuses]
    assert replicas_incomplete(replicas) == expected
