"""The benchmark's stand-ins for AWS, each in its own process: a moto server and the latency proxy in front of it.

The moto process seeds its registry itself: repositories through its own HTTP API, layers through moto's layer-upload
flow called in-process (initiate, upload part, complete: moto computes the digest from the bytes as ECR does). Seeding
7,000 layers over HTTP would take a minute; in-process it takes a fraction of a second, and the registry is the same.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from local.faultproxy import FaultPlan, remote_set_plan

PYTHON = sys.executable
ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def _child(arguments: list[str], *, env: dict[str, str] | None = None) -> Iterator[str]:
    """Start ``python -m ...``, read the URL it prints on its first line, and stop it at the end of the block."""
    process = subprocess.Popen(
        [PYTHON, *arguments], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"{' '.join(arguments)} did not start (printed {url!r})")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def moto_process(layers: dict[str, list[str]], layer_size: int) -> Iterator[str]:
    """A moto server holding ``layers`` (repository -> blob labels); yields its URL."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec:
        json.dump({"layers": layers, "layer_size": layer_size}, spec)
    try:
        with _child(["-m", "bench.servers", "moto", "--seed", spec.name]) as url:
            yield url
    finally:
        Path(spec.name).unlink(missing_ok=True)


@contextlib.contextmanager
def standin_process(latency_seconds: float) -> Iterator[str]:
    """The fast stand-in ECR and DynamoDB (``bench/standin.py``); yields its URL."""
    with _child(["-m", "bench.standin", str(latency_seconds)]) as url:
        yield url


@contextlib.contextmanager
def proxy_process(upstream_url: str, plan: FaultPlan) -> Iterator[str]:
    with _child(["-m", "local.faultproxy", "--upstream", upstream_url]) as url:
        remote_set_plan(url, plan)
        yield url


def _serve_moto(seed_path: str | None) -> int:
    import logging

    import boto3
    from moto.ecr.models import ecr_backends
    from moto.server import ThreadedMotoServer

    from local.lambda_context import LOCAL_ACCOUNT_ID, LOCAL_REGION
    from local.seed import blob

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    if seed_path:
        spec = json.loads(Path(seed_path).read_text())
        ecr = boto3.client(
            "ecr", endpoint_url=url, region_name=LOCAL_REGION, aws_access_key_id="bench", aws_secret_access_key="bench"
        )
        backend = ecr_backends[LOCAL_ACCOUNT_ID][LOCAL_REGION]
        for repository, labels in spec["layers"].items():
            ecr.create_repository(repositoryName=repository)
            for label in labels:
                data = blob(label, spec["layer_size"])
                upload = backend.initiate_layer_upload(repository)
                backend.upload_layer_part(repository, upload["uploadId"], 0, len(data) - 1, data)
                backend.complete_layer_upload(repository, upload["uploadId"], [])
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    print(url, flush=True)
    stop.wait()
    server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("server", choices=["moto"])
    parser.add_argument("--seed", help="JSON file: {'layers': {repository: [labels]}, 'layer_size': n}")
    arguments = parser.parse_args(argv)
    return _serve_moto(arguments.seed)


if __name__ == "__main__":
    sys.exit(main())
