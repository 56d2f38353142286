"""``layercheck preview-lifecycle``, the gate for a lifecycle policy change, over real HTTP: through the local API
(local API Gateway → handler → moto server) with ``--api-url``, and without it against the moto server directly,
finding the images in use in ECS itself. The moto server answers lifecycle previews through the documented stand-in
(local/moto_lifecycle.py) that ``moto_server()`` teaches it.

``v1``..``v4`` are pushed in that order; moto records push times in whole seconds, and the stand-in orders images
pushed within one second by push order."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from layercheck.integrations.results_table import ResultsTable
from layercheck.models.in_use import UsedBy
from layercheck.models.stored import ImageStatus, Source, StoredImageVerdict, expiry, iso_utc
from layercheck_cli.main import EXIT_ERROR, EXIT_NOT_AVAILABLE, EXIT_OK, main
from local.adapter import LocalApiGateway
from local.environment import RESULTS_TABLE_NAME, lambda_environment
from local.lambda_context import LOCAL_ACCOUNT_ID, LOCAL_REGION
from local.scenario import registry_host
from local.seed import create_repository, push_image

REPOSITORY = "team-l/app"
SERVICE = f"arn:aws:ecs:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:service/prod/app"


def keep(count: int) -> str:
    rule = {
        "rulePriority": 1,
        "description": f"keep the newest {count}",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": count},
        "action": {"type": "expire"},
    }
    return json.dumps({"rules": [rule]})


def client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service, endpoint_url=endpoint, region_name=LOCAL_REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )


@pytest.fixture(scope="module")
def pushed(seeded_endpoint: str) -> dict[str, str]:
    ecr = client("ecr", seeded_endpoint)
    create_repository(ecr, REPOSITORY)
    return {f"v{n}": push_image(ecr, REPOSITORY, [f"lifecycle-{n}"], tag=f"v{n}")["digest"] for n in (1, 2, 3, 4)}


@pytest.fixture(scope="module")
def ecs_service(seeded_endpoint: str, pushed: dict[str, str]) -> str:
    """An ECS service running ``v1`` by tag."""
    ecs = client("ecs", seeded_endpoint)
    ecs.create_cluster(clusterName="prod")
    image = f"{registry_host()}/{REPOSITORY}:v1"
    definition = ecs.register_task_definition(
        family="app", containerDefinitions=[{"name": "app", "image": image, "memory": 256}]
    )
    service = ecs.create_service(
        cluster="prod", serviceName="app", taskDefinition=definition["taskDefinition"]["taskDefinitionArn"]
    )
    return str(service["service"]["serviceArn"])


@pytest.fixture
def policy_files(tmp_path: Path) -> dict[int, Path]:
    files = {}
    for count in (2, 10):
        files[count] = tmp_path / f"keep-{count}.json"
        files[count].write_text(keep(count))
    return files


@pytest.fixture
def cli_environment(seeded_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shell ``make serve`` prints: every AWS call to the moto server, fake credentials."""
    for name, value in lambda_environment(seeded_endpoint).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(["preview-lifecycle", "--repository-name", REPOSITORY, *argv])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out.strip() else None, captured.err


