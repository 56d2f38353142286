"""CPU per stored pair of ``POST /checks``, beside the CPU of the bare boto3 calls the same request makes.

A fresh ``python -m bench.cpu_per_pair`` process imports the handler with the function's environment pointed at the
stand-in (``bench/standin.py``, no latency: CPU is what is measured) and sends it a 10,000-pair ``POST /checks``
(check in ECR, store every pair in DynamoDB) several times. In the same process, the bare calls: the same
``BatchCheckLayerAvailability`` requests (one per 100 distinct valid digests and repository) and the same
``BatchWriteItem`` requests with their items already in DynamoDB's JSON form, one after the other on one boto3 client
each. Process CPU (every thread) is read from ``getrusage``; the minimum of the repeats is kept, as the runs share
two cores with the stand-in and everything else on the machine, and noise only ever adds CPU.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
REPEATS = 5


@dataclass(frozen=True)
class CpuPerPair:
    pairs: int
    stored: int
    ecr_calls: int
    write_calls: int
    handler_cpu_seconds: float
    bare_cpu_seconds: float
    ecr_cpu_seconds: float
    write_cpu_seconds: float

    @property
    def ratio(self) -> float:
        return self.handler_cpu_seconds / self.bare_cpu_seconds


def measure(repositories: list[str], digests: list[str], environment: dict[str, str]) -> CpuPerPair:
    """``environment`` is the function's (``local.environment.lambda_environment``), pointed at the stand-in."""
    completed = subprocess.run(
        [PYTHON, "-m", "bench.cpu_per_pair"],
        input=json.dumps({"repositories": repositories, "digests": digests}),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, **environment},
    )
    return CpuPerPair(**json.loads(completed.stdout.strip().splitlines()[-1]))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _least_cpu(action: Callable[[], object], repeats: int = REPEATS) -> float:
    spent = []
    for _ in range(repeats):
        started = _cpu_seconds()
        action()
        spent.append(_cpu_seconds() - started)
    return min(spent)


def _bare_calls(
    repositories: list[str], digests: list[str], answer: dict[str, Any]
) -> tuple[Callable[[], None], Callable[[], None], dict[str, int]]:
    """The same requests as the handler's, built before the clock starts (ECR's chunks and DynamoDB's items in their
    wire form), as two timed actions, and how many calls and items they make."""
    import boto3

    from layercheck.integrations.results_table import to_dynamodb
    from layercheck.logic.chunks import chunked
    from layercheck.logic.digests import MAX_DIGESTS_PER_CALL, AskedDigests
    from layercheck.models.stored import Source, layer_verdicts, utc_now
    from layercheck.models.verdicts import RepositoryResult
    from local.environment import RESULTS_TABLE_NAME
    from local.lambda_context import LOCAL_REGION

    valid = list(AskedDigests.of(digests).valid)
    checks = [(name, chunk) for name in repositories for chunk in chunked(valid, MAX_DIGESTS_PER_CALL)]
    results = [RepositoryResult.model_validate(result) for result in answer["results"]]
    verdicts = layer_verdicts(
        results, source=Source.API, checked_at=utc_now(), ttl_days=30, region=LOCAL_REGION, check_id=answer["checkId"]
    )
    items = [to_dynamodb(verdict) for verdict in verdicts]  # the function's own items, byte for byte
    writes = [{RESULTS_TABLE_NAME: [{"PutRequest": {"Item": item}} for item in batch]} for batch in chunked(items, 25)]
    ecr, dynamodb = boto3.client("ecr"), boto3.client("dynamodb")
    ecr.batch_check_layer_availability(repositoryName=repositories[0], layerDigests=valid[:1])
    dynamodb.batch_write_item(RequestItems=writes[0])

    def check() -> None:
        for name, chunk in checks:
            ecr.batch_check_layer_availability(repositoryName=name, layerDigests=chunk)

    def store() -> None:
        for write in writes:
            dynamodb.batch_write_item(RequestItems=write)

    return check, store, {"stored": len(items), "ecr": len(checks), "write": len(writes)}


def _child() -> int:

    from layercheck.handler import lambda_handler
    from local.adapter import proxy_event
    from local.lambda_context import FakeLambdaContext

    request = json.loads(sys.stdin.read())
    repositories: list[str] = request["repositories"]
    body = json.dumps({"repositoryNames": repositories, "layerDigests": request["digests"]}).encode()
    event = proxy_event("POST", "/checks", [("Content-Type", "application/json")], body)
    answers: list[dict[str, Any]] = []

    def invoke() -> None:
        with contextlib.redirect_stdout(io.StringIO()):  # EMF metrics and logs
            response = lambda_handler(event, FakeLambdaContext())
        if response["statusCode"] != 200:
            raise RuntimeError(f"the check failed: {response}")
        answers.append(json.loads(response["body"]))

    invoke()  # clients created, connections opened: what a warm container has
    handler_cpu = _least_cpu(invoke)
    answer = answers[-1]

    check, store, calls = _bare_calls(repositories, request["digests"], answer)
    ecr_cpu, write_cpu = _least_cpu(check), _least_cpu(store)
    print(
        json.dumps(
            {
                "pairs": answer["summary"]["checked"],
                "stored": calls["stored"],
                "ecr_calls": calls["ecr"],
                "write_calls": calls["write"],
                "handler_cpu_seconds": handler_cpu,
                "bare_cpu_seconds": ecr_cpu + write_cpu,
                "ecr_cpu_seconds": ecr_cpu,
                "write_cpu_seconds": write_cpu,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(_child())
