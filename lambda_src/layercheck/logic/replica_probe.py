"""Asking a replication destination what it holds of a source repository's images, without pulling anything there.

Implements ``logic.replication.ReplicaProbePort`` for the images of one audit work item. Per destination:
- presence by digest: every image of the item at once (``DestinationReaderPort.present_images``: DescribeImages,
  100 ids per call), asked on the first probe of that destination and kept for the others;
- blobs: ``BatchCheckLayerAvailability`` at the destination for the image's blobs (the ones the source walk found:
  an identical digest is an identical manifest), each blob asked once per destination however many images share it.
Never BatchGetImage at a destination: it would record a pull there (``lastRecordedPullTime``) and keep the copies
"recently pulled" for lifecycle rules.

A destination that cannot be read (``RegistryUnreadable`` from its clients, or an error other than "no such
repository") answers ``DestinationUnreadable``: the replica is UNCHECKED with the code, and the audit goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from layercheck.contracts import ecr_codes
from layercheck.errors import RepositoryCheckError
from layercheck.logic.check import BatchAnswer
from layercheck.logic.chunks import chunked
from layercheck.logic.registries import RegistryUnreadable
from layercheck.logic.replication import (
    DestinationAnswer,
    DestinationHolds,
    DestinationLacks,
    DestinationUnreadable,
    ReplicationDestination,
    SourceImage,
)
from layercheck.models.verdicts import FailureCode

# BatchCheckLayerAvailability takes at most 100 digests per call.
MAX_DIGESTS_PER_CALL = 100
REPOSITORY_NOT_FOUND = ecr_codes.REPOSITORY_NOT_FOUND
AVAILABLE = "AVAILABLE"
# A blob in ECR's archive storage class is held (not lost); the source judge reads it the same way.
HELD = frozenset({AVAILABLE, "ARCHIVED"})
ABSENT = frozenset({FailureCode.MISSING_LAYER_DIGEST, FailureCode.INVALID_LAYER_DIGEST})


class DestinationReaderPort(Protocol):
    def present_images(self, registry_id: str, repository_name: str, image_digests: Sequence[str]) -> set[str]:
        """The digests the repository holds; raises ``RepositoryCheckError``."""
        ...

    def batch_check_layer_availability(
        self, registry_id: str, repository_name: str, layer_digests: list[str]
    ) -> BatchAnswer: ...


class DestinationsPort(Protocol):
    def reader(self, destination: ReplicationDestination) -> DestinationReaderPort | RegistryUnreadable:
        """The destination registry's reader (its account's credentials, its Region), or why it cannot be read."""
        ...


Key = tuple[str, str]  # (region, registryId)


@dataclass
class ItemReplicaProbe:
    """One work item's probe: ``image_digests`` are the item's images, asked about together at each destination."""

    destinations: DestinationsPort
    repository_name: str
    image_digests: Sequence[str]
    _present: dict[Key, set[str] | DestinationUnreadable] = field(default_factory=dict)
    _held: dict[Key, dict[str, bool]] = field(default_factory=dict)
    calls: int = 0  # destination calls made, for logs and the benchmark

    def probe(self, destination: ReplicationDestination, repository_name: str, image: SourceImage) -> DestinationAnswer:
        key = (destination.region, destination.registryId)
        reader = self.destinations.reader(destination)
        if isinstance(reader, RegistryUnreadable):
            return DestinationUnreadable(reader.code, reader.reason)
        present = self._presence(key, reader, destination, repository_name, image.image_digest)
        if isinstance(present, DestinationUnreadable):
            return present
        if image.image_digest not in present:
            return DestinationLacks()
        held = self._blobs(key, reader, destination, repository_name, image.blob_digests)
        if isinstance(held, DestinationUnreadable):
            return held
        missing_layers = tuple(digest for digest in image.blob_digests if not held.get(digest, False))
        missing_manifests = tuple(digest for digest in image.manifest_digests if digest not in present)
        return DestinationHolds(missing_layers=missing_layers, missing_manifests=missing_manifests)

    def _presence(
        self,
        key: Key,
        reader: DestinationReaderPort,
        destination: ReplicationDestination,
        repository_name: str,
        image_digest: str,
    ) -> set[str] | DestinationUnreadable:
        if key not in self._present:
            asked = list(dict.fromkeys([*self.image_digests, image_digest]))
            try:
                self.calls += 1
                self._present[key] = reader.present_images(destination.registryId, repository_name, asked)
            except RepositoryCheckError as error:
                gone = error.code == REPOSITORY_NOT_FOUND
                self._present[key] = set() if gone else DestinationUnreadable(error.code, error.message)
        known = self._present[key]
        if isinstance(known, set) and image_digest not in self.image_digests and image_digest not in known:
            # An image outside the item (not expected): ask about it alone rather than call it missing.
            try:
                self.calls += 1
                known |= reader.present_images(destination.registryId, repository_name, [image_digest])
            except RepositoryCheckError as error:
                if error.code != REPOSITORY_NOT_FOUND:
                    return DestinationUnreadable(error.code, error.message)
        return known

    def _blobs(
        self,
        key: Key,
        reader: DestinationReaderPort,
        destination: ReplicationDestination,
        repository_name: str,
        blob_digests: Sequence[str],
    ) -> dict[str, bool] | DestinationUnreadable:
        held = self._held.setdefault(key, {})
        unknown = [digest for digest in dict.fromkeys(blob_digests) if digest not in held]
        for chunk in chunked(unknown, MAX_DIGESTS_PER_CALL):
            try:
                self.calls += 1
                answer = reader.batch_check_layer_availability(destination.registryId, repository_name, chunk)
            except RepositoryCheckError as error:
                return DestinationUnreadable(error.code, error.message)
            for layer in answer.layers:
                held[layer.layerDigest] = layer.layerAvailability in HELD
            errors = [f for f in answer.failures if f.failureCode not in ABSENT]
            if errors:
                return DestinationUnreadable(errors[0].failureCode, errors[0].failureReason)
            for failure in answer.failures:
                held[failure.layerDigest] = False
        return held