def test_through_the_api_the_gate_fails_on_keep_2_and_passes_on_keep_10(
    local_api: LocalApiGateway,
    seeded_endpoint: str,
    pushed: dict[str, str],
    policy_files: dict[int, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the audit's knowledge: v1 runs in an ECS service, v4 has a verdict nobody runs
    now = datetime.now(UTC)
    common = {"registryId": LOCAL_ACCOUNT_ID, "region": LOCAL_REGION, "repositoryName": REPOSITORY}
    verdicts = [
        StoredImageVerdict(
            **common,
            checkedAt=iso_utc(now),
            source=Source.SCHEDULE,
            expiresAt=expiry(now, 30),
            imageDigest=pushed[tag],
            imageTags=[tag],
            status=ImageStatus.COMPLETE,
            usedBy=users,
        )
        for tag, users in (("v1", [UsedBy(kind="ecs-service", id=SERVICE)]), ("v4", []))
    ]
    ResultsTable(RESULTS_TABLE_NAME, client("dynamodb", seeded_endpoint)).put_verdicts(verdicts)
    api = ["--api-url", local_api.url]

    # When the gate runs on the two proposals
    failing = run(capsys, *api, "--lifecycle-policy-text", f"file://{policy_files[2]}")
    passing = run(capsys, *api, "--lifecycle-policy-text", f"file://{policy_files[10]}")

    # Then keep 2 would expire v1, which an ECS service runs: exit 1; keep 10 expires nothing in use: exit 0
    assert failing[0] == EXIT_NOT_AVAILABLE, failing[2]
    assert [(e["imageDigest"], e["action"], e["usedBy"]) for e in failing[1]["atRisk"]] == [
        (pushed["v1"], "EXPIRE", [{"kind": "ecs-service", "id": SERVICE}])
    ]
    assert (passing[0], passing[1]["atRisk"]) == (EXIT_OK, [])


def test_through_the_api_a_repository_layercheck_never_audited_is_not_a_pass(
    local_api: LocalApiGateway,
    pushed: dict[str, str],
    policy_files: dict[int, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        ["preview-lifecycle", "--repository-name", "platform/base", "--api-url", local_api.url,
         "--lifecycle-policy-text", f"file://{policy_files[2]}"]
    )  # fmt: skip

    assert code == EXIT_ERROR
    assert "holds no image verdict of platform/base" in capsys.readouterr().err


@pytest.mark.usefixtures("cli_environment", "ecs_service")
def test_without_the_api_the_gate_finds_ecs_in_use_itself_and_fails_on_keep_2_passes_on_keep_10(
    seeded_endpoint: str, pushed: dict[str, str], policy_files: dict[int, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an ECS service running v1 by tag (ecs_service), found by the CLI itself with ECS's own calls
    ecr = client("ecr", seeded_endpoint)

    failing = run(capsys, "--lifecycle-policy-text", f"file://{policy_files[2]}", "--output", "json")
    passing = run(capsys, "--lifecycle-policy-text", f"file://{policy_files[10]}")
    own = run(capsys)

    assert failing[0] == EXIT_NOT_AVAILABLE, failing[2]
    assert [(e["imageDigest"], e["imageTags"], e["usedBy"][0]["kind"]) for e in failing[1]["atRisk"]] == [
        (pushed["v1"], ["v1"], "ecs-service")
    ]
    assert (passing[0], passing[1]["atRisk"]) == (EXIT_OK, [])
    # The repository's own policy: it has none, so nothing is at risk (and no policy was ever written)
    assert (own[0], own[1]["summary"]["lifecyclePolicy"]) == (EXIT_OK, "none")
    with pytest.raises(ecr.exceptions.LifecyclePolicyNotFoundException):
        ecr.get_lifecycle_policy(repositoryName=REPOSITORY)


@pytest.mark.usefixtures("cli_environment")
def test_without_the_api_a_repository_ecr_does_not_hold_exits_255_with_ecrs_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["preview-lifecycle", "--repository-name", "team-l/ghost"])

    assert code == EXIT_ERROR
    assert "RepositoryNotFoundException" in capsys.readouterr().err


@pytest.mark.usefixtures("cli_environment", "ecs_service")
@pytest.mark.parametrize("output", ["json", "text", "table", "yaml"])
def test_every_output_format_prints_the_images_at_risk_and_exits_1(
    output: str, pushed: dict[str, str], policy_files: dict[int, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["preview-lifecycle", "--repository-name", REPOSITORY, "--lifecycle-policy-text", f"file://{policy_files[2]}",
         "--output", output]
    )  # fmt: skip

    printed = capsys.readouterr().out
    assert code == EXIT_NOT_AVAILABLE
    assert pushed["v1"] in printed and "EXPIRE" in printed
    assert pushed["v2"] not in printed  # expired too, but nobody runs it


@pytest.mark.usefixtures("cli_environment", "ecs_service")
def test_query_picks_fields_of_the_images_at_risk(
    pushed: dict[str, str], policy_files: dict[int, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["preview-lifecycle", "--repository-name", REPOSITORY, "--lifecycle-policy-text", f"file://{policy_files[2]}",
         "--query", "atRisk[].[imageTags[0], action, rulePriority]", "--output", "text"]
    )  # fmt: skip

    assert (code, capsys.readouterr().out) == (EXIT_NOT_AVAILABLE, "v1\tEXPIRE\t1\n")
