"""Measures how long ``POST /checks`` takes as the request grows, to choose the API's maximum (``MAX_PAIRS``).

The handler runs in this process behind the local API Gateway; moto and the latency proxy run in their own processes
so that they do not share this interpreter's lock. Every AWS call (ECR and DynamoDB) pays the proxy's latency.

``python -m bench.request_limit [--latency-ms 50]`` prints one row per request size and the projected time on a
Lambda function of 1,024 MB, which gets about 0.58 of a vCPU (Lambda allocates CPU in proportion to memory, a full
vCPU at 1,769 MB): projected = wall time + CPU time × (1 / 0.58 - 1).

``python -m bench.request_limit --answer-size`` prints instead the worst-case size of the answer of the largest
request the API takes (``MAX_PAIRS`` pairs, every one a failure carrying the longest error text ECR can send), as
Lambda counts it: the whole proxy response JSON, against its 6 MB (6,291,556 bytes) limit. No server is needed:
the handler runs in-process over fakes of the ECR port and the results store.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local.faultproxy import FaultPlan
from local.seed import blob, digest_of

if TYPE_CHECKING:
    from layercheck.models.identifiers import ValidDigest

LAMBDA_VCPU_SHARE_AT_1024_MB = 1024 / 1769
API_GATEWAY_TIMEOUT_SECONDS = 29
SIZES = [(10, 100), (25, 200), (50, 100), (50, 200), (100, 100), (20, 1000)]  # (repositories, digests)


# Lambda's limit on a synchronous invocation's response: 6 MB, counted on the serialized proxy response.
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
LAMBDA_RESPONSE_LIMIT_BYTES = 6_291_556
# The longest plausible ECR error text: an IAM AccessDenied message naming an assumed-role session, the repository
# ARN (a 256-character name) and an explicit deny in a service control policy is about 600 characters; 2,048 leaves
# room for messages we have not seen (the issue measured ~1-2 KB). Plus an adversarial text of the same length that
# costs the most once escaped: quotes (4 bytes each) and characters outside the BMP (14 bytes each).
ACCESS_DENIED = (
    "User: arn:aws:sts::123456789012:assumed-role/" + "R" * 64 + "/" + "s" * 64 + " is not authorized to perform: "
    "ecr:BatchCheckLayerAvailability on resource: arn:aws:ecr:ap-southeast-4:123456789012:repository/"
    + "n" * 256
    + " with an explicit deny in a service control policy: arn:aws:organizations::123456789012:policy/o-"
    + "a" * 32
    + "/service_control_policy/p-"
    + "b" * 32
    + ". "
).ljust(2048, "x")
ADVERSARIAL = ('"\\\U0001f600\x00' * 512)[:2048]  # a quote, a backslash, an emoji, a NUL


@dataclass(frozen=True)
class WorstCase:
    label: str
    repositories: int
    digests: int
    code: str
    message: str


# API Gateway's sample proxy event, shared with the tests (data only).
SAMPLE_EVENTS = Path(__file__).resolve().parents[1] / "tests" / "events"


def worst_cases() -> list[WorstCase]:
    from layercheck.models.api import MAX_LAYER_DIGESTS, MAX_PAIRS

    shapes = [(MAX_PAIRS // MAX_LAYER_DIGESTS, MAX_LAYER_DIGESTS), (100, MAX_PAIRS // 100)]
    return [
        WorstCase(f"{label}, {repositories} × {digests}", repositories, digests, code, message)
        for repositories, digests in shapes
        for label, code, message in (
            ("AccessDenied 2,048 chars", "AccessDeniedException", ACCESS_DENIED),
            ("adversarial text", "E" * 40 + '"' * 200, ADVERSARIAL),
        )
    ]


def worst_case_response_bytes(case: WorstCase) -> int:
    """The proxy response of ``POST /checks`` for ``case``: each repository name 256 characters, each digest a
    135-character sha512 digest (well-formed, so it is "sent"), every call refused for its whole repository. The size
    is the larger of the two ways a runtime may write the response (ASCII escapes or UTF-8)."""
    from layercheck.errors import RepositoryCheckError
    from layercheck.handler import lambda_handler
    from layercheck.logic.layer_check import LayerCheckService
    from local.lambda_context import FakeLambdaContext

    class RefusingRegistry:
        def batch_check_layer_availability(
            self, registry_id: str, repository_name: str, digests: Sequence[ValidDigest]
        ) -> Any:
            raise RepositoryCheckError(case.code, case.message)

    class DiscardingStore:
        def put_verdicts(self, items: Any) -> int:
            return len(items)

    from layercheck import dependencies
    from layercheck.logic.registries import Registry
    from layercheck.registry_services import ServedRegistry

    service = LayerCheckService(RefusingRegistry(), DiscardingStore(), region="us-east-1")

    def unused() -> Any:
        raise AssertionError("POST /checks reads only the layer checks of what it is served")

    def serve(registry_id: str, region: str) -> ServedRegistry:
        registry = Registry(account_id=registry_id, region=region)
        ecr: Any = RefusingRegistry()
        return ServedRegistry(registry, ecr, lambda: service, image_checks=unused, lifecycle=unused)

    door = vars(dependencies)  # hand the doors Services that serve the fake layer checks, and back
    original = door["services"]
    door["services"] = lambda own: dependencies.Services(own, serve=serve)
    try:
        event = json.loads((SAMPLE_EVENTS / "api_gateway_rest_proxy.json").read_text())
        event["body"] = json.dumps(
            {
                "repositoryNames": [f"{i:03d}" + "a" * 253 for i in range(case.repositories)],
                "layerDigests": [f"sha512:{i:0128x}" for i in range(case.digests)],
            }
        )
        response = lambda_handler(event, FakeLambdaContext())
    finally:
        door["services"] = original
    assert response["statusCode"] == 200, response["body"][:500]
    return max(len(json.dumps(response).encode()), len(json.dumps(response, ensure_ascii=False).encode()))


def print_answer_sizes() -> None:
    print(f"Lambda response limit: {LAMBDA_RESPONSE_LIMIT_BYTES:,} bytes (the whole proxy response JSON)")
    for case in worst_cases():
        size = worst_case_response_bytes(case)
        print(f"{case.label:<45} {size:>10,} bytes  {size / LAMBDA_RESPONSE_LIMIT_BYTES:6.1%} of the limit")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="latency per AWS call (default 50)")
    parser.add_argument("--answer-size", action="store_true", help="print the worst-case answer sizes and stop")
    arguments = parser.parse_args(argv)
    if arguments.answer_size:
        print_answer_sizes()
        return 0

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
                size_mb = len(json.dumps(json.dumps(answer))) / 1e6  # the body, inside the proxy response
                pairs = answer["summary"]["checked"]
                print(
                    f"{repository_count:>5} {digest_count:>7} {pairs:>6} {wall:>7.2f} {cpu:>6.2f} {projected:>8.2f}"
                    f" {size_mb:>7.2f}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
