"""Stack configuration: every knob comes from ``cdk.json`` context (or ``-c key=value``), validated up front.

Context values arrive as JSON types from ``cdk.json`` and as strings from ``-c``, so the model parses leniently
("5" is 5, "true" is True, "a,b" is ["a", "b"]) and rejects anything it cannot read with a message naming the key.
The table in ``docs/DEPLOY.md`` documents each key; ``tests/infra`` checks that the two stay in step.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from aws_cdk import aws_logs as logs
from constructs import Node
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from infra.constructs.reader_access import EXCLUSION_PRINCIPAL_MAX, FUNCTION_IDS, longest_function_role_arn
from layercheck.contracts import environment as env
from layercheck.contracts.patterns import (
    IAM_ROLE_NAME_PATTERN,
    REGION_PATTERN,
    REGISTRY_ID_PATTERN,
    REPOSITORY_PREFIX_PATTERN,
)
from layercheck.logic.registries import AuditAccountsError, parse_account_selection

ACCOUNT_ID = re.compile(REGISTRY_ID_PATTERN)
ORGANIZATION_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
VPC_ENDPOINT_ID = re.compile(r"^vpce-[0-9a-f]{8,17}$")
REGION = re.compile(REGION_PATTERN)
# EventBridge bus names: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateEventBus.html
EVENT_BUS_NAME = re.compile(r"^([\w.-]{1,256})?$")
# ECR repository names: https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html
REPOSITORY_PREFIX = re.compile(REPOSITORY_PREFIX_PATTERN)
SCHEDULE_EXPRESSION = re.compile(
    r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(\S+ \S+ \S+ \S+ \S+ \S+\))$"
)
# The retention periods CloudWatch Logs accepts, in days, and the CDK names for them.
RETENTION_DAYS: dict[int, logs.RetentionDays] = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}

# Context keys of earlier versions -> what replaced them (cdk.json, docs/DEPLOY.md "Upgrading").
REPLACED_KEYS = {
    "reservedConcurrency": "apiReservedConcurrency and workerReservedConcurrency (two functions)",
    "lambdaTimeoutSeconds": "workerTimeoutSeconds (the API function's timeout is fixed under API Gateway's 29 s)",
}

# A work item that fails this many times is not going to succeed by itself: park it in the DLQ for a person. Five
# receives, not fewer, so that a few throttled or timed-out attempts do not send good work there.
AUDIT_MAX_RECEIVE_COUNT = 5
AUDIT_QUEUE_RETENTION_DAYS = 4

# ECR's default BatchCheckLayerAvailability quota is 1,000 calls/s per account and Region, shared with every
# `docker push`: https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html
ECR_ACCOUNT_QUOTA_PER_SECOND = 1000


def _comma_separated(value: Any) -> Any:
    """``-c key=a,b`` arrives as one string; ``cdk.json`` may hold a list. Both become a list of stripped items."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list):
        return [item.strip() if isinstance(item, str) else item for item in value]
    return value


StringList = Annotated[list[str], BeforeValidator(_comma_separated)]


def _reader_role_name(value: Any) -> Any:
    return env.DEFAULT_READER_ROLE_NAME if value in (None, "") else value


# The reader role's name, as the Lambda validates READER_ROLE_NAME (shared by LayerCheckReader's own config).
ReaderRoleName = Annotated[str, BeforeValidator(_reader_role_name), Field(pattern=IAM_ROLE_NAME_PATTERN)]


# sts:ExternalId as AssumeRole accepts it (2-1224 of these characters); empty: no ExternalId.
# https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
ReaderExternalId = Annotated[str, Field(pattern=r"^([A-Za-z0-9_+=,.@:/-]{2,})?$", max_length=1224)]


