"""POST /inventory's rule: which reported URIs become inventory entries, and why the others are ignored.

Pure: the door gives the request, the time, the TTL and which registries the deployment audits; the inventory store
(``integrations/inventory_store.py``) writes the entries. A report is judged string by string, so one image from
Docker Hub in ``kubectl get pods -A`` output does not refuse the whole report.

Wiring (phase B): ``doors/api.py``'s POST /inventory route calls ``inventory_entries(request, reported_at=utc_now(),
ttl_hours=settings.inventory_ttl_hours, is_audited=...)`` (``is_audited``: the registries the audit covers, default
this account), then ``dependencies.inventory_store().put_entries(entries)``, and answers
``InventoryResponse(accepted=len(entries), ignored=ignored)``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from layercheck.contracts.patterns import INVENTORY_SOURCE_PATTERN
from layercheck.inventory_schema import inventory_partition, inventory_sort_key
from layercheck.logic.image_uris import ImageUri, parse_image_uri
from layercheck.models.images_api import IgnoredImage, InventoryRequest
from layercheck.models.in_use import InventoryEntry, UsedBy
from layercheck.models.stored import iso_utc


def inventory_entries(
    request: InventoryRequest,
    *,
    reported_at: datetime,
    ttl_hours: int,
    is_audited: Callable[[str], bool] | None = None,
) -> tuple[list[InventoryEntry], list[IgnoredImage]]:
    """One entry per distinct image the report names (a URI with a digest is kept by digest), and the strings ignored.

    ``is_audited(registry_id)`` says whether the deployment audits that registry; None accepts every registry."""
    entries: dict[tuple[str, str], InventoryEntry] = {}
    ignored: list[IgnoredImage] = []
    expires_at = int((reported_at + timedelta(hours=ttl_hours)).timestamp())
    for index, text in enumerate(request.images):
        uri = parse_image_uri(text)
        if not isinstance(uri, ImageUri):
            ignored.append(IgnoredImage(index=index, image=text, reason=uri.reason))
            continue
        if is_audited is not None and not is_audited(uri.registry_id):
            ignored.append(IgnoredImage(index=index, image=text, reason=f"registry {uri.registry_id} is not audited"))
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
