"""``make bench``: every benchmark in one run, printed as it goes and written to docs/BENCHMARKS.md.

``python -m bench.run [--quick] [--output docs/BENCHMARKS.md]``; ``--quick`` runs fewer repeats and a smaller sweep
(for trying the harness, not for the figures). Takes about three minutes on two cores, and ends by printing the three
figures of bench/headline.py (cold start to the first answer, the command line, the audit's calls), each beside its
baseline from the same run.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import cli_throughput, coldstart, cost, cpu_per_pair, first_answer, footprint, headline
from bench.dataset import LAYER_SIZE, build_registry
from bench.report import Report
from bench.servers import moto_process, proxy_process, standin_process
from bench.throughput import Run, aws_credentials, compare, sweep
from layercheck_cli.multi import DEFAULT_MAX_CALLS_PER_SECOND
from local.environment import RESULTS_TABLE_NAME, create_results_table, lambda_environment, patched_environ
from local.faultproxy import FaultPlan, remote_set_plan
from local.lambda_context import LOCAL_ACCOUNT_ID, LOCAL_REGION

ROOT = Path(__file__).resolve().parent.parent
LATENCY = 0.025
SWEEP_WORKERS = (1, 4, 8, 16, 32)
SWEEP_LATENCIES = (0.0, 0.025, 0.1)
# The sweep draws a curve (where it flattens), not a headline figure: one run per point keeps `make bench` short.
SWEEP_REPEATS = 1
CLI_REPOSITORIES = 4
SMALL_REQUEST_DIGESTS = 250
# The command line against the stand-in: 100 repositories × 1,000 digests at 25 ms a call.
# 32 calls in flight keep one core busy at 25 ms a call (a call takes ~2 ms of CPU); more only adds lock handoffs.
CLI_WORKERS = 32
CLI_REPEATS = 5
# Cold start to the first answer: fresh processes per variant (after one discarded), round-robin.
FIRST_ANSWER_RUNS = 11
# The command line runs at its default cap (--max-calls-per-second): half of ECR's 1,000 calls/s per account and Region.
CLI_RATE_CAP = DEFAULT_MAX_CALLS_PER_SECOND
AWS_CLI_SAMPLES = 6
# Lambda gives a function CPU in proportion to its memory: a full vCPU at 1,769 MB, so 1,024 MB gets ~0.58 of one.
LAMBDA_MEMORY_MB = 1024
LAMBDA_VCPU_SHARE = LAMBDA_MEMORY_MB / 1769
PACKAGES = ("boto3", "botocore", "aws-lambda-powertools", "pydantic", "moto", "awscli", "aws-xray-sdk")


def machine() -> dict[str, str]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_kb = 0
    with open("/proc/meminfo") as info:
        for line in info:
            if line.startswith("MemTotal"):
                memory_kb = int(line.split()[1])
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    load = os.getloadavg()
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load average at start (1, 5, 15 min)": ", ".join(f"{value:.2f}" for value in load),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": f"{memory_kb / 1024 / 1024:.0f} GiB",
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python": platform.python_version(),
        **versions,
    }


def projected_lambda_seconds(wall: float, cpu: float) -> float:
    """Wall time here, with the CPU part stretched to a 1,024 MB function's share of a vCPU."""
    return wall + cpu * (1 / LAMBDA_VCPU_SHARE - 1)


def _standin_sections(report: Report, *, quick: bool) -> tuple[Any, Any]:
    """The command line against the ECR stand-in, then the CPU per stored pair; returns the comparison and the
    registry the moto sections use."""
    with standin_process(LATENCY) as standin_url:
        load = cli_throughput.workload()
        comparison_cli = cli_throughput.compare(
            standin_url,
            load,
            {**os.environ},
            latency=LATENCY,
            workers=CLI_WORKERS,
            rate_cap=CLI_RATE_CAP,
            repeats=1 if quick else CLI_REPEATS,
            samples=2 if quick else AWS_CLI_SAMPLES,
        )
        report.cli_throughput(comparison_cli, os.cpu_count() or 1)
        print(report.last_section(), flush=True)

        cli_throughput.standin_admin(standin_url, "PUT", "latency", {"seconds": 0})
        registry = build_registry()
        report.cpu_per_pair(
            cpu_per_pair.measure(
                registry.repositories,
                registry.digests,
                {**lambda_environment(standin_url), "POWERTOOLS_LOG_LEVEL": "ERROR"},
            )
        )
        print(report.last_section(), flush=True)

    return comparison_cli, registry


