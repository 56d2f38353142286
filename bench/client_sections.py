"""docs/BENCHMARKS.md's sections on the client's own cost: the command line against the stand-in ECR, and the CPU
per stored pair of ``POST /checks``."""

from __future__ import annotations

from bench.cli_throughput import CliComparison
from bench.cpu_per_pair import CpuPerPair
from bench.markdown import table as _table


def _cli_rows(c: CliComparison) -> list[list[str]]:
    return [
        [
            run.name,
            f"{run.pairs:,}",
            f"{run.seconds:.2f}",
            f"{run.pairs_per_second:,.0f}",
            f"{run.calls:,}",
            "—" if run.cpu_seconds is None else f"{run.cpu_seconds:.2f}",
        ]
        for run in (c.cli, c.botocore_cli, c.boto3, c.aws_cli, c.split)
    ]


def cli_throughput(c: CliComparison, cores: int) -> str:
    rows = _cli_rows(c)
    latency_ms = c.latency_seconds * 1000
    latency_bound = c.minimum_calls * c.latency_seconds / c.workers
    # The limiter lets one second's worth go at once, then the steady rate (logic/ratelimit.py).
    cap_bound = max(0.0, (c.minimum_calls - c.rate_cap) / c.rate_cap)
    bound = max(latency_bound, cap_bound)
    cpu_share = (c.cli.cpu_seconds or 0) / c.cli.seconds
    per_call_ms = ((c.cli.cpu_seconds or 0) - c.start_up_seconds) / c.minimum_calls * 1000
    projections = "; ".join(
        f"{n} processes: {c.cli.projected_seconds(n, c.start_up_seconds, bound):.2f} s "
        f"({c.boto3.seconds / c.cli.projected_seconds(n, c.start_up_seconds, bound):.0f}× the boto3 loop)"
        for n in (2, 4)
    )
    bound_by = (
        "It is **CPU-bound on one interpreter lock** (the GIL): CPU time ≈ wall time, above both bounds."
        if cpu_share >= 0.75
        else f"It got **{cpu_share:.0%} of a core**: the machine was busy (see the load average), so the "
        "wall time here is the scheduler's more than ours; the CPU time is the figure to compare."
    )
    return f"""## 1. The command line at {c.load_pairs:,} pairs, {latency_ms:.0f} ms per call (fast stand-in ECR)

{c.repositories} repositories × {c.digests:,} digests ({c.digests - 20:,} well-formed, 20 malformed), `--query summary`,
against `bench/standin.py`: a threaded HTTP/1.1 server on 127.0.0.1 that answers `BatchCheckLayerAvailability` from a
rule (one pair in five missing) and sleeps {latency_ms:.0f} ms per call, so that the client is what is measured (moto
would spend several ms of CPU per call on the same two cores). Every row ran against the same stand-in in this run, one
after the other (1-minute load average {c.load_average[0]:.2f} before, {c.load_average[1]:.2f} after). The command line
is a fresh `layercheck` process (interpreter start-up and imports included) at **`--max-calls-per-second
{c.rate_cap:g}`** (its default) and {c.workers} workers, median of {len(c.cli_runs)}:
{", ".join(f"{s:.2f}" for s in c.cli_runs)} s. The second row is the same command line on the botocore client (what
it does for a client it cannot reproduce on the lean path, here `AWS_RETRY_MODE=legacy`), one run; the boto3 loop runs
in-process with its client made (one run, no start-up, no cap); the AWS CLI loop is estimated from real invocations.

{_table(["client", "pairs", "seconds", "pairs/s", "ECR calls", "CPU s"], rows)}

- **layercheck vs the sequential boto3 loop: {c.boto3.seconds / c.cli.seconds:.1f}×** (goal ≥ 15×); vs the AWS CLI
  loop: **{c.aws_cli.seconds / c.cli.seconds:.0f}×**. On the botocore client the same command line is
  {c.boto3.seconds / c.botocore_cli.seconds:.1f}× the boto3 loop.
- ECR calls made by layercheck: {c.cli.calls:,}; minimum Σ ceil(distinct well-formed digests / 100) =
  {c.minimum_calls:,}: **{"equal" if c.cli.calls == c.minimum_calls else "NOT EQUAL"}** (counted at the stand-in).
  The malformed digests were answered `InvalidLayerDigest` without being sent.
- Summary equal to the stand-in's rule applied pair by pair: **{"yes" if c.summary_correct else "NO"}** (both
  command-line paths); the boto3 loop's answers agree with it too: **{"yes" if c.boto3_correct else "NO"}**.
- Where the time goes: the latency bound is `{c.minimum_calls:,} calls × {latency_ms:.0f} ms ÷ {c.workers} workers` =
  {latency_bound:.2f} s and the cap's `({c.minimum_calls:,} - {c.rate_cap:g} at once) ÷ {c.rate_cap:g}/s` =
  {cap_bound:.2f} s; start-up (`layercheck --version`) takes {c.start_up_seconds:.2f} s. The process used
  **{c.cli.cpu_seconds or 0:.2f} s of CPU** in {c.cli.seconds:.2f} s ({cpu_share:.0%} of one core; about
  {per_call_ms:.2f} ms per call beyond start-up, the check engine's share included). {bound_by}
  Two processes over half the repositories and half the cap each (last row, wall time of both) show what this
  {cores}-core machine gives beyond one lock with the stand-in on the same cores. With more free cores,
  `start-up + (CPU - start-up) ÷ processes`, never below the bounds, projects {projections}."""


def cpu_per_pair(r: CpuPerPair) -> str:
    return f"""## 2. CPU per stored pair of `POST /checks` ({r.pairs:,} pairs, check + store)

The handler in a fresh process, pointed at the stand-in (no latency: CPU is what is measured), answers a
{r.pairs:,}-pair `POST /checks` (ECR check, {r.stored:,} verdicts stored, the JSON answer); beside it, in the same
process, the bare boto3 calls that request makes: {r.ecr_calls} `BatchCheckLayerAvailability` and
{r.write_calls} `BatchWriteItem` of 25 items already in DynamoDB's JSON form, one after the other. Process CPU, every
thread, least of 5 runs each.

| | CPU s | µs per pair |
|---|---:|---:|
| `POST /checks` through the handler | {r.handler_cpu_seconds:.3f} | {r.handler_cpu_seconds / r.pairs * 1e6:.0f} |
| bare boto3: BatchCheckLayerAvailability | {r.ecr_cpu_seconds:.3f} | {r.ecr_cpu_seconds / r.pairs * 1e6:.0f} |
| bare boto3: BatchWriteItem (pre-built items) | {r.write_cpu_seconds:.3f} | {r.write_cpu_seconds / r.pairs * 1e6:.0f} |
| bare boto3: both | {r.bare_cpu_seconds:.3f} | {r.bare_cpu_seconds / r.pairs * 1e6:.0f} |

- **The handler's CPU is {r.ratio:.2f}× the bare calls'** (goal ≤ 1.5×). What it adds: Powertools' event routing
  and request validation, the check engine, one stored-verdict model and item per pair, and the answer's JSON."""
