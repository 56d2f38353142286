"""The three figures layercheck's speed is judged by, each beside its baseline from the same ``make bench`` run: printed
together at the end of the run and first in docs/BENCHMARKS.md.

1. Cold start to the first stored answer: the handler against a bare boto3 script making the same two calls.
2. The command line at 100,000 pairs, 25 ms per call: against the sequential boto3 loop.
3. The audit's AWS calls per 1,000 images, a first audit and a second one over unchanged images.

The third comes from the audit benchmark when this checkout has it: a module ``bench.audit_calls`` (``AUDIT_BENCH``)
whose ``headline() -> Figure`` runs its own servers and measures both audits. Without it the line says it was not
measured, and nothing else changes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from bench.cli_throughput import CliComparison
from bench.first_answer import BARE, HANDLER, FirstAnswer
from bench.markdown import table

AUDIT_BENCH = "bench.audit_calls"


@dataclass(frozen=True)
class Figure:
    name: str
    measured: str  # layercheck's figure, with its unit
    baseline: str  # what it is measured against, with its figure
    ratio: str  # measured ÷ baseline (or the comparison that stands for it)
    goal: str


def cold_start(result: FirstAnswer) -> Figure:
    handler, bare = result.phases[HANDLER], result.phases[BARE]
    return Figure(
        "cold start to the first stored answer (POST /checks, 3 digests)",
        f"{handler.inside_ms:.0f} ms (import {handler.import_ms:.0f}, set-up {handler.setup_ms:.0f}, "
        f"answer {handler.answer_ms:.0f})",
        f"bare boto3 script {bare.inside_ms:.0f} ms (import {bare.import_ms:.0f}, set-up {bare.setup_ms:.0f}, "
        f"answer {bare.answer_ms:.0f})",
        f"{result.ratio:.2f}×",
        "≤ 1.35×",
    )


def command_line(comparison: CliComparison) -> Figure:
    return Figure(
        f"command line, {comparison.load_pairs:,} pairs at {comparison.latency_seconds * 1000:.0f} ms per call "
        f"(--max-calls-per-second {comparison.rate_cap:g})",
        f"{comparison.cli.seconds:.2f} s, {comparison.cli.calls:,} ECR calls",
        f"sequential boto3 loop {comparison.boto3.seconds:.2f} s",
        f"{comparison.boto3.seconds / comparison.cli.seconds:.1f}×",
        "≥ 15×",
    )


def audit() -> Figure | None:
    """The audit benchmark's own figure, or None when this checkout does not have it."""
    try:
        module = importlib.import_module(AUDIT_BENCH)
    except ModuleNotFoundError as missing:
        if missing.name != AUDIT_BENCH:
            raise  # the benchmark is there but something it imports is not: a real error
        return None
    figure: Figure = module.headline()
    return figure


def _audit_missing() -> Figure:
    return Figure(
        "audit: AWS calls per 1,000 images, first and second audit",
        "not measured in this run",
        f"its benchmark ({AUDIT_BENCH}) is not in this checkout",
        "—",
        "no BatchGetImage on a second audit of unchanged images",
    )


def figures(first_answer: FirstAnswer, cli: CliComparison, audit_figure: Figure | None) -> list[Figure]:
    return [cold_start(first_answer), command_line(cli), audit_figure or _audit_missing()]


def text(rows: list[Figure]) -> str:
    lines = ["The three figures, each beside its baseline from this run:"]
    for number, figure in enumerate(rows, start=1):
        lines.append(f"  {number}. {figure.name}: {figure.ratio} (goal {figure.goal})")
        lines.append(f"     layercheck {figure.measured}; {figure.baseline}")
    return "\n".join(lines)


def markdown(rows: list[Figure], load: tuple[float, float]) -> str:
    return f"""## The three figures

Each measured beside its baseline in this run (1-minute load average {load[0]:.2f} at the start of the run,
{load[1]:.2f} at its end); the sections below give each one's set-up, repeats and load.

{table(["figure", "layercheck", "baseline", "ratio", "goal"], [
        [f.name, f.measured, f.baseline, f"**{f.ratio}**", f.goal] for f in rows
    ])}"""  # fmt: skip
