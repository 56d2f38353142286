"""POST /inventory's rule: which reported URIs become inventory entries, why the others are ignored, and how many a
source and a registry may hold.

Pure: the door gives the request, the time, the TTL, the caller and which registries the deployment audits (account
× Region, the audit's own rule); the inventory store (``integrations/inventory_store.py``) writes the entries. A report
is judged string by string, so one image from Docker Hub in ``kubectl get pods -A`` output does not refuse the whole
report. Reporting is bounded at write time (``MAX_INVENTORY_IMAGES_PER_SOURCE``, ``..._PER_REGISTRY``), so that no
report can grow the audit's work without bound.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from layercheck.contracts.patterns import INVENTORY_SOURCE_PATTERN
from layercheck.errors import InventoryBoundError
from layercheck.inventory_schema import inventory_partition, inventory_sort_key
from layercheck.logic.image_uris import ImageUri, parse_image_uri
from layercheck.logic.in_use import RegistryRef
from layercheck.models.images_api import (
    MAX_INVENTORY_IMAGES_PER_REGISTRY,
    MAX_INVENTORY_IMAGES_PER_SOURCE,
    IgnoredImage,
    InventoryRequest,
)
from layercheck.models.in_use import InventoryEntry, UsedBy
from layercheck.models.stored import iso_utc


def check_bounds(
    entries: Sequence[InventoryEntry],
    *,
    held_by_source: Callable[[str, str], set[str]],
    held_by_registry: Callable[[str, str], int],
) -> None:
    """Refuse (``InventoryBoundError``) a report whose new entries would take, in any registry, its source past
    ``MAX_INVENTORY_IMAGES_PER_SOURCE`` or all sources past ``MAX_INVENTORY_IMAGES_PER_REGISTRY`` (unexpired entries
    only; an entry reported again replaces itself and adds nothing). ``held_by_source(registry_id, region)``: the sort
    keys the request's source holds there; ``held_by_registry``: how many entries the registry holds."""
    by_registry: dict[tuple[str, str], list[InventoryEntry]] = defaultdict(list)
    for entry in entries:
        by_registry[(entry.registryId, entry.region)].append(entry)
    for (registry_id, region), reported in by_registry.items():
        keys = held_by_source(registry_id, region)
        new = sum(entry_sort_key(entry) not in keys for entry in reported)
        where = f"{registry_id} in {region}"
        if new and len(keys) + new > MAX_INVENTORY_IMAGES_PER_SOURCE:
            raise InventoryBoundError(
                "MAX_INVENTORY_IMAGES_PER_SOURCE", where, MAX_INVENTORY_IMAGES_PER_SOURCE, len(keys), new
            )
        held = held_by_registry(registry_id, region) if new else 0
        if new and held + new > MAX_INVENTORY_IMAGES_PER_REGISTRY:
            raise InventoryBoundError(
                "MAX_INVENTORY_IMAGES_PER_REGISTRY", where, MAX_INVENTORY_IMAGES_PER_REGISTRY, held, new
            )


def entry_sort_key(entry: InventoryEntry) -> str:
    return inventory_sort_key(entry.source, entry.repositoryName, entry.imageTag, entry.imageDigest)


def inventory_entries(
    request: InventoryRequest,
    *,
    reported_at: datetime,
    ttl_hours: int,
    is_audited: Callable[[RegistryRef], bool] | None = None,
    reported_by: str | None = None,
) -> tuple[list[InventoryEntry], list[IgnoredImage]]:
    """One entry per distinct image the report names (a URI with a digest is kept by digest), and the strings ignored.

    ``is_audited(registry)`` says whether the deployment audits that registry (account and Region); None accepts
    every registry. ``reported_by``: the caller's ARN, kept on every entry."""
    entries: dict[tuple[str, str], InventoryEntry] = {}
    ignored: list[IgnoredImage] = []
    expires_at = int((reported_at + timedelta(hours=ttl_hours)).timestamp())
    for index, text in enumerate(request.images):
        uri = parse_image_uri(text)
        if not isinstance(uri, ImageUri):
            ignored.append(IgnoredImage(index=index, image=text, reason=uri.reason))
            continue
        if is_audited is not None and not is_audited(RegistryRef(uri.registry_id, uri.region)):
            reason = f"registry {uri.registry_id} in {uri.region} is not audited"
            ignored.append(IgnoredImage(index=index, image=text, reason=reason))
            continue
        digest = uri.image_digest
        key = (
            inventory_partition(uri.registry_id, uri.region),
            inventory_sort_key(request.source, uri.repository_name, uri.image_tag, digest),
        )
        entries[key] = InventoryEntry(
            source=request.source,
            registryId=uri.registry_id,
            region=uri.region,
            repositoryName=uri.repository_name,
            imageTag=None if digest else uri.image_tag,
            imageDigest=digest,
            reportedAt=iso_utc(reported_at),
            expiresAt=expires_at,
            reportedBy=reported_by,
        )
    return list(entries.values()), ignored


def workload_entry(uri: ImageUri, used_by: UsedBy, *, reported_at: datetime, ttl_hours: int) -> InventoryEntry:
    """The entry by which one registry's audit reports a workload of its account running another registry's image
    (logic/org_audit.py): ``source`` ``<kind>:<id>`` (one entry per workload and image; a long ARN is hashed there),
    ``usedBy`` the workload itself, kept ``ttl_hours`` like any report so a workload gone stops counting."""
    source = f"{used_by.kind}:{used_by.id}"
    if not re.fullmatch(INVENTORY_SOURCE_PATTERN, source):
        source = f"{used_by.kind}:sha256-{hashlib.sha256(used_by.id.encode()).hexdigest()[:64]}"
    digest = uri.image_digest
    return InventoryEntry(
        source=source,
        registryId=uri.registry_id,
        region=uri.region,
        repositoryName=uri.repository_name,
        imageTag=None if digest else uri.image_tag,
        imageDigest=digest,
        reportedAt=iso_utc(reported_at),
        expiresAt=int((reported_at + timedelta(hours=ttl_hours)).timestamp()),
        usedBy=used_by,
    )
