"""``preview-lifecycle --api-url`` against an API that answers as the deployed one does (a scripted handler behind
the local API Gateway, real HTTP on 127.0.0.1): a 503 while ECR still previews is asked again after the API's
Retry-After, never beyond the waiter's bound, and an API that knows no verdict of the repository is not a pass."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest

from layercheck_cli.errors import ApiError, CliError
from layercheck_cli.lifecycle_preview import WAIT_SECONDS, preview_through_api
from layercheck_cli.session import ConnectionOptions
from local.adapter import LocalApiGateway

POLICY = json.dumps({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any"}, "action": {"type": "expire"}}]})
ANSWER = {
    "registryId": "123456789012",
    "region": "us-east-1",
    "repositoryName": "app",
    "atRisk": [{"imageDigest": "sha256:" + "1" * 64, "imageTags": ["v1"], "action": "EXPIRE", "rulePriority": 1}],
    "summary": {"lifecyclePolicy": "proposed", "imagesInUse": 1, "atRisk": 1, "storedVerdicts": 4},
}
PENDING = {"message": "the lifecycle policy preview of app is not available: PreviewPending", "errors": []}


class ScriptedApi:
    """Answers each request with the next scripted (status, body); records the bodies it was sent."""

    def __init__(self, *answers: tuple[int, dict[str, Any]]) -> None:
        self.answers = list(answers)
        self.requests: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.requests.append(json.loads(event["body"]))
        status, body = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        headers = {"Content-Type": "application/json", **({"Retry-After": "5"} if status == 503 else {})}
        return {"statusCode": status, "headers": headers, "body": json.dumps(body)}


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def serve() -> Iterator[Any]:
    gateways: list[LocalApiGateway] = []

    def start(api: ScriptedApi) -> str:
        gateway = LocalApiGateway(api, stdout_sink=[])
        gateway.start()
        gateways.append(gateway)
        return gateway.url

    yield start
    for gateway in gateways:
        gateway.close()


def ask(url: str, clock: FakeTime) -> dict[str, Any]:
    options = ConnectionOptions(region="us-east-1", sign_request=False)
    return preview_through_api(
        botocore.session.get_session(),
        options,
        url,
        repository_name="app",
        policy_text=POLICY,
        registry_id=None,
        sleep=clock.sleep,
        clock=lambda: clock.now,
    )


def test_a_503_while_ecr_previews_is_asked_again_with_the_same_request(serve: Any) -> None:
    api = ScriptedApi((503, PENDING), (200, ANSWER))
    clock = FakeTime()

    answer = ask(serve(api), clock)

    assert answer == ANSWER
    assert clock.sleeps == [5.0]
    assert (
        api.requests
        == [
            {"repositoryName": "app", "region": "us-east-1", "lifecyclePolicyText": POLICY},
        ]
        * 2
    )


def test_a_preview_that_never_finishes_fails_after_the_waiters_bound(serve: Any) -> None:
    clock = FakeTime()

    with pytest.raises(ApiError) as raised:
        ask(serve(ScriptedApi((503, PENDING))), clock)

    assert raised.value.status == 503
    assert sum(clock.sleeps) <= WAIT_SECONDS
    assert len(clock.sleeps) == int(WAIT_SECONDS // 5)


def test_an_api_that_holds_no_verdict_of_the_repository_is_not_a_pass(serve: Any) -> None:
    unknown = {**ANSWER, "atRisk": [], "summary": {**ANSWER["summary"], "imagesInUse": 0, "storedVerdicts": 0}}

    with pytest.raises(CliError, match="holds no image verdict of app"):
        ask(serve(ScriptedApi((200, unknown))), FakeTime())
