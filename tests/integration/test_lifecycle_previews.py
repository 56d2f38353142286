"""POST /lifecycle/previews end to end in-process: API Gateway events through the handler, moto for ECR and DynamoDB,
and the documented stand-in for ECR's lifecycle previews (local/moto_lifecycle.py), which moto lacks.

The images in use come from stored verdicts seeded through the results table (no ECS here). Four images ``v1``..``v4``
are pushed in that order; moto records push times in whole seconds, so the stand-in orders images pushed within one
second by push order, as ECR's own clock would."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from layercheck.handler import lambda_handler
from layercheck.integrations.results_table import ResultsTable
from layercheck.models.in_use import UsedBy
from layercheck.models.stored import ImageStatus, Source, StoredImageVerdict, expiry, iso_utc
from local.lambda_context import FakeLambdaContext
from local.moto_lifecycle import PreviewSettings
from local.seed import create_repository, push_image
from tests.conftest import ApiEvent
from tests.integration.moto_ecr import serve_lifecycle_previews
from tests.support import TABLE_NAME, refuse_assume_role

pytestmark = pytest.mark.usefixtures("results_table")

ACCOUNT, REGION, REPOSITORY = "123456789012", "us-east-1", "team-a/app"
SERVICE = UsedBy(kind="ecs-service", id=f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/app")
FUNCTION = UsedBy(kind="lambda-function", id=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:app")
# The repository's own policy: expire untagged images beyond 5 (moto keeps it; the test proves it is not touched).
OWN_POLICY = json.dumps(
    {
        "rules": [
            {
                "rulePriority": 1,
                "description": "untagged: keep 5",
                "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 5},
                "action": {"type": "expire"},
            }
        ]
    }
)


def keep(count: int, action: dict[str, str] | None = None) -> str:
    rule = {
        "rulePriority": 1,
        "description": f"keep the newest {count}",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": count},
        "action": action or {"type": "expire"},
    }
    return json.dumps({"rules": [rule]})


class NearlyOutOfTime(FakeLambdaContext):
    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return 1_000


@pytest.fixture
def previews(monkeypatch: pytest.MonkeyPatch) -> PreviewSettings:
    return serve_lifecycle_previews(monkeypatch)


@pytest.fixture
def images(ecr: Any, dynamodb: Any, previews: PreviewSettings) -> dict[str, str]:
    """``v1``..``v4`` pushed in order; ``v1`` runs in an ECS service and ``v4`` in a Lambda function (their stored
    verdicts say so), ``v2`` has a verdict nobody runs, ``v3`` none."""
    create_repository(ecr, REPOSITORY)
    ecr.put_lifecycle_policy(repositoryName=REPOSITORY, lifecyclePolicyText=OWN_POLICY)
    digests = {f"v{n}": push_image(ecr, REPOSITORY, [f"app-{n}"], tag=f"v{n}")["digest"] for n in (1, 2, 3, 4)}
    now = datetime.now(UTC)
    verdicts = [
        StoredImageVerdict(
            registryId=ACCOUNT,
            region=REGION,
            repositoryName=REPOSITORY,
            checkedAt=iso_utc(now),
            source=Source.SCHEDULE,
            expiresAt=expiry(now, 30),
            imageDigest=digests[tag],
            imageTags=[tag],
            status=ImageStatus.COMPLETE,
            usedBy=users,
        )
        for tag, users in (("v1", [SERVICE]), ("v2", []), ("v4", [FUNCTION]))
    ]
    ResultsTable(TABLE_NAME, dynamodb).put_verdicts(verdicts)
    return digests


def call(event: dict[str, Any], context: FakeLambdaContext | None = None) -> tuple[int, dict[str, list[str]], Any]:
    """Status, headers (a REST proxy answer's multiValueHeaders) and the JSON body."""
    response = lambda_handler(event, context or FakeLambdaContext())
    return response["statusCode"], response.get("multiValueHeaders") or {}, json.loads(response["body"])


def preview(api_event: ApiEvent, **body: Any) -> tuple[int, dict[str, list[str]], Any]:
    return call(api_event("POST", "/lifecycle/previews", body={"repositoryName": REPOSITORY, **body}))


def test_keep_2_would_expire_exactly_v1_among_the_images_in_use(api_event: ApiEvent, images: dict[str, str]) -> None:
    status, _, body = preview(api_event, lifecyclePolicyText=keep(2))

    assert status == 200, body
    assert body["atRisk"] == [
        {
            "imageDigest": images["v1"],
            "imageTags": ["v1"],
            "action": "EXPIRE",
            "rulePriority": 1,
            "usedBy": [SERVICE.model_dump(mode="json")],
        }
    ]
    summary = body["summary"]
    assert datetime.fromisoformat(summary.pop("previewedAt")).tzinfo is not None
    assert summary == {
        "lifecyclePolicy": "proposed",
        "imagesInUse": 2,
        "atRisk": 1,
        "expiring": 1,
        "archiving": 0,
        "storedVerdicts": 3,
    }


def test_keep_10_puts_nothing_at_risk_and_keep_1_only_v1_and_the_policy_is_unchanged(
    api_event: ApiEvent, ecr: Any, images: dict[str, str]
) -> None:
    before = ecr.get_lifecycle_policy(repositoryName=REPOSITORY)["lifecyclePolicyText"]

    keep_10 = preview(api_event, lifecyclePolicyText=keep(10))
    keep_1 = preview(api_event, lifecyclePolicyText=keep(1))

    assert (keep_10[0], keep_10[2]["atRisk"]) == (200, [])
    # keep 1 expires v1, v2 and v3: only v1 is in use (v4, the newest, is kept).
    assert [entry["imageDigest"] for entry in keep_1[2]["atRisk"]] == [images["v1"]]
    assert ecr.get_lifecycle_policy(repositoryName=REPOSITORY)["lifecyclePolicyText"] == before == OWN_POLICY


def test_without_a_policy_text_the_repositorys_own_policy_is_previewed(
    api_event: ApiEvent, ecr: Any, images: dict[str, str], previews: PreviewSettings
) -> None:
    ecr.put_lifecycle_policy(repositoryName=REPOSITORY, lifecyclePolicyText=keep(3))

    status, _, body = preview(api_event)

    assert status == 200, body
    assert [entry["imageDigest"] for entry in body["atRisk"]] == [images["v1"]]
    assert body["summary"]["lifecyclePolicy"] == "repository"
    assert previews.started == [keep(3)]


def test_a_repository_without_a_policy_has_nothing_at_risk(
    api_event: ApiEvent, ecr: Any, images: dict[str, str], previews: PreviewSettings
) -> None:
    ecr.delete_lifecycle_policy(repositoryName=REPOSITORY)

    status, _, body = preview(api_event)

    assert (status, body["atRisk"], body["summary"]["lifecyclePolicy"]) == (200, [], "none")
    assert previews.started == []


def test_an_archive_rule_is_a_transition_risk_with_its_target(api_event: ApiEvent, images: dict[str, str]) -> None:
    archive = keep(2, {"type": "transition", "targetStorageClass": "archive"})

    status, _, body = preview(api_event, lifecyclePolicyText=archive)

    assert status == 200, body
    assert [(e["imageDigest"], e["action"], e["targetStorageClass"]) for e in body["atRisk"]] == [
        (images["v1"], "TRANSITION", "ARCHIVE")
    ]
    assert (body["summary"]["expiring"], body["summary"]["archiving"]) == (0, 1)


def test_a_preview_not_done_in_time_is_a_503_and_the_retry_reads_it_without_starting_another(
    api_event: ApiEvent, images: dict[str, str], previews: PreviewSettings
) -> None:
    previews.pending_polls = 1  # ECR answers IN_PROGRESS once
    event = api_event(
        "POST", "/lifecycle/previews", body={"repositoryName": REPOSITORY, "lifecyclePolicyText": keep(2)}
    )

    status, headers, body = call(event, NearlyOutOfTime())
    retry_status, _, retried = call(event)

    assert (status, headers.get("Retry-After")) == (503, ["5"]), body
    assert body["errors"][0]["rule"] == "preview_pending"
    assert retry_status == 200, retried
    assert [entry["imageDigest"] for entry in retried["atRisk"]] == [images["v1"]]
    assert previews.started == [keep(2)]


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"lifecyclePolicyText": "{" + " " * 120}, "lifecyclePolicyText", "policy_json"),
        ({"lifecyclePolicyText": "[" + "1," * 60 + "1]"}, "lifecyclePolicyText", "policy_json"),
        ({"lifecyclePolicyText": "x" * 30_721}, "lifecyclePolicyText", "string_too_long"),
        ({"lifecyclePolicyText": '{"rules": []}'}, "lifecyclePolicyText", "string_too_short"),
        ({"repositoryName": "Not/Valid"}, "repositoryName", "string_pattern_mismatch"),
        ({"imageDigest": "sha256:x"}, "imageDigest", "extra_forbidden"),
    ],
)
def test_a_malformed_request_is_a_422_naming_the_field(
    api_event: ApiEvent, images: dict[str, str], previews: PreviewSettings, body: dict[str, Any], field: str, rule: str
) -> None:
    status, _, answer = preview(api_event, **body)

    assert status == 422, answer
    assert [(error["field"], error["rule"]) for error in answer["errors"]] == [(field, rule)]
    assert previews.started == []


