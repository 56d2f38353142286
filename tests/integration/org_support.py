"""Helpers for the organization-audit tests: clients of another account (moto: assumed-role credentials act in the
role's account), images whose copies are staged in another Region (moto replicates nothing), push times."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto.ecr.models import ecr_backends

from local.seed import OCI_CONFIG, OCI_LAYER, blob, descriptor, put_manifest, upload_layer

OWN = "123456789012"  # moto's default account: the function's own
HOME = "us-east-1"
OTHER_REGION = "eu-west-1"


def client_of(service: str, account: str, region: str) -> Any:
    """A client acting in ``account`` (moto keys assumed-role credentials by the role's account)."""
    if account == OWN:
        return boto3.client(service, region_name=region)
    role = f"arn:aws:iam::{account}:role/test-setup"
    credentials = boto3.client("sts", region_name=HOME).assume_role(RoleArn=role, RoleSessionName="setup")[
        "Credentials"
    ]
    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


@dataclass(frozen=True)
class Image:
    """An OCI image as bytes: config, layers, manifest; ``push`` uploads it (all or some of its blobs)."""

    labels: tuple[str, ...]

    @property
    def config(self) -> bytes:
        return json.dumps({"architecture": "amd64", "os": "linux", "layers": list(self.labels)}).encode()

    def layer_digests(self) -> list[str]:
        return [descriptor(OCI_LAYER, blob(label))["digest"] for label in self.labels]

    def manifest(self) -> dict[str, Any]:
        return {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": descriptor(OCI_CONFIG, self.config),
            "layers": [descriptor(OCI_LAYER, blob(label)) for label in self.labels],
        }

    def push(self, ecr: Any, repository: str, *, tag: str | None = None, skip: tuple[str, ...] = ()) -> str:
        """Upload the config and every layer except the ``skip`` labels, then put the manifest; returns its digest
        (the same in every registry: a copy is byte for byte the same manifest)."""
        upload_layer(ecr, repository, self.config)
        for label in self.labels:
            if label not in skip:
                upload_layer(ecr, repository, blob(label))
        digest: str = put_manifest(ecr, repository, self.manifest(), tag)["digest"]
        return digest


def age_images(account: str, region: str, repository: str, *, hours: int = 24) -> None:
    """moto stamps push time "now": make the repository's images older (outside any replication grace)."""
    images = ecr_backends[account][region].repositories[repository].images
    when = int((datetime.now(UTC) - timedelta(hours=hours)).timestamp())
    for image in images:
        image.image_pushed_at = when


def set_push_order(account: str, region: str, repository: str, digests_oldest_first: list[str]) -> None:
    """Distinct, ordered push times (moto stamps whole seconds), for ``newestImages``."""
    images = ecr_backends[account][region].repositories[repository].images
    start = datetime.now(UTC) - timedelta(days=1)
    for position, digest in enumerate(digests_oldest_first):
        for image in images:
            if image.get_image_digest() == digest:
                image.image_pushed_at = int((start + timedelta(minutes=position)).timestamp())
