"""A fast stand-in for ECR's ``BatchCheckLayerAvailability`` and DynamoDB's ``BatchWriteItem`` on 127.0.0.1.

moto on the same two cores spends several milliseconds of CPU per 100-digest call, so against moto the benchmark
measures moto. This server answers from a rule instead (a digest is held unless a hash of (repository, digest) says
otherwise) and sleeps a fixed latency per call, as the network to ECR would: what is left to measure is the client.
It is a threaded HTTP/1.1 server (one thread per keep-alive connection, as botocore pools them), counts calls per
operation, and answers in the AWS JSON 1.1 protocol with ECR's and DynamoDB's real response shapes.

For the benchmarks only, never the tests: ``python -m bench.standin`` prints its URL, then is steered through
``/__standin__/`` (``GET stats``, ``POST reset``, ``PUT latency`` with ``{"seconds": 0.025}``).
"""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
import time
import zlib
from collections import Counter
from http.server import ThreadingHTTPServer
from types import FrameType
from typing import Any

from local.faults import AMZ_JSON_1_1, operation_name
from local.lambda_context import LOCAL_ACCOUNT_ID
from local.loopback import LoopbackRequestHandler

ADMIN_PREFIX = "/__standin__/"
LAYER_SIZE = 2_757_421
LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
# One (repository, digest) pair in MISSING_EVERY is missing: the answer mixes Layer and LayerFailure entries.
MISSING_EVERY = 5
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")


def is_held(repository: str, digest: str) -> bool:
    """The stand-in's registry: a pair is held unless its CRC-32 is a multiple of ``MISSING_EVERY``."""
    return zlib.crc32(f"{repository}\n{digest}".encode()) % MISSING_EVERY != 0


def layer_availability(request: dict[str, Any]) -> dict[str, Any]:
    """ECR's answer shape: ``layers`` for held digests, ``failures`` for missing and malformed ones."""
    repository = request["repositoryName"]
    layers: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for digest in request["layerDigests"]:
        if _DIGEST.fullmatch(digest) is None:
            failures.append(
                {
                    "layerDigest": digest,
                    "failureCode": "InvalidLayerDigest",
                    "failureReason": f"Invalid layer digest '{digest}'",
                }
            )
        elif is_held(repository, digest):
            layers.append(
                {
                    "layerDigest": digest,
                    "layerAvailability": "AVAILABLE",
                    "layerSize": LAYER_SIZE,
                    "mediaType": LAYER_MEDIA_TYPE,
                }
            )
        else:
            failures.append(
                {
                    "layerDigest": digest,
                    "failureCode": "MissingLayerDigest",
                    "failureReason": "The image layer could not be found in the repository.",
                }
            )
    return {"layers": layers, "failures": failures}


class StandIn:
    def __init__(self, latency_seconds: float = 0.025) -> None:
        self.latency_seconds = latency_seconds
        self.calls: Counter[str] = Counter()
        self.items: Counter[str] = Counter()
        self._lock = threading.Lock()

    def answer(self, target: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
        operation = operation_name(target)
        request = json.loads(body or b"{}")
        with self._lock:
            self.calls[operation] += 1
            latency = self.latency_seconds
        if latency:
            time.sleep(latency)
        if operation == "BatchCheckLayerAvailability":
            with self._lock:
                self.items[operation] += len(request["layerDigests"])
            return 200, layer_availability(request)
        if operation == "BatchWriteItem":
            with self._lock:
                self.items[operation] += sum(len(puts) for puts in request["RequestItems"].values())
            return 200, {"UnprocessedItems": {}}
        if operation == "DescribeRegistry":
            return 200, {"registryId": LOCAL_ACCOUNT_ID, "replicationConfiguration": {"rules": []}}
        return 400, {"__type": "UnknownOperationException", "message": f"the stand-in does not serve {operation}"}

    def admin(self, method: str, action: str, body: bytes) -> tuple[int, Any]:
        with self._lock:
            if method == "GET" and action == "stats":
                return 200, {"calls": dict(self.calls), "items": dict(self.items)}
            if method == "POST" and action == "reset":
                self.calls.clear()
                self.items.clear()
                return 200, {}
            if method == "PUT" and action == "latency":
                self.latency_seconds = float(json.loads(body)["seconds"])
                return 200, {"seconds": self.latency_seconds}
        return 404, {"message": f"no admin action {method} {action}"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512


def serve(latency_seconds: float) -> int:
    stand_in = StandIn(latency_seconds)

    class Handler(LoopbackRequestHandler):
        def serve(self, body: bytes) -> None:
            if self.path.startswith(ADMIN_PREFIX):
                status, document = stand_in.admin(self.command, self.path.removeprefix(ADMIN_PREFIX), body)
                self.answer(status, [("Content-Type", "application/json")], json.dumps(document).encode())
                return
            status, document = stand_in.answer(self.headers.get("X-Amz-Target"), body)
            headers = [("Content-Type", AMZ_JSON_1_1), ("x-amzn-RequestId", "standin")]
            if status != 200:
                headers.append(("x-amzn-ErrorType", f"{document['__type']}:"))
            self.answer(status, headers, json.dumps(document, separators=(",", ":")).encode())

    server = _Server(("127.0.0.1", 0), Handler)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    print(f"http://{host!s}:{port}", flush=True)
    stop.wait()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(serve(float(sys.argv[1]) if len(sys.argv) > 1 else 0.025))
