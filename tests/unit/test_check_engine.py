"""The check engine answers every (repository, digest) pair with the fewest ECR calls, over a fake registry port."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import pytest

from layercheck.errors import RepositoryCheckError
from layercheck.logic.check import BatchAnswer, RepositoryTarget, check_repositories, plan_calls
from layercheck.models.verdicts import CheckSummary, LayerAnswer, LayerFailure

REGISTRY = "123456789012"


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


@dataclass
class FakeRegistry:
    """A registry port that answers from a dict of repository → {digest: availability}; records every call."""

    layers: dict[str, dict[str, str]] = field(default_factory=dict)
    errors: dict[str, RepositoryCheckError] = field(default_factory=dict)
    calls: list[tuple[str, list[str]]] = field(default_factory=list)
    delay: float = 0.0
    in_flight: int = 0
    max_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def batch_check_layer_availability(
        self, registry_id: str, repository_name: str, layer_digests: list[str]
    ) -> BatchAnswer:
        with self._lock:
            self.calls.append((repository_name, list(layer_digests)))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                time.sleep(self.delay)
            assert 1 <= len(layer_digests) <= 100, "ECR accepts 1 to 100 digests per call"
            if repository_name in self.errors:
                raise self.errors[repository_name]
            held = self.layers.get(repository_name, {})
            return BatchAnswer(
                layers=[
                    LayerAnswer(layerDigest=d, layerAvailability=held[d], layerSize=10, mediaType="m")
                    for d in layer_digests
                    if d in held
                ],
                failures=[
                    LayerFailure(layerDigest=d, failureCode="MissingLayerDigest", failureReason="not found")
                    for d in layer_digests
                    if d not in held
                ],
            )
        finally:
            with self._lock:
                self.in_flight -= 1


def test_check_splits_201_digests_into_calls_of_100_100_and_1() -> None:
    registry = FakeRegistry(layers={"app": {digest(i): "AVAILABLE" for i in range(201)}})

    outcome = check_repositories([RepositoryTarget(REGISTRY, "app", [digest(i) for i in range(201)])], registry)

    assert sorted(len(call[1]) for call in registry.calls) == [1, 100, 100]
    assert outcome.summary == CheckSummary(checked=201, available=201)


@pytest.mark.parametrize(("count", "calls"), [(100, 1), (101, 2), (201, 3)])
def test_plan_calls_is_the_minimum_number_of_calls(count: int, calls: int) -> None:
    assert len(plan_calls([RepositoryTarget(REGISTRY, "app", [digest(i) for i in range(count)])])) == calls


def test_check_deduplicates_digests_keeping_first_seen_order() -> None:
    registry = FakeRegistry(layers={"app": {digest(1): "AVAILABLE", digest(2): "AVAILABLE"}})
    asked = [digest(2), digest(1), digest(2), digest(3), digest(1)]

    outcome = check_repositories([RepositoryTarget(REGISTRY, "app", asked)], registry)

    assert registry.calls == [("app", [digest(2), digest(1), digest(3)])]
    result = outcome.results[0]
    assert [layer.layerDigest for layer in result.layers] == [digest(2), digest(1)]
    assert [failure.layerDigest for failure in result.failures] == [digest(3)]
    assert outcome.summary.checked == 3


def test_check_answers_malformed_digests_itself_and_never_sends_them() -> None:
    malformed = ["latest", "sha256:ABC", "sha256:" + "A" * 64]
    registry = FakeRegistry(layers={"app": {digest(1): "AVAILABLE"}})

    outcome = check_repositories([RepositoryTarget(REGISTRY, "app", [*malformed, digest(1)])], registry)

    assert registry.calls == [("app", [digest(1)])]
    failures = {failure.layerDigest: failure for failure in outcome.results[0].failures}
    assert set(failures) == set(malformed)
    assert {failure.failureCode for failure in failures.values()} == {"InvalidLayerDigest"}
    assert failures["latest"].failureReason == "Invalid layer digest 'latest'"
    assert outcome.summary == CheckSummary(checked=4, available=1, invalid=3)


def test_check_makes_no_call_when_every_digest_is_malformed() -> None:
    registry = FakeRegistry()

    outcome = check_repositories([RepositoryTarget(REGISTRY, "app", ["nope"])], registry)

    assert registry.calls == []
    assert outcome.summary == CheckSummary(checked=1, invalid=1)


@pytest.mark.parametrize(
    "code",
    [
        "RepositoryNotFoundException",
        "AccessDeniedException",
        "InvalidParameterException",
        "ServerException",
        "ThrottlingException",
    ],
)
def test_a_repository_error_fails_every_digest_of_that_repository_only(code: str) -> None:
    registry = FakeRegistry(
        layers={"good": {digest(1): "AVAILABLE"}},
        errors={"bad": RepositoryCheckError(code, f"{code} message")},
    )
    digests = [digest(i) for i in range(150)] + ["malformed"]

    outcome = check_repositories(
        [RepositoryTarget(REGISTRY, "bad", digests), RepositoryTarget(REGISTRY, "good", digests)], registry
    )

    bad, good = outcome.results
    assert bad.layers == []
    assert len(bad.failures) == 151
    assert {f.failureCode for f in bad.failures if f.layerDigest != "malformed"} == {code}
    assert {f.failureReason for f in bad.failures if f.layerDigest != "malformed"} == {f"{code} message"}
    assert [layer.layerDigest for layer in good.layers] == [digest(1)]
    assert len(good.failures) == 150
    assert outcome.summary == CheckSummary(checked=302, available=1, missing=149, invalid=2, errors=150)


def test_unknown_availability_values_are_kept_verbatim() -> None:
    registry = FakeRegistry(
        layers={"app": {digest(1): "ARCHIVED", digest(2): "UNAVAILABLE", digest(3): "SOMETHING_NEW"}}
    )

    outcome = check_repositories([RepositoryTarget(REGISTRY, "app", [digest(1), digest(2), digest(3)])], registry)

    assert [layer.layerAvailability for layer in outcome.results[0].layers] == [
        "ARCHIVED",
        "UNAVAILABLE",
        "SOMETHING_NEW",
    ]
    assert outcome.summary == CheckSummary(checked=3, unavailable=3)


def test_a_digest_missing_from_ecrs_answer_becomes_a_failure_not_a_gap() -> None:
    class ForgetfulRegistry(FakeRegistry):
        def batch_check_layer_availability(
            self, registry_id: str, repository_name: str, layer_digests: list[str]
        ) -> BatchAnswer:
            answer = super().batch_check_layer_availability(registry_id, repository_name, layer_digests)
            return BatchAnswer(layers=answer.layers[1:], failures=answer.failures)

    registry = ForgetfulRegistry(layers={"app": {digest(1): "AVAILABLE", digest(2): "AVAILABLE"}})

    outcome = check_repositories([RepositoryTarget(REGISTRY, "app", [digest(1), digest(2)])], registry)

    assert [f.failureCode for f in outcome.results[0].failures] == ["UnansweredLayerDigest"]
    assert outcome.summary.checked == 2


def test_repeated_repositories_are_merged_into_one_result() -> None:
    registry = FakeRegistry(layers={"app": {digest(1): "AVAILABLE"}})

    outcome = check_repositories(
        [RepositoryTarget(REGISTRY, "app", [digest(1)]), RepositoryTarget(REGISTRY, "app", [digest(1), digest(2)])],
        registry,
    )

    assert len(outcome.results) == 1
    assert registry.calls == [("app", [digest(1), digest(2)])]


def test_calls_run_concurrently_but_never_more_than_the_workers() -> None:
    registry = FakeRegistry(delay=0.02)
    targets = [RepositoryTarget(REGISTRY, f"repo-{i}", [digest(j) for j in range(250)]) for i in range(8)]
    progress: list[tuple[int, int]] = []

    check_repositories(targets, registry, workers=4, on_progress=lambda done, total: progress.append((done, total)))

    assert len(registry.calls) == 24
    assert 1 < registry.max_in_flight <= 4
    assert progress[-1] == (24, 24)
    assert [done for done, _ in progress] == list(range(1, 25))


def test_repositories_sharing_one_digest_list_each_get_every_pair_answered() -> None:
    # Given one digest list object handed to several repositories (as a request does), with repeats and malformed
    digests = [digest(1), "latest", digest(2), digest(1), "latest"]
    registry = FakeRegistry(layers={"a": {digest(1): "AVAILABLE"}, "b": {digest(2): "AVAILABLE"}})

    # When both are checked
    outcome = check_repositories([RepositoryTarget(REGISTRY, name, digests) for name in ("a", "b")], registry)

    # Then each repository is asked once about the well-formed digests, and answers each distinct digest once
    assert sorted(registry.calls) == [("a", [digest(1), digest(2)]), ("b", [digest(1), digest(2)])]
    a, b = outcome.results
    assert [layer.layerDigest for layer in a.layers] == [digest(1)]
    assert [(f.layerDigest, f.failureCode) for f in a.failures] == [
        ("latest", "InvalidLayerDigest"),
        (digest(2), "MissingLayerDigest"),
    ]
    assert [layer.layerDigest for layer in b.layers] == [digest(2)]
    assert outcome.summary == CheckSummary(checked=6, available=2, missing=2, invalid=2)


def test_a_malformed_digest_echoed_by_ecr_is_still_answered_invalid() -> None:
    """ECR is never asked about a malformed digest; an answer that names one anyway does not override ours."""

    class EchoingRegistry(FakeRegistry):
        def batch_check_layer_availability(
            self, registry_id: str, repository_name: str, layer_digests: list[str]
        ) -> BatchAnswer:
            answer = super().batch_check_layer_availability(registry_id, repository_name, layer_digests)
            echoed = LayerAnswer(layerDigest="latest", layerAvailability="AVAILABLE")
            return BatchAnswer(layers=[*answer.layers, echoed], failures=answer.failures)

    registry = EchoingRegistry(layers={"app": {digest(1): "AVAILABLE"}})

    outcome = check_repositories([RepositoryTarget(REGISTRY, "app", ["latest", digest(1)])], registry)

    assert [(f.layerDigest, f.failureCode) for f in outcome.results[0].failures] == [("latest", "InvalidLayerDigest")]
    assert outcome.summary == CheckSummary(checked=2, available=1, invalid=1)


def test_ecrs_layer_answer_wins_over_its_failure_for_the_same_digest_and_first_mention_wins() -> None:
    class DoubleTalkRegistry(FakeRegistry):
        def batch_check_layer_availability(
            self, registry_id: str, repository_name: str, layer_digests: list[str]
        ) -> BatchAnswer:
            return BatchAnswer(
                layers=[
                    LayerAnswer(layerDigest=digest(1), layerAvailability="AVAILABLE"),
                    LayerAnswer(layerDigest=digest(1), layerAvailability="UNAVAILABLE"),
                ],
                failures=[
                    LayerFailure(layerDigest=digest(1), failureCode="MissingLayerDigest"),
                    LayerFailure(layerDigest=digest(2), failureCode="MissingLayerDigest", failureReason="first"),
                    LayerFailure(layerDigest=digest(2), failureCode="MissingLayerDigest", failureReason="second"),
                ],
            )

    outcome = check_repositories([RepositoryTarget(REGISTRY, "app", [digest(1), digest(2)])], DoubleTalkRegistry())

    result = outcome.results[0]
    assert [layer.layerAvailability for layer in result.layers] == ["AVAILABLE"]
    assert [(f.layerDigest, f.failureReason) for f in result.failures] == [(digest(2), "first")]


def test_repeated_repository_merges_lists_in_first_seen_order_and_other_targets_keep_theirs() -> None:
    registry = FakeRegistry(layers={"app": {digest(i): "AVAILABLE" for i in range(4)}})
    targets = [
        RepositoryTarget(REGISTRY, "app", [digest(3), digest(1)]),
        RepositoryTarget(REGISTRY, "other", [digest(0)]),
        RepositoryTarget(REGISTRY, "app", [digest(2), digest(3)]),
    ]

    outcome = check_repositories(targets, registry)

    assert [result.repositoryName for result in outcome.results] == ["app", "other"]
    assert [layer.layerDigest for layer in outcome.results[0].layers] == [digest(3), digest(1), digest(2)]
    assert ("app", [digest(3), digest(1), digest(2)]) in registry.calls


def test_every_pair_is_answered_exactly_once_across_many_repositories_and_chunks() -> None:
    # Given 7 repositories × 250 digests (201 well-formed, each repository holding a different share) and 49 malformed
    digests = [digest(i) for i in range(201)] + [f"bad-{i}" for i in range(49)]
    names = [f"repo-{k}" for k in range(7)]
    registry = FakeRegistry(
        layers={name: {digest(i): "AVAILABLE" for i in range(k, 201, 3)} for k, name in enumerate(names)}
    )

    outcome = check_repositories([RepositoryTarget(REGISTRY, name, digests) for name in names], registry, workers=5)

    # Then the calls are the minimum (100, 100, 1 per repository) and every pair has exactly one answer
    assert sorted(len(call[1]) for call in registry.calls) == [1] * 7 + [100] * 14
    for result in outcome.results:
        answered = [layer.layerDigest for layer in result.layers] + [f.layerDigest for f in result.failures]
        assert sorted(answered) == sorted(digests)
    assert outcome.summary.checked == 7 * 250
    assert outcome.summary.invalid == 7 * 49
