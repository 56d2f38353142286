"""The push door on moto with really uploaded blobs: every pushed image gets a verdict, once per event."""

from __future__ import annotations

import json
from typing import Any

import pytest

from layercheck.handler import lambda_handler
from layercheck.models.manifests import EMPTY_DESCRIPTOR_DIGEST
from local.lambda_context import FakeLambdaContext
from local.seed import (
    DOCKER_FOREIGN_LAYER,
    OCI_LAYER,
    blob,
    create_repository,
    descriptor,
    digest_of,
    push_image,
    push_index,
    put_manifest,
)
from tests.integration.conftest import stored_items
from tests.integration.event_support import image_verdicts, layer_items, metric_sources, prepare_event_doors, push_event
from tests.integration.moto_ecr import serve_pull_through_cache_rules
from tests.support import emf_totals, load_event

REPOSITORY = "team-a/api"


@pytest.fixture
def pull_through_rules(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """The registry's pull-through cache rules as moto serves them (none unless a test adds one)."""
    rules: list[dict[str, str]] = []
    serve_pull_through_cache_rules(monkeypatch, rules)
    return rules


@pytest.fixture
def registry(
    ecr: Any, results_table: str, pull_through_rules: list[dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> Any:
    # moto is consistent at once: the push recheck's pauses would only slow these tests (its rules: unit tests)
    prepare_event_doors(monkeypatch, PUSH_RECHECK_SECONDS="0")
    create_repository(ecr, REPOSITORY)
    return ecr


def test_push_of_a_complete_oci_image_stores_a_complete_verdict(
    registry: Any, dynamodb: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an OCI image whose config and two layers were uploaded
    image = push_image(registry, REPOSITORY, ["os", "app"], tag="v1")

    # When ECR announces the push
    answer = lambda_handler(push_event(REPOSITORY, image["digest"], "v1"), FakeLambdaContext())

    # Then one COMPLETE verdict, one item per blob, and the image metrics under Source=push
    assert answer["status"] == "COMPLETE"
    items = stored_items(dynamodb)
    verdict = image_verdicts(items)[(REPOSITORY, image["digest"])]
    assert verdict["status"] == "COMPLETE"
    assert verdict["imageTags"] == ["v1"]
    assert verdict["missingLayers"] == []
    assert verdict["source"] == "push"
    assert verdict["registryId"] == "123456789012"
    assert {digest_of(blob("os")), digest_of(blob("app"))} <= set(layer_items(items, REPOSITORY))
    assert all(item["status"] == "AVAILABLE" for item in layer_items(items, REPOSITORY).values())
    assert len(layer_items(items, REPOSITORY)) == 3  # config + 2 layers
    stdout = capsys.readouterr().out
    totals = emf_totals(stdout)
    assert totals["ImagesChecked"] == 1
    assert totals["BrokenImages"] == 0
    assert totals["LayersChecked"] == 3
    assert metric_sources(stdout) == {"push"}


def test_push_of_a_docker_v2_image_stores_a_complete_verdict(registry: Any, dynamodb: Any) -> None:
    image = push_image(registry, REPOSITORY, ["base", "web"], tag="2.0", docker=True)

    lambda_handler(push_event(REPOSITORY, image["digest"], "2.0"), FakeLambdaContext())

    verdict = image_verdicts(stored_items(dynamodb))[(REPOSITORY, image["digest"])]
    assert verdict["status"] == "COMPLETE"
    assert len(layer_items(stored_items(dynamodb), REPOSITORY)) == 3


def test_push_of_a_two_platform_index_checks_every_platform(registry: Any, dynamodb: Any) -> None:
    # Given an index over two platform manifests, themselves put by digest (untagged), as buildx pushes them
    amd64 = push_image(registry, REPOSITORY, ["base", "amd64-bin"], platform="linux/amd64")
    arm64 = push_image(registry, REPOSITORY, ["base", "arm64-bin"], platform="linux/arm64")
    index = push_index(registry, REPOSITORY, [amd64, arm64], tag="multi")

    answer = lambda_handler(push_event(REPOSITORY, index["digest"], "multi"), FakeLambdaContext())

    assert answer["status"] == "COMPLETE"
    items = stored_items(dynamodb)
    assert image_verdicts(items)[(REPOSITORY, index["digest"])]["imageTags"] == ["multi"]
    checked = set(layer_items(items, REPOSITORY))
    assert {digest_of(blob(label)) for label in ("base", "amd64-bin", "arm64-bin")} <= checked
    assert len(checked) == 5  # two configs, the shared base layer once, two platform layers


def test_push_of_an_image_missing_a_layer_is_broken_and_lists_only_that_layer(
    registry: Any, dynamodb: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a manifest that references a layer never uploaded, a foreign layer and the OCI empty descriptor
    never_uploaded = descriptor(OCI_LAYER, blob("never-uploaded"))
    foreign = descriptor(
        DOCKER_FOREIGN_LAYER, blob("windows-base"), urls=["https://mcr.microsoft.com/v2/windows/blobs/x"]
    )
    empty = {"mediaType": "application/vnd.oci.empty.v1+json", "digest": EMPTY_DESCRIPTOR_DIGEST, "size": 2}
    image = push_image(registry, REPOSITORY, ["os"], tag="broken", absent_layers=[never_uploaded, foreign, empty])

    answer = lambda_handler(push_event(REPOSITORY, image["digest"], "broken"), FakeLambdaContext())

    # Then BROKEN, naming exactly the missing layer; the foreign layer and empty descriptor are not even checked
    assert answer["status"] == "BROKEN"
    items = stored_items(dynamodb)
    verdict = image_verdicts(items)[(REPOSITORY, image["digest"])]
    assert verdict["status"] == "BROKEN"
    assert verdict["missingLayers"] == [never_uploaded["digest"]]
    assert layer_items(items, REPOSITORY)[never_uploaded["digest"]]["status"] == "MISSING"
    assert foreign["digest"] not in layer_items(items, REPOSITORY)
    assert EMPTY_DESCRIPTOR_DIGEST not in layer_items(items, REPOSITORY)
    totals = emf_totals(capsys.readouterr().out)
    assert totals["BrokenImages"] == 1
    assert totals["ImagesChecked"] == 1
    assert totals["LayersMissing"] == 1


def test_an_index_whose_platform_manifest_is_gone_is_broken(registry: Any, dynamodb: Any) -> None:
    # Given an index listing a platform manifest the repository does not hold (a lifecycle rule expired it)
    amd64 = push_image(registry, REPOSITORY, ["base"], platform="linux/amd64")
    expired = {
        **amd64,
        "digest": digest_of(b"expired platform manifest"),
        "platform": {"os": "linux", "architecture": "arm64"},
    }
    index = push_index(registry, REPOSITORY, [amd64, expired], tag="half")

    lambda_handler(push_event(REPOSITORY, index["digest"], "half"), FakeLambdaContext())

    verdict = image_verdicts(stored_items(dynamodb))[(REPOSITORY, index["digest"])]
    assert verdict["status"] == "BROKEN"
    assert verdict["missingManifests"] == [expired["digest"]]
    assert verdict["missingLayers"] == []


def test_a_replayed_push_event_changes_nothing_and_counts_nothing(
    registry: Any, dynamodb: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    image = push_image(registry, REPOSITORY, ["os", "app"], tag="v1")
    event = push_event(REPOSITORY, image["digest"], "v1")
    first = lambda_handler(event, FakeLambdaContext())
    items_after_first = stored_items(dynamodb)
    capsys.readouterr()

    # When EventBridge delivers the same event again (same id)
    second = lambda_handler(event, FakeLambdaContext())

    # Then the first answer comes back, no item is added or rewritten, and no metric is emitted
    assert second == first
    assert stored_items(dynamodb) == items_after_first
    assert "ImagesChecked" not in emf_totals(capsys.readouterr().out)


def test_other_ecr_events_are_ignored(registry: Any, dynamodb: Any, capsys: pytest.CaptureFixture[str]) -> None:
    answer = lambda_handler(load_event("ecr_image_scan.json"), FakeLambdaContext())

    assert answer["status"] == "ignored"
    assert stored_items(dynamodb) == []
    assert emf_totals(capsys.readouterr().out) == {}


def test_a_failed_push_is_ignored(registry: Any, dynamodb: Any) -> None:
    event = push_event(REPOSITORY, digest_of(b"whatever"))
    event["detail"]["result"] = "FAILURE"

    assert lambda_handler(event, FakeLambdaContext())["status"] == "ignored"
    assert stored_items(dynamodb) == []


def test_a_push_by_digest_without_a_tag_is_checked(registry: Any, dynamodb: Any) -> None:
    image = push_image(registry, REPOSITORY, ["os"])

    lambda_handler(push_event(REPOSITORY, image["digest"], None), FakeLambdaContext())

    verdict = image_verdicts(stored_items(dynamodb))[(REPOSITORY, image["digest"])]
    assert verdict["status"] == "COMPLETE"
    assert verdict["imageTags"] == []


def test_an_image_deleted_before_the_check_is_missing_and_not_stored(registry: Any, dynamodb: Any) -> None:
    # Given an image ECR no longer holds, that layercheck never judged and nobody runs
    gone = digest_of(b"deleted meanwhile")

    answer = lambda_handler(push_event(REPOSITORY, gone, "v9"), FakeLambdaContext())

    # Then it is MISSING, and nothing is kept of an image that is not there
    assert answer["status"] == "MISSING"
    assert (REPOSITORY, gone) not in image_verdicts(stored_items(dynamodb))


def test_a_schema_1_manifest_gets_an_unchecked_verdict_with_the_reason(registry: Any, dynamodb: Any) -> None:
    schema1 = {
        "schemaVersion": 1,
        "mediaType": "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "name": REPOSITORY,
        "tag": "old",
        "fsLayers": [{"blobSum": digest_of(b"layer")}],
    }
    image = put_manifest(registry, REPOSITORY, schema1, "old")

    lambda_handler(push_event(REPOSITORY, image["digest"], "old"), FakeLambdaContext())

    verdict = image_verdicts(stored_items(dynamodb))[(REPOSITORY, image["digest"])]
    assert verdict["status"] == "UNCHECKED"
    assert verdict["failureCode"] == "UnsupportedManifest"
    assert "schema 1" in verdict["failureReason"]


def test_a_push_event_with_a_malformed_digest_is_refused_before_any_aws_call(registry: Any) -> None:
    from layercheck.errors import InvalidEventError

    event = push_event(REPOSITORY, "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234")
    with pytest.raises(InvalidEventError, match=r"image-digest|image_digest"):
        lambda_handler(event, FakeLambdaContext())


def test_push_to_a_pull_through_cache_repository_missing_a_layer_is_unchecked_not_broken(
    registry: Any, dynamodb: Any, pull_through_rules: list[dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a pull-through cache rule for docker-hub/ and an image there whose one layer was never cached
    pull_through_rules.append({"ecrRepositoryPrefix": "docker-hub", "upstreamRegistryUrl": "registry-1.docker.io"})
    repository = "docker-hub/library/nginx"
    create_repository(registry, repository)
    uncached = descriptor(OCI_LAYER, blob("fetched-on-pull"))
    image = push_image(registry, repository, ["os"], tag="1.27", absent_layers=[uncached])

    answer = lambda_handler(push_event(repository, image["digest"], "1.27"), FakeLambdaContext())

    # Then ECR would fetch that layer from upstream on pull: UNCHECKED with the reason, and no broken image counted
    assert answer["status"] == "UNCHECKED"
    verdict = image_verdicts(stored_items(dynamodb))[(repository, image["digest"])]
    assert verdict["failureCode"] == "NotCachedFromUpstream"
    assert verdict["missingLayers"] == [uncached["digest"]]
    assert "registry-1.docker.io" in verdict["failureReason"]
    assert emf_totals(capsys.readouterr().out)["BrokenImages"] == 0


def test_push_check_with_unreadable_pull_through_rules_still_reports_broken(
    registry: Any, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given DescribePullThroughCacheRules denied (a role without the permission), and an image missing a layer
    from moto.ecr.responses import ECRResponse

    def denied(self: ECRResponse) -> tuple[int, dict[str, str], str]:
        body = json.dumps({"__type": "AccessDeniedException", "message": "not authorized"})
        return 400, {"status": "400"}, body

    monkeypatch.setattr(ECRResponse, "describe_pull_through_cache_rules", denied, raising=False)
    image = push_image(registry, REPOSITORY, ["os"], tag="b", absent_layers=[descriptor(OCI_LAYER, blob("lost"))])

    lambda_handler(push_event(REPOSITORY, image["digest"], "b"), FakeLambdaContext())

    # Then the repository is judged as a plain one, and the verdict says why
    verdict = image_verdicts(stored_items(dynamodb))[(REPOSITORY, image["digest"])]
    assert verdict["status"] == "BROKEN"
    assert "AccessDeniedException" in verdict["failureReason"]