class LayerCheckConfig(BaseModel):
    """The deploy-time settings of one layercheck stack. Field aliases are the ``cdk.json`` context keys."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    stack_name: str = Field("LayerCheck", alias="stackName", pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$")

    # The two functions (one asset, one handler): "api" behind API Gateway, "worker" for push, schedule and queue.
    powertools_layer_version: str = Field("3.37.0", alias="powertoolsLayerVersion", pattern=r"^(\d+\.\d+\.\d+|latest)$")
    lambda_memory_mb: int = Field(1024, alias="lambdaMemoryMb", ge=256, le=10240)
    api_reserved_concurrency: int = Field(10, alias="apiReservedConcurrency", ge=1, le=1000)
    worker_reserved_concurrency: int = Field(5, alias="workerReservedConcurrency", ge=2, le=1000)
    worker_timeout_seconds: int = Field(300, alias="workerTimeoutSeconds", ge=30, le=900)
    ecr_calls_per_second: int = Field(500, alias="ecrCallsPerSecond", ge=1, le=ECR_ACCOUNT_QUOTA_PER_SECOND)
    check_workers: int = Field(16, alias="checkWorkers", ge=1, le=64)
    async_retry_attempts: int = Field(2, alias="asyncRetryAttempts", ge=0, le=2)
    async_max_event_age_hours: int = Field(6, alias="asyncMaxEventAgeHours", ge=1, le=6)
    log_level: Literal["DEBUG", "INFO", "WARN", "ERROR"] = Field("INFO", alias="logLevel")
    log_retention_days: int = Field(30, alias="logRetentionDays")
    tracing: bool = Field(True, alias="tracing")

    # What the function may read (IAM) and what the scheduled audit walks.
    repository_prefixes: StringList = Field(default_factory=list, alias="repositoryPrefixes")
    registry_account_ids: StringList = Field(default_factory=list, alias="registryAccountIds")
    pull_time_update_exclusion: bool = Field(True, alias="pullTimeUpdateExclusion")
    audit_repository_prefixes: StringList | None = Field(None, alias="auditRepositoryPrefixes")
    audit_tagged_only: bool = Field(False, alias="auditTaggedOnly")
    audit_newest_images: int = Field(0, alias="auditNewestImages", ge=0)
    audit_batch_size: int = Field(1, alias="auditBatchSize", ge=1, le=10)
    audit_max_concurrency: int = Field(2, alias="auditMaxConcurrency", ge=2, le=1000)
    schedule_expression: str = Field("cron(0 3 * * ? *)", alias="scheduleExpression")
    schedule_enabled: bool = Field(True, alias="scheduleEnabled")
    push_checks_enabled: bool = Field(True, alias="pushChecksEnabled")
    event_retry_attempts: int = Field(8, alias="eventRetryAttempts", ge=0, le=185)
    event_max_age_hours: int = Field(24, alias="eventMaxAgeHours", ge=1, le=24)

    # Results and idempotency records.
    results_ttl_days: int = Field(30, alias="resultsTtlDays", ge=1, le=3650)
    idempotency_expires_seconds: int = Field(30 * 3600, alias="idempotencyExpiresSeconds", ge=60)
    retain_data: bool = Field(True, alias="retainData")

    # The API.
    api_stage_name: str = Field("v1", alias="apiStageName", pattern=r"^[A-Za-z0-9_]{1,128}$")
    api_throttle_rate_limit: int = Field(10, alias="apiThrottleRateLimit", ge=1, le=10000)
    api_throttle_burst_limit: int = Field(10, alias="apiThrottleBurstLimit", ge=1, le=5000)
    api_execution_log_level: Literal["OFF", "ERROR", "INFO"] = Field("OFF", alias="apiExecutionLogLevel")
    organization_id: str = Field("", alias="organizationId")
    vpc_endpoint_ids: StringList = Field(default_factory=list, alias="vpcEndpointIds")
    waf_web_acl_arn: str = Field("", alias="wafWebAclArn", pattern=r"^(arn:aws[a-z-]*:wafv2:[a-z0-9-]+:\d{12}:.+)?$")

    # Organization scale: the registries the audit covers, AUDIT_ACCOUNTS x AUDIT_REGIONS, read through
    # the reader role in other accounts (the LayerCheckReader stack). Validated with the Lambda's own rules.
    audit_accounts: StringList = Field(default_factory=list, alias="auditAccounts")
    organization_unit_ids: StringList = Field(default_factory=list, alias="organizationUnitIds")
    audit_regions: StringList = Field(default_factory=list, alias="auditRegions")
    reader_role_name: ReaderRoleName = Field(env.DEFAULT_READER_ROLE_NAME, alias="readerRoleName")
    reader_external_id: ReaderExternalId = Field("", alias="readerExternalId")
    replication_grace_minutes: int = Field(
        env.DEFAULT_REPLICATION_GRACE_MINUTES, alias="replicationGraceMinutes", ge=0, le=7 * 24 * 60
    )

    # Images in use and change events.
    inventory_ttl_hours: int = Field(env.DEFAULT_INVENTORY_TTL_HOURS, alias="inventoryTtlHours", ge=1, le=24 * 365)
    event_bus_name: str = Field("", alias="eventBusName")
    push_recheck_seconds: int = Field(3, alias="pushRecheckSeconds", ge=0, le=30)

    # Alarms.
    alarm_email: str = Field("", alias="alarmEmail", pattern=r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$")

    @model_validator(mode="after")
    def _consistent(self) -> LayerCheckConfig:
        problems: list[str] = []
        if self.log_retention_days not in RETENTION_DAYS:
            problems.append(f"logRetentionDays must be one of {sorted(RETENTION_DAYS)}")
        if not SCHEDULE_EXPRESSION.match(self.schedule_expression):
            problems.append("scheduleExpression must be an EventBridge rate(...) or cron(...) expression")
        if self.organization_id and not ORGANIZATION_ID.match(self.organization_id):
            problems.append("organizationId must look like o-xxxxxxxxxx")
        problems += [
            f"registryAccountIds: {a!r} is not a 12-digit account id"
            for a in self.registry_account_ids
            if not ACCOUNT_ID.match(a)
        ]
        problems += [
            f"vpcEndpointIds: {v!r} is not a VPC endpoint id"
            for v in self.vpc_endpoint_ids
            if not VPC_ENDPOINT_ID.match(v)
        ]
        for key, prefixes in (
            ("repositoryPrefixes", self.repository_prefixes),
            ("auditRepositoryPrefixes", self.audit_repository_prefixes or []),
        ):
            problems += [
                f"{key}: {p!r} is not a repository name prefix" for p in prefixes if not REPOSITORY_PREFIX.match(p)
            ]
        if self.audit_max_concurrency > self.worker_reserved_concurrency:
            problems.append(
                "auditMaxConcurrency must not exceed workerReservedConcurrency (the mapping would be throttled)"
            )
        if self.ecr_calls_per_second < self.total_reserved_concurrency:
            problems.append(
                "ecrCallsPerSecond must be at least apiReservedConcurrency + workerReservedConcurrency "
                "(one call/s per environment)"
            )
        problems += self._throttle_problems()
        problems += self._audit_scope_problems()
        problems += self._exclusion_problems()
        if self.idempotency_expires_seconds < self.redelivery_window_seconds:
            problems.append(
                "idempotencyExpiresSeconds must cover eventMaxAgeHours + asyncMaxEventAgeHours "
                f"({self.redelivery_window_seconds} s), or a late redelivery would run twice"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _exclusion_problems(self) -> list[str]:
        """A role ARN too long for an ECR pull-time update exclusion fails here, not in CloudFormation at deploy."""
        length = longest_function_role_arn(self.stack_name, FUNCTION_IDS)
        if not self.pull_time_update_exclusion or length <= EXCLUSION_PRINCIPAL_MAX:
            return []
        return [
            f"stackName ({len(self.stack_name)} characters) makes the function roles' ARNs {length} characters long "
            f"(role/layercheck/<stackName>/<stackName>-Worker), over the {EXCLUSION_PRINCIPAL_MAX} an ECR pull-time "
            "update exclusion takes: shorten stackName, or set pullTimeUpdateExclusion=false"
        ]

    def _throttle_problems(self) -> list[str]:
        """The stage must not admit more requests than the API function can run: a request Lambda throttles reaches
        the caller as API Gateway's 500, not as a 429. The burst is how many requests can start at once; the rate
        assumes a request takes about a second (a 10,000-pair check takes longer: see docs/DEPLOY.md).
        https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html"""
        return [
            f"{key} ({value}) must not exceed apiReservedConcurrency ({self.api_reserved_concurrency}): "
            "a request the function cannot take is answered 500 by API Gateway"
            for key, value in (
                ("apiThrottleBurstLimit", self.api_throttle_burst_limit),
                ("apiThrottleRateLimit", self.api_throttle_rate_limit),
            )
            if value > self.api_reserved_concurrency
        ]

    def _audit_scope_problems(self) -> list[str]:
        """The Lambda's own rules for AUDIT_ACCOUNTS and AUDIT_REGIONS, so a value the synth accepts is one the
        function accepts."""
        problems = [
            f"auditRegions: {region!r} is not a Region name (like eu-west-1)"
            for region in self.audit_regions
            if not REGION.match(region)
        ]
        if len(set(self.audit_regions)) != len(self.audit_regions):
            problems.append("auditRegions: a Region is listed twice")
        if self.organization_unit_ids and self.audit_accounts != [env.AUDIT_ACCOUNTS_ORGANIZATION]:
            problems.append('organizationUnitIds needs auditAccounts = ["organization"]')
        try:
            parse_account_selection(self.audit_accounts_value.split(","))
        except AuditAccountsError as error:
            key = "organizationUnitIds" if error.value in self.organization_unit_ids else "auditAccounts"
            problems.append(f"{key}: {error.value!r} {error.rule}")
        if not EVENT_BUS_NAME.match(self.event_bus_name) or self.event_bus_name.startswith("aws."):
            problems.append("eventBusName must be an EventBridge bus name (1-256 of letters, digits, . - _)")
        return problems

    @classmethod
    def from_context(cls, node: Node) -> LayerCheckConfig:
        """Read every key this model knows from the construct tree's context; absent keys take their defaults.
        A key an earlier version read is refused with what replaced it, rather than silently ignored."""
        replaced = [
            f"{old} was replaced by {new}"
            for old, new in REPLACED_KEYS.items()
            if node.try_get_context(old) is not None
        ]
        if replaced:
            raise ValueError(f"invalid layercheck context in cdk.json or -c: {'; '.join(replaced)}")
        keys = [field.alias or name for name, field in cls.model_fields.items()]
        values = {key: value for key in keys if (value := node.try_get_context(key)) is not None}
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            raise ValueError(f"invalid layercheck context in cdk.json or -c: {error}") from error

    @property
    def audit_accounts_value(self) -> str:
        """``AUDIT_ACCOUNTS`` as the function reads it: account ids, or ``organization`` and the OU or root ids."""
        return ",".join([*self.audit_accounts, *self.organization_unit_ids])

    @property
    def audits_the_organization(self) -> bool:
        return self.audit_accounts[:1] == [env.AUDIT_ACCOUNTS_ORGANIZATION]

    @property
    def api_reads_other_accounts(self) -> bool:
        """The API serves other registries (``registryAccountIds``) through their accounts' reader role."""
        return bool(self.registry_account_ids)

    @property
    def log_retention(self) -> logs.RetentionDays:
        return RETENTION_DAYS[self.log_retention_days]

    @property
    def effective_audit_prefixes(self) -> list[str]:
        """The audit walks the IAM scope unless told otherwise: auditing what it may not read would only fail."""
        return self.repository_prefixes if self.audit_repository_prefixes is None else self.audit_repository_prefixes

    @property
    def total_reserved_concurrency(self) -> int:
        return self.api_reserved_concurrency + self.worker_reserved_concurrency

    @property
    def ecr_calls_per_second_per_environment(self) -> int:
        """Each execution environment rate-limits itself, so the stack-wide budget is split across the most
        environments that can run at once (both functions' reserved concurrency)."""
        return max(1, self.ecr_calls_per_second // self.total_reserved_concurrency)

    @property
    def redelivery_window_seconds(self) -> int:
        """How long after an event was first handled a copy of it can still reach the function: EventBridge retries
        delivery for up to ``eventMaxAgeHours``, then Lambda keeps (and retries) an asynchronous event for up to
        ``asyncMaxEventAgeHours``. An idempotency record must outlive both, or the late copy runs again.
        https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
        https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html"""
        return (self.event_max_age_hours + self.async_max_event_age_hours) * 3600

    @property
    def audit_visibility_timeout_seconds(self) -> int:
        """Six times the worker's timeout, as Lambda's SQS guide recommends, so a retried batch is not redelivered
        while a previous attempt may still run.
        https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html"""
        return 6 * self.worker_timeout_seconds

    @property
    def audit_backlog_alarm_seconds(self) -> int:
        """Age of the audit queue's oldest message past which work is stuck rather than slow. A work item that keeps
        failing is in the dead-letter queue after AUDIT_MAX_RECEIVE_COUNT receives, one visibility timeout apart;
        anything older still waiting has not been received at all (mapping disabled, worker throttled), and would
        expire silently after AUDIT_QUEUE_RETENTION_DAYS. One hour on top lets a large audit drain."""
        return AUDIT_MAX_RECEIVE_COUNT * self.audit_visibility_timeout_seconds + 3600
