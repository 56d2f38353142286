"""The command line against the loops a user would write instead, at 100,000 pairs, against the fast stand-in ECR.

Every client talks to ``bench/standin.py`` at a fixed latency per call, which counts the calls. The command line runs
as a user runs it, a fresh ``layercheck`` process (interpreter start and imports included); the boto3 loop runs in
this process with a client already made (so it is timed without either). The AWS CLI loop is estimated from a sample
of real ``aws ecr batch-check-layer-availability`` processes: the mean seconds per invocation × the calls needed.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import resource
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3

from bench.dataset import layer_digest
from bench.standin import ADMIN_PREFIX, is_held
from layercheck.logic.chunks import chunked
from layercheck.logic.digests import MAX_DIGESTS_PER_CALL, AskedDigests
from local.lambda_context import LOCAL_ACCOUNT_ID

VENV_BIN = Path(os.environ.get("VIRTUAL_ENV", Path(__file__).resolve().parent.parent / ".venv")) / "bin"
ECR_CHECK = "BatchCheckLayerAvailability"


@dataclass(frozen=True)
class Workload:
    repositories: list[str]
    digests: list[str]

    @property
    def pairs(self) -> int:
        return len(self.repositories) * len(set(self.digests))

    @property
    def minimum_calls(self) -> int:
        return len(self.repositories) * math.ceil(len(AskedDigests.of(self.digests).valid) / MAX_DIGESTS_PER_CALL)

    def expected_summary(self) -> dict[str, int]:
        """What every correct client must answer: the stand-in's rule applied to each pair."""
        asked = AskedDigests.of(self.digests)
        held = sum(is_held(name, digest) for name in self.repositories for digest in asked.valid)
        valid_pairs = len(self.repositories) * len(asked.valid)
        invalid = len(self.repositories) * len(asked.malformed)
        return {
            "checked": valid_pairs + invalid,
            "available": held,
            "unavailable": 0,
            "missing": valid_pairs - held,
            "invalid": invalid,
            "errors": 0,
        }


def workload(repositories: int = 100, digests: int = 1000, malformed: int = 20) -> Workload:
    """``repositories`` × ``digests``: ``digests - malformed`` well-formed ones (one pair in five missing, by the
    stand-in's rule) and ``malformed`` malformed ones, which a correct client answers without asking ECR."""
    valid = [layer_digest(f"bench-layer-{i}") for i in range(digests - malformed)]
    names = [f"bench/service-{k:03d}" for k in range(repositories)]
    return Workload(names, valid + [f"latest-{i}" for i in range(malformed)])


def standin_admin(url: str, method: str, action: str, document: dict[str, Any] | None = None) -> Any:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
    try:
        body = json.dumps(document).encode() if document is not None else None
        connection.request(method, ADMIN_PREFIX + action, body=body)
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def ecr_calls(url: str) -> int:
    return int(standin_admin(url, "GET", "stats")["calls"].get(ECR_CHECK, 0))


@dataclass(frozen=True)
class Timed:
    name: str
    pairs: int
    seconds: float
    calls: int
    cpu_seconds: float | None = None  # the measured process's, every thread (the command line only)

    @property
    def pairs_per_second(self) -> float:
        return self.pairs / self.seconds

    def projected_seconds(self, processes: int, start_up: float, floor: float) -> float:
        """This run's work spread over ``processes`` free cores: start-up, then its CPU beyond start-up divided
        among them, never below ``floor`` (what latency alone allows)."""
        return max(floor, start_up + ((self.cpu_seconds or self.seconds) - start_up) / processes)


def run_cli(
    url: str,
    load: Workload,
    environment: dict[str, str],
    *,
    workers: int,
    extra: tuple[str, ...] = (),
    label: str = "",
) -> tuple[Timed, dict[str, Any]]:
    """One ``layercheck batch-check-layer-availability --query summary`` process over the whole workload."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as document:
        json.dump({"repositoryNames": load.repositories, "layerDigests": load.digests}, document)
    command = [
        str(VENV_BIN / "layercheck"),
        "batch-check-layer-availability",
        "--endpoint-url",
        url,
        "--registry-id",
        LOCAL_ACCOUNT_ID,
        "--cli-input-json",
        f"file://{document.name}",
        "--query",
        "summary",
        "--workers",
        str(workers),
        *extra,
    ]
    try:
        standin_admin(url, "POST", "reset")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        completed = subprocess.run(command, env=environment, capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        Path(document.name).unlink(missing_ok=True)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    name = f"layercheck command line ({workers} workers{', ' + ' '.join(extra) if extra else ''}{label})"
    return Timed(name, load.pairs, seconds, ecr_calls(url), cpu), json.loads(completed.stdout)


def run_cli_split(
    url: str, load: Workload, environment: dict[str, str], *, workers: int, parts: int, rate_cap: float
) -> Timed:
    """``parts`` command-line processes at once, each over its share of the repositories and of the rate cap: what the
    same machine gives when the work is not held to one interpreter lock. Wall time from the first start to the last
    exit."""
    shares = [load.repositories[index::parts] for index in range(parts)]
    documents = []
    for share in shares:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as document:
            json.dump({"repositoryNames": share, "layerDigests": load.digests}, document)
            documents.append(document.name)
    command = [str(VENV_BIN / "layercheck"), "batch-check-layer-availability", "--endpoint-url", url]
    command += ["--registry-id", LOCAL_ACCOUNT_ID, "--query", "summary", "--workers", str(workers)]
    command += ["--max-calls-per-second", str(rate_cap / parts)]
    try:
        standin_admin(url, "POST", "reset")
        started = time.perf_counter()
        processes = [
            subprocess.Popen(
                [*command, "--cli-input-json", f"file://{name}"], env=environment, stdout=subprocess.DEVNULL
            )
            for name in documents
        ]
        if any(process.wait() != 0 for process in processes):
            raise RuntimeError("a command-line process failed")
        seconds = time.perf_counter() - started
    finally:
        for name in documents:
            Path(name).unlink(missing_ok=True)
    name = f"{parts} command-line processes at once ({workers} workers, {rate_cap / parts:g} calls/s each)"
    return Timed(name, load.pairs, seconds, ecr_calls(url))


def run_boto3_loop(url: str, load: Workload) -> tuple[Timed, dict[str, int]]:
    """What a user writes: one call per repository and 100-digest chunk, one after the other (malformed digests are
    sent too: ECR answers them itself, and here they cost no extra call)."""
    client = boto3.client("ecr", endpoint_url=url)  # the defaults a user gets
    client.batch_check_layer_availability(repositoryName=load.repositories[0], layerDigests=load.digests[:1])
    standin_admin(url, "POST", "reset")
    counts = {"layers": 0, "available": 0, "failures": 0}
    cpu_started, started = time.process_time(), time.perf_counter()
    for repository in load.repositories:
        for chunk in chunked(load.digests, MAX_DIGESTS_PER_CALL):
            response = client.batch_check_layer_availability(repositoryName=repository, layerDigests=chunk)
            counts["layers"] += len(response["layers"])
            counts["available"] += sum(layer["layerAvailability"] == "AVAILABLE" for layer in response["layers"])
            counts["failures"] += len(response["failures"])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return Timed("boto3 loop, sequential (in-process, no start-up)", load.pairs, seconds, ecr_calls(url), cpu), counts


def sample_aws_cli(url: str, load: Workload, environment: dict[str, str], *, samples: int) -> Timed:
    """``samples`` real ``aws ecr batch-check-layer-availability`` processes of 100 digests, timed one by one; the
    whole loop (one invocation per repository and chunk) is their mean × the calls the workload needs."""
    chunks = list(chunked(load.digests, MAX_DIGESTS_PER_CALL))
    durations = []
    for index in range(samples):
        command = [str(VENV_BIN / "aws"), "ecr", "batch-check-layer-availability", "--endpoint-url", url]
        command += ["--repository-name", load.repositories[index % len(load.repositories)], "--output", "json"]
        command += ["--layer-digests", *chunks[index % len(chunks)]]
        started = time.perf_counter()
        subprocess.run(command, env=environment, stdout=subprocess.DEVNULL, check=True)
        durations.append(time.perf_counter() - started)
    calls = len(load.repositories) * len(chunks)
    return Timed(
        f"AWS CLI loop (estimated: mean of {samples} invocations × {calls:,} calls)",
        load.pairs,
        statistics.mean(durations) * calls,
        calls,
    )


def cli_start_up_seconds(environment: dict[str, str], repeats: int = 3) -> float:
    """``layercheck --version``: the interpreter and the command line's imports, no check (median)."""
    durations = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([str(VENV_BIN / "layercheck"), "--version"], env=environment, capture_output=True, check=True)
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


