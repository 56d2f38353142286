"""What every local HTTP stand-in (the API Gateway adapter, the fault proxy) needs from its request handler."""

from __future__ import annotations

import socket
from http.server import BaseHTTPRequestHandler
from typing import Any


class LoopbackRequestHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no Nagle delay, no access log; subclasses implement ``serve(body)``."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in two writes; without TCP_NODELAY, Nagle's algorithm holds the body until the
        # client's delayed ACK (40 ms on Linux), and every request would pay it.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def serve(self, body: bytes) -> None:
        raise NotImplementedError

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.serve(self.rfile.read(length) if length else b"")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

    def answer(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        """Send a complete response; the handler's own Content-Length and Connection headers are recomputed."""
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass
