"""``audit --output table``: one row of counts per repository, then one line per image that is not COMPLETE (its
repository, tag, status and who runs it), then why each repository that could not be audited was not."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from layercheck_cli.count_table import render_count_table
from layercheck_cli.rows_table import NOBODY, render_rows, short_digest, tags_text, used_by_text
from layercheck_cli.table import Writable

FINDINGS_TITLE = "Images not COMPLETE"
FINDING_HEADERS = ("repository", "tag", "status", "used by")


def finding_row(verdict: Mapping[str, Any]) -> list[str]:
    tags = tags_text(verdict)
    image = tags if tags != NOBODY else f"@{short_digest(verdict.get('imageDigest'))}"
    return [str(verdict.get("repositoryName", "")), image, str(verdict.get("status", "")), used_by_text(verdict)]


def render_audit_table(
    title: str, statuses: Sequence[str], document: Mapping[str, Any], out: Writable, *, width: int
) -> None:
    repositories = document.get("repositories") or []
    rows = [
        (str(row["repositoryName"]), [int(row["images"]), *(int(row[status]) for status in statuses)])
        for row in repositories
    ]
    render_count_table(title, "repository", ["images", *statuses], rows, out, width=width)
    findings = document.get("findings") or []
    if findings:
        lines = sorted((finding_row(f) for f in findings), key=lambda row: (row[0], row[1]))
        render_rows(FINDINGS_TITLE, FINDING_HEADERS, lines, out, width=width)
    elif any(int(row["images"]) for row in repositories):
        out.write("Every audited image is COMPLETE.\n")
    for row in repositories:
        if row.get("failureCode"):
            out.write(f"{row['repositoryName']}: not audited: {row['failureCode']}: {row.get('failureReason', '')}\n")
