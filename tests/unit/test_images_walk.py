"""The walk reaches every blob through nested indexes, fetching each manifest once; the judgement follows ECR."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from layercheck.logic.images import (
    OCI_INDEX,
    OCI_MANIFEST,
    FetchedManifest,
    ImageRef,
    ImageWalk,
    ManifestAnswer,
    ManifestFailure,
    walk_images,
)
from layercheck.logic.judge import judge_image, transient_codes
from layercheck.models.manifests import EMPTY_DESCRIPTOR_DIGEST
from layercheck.models.stored import ImageStatus
from layercheck.models.verdicts import LayerAnswer, LayerFailure


def d(label: str) -> str:
    return "sha256:" + label.encode().hex().ljust(64, "0")[:64]


def manifest(config: str, *layers: str, foreign: Sequence[str] = ()) -> str:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": d(config), "size": 1},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d(x), "size": 1} for x in layers
            ]
            + [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": d(x),
                    "size": 1,
                    "urls": ["https://x"],
                }
                for x in foreign
            ],
        }
    )


def index(*children: str) -> str:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_MANIFEST, "digest": d(c), "size": 1} for c in children],
        }
    )


@dataclass
class FakeManifests:
    """A repository's manifests by label; records every call so tests can count them."""

    documents: dict[str, str]
    calls: list[list[str]] = field(default_factory=list)

    def batch_get_image(self, registry_id: str, repository_name: str, image_digests: Sequence[str]) -> ManifestAnswer:
        self.calls.append(list(image_digests))
        by_digest = {d(label): text for label, text in self.documents.items()}
        return ManifestAnswer(
            manifests={x: FetchedManifest(x, by_digest[x]) for x in image_digests if x in by_digest},
            failures={
                x: ManifestFailure(x, "ImageNotFound", "Requested image not found")
                for x in image_digests
                if x not in by_digest
            },
        )


def test_nested_indexes_are_walked_level_by_level_and_shared_manifests_fetched_once() -> None:
    # Given two images: an index of (index of amd64, arm64) and arm64 on its own
    manifests = FakeManifests(
        {
            "top": index("inner", "arm64"),
            "inner": index("amd64"),
            "amd64": manifest("cfg-amd64", "base", "bin-amd64"),
            "arm64": manifest("cfg-arm64", "base", "bin-arm64"),
        }
    )

    walks = walk_images("1", "repo", [ImageRef(d("top")), ImageRef(d("arm64"))], manifests)

    assert set(walks[0].blobs) == {d(x) for x in ("cfg-amd64", "base", "bin-amd64", "cfg-arm64", "bin-arm64")}
    assert walks[1].blobs == (d("cfg-arm64"), d("base"), d("bin-arm64"))
    # one call per level, each digest asked once
    assert manifests.calls == [[d("top"), d("arm64")], [d("inner")], [d("amd64")]]


def test_foreign_layers_and_the_empty_descriptor_are_skipped() -> None:
    text = json.loads(manifest("cfg", "real", foreign=["windows"]))
    text["layers"].append(
        {"mediaType": "application/vnd.oci.empty.v1+json", "digest": EMPTY_DESCRIPTOR_DIGEST, "size": 2}
    )
    manifests = FakeManifests({"img": json.dumps(text)})

    [walk] = walk_images("1", "repo", [ImageRef(d("img"))], manifests)

    assert walk.blobs == (d("cfg"), d("real"))
    assert walk.skipped == (d("windows"), EMPTY_DESCRIPTOR_DIGEST)


def test_a_platform_manifest_the_repository_lacks_is_reported_missing() -> None:
    manifests = FakeManifests({"top": index("amd64", "expired"), "amd64": manifest("cfg", "base")})

    [walk] = walk_images("1", "repo", [ImageRef(d("top"))], manifests)

    assert walk.missing_manifests == (d("expired"),)
    assert walk.failure is None


def test_an_image_that_cannot_be_fetched_or_read_carries_the_reason() -> None:
    manifests = FakeManifests({"old": json.dumps({"schemaVersion": 1}), "top": index("old")})

    gone, old, top = walk_images("1", "repo", [ImageRef(d("gone")), ImageRef(d("old")), ImageRef(d("top"))], manifests)

    assert gone.failure is not None and gone.failure.failure_code == "ImageNotFound"
    assert old.failure is not None and old.failure.failure_code == "UnsupportedManifest"
    assert top.failure is not None and "schema 1" in top.failure.failure_reason


