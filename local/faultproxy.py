"""A latency- and fault-injecting HTTP proxy on 127.0.0.1, in front of the moto server.

The benchmarks put it between the AWS clients and moto so that every call pays a network round trip, as it would
against the real ECR endpoint, and the fault tests use it to answer a share of calls the way an overloaded AWS
endpoint does:

- ``ThrottlingException``: HTTP 400 with the AWS JSON 1.1 error body and headers, which botocore reads as a throttling
  error for a JSON-protocol service (ECR, DynamoDB) and retries with its throttling backoff;
- HTTP 503 (``ServiceUnavailableException``), a transient server error botocore also retries;
- a dropped connection: the request is read, then the socket is closed without an answer.

Whether a request is faulted is decided by a random draw seeded with (seed, request fingerprint, how many times that
request was seen): a retry of the same call gets a fresh draw, and a run with the same seed and the same requests gets
the same faults whatever order the client's threads send them in. The proxy counts requests per operation
(``X-Amz-Target``) and faults per kind, so a benchmark can count the ECR calls actually made at the wire.

``python -m local.faultproxy --upstream URL`` runs it on its own (the benchmarks do, so that it does not share the
measured process's interpreter lock); it prints its URL and is then steered through ``/__faultproxy__/`` endpoints.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import random
import signal
import socket
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from local.faults import (
    AMZ_JSON_1_1,
    DEFAULT_LATENCY_SECONDS,
    FaultKind,
    FaultPlan,
    ProxyStats,
    fault_response,
    operation_name,
)
from local.loopback import LoopbackRequestHandler

__all__ = [
    "AMZ_JSON_1_1",
    "DEFAULT_LATENCY_SECONDS",
    "FaultKind",
    "FaultPlan",
    "FaultProxy",
    "ProxyStats",
    "fault_response",
    "operation_name",
    "remote_reset",
    "remote_set_plan",
    "remote_stats",
]

ADMIN_PREFIX = "/__faultproxy__/"
# Headers that belong to one hop, never forwarded (RFC 9110 §7.6.1); Content-Length is recomputed.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "content-length"}
)


class FaultProxy:
    """``with FaultProxy(upstream_url, FaultPlan(...)) as proxy:`` point ``AWS_ENDPOINT_URL`` at ``proxy.url``."""

    def __init__(self, upstream_url: str, plan: FaultPlan | None = None, *, host: str = "127.0.0.1", port: int = 0):
        parts = urlsplit(upstream_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http:// URL, not {upstream_url!r}")
        self._upstream = (parts.hostname, parts.port or 80)
        self._plan = plan or FaultPlan()
        self._stats = ProxyStats()
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = _Server((host, port), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="fault-proxy")

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def plan(self) -> FaultPlan:
        return self._plan

    def set_plan(self, plan: FaultPlan) -> None:
        with self._lock:
            self._plan = plan

    def stats(self) -> ProxyStats:
        with self._lock:
            return self._stats.snapshot()

    def reset(self) -> None:
        """Forget the counts and the requests seen (the next run with the same seed draws the same faults)."""
        with self._lock:
            self._stats = ProxyStats()
            self._seen.clear()

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- decisions ---------------------------------------------------------------------------------------------------

    def decide(self, target: str | None, body: bytes) -> tuple[FaultKind | None, float]:
        """Count the request and draw its fate; returns (fault or None, latency to add)."""
        operation = operation_name(target)
        fingerprint = hashlib.sha256(f"{target}\n".encode() + body).hexdigest()
        with self._lock:
            plan = self._plan
            self._stats.requests[operation] += 1
            occurrence = self._seen[fingerprint]
            self._seen[fingerprint] += 1
            fault = self._draw(plan, target, body, fingerprint, occurrence)
            if fault is None:
                self._stats.forwarded[operation] += 1
            else:
                self._stats.faults[fault.value] += 1
                self._stats.faults_by_operation[operation] += 1
        return fault, plan.latency_seconds

    @staticmethod
    def _draw(plan: FaultPlan, target: str | None, body: bytes, fingerprint: str, occurrence: int) -> FaultKind | None:
        if plan.fault_targets and not (target and target.startswith(plan.fault_targets)):
            return None
        if plan.throttled_repositories and _repository_name(body) in plan.throttled_repositories:
            return FaultKind.THROTTLING
        draw = random.Random(f"{plan.seed}:{fingerprint}:{occurrence}").random()
        for kind, share in (
            (FaultKind.THROTTLING, plan.throttle_share),
            (FaultKind.UNAVAILABLE, plan.unavailable_share),
            (FaultKind.DROPPED, plan.drop_share),
        ):
            if draw < share:
                return kind
            draw -= share
        return None

    # -- admin ---------------------------------------------------------------------------------------------------------

    def admin(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        action = path.removeprefix(ADMIN_PREFIX).split("?", 1)[0]
        if method == "GET" and action == "stats":
            return 200, self.stats().to_json()
        if method == "GET" and action == "plan":
            return 200, asdict(self.plan)
        if method == "PUT" and action == "plan":
            try:
                self.set_plan(FaultPlan.from_json(json.loads(body or b"{}")))
            except (TypeError, ValueError) as error:
                return 400, {"message": str(error)}
            return 200, asdict(self.plan)
        if method == "POST" and action == "reset":
            self.reset()
            return 200, {}
        return 404, {"message": f"no admin action {method} {action}"}

    # -- the HTTP side -------------------------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self
        upstream_host, upstream_port = self._upstream

        class ForwardingHandler(LoopbackRequestHandler):
            _upstream: http.client.HTTPConnection | None = None

            def serve(self, body: bytes) -> None:
                if self.path.startswith(ADMIN_PREFIX):
                    status, document = proxy.admin(self.command, self.path, body)
                    self.answer(status, [("Content-Type", "application/json")], json.dumps(document).encode())
                    return
                fault, latency = proxy.decide(self.headers.get("X-Amz-Target"), body)
                if latency:
                    time.sleep(latency)
                if fault is FaultKind.DROPPED:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault is not None:
                    self.answer(*fault_response(fault))
                    return
                self.answer(*self._forward(body))

            def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
                headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP}
                for attempt in (1, 2):
                    # One upstream connection per client connection, re-opened once if the upstream closed it.
                    if self._upstream is None:
                        self._upstream = http.client.HTTPConnection(upstream_host, upstream_port, timeout=60)
                    try:
                        self._upstream.request(self.command, self.path, body=body, headers=headers)
                        response = self._upstream.getresponse()
                        payload = response.read()
                    except (OSError, http.client.HTTPException):
                        self._upstream.close()
                        self._upstream = None
                        if attempt == 2:
                            raise
                        continue
                    if response.will_close:
                        self._upstream.close()
                        self._upstream = None
                    forwarded = [(n, v) for n, v in response.getheaders() if n.lower() not in HOP_BY_HOP]
                    return response.status, forwarded, payload
                raise AssertionError("unreachable")

            def finish(self) -> None:
                super().finish()
                if self._upstream is not None:
                    self._upstream.close()

        return ForwardingHandler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Up to 64 workers connect at once; the default backlog of 5 would make some of them wait for a SYN retry.
    request_queue_size = 256


def _repository_name(body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    name = document.get("repositoryName") if isinstance(document, dict) else None
    return name if isinstance(name, str) else None


# -- a client for the admin endpoints, for a proxy in another process ------------------------------------------------


def remote_admin(proxy_url: str, method: str, action: str, document: dict[str, Any] | None = None) -> Any:
    parts = urlsplit(proxy_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
    try:
        body = json.dumps(document).encode() if document is not None else None
        connection.request(method, ADMIN_PREFIX + action, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        answer = json.loads(response.read() or b"null")
        if response.status != 200:
            raise RuntimeError(f"fault proxy refused {method} {action}: {answer}")
        return answer
    finally:
        connection.close()


def remote_stats(proxy_url: str) -> ProxyStats:
    return ProxyStats.from_json(remote_admin(proxy_url, "GET", "stats"))


def remote_set_plan(proxy_url: str, plan: FaultPlan) -> None:
    remote_admin(proxy_url, "PUT", "plan", asdict(plan))


def remote_reset(proxy_url: str) -> None:
    remote_admin(proxy_url, "POST", "reset", {})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--upstream", required=True, help="the moto server's URL, e.g. http://127.0.0.1:5000")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--latency-ms", type=float, default=DEFAULT_LATENCY_SECONDS * 1000)
    parser.add_argument("--throttle", type=float, default=0.0, help="share of requests answered ThrottlingException")
    parser.add_argument("--unavailable", type=float, default=0.0, help="share of requests answered HTTP 503")
    parser.add_argument("--drop", type=float, default=0.0, help="share of connections dropped without an answer")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args(argv)
    plan = FaultPlan(
        latency_seconds=arguments.latency_ms / 1000,
        throttle_share=arguments.throttle,
        unavailable_share=arguments.unavailable,
        drop_share=arguments.drop,
        seed=arguments.seed,
    )
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with FaultProxy(arguments.upstream, plan, port=arguments.port) as proxy:
        print(proxy.url, flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
