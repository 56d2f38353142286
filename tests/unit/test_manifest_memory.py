"""Each manifest read once: a whole walk is kept by digest and stands in for BatchGetImage while ECR holds the image."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from layercheck.logic.images import ImageRef
from layercheck.logic.manifest_memory import KnownWalk, walk_with_memory
from tests.unit.test_images_walk import FakeManifests, d, index, manifest


@dataclass
class FakeMemory:
    """The kept walks of one repository, by digest."""

    walks: dict[str, KnownWalk] = field(default_factory=dict)

    def known_walks(
        self, registry_id: str, region: str, repository_name: str, image_digests: Sequence[str]
    ) -> Mapping[str, KnownWalk]:
        return {digest: self.walks[digest] for digest in image_digests if digest in self.walks}

    def remember(self, registry_id: str, region: str, repository_name: str, walks: Mapping[str, KnownWalk]) -> None:
        self.walks.update(walks)


def walk(images: list[ImageRef], manifests: FakeManifests, memory: FakeMemory) -> dict[str, tuple[str, ...]]:
    walks = walk_with_memory("123456789012", "us-east-1", "app", images, manifests, memory)
    return {w.image.image_digest: w.blobs for w in walks}


def test_a_whole_walk_is_kept_and_a_listed_image_is_not_read_again() -> None:
    manifests = FakeManifests({"multi": index("amd", "arm"), "amd": manifest("c1", "os"), "arm": manifest("c2", "os")})
    memory = FakeMemory()
    first = walk([ImageRef(d("multi"), listed=True)], manifests, memory)
    reads = len(manifests.calls)

    second = walk([ImageRef(d("multi"), listed=True)], manifests, memory)

    assert reads == 2  # the index, then both platform manifests
    assert len(manifests.calls) == reads
    assert second == first == {d("multi"): (d("c1"), d("os"), d("c2"))}


def test_an_image_not_seen_held_is_read_even_when_its_walk_is_known() -> None:
    manifests = FakeManifests({"v1": manifest("c", "os")})
    memory = FakeMemory({d("v1"): KnownWalk((d("c"), d("os")))})

    walk([ImageRef(d("v1"))], manifests, memory)

    assert manifests.calls == [[d("v1")]]


def test_a_walk_with_a_missing_platform_manifest_or_a_failure_is_not_kept() -> None:
    manifests = FakeManifests({"torn": index("amd", "gone"), "amd": manifest("c", "os")})
    memory = FakeMemory()

    walk([ImageRef(d("torn"), listed=True), ImageRef(d("unreadable"), listed=True)], manifests, memory)

    assert memory.walks == {}
