"""Image manifests as registries store them (OCI image spec and Docker manifest v2 schema 2), field for field.

Only what the walk needs is modelled; every other field is ignored, so new fields in either spec do not break parsing.
https://github.com/opencontainers/image-spec/blob/main/manifest.md and .../image-index.md
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# The OCI empty descriptor ("{}", 2 bytes): artifacts use it as config or layer and registries need not store it.
# https://github.com/opencontainers/image-spec/blob/main/manifest.md#guidance-for-an-empty-descriptor
EMPTY_DESCRIPTOR_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


class Descriptor(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    mediaType: str = ""
    digest: str
    size: int = 0
    urls: list[str] | None = None

    @property
    def is_foreign(self) -> bool:
        """Foreign (non-distributable) layers are fetched from their ``urls`` and never pushed to the registry."""
        return "foreign" in self.mediaType or bool(self.urls)

    @property
    def is_legitimately_absent(self) -> bool:
        return self.is_foreign or self.digest == EMPTY_DESCRIPTOR_DIGEST


class ImageManifest(BaseModel):
    """OCI image manifest or Docker image manifest v2 schema 2: one platform's config and layers."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    schemaVersion: int = 2
    mediaType: str | None = None
    config: Descriptor
    layers: list[Descriptor] = Field(default_factory=list)

    def blobs(self) -> list[Descriptor]:
        return [self.config, *self.layers]


class ImageIndex(BaseModel):
    """OCI image index or Docker manifest list: one manifest (or nested index) per platform."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    schemaVersion: int = 2
    mediaType: str | None = None
    manifests: list[Descriptor]
