"""Throughput: the layercheck engine against the loops a user would write instead, and its workers × latency curve.

All three clients talk to the same moto server through the same latency proxy, which counts the ECR calls each made.
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from bench.dataset import Registry
from layercheck.integrations.aws import client_config
from layercheck.integrations.ecr import EcrRegistry
from layercheck.logic.check import DEFAULT_WORKERS, RepositoryTarget, check_repositories
from layercheck.logic.chunks import chunked
from layercheck.logic.digests import MAX_DIGESTS_PER_CALL
from layercheck.models.verdicts import CheckOutcome
from local.faultproxy import FaultPlan, remote_reset, remote_set_plan, remote_stats
from local.lambda_context import LOCAL_REGION

ECR_CHECK = "BatchCheckLayerAvailability"
AWS_CLI = Path(os.environ.get("VIRTUAL_ENV", Path(__file__).resolve().parent.parent / ".venv")) / "bin" / "aws"

# One verdict per (repository, digest): availability for a layer, the failure code otherwise.
Verdicts = set[tuple[str, str, str]]


@dataclass(frozen=True)
class Run:
    name: str
    pairs: int
    seconds: float
    calls: int
    workers: int
    latency_seconds: float

    @property
    def checks_per_second(self) -> float:
        return self.pairs / self.seconds

    @property
    def bound_seconds(self) -> float:
        """The floor set by latency alone: every call waits one round trip, ``workers`` at a time."""
        return self.calls * self.latency_seconds / self.workers

    @property
    def measured_over_bound(self) -> float | None:
        return self.seconds / self.bound_seconds if self.bound_seconds else None


def aws_credentials() -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        "AWS_REGION": LOCAL_REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def engine_client(proxy_url: str, workers: int) -> Any:
    return boto3.client("ecr", endpoint_url=proxy_url, config=client_config(workers))


def _timed_on_proxy(proxy_url: str, action: Callable[[], object]) -> tuple[float, int, object]:
    remote_reset(proxy_url)
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    return seconds, remote_stats(proxy_url).requests[ECR_CHECK], result


def _warm_up(client: Any, registry: Registry, workers: int) -> None:
    """Open ``workers`` pooled connections first, as a warm Lambda container has them; not counted."""
    targets = [RepositoryTarget(t.registry_id, t.repository_name, t.layer_digests[:1]) for t in registry.targets()]
    check_repositories(targets[:workers], EcrRegistry(client), workers=workers)


def run_engine(
    proxy_url: str, registry: Registry, *, workers: int = DEFAULT_WORKERS, latency: float, repeats: int
) -> tuple[Run, CheckOutcome]:
    client = engine_client(proxy_url, workers)
    _warm_up(client, registry, workers)
    port = EcrRegistry(client)
    timings: list[tuple[float, int, object]] = [
        _timed_on_proxy(proxy_url, lambda: check_repositories(registry.targets(), port, workers=workers))
        for _ in range(repeats)
    ]
    seconds = statistics.median(timing[0] for timing in timings)
    outcome = timings[-1][2]
    assert isinstance(outcome, CheckOutcome)
    run = Run(f"layercheck engine ({workers} workers)", registry.pairs, seconds, timings[-1][1], workers, latency)
    return run, outcome


def naive_boto3_loop(client: Any, repositories: Iterable[str], digests: list[str]) -> list[dict[str, Any]]:
    """What a user writes: one call per repository and 100-digest chunk, one after the other."""
    answers = []
    for repository in repositories:
        for chunk in chunked(digests, MAX_DIGESTS_PER_CALL):
            response = client.batch_check_layer_availability(repositoryName=repository, layerDigests=chunk)
            answers.append({"repositoryName": repository, **response})
    return answers


def run_naive(proxy_url: str, registry: Registry, *, latency: float, repeats: int) -> tuple[Run, list[dict[str, Any]]]:
    client = boto3.client("ecr", endpoint_url=proxy_url)  # the defaults a user gets
    client.batch_check_layer_availability(repositoryName=registry.repositories[0], layerDigests=registry.digests[:1])
    timings = [
        _timed_on_proxy(proxy_url, lambda: naive_boto3_loop(client, registry.repositories, registry.digests))
        for _ in range(repeats)
    ]
    seconds = statistics.median(timing[0] for timing in timings)
    answers = timings[-1][2]
    assert isinstance(answers, list)
    return Run("boto3 loop, sequential", registry.pairs, seconds, timings[-1][1], 1, latency), answers


def run_aws_cli(proxy_url: str, registry: Registry, repositories: list[str], *, latency: float) -> Run:
    """``aws ecr batch-check-layer-availability`` once per repository and 100-digest chunk, in a shell loop."""
    with tempfile.TemporaryDirectory() as folder:
        calls = Path(folder) / "calls.txt"
        calls.write_text(
            "".join(
                f"{repository} {' '.join(chunk)}\n"
                for repository in repositories
                for chunk in chunked(registry.digests, MAX_DIGESTS_PER_CALL)
            )
        )
        script = (
            "while read -r repository digests; do "
            f"{shlex.quote(str(AWS_CLI))} ecr batch-check-layer-availability --endpoint-url {shlex.quote(proxy_url)} "
            '--repository-name "$repository" --layer-digests $digests --output json > /dev/null || exit 1; '
            f"done < {shlex.quote(str(calls))}"
        )
        environment = {**os.environ, **aws_credentials()}
        seconds, count, _ = _timed_on_proxy(
            proxy_url, lambda: subprocess.run(["bash", "-c", script], check=True, env=environment)
        )
    pairs = len(repositories) * len(registry.digests)
    return Run(f"AWS CLI shell loop ({len(repositories)} repositories)", pairs, seconds, count, 1, latency)


def engine_verdicts(outcome: CheckOutcome) -> Verdicts:
    verdicts: Verdicts = set()
    for result in outcome.results:
        verdicts.update((result.repositoryName, layer.layerDigest, layer.layerAvailability) for layer in result.layers)
        verdicts.update((result.repositoryName, f.layerDigest, f.failureCode) for f in result.failures)
    return verdicts


def ecr_verdicts(answers: list[dict[str, Any]]) -> Verdicts:
    verdicts: Verdicts = set()
    for answer in answers:
        name = answer["repositoryName"]
        verdicts.update((name, layer["layerDigest"], layer["layerAvailability"]) for layer in answer.get("layers", []))
        verdicts.update((name, f["layerDigest"], f["failureCode"]) for f in answer.get("failures", []))
    return verdicts


@dataclass(frozen=True)
class Comparison:
    engine: Run
    naive: Run
    cli: Run
    minimum_calls: int
    same_verdicts: bool


def compare(proxy_url: str, registry: Registry, *, latency: float, cli_repositories: int, repeats: int) -> Comparison:
    remote_set_plan(proxy_url, FaultPlan(latency_seconds=latency))
    engine, outcome = run_engine(proxy_url, registry, latency=latency, repeats=repeats)
    naive, answers = run_naive(proxy_url, registry, latency=latency, repeats=repeats)
    cli = run_aws_cli(proxy_url, registry, registry.repositories[:cli_repositories], latency=latency)
    return Comparison(
        engine=engine,
        naive=naive,
        cli=cli,
        minimum_calls=registry.minimum_calls(),
        same_verdicts=engine_verdicts(outcome) == ecr_verdicts(answers),
    )


def sweep(
    proxy_url: str,
    registry: Registry,
    *,
    workers: Iterable[int],
    latencies: Iterable[float],
    repeats: int,
    on_run: Callable[[Run], None] | None = None,
) -> list[Run]:
    runs = []
    for latency in latencies:
        remote_set_plan(proxy_url, FaultPlan(latency_seconds=latency))
        for count in workers:
            # The slowest points (one worker, long latency) take seconds per run; one run of those is enough.
            times = 1 if count == 1 and latency >= 0.1 else repeats
            run, _ = run_engine(proxy_url, registry, workers=count, latency=latency, repeats=times)
            runs.append(run)
            if on_run is not None:
                on_run(run)
    return runs
