"""The demo's registry: three repositories with really uploaded layers, and the request the demo sends.

Shared by ``make demo`` and the end-to-end tests so that both exercise the same, documented scenario.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from local.seed import blob, create_repository, digest_of, upload_layer

REPOSITORY_LAYERS: dict[str, list[str]] = {
    "platform/base": [f"base-{i}" for i in range(60)],
    "team-a/api": [f"base-{i}" for i in range(30)] + [f"api-{i}" for i in range(40)],
    "team-b/worker": [f"base-{i}" for i in range(10)] + [f"worker-{i}" for i in range(20)],
}
MISSING_REPOSITORY = "team-c/ghost"
NEVER_UPLOADED = [f"never-pushed-{i}" for i in range(5)]
MALFORMED_DIGESTS = ["sha256:NOT-HEX", "md5:d41d8cd98f00b204e9800998ecf8427e", "latest"]


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
