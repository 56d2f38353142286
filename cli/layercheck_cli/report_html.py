"""``layercheck report``'s page: one self-contained HTML document (inline CSS, no script, nothing fetched when it is
opened: its Content-Security-Policy forbids it), that names the images a person has to act on.

Counts at the top, then per account and Region: broken, missing, archived or unchecked, and at-risk images (a
lifecycle rule would expire or archive an image in use), each with its tags, digest, what is wrong, who runs it and
when it was observed. Every value is escaped: tags, inventory sources and reasons are other people's text.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from layercheck_cli.rows_table import short_digest

# (key, heading, the statuses it holds); "at-risk" holds the images in use a lifecycle rule would remove or archive.
CATEGORIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("broken", "Broken", ("BROKEN",)),
    ("missing", "Missing", ("MISSING",)),
    ("unpullable", "Archived or unchecked", ("ARCHIVED", "UNCHECKED")),
    ("at-risk", "At risk from a lifecycle rule", ()),
)
AT_RISK = "at-risk"
UNKNOWN_REGION = "(Region not recorded)"
# Nothing is loaded, nothing runs: a report opened from a mail or a share cannot call anywhere.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c5cad6}main{padding:18px 28px}
.counts{display:flex;gap:12px;flex-wrap:wrap;margin:0 0 18px}
.count{background:#fff;border-radius:8px;padding:10px 16px;min-width:150px;border-left:6px solid #8a93a6}
.count b{display:block;font-size:26px}.count.broken{border-color:#c62828}.count.missing{border-color:#ef6c00}
.count.unpullable{border-color:#6d4c41}.count.at-risk{border-color:#f9a825}
section.registry{background:#fff;border-radius:8px;padding:4px 18px 14px;margin:0 0 18px}
h2{font-size:17px;margin:14px 0 6px}h3{font-size:14px;margin:14px 0 6px;color:#3a4256}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e3e6ec;
vertical-align:top}th{background:#eef0f4;font-weight:600}code{font-size:12px}td code,td.when{white-space:nowrap}
.status{font-weight:600}.BROKEN{color:#c62828}.MISSING{color:#ef6c00}.ARCHIVED,.UNCHECKED{color:#6d4c41}
.note{background:#fff8e1;border-left:4px solid #f9a825;padding:8px 12px;margin:0 0 10px}
.none{color:#5b6478}ul.users{margin:0;padding-left:16px}
"""


@dataclass(frozen=True)
class Report:
    """What the page shows: where it comes from, when, the image verdicts (any status; COMPLETE ones only show when
    at risk), the images at risk, and notes (what could not be listed or audited)."""

    source: str
    generated_at: str
    verdicts: Sequence[Mapping[str, Any]] = ()
    at_risk: Sequence[Mapping[str, Any]] = ()
    notes: Sequence[str] = field(default_factory=list)

    def by_category(self) -> dict[str, list[Mapping[str, Any]]]:
        grouped: dict[str, list[Mapping[str, Any]]] = {key: [] for key, _, _ in CATEGORIES}
        seen: set[tuple[str, ...]] = set()
        for verdict in self.verdicts:
            for key, _, statuses in CATEGORIES:
                if verdict.get("status") in statuses and _identity(verdict) not in seen:
                    seen.add(_identity(verdict))
                    grouped[key].append(verdict)
        risky = {_identity(v): v for v in [*self.at_risk, *(v for v in self.verdicts if v.get("lifecycleRisk"))]}
        grouped[AT_RISK] = list(risky.values())
        return grouped


def _identity(verdict: Mapping[str, Any]) -> tuple[str, ...]:
    tags = ",".join(map(str, verdict.get("imageTags") or []))
    keys = ("registryId", "region", "repositoryName", "imageDigest", "status")
    return (*(str(verdict.get(key) or "") for key in keys), tags)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _used_by(verdict: Mapping[str, Any]) -> str:
    entries = [entry for entry in verdict.get("usedBy") or [] if isinstance(entry, Mapping)]
    if not entries:
        return '<span class="none">nobody known</span>'
    items = []
    for entry in entries:
        extra = "".join(
            f" <small>{_e(label)} {_e(entry[key])}</small>"
            for key, label in (("tag", "tag"), ("reportedBy", "reported by"))
            if entry.get(key)
        )
        items.append(f"<li>{_e(entry.get('kind', ''))} <code>{_e(entry.get('id', ''))}</code>{extra}</li>")
    omitted = int(verdict.get("usedByOmitted") or 0)
    more = f"<li>and {omitted} more</li>" if omitted else ""
    return f'<ul class="users">{"".join(items)}{more}</ul>'


