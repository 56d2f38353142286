"""``layercheck audit`` end to end against the moto server: the scheduled audit's scope rules, image selection and
judgement, printed as a summary per repository and the images that are not COMPLETE; nothing stored."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest

from layercheck_cli.count_table import render_count_table, shorten
from layercheck_cli.main import EXIT_ERROR, EXIT_NOT_AVAILABLE, EXIT_OK, main
from local.moto_ecr import teach_pull_through_cache_rules
from local.seed import OCI_LAYER, blob, create_repository, descriptor, push_image, push_index
from tests.cli.conftest import Registry

WEB, JOBS = "audit/web", "audit/jobs"
LOST = descriptor(OCI_LAYER, blob("audit-lost-layer"))


@pytest.fixture(scope="module")
def audited_registry(registry: Registry) -> Registry:
    """audit/web: a two-platform index (3 images: the index and its 2 untagged platform manifests) and a broken tag;
    audit/jobs: a complete and a broken tag."""
    teach_pull_through_cache_rules()  # moto lacks DescribePullThroughCacheRules; answer as a registry without rules
    ecr: Any = boto3.client(
        "ecr", endpoint_url=registry.endpoint_url, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    for name in (WEB, JOBS):
        create_repository(ecr, name)
    amd64 = push_image(ecr, WEB, ["audit-base", "audit-web"], platform="linux/amd64")
    arm64 = push_image(ecr, WEB, ["audit-base", "audit-web-arm"], platform="linux/arm64")
    push_index(ecr, WEB, [amd64, arm64], tag="1.0")
    push_image(ecr, WEB, ["audit-base"], tag="1.1-rc", absent_layers=[LOST])
    push_image(ecr, JOBS, ["audit-job"], tag="nightly")
    push_image(ecr, JOBS, ["audit-job"], tag="monthly", absent_layers=[LOST])
    return registry


@pytest.fixture(autouse=True)
def _every_service_on_moto(env: None, registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    """ECS and Lambda too (who runs each image): botocore's AWS_ENDPOINT_URL, as make serve's exports set it;
    --endpoint-url names ECR's endpoint only."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", registry.endpoint_url)


