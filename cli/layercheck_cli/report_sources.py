"""Where ``layercheck report`` reads its verdicts: the deployed API (``GET /images`` by status, and the images at
lifecycle risk), or a local audit (``audit_local``).

A deployment that does not list one of these selectors (an older one answers 4xx to ``status=MISSING`` or
``risk=lifecycle``) is said so on the page, and the rest still renders; an answer that refuses the caller (401, 403)
or fails (5xx, unreachable) stops the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import botocore.session

from layercheck.contracts import routes
from layercheck_cli import api
from layercheck_cli.audit_run import RegistryAudit, audit_document
from layercheck_cli.errors import ApiError
from layercheck_cli.paging import ITEMS, Paging, read_pages
from layercheck_cli.session import ConnectionOptions

LISTED_STATUSES = ("BROKEN", "MISSING", "UNCHECKED", "ARCHIVED")
PAGE_SIZE = 100  # the API's largest page: fewest calls
REFUSED = frozenset({401, 403})


@dataclass
class Listed:
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    at_risk: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    selectors_read: int = 0


def _selectors() -> list[tuple[str, str, str]]:
    """(parameter, value, what it lists) of every GET /images the report reads."""
    listed = [(routes.STATUS, status, f"{status} images") for status in LISTED_STATUSES]
    return [*listed, (routes.RISK, routes.RISK_LIFECYCLE, "images at risk from a lifecycle rule")]


def from_api(
    api_url: str,
    session: botocore.session.Session,
    options: ConnectionOptions,
    *,
    registry_id: str | None = None,
    region: str | None = None,
) -> Listed:
    listed = Listed()
    filters = {name: value for name, value in ((routes.REGISTRY_ID, registry_id), (routes.REGION, region)) if value}
    for parameter, value, what in _selectors():
        query = {parameter: value, **filters}

        def fetch(token: str | None, limit: int | None, query: dict[str, str] = query) -> dict[str, Any]:
            page_query = {**query, **({routes.NEXT_TOKEN: token} if token else {}), routes.LIMIT: str(limit)}
            return api.call_api(session, options, "GET", api.route_url(api_url, routes.IMAGES, page_query))

        try:
            items = read_pages(fetch, Paging(page_size=PAGE_SIZE))[ITEMS]
        except ApiError as error:
            if error.status in REFUSED or not 400 <= error.status < 500:
                raise
            listed.notes.append(f"This deployment does not list {what} (GET {routes.IMAGES}?{parameter}={value}: "
                                f"HTTP {error.status} {error.message}).")  # fmt: skip
            continue
        listed.selectors_read += 1
        (listed.at_risk if parameter == routes.RISK else listed.verdicts).extend(items)
    return listed


def from_audit(answer: RegistryAudit, not_checked: Sequence[str]) -> Listed:
    """The local audit's findings (every image not COMPLETE, with who runs it), and why anything was not audited."""
    verdicts = [dict(finding) for finding in audit_document(answer)["findings"]]
    for verdict in verdicts:
        verdict.setdefault("region", answer.region or "")
    notes = [f"Not audited: {reason}." for reason in not_checked]
    notes += [f"{reason[0].upper()}{reason[1:]}." for reason in answer.in_use_unknown]
    return Listed(verdicts=verdicts, notes=notes, selectors_read=1)
