"""The benchmark's registry: repositories with really uploaded layers, and the digests asked about in each.

Every repository is asked about the same digest list (the shape of ``POST /checks``): a mix of layers it holds,
layers it never received and malformed digests, so that each kind of answer costs what it costs in real use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from layercheck.logic.check import RepositoryTarget
from layercheck.logic.digests import MAX_DIGESTS_PER_CALL, is_valid_digest, unique_in_order
from local.lambda_context import LOCAL_ACCOUNT_ID
from local.seed import blob, digest_of

LAYER_SIZE = 256


@dataclass(frozen=True)
class Registry:
    """``layers[repository]`` holds the labels of the blobs uploaded to that repository."""

    layers: dict[str, list[str]]
    digests: list[str]

    @property
    def repositories(self) -> list[str]:
        return list(self.layers)

    @property
    def pairs(self) -> int:
        return len(self.layers) * len(self.digests)

    def targets(self, repositories: list[str] | None = None) -> list[RepositoryTarget]:
        names = repositories if repositories is not None else self.repositories
        return [RepositoryTarget(LOCAL_ACCOUNT_ID, name, list(self.digests)) for name in names]

    def minimum_calls(self, repositories: list[str] | None = None) -> int:
        """Σ ceil(distinct valid digests / 100) over the repositories: what no client can go below."""
        return sum(
            math.ceil(
                len([d for d in unique_in_order(target.layer_digests) if is_valid_digest(d)]) / MAX_DIGESTS_PER_CALL
            )
            for target in self.targets(repositories)
        )


def build_registry(
    repositories: int = 40, digests: int = 250, *, missing_every: int = 5, malformed: int = 25
) -> Registry:
    """``repositories`` × ``digests``: ``malformed`` malformed digests, the rest well-formed; layer i is uploaded to
    repository k unless (i + k) is a multiple of ``missing_every`` (so about 1 in ``missing_every`` is missing)."""
    valid = digests - malformed
    labels = [f"bench-layer-{i}" for i in range(valid)]
    names = [f"bench/service-{k:02d}" for k in range(repositories)]
    layers = {
        name: [label for i, label in enumerate(labels) if (i + k) % missing_every] for k, name in enumerate(names)
    }
    malformed_digests = [f"sha256:{'Z' * 61}{i:03d}" if i % 2 else f"latest-{i}" for i in range(malformed)]
    return Registry(layers=layers, digests=[layer_digest(label) for label in labels] + malformed_digests)


def layer_digest(label: str) -> str:
    return digest_of(blob(label, LAYER_SIZE))
