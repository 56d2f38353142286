"""The Lambda's configuration, read from the environment the CDK stack sets, once per container and only when needed."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from layercheck.contracts import environment as env
from layercheck.contracts.patterns import IAM_ROLE_NAME_PATTERN, REGION_PATTERN, REGISTRY_ID_PATTERN
from layercheck.errors import MissingConfigurationError
from layercheck.logic.registries import (
    AccountSelection,
    RegistryLocation,
    audited_registry_rule,
    parse_account_selection,
    parse_regions,
)


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    results_table_name: str = Field(min_length=1)
    audit_queue_url: str | None = None
    results_ttl_days: int = Field(default=30, ge=1)
    check_workers: int = Field(default=16, ge=1, le=64)
    ecr_max_calls_per_second: float = Field(default=100, gt=0)
    audit_repository_prefixes: tuple[str, ...] = ()
    audit_tagged_only: bool = False
    audit_newest_images: int = Field(default=0, ge=0)
    idempotency_table_name: str | None = None
    # EventBridge retries a delivery for up to 24 hours (the target's maximum event age): a duplicate can only
    # arrive inside that window, so that is how long an event's or a work item's record must be remembered.
    idempotency_expires_seconds: int = Field(default=24 * 3600, ge=60)
    # -- the API door's limits (docs/API.md) --
    # Registries the API may be asked to check; empty means this account only (the account in the function's ARN).
    registry_ids: tuple[Annotated[str, Field(pattern=REGISTRY_ID_PATTERN)], ...] = ()
    # API Gateway gives up after 29 s; no ECR call starts after this many seconds, so the answer still arrives.
    api_deadline_seconds: float = Field(default=27, gt=0, le=29)
    # -- verdicts (docs/EVENTS.md) --
    # Right after a push ECR can be briefly inconsistent: a push check asks again about blobs ECR says it lacks, with
    # pauses adding up to at most this many seconds, before they make the image BROKEN (0: the first answer is final).
    push_recheck_seconds: float = Field(default=3, ge=0, le=30)
    # -- organization scale: logic/registries.py turns the two lists into the audited registries --
    # Account ids, or "organization" (then optionally OU/root ids); empty: this account.
    audit_accounts: tuple[str, ...] = ()
    # Region names; empty: the function's own Region.
    audit_regions: tuple[Annotated[str, Field(pattern=REGION_PATTERN)], ...] = ()
    reader_role_name: str = Field(default=env.DEFAULT_READER_ROLE_NAME, pattern=IAM_ROLE_NAME_PATTERN)
    # Set when the reader roles' trust requires an ExternalId (context readerExternalId).
    reader_external_id: str | None = None
    # An image younger than this is not yet a MISSING replica (replication is asynchronous); 0: no grace.
    replication_grace_minutes: int = Field(default=env.DEFAULT_REPLICATION_GRACE_MINUTES, ge=0)

    # -- images in use and change events --
    # POST /inventory entries count as "in use" this long after their last report (a runtime that stops reporting
    # stops keeping its images in use).
    inventory_ttl_hours: int = Field(default=env.DEFAULT_INVENTORY_TTL_HOURS, ge=1, le=24 * 365)
    # The EventBridge bus for "Image Verdict Changed" events; unset: no events are published.
    event_bus_name: str | None = Field(default=None, min_length=1, max_length=256)
    # The function's own Region (Lambda sets AWS_REGION): the default of every Region a request or an item leaves out.
    function_region: str | None = Field(default=None, pattern=REGION_PATTERN)

    @field_validator("audit_repository_prefixes", "registry_ids", "audit_accounts", "audit_regions", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """A list variable is one comma-separated string ("a, b,"); empty items are dropped."""
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    def served_registry_ids(self, own_account: str) -> frozenset[str]:
        """The registries requests may name: ``REGISTRY_IDS``, or this function's own account when it is unset."""
        return frozenset(self.registry_ids or (own_account,))

    def home_region(self) -> str:
        """The function's own Region; a missing one is the operator's to fix, named when first needed."""
        if not self.function_region:
            raise MissingConfigurationError(env.AWS_REGION, "audit")
        return self.function_region

    def account_selection(self) -> AccountSelection:
        return parse_account_selection(self.audit_accounts)

    def audited_regions(self) -> tuple[str, ...]:
        """``AUDIT_REGIONS``, or the function's own Region when it is unset."""
        return tuple(parse_regions(self.audit_regions, home_region=self.home_region()))

    def is_audited(self, own_account: str) -> Callable[[RegistryLocation], bool]:
        """The one rule for "audited" (``AUDIT_ACCOUNTS`` × ``AUDIT_REGIONS``): the audit's and POST /inventory's."""
        return audited_registry_rule(self.account_selection(), self.audited_regions(), own_account)

    @field_validator("audit_accounts")
    @classmethod
    def _account_selection(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        parse_account_selection(value)  # raises AuditAccountsError (a ValueError) naming the offending item
        return value

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        names = {
            "results_table_name": env.RESULTS_TABLE_NAME,
            "audit_queue_url": env.AUDIT_QUEUE_URL,
            "results_ttl_days": env.RESULTS_TTL_DAYS,
            "check_workers": env.CHECK_WORKERS,
            "ecr_max_calls_per_second": env.ECR_MAX_CALLS_PER_SECOND,
            "audit_repository_prefixes": env.AUDIT_REPOSITORY_PREFIXES,
            "audit_tagged_only": env.AUDIT_TAGGED_ONLY,
            "audit_newest_images": env.AUDIT_NEWEST_IMAGES,
            "idempotency_table_name": env.IDEMPOTENCY_TABLE_NAME,
            "idempotency_expires_seconds": env.IDEMPOTENCY_EXPIRES_SECONDS,
            "registry_ids": env.REGISTRY_IDS,
            "api_deadline_seconds": env.API_DEADLINE_SECONDS,
            "inventory_ttl_hours": env.INVENTORY_TTL_HOURS,
            "event_bus_name": env.EVENT_BUS_NAME,
            "push_recheck_seconds": env.PUSH_RECHECK_SECONDS,
            "audit_accounts": env.AUDIT_ACCOUNTS,
            "audit_regions": env.AUDIT_REGIONS,
            "reader_role_name": env.READER_ROLE_NAME,
            "reader_external_id": env.READER_EXTERNAL_ID,
            "replication_grace_minutes": env.REPLICATION_GRACE_MINUTES,
            # Lambda sets AWS_REGION; the SDKs' own variable stands in elsewhere (the command line, local runs).
            "function_region": env.AWS_DEFAULT_REGION,
            **({"function_region": env.AWS_REGION} if environ.get(env.AWS_REGION) else {}),
        }
        return cls.model_validate({field: environ[name] for field, name in names.items() if environ.get(name)})


def account_of(function_arn: str) -> str:
    """The account in a Lambda function's ARN (``arn:aws:lambda:<region>:<account>:function:<name>``)."""
    return function_arn.split(":")[4]


@functools.cache
def load_settings() -> Settings:
    return Settings.from_environment(os.environ)