def test_rules_ecr_refuses_are_a_422_naming_the_policy_text(api_event: ApiEvent, images: dict[str, str]) -> None:
    # ECR: a rule with tagStatus any must have the highest rulePriority.
    any_first = json.loads(keep(2))
    untagged = {**any_first["rules"][0]["selection"], "tagStatus": "untagged"}
    any_first["rules"].append({**any_first["rules"][0], "rulePriority": 2, "selection": untagged})

    status, _, body = preview(api_event, lifecyclePolicyText=json.dumps(any_first))

    assert status == 422, body
    assert (body["errors"][0]["field"], body["errors"][0]["rule"]) == ("lifecyclePolicyText", "ecr_lifecycle_policy")
    assert "InvalidParameterException" in body["message"]


def test_a_repository_ecr_does_not_hold_is_a_404_naming_it(api_event: ApiEvent, previews: PreviewSettings) -> None:
    status, _, body = call(
        api_event(
            "POST", "/lifecycle/previews", body={"repositoryName": "team-a/ghost", "lifecyclePolicyText": keep(2)}
        )
    )

    assert status == 404, body
    assert body["errors"][0]["field"] == "repositoryName"


def test_a_registry_this_deployment_does_not_serve_is_a_403(api_event: ApiEvent, previews: PreviewSettings) -> None:
    status, _, body = preview(api_event, registryId="999999999999", lifecyclePolicyText=keep(2))

    assert status == 403, body
    assert previews.started == []


