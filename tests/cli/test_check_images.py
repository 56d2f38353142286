"""``check-image`` with several images: arguments, ``--images-file`` (``-`` for stdin), one table and one JSON
document, the exit rule (tests/cli/test_api.py: with ``--api-url``, calls of at most 100 images)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from layercheck_cli.main import EXIT_NOT_AVAILABLE, EXIT_OK
from local.seed import OCI_LAYER, blob, create_repository, descriptor, push_image
from tests.cli.clean_shell import layercheck, moto_env
from tests.cli.conftest import Registry

REPOSITORY = "several/api"
LOST = descriptor(OCI_LAYER, blob("several-lost-layer"))


@pytest.fixture(scope="module")
def pushed(registry: Registry) -> dict[str, str]:
    ecr: Any = boto3.client("ecr", endpoint_url=registry.endpoint_url, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    create_repository(ecr, REPOSITORY)
    return {
        "good": push_image(ecr, REPOSITORY, ["several-base"], tag="good")["digest"],
        "broken": push_image(ecr, REPOSITORY, ["several-base"], tag="broken", absent_layers=[LOST])["digest"],
    }


def test_check_image_answers_several_images_in_one_table(registry: Registry, pushed: dict[str, str],
                                                        tmp_path: Path) -> None:  # fmt: skip
    run = layercheck(
        ["check-image", f"{REPOSITORY}:good", f"{REPOSITORY}:broken", "--output", "table", "--fail-on-missing"],
        moto_env(tmp_path, registry.endpoint_url),
    )

    lines = run.stdout.decode().splitlines()
    rows = [[cell.strip() for cell in line.split("|")[1:-1]] for line in lines if line.count("|") > 2]
    assert run.returncode == EXIT_NOT_AVAILABLE
    assert max(len(line) for line in lines) <= 80
    assert [[row[0], row[2], row[3]] for row in rows] == [
        ["image", "status", "detail"],
        [f"{REPOSITORY}:good", "COMPLETE", "-"],
        [f"{REPOSITORY}:broken", "BROKEN", "1 missing layer"],
    ]
    assert rows[2][1] == f"{pushed['broken'][:11]}…{pushed['broken'][-4:]}"


def test_check_image_reads_images_from_a_file_and_from_stdin_into_one_document(
    registry: Registry, pushed: dict[str, str], tmp_path: Path
) -> None:
    listing = f"# what runs in prod\n{REPOSITORY}:good\n\n{REPOSITORY}@{pushed['broken']}   # pinned\n"
    (tmp_path / "images.txt").write_text(listing)
    env = moto_env(tmp_path, registry.endpoint_url)

    from_file = layercheck(["check-image", "--images-file", "images.txt"], env, cwd=tmp_path)
    from_stdin = layercheck(["check-image", "--images-file", "-", "--query", "summary"], env, stdin=listing.encode())

    document = json.loads(from_file.stdout)
    assert from_file.returncode == from_stdin.returncode == EXIT_OK
    assert [(v["status"], v["imageDigest"]) for v in document["verdicts"]] == [
        ("COMPLETE", pushed["good"]),
        ("BROKEN", pushed["broken"]),
    ]
    expected = {"checked": 2, "complete": 1, "broken": 1, "missing": 0, "unchecked": 0, "archived": 0}
    assert document["summary"] == json.loads(from_stdin.stdout) == expected


def test_check_image_summary_of_one_image_is_never_null(registry: Registry, pushed: dict[str, str],
                                                       tmp_path: Path) -> None:  # fmt: skip
    env = moto_env(tmp_path, registry.endpoint_url)

    summary = layercheck(["check-image", f"{REPOSITORY}:good", "--query", "summary", "--output", "text"], env)
    status = layercheck(["check-image", f"{REPOSITORY}:good", "--query", "status", "--output", "text"], env)

    assert (summary.returncode, summary.stdout) == (EXIT_OK, b"0\t0\t1\t1\t0\t0\n")  # text sorts the keys
    assert status.stdout == b"COMPLETE\n"


def test_check_image_names_the_file_line_of_a_malformed_reference(tmp_path: Path) -> None:
    (tmp_path / "images.txt").write_text("app:1\napp:bad tag\n")

    run = layercheck(["check-image", "--images-file", "images.txt"], moto_env(tmp_path, "http://127.0.0.1:9"),
                     cwd=tmp_path)  # fmt: skip

    assert run.returncode == 2
    assert b"(--images-file images.txt line 2)" in run.stderr
