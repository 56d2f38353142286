"""The check routes answer only for what this deployment audits, and store or announce only images ECR returned.

A caller may name any Region and any repository: a Region the deployment does not audit, or a repository outside its
repository prefixes, is a 403 before any ECR call; an image ECR would not describe (IAM's AccessDeniedException, which
real ECR answers for a repository the function's policy does not cover; moto enforces no IAM, so its answer is
replaced for that repository) is answered UNCHECKED with ECR's code, never stored nor announced as if it existed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.lambda_context import FakeLambdaContext
from tests.conftest import ApiEvent
from tests.integration.conftest import stored_items
from tests.integration.test_images_api import call, change_events, images  # noqa: F401 (the fixtures used here)

pytestmark = pytest.mark.usefixtures("results_table", "images")


def test_a_region_the_deployment_does_not_audit_is_a_403_naming_the_audited_ones(
    api_event: ApiEvent, lambda_context: FakeLambdaContext, dynamodb: Any
) -> None:
    body = {"region": "eu-west-1", "images": [{"repositoryName": "app", "imageTag": "v1"}]}

    status, answer = call(api_event("POST", "/images/checks", body=body), lambda_context)

    assert status == 403, answer
    [error] = answer["errors"]
    assert (error["field"], error["rule"]) == ("region", "audited_region")
    assert "eu-west-1" in answer["message"] and "us-east-1" in answer["message"]
    assert stored_items(dynamodb) == []


def test_a_repository_outside_the_audit_prefixes_is_a_403_naming_it(
    api_event: ApiEvent,
    lambda_context: FakeLambdaContext,
    dynamodb: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUDIT_REPOSITORY_PREFIXES", "web")
    body = {"images": [{"repositoryName": "web", "imageTag": "live"}, {"repositoryName": "app", "imageTag": "v1"}]}

    status, answer = call(api_event("POST", "/images/checks", body=body), lambda_context)

    assert status == 403, answer
    [error] = answer["errors"]
    assert (error["field"], error["rule"]) == ("images", "audited_repository")
    assert "app" in answer["message"] and "web" in answer["message"]
    assert stored_items(dynamodb) == []


def test_images_ecr_refuses_to_describe_are_unchecked_and_neither_stored_nor_announced(
    api_event: ApiEvent,
    lambda_context: FakeLambdaContext,
    dynamodb: Any,
    change_events: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.ecr.responses import ECRResponse

    denied = {"__type": "AccessDeniedException", "message": "not authorized to perform ecr:DescribeImages on app"}
    for action in ("describe_images", "batch_get_image"):
        original = getattr(ECRResponse, action)

        def deny(self: ECRResponse, _original: Any = original) -> Any:
            if json.loads(self.body).get("repositoryName") == "app":
                return 400, {"status": "400"}, json.dumps(denied)
            return _original(self)

        monkeypatch.setattr(ECRResponse, action, deny)
    made_up = [{"repositoryName": "app", "imageDigest": f"sha256:{n:064x}"} for n in range(20)]

    status, answer = call(api_event("POST", "/images/checks", body={"images": made_up}), lambda_context)

    assert status == 200, answer
    assert {(v["status"], v["failureCode"]) for v in answer["verdicts"]} == {("UNCHECKED", "AccessDeniedException")}
    assert all(verdict.get("stored") is False for verdict in answer["verdicts"])
    assert stored_items(dynamodb) == []
    assert change_events() == []
