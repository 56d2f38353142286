"""Configuration from cdk.json context: defaults, `-c key=value` strings, and refusals that name the key."""

from __future__ import annotations

import re

import pytest
from aws_cdk import App

from infra.app import cdk_json_context
from infra.config import LayerCheckConfig
from layercheck.contracts import environment as env
from layercheck.settings import Settings
from tests.infra.conftest import REPO_ROOT

DEPLOY_GUIDE = REPO_ROOT / "docs" / "DEPLOY.md"


def _keys() -> set[str]:
    return {field.alias or name for name, field in LayerCheckConfig.model_fields.items()}


def test_cdk_json_lists_every_setting_at_its_default() -> None:
    # Keys starting with "@" are aws-cdk-lib's feature flags (test_deploy_tooling.py).
    context = {key: value for key, value in cdk_json_context().items() if not key.startswith("@")}
    assert set(context) == _keys()
    assert LayerCheckConfig.model_validate(context) == LayerCheckConfig()


def test_deploy_guide_documents_every_setting() -> None:
    section = DEPLOY_GUIDE.read_text(encoding="utf-8").split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE))
    assert documented == _keys()


def test_command_line_strings_are_parsed() -> None:
    config = LayerCheckConfig.model_validate(
        {
            "apiReservedConcurrency": "10",
            "workerReservedConcurrency": "10",
            "tracing": "false",
            "pullTimeUpdateExclusion": "false",
            "repositoryPrefixes": "team-a/, team-b/",
            "auditRepositoryPrefixes": "",
            "registryAccountIds": "111122223333",
        }
    )
    assert (config.api_reserved_concurrency, config.worker_reserved_concurrency) == (10, 10)
    assert config.pull_time_update_exclusion is False
    assert config.tracing is False
    assert config.repository_prefixes == ["team-a/", "team-b/"]
    # An explicitly empty audit scope means every repository the function may read.
    assert config.effective_audit_prefixes == []
    # 500 calls/s for the stack over the 20 environments both functions can run at once.
    assert config.ecr_calls_per_second_per_environment == 25


def test_audit_scope_defaults_to_the_iam_scope() -> None:
    assert LayerCheckConfig.model_validate({"repositoryPrefixes": ["team-a/"]}).effective_audit_prefixes == ["team-a/"]


def test_audit_queue_visibility_is_six_worker_timeouts() -> None:
    assert LayerCheckConfig.model_validate({"workerTimeoutSeconds": 120}).audit_visibility_timeout_seconds == 720


def test_audit_backlog_alarm_threshold_follows_the_worker_timeout() -> None:
    # Five receives, each one visibility timeout (6 x 120 s) apart, then an hour for a large audit to drain.
    config = LayerCheckConfig.model_validate({"workerTimeoutSeconds": 120})
    assert config.audit_backlog_alarm_seconds == 5 * 720 + 3600
    assert LayerCheckConfig().audit_backlog_alarm_seconds == 5 * 1800 + 3600  # 3.5 h by default


def test_stage_throttle_may_equal_the_api_functions_concurrency() -> None:
    config = LayerCheckConfig.model_validate(
        {
            "apiReservedConcurrency": 40,
            "apiThrottleRateLimit": 40,
            "apiThrottleBurstLimit": 40,
            "ecrCallsPerSecond": 500,
        }
    )
    assert config.api_throttle_burst_limit == config.api_reserved_concurrency