# A client configured with a retry mode other than standard keeps the botocore client (integrations/ecr_lean.py):
# the same command line, on the path it took before the lean one, for a side-by-side row.
BOTOCORE_PATH = {"AWS_RETRY_MODE": "legacy"}


@dataclass(frozen=True)
class CliComparison:
    latency_seconds: float
    workers: int
    rate_cap: float
    load_pairs: int
    repositories: int
    digests: int
    minimum_calls: int
    cli: Timed
    cli_runs: list[float]
    botocore_cli: Timed
    boto3: Timed
    aws_cli: Timed
    split: Timed
    start_up_seconds: float
    summary_correct: bool
    boto3_correct: bool
    load_average: tuple[float, float]  # the 1-minute load average before and after the comparison


def compare(
    url: str,
    load: Workload,
    environment: dict[str, str],
    *,
    latency: float,
    workers: int,
    rate_cap: float,
    repeats: int,
    samples: int,
) -> CliComparison:
    """Every client against the same stand-in, one after the other in this run: the command line (median of
    ``repeats``, at ``rate_cap`` calls/s), the same command line on the botocore client, two processes sharing the cap,
    the sequential boto3 loop and the AWS CLI loop."""
    load_before = os.getloadavg()[0]
    standin_admin(url, "PUT", "latency", {"seconds": latency})
    capped = ("--max-calls-per-second", f"{rate_cap:g}")
    run_cli(url, load, environment, workers=workers, extra=capped)  # warm the page cache and byte-code
    runs = [run_cli(url, load, environment, workers=workers, extra=capped) for _ in range(repeats)]
    median = sorted(runs, key=lambda run: run[0].seconds)[len(runs) // 2]
    botocore_cli, botocore_answer = run_cli(
        url, load, {**environment, **BOTOCORE_PATH}, workers=workers, extra=capped, label=", botocore client"
    )
    expected = load.expected_summary()
    split = run_cli_split(url, load, environment, workers=workers, parts=2, rate_cap=rate_cap)
    boto3_run, counts = run_boto3_loop(url, load)
    aws_cli = sample_aws_cli(url, load, environment, samples=samples)
    return CliComparison(
        latency_seconds=latency,
        workers=workers,
        rate_cap=rate_cap,
        load_pairs=load.pairs,
        repositories=len(load.repositories),
        digests=len(load.digests),
        minimum_calls=load.minimum_calls,
        cli=median[0],
        cli_runs=[run[0].seconds for run in runs],
        botocore_cli=botocore_cli,
        boto3=boto3_run,
        aws_cli=aws_cli,
        split=split,
        start_up_seconds=cli_start_up_seconds(environment),
        summary_correct=all(run[1] == expected for run in runs) and botocore_answer == expected,
        boto3_correct=counts["available"] == expected["available"]
        and counts["layers"] + counts["failures"] == expected["checked"],
        load_average=(load_before, os.getloadavg()[0]),
    )
