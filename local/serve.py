"""``make serve``: the local API on 127.0.0.1 for manual calls, until Ctrl-C. Seeds the demo's registry and images.

The banner prints ready-to-paste ``export NAME=value`` lines that point the AWS SDKs, the AWS CLI and ``layercheck`` at
the local moto server (its port changes on every start), and the API's URL. Each request then prints one access line.
Set ``LAYERCHECK_PORT`` to choose the API's port (default 3000).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import boto3

from local.adapter import AccessRecord, LocalApiGateway
from local.command_line import path_export
from local.environment import create_results_table, lambda_environment, moto_server, patched_environ
from local.lambda_context import LOCAL_REGION
from local.scenario import SeededImages, demo_request, seed_images, seed_registry

PORT_VARIABLE = "LAYERCHECK_PORT"
DEFAULT_PORT = 3000
API_URL_VARIABLE = "LAYERCHECK_API_URL"
# The fake credentials moto accepts; the same pair the Lambda gets locally (local/environment.py).
LOCAL_ACCESS_KEY_ID = "testing"
LOCAL_SECRET_ACCESS_KEY = "testing"


class ServeSetupError(Exception):
    """A one-line reason ``make serve`` cannot start (printed instead of a traceback)."""


class PortTakenError(ServeSetupError):
    def __init__(self, port: int) -> None:
        super().__init__(
            f"make serve: port {port} on 127.0.0.1 is already in use; set {PORT_VARIABLE} to a free port "
            f"({PORT_VARIABLE}={port + 1} make serve)"
        )


@dataclass(frozen=True)
class LocalStack:
    api_url: str
    endpoint_url: str
    images: SeededImages


def exports(stack: LocalStack) -> list[tuple[str, str]]:
    """What a shell needs so that ``aws``, boto3 and ``layercheck`` talk to the local stack (AWS_DEFAULT_REGION too:
    it outranks AWS_REGION, and moto keeps each Region's registry apart), and ``layercheck`` itself on the PATH."""
    return [
        ("AWS_ENDPOINT_URL", stack.endpoint_url),
        ("AWS_REGION", LOCAL_REGION),
        ("AWS_DEFAULT_REGION", LOCAL_REGION),
        ("AWS_ACCESS_KEY_ID", LOCAL_ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", LOCAL_SECRET_ACCESS_KEY),
        (API_URL_VARIABLE, stack.api_url),
        path_export(),
    ]


def banner(stack: LocalStack) -> str:
    digest = demo_request().layer_digests[0]
    body = json.dumps({"repositoryNames": ["platform/base", "team-a/api"], "layerDigests": [digest]})
    complete, broken = stack.images.complete[0], stack.images.broken[0]
    lines = [
        f"layercheck local API: {stack.api_url}   (moto: {stack.endpoint_url})",
        "",
        "Point your shell at it, layercheck on the PATH (paste these lines):",
        *(f"export {name}={value}" for name, value in exports(stack)),
        "",
        "Then try:",
        f"  layercheck check-image {complete}        # COMPLETE: a multi-arch index",
        f"  layercheck check-image {broken} --fail-on-missing   # BROKEN: a layer never pushed",
        "  layercheck batch-check-layer-availability --repository-names platform/base team-a/api \\",
        f"      --layer-digests {digest}",
        f'  layercheck list-results --api-url "${API_URL_VARIABLE}" --repository-name platform/base',
        f"  curl -s -X POST {stack.api_url}/checks -H 'Content-Type: application/json' -d '{body}'",
        f"  Swagger UI: {stack.api_url}/swagger",
        "",
        "Ctrl-C to stop. One line per request:",
    ]
    return "\n".join(lines) + "\n"


def access_line(record: AccessRecord) -> str:
    return f"{record.client} {record.method} {record.path} {record.status} {record.size}B {record.milliseconds:.0f}ms"


class _LogLines:
    """The handler's stdout: EMF metric documents are dropped (CloudWatch's business), log lines go to stderr."""

    def extend(self, lines: Iterable[str]) -> None:
        for line in lines:
            if '"_aws"' not in line:
                sys.stderr.write(line + "\n")


def _bind(port: int, out: TextIO) -> LocalApiGateway:
    def handler(event: dict[str, Any], context: Any) -> Any:
        from layercheck.handler import lambda_handler  # imported once the environment points at moto

        return lambda_handler(event, context)

    def log(record: AccessRecord) -> None:
        out.write(access_line(record) + "\n")
        out.flush()

    try:
        return LocalApiGateway(handler, port=port, stdout_sink=_LogLines(), on_request=log)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortTakenError(port) from error
        raise


@contextlib.contextmanager
def serving(port: int, out: TextIO) -> Iterator[LocalStack]:
    """Bind the port first (a taken port fails in a second, not after seeding), then moto, seed, serve."""
    gateway = _bind(port, out)
    with contextlib.closing(gateway), moto_server() as endpoint, patched_environ(lambda_environment(endpoint)):
        ecr = boto3.client("ecr", region_name=LOCAL_REGION)
        seed_registry(ecr)
        images = seed_images(ecr)
        create_results_table(endpoint)
        import layercheck.handler  # noqa: F401 - warm: the first request does not pay the import

        gateway.start()
        stack = LocalStack(gateway.url, endpoint, images)
        out.write(banner(stack))
        out.flush()
        yield stack


def _port() -> int:
    text = os.environ.get(PORT_VARIABLE, str(DEFAULT_PORT))
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ServeSetupError(f"make serve: {PORT_VARIABLE}={text!r} is not a port number (1-65535)")
    return int(text)


def main() -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with serving(_port(), sys.stdout), contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    except ServeSetupError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
