"""The verdict rules where real ECR differs from moto: archived images and layers, pull-through cache repositories,
errors that are not absence, and the push recheck's bounded pauses (judge.py, recheck.py, over fakes of the ports)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from layercheck.errors import RepositoryCheckError, TransientCheckError
from layercheck.logic.catalog import PullThroughCacheRule
from layercheck.logic.check import BatchAnswer
from layercheck.logic.image_check import ImageCheckService
from layercheck.logic.images import ImageRef, ImageWalk
from layercheck.logic.judge import (
    IMAGE_ACTIVATING_CODE,
    IMAGE_ARCHIVED_CODE,
    LAYERS_ARCHIVED_CODE,
    NOT_CACHED_CODE,
    judge_archived_image,
    judge_image,
)
from layercheck.logic.recheck import RecheckPolicy
from layercheck.models.stored import ImageStatus, Source
from layercheck.models.verdicts import LayerAnswer, LayerFailure
from tests.unit.test_images_service import FakeManifests, FakeRegistry, FakeStore, d, manifest

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def walk(*blobs: str, missing_manifests: tuple[str, ...] = ()) -> ImageWalk:
    return ImageWalk(ImageRef(d("img")), blobs=tuple(d(b) for b in blobs), missing_manifests=missing_manifests)


def available(label: str) -> LayerAnswer:
    return LayerAnswer(layerDigest=d(label), layerAvailability="AVAILABLE")


def archived(label: str) -> LayerAnswer:
    return LayerAnswer(layerDigest=d(label), layerAvailability="ARCHIVED")


def missing(label: str) -> LayerFailure:
    return LayerFailure(layerDigest=d(label), failureCode="MissingLayerDigest", failureReason="not found")


# -- archived ------------------------------------------------------------------------------------------------------


def test_judge_an_archived_layer_makes_an_active_image_archived_not_broken() -> None:
    judgement = judge_image(walk("a", "b"), {d("a"): available("a"), d("b"): archived("b")})

    assert judgement.status is ImageStatus.ARCHIVED
    assert judgement.missing_layers == ()
    assert judgement.failure_code == LAYERS_ARCHIVED_CODE
    assert judgement.failure_reason is not None
    assert d("b") in judgement.failure_reason and "not broken" in judgement.failure_reason


def test_judge_a_missing_blob_beside_an_archived_one_is_broken_naming_only_the_missing_one() -> None:
    judgement = judge_image(walk("a", "b"), {d("a"): archived("a"), d("b"): missing("b")})

    assert (judgement.status, judgement.missing_layers) == (ImageStatus.BROKEN, (d("b"),))


def test_judge_an_error_outranks_an_archived_layer_since_nothing_is_known_of_that_blob() -> None:
    error = LayerFailure(layerDigest=d("a"), failureCode="KmsException", failureReason="key disabled")

    judgement = judge_image(walk("a", "b"), {d("a"): error, d("b"): archived("b")})

    assert (judgement.status, judgement.failure_code) == (ImageStatus.UNCHECKED, "KmsException")


def test_judge_an_image_ecr_lists_archived_or_activating_says_so_in_its_reason() -> None:
    stored = judge_archived_image(ImageRef(d("img"), ("v1",), "ARCHIVED", NOW))
    restoring = judge_archived_image(ImageRef(d("img"), (), "ACTIVATING"))

    assert (stored.status, stored.failure_code) == (ImageStatus.ARCHIVED, IMAGE_ARCHIVED_CODE)
    assert stored.failure_reason is not None and "2026-01-02T03:04:05" in stored.failure_reason
    assert (restoring.status, restoring.failure_code) == (ImageStatus.ARCHIVED, IMAGE_ACTIVATING_CODE)


def service(manifests: FakeManifests, registry: FakeRegistry, store: FakeStore, **kwargs: object) -> ImageCheckService:
    return ImageCheckService(
        registry=registry,
        manifests=manifests,
        store=store,
        clock=lambda: NOW,
        region="us-east-1",
        **kwargs,  # type: ignore[arg-type]
    )


def test_check_images_archived_images_are_never_read_and_never_counted_broken() -> None:
    # Given one active broken image and one archived image (ECR would answer a pull of it with 404)
    manifests = FakeManifests({"live": manifest("c1", "lost")})
    registry = FakeRegistry({d("c1")})
    store = FakeStore()

    outcome = service(manifests, registry, store).check_images(
        "1",
        "repo",
        [ImageRef(d("old"), ("v0",), "ARCHIVED", NOW), ImageRef(d("live"), ("v1",))],
        source=Source.SCHEDULE,
    )

    # Then the archived image is ARCHIVED in request order, and only the active one is BROKEN (BrokenImages = 1)
    assert [(v.imageDigest, v.status) for v in outcome.verdicts] == [
        (d("old"), ImageStatus.ARCHIVED),
        (d("live"), ImageStatus.BROKEN),
    ]
    assert (outcome.broken, outcome.archived) == (1, 1)
    assert registry.calls == [[d("c1"), d("lost")]]  # no blob of the archived image was asked about
    assert outcome.verdicts[0].failureCode == IMAGE_ARCHIVED_CODE


# -- pull-through cache --------------------------------------------------------------------------------------------


@dataclass
class FakePullThrough:
    rule: PullThroughCacheRule | None = None
    error: RepositoryCheckError | None = None
    asked: list[str] = field(default_factory=list)

    def pull_through_cache_rule(self, registry_id: str, repository_name: str) -> PullThroughCacheRule | None:
        self.asked.append(repository_name)
        if self.error:
            raise self.error
        return self.rule if self.rule and self.rule.covers(repository_name) else None


def test_check_images_an_uncached_layer_of_a_pull_through_cache_repository_is_unchecked_not_broken() -> None:
    rule = PullThroughCacheRule("docker-hub", "registry-1.docker.io")
    manifests = FakeManifests({"img": manifest("cfg", "cached", "upstream-only")})
    registry = FakeRegistry({d("cfg"), d("cached")})

    outcome = service(manifests, registry, FakeStore(), pull_through=FakePullThrough(rule)).check_images(
        "1", "docker-hub/library/nginx", [ImageRef(d("img"))], source=Source.SCHEDULE
    )

    [verdict] = outcome.verdicts
    assert (verdict.status, verdict.failureCode) == (ImageStatus.UNCHECKED, NOT_CACHED_CODE)
    assert verdict.missingLayers == [d("upstream-only")]
    assert verdict.failureReason is not None and "registry-1.docker.io" in verdict.failureReason
    assert outcome.broken == 0


def test_check_images_pull_through_rules_are_asked_only_when_an_image_would_be_broken() -> None:
    pull_through = FakePullThrough(PullThroughCacheRule("docker-hub"))
    manifests = FakeManifests({"img": manifest("cfg", "layer")})

    complete = service(manifests, FakeRegistry({d("cfg"), d("layer")}), FakeStore(), pull_through=pull_through)
    complete.check_images("1", "team/app", [ImageRef(d("img"))], source=Source.SCHEDULE)
    assert pull_through.asked == []

    broken = service(manifests, FakeRegistry({d("cfg")}), FakeStore(), pull_through=pull_through)
    [verdict] = broken.check_images("1", "team/app", [ImageRef(d("img"))], source=Source.SCHEDULE).verdicts
    assert pull_through.asked == ["team/app"]
    assert verdict.status is ImageStatus.BROKEN  # the rule's prefix does not cover team/app


def test_check_images_unreadable_pull_through_rules_leave_broken_standing_and_say_why() -> None:
    pull_through = FakePullThrough(error=RepositoryCheckError("AccessDeniedException", "not allowed"))
    manifests = FakeManifests({"img": manifest("cfg", "lost")})

    [verdict] = (
        service(manifests, FakeRegistry({d("cfg")}), FakeStore(), pull_through=pull_through)
        .check_images("1", "team/app", [ImageRef(d("img"))], source=Source.SCHEDULE)
        .verdicts
    )

    assert verdict.status is ImageStatus.BROKEN
    assert verdict.failureReason is not None and "AccessDeniedException" in verdict.failureReason


def test_check_images_throttled_pull_through_rules_are_retried_before_anything_is_stored() -> None:
    pull_through = FakePullThrough(error=RepositoryCheckError("ThrottlingException", "slow down"))
    store = FakeStore()
    checker = service(FakeManifests({"img": manifest("cfg", "lost")}), FakeRegistry({d("cfg")}), store)
    checker.pull_through = pull_through

    with pytest.raises(TransientCheckError, match="ThrottlingException"):
        checker.check_images("1", "team/app", [ImageRef(d("img"))], source=Source.PUSH)

    assert store.items == []


# -- the push recheck ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("budget", [0.0, 0.2, 3.0, 5.0, 10.0])
def test_recheck_policy_pauses_grow_and_never_exceed_the_budget(budget: float) -> None:
    pauses = list(RecheckPolicy(budget).pauses())

    assert sum(pauses) == pytest.approx(budget)
    assert all(later >= earlier for earlier, later in itertools.pairwise(pauses[:-1]))  # the last one is cut


def test_recheck_policy_of_three_seconds_pauses_half_one_and_one_and_a_half() -> None:
    assert list(RecheckPolicy(3).pauses()) == [0.5, 1.0, 1.5]


@dataclass
class SettlingRegistry(FakeRegistry):
    """A registry that starts answering AVAILABLE for ``settling`` blobs from its ``settles_after``-th call on."""

    settling: set[str] = field(default_factory=set)
    settles_after: int = 2

    def batch_check_layer_availability(
        self, registry_id: str, repository_name: str, layer_digests: list[str]
    ) -> BatchAnswer:
        if len(self.calls) + 1 >= self.settles_after:
            self.available |= self.settling
        return super().batch_check_layer_availability(registry_id, repository_name, layer_digests)


def test_check_images_recheck_asks_only_about_absent_blobs_until_they_settle() -> None:
    slept: list[float] = []
    registry = SettlingRegistry({d("cfg"), d("a")}, settling={d("b")}, settles_after=3)
    manifests = FakeManifests({"img": manifest("cfg", "a", "b", "gone")})

    outcome = service(manifests, registry, FakeStore()).check_images(
        "1", "repo", [ImageRef(d("img"))], source=Source.PUSH, recheck=RecheckPolicy(3, sleep=slept.append)
    )

    # b settles on the third call; "gone" never does and is asked about until the budget is spent
    assert registry.calls == [
        [d("cfg"), d("a"), d("b"), d("gone")],
        [d("b"), d("gone")],
        [d("b"), d("gone")],
        [d("gone")],
    ]
    assert slept == [0.5, 1.0, 1.5]
    [verdict] = outcome.verdicts
    assert (verdict.status, verdict.missingLayers) == (ImageStatus.BROKEN, [d("gone")])
    # the summary counts each pair once, with its latest answer
    assert (outcome.layer_summary.checked, outcome.layer_summary.available, outcome.layer_summary.missing) == (4, 3, 1)
