"""The identifiers every shape names, each validated once: an account's registry, a Region, a repository, a tag, a
digest. Request models, work items and events use these aliases (the patterns live in contracts/patterns.py)."""

from __future__ import annotations

from typing import Annotated, NewType

from pydantic import Field

from layercheck.contracts.patterns import (
    DIGEST_PATTERN,
    IMAGE_TAG_PATTERN,
    REGION_PATTERN,
    REGISTRY_ID_PATTERN,
    REPOSITORY_NAME_PATTERN,
)

ValidDigest = NewType("ValidDigest", str)
"""A digest in the OCI format (``contracts.patterns.DIGEST_PATTERN``): what ECR is asked about. Made only by a check of
the pattern: ``Digest`` below (Pydantic's), or ``logic.digests.valid_digest``."""

RegistryId = Annotated[str, Field(pattern=REGISTRY_ID_PATTERN)]
Region = Annotated[str, Field(pattern=REGION_PATTERN)]
RepositoryName = Annotated[str, Field(min_length=2, max_length=256, pattern=REPOSITORY_NAME_PATTERN)]
ImageTag = Annotated[str, Field(min_length=1, max_length=300, pattern=IMAGE_TAG_PATTERN)]
Digest = Annotated[ValidDigest, Field(pattern=DIGEST_PATTERN)]
