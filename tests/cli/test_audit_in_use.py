"""``layercheck audit`` names who runs each image (ECS services, Lambda functions), read with the caller's credentials
in the audited account and Region, and audits images in use whatever ``--newest`` and ``--tagged-only`` say; when ECS
or Lambda cannot be read, the audit still runs and says why. Run as a user runs it, against the moto server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.constructs.in_use_permissions import SCOPED_ACTIONS, UNSCOPED_ACTIONS
from layercheck_cli.in_use import IAM_ACTIONS
from local.seed import OCI_LAYER, blob, create_repository, descriptor, push_image
from tests.cli.clean_shell import MOTO_ACCOUNT, access_denied_endpoint, layercheck, moto_env
from tests.cli.conftest import Registry

REPOSITORY = "whorunsit"  # no "/": moto's Lambda reads only the last part of an image's repository
HOST = f"{MOTO_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
LOST = descriptor(OCI_LAYER, blob("whorunsit-lost-layer"))
ROLE = f"arn:aws:iam::{MOTO_ACCOUNT}:role/lambda"


def _client(registry: Registry, service: str) -> Any:
    return boto3.client(service, endpoint_url=registry.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip


@pytest.fixture(scope="module")
def workloads(registry: Registry) -> dict[str, str]:
    """1.0 (complete) run by the Lambda function thumbs, 1.1 (broken) by the ECS service web, the tag gone (never
    pushed) by the ECS service jobs, and 2.0 (complete, newest) run by nobody."""
    ecr, ecs = _client(registry, "ecr"), _client(registry, "ecs")
    create_repository(ecr, REPOSITORY)
    digests = {
        "1.0": push_image(ecr, REPOSITORY, ["whorunsit-base"], tag="1.0")["digest"],
        "1.1": push_image(ecr, REPOSITORY, ["whorunsit-base"], tag="1.1", absent_layers=[LOST])["digest"],
        "2.0": push_image(ecr, REPOSITORY, ["whorunsit-base", "whorunsit-2"], tag="2.0")["digest"],
    }
    ecs.create_cluster(clusterName="prod")
    for service, tag in (("web", "1.1"), ("jobs", "gone")):
        definition = ecs.register_task_definition(
            family=service, containerDefinitions=[{"name": "app", "image": f"{HOST}/{REPOSITORY}:{tag}", "memory": 128}]
        )["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(cluster="prod", serviceName=service, taskDefinition=definition, desiredCount=0)
    _client(registry, "iam").create_role(RoleName="lambda", AssumeRolePolicyDocument="{}")
    with pytest.MonkeyPatch.context() as patch:
        # moto's Lambda, asked to, resolves the image from its own ECR as Lambda does (ResolvedImageUri's digest).
        patch.setenv("MOTO_LAMBDA_STUB_ECR", "false")
        _client(registry, "lambda").create_function(
            FunctionName="thumbs", Role=ROLE, PackageType="Image", Code={"ImageUri": f"{HOST}/{REPOSITORY}:1.0"}
        )
    return digests


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


def _audit(registry: Registry, home: Path, *args: str, **env: str) -> Any:
    return layercheck(["audit", "--repository-names", REPOSITORY, *args], moto_env(home, registry.endpoint_url, **env))


def test_audit_names_who_runs_each_image_and_audits_images_in_use_whatever_newest_says(
    registry: Registry, workloads: dict[str, str], home: Path
) -> None:
    run = _audit(registry, home, "--newest", "1", "--tagged-only")

    document = json.loads(run.stdout)
    findings = {tuple(f["imageTags"]): (f["status"], f.get("usedBy")) for f in document["findings"]}
    assert run.returncode == 0, run.stderr
    # 2.0 (the newest), and 1.0 and 1.1 because something runs them; the gone tag as MISSING
    counts = {status: document["summary"][status] for status in ("images", "COMPLETE", "BROKEN", "MISSING")}
    assert counts == {"images": 4, "COMPLETE": 2, "BROKEN": 1, "MISSING": 1}
    service = f"arn:aws:ecs:us-east-1:{MOTO_ACCOUNT}:service/prod"
    assert findings == {
        ("1.1",): ("BROKEN", [{"kind": "ecs-service", "id": f"{service}/web", "tag": "1.1"}]),
        ("gone",): ("MISSING", [{"kind": "ecs-service", "id": f"{service}/jobs", "tag": "gone"}]),
    }
    assert run.stderr == b""


def test_audit_table_names_every_image_not_complete_with_who_runs_it(
    registry: Registry, workloads: dict[str, str], home: Path
) -> None:
    run = _audit(registry, home, "--output", "table", "--fail-on-broken")

    rows = [[cell.strip() for cell in line.split("|")[1:-1]] for line in run.stdout.decode().splitlines()]
    assert run.returncode == 1
    assert [row for row in rows if len(row) == 4] == [
        ["repository", "tag", "status", "used by"],
        [REPOSITORY, "1.1", "BROKEN", "ecs-service web"],
        [REPOSITORY, "gone", "MISSING", "ecs-service jobs"],
    ]


def test_audit_verdicts_carry_the_lambda_function_that_runs_a_complete_image(
    registry: Registry, workloads: dict[str, str], home: Path
) -> None:
    """COMPLETE images are not findings: --query over the repository's verdicts is not offered, so the count of
    images proves 1.0 was audited, and --no-in-use proves it was audited because the function runs it."""
    with_in_use = _audit(registry, home, "--newest", "1", "--query", "summary.images", "--output", "text")
    without = _audit(registry, home, "--newest", "1", "--no-in-use", "--query", "summary.images", "--output", "text")

    assert (with_in_use.stdout, without.stdout) == (b"4\n", b"1\n")


def test_audit_without_ecs_and_lambda_permissions_still_runs_and_says_who_runs_what_is_unknown(
    registry: Registry, workloads: dict[str, str], home: Path
) -> None:
    """Stands for a caller allowed to read ECR but not ECS or Lambda: real AWS answers AccessDeniedException to
    ecs:ListClusters and lambda:ListFunctions (access_denied_endpoint answers as AWS does)."""
    with access_denied_endpoint() as denied:
        run = _audit(registry, home, "--fail-on-broken", AWS_ENDPOINT_URL_ECS=denied, AWS_ENDPOINT_URL_LAMBDA=denied)

    document = json.loads(run.stdout)
    assert run.returncode == 1  # the broken 1.1 is still found: the scope holds every image
    assert [f.get("usedBy") for f in document["findings"]] == [None]
    assert run.stderr.decode().splitlines() == [
        "layercheck: who runs which image in Amazon ECS is unknown (AccessDeniedException: User: "
        "arn:aws:iam::123456789012:user/ci is not authorized to perform this action); the audit went on without it; "
        f"allow {', '.join(IAM_ACTIONS['ecs'])} to name who runs each image",
        "layercheck: who runs which image in AWS Lambda is unknown (AccessDeniedException: User: "
        "arn:aws:iam::123456789012:user/ci is not authorized to perform this action); the audit went on without it; "
        f"allow {', '.join(IAM_ACTIONS['lambda'])} to name who runs each image",
    ]


def test_audit_asks_the_same_iam_actions_as_the_deployed_reader_role() -> None:
    asked = {action for actions in IAM_ACTIONS.values() for action in actions}

    assert asked == set(UNSCOPED_ACTIONS) | set(SCOPED_ACTIONS)


def test_a_refused_source_names_the_iam_actions_only_when_they_are_known() -> None:
    from layercheck_cli.in_use import unknown_reason

    ecs = unknown_reason("ecs", "AccessDeniedException", "not authorized")
    newcomer = unknown_reason("scheduler", "AccessDeniedException", "not authorized")

    assert "; allow ecs:ListClusters" in ecs
    assert "allow" not in newcomer  # a source the command line has no actions for: no empty "allow  to ..."
    assert newcomer.endswith("the audit went on without it")
