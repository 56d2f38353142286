"""A local HTTP server on 127.0.0.1 that answers from a script and records every request it receives.

For answers moto never gives (each of ECR's error codes, a proxy's HTML 502, a dropped connection, a slow answer):
a test plays the same script to two clients and compares what each one sent and what each one made of the answers.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from local.faults import AMZ_JSON_1_1
from local.loopback import LoopbackRequestHandler


@dataclass(frozen=True)
class Scripted:
    """One answer: a status, headers and body; or, with ``drop``, the connection closed without an answer."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("Content-Type", AMZ_JSON_1_1), ("x-amzn-RequestId", "scripted"))
    delay_seconds: float = 0.0
    drop: bool = False


def ecr_answer(document: Any) -> Scripted:
    return Scripted(200, json.dumps(document).encode())


def ecr_error(code: str, message: str, status: int = 400) -> Scripted:
    """An error as ECR sends it in the AWS JSON 1.1 protocol: ``__type`` and ``message`` in the body."""
    headers = (("Content-Type", AMZ_JSON_1_1), ("x-amzn-RequestId", "scripted"), ("x-amzn-ErrorType", f"{code}:"))
    return Scripted(status, json.dumps({"__type": code, "message": message}).encode(), headers)


DROPPED = Scripted(drop=True)


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


@dataclass
class ScriptedEcr:
    """``with ScriptedEcr() as server: server.play([...])``; ``server.seen`` lists the requests since the last play."""

    script: deque[Scripted] = field(default_factory=deque)
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="scripted-ecr")

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def play(self, answers: list[Scripted]) -> None:
        with self._lock:
            self.script = deque(answers)
            self.seen = []

    def unplayed(self) -> int:
        with self._lock:
            return len(self.script)

    def __enter__(self) -> ScriptedEcr:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, seen: Seen) -> Scripted:
        with self._lock:
            self.seen.append(seen)
            if not self.script:
                return ecr_error("ScriptExhausted", "the test's script has no answer left", 418)
            return self.script.popleft()

    def _handler_class(self) -> type[LoopbackRequestHandler]:
        server = self

        class Handler(LoopbackRequestHandler):
            def serve(self, body: bytes) -> None:
                headers = {name.lower(): value for name, value in self.headers.items()}
                answer = server._next(Seen(self.command, self.path, headers, body))
                if answer.delay_seconds:
                    time.sleep(answer.delay_seconds)
                if answer.drop:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                with contextlib.suppress(ConnectionError):  # a client that timed out has gone
                    self.answer(answer.status, list(answer.headers), answer.body)

        return Handler
