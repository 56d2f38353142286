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

ECR's replication status (``replication_status``) is read in the source registry, one
``DescribeImageReplicationStatus`` per image of the item, all of them when the first is asked for: the first alone
(an ``AccessDeniedException`` there means the role lacks the action, and no other image is asked), then the rest
``workers`` at a time, as the audit's other ECR calls run. A blob ECR reports ``ARCHIVED`` at the destination is held
but not pullable: ``DestinationHolds.archived_layers``.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from layercheck.contracts import ecr_codes
from layercheck.errors import RepositoryCheckError
from layercheck.logic.check import DEFAULT_WORKERS, BatchAnswer
from layercheck.logic.chunks import chunked
from layercheck.logic.digests import MAX_DIGESTS_PER_CALL, AskedDigests
from layercheck.logic.registries import Registry, RegistryUnreadable
from layercheck.logic.replication import (
    DestinationAnswer,
    DestinationHolds,
    DestinationLacks,
    DestinationUnreadable,
    EcrSays,
    ImageReplicationStatus,
    ReplicationDestination,
    SourceImage,
    StatusUnavailable,
    by_destination,
)
from layercheck.models.identifiers import ValidDigest
from layercheck.models.verdicts import FailureCode

REPOSITORY_NOT_FOUND = ecr_codes.REPOSITORY_NOT_FOUND
AVAILABLE = "AVAILABLE"
# A blob in ECR's archive storage class is held (not lost) but cannot be pulled until the image is restored.
ARCHIVED = "ARCHIVED"
ACCESS_DENIED = "AccessDeniedException"
ABSENT = frozenset({FailureCode.MISSING_LAYER_DIGEST, FailureCode.INVALID_LAYER_DIGEST})


class DestinationReaderPort(Protocol):
    def present_images(self, registry_id: str, repository_name: str, image_digests: Sequence[str]) -> set[str]:
        """The digests the repository holds; raises ``RepositoryCheckError``."""
        ...

    def batch_check_layer_availability(
        self, registry_id: str, repository_name: str, layer_digests: Sequence[ValidDigest]
    ) -> BatchAnswer: ...


class ReplicationStatusPort(Protocol):
    def image_replication_statuses(
        self, registry_id: str, repository_name: str, image_digest: str
    ) -> list[ImageReplicationStatus]:
        """ECR's ``replicationStatuses`` for the image; raises ``RepositoryCheckError``."""
        ...


class DestinationsPort(Protocol):
    def reader(self, destination: ReplicationDestination) -> DestinationReaderPort | RegistryUnreadable:
        """The destination registry's reader (its account's credentials, its Region), or why it cannot be read."""
        ...

    def replication_status(self, source: Registry) -> ReplicationStatusPort | RegistryUnreadable:
        """The source registry's replication status reader, or why it cannot be read."""
        ...


Key = tuple[str, str]  # (region, registryId)


@dataclass
class ItemReplicaProbe:
    """One work item's probe: ``image_digests`` are the item's images, asked about together at each destination;
    ``source`` is their registry (its replication status; None: not known, every copy judged at its destination)."""

    destinations: DestinationsPort
    repository_name: str
    image_digests: Sequence[str]
    source: Registry | None = None
    workers: int = DEFAULT_WORKERS
    _present: dict[Key, set[str] | DestinationUnreadable] = field(default_factory=dict)
    _held: dict[Key, dict[str, str | None]] = field(default_factory=dict)
    _statuses: dict[str, EcrSays] | None = None
    calls: int = 0  # destination calls made, for logs and the benchmark
    status_calls: int = 0  # DescribeImageReplicationStatus calls made in the source registry

    def replication_status(self, repository_name: str, image: SourceImage) -> EcrSays:
        if self._statuses is None:
            self._statuses = self._read_statuses([*dict.fromkeys([*self.image_digests, image.image_digest])])
        if image.image_digest not in self._statuses:
            self._statuses.update(self._read_statuses([image.image_digest]))
        return self._statuses[image.image_digest]

    def _read_statuses(self, digests: list[str]) -> dict[str, EcrSays]:
        if self.source is None:
            return dict.fromkeys(digests, StatusUnavailable("NoSourceRegistry", "the source registry is not known"))
        reader = self.destinations.replication_status(self.source)
        if isinstance(reader, RegistryUnreadable):
            return dict.fromkeys(digests, StatusUnavailable(reader.code, reader.reason))
        first, rest = digests[0], digests[1:]
        self.status_calls += 1
        found = {first: self._status_of(reader, first)}
        denied = found[first]
        if isinstance(denied, StatusUnavailable) and denied.code == ACCESS_DENIED:
            return dict.fromkeys(digests, denied)  # the role lacks the action: no use asking about the others
        self.status_calls += len(rest)
        with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(rest) or 1))) as pool:
            found.update(zip(rest, pool.map(lambda digest: self._status_of(reader, digest), rest), strict=True))
        return found

    def _status_of(self, reader: ReplicationStatusPort, image_digest: str) -> EcrSays:
        assert self.source is not None
        try:
            statuses = reader.image_replication_statuses(self.source.account_id, self.repository_name, image_digest)
        except RepositoryCheckError as error:
            return StatusUnavailable(error.code, error.message)
        return by_destination(statuses)

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
        missing_layers = tuple(digest for digest in image.blob_digests if held.get(digest) not in (AVAILABLE, ARCHIVED))
        archived_layers = tuple(digest for digest in image.blob_digests if held.get(digest) == ARCHIVED)
        missing_manifests = tuple(digest for digest in image.manifest_digests if digest not in present)
        return DestinationHolds(
            missing_layers=missing_layers, missing_manifests=missing_manifests, archived_layers=archived_layers
        )

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
    ) -> dict[str, str | None] | DestinationUnreadable:
        """Each blob's availability at the destination (``AVAILABLE``, ``ARCHIVED`` ...), None when it lacks it (a
        malformed digest too: ECR would answer it ``InvalidLayerDigest``, so it is not sent)."""
        held = self._held.setdefault(key, {})
        unknown = AskedDigests.of(digest for digest in blob_digests if digest not in held)
        held.update(dict.fromkeys(unknown.malformed))
        for chunk in chunked(list(unknown.valid), MAX_DIGESTS_PER_CALL):
            try:
                self.calls += 1
                answer = reader.batch_check_layer_availability(destination.registryId, repository_name, chunk)
            except RepositoryCheckError as error:
                return DestinationUnreadable(error.code, error.message)
            for layer in answer.layers:
                held[layer.layerDigest] = layer.layerAvailability
            errors = [f for f in answer.failures if f.failureCode not in ABSENT]
            if errors:
                return DestinationUnreadable(errors[0].failureCode, errors[0].failureReason)
            for failure in answer.failures:
                held[failure.layerDigest] = None
        return held