def _audit(registry: Registry, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main(["audit", "--endpoint-url", registry.endpoint_url, *args])
    captured = capsys.readouterr()
    try:
        return code, json.loads(captured.out), captured.err
    except ValueError:
        return code, captured.out, captured.err


def _rows(document: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    return {row["repositoryName"]: (row["images"], row["COMPLETE"], row["BROKEN"]) for row in document["repositories"]}


@pytest.mark.usefixtures("env")
def test_audit_judges_every_image_in_scope_and_lists_what_is_not_complete(
    audited_registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document, _ = _audit(audited_registry, capsys, "--repository-prefixes", "audit/")

    assert code == EXIT_OK
    assert _rows(document) == {WEB: (4, 3, 1), JOBS: (2, 1, 1)}
    assert document["summary"] == {
        "repositories": 2, "images": 6, "COMPLETE": 4, "BROKEN": 2, "MISSING": 0, "UNCHECKED": 0, "ARCHIVED": 0,
        "failedRepositories": 0,
    }  # fmt: skip
    findings = {(f["repositoryName"], tuple(f["imageTags"])): f for f in document["findings"]}
    assert set(findings) == {(WEB, ("1.1-rc",)), (JOBS, ("monthly",))}
    assert all(f["status"] == "BROKEN" and f["missingLayers"] == [LOST["digest"]] for f in findings.values())
    assert not {"itemType", "source", "expiresAt", "checkId"} & set(document["findings"][0])


@pytest.mark.usefixtures("env")
def test_audit_tagged_only_and_newest_select_images_as_the_scheduled_audit_does(
    audited_registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    _, tagged, _ = _audit(audited_registry, capsys, "--repository-prefixes", "audit/", "--tagged-only")
    _, newest, _ = _audit(audited_registry, capsys, "--repository-names", WEB, JOBS, "--newest", "1")

    assert _rows(tagged) == {WEB: (2, 1, 1), JOBS: (2, 1, 1)}
    assert {name: images for name, (images, _, _) in _rows(newest).items()} == {WEB: 1, JOBS: 1}


@pytest.mark.usefixtures("env")
def test_audit_fail_on_broken_is_a_ci_gate(audited_registry: Registry, capsys: pytest.CaptureFixture[str]) -> None:
    broken, _, _ = _audit(audited_registry, capsys, "--repository-names", JOBS, "--fail-on-broken")
    fine, _, _ = _audit(audited_registry, capsys, "--repository-names", JOBS, "--newest", "0", "--tagged-only",
                        "--fail-on-broken", "--query", "summary")  # fmt: skip
    clean, _, _ = _audit(audited_registry, capsys, "--repository-names", "base", "--fail-on-broken")

    assert (broken, fine, clean) == (EXIT_NOT_AVAILABLE, EXIT_NOT_AVAILABLE, EXIT_OK)


@pytest.mark.usefixtures("env")
def test_audit_reports_a_missing_repository_goes_on_and_fails_closed(
    audited_registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    """The others are still audited and printed, but something asked was not: 255, with the reason on stderr."""
    code, document, err = _audit(audited_registry, capsys, "--repository-names", "nope", JOBS)

    assert code == EXIT_ERROR
    assert "layercheck: not checked: nope: RepositoryNotFoundException" in err
    nope, jobs = document["repositories"]
    assert (nope["repositoryName"], nope["failureCode"]) == ("nope", "RepositoryNotFoundException")
    assert (jobs["images"], document["summary"]["failedRepositories"]) == (2, 1)


@pytest.mark.usefixtures("env")
def test_audit_table_counts_each_repository_and_names_every_image_not_complete_in_80_columns(
    audited_registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    code, table, _ = _audit(audited_registry, capsys, "--repository-prefixes", "audit/", "--output", "table")

    lines = table.splitlines()
    assert code == EXIT_OK
    assert max(len(line) for line in lines) <= 80
    assert lines[1].strip("| ") == "Audit"
    assert [[cell.strip() for cell in line.split("|")[1:-1]] for line in lines if line.count("|") > 2] == [
        ["repository", "images", "COMPLETE", "BROKEN", "MISSING", "UNCHECKED", "ARCHIVED"],
        ["audit/jobs", "2", "1", "1", "0", "0", "0"],
        ["audit/web", "4", "3", "1", "0", "0", "0"],
        ["total", "6", "4", "2", "0", "0", "0"],
        ["repository", "tag", "status", "used by"],
        ["audit/jobs", "monthly", "BROKEN", "-"],
        ["audit/web", "1.1-rc", "BROKEN", "-"],
    ]


@pytest.mark.usefixtures("env")
def test_audit_shows_progress_on_a_terminal_only(
    audited_registry: Registry, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, piped = _audit(audited_registry, capsys, "--repository-prefixes", "audit/")
    monkeypatch.setattr("layercheck_cli.progress.ProgressBar.wanted", staticmethod(lambda stream=None: True))
    _, _, terminal = _audit(audited_registry, capsys, "--repository-prefixes", "audit/")

    assert piped == ""
    assert "\r[" in terminal and "2/2 repositories" in terminal


def test_count_table_keeps_80_columns_with_many_long_repository_names() -> None:
    rows = [(f"platform/{'very-long-team-name-' * 10}{n}", [n, n * 1000, 0, 7, 0]) for n in range(100)]
    out = io.StringIO()

    render_count_table("Audit", "repository", ["images", "COMPLETE", "BROKEN", "UNCHECKED", "ARCHIVED"], rows, out)

    lines = out.getvalue().splitlines()
    assert {len(line) for line in lines} == {80}
    assert [cell.strip() for cell in lines[5].split("|")[1:-1]] == ["platform/ver…team-name-0", "0", "0", "0", "7", "0"]
    assert [cell.strip() for cell in lines[-2].split("|")[1:-1]] == ["total", "4950", "4950000", "0", "700", "0"]


@pytest.mark.parametrize(
    ("name", "width", "shown"),
    [("short", 15, "short"), ("team-a/services/payments/api", 15, "team-a/…nts/api"), ("abcdefghij", 5, "ab…ij")],
)
def test_shorten_keeps_both_ends_of_a_name(name: str, width: int, shown: str) -> None:
    assert shorten(name, width) == shown
