"""A local stand-in for API Gateway (REST, Lambda proxy integration) in front of the real handler.

It builds the complete proxy event API Gateway would send (requestContext with stage and requestId, multi-value headers
and query strings, base64 bodies that are not UTF-8 text), calls ``layercheck.handler.lambda_handler`` in-process, and
turns the proxy response back into HTTP. Like API Gateway, it answers 502 when the handler raises or returns garbage.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from local.lambda_context import LOCAL_ACCOUNT_ID, FakeLambdaContext
from local.loopback import LoopbackRequestHandler

Handler = Callable[[dict[str, Any], Any], Any]
STAGE = "local"
API_ID = "layercheck-local"


class LineSink(Protocol):
    def extend(self, lines: Iterable[str], /) -> None: ...


@dataclass(frozen=True)
class AccessRecord:
    """One request as an access log sees it."""

    client: str
    method: str
    path: str
    status: int
    size: int
    milliseconds: float


def proxy_event(
    method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes, *, source_ip: str = "127.0.0.1"
) -> dict[str, Any]:
    """The API Gateway REST proxy event for one HTTP request (the ``{proxy+}`` resource of a LambdaRestApi)."""
    parts = urlsplit(raw_path)
    path = parts.path or "/"
    query = parse_qsl(parts.query, keep_blank_values=True)
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        multi_query.setdefault(name, []).append(value)
    try:
        text: str | None = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    now = time.time()
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {name: values[-1] for name, values in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": {"proxy": path.lstrip("/")} if path != "/" else None,
        "stageVariables": None,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": API_ID,
            "resourceId": "proxy",
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "extendedRequestId": str(uuid.uuid4()),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "protocol": "HTTP/1.1",
            "domainName": "127.0.0.1",
            "identity": {"sourceIp": source_ip, "userAgent": multi_headers.get("User-Agent", [""])[-1]},
        },
        "body": (text if text is not None else base64.b64encode(body).decode()) if body else None,
        "isBase64Encoded": bool(body) and text is None,
    }


@contextlib.contextmanager
def _captured_stdout(sink: LineSink | None) -> Iterator[None]:
    """Powertools prints EMF metrics and logs to stdout; the demo collects them instead of interleaving them."""
    if sink is None:
        yield
        return
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        yield
    sink.extend(line for line in buffer.getvalue().splitlines() if line.strip())


class LocalApiGateway:
    """``with LocalApiGateway(handler) as api: api.url`` serves the handler on 127.0.0.1 on a free port."""

    def __init__(
        self,
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        stdout_sink: LineSink | None = None,
        on_request: Callable[[AccessRecord], None] | None = None,
    ):
        """Binds the port now (``OSError`` when it is taken); serves from ``start()`` or ``with``."""
        self._handler = handler
        self._stdout_sink = stdout_sink
        self._on_request = on_request
        # One invocation at a time, as in one Lambda execution environment: the handler keeps per-invocation state in
        # module globals (Powertools' current event, pending metrics), and redirect_stdout is process-wide.
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._request_handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="local-api-gateway")

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def __enter__(self) -> LocalApiGateway:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def invoke(self, event: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        """Call the handler as API Gateway would and translate its proxy response (502 on any malformation)."""
        try:
            with self._lock, _captured_stdout(self._stdout_sink):
                response = self._handler(event, FakeLambdaContext())
            return _http_response(response)
        except Exception as error:  # API Gateway turns every handler failure into 502, so does its stand-in
            print(f"local adapter: handler failed: {type(error).__name__}: {error}", flush=True)
            return 502, [("Content-Type", "application/json")], b'{"message": "Internal server error"}'

    def _request_handler_class(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class ProxyRequestHandler(LoopbackRequestHandler):
            def serve(self, body: bytes) -> None:
                started = time.perf_counter()
                event = proxy_event(
                    self.command, self.path, list(self.headers.items()), body, source_ip=self.client_address[0]
                )
                status, headers, payload = gateway.invoke(event)
                if gateway._on_request is not None:  # logged before answering: the line is out when the caller reads
                    elapsed = (time.perf_counter() - started) * 1000
                    record = AccessRecord(
                        self.client_address[0], self.command, self.path, status, len(payload), elapsed
                    )
                    gateway._on_request(record)
                self.answer(status, headers, payload)

        return ProxyRequestHandler


def _http_response(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    if not isinstance(response, dict) or not isinstance(response.get("statusCode"), int):
        raise ValueError(f"malformed Lambda proxy response: {str(response)[:200]}")
    headers: list[tuple[str, str]] = list((response.get("headers") or {}).items())
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(value)) for value in values)
    body = response.get("body") or ""
    payload = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode()
    return response["statusCode"], headers, payload


def json_request(url: str, method: str = "GET", payload: Any = None, *, timeout: float = 60) -> tuple[int, Any]:
    """A tiny HTTP client for the demo and tests: JSON in, (status, parsed JSON) out."""
    data = None if payload is None else (payload if isinstance(payload, bytes) else json.dumps(payload).encode())
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
