"""Manifests are parsed by media type, and only blobs that must be in the repository are kept."""

from __future__ import annotations

import json

import pytest

from layercheck.logic.images import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    UnsupportedManifestError,
    parse_manifest,
)
from layercheck.models.manifests import EMPTY_DESCRIPTOR_DIGEST, Descriptor, ImageIndex, ImageManifest

CONFIG = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + "c" * 64, "size": 10}
LAYER = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + "1" * 64, "size": 20}


@pytest.mark.parametrize("media_type", [OCI_MANIFEST, DOCKER_MANIFEST])
def test_image_manifests_of_both_formats_parse_to_config_and_layers(media_type: str) -> None:
    text = json.dumps({"schemaVersion": 2, "mediaType": media_type, "config": CONFIG, "layers": [LAYER]})

    manifest = parse_manifest(text)

    assert isinstance(manifest, ImageManifest)
    assert [blob.digest for blob in manifest.blobs()] == [CONFIG["digest"], LAYER["digest"]]


@pytest.mark.parametrize("media_type", [OCI_INDEX, DOCKER_MANIFEST_LIST])
def test_indexes_of_both_formats_parse_to_their_manifests(media_type: str) -> None:
    child = {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "a" * 64, "size": 500}
    text = json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": [child]})

    index = parse_manifest(text)

    assert isinstance(index, ImageIndex)
    assert [entry.digest for entry in index.manifests] == [child["digest"]]


def test_a_manifest_without_media_type_uses_the_one_ecr_reports_or_its_shape() -> None:
    text = json.dumps({"schemaVersion": 2, "config": CONFIG, "layers": [LAYER]})  # OCI makes mediaType optional

    assert isinstance(parse_manifest(text, OCI_MANIFEST), ImageManifest)
    assert isinstance(parse_manifest(text), ImageManifest)
    assert isinstance(parse_manifest(json.dumps({"schemaVersion": 2, "manifests": []})), ImageIndex)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (json.dumps({"schemaVersion": 1, "fsLayers": []}), "schema 1"),
        ("{not json", "not JSON"),
        ("[]", "not a JSON object"),
        (json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.example+json"}), "unsupported manifest"),
        (json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}), "malformed"),
    ],
)
def test_unreadable_manifests_raise_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(UnsupportedManifestError, match=reason):
        parse_manifest(text)


@pytest.mark.parametrize(
    ("descriptor", "absent"),
    [
        (
            {"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "digest": "sha256:" + "f" * 64},
            True,
        ),
        (
            {
                "mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                "digest": "sha256:" + "f" * 64,
                "urls": ["https://example.com/layer"],
            },
            True,
        ),
        ({"mediaType": "application/vnd.oci.empty.v1+json", "digest": EMPTY_DESCRIPTOR_DIGEST, "size": 2}, True),
        (LAYER, False),
        (CONFIG, False),
    ],
)
def test_foreign_layers_and_the_empty_descriptor_are_legitimately_absent(
    descriptor: dict[str, object], absent: bool
) -> None:
    assert Descriptor.model_validate(descriptor).is_legitimately_absent is absent
