"""Configuration from cdk.json context: defaults, `-c key=value` strings, and refusals that name the key."""

from __future__ import annotations

import re

import pytest

from infra.app import cdk_json_context
from infra.config import LayerCheckConfig
from tests.infra.conftest import REPO_ROOT

DEPLOY_GUIDE = REPO_ROOT / "docs" / "DEPLOY.md"


def _keys() -> set[str]:
    return {field.alias or name for name, field in LayerCheckConfig.model_fields.items()}


def test_cdk_json_lists_every_setting_at_its_default() -> None:
    context = cdk_json_context()
    assert set(context) == _keys()
    assert LayerCheckConfig.model_validate(context) == LayerCheckConfig()


def test_deploy_guide_documents_every_setting() -> None:
    documented = set(re.findall(r"^\| `(\w+)` \|", DEPLOY_GUIDE.read_text(encoding="utf-8"), flags=re.MULTILINE))
    assert documented == _keys()


def test_command_line_strings_are_parsed() -> None:
    config = LayerCheckConfig.model_validate(
        {
            "reservedConcurrency": "4",
            "tracing": "false",
            "repositoryPrefixes": "team-a/, team-b/",
            "auditRepositoryPrefixes": "",
            "registryAccountIds": "111122223333",
        }
    )
    assert config.reserved_concurrency == 4
    assert config.tracing is False
    assert config.repository_prefixes == ["team-a/", "team-b/"]
    # An explicitly empty audit scope means every repository the function may read.
    assert config.effective_audit_prefixes == []
    assert config.ecr_calls_per_second_per_environment == 125


def test_audit_scope_defaults_to_the_iam_scope() -> None:
    assert LayerCheckConfig.model_validate({"repositoryPrefixes": ["team-a/"]}).effective_audit_prefixes == ["team-a/"]


def test_audit_queue_visibility_is_six_function_timeouts() -> None:
    assert LayerCheckConfig.model_validate({"lambdaTimeoutSeconds": 120}).audit_visibility_timeout_seconds == 720


def test_idempotency_records_outlive_every_redelivery_by_default() -> None:
    # EventBridge retries delivery for up to 24 h, then Lambda keeps an asynchronous event for up to 6 h more:
    # a copy of an event can reach the function up to 30 h after the first one.
    config = LayerCheckConfig()
    assert config.idempotency_expires_seconds == cdk_json_context()["idempotencyExpiresSeconds"] == 30 * 3600
    assert config.redelivery_window_seconds == (24 + 6) * 3600 == config.idempotency_expires_seconds


def test_a_shorter_redelivery_window_allows_shorter_idempotency_records() -> None:
    config = LayerCheckConfig.model_validate(
        {"eventMaxAgeHours": "2", "asyncMaxEventAgeHours": "1", "idempotencyExpiresSeconds": "10800"}
    )
    assert config.idempotency_expires_seconds == 3 * 3600


@pytest.mark.parametrize(
    ("context", "named"),
    [
        ({"logRetentionDays": 10}, "logRetentionDays"),
        ({"scheduleExpression": "every day"}, "scheduleExpression"),
        ({"organizationId": "my-org"}, "organizationId"),
        ({"registryAccountIds": "12345"}, "registryAccountIds"),
        ({"vpcEndpointIds": "endpoint"}, "vpcEndpointIds"),
        ({"repositoryPrefixes": "Team A"}, "repositoryPrefixes"),
        ({"auditMaxConcurrency": 8, "reservedConcurrency": 4}, "auditMaxConcurrency"),
        ({"lambdaTimeoutSeconds": 3}, "lambdaTimeoutSeconds"),
        ({"ecrCallsPerSecond": 5000}, "ecrCallsPerSecond"),
        ({"alarmEmail": "not-an-address"}, "alarmEmail"),
        ({"idempotencyExpiresSeconds": 30}, "idempotencyExpiresSeconds"),
        ({"idempotencyExpiresSeconds": 24 * 3600}, "idempotencyExpiresSeconds"),  # shorter than the 30 h window
    ],
)
def test_invalid_settings_are_refused_with_the_key_named(context: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        LayerCheckConfig.model_validate(context)
