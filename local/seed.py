"""Seeds ECR through its real layer-upload flow (initiate, upload part, complete), so moto holds real blobs."""

from __future__ import annotations

import hashlib
from typing import Any


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
