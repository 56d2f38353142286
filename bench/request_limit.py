"""Measures how long ``POST /checks`` takes as the request grows, to choose the API's maximum (``MAX_PAIRS``).

The handler runs in this process behind the local API Gateway; moto and the latency proxy run in their own processes
so that they do not share this interpreter's lock. Every AWS call (ECR and DynamoDB) pays the proxy's latency.

``python -m bench.request_limit [--latency-ms 50]`` prints one row per request size and the projected time on a
Lambda function of 1,024 MB, which gets about 0.58 of a vCPU (Lambda allocates CPU in proportion to memory, a full
vCPU at 1,769 MB): projected = wall time + CPU time × (1 / 0.58 - 1).
"""

from __future__ import annotations

import argparse
import resource
import time

from local.faultproxy import FaultPlan
from local.seed import blob, digest_of

LAMBDA_VCPU_SHARE_AT_1024_MB = 1024 / 1769
API_GATEWAY_TIMEOUT_SECONDS = 29
SIZES = [(10, 100), (25, 200), (50, 100), (50, 200), (100, 100), (20, 1000)]  # (repositories, digests)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="latency per AWS call (default 50)")
    arguments = parser.parse_args(argv)

    from bench.servers import moto_process, proxy_process
    from layercheck.models import api as api_models
    from local.adapter import LocalApiGateway, json_request
    from local.environment import create_results_table, lambda_environment, patched_environ

    api_models.MAX_PAIRS = 100_000  # measure beyond the limit being chosen
    repositories = [f"team-{i}/service" for i in range(100)]
    held = {name: [f"layer-{j}" for j in range(10)] for name in repositories}
    with (
        moto_process(held, layer_size=256) as moto_url,
        proxy_process(moto_url, FaultPlan(latency_seconds=arguments.latency_ms / 1000)) as proxy_url,
        patched_environ(lambda_environment(proxy_url)),
    ):
        create_results_table(moto_url)
        from layercheck.handler import lambda_handler

        with LocalApiGateway(lambda_handler, stdout_sink=[]) as api:
            print(f"latency per AWS call: {arguments.latency_ms:.0f} ms; Lambda 1,024 MB ≈ 0.58 vCPU")
            print(f"{'repos':>5} {'digests':>7} {'pairs':>6} {'wall s':>7} {'cpu s':>6} {'Lambda s':>8} {'resp MB':>7}")
            for repository_count, digest_count in SIZES:
                digests = [digest_of(blob(f"layer-{j}")) for j in range(digest_count)]
                body = {"repositoryNames": repositories[:repository_count], "layerDigests": digests}
                cpu, start = _cpu_seconds(), time.perf_counter()
                status, answer = json_request(f"{api.url}/checks", "POST", body, timeout=300)
                wall, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
                if status != 200:
                    print(f"{repository_count:>5} {digest_count:>7}: HTTP {status} {answer}")
                    continue
                projected = wall + cpu * (1 / LAMBDA_VCPU_SHARE_AT_1024_MB - 1)
                size_mb = len(str(answer).encode()) / 1e6
                pairs = answer["summary"]["checked"]
                print(
                    f"{repository_count:>5} {digest_count:>7} {pairs:>6} {wall:>7.2f} {cpu:>6.2f} {projected:>8.2f}"
                    f" {size_mb:>7.2f}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