def test_a_cyclic_index_ends_as_unsupported_instead_of_looping() -> None:
    manifests = FakeManifests({"a": index("b"), "b": index("a")})

    [walk] = walk_images("1", "repo", [ImageRef(d("a"))], manifests)

    assert walk.failure is not None and walk.failure.failure_code == "UnsupportedManifest"


def _walk(*blobs: str, missing_manifests: tuple[str, ...] = ()) -> ImageWalk:
    return ImageWalk(ImageRef(d("img")), blobs=tuple(d(b) for b in blobs), missing_manifests=missing_manifests)


def test_an_image_is_complete_when_every_blob_is_available() -> None:
    answers = {d(x): LayerAnswer(layerDigest=d(x), layerAvailability="AVAILABLE") for x in ("a", "b")}

    assert judge_image(_walk("a", "b"), answers).status is ImageStatus.COMPLETE


def test_an_image_is_broken_when_a_blob_is_missing_or_unavailable_but_not_for_an_archived_one() -> None:
    # An ARCHIVED layer is in ECR's archive storage class, not missing (test_images_verdicts.py has the ARCHIVED rules)
    answers: dict[str, LayerAnswer | LayerFailure] = {
        d("a"): LayerAnswer(layerDigest=d("a"), layerAvailability="AVAILABLE"),
        d("b"): LayerFailure(layerDigest=d("b"), failureCode="MissingLayerDigest"),
        d("c"): LayerAnswer(layerDigest=d("c"), layerAvailability="UNAVAILABLE"),
        d("e"): LayerAnswer(layerDigest=d("e"), layerAvailability="ARCHIVED"),
    }

    judgement = judge_image(_walk("a", "b", "c", "e"), answers)

    assert judgement.status is ImageStatus.BROKEN
    assert judgement.missing_layers == (d("b"), d("c"))


def test_an_image_with_errors_only_is_unchecked_but_a_known_missing_blob_still_makes_it_broken() -> None:
    error = LayerFailure(layerDigest=d("a"), failureCode="AccessDeniedException", failureReason="no")
    missing = LayerFailure(layerDigest=d("b"), failureCode="MissingLayerDigest")

    unchecked = judge_image(_walk("a"), {d("a"): error})
    broken = judge_image(_walk("a", "b"), {d("a"): error, d("b"): missing})

    assert (unchecked.status, unchecked.failure_code) == (ImageStatus.UNCHECKED, "AccessDeniedException")
    assert broken.status is ImageStatus.BROKEN


def test_an_index_missing_a_platform_manifest_is_broken() -> None:
    judgement = judge_image(_walk(missing_manifests=(d("gone"),)), {})

    assert judgement.status is ImageStatus.BROKEN
    assert judgement.missing_manifests == (d("gone"),)


def test_transient_codes_come_from_manifest_reads_and_layer_checks() -> None:
    walks = [ImageWalk(ImageRef(d("x")), failure=ManifestFailure(d("x"), "ServerException", "5xx"))]
    failures = [
        LayerFailure(layerDigest=d("a"), failureCode="ThrottlingException"),
        LayerFailure(layerDigest=d("b"), failureCode="MissingLayerDigest"),
    ]

    assert transient_codes(walks, failures) == ["ServerException", "ThrottlingException"]


def test_walk_answers_a_malformed_digest_an_index_names_as_ecr_does_and_never_sends_it() -> None:
    # Given an index naming a well-formed platform manifest and a malformed digest
    document = json.loads(index("amd64"))
    document["manifests"].append({"mediaType": OCI_MANIFEST, "digest": "sha256:not-a-digest", "size": 1})
    manifests = FakeManifests({"top": json.dumps(document), "amd64": manifest("cfg", "layer")})

    # When the image is walked
    [walk] = walk_images("1", "repo", [ImageRef(d("top"))], manifests)

    # Then BatchGetImage is asked only about well-formed digests, and the image fails with ECR's own code for the other
    assert manifests.calls == [[d("top")], [d("amd64")]]
    assert walk.failure == ManifestFailure(
        "sha256:not-a-digest", "InvalidImageDigest", "Invalid image digest 'sha256:not-a-digest'"
    )


def test_walk_of_an_image_whose_own_digest_is_malformed_makes_no_call() -> None:
    manifests = FakeManifests({})

    [walk] = walk_images("1", "repo", [ImageRef("sha256:short")], manifests)

    assert manifests.calls == []
    assert walk.failure is not None and walk.failure.failure_code == "InvalidImageDigest"
