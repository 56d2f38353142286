"""ImageCheckService over fakes of its ports: one engine pass per repository, nothing stored before it is final."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from layercheck.errors import RepositoryCheckError, TransientCheckError
from layercheck.logic.check import BatchAnswer
from layercheck.logic.image_check import ImageCheckService
from layercheck.logic.images import OCI_MANIFEST, FetchedManifest, ImageRef, ManifestAnswer
from layercheck.models.stored import ImageStatus, Source, StoredImageVerdict, StoredItem, StoredLayerVerdict
from layercheck.models.verdicts import LayerAnswer, LayerFailure


def d(label: str) -> str:
    return "sha256:" + label.encode().hex().ljust(64, "0")[:64]


def manifest(config: str, *layers: str) -> str:
    blob = {"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": 1}
    return json.dumps(
        {
            "mediaType": OCI_MANIFEST,
            "config": {**blob, "digest": d(config)},
            "layers": [{**blob, "digest": d(x)} for x in layers],
        }
    )


@dataclass
class FakeManifests:
    documents: dict[str, str]
    error: RepositoryCheckError | None = None

    def batch_get_image(self, registry_id: str, repository_name: str, image_digests: Sequence[str]) -> ManifestAnswer:
        if self.error:
            raise self.error
        texts = {d(label): text for label, text in self.documents.items()}
        return ManifestAnswer(manifests={x: FetchedManifest(x, texts[x]) for x in image_digests if x in texts})


@dataclass
class FakeRegistry:
    available: set[str]
    error_code: str | None = None
    calls: list[list[str]] = field(default_factory=list)

    def batch_check_layer_availability(
        self, registry_id: str, repository_name: str, layer_digests: list[str]
    ) -> BatchAnswer:
        self.calls.append(layer_digests)
        if self.error_code:
            raise RepositoryCheckError(self.error_code, "nope")
        return BatchAnswer(
            layers=[
                LayerAnswer(layerDigest=x, layerAvailability="AVAILABLE") for x in layer_digests if x in self.available
            ],
            failures=[
                LayerFailure(layerDigest=x, failureCode="MissingLayerDigest")
                for x in layer_digests
                if x not in self.available
            ],
        )


@dataclass
class FakeStore:
    items: list[StoredItem] = field(default_factory=list)

    def put_verdicts(self, items: Sequence[StoredItem]) -> int:
        self.items.extend(items)
        return len(items)


NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def service(manifests: FakeManifests, registry: FakeRegistry, store: FakeStore) -> ImageCheckService:
    return ImageCheckService(
        registry=registry, manifests=manifests, store=store, ttl_days=7, clock=lambda: NOW, region="us-east-1"
    )


def test_shared_layers_are_checked_once_for_all_images_of_a_repository() -> None:
    manifests = FakeManifests({"one": manifest("c1", "base", "x"), "two": manifest("c2", "base", "y")})
    registry = FakeRegistry({d(x) for x in ("c1", "c2", "base", "x", "y")})
    store = FakeStore()

    outcome = service(manifests, registry, store).check_images(
        "123456789012", "repo", [ImageRef(d("one"), ("v1",)), ImageRef(d("two"))], source=Source.SCHEDULE, check_id="a1"
    )

    assert registry.calls == [[d("c1"), d("base"), d("x"), d("c2"), d("y")]]
    assert [v.status for v in outcome.verdicts] == [ImageStatus.COMPLETE, ImageStatus.COMPLETE]
    assert outcome.layer_summary.checked == 5
    images = [item for item in store.items if isinstance(item, StoredImageVerdict)]
    layers = [item for item in store.items if isinstance(item, StoredLayerVerdict)]
    assert len(images) == 2 and len(layers) == 5
    assert images[0].model_dump(mode="json") == {
        "registryId": "123456789012",
        "region": "us-east-1",
        "repositoryName": "repo",
        "checkedAt": "2026-01-02T03:04:05Z",
        "observedAt": "2026-01-02T03:04:05.000Z",
        "source": "schedule",
        "expiresAt": int(NOW.timestamp()) + 7 * 86400,
        "itemType": "image",
        "imageDigest": d("one"),
        "imageTags": ["v1"],
        "status": "COMPLETE",
        "missingLayers": [],
        "checkId": "a1",
    }


def test_a_missing_layer_makes_only_the_image_that_references_it_broken() -> None:
    manifests = FakeManifests({"one": manifest("c1", "base"), "two": manifest("c2", "base", "lost")})
    registry = FakeRegistry({d(x) for x in ("c1", "c2", "base")})

    outcome = service(manifests, registry, FakeStore()).check_images(
        "1", "repo", [ImageRef(d("one")), ImageRef(d("two"))], source=Source.PUSH
    )

    assert [v.status for v in outcome.verdicts] == [ImageStatus.COMPLETE, ImageStatus.BROKEN]
    assert outcome.verdicts[1].missingLayers == [d("lost")]
    assert outcome.broken == 1


@pytest.mark.parametrize("code", ["ThrottlingException", "ServerException", "EndpointConnectionError"])
def test_transient_errors_raise_before_anything_is_stored(code: str) -> None:
    store = FakeStore()
    checker = service(FakeManifests({"one": manifest("c1")}), FakeRegistry(set(), error_code=code), store)

    with pytest.raises(TransientCheckError, match=code):
        checker.check_images("1", "repo", [ImageRef(d("one"))], source=Source.PUSH)

    assert store.items == []


def test_a_repository_level_error_gives_every_image_a_verdict_that_says_so() -> None:
    # A repository that cannot be read (KMS): its images are UNCHECKED; one that is gone: its images are MISSING
    for code, status in (("KmsException", ImageStatus.UNCHECKED), ("RepositoryNotFoundException", ImageStatus.MISSING)):
        manifests = FakeManifests({}, error=RepositoryCheckError(code, "no"))
        store = FakeStore()

        outcome = service(manifests, FakeRegistry(set()), store).check_images(
            "1", "repo", [ImageRef(d("one")), ImageRef(d("two"))], source=Source.PUSH
        )

        assert {(v.status, v.failureCode) for v in outcome.verdicts} == {(status, code)}
        assert outcome.count(status) == 2
        assert len(store.items) == 2


def test_a_throttled_manifest_read_is_transient() -> None:
    manifests = FakeManifests({}, error=RepositoryCheckError("ThrottlingException", "slow down"))

    with pytest.raises(TransientCheckError):
        service(manifests, FakeRegistry(set()), FakeStore()).check_images(
            "1", "repo", [ImageRef(d("x"))], source=Source.PUSH
        )
