"""Running ``layercheck`` as a user runs it: the installed console script in a subprocess, from a clean environment
(``env -i`` style: no AWS variable, HOME an empty directory, so no ~/.aws either), given only what each case adds.

Also a stand-in for an AWS endpoint that refuses every call as AWS refuses a caller without the IAM permission.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path

from local.faults import AMZ_JSON_1_1
from local.loopback import LoopbackRequestHandler
from tests.cli.conftest import LAYERCHECK, Run

MOTO_ACCOUNT = "123456789012"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """Nothing of AWS but what the case gives. ``AWS_EC2_METADATA_DISABLED`` keeps botocore from asking the instance
    metadata service (169.254.169.254) for credentials: that is off loopback, and no laptop has one."""
    return {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "AWS_EC2_METADATA_DISABLED": "true", **extra}


def moto_env(home: Path, endpoint_url: str, region: str = "us-east-1", **extra: str) -> dict[str, str]:
    """A shell pointed at the moto server as ``make serve``'s exports point one: credentials moto accepts."""
    return clean_env(home, AWS_ENDPOINT_URL=endpoint_url, AWS_DEFAULT_REGION=region, **FAKE_CREDENTIALS, **extra)


def layercheck(args: Sequence[str], env: dict[str, str], stdin: bytes | None = None, cwd: Path | None = None) -> Run:
    completed = subprocess.run(
        [LAYERCHECK, *args], input=stdin, capture_output=True, env=env, cwd=cwd, timeout=120, check=False
    )
    return Run(completed.returncode, completed.stdout, completed.stderr)


def unused_port() -> int:
    """A port nothing listens on (bound, then released): a connection to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Refusal(LoopbackRequestHandler):
    def serve(self, body: bytes) -> None:
        rest_json = self.path.startswith("/20")  # Lambda's REST paths are dated (/2015-03-31/functions)
        message = "User: arn:aws:iam::123456789012:user/ci is not authorized to perform this action"
        payload = json.dumps({"__type": "AccessDeniedException", "message": message, "Message": message}).encode()
        headers = [("Content-Type", "application/json" if rest_json else AMZ_JSON_1_1),
                   ("x-amzn-ErrorType", "AccessDeniedException:"), ("x-amzn-RequestId", "denied-1")]  # fmt: skip
        self.answer(403 if rest_json else 400, headers, payload)


@contextmanager
def access_denied_endpoint() -> Iterator[str]:
    """Stands for real AWS answering a caller whose policies do not allow the action: ECS (AWS JSON 1.1) answers 400
    ``AccessDeniedException``, Lambda (REST-JSON) 403 ``AccessDeniedException``, each with the error type header."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusal)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
