"""``make demo`` end to end, as a new user runs it (``python -m local.demo`` in a clean environment: no AWS variables),
once per module; each test pins one fact the demo prints, so the demo cannot silently break or start telling a
different story (images in use, two accounts × two Regions, deletions, the lifecycle guard)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OWN, MEMBER = "123456789012", "111122223333"


@pytest.fixture(scope="module")
def demo_output() -> str:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    completed = subprocess.run(
        [sys.executable, "-m", "local.demo"],
        check=False,
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return completed.stdout


def section(output: str, title: str, occurrence: int = 0) -> list[list[str]]:
    """The rows (whitespace-split) of the block that starts with ``title``, up to the next blank line; its header
    line included."""
    blocks = [block.strip("\n").splitlines() for block in output.split("\n\n")]
    wanted = " ".join(title.split())
    matching = [block for block in blocks if block and " ".join(block[0].split()).startswith(wanted)]
    assert len(matching) > occurrence, f"no block {occurrence} titled {title!r} in:\n{output}"
    return [line.split() for line in matching[occurrence][1:]]


def rows_by_first_column(rows: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in rows}


def test_demo_layer_checks_answer_every_kind_of_verdict(demo_output: str) -> None:
    for expected in ("AVAILABLE", "MissingLayerDigest", "InvalidLayerDigest", "RepositoryNotFoundException"):
        assert expected in demo_output
    assert "checked 512" in demo_output
    assert "a malformed request is refused: 422, naming each field and rule: repositoryNames (too_short)" in demo_output


def test_demo_push_door_finds_the_broken_push_and_ignores_a_replay(demo_output: str) -> None:
    rows = rows_by_first_column(section(demo_output, "ECR push events"))
    assert rows["team-a/api:2.0"][-2:] == ["COMPLETE", "-"]
    assert rows["team-a/api:2.1-rc"][-2] == "BROKEN"
    assert "not re-checked or re-counted (ImagesChecked=0, BrokenImages=0)" in demo_output


def test_demo_audit_checks_the_images_in_use_and_names_who_runs_them(demo_output: str) -> None:
    block = section(demo_output, "scheduled audit → schedule door")
    images = rows_by_first_column(block[3:-1])  # after the two summary lines and the header, before the metrics
    assert images["team-d/jobs:monthly"][0] == "BROKEN"
    assert images["team-d/jobs:monthly"][-2:] == ["ecs-service", "monthly-report"]  # ECS service, image by tag
    assert images["thumbnailer:v1"] == ["COMPLETE", "-", "lambda-function", "thumbnailer"]  # Lambda, by digest
    assert images["team-d/jobs:weekly"] == ["COMPLETE", "-", "inventory", "eks:prod"]  # POST /inventory
    assert images["team-a/api:2.1-rc"][-1] == "-"  # broken, but nobody runs it
    assert "InUseImagesBroken=1" in block[-1]
    assert "0 reported in batchItemFailures" in " ".join(block[1])


def test_demo_broken_list_holds_exactly_the_broken_images(demo_output: str) -> None:
    broken = section(demo_output, "GET /images?status=BROKEN: 2 image(s)")[1:]
    assert sorted(row[2] for row in broken) == ["team-a/api:2.1-rc", "team-d/jobs:monthly"]


def test_demo_lifecycle_guard_lists_the_image_in_use_that_keep_the_newest_would_expire(demo_output: str) -> None:
    # nightly and weekly would expire; only weekly is in use (reported by eks:prod), so only weekly is at risk
    [at_risk] = section(demo_output, "GET /images?risk=lifecycle: 1 image(s)")[1:]
    assert at_risk == ["team-d/jobs:weekly", "EXPIRE", "1", "inventory", "eks:prod"]


def test_demo_queue_on_the_bus_receives_one_broken_event_then_the_recovery(demo_output: str) -> None:
    [broken_event] = section(demo_output, "change events on the queue after the audit: 1")[1:]
    assert broken_event[3:8] == ["team-d/jobs:monthly", "us-east-1", "none", "→", "BROKEN"]
    assert broken_event[-2:] == ["ecs-service", "monthly-report"]
    repair = section(demo_output, "repair:")
    assert repair[0][-1] == "COMPLETE"  # POST /images/checks after the upload
    [recovery] = repair[3:-1]
    assert recovery[3:8] == ["team-d/jobs:monthly", "us-east-1", "BROKEN", "→", "COMPLETE"]
    # the API check does not know who runs the image: it kept the audit's usedBy, and the event carries it
    assert recovery[-2:] == ["ecs-service", "monthly-report"]
    assert "1 image(s) left" in " ".join(repair[-1])


def test_demo_audits_two_accounts_in_two_regions(demo_output: str) -> None:
    registries = {(row[0], row[1]): row[2:] for row in section(demo_output, "registryId   region    repositories")}
    # repositories, COMPLETE, BROKEN, UNCHECKED, ARCHIVED per registry; the member's second Region holds the break
    assert set(registries) == {(OWN, "us-east-1"), (OWN, "eu-west-1"), (MEMBER, "us-east-1"), (MEMBER, "eu-west-1")}
    assert registries[(MEMBER, "us-east-1")] == ["1", "1", "0", "0", "0"]
    assert registries[(MEMBER, "eu-west-1")] == ["1", "0", "1", "0", "0"]
    assert registries[(OWN, "eu-west-1")] == ["1", "1", "1", "0", "0"]  # the staged copies, audited where they are
    everywhere = section(demo_output, "GET /images?status=BROKEN: 3 image(s)")[1:]
    assert {(row[0], row[1], row[2]) for row in everywhere} == {
        (MEMBER, "eu-west-1", "team-a/api:v1"),
        (OWN, "eu-west-1", "team-e/web:2"),
        (OWN, "us-east-1", "team-a/api:2.1-rc"),
    }


def test_demo_replicas_are_complete_broken_and_missing_at_their_destination(demo_output: str) -> None:
    block = section(demo_output, "replicas, judged at their destination")
    replicas = {row[1]: row[4:] for row in block[1:-1]}
    assert replicas["team-e/web:1"] == ["COMPLETE", "-"]
    assert replicas["team-e/web:2"][0] == "BROKEN" and replicas["team-e/web:2"][1].startswith("sha256:")
    assert replicas["team-e/web:3"] == ["MISSING", "-"]
    assert "ReplicasIncomplete=2" in " ".join(block[-1])
    assert "replicas, judged at their destination (the source verdict's replicas): 2 incomplete" in demo_output


def test_demo_shows_a_deletion_of_an_image_in_use_seen_at_once(demo_output: str) -> None:
    block = section(demo_output, "a deletion seen at once")
    lines = [" ".join(row) for row in block]
    assert "deleted thumbnailer:v1 (run by lambda-function thumbnailer) → MISSING;" in lines[0]
    assert "InUseImagesMissing=1" in lines[0]
    assert lines[1] == "change events on the queue: 1"
    assert lines[3] == "Image Verdict Changed thumbnailer:v1 us-east-1 COMPLETE → MISSING lambda-function thumbnailer"


def test_demo_ends_saying_how_to_run_the_command_itself(demo_output: str) -> None:
    last = demo_output.rstrip("\n").split("\n\n")[-1].splitlines()

    assert last[0] == f"Run layercheck yourself (it is {Path(sys.executable).absolute().parent / 'layercheck'}):"
    assert f"  export PATH={Path(sys.executable).absolute().parent}:$PATH" in last
    assert any(line.strip().startswith("make serve") and "layercheck check-image" in line for line in last)
