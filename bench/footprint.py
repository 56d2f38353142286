"""Size and memory: the Lambda asset as the stack packages it, and the peak RSS of a 10,000-pair API check.

The memory run is a fresh ``python -m bench.footprint`` process that imports the handler and sends it the API Gateway
event for ``POST /checks`` (check in ECR, store in DynamoDB, both behind the latency proxy), so its peak RSS is the
function's own: moto and the proxy live in other processes.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ASSET_ROOT = ROOT / "lambda_src"
PYTHON = sys.executable


@dataclass(frozen=True)
class AssetSize:
    files: int
    bytes: int
    zipped_bytes: int


def asset_files() -> list[Path]:
    """What ``Code.from_asset("lambda_src", exclude=ASSET_EXCLUDES)`` ships: the package's ``.py`` files."""
    return sorted(path for path in (ASSET_ROOT / "layercheck").rglob("*.py") if "__pycache__" not in path.parts)


def asset_size() -> AssetSize:
    files = asset_files()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(ASSET_ROOT))
    return AssetSize(len(files), sum(path.stat().st_size for path in files), len(buffer.getvalue()))


@dataclass(frozen=True)
class MemoryRun:
    pairs: int
    rss_after_import_mb: float
    peak_rss_mb: float
    first_invocation_seconds: float
    warm_invocation_seconds: float
    warm_invocation_cpu_seconds: float
    small_pairs: int
    small_invocation_seconds: float
    small_invocation_cpu_seconds: float
    stored_item_bytes: int


def measure_memory(
    repositories: list[str], digests: list[str], small_digests: int, environment: dict[str, str]
) -> MemoryRun:
    """``environment`` is the function's (``local.environment.lambda_environment``), pointed at the proxy."""
    request = {"repositories": repositories, "digests": digests, "small_digests": small_digests}
    completed = subprocess.run(
        [PYTHON, "-m", "bench.footprint"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, **environment},
    )
    return MemoryRun(**json.loads(completed.stdout.strip().splitlines()[-1]))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _current_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _invoke(handler: Any, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    from local.adapter import proxy_event
    from local.lambda_context import FakeLambdaContext

    event = proxy_event("POST", "/checks", [("Content-Type", "application/json")], json.dumps(body).encode())
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # EMF metrics and logs
        response = handler(event, FakeLambdaContext())
    seconds = time.perf_counter() - started
    if response["statusCode"] != 200:
        raise RuntimeError(f"the check failed: {response}")
    return seconds, json.loads(response["body"])


def _child() -> int:
    request = json.loads(sys.stdin.read())
    from layercheck.handler import lambda_handler
    from layercheck.integrations.results_table import to_dynamodb
    from layercheck.models.stored import layer_verdicts, utc_now
    from layercheck.models.verdicts import RepositoryResult

    rss_after_import = _current_rss_mb()
    body = {"repositoryNames": request["repositories"], "layerDigests": request["digests"]}
    first, answer = _invoke(lambda_handler, body)
    peak = _peak_rss_mb()
    cpu = _cpu_seconds()
    warm, _ = _invoke(lambda_handler, body)
    warm_cpu = _cpu_seconds() - cpu
    small_body = {
        "repositoryNames": request["repositories"][:1],
        "layerDigests": request["digests"][: request["small_digests"]],
    }
    cpu = _cpu_seconds()
    small = sorted(_invoke(lambda_handler, small_body)[0] for _ in range(5))[2]
    small_cpu = (_cpu_seconds() - cpu) / 5
    # DynamoDB bills a write by item size (attribute names + values, 1 KB per write unit); this slightly over-counts.
    results = [RepositoryResult.model_validate(result) for result in answer["results"][:1]]
    verdict = layer_verdicts(
        results,
        source=_api_source(),
        checked_at=utc_now(),
        ttl_days=30,
        region=os.environ["AWS_REGION"],
        check_id=answer["checkId"],
    )[0]
    item_bytes = sum(len(name) + len(json.dumps(value)) for name, value in to_dynamodb(verdict).items())
    print(
        json.dumps(
            {
                "pairs": answer["summary"]["checked"],
                "rss_after_import_mb": rss_after_import,
                "peak_rss_mb": peak,
                "first_invocation_seconds": first,
                "warm_invocation_seconds": warm,
                "warm_invocation_cpu_seconds": warm_cpu,
                "small_pairs": len(small_body["layerDigests"]),
                "small_invocation_seconds": small,
                "small_invocation_cpu_seconds": small_cpu,
                "stored_item_bytes": item_bytes,
            }
        )
    )
    return 0


def _api_source() -> Any:
    from layercheck.models.stored import Source

    return Source.API


if __name__ == "__main__":
    sys.exit(_child())