@pytest.mark.parametrize(
    ("old_key", "named"),
    [("reservedConcurrency", "apiReservedConcurrency"), ("lambdaTimeoutSeconds", "workerTimeoutSeconds")],
)
def test_keys_of_the_one_function_version_are_refused_naming_what_replaced_them(old_key: str, named: str) -> None:
    app = App(context={old_key: "10"})
    with pytest.raises(ValueError, match=f"{old_key} was replaced by {named}"):
        LayerCheckConfig.from_context(app.node)


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
        ({"auditMaxConcurrency": 8, "workerReservedConcurrency": 4}, "auditMaxConcurrency"),
        ({"workerTimeoutSeconds": 3}, "workerTimeoutSeconds"),
        ({"workerReservedConcurrency": 1}, "workerReservedConcurrency"),
        # A request Lambda throttles is API Gateway's 500: the stage may not admit more than the function can run.
        ({"apiThrottleBurstLimit": 11}, "apiThrottleBurstLimit"),
        ({"apiThrottleRateLimit": 11}, "apiThrottleRateLimit"),
        ({"apiReservedConcurrency": 4, "apiThrottleBurstLimit": 4}, "apiThrottleRateLimit"),
        ({"ecrCallsPerSecond": 14}, "ecrCallsPerSecond"),
        ({"ecrCallsPerSecond": 5000}, "ecrCallsPerSecond"),
        ({"alarmEmail": "not-an-address"}, "alarmEmail"),
        ({"idempotencyExpiresSeconds": 30}, "idempotencyExpiresSeconds"),
        ({"idempotencyExpiresSeconds": 24 * 3600}, "idempotencyExpiresSeconds"),  # shorter than the 30 h window
        # Organization scale: the Lambda's own rules (logic/registries.py), so a synth that passes cannot deploy a
        # function that refuses its AUDIT_ACCOUNTS / AUDIT_REGIONS.
        ({"auditAccounts": "1111"}, "auditAccounts: '1111' is not a 12-digit account id"),
        ({"auditAccounts": ["111122223333", "organization"]}, "auditAccounts: 'organization' must come first"),
        ({"organizationUnitIds": "ou-ab12-teams001"}, "organizationUnitIds needs auditAccounts"),
        ({"auditAccounts": "organization", "organizationUnitIds": "teams"}, "organizationUnitIds: 'teams'"),
        ({"auditRegions": "us-east-1,mars-1"}, "auditRegions: 'mars-1' is not a Region name"),
        ({"auditRegions": "us-east-1,us-east-1"}, "auditRegions: a Region is listed twice"),
        ({"readerRoleName": "no spaces allowed"}, "readerRoleName"),
        ({"readerRoleName": "x" * 65}, "readerRoleName"),
        ({"readerExternalId": "x"}, "readerExternalId"),  # STS takes 2 to 1224 characters
        ({"readerExternalId": "has space"}, "readerExternalId"),
        ({"readerExternalId": "x" * 1225}, "readerExternalId"),
        ({"replicationGraceMinutes": -1}, "replicationGraceMinutes"),
        ({"inventoryTtlHours": 0}, "inventoryTtlHours"),
        ({"pushRecheckSeconds": 31}, "pushRecheckSeconds"),
        ({"eventBusName": "has spaces"}, "eventBusName"),
        ({"eventBusName": "aws.partner/x"}, "eventBusName"),
    ],
)
def test_invalid_settings_are_refused_with_the_key_named(context: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        LayerCheckConfig.model_validate(context)


def test_organization_scale_keys_become_the_functions_values() -> None:
    # Given -c strings, as `cdk deploy -c auditAccounts=organization -c organizationUnitIds=...` passes them
    config = LayerCheckConfig.model_validate(
        {
            "auditAccounts": "organization",
            "organizationUnitIds": "ou-ab12-teams001, r-ab12",
            "auditRegions": "us-east-1,eu-west-1",
            "readerRoleName": "Org.Reader@team",
            "replicationGraceMinutes": "0",
        }
    )
    # Then AUDIT_ACCOUNTS is the Lambda's "organization,<OU or root ids>" form, and the Organization is listed
    assert config.audit_accounts_value == "organization,ou-ab12-teams001,r-ab12"
    assert config.audits_the_organization
    assert config.audit_regions == ["us-east-1", "eu-west-1"]
    assert (config.reader_role_name, config.replication_grace_minutes) == ("Org.Reader@team", 0)


def test_listed_accounts_are_not_the_organization_and_defaults_are_the_lambdas() -> None:
    config = LayerCheckConfig.model_validate({"auditAccounts": ["111122223333", " 444455556666 "]})
    assert config.audit_accounts_value == "111122223333,444455556666"
    assert not config.audits_the_organization
    defaults = LayerCheckConfig()
    # The Lambda's own defaults (contracts/environment.py): a stack that sets nothing behaves as the code documents.
    assert (defaults.reader_role_name, defaults.replication_grace_minutes, defaults.inventory_ttl_hours) == (
        env.DEFAULT_READER_ROLE_NAME,
        env.DEFAULT_REPLICATION_GRACE_MINUTES,
        env.DEFAULT_INVENTORY_TTL_HOURS,
    )
    assert LayerCheckConfig.model_validate({"readerRoleName": ""}).reader_role_name == env.DEFAULT_READER_ROLE_NAME


def test_every_lambda_setting_an_operator_tunes_has_a_context_key() -> None:
    """Each Settings field (lambda_src/layercheck/settings.py) is set by the stack: from a context key, or derived
    (table names, queue URL, the per-environment ECR rate, the API deadline, REGISTRY_IDS from registryAccountIds), or
    Lambda's own (AWS_REGION)."""
    derived = {
        "results_table_name",
        "audit_queue_url",
        "idempotency_table_name",
        "ecr_max_calls_per_second",
        "api_deadline_seconds",
        "registry_ids",
        "audit_repository_prefixes",  # auditRepositoryPrefixes, or repositoryPrefixes when null
        "function_region",  # AWS_REGION, which Lambda sets in every function
    }
    by_field = {name: name for name in LayerCheckConfig.model_fields}
    assert set(Settings.model_fields) - derived <= set(by_field), sorted(
        set(Settings.model_fields) - derived - set(by_field)
    )
