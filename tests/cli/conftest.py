"""The CLI tier: one moto server per session on 127.0.0.1, seeded through ECR's real layer-upload flow, and helpers that
run ``.venv/bin/aws`` (the AWS CLI v1, the golden reference) and ``.venv/bin/layercheck`` as subprocesses."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from local.moto_ecr import teach_pull_through_cache_rules

BIN = Path(sys.executable).parent
AWS = str(BIN / "aws")
LAYERCHECK = str(BIN / "layercheck")
MISSING_DIGEST = "sha256:" + "0" * 64
BLOBS = (b"layer-one", b"layer-two" * 100)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # This tier talks to a local moto server: allow sockets even if another tier's config disables them.
    for item in items:
        if "tests/cli/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.enable_socket)


@dataclass(frozen=True)
class Registry:
    endpoint_url: str
    digests: tuple[str, ...]  # uploaded to "app" only


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: bytes
    stderr: bytes


def _digest(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


@pytest.fixture(scope="session")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("home")  # no ~/.aws of the developer's leaks in
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        HOME=str(home),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(home / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
        COLUMNS="80",
    )
    return env


@pytest.fixture
def env(cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The subprocesses' environment, for tests that call ``main([...])`` in-process."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    for key, value in cli_env.items():
        if key.startswith("AWS_") or key == "HOME":
            monkeypatch.setenv(key, value)


@pytest.fixture(scope="session")
def registry() -> Iterator[Registry]:
    teach_pull_through_cache_rules()  # moto lacks DescribePullThroughCacheRules; answer as a registry without rules
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    ecr = boto3.client(
        "ecr",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for name in ("app", "base"):
        ecr.create_repository(repositoryName=name)
    digests = []
    for blob in BLOBS:
        upload = ecr.initiate_layer_upload(repositoryName="app")
        ecr.upload_layer_part(
            repositoryName="app",
            uploadId=upload["uploadId"],
            partFirstByte=0,
            partLastByte=len(blob) - 1,
            layerPartBlob=blob,
        )
        digest = _digest(blob)
        ecr.complete_layer_upload(repositoryName="app", uploadId=upload["uploadId"], layerDigests=[digest])
        digests.append(digest)
    try:
        yield Registry(endpoint, tuple(digests))
    finally:
        server.stop()


def run(command: Sequence[str], env: dict[str, str], stdin: bytes | None = None, cwd: Path | None = None) -> Run:
    completed = subprocess.run(
        list(command), input=stdin, capture_output=True, env=env, cwd=cwd, timeout=60, check=False
    )
    return Run(completed.returncode, completed.stdout, completed.stderr)


def run_both(args: Sequence[str], env: dict[str, str], cwd: Path | None = None) -> tuple[Run, Run]:
    """``aws ecr batch-check-layer-availability ARGS`` and ``layercheck batch-check-layer-availability ARGS``, side by
    side (in parallel: the two interpreters' start-up dominates)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        aws = pool.submit(run, [AWS, "ecr", "batch-check-layer-availability", *args], env, None, cwd)
        ours = pool.submit(run, [LAYERCHECK, "batch-check-layer-availability", *args], env, None, cwd)
        return aws.result(), ours.result()
