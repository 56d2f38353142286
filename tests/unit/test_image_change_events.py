"""ImageCheckService after storing: one change event per status change, none on a repeat, publishing failures kept
apart from the verdicts; usedBy, replicas and the bounded lists on the verdicts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from layercheck.errors import ResultsNotStoredError
from layercheck.logic.change_events import EventEntry, PublishOutcome, UnsentEvent
from layercheck.logic.image_check import ImageCheckService
from layercheck.logic.images import ImageRef, ImageWalk
from layercheck.logic.verdict_merge import ImageObservation, ImageWrite, InUseKnowledge, StoredImage, merge
from layercheck.models.in_use import UsedBy
from layercheck.models.replicas import Replica, ReplicaStatus
from layercheck.models.stored import MAX_LISTED, ImageStatus, Source, StoredImageVerdict, StoredItem
from tests.unit.test_images_service import NOW, FakeManifests, FakeRegistry, d, manifest

REGION = "eu-west-1"
SERVICE_ARN = "arn:aws:ecs:eu-west-1:123456789012:service/prod/api"


@dataclass
class LayerStore:
    items: list[StoredItem] = field(default_factory=list)

    def put_verdicts(self, items: Sequence[StoredItem]) -> int:
        self.items.extend(items)
        return len(items)


@dataclass
class MemoryImageStore:
    """``ImageVerdictStore`` in memory, merging as the results table does (``logic.verdict_merge.merge``): each write
    sees the item as the last one left it, changes wait on it until ``clear_sent``. ``refuse``: digests it fails."""

    items: dict[tuple[str, str | None, str, str], StoredImage] = field(default_factory=dict)
    refuse: set[str] = field(default_factory=set)

    def write_images(self, observations: Sequence[ImageObservation], *, stage_changes: bool = True) -> list[ImageWrite]:
        writes = []
        for observation in observations:
            verdict = observation.verdict
            if verdict.reference in self.refuse:
                writes.append(ImageWrite(None, "ProvisionedThroughputExceededException: slow down"))
                continue
            key = (verdict.registryId, verdict.region, verdict.repositoryName, verdict.reference)
            stored = self.items.get(key)
            update = merge(stored, observation, stage_changes=stage_changes)
            if update.groups or update.change is not None:
                self.items[key] = StoredImage(update.verdict, (stored.version if stored else 0) + 1, update.pending)
            writes.append(ImageWrite(update))
        return writes

    def clear_sent(self, verdict: StoredImageVerdict, change_ids: Sequence[str]) -> None:
        key = (verdict.registryId, verdict.region, verdict.repositoryName, verdict.reference)
        stored = self.items[key]
        left = tuple(change for change in stored.pending if change.change_id not in change_ids)
        self.items[key] = StoredImage(stored.verdict, stored.version + 1, left)

    def verdict(self, digest: str) -> StoredImageVerdict:
        return next(item.verdict for key, item in self.items.items() if key[3] == digest)

    def waiting(self) -> list[str]:
        return [change.change_id for item in self.items.values() for change in item.pending]


@dataclass
class Bus:
    refuse: bool = False
    entries: list[EventEntry] = field(default_factory=list)

    def publish(self, entries: Sequence[EventEntry]) -> PublishOutcome:
        if self.refuse:
            return PublishOutcome(unsent=[UnsentEvent(e, "InternalFailure", "try later") for e in entries])
        self.entries.extend(entries)
        return PublishOutcome(sent=len(entries))

    def details(self) -> list[dict[str, object]]:
        return [json.loads(entry.detail) for entry in self.entries]


def checker(available: set[str], images: MemoryImageStore, bus: Bus) -> ImageCheckService:
    manifests = FakeManifests({"whole": manifest("c1", "base"), "broken": manifest("c2", "base", "gone")})
    return ImageCheckService(
        registry=FakeRegistry({d(x) for x in available}),
        manifests=manifests,
        store=LayerStore(),
        clock=lambda: NOW,
        region=REGION,
        image_store=images,
        events=bus,
    )


def known(users: dict[str, list[UsedBy]]) -> InUseKnowledge:
    """What an audit's discovery found, just before this check read ECR."""
    return InUseKnowledge(users=users, observed_at=NOW)


def refs() -> list[ImageRef]:
    return [ImageRef(d("whole"), ("v1",)), ImageRef(d("broken"), ("v2",))]


def test_first_verdicts_publish_only_what_is_not_complete_with_used_by() -> None:
    bus, images = Bus(), MemoryImageStore()
    used_by = {d("broken"): [UsedBy(kind="ecs-service", id=SERVICE_ARN)]}

    outcome = checker({"c1", "c2", "base"}, images, bus).check_images(
        "123456789012", "app", refs(), source=Source.SCHEDULE, check_id="audit-1", in_use=known(used_by)
    )

    [detail] = bus.details()
    assert detail["imageDigest"] == d("broken") and detail["previousStatus"] is None and detail["status"] == "BROKEN"
    assert detail["region"] == REGION and detail["missingLayers"] == [d("gone")]
    assert detail["usedBy"] == [{"kind": "ecs-service", "id": SERVICE_ARN}] and detail["checkId"] == "audit-1"
    assert (outcome.events_sent, outcome.in_use_broken, outcome.broken) == (1, 1, 1)
    assert [v.usedBy for v in outcome.verdicts] == [[], used_by[d("broken")]]
    assert {v.region for v in outcome.verdicts} == {REGION}