def _moto_sections(report: Report, registry: Any, *, quick: bool, repeats: int) -> tuple[Any, Any, Any]:
    """Throughput and the sweep through the proxy, the first answer, the memory footprint (moto behind the proxy)."""
    print(f"registry: {len(registry.repositories)} repositories × {len(registry.digests)} digests", flush=True)
    with moto_process(registry.layers, LAYER_SIZE) as moto_url, proxy_process(moto_url, FaultPlan()) as proxy_url:
        comparison = compare(proxy_url, registry, latency=LATENCY, cli_repositories=CLI_REPOSITORIES, repeats=repeats)
        report.throughput(comparison)
        print(report.last_section(), flush=True)

        runs: list[Run] = sweep(
            proxy_url,
            registry,
            workers=SWEEP_WORKERS if not quick else (1, 16),
            latencies=SWEEP_LATENCIES if not quick else (0.0, LATENCY),
            repeats=SWEEP_REPEATS,
            on_run=lambda run: print(
                f"  sweep: {run.workers:>2} workers, {run.latency_seconds * 1000:>3.0f} ms: {run.seconds:6.3f} s",
                flush=True,
            ),
        )
        report.sweep(runs, comparison.minimum_calls)
        print(report.last_section(), flush=True)

        create_results_table(moto_url, RESULTS_TABLE_NAME)
        first_environment = {**lambda_environment(moto_url), "POWERTOOLS_LOG_LEVEL": "ERROR"}
        with patched_environ(first_environment):
            first_request = first_answer.request(
                registry.repositories[0], registry.digests[:3], LOCAL_ACCOUNT_ID, RESULTS_TABLE_NAME, LOCAL_REGION
            )
        first = first_answer.measure(first_request, first_environment, repeats=5 if quick else FIRST_ANSWER_RUNS)
        report.first_answer(first)
        print(report.last_section(), flush=True)

        remote_set_plan(proxy_url, FaultPlan(latency_seconds=LATENCY))
        memory = footprint.measure_memory(
            registry.repositories,
            registry.digests,
            SMALL_REQUEST_DIGESTS,
            {**lambda_environment(proxy_url), "POWERTOOLS_LOG_LEVEL": "ERROR"},
        )

    return comparison, first, memory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats and sweep points (not for the figures)")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    parser.add_argument("--screenshot", type=Path, default=ROOT / "docs" / "swagger-ui.png")
    arguments = parser.parse_args(argv)
    repeats = 1 if arguments.quick else 3
    started = time.perf_counter()
    load_at_start = os.getloadavg()[0]
    os.environ.update(aws_credentials())
    report = Report(command="make bench" + ("  (python -m bench.run --quick)" if arguments.quick else ""))
    report.machine(machine())

    comparison_cli, registry = _standin_sections(report, quick=arguments.quick)
    comparison, first, memory = _moto_sections(report, registry, quick=arguments.quick, repeats=repeats)

    report.size_and_memory(footprint.asset_size(), memory)
    print(report.last_section(), flush=True)

    cold = coldstart.measure(repeats=5 if arguments.quick else 11)
    report.cold_start(
        cold,
        coldstart.modules_loaded_by_handler_import(),
        coldstart.heaviest_imports("import layercheck.handler"),
        coldstart.heaviest_imports("import layercheck.handler; import layercheck.doors.checks"),
    )
    print(report.last_section(), flush=True)

    report.cost(_cost_scenarios(memory, comparison.minimum_calls / registry.pairs), memory, LAMBDA_VCPU_SHARE)
    print(report.last_section(), flush=True)

    figures = headline.figures(first, comparison_cli, headline.audit())
    report.headline(headline.markdown(figures, (load_at_start, os.getloadavg()[0])))
    _write(report, arguments.output, arguments.screenshot, started)
    print(f"\n{headline.text(figures)}\n(load average now {', '.join(f'{v:.2f}' for v in os.getloadavg())})")
    return 0


def _write(report: Report, output: Path, screenshot: Path, started: float) -> None:
    report.screenshot(_screenshot(screenshot))
    report.finish(time.perf_counter() - started)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report.markdown())
    print(f"\nwrote {output} in {time.perf_counter() - started:.0f} s")


def _cost_scenarios(memory: footprint.MemoryRun, calls_per_pair: float) -> list[cost.Cost]:
    """The bill per million pairs for a large and a small request, at the warm invocations measured above."""
    scenarios = [
        cost.Scenario(
            f"{memory.pairs:,} pairs per request (40 repositories × 250 digests)",
            memory.pairs,
            projected_lambda_seconds(memory.warm_invocation_seconds, memory.warm_invocation_cpu_seconds),
            calls_per_pair,
        ),
        cost.Scenario(
            f"{memory.small_pairs:,} pairs per request (one image's layers in one repository)",
            memory.small_pairs,
            projected_lambda_seconds(memory.small_invocation_seconds, memory.small_invocation_cpu_seconds),
            calls_per_pair,
        ),
    ]
    return [cost.per_million_pairs(scenario) for scenario in scenarios]


def _screenshot(path: Path) -> str | None:
    """Refresh docs/swagger-ui.png from the local API (the browser test checks the same page)."""
    from local.browser import find_chromium

    if find_chromium() is None:
        return None
    script = (
        "import sys\nfrom pathlib import Path\n"
        "from local.adapter import LocalApiGateway\nfrom local.browser import find_chromium, screenshot\n"
        "from local.environment import lambda_environment, moto_server, patched_environ\n"
        "with moto_server() as endpoint, patched_environ(lambda_environment(endpoint)):\n"
        "    from layercheck.handler import lambda_handler\n"
        "    with LocalApiGateway(lambda_handler, stdout_sink=[]) as api:\n"
        "        screenshot(find_chromium(), api.url + '/swagger', Path(sys.argv[1]))\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], cwd=ROOT, check=True, capture_output=True)
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


if __name__ == "__main__":
    sys.exit(main())
