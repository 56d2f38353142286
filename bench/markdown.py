"""Markdown for docs/BENCHMARKS.md."""

from __future__ import annotations


def table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub table: the first column left-aligned, the figures right-aligned."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
