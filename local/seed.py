"""Seeds ECR through its real layer-upload flow (initiate, upload part, complete), so moto holds real blobs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from typing import Any

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"


def blob(label: str, size: int = 512) -> bytes:
    """Deterministic bytes for a named layer: the same label gives the same digest in every run."""
    seed = hashlib.sha256(label.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def upload_layer(ecr: Any, repository_name: str, data: bytes) -> str:
    """Push one blob the way ``docker push`` does; returns its digest."""
    upload = ecr.initiate_layer_upload(repositoryName=repository_name)
    ecr.upload_layer_part(
        repositoryName=repository_name,
        uploadId=upload["uploadId"],
        partFirstByte=0,
        partLastByte=len(data) - 1,
        layerPartBlob=data,
    )
    digest = digest_of(data)
    ecr.complete_layer_upload(repositoryName=repository_name, uploadId=upload["uploadId"], layerDigests=[digest])
    return digest


def create_repository(ecr: Any, repository_name: str) -> None:
    ecr.create_repository(repositoryName=repository_name)


# -- images: manifests pushed with PutImage, as ``docker push`` does after the blobs -------------------------------


def descriptor(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    """The descriptor of a blob (``{"mediaType", "digest", "size"}``) plus any extra fields (``urls``, ``platform``)."""
    return {"mediaType": media_type, "digest": digest_of(data), "size": len(data), **extra}


def put_manifest(ecr: Any, repository_name: str, manifest: dict[str, Any], tag: str | None = None) -> dict[str, Any]:
    """PutImage with the manifest's real digest (sha256 of its bytes, as ECR computes it); a platform manifest of an
    index is put untagged, by digest. Returns the manifest's descriptor, ready to list in an index."""
    text = json.dumps(manifest, separators=(",", ":"), sort_keys=True)
    arguments: dict[str, Any] = {
        "repositoryName": repository_name,
        "imageManifest": text,
        "imageManifestMediaType": manifest["mediaType"],
        "imageDigest": digest_of(text.encode()),
    }
    if tag is not None:
        arguments["imageTag"] = tag
    ecr.put_image(**arguments)
    return {"mediaType": manifest["mediaType"], "digest": digest_of(text.encode()), "size": len(text.encode())}


def push_image(
    ecr: Any,
    repository_name: str,
    layer_labels: Sequence[str],
    *,
    tag: str | None = None,
    docker: bool = False,
    platform: str = "linux/amd64",
    absent_layers: Sequence[dict[str, Any]] = (),
    not_uploaded: Collection[str] = (),
) -> dict[str, Any]:
    """Upload a config and one blob per label, then put the manifest (OCI by default, Docker v2 with ``docker``).

    ``absent_layers`` are descriptors appended to the manifest without uploading anything (a layer that never made it,
    a foreign layer). ``not_uploaded`` labels stay in the manifest, in place, but their blobs are not uploaded: the
    same image (same digest) with a layer lost, as a torn replica. Returns the manifest's descriptor.
    """
    os_name, architecture = platform.split("/")
    config = json.dumps({"architecture": architecture, "os": os_name, "layers": list(layer_labels)}).encode()
    upload_layer(ecr, repository_name, config)
    layers = []
    for label in layer_labels:
        data = blob(label)
        if label not in not_uploaded:
            upload_layer(ecr, repository_name, data)
        layers.append(descriptor(DOCKER_LAYER if docker else OCI_LAYER, data))
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
        "config": descriptor(DOCKER_CONFIG if docker else OCI_CONFIG, config),
        "layers": [*layers, *absent_layers],
    }
    pushed = put_manifest(ecr, repository_name, manifest, tag)
    return {**pushed, "platform": {"architecture": architecture, "os": os_name}}


def push_index(
    ecr: Any, repository_name: str, platform_manifests: Sequence[dict[str, Any]], *, tag: str, docker: bool = False
) -> dict[str, Any]:
    """Put an OCI index (or a Docker manifest list) over platform manifests already put by digest."""
    index = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST_LIST if docker else OCI_INDEX,
        "manifests": list(platform_manifests),
    }
    return put_manifest(ecr, repository_name, index, tag)
