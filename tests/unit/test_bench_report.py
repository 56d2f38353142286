"""docs/BENCHMARKS.md is regenerated whole by `make bench`: it must keep pointing to the figures measured by hand."""

from __future__ import annotations

from pathlib import Path

from bench.report import Report

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_report_markdown_ends_with_the_link_to_the_audit_figures() -> None:
    # Given a report with nothing measured yet (the link does not depend on which benchmarks ran)
    markdown = Report(command="make bench").markdown()

    # Then the generated document ends by linking the hand-run audit benchmarks, and that file exists
    assert markdown.rstrip().endswith("[BENCHMARKS_AUDIT.md](BENCHMARKS_AUDIT.md).")
    assert (DOCS / "BENCHMARKS_AUDIT.md").is_file()
    assert (
        (DOCS / "BENCHMARKS.md")
        .read_text(encoding="utf-8")
        .rstrip()
        .endswith("[BENCHMARKS_AUDIT.md](BENCHMARKS_AUDIT.md).")
    )