def test_a_served_registry_that_cannot_be_read_is_a_403_naming_the_reason(
    api_event: ApiEvent, monkeypatch: pytest.MonkeyPatch, previews: PreviewSettings
) -> None:
    """Real STS answers AccessDenied when the member account's reader role is missing or does not trust us (moto
    assumes any role)."""
    refuse_assume_role(monkeypatch, ["111122223333"])
    monkeypatch.setenv("REGISTRY_IDS", f"{ACCOUNT},111122223333")

    status, _, body = preview(api_event, registryId="111122223333", lifecyclePolicyText=keep(2))

    assert status == 403, body
    assert (body["errors"][0]["field"], body["errors"][0]["rule"]) == ("registryId", "readable_registry")
    assert "AccessDenied" in body["message"]
    assert previews.started == []


def test_a_region_amazon_ecr_does_not_serve_is_a_400_naming_it(
    api_event: ApiEvent, previews: PreviewSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ECR has no endpoint in a Region that does not exist: botocore would spend the deadline retrying DNS (even when
    the deployment's AUDIT_REGIONS names it by mistake)."""
    monkeypatch.setenv("AUDIT_REGIONS", f"{REGION},nz-east-9")
    status, _, body = preview(api_event, region="nz-east-9", lifecyclePolicyText=keep(2))

    assert status == 400, body
    assert (body["errors"][0]["field"], body["errors"][0]["rule"]) == ("region", "ecr_region")
    assert previews.started == []


def test_a_region_the_deployment_does_not_audit_is_a_403_before_any_ecr_call(
    api_event: ApiEvent, monkeypatch: pytest.MonkeyPatch, previews: PreviewSettings
) -> None:
    # Given a deployment that audits us-east-1 only
    monkeypatch.setenv("AUDIT_REGIONS", REGION)

    # When a preview names another Region ECR serves
    status, _, body = preview(api_event, region="eu-west-1", lifecyclePolicyText=keep(2))

    # Then it is refused as the other routes refuse it, and nothing was previewed
    assert status == 403, body
    assert (body["errors"][0]["field"], body["errors"][0]["rule"]) == ("region", "audited_region")
    assert previews.started == []
