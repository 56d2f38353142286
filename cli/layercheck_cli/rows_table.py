"""A table of text rows (one line per image or repository) in the look of the count tables, that fits the terminal:
columns keep their natural width while they fit, and the widest are narrowed in turn (their text shortened in the
middle, so both ends stay recognisable) until the table fits ``width``.

Also the short names those rows show: an image as ``repository:tag``, a digest as ``sha256:4346b9ff…445a``, who runs
an image as ``ecs-service web, lambda-function api:3``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from layercheck_cli.table import DEFAULT_WIDTH, Writable

MIN_COLUMN_WIDTH = 10
NOBODY = "-"
ELLIPSIS = "…"


def cell_width(text: str) -> int:
    """Columns a terminal gives ``text``: wide and full-width characters two, the rest (… included) one."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def shorten(text: str, width: int) -> str:
    """``text`` in at most ``width`` columns, cut in the middle so both ends stay recognisable."""
    if cell_width(text) <= width:
        return text
    head, tail = "", ""
    for char in text:
        if cell_width(head + char) > (width - 1 + 1) // 2:
            break
        head += char
    for char in reversed(text[len(head) :]):
        if cell_width(head + tail + char) > width - 1:
            break
        tail = char + tail
    return head + ELLIPSIS + tail


def _fitted_widths(
    headers: Sequence[str], rows: Sequence[Sequence[str]], width: int, shrink_first: Sequence[int]
) -> list[int]:
    """Natural widths, narrowed one column at a time until the table fits: the widest of ``shrink_first`` while one is
    wider than ``MIN_COLUMN_WIDTH``, then the widest of all."""
    widths = [max([cell_width(header), *(cell_width(row[i]) for row in rows)]) for i, header in enumerate(headers)]
    budget = width - (3 * len(headers) + 1)  # "| " + cell + " " per column, and the last "|"
    while sum(widths) > budget:
        first = [i for i in shrink_first if widths[i] > MIN_COLUMN_WIDTH]
        candidates = first or [i for i in range(len(widths)) if widths[i] > MIN_COLUMN_WIDTH]
        if not candidates:
            break  # narrower than this says nothing: let the terminal wrap
        widths[max(candidates, key=lambda i: widths[i])] -= 1
    return widths


def render_rows(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    out: Writable,
    *,
    width: int = DEFAULT_WIDTH,
    shrink_first: Sequence[int] = (),
) -> None:
    """``shrink_first``: the columns that give up their width first when the table is too wide (free text, say)."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = _fitted_widths(headers, cells, width, shrink_first)
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+\n"

    def line(values: Sequence[str]) -> str:
        shown = [shorten(value, w) for value, w in zip(values, widths, strict=True)]
        return "|" + "|".join(f" {s}{' ' * (w - cell_width(s))} " for s, w in zip(shown, widths, strict=True)) + "|\n"

    inner = len(rule) - 3
    out.write("-" * (inner + 2) + "\n")
    out.write("|" + title.center(inner) + "|\n")
    out.write(rule)
    out.write(line(list(headers)))
    out.write(rule)
    for row in cells:
        out.write(line(row))
    out.write(rule)


def short_digest(digest: str | None) -> str:
    if not digest:
        return NOBODY
    return digest if len(digest) <= 16 else f"{digest[:11]}…{digest[-4:]}"


def tags_text(verdict: Mapping[str, Any]) -> str:
    tags = [str(tag) for tag in verdict.get("imageTags") or []]
    omitted = int(verdict.get("imageTagsOmitted") or 0)
    return ",".join(tags) + (f" (+{omitted})" if omitted else "") if tags else NOBODY


def workload_name(entry: Mapping[str, Any]) -> str:
    """``kind name``: the last part of an ARN (``service/cluster/web`` -> ``web``, ``function:api:3`` -> ``api:3``);
    an inventory source as it was reported."""
    kind, identifier = str(entry.get("kind", "")), str(entry.get("id", ""))
    if kind == "lambda-function" and ":function:" in identifier:
        name = identifier.split(":function:", 1)[1]
    elif kind == "inventory":
        name = identifier
    else:
        name = identifier.rsplit("/", 1)[-1]
    return f"{kind} {name}"


def used_by_text(verdict: Mapping[str, Any]) -> str:
    entries = [workload_name(entry) for entry in verdict.get("usedBy") or [] if isinstance(entry, Mapping)]
    omitted = int(verdict.get("usedByOmitted") or 0)
    return ", ".join(entries) + (f" (+{omitted} more)" if omitted else "") if entries else NOBODY
