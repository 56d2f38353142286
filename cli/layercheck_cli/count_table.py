"""A compact table of counts, one row per repository, that stays readable in 80 columns however many repositories
and however long their names: the count columns keep their width, the name column takes what is left, and a name too
long for it is shortened in the middle (``team-a/…/service``) so both its ends stay recognisable."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TextIO

from layercheck_cli.table import DEFAULT_WIDTH, Writable, terminal_width, text_length

ELLIPSIS = "…"
MIN_NAME_WIDTH = 12


def shorten(name: str, width: int) -> str:
    if text_length(name) <= width:
        return name
    keep = width - 1
    head = (keep + 1) // 2
    tail = keep - head
    return name[:head] + ELLIPSIS + (name[-tail:] if tail else "")


def render_count_table(
    title: str,
    name_header: str,
    count_headers: Sequence[str],
    rows: Sequence[tuple[str, Sequence[int | str]]],
    out: Writable,
    *,
    total: str | None = "total",
    width: int = DEFAULT_WIDTH,
) -> None:
    """``rows`` are (name, counts); a last row sums the numeric counts when ``total`` names it."""
    count_widths = [
        max(len(header), *(len(str(row[1][i])) for row in rows), 1) for i, header in enumerate(count_headers)
    ]
    fixed = sum(w + 3 for w in count_widths) + 4  # "| " + name + " |" and " count |" per column
    names = [name for name, _ in rows] + ([total] if total else [])
    wanted = max([text_length(name_header), *(text_length(name) for name in names)])
    name_width = max(MIN_NAME_WIDTH, min(wanted, width - fixed))
    inner = name_width + fixed - 2
    rule = "+" + "-" * (name_width + 2) + "".join("+" + "-" * (w + 2) for w in count_widths) + "+\n"

    def line(name: str, cells: Sequence[object]) -> str:
        shown = shorten(name, name_width)
        padded = shown + " " * (name_width - text_length(shown))
        return (
            f"| {padded} |" + "".join(f" {cell!s:>{w}} |" for cell, w in zip(cells, count_widths, strict=True)) + "\n"
        )

    out.write("-" * (inner + 2) + "\n")
    out.write("|" + title.center(inner) + "|\n")
    out.write(rule)
    header = f"| {name_header:<{name_width}} |" + "".join(
        f" {h:>{w}} |" for h, w in zip(count_headers, count_widths, strict=True)
    )
    out.write(header + "\n")
    out.write(rule)
    for name, cells in rows:
        out.write(line(name, cells))
    if total and rows:
        out.write(rule)
        sums = [sum(int(row[1][i]) for row in rows if isinstance(row[1][i], int)) for i in range(len(count_headers))]
        out.write(line(total, sums))
    out.write(rule)


VERDICT_COLUMNS = ("available", "unavailable", "missing", "invalid", "errors")
_FAILURE_COLUMN = {"MissingLayerDigest": "missing", "InvalidLayerDigest": "invalid"}


def repository_counts(result: dict[str, Any]) -> list[int]:
    """A repository's answer as counts per verdict: the summary's own columns, for one repository."""
    counts = dict.fromkeys(VERDICT_COLUMNS, 0)
    for layer in result.get("layers") or []:
        counts["available" if layer.get("layerAvailability") == "AVAILABLE" else "unavailable"] += 1
    for failure in result.get("failures") or []:
        counts[_FAILURE_COLUMN.get(str(failure.get("failureCode")), "errors")] += 1
    return [counts[column] for column in VERDICT_COLUMNS]


def repository_errors(answer: dict[str, Any]) -> list[str]:
    """Why each repository's digests were not checked (a failure that is not a verdict on the digest: the
    repository does not exist, access denied, no credentials, ECR unreachable ...), one line per repository and
    code: ``name: code: reason (N digests)``."""
    lines: list[str] = []
    for result in answer.get("results") or []:
        seen: dict[str, tuple[str, int]] = {}
        for failure in result.get("failures") or []:
            code = str(failure.get("failureCode"))
            if code not in _FAILURE_COLUMN:
                reason, count = seen.get(code, (str(failure.get("failureReason", "")), 0))
                seen[code] = (reason, count + 1)
        for code, (reason, count) in seen.items():
            digests = "1 digest" if count == 1 else f"{count} digests"
            lines.append(f"{result.get('repositoryName', '')}: {code}: {reason} ({digests})")
    return lines


def render_repository_counts(title: str, answer: dict[str, Any], out: TextIO) -> None:
    """The multi-repository answer (``{"results", "summary"}``) as one row per repository and a total, then why each
    repository in error was not checked."""
    rows = [
        (str(result.get("repositoryName", "")), repository_counts(result)) for result in answer.get("results") or []
    ]
    render_count_table(title, "repository", VERDICT_COLUMNS, rows, out, width=terminal_width(out))
    for line in repository_errors(answer):
        out.write(f"{line}\n")