def test_a_repeat_with_nothing_changed_publishes_nothing_and_a_recovery_publishes_once() -> None:
    bus, images = Bus(), MemoryImageStore()
    checker({"c1", "c2", "base"}, images, bus).check_images("123456789012", "app", refs(), source=Source.API)
    bus.entries.clear()

    # When the same delivery is checked again (a replay), Then no event
    checker({"c1", "c2", "base"}, images, bus).check_images("123456789012", "app", refs(), source=Source.API)
    assert bus.entries == []

    # When the missing layer is back, Then one BROKEN -> COMPLETE event
    checker({"c1", "c2", "base", "gone"}, images, bus).check_images("123456789012", "app", refs(), source=Source.API)
    assert [(x["previousStatus"], x["status"]) for x in bus.details()] == [("BROKEN", "COMPLETE")]


def test_a_check_that_does_not_know_who_runs_the_image_keeps_and_announces_the_stored_used_by() -> None:
    # Given an audit that stored the broken image as run by an ECS service
    bus, images = Bus(), MemoryImageStore()
    users = [UsedBy(kind="ecs-service", id=SERVICE_ARN)]
    checker({"c1", "c2", "base"}, images, bus).check_images(
        "123456789012", "app", refs(), source=Source.SCHEDULE, in_use=known({d("broken"): users})
    )
    bus.entries.clear()

    # When a push check (no used_by) finds it repaired
    outcome = checker({"c1", "c2", "base", "gone"}, images, bus).check_images(
        "123456789012", "app", [ImageRef(d("broken"), ("v2",))], source=Source.PUSH
    )

    # Then the store kept the service, the verdict answered carries it, and so does the recovery event
    assert images.verdict(d("broken")).usedBy == users
    assert [v.usedBy for v in outcome.verdicts] == [users]
    [detail] = bus.details()
    assert (detail["previousStatus"], detail["status"]) == ("BROKEN", "COMPLETE")
    assert detail["usedBy"] == [{"kind": "ecs-service", "id": SERVICE_ARN}]

    # When an audit finds nobody running it any more (used_by given, the image not in it), Then it is cleared
    outcome = checker({"c1", "c2", "base", "gone"}, images, bus).check_images(
        "123456789012", "app", refs(), source=Source.SCHEDULE, in_use=known({})
    )
    assert images.verdict(d("broken")).usedBy == [] and [v.usedBy for v in outcome.verdicts] == [[], []]


def test_a_publishing_failure_keeps_the_verdicts_and_is_reported() -> None:
    bus, images = Bus(refuse=True), MemoryImageStore()

    outcome = checker({"c1", "c2", "base"}, images, bus).check_images("123456789012", "app", refs(), source=Source.API)

    assert [images.verdict(d(x)).status for x in ("whole", "broken")] == [ImageStatus.COMPLETE, ImageStatus.BROKEN]
    assert [(u.code, json.loads(u.entry.detail)["status"]) for u in outcome.events_unsent] == [
        ("InternalFailure", "BROKEN")
    ]


def test_an_unstored_image_raises_after_the_stored_ones_published_their_events() -> None:
    # Given a store that holds the whole image as BROKEN, takes it, and refuses the broken one
    bus, images = Bus(), MemoryImageStore()
    checker({"base"}, images, Bus()).check_images("123456789012", "app", refs()[:1], source=Source.API)
    images.refuse.add(d("broken"))

    with pytest.raises(ResultsNotStoredError) as raised:
        checker({"c1", "c2", "base"}, images, bus).check_images("123456789012", "app", refs(), source=Source.API)

    # Then the recovery it stored was published before the error (a retry would see it stored and stay silent)
    assert [(x["imageDigest"], x["status"]) for x in bus.details()] == [(d("whole"), "COMPLETE")]
    assert raised.value.unstored_keys == [{"repositoryName": "app", "image": d("broken")}]


def test_events_without_previous_statuses_are_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="image store"):
        ImageCheckService(
            registry=FakeRegistry(set()),
            manifests=FakeManifests({}),
            store=LayerStore(),
            events=Bus(),
            region="us-east-1",
        )


def test_replica_check_fills_replicas_and_counts_incomplete_copies() -> None:
    seen: list[str] = []

    def replicas(walk: ImageWalk) -> list[Replica]:
        seen.append(walk.image.image_digest)
        return [
            Replica(region="us-west-2", registryId="123456789012", status=ReplicaStatus.MISSING),
            Replica(region="eu-central-1", registryId="123456789012", status=ReplicaStatus.COMPLETE),
        ]

    outcome = checker({"c1", "c2", "base"}, MemoryImageStore(), Bus()).check_images(
        "123456789012", "app", refs(), source=Source.SCHEDULE, replica_check=replicas
    )

    assert seen == [d("whole"), d("broken")]
    assert outcome.replicas_incomplete == 2
    assert [r.status for r in outcome.verdicts[0].replicas] == [ReplicaStatus.MISSING, ReplicaStatus.COMPLETE]


def test_a_verdict_lists_at_most_max_listed_missing_layers_and_counts_the_rest() -> None:
    layers = [f"l{n}" for n in range(MAX_LISTED + 30)]
    manifests = FakeManifests({"huge": manifest("c", *layers)})
    service = ImageCheckService(
        registry=FakeRegistry({d("c")}), manifests=manifests, store=LayerStore(), clock=lambda: NOW, region=REGION
    )

    [verdict] = service.check_images("123456789012", "app", [ImageRef(d("huge"))], source=Source.API).verdicts

    assert verdict.status is ImageStatus.BROKEN
    assert (len(verdict.missingLayers), verdict.missingLayersOmitted) == (MAX_LISTED, 30)
    assert "missingLayersOmitted" in verdict.model_dump() and "imageTagsOmitted" not in verdict.model_dump()