def _detail(verdict: Mapping[str, Any]) -> str:
    parts = []
    missing = [str(d) for d in verdict.get("missingLayers") or []]
    if missing:
        shown = ", ".join(f'<code title="{_e(d)}">{_e(short_digest(d))}</code>' for d in missing[:5])
        more = len(missing) - 5 + int(verdict.get("missingLayersOmitted") or 0)
        parts.append(f"missing layers: {shown}{f' and {more} more' if more > 0 else ''}")
    if verdict.get("failureCode") or verdict.get("failureReason"):
        parts.append(f"<b>{_e(verdict.get('failureCode', ''))}</b> {_e(verdict.get('failureReason', ''))}")
    risk = verdict.get("lifecycleRisk")
    if isinstance(risk, Mapping):
        target = f" to {_e(risk['targetStorageClass'])}" if risk.get("targetStorageClass") else ""
        parts.append(f"lifecycle rule {_e(risk.get('rulePriority', '?'))} would {_e(risk.get('action', ''))}{target}")
    return "<br>".join(parts) or "-"


def _row(verdict: Mapping[str, Any]) -> str:
    tags = ", ".join(_e(tag) for tag in verdict.get("imageTags") or []) or '<span class="none">untagged</span>'
    digest = verdict.get("imageDigest")
    digest_cell = f'<code title="{_e(digest)}">{_e(short_digest(digest))}</code>' if digest else "-"
    status = _e(verdict.get("status", ""))
    when = _e(verdict.get("observedAt") or verdict.get("checkedAt") or "-")
    return (
        f"<tr><td>{_e(verdict.get('repositoryName', ''))}</td><td>{tags}</td><td>{digest_cell}</td>"
        f'<td class="status {status}">{status}</td><td>{_detail(verdict)}</td><td>{_used_by(verdict)}</td>'
        f'<td class="when">{when}</td></tr>'
    )


TABLE_HEAD = (
    "<tr><th>Repository</th><th>Tags</th><th>Digest</th><th>Status</th><th>What is wrong</th><th>Who runs it</th>"
    "<th>Observed</th></tr>"
)


def _registries(grouped: Mapping[str, list[Mapping[str, Any]]]) -> list[tuple[str, str]]:
    keys = {(str(v.get("registryId") or ""), str(v.get("region") or "")) for vs in grouped.values() for v in vs}
    return sorted(keys)


def _registry_section(registry: tuple[str, str], grouped: Mapping[str, list[Mapping[str, Any]]]) -> str:
    account, region = registry
    parts = [f'<section class="registry"><h2>Account {_e(account)} · {_e(region or UNKNOWN_REGION)}</h2>']
    for key, heading, _ in CATEGORIES:
        rows = [v for v in grouped[key] if (str(v.get("registryId") or ""), str(v.get("region") or "")) == registry]
        if rows:
            ordered = sorted(rows, key=lambda v: (str(v.get("repositoryName")), str(v.get("imageTags"))))
            body = "".join(_row(verdict) for verdict in ordered)
            parts.append(f'<h3 id="{key}-{_e(account)}-{_e(region)}">{_e(heading)} ({len(rows)})</h3>')
            parts.append(f'<table class="{key}">{TABLE_HEAD}{body}</table>')
    parts.append("</section>")
    return "".join(parts)


def _counts(grouped: Mapping[str, list[Mapping[str, Any]]]) -> str:
    cards = "".join(
        f'<div class="count {key}"><b>{len(grouped[key])}</b>{_e(heading)}</div>' for key, heading, _ in CATEGORIES
    )
    return f'<div class="counts">{cards}</div>'


def _notes(notes: Iterable[str]) -> str:
    return "".join(f'<p class="note">{_e(note)}</p>' for note in notes)


def render_report(report: Report) -> str:
    grouped = report.by_category()
    registries = _registries(grouped)
    sections = "".join(_registry_section(registry, grouped) for registry in registries)
    if not registries:
        sections = '<p class="none">No image is broken, missing, archived, unchecked or at risk.</p>'
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>layercheck report · {_e(report.generated_at)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>layercheck report</h1><p>{_e(report.source)} · generated {_e(report.generated_at)}</p></header>"
        f"<main>{_counts(grouped)}{_notes(report.notes)}{sections}</main></body></html>\n"
    )
