"""The demo's registry: three repositories with really uploaded layers, and the request the demo sends.

Shared by ``make demo`` and the end-to-end tests so that both exercise the same, documented scenario.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from local.seed import (
    DOCKER_FOREIGN_LAYER,
    OCI_LAYER,
    blob,
    create_repository,
    descriptor,
    digest_of,
    push_image,
    push_index,
    upload_layer,
)

REPOSITORY_LAYERS: dict[str, list[str]] = {
    "platform/base": [f"base-{i}" for i in range(60)],
    "team-a/api": [f"base-{i}" for i in range(30)] + [f"api-{i}" for i in range(40)],
    "team-b/worker": [f"base-{i}" for i in range(10)] + [f"worker-{i}" for i in range(20)],
}
MISSING_REPOSITORY = "team-c/ghost"
NEVER_UPLOADED = [f"never-pushed-{i}" for i in range(5)]
MALFORMED_DIGESTS = ["sha256:NOT-HEX", "md5:d41d8cd98f00b204e9800998ecf8427e", "latest"]

# The images ``make demo`` pushes (local/demo_events.py), for ``make serve``: a multi-arch index, a broken image (a
# layer that never made it, beside a foreign layer that is legitimately absent), and a small audited repository.
IMAGE_REPOSITORY = "team-a/api"
JOBS_REPOSITORY = "team-d/jobs"
COMPLETE_INDEX_TAG = "2.0"
BROKEN_TAG = "2.1-rc"


@dataclass(frozen=True)
class DemoRequest:
    repository_names: list[str]
    layer_digests: list[str]

    def body(self) -> dict[str, Any]:
        return {"repositoryNames": self.repository_names, "layerDigests": self.layer_digests}


def seed_registry(ecr: Any) -> None:
    for repository, labels in REPOSITORY_LAYERS.items():
        create_repository(ecr, repository)
        for label in labels:
            upload_layer(ecr, repository, blob(label))


def demo_request() -> DemoRequest:
    """4 repositories (one missing) × 133 digests: 125 well-formed (5 never pushed), 3 malformed, 5 repeats."""
    labels = [f"base-{i}" for i in range(60)] + [f"api-{i}" for i in range(40)] + [f"worker-{i}" for i in range(20)]
    digests = [digest_of(blob(label)) for label in labels + NEVER_UPLOADED]
    digests = digests + MALFORMED_DIGESTS + digests[:5]
    return DemoRequest([*REPOSITORY_LAYERS, MISSING_REPOSITORY], digests)


@dataclass(frozen=True)
class SeededImages:
    """``repository:tag`` of each image pushed, by what a user should see when checking it."""

    complete: tuple[str, ...]
    broken: tuple[str, ...]


def seed_images(ecr: Any) -> SeededImages:
    """Push the demo's images over the seeded layers (``seed_registry`` first): the same tags, layers and faults."""
    amd64 = push_image(ecr, IMAGE_REPOSITORY, ["base-0", "base-1", "api-0"], platform="linux/amd64")
    arm64 = push_image(ecr, IMAGE_REPOSITORY, ["base-0", "base-1", "api-arm64"], platform="linux/arm64")
    push_index(ecr, IMAGE_REPOSITORY, [amd64, arm64], tag=COMPLETE_INDEX_TAG)
    never_pushed = descriptor(OCI_LAYER, blob("lost-in-transit"))
    foreign = descriptor(DOCKER_FOREIGN_LAYER, blob("windows-servercore"), urls=["https://mcr.microsoft.com/x"])
    push_image(ecr, IMAGE_REPOSITORY, ["base-0"], tag=BROKEN_TAG, absent_layers=[never_pushed, foreign])
    create_repository(ecr, JOBS_REPOSITORY)
    push_image(ecr, JOBS_REPOSITORY, ["job-base", "nightly"], tag="nightly")
    push_image(ecr, JOBS_REPOSITORY, ["job-base", "weekly"], tag="weekly", docker=True)
    push_image(ecr, JOBS_REPOSITORY, ["job-base"], tag="monthly", absent_layers=[descriptor(OCI_LAYER, blob("gc-ed"))])
    return SeededImages(
        complete=(
            f"{IMAGE_REPOSITORY}:{COMPLETE_INDEX_TAG}",
            f"{JOBS_REPOSITORY}:nightly",
            f"{JOBS_REPOSITORY}:weekly",
        ),
        broken=(f"{IMAGE_REPOSITORY}:{BROKEN_TAG}", f"{JOBS_REPOSITORY}:monthly"),
    )
