"""The organization-scale context keys (issue 11), validated at synth: ``auditAccounts``, ``auditRegions``,
``readerRoleName``, ``replicationGraceMinutes``.

The rules are the Lambda's own (``layercheck.logic.registries`` and the contract patterns), so a value the synth
accepts is one the function accepts. Each validator takes the raw context value (a JSON list from ``cdk.json``, a
comma-separated string from ``-c``) and returns the clean value or raises ``ValueError`` naming the key.

To fold into infra/config.py (the infra engineer's file), as ``LayerCheckConfig`` fields:

    audit_accounts: Annotated[list[str], BeforeValidator(validate_audit_accounts)] = Field(
        default_factory=list, alias="auditAccounts")
    audit_regions: Annotated[list[str], BeforeValidator(validate_audit_regions)] = Field(
        default_factory=list, alias="auditRegions")
    reader_role_name: Annotated[str, BeforeValidator(validate_reader_role_name)] = Field(
        DEFAULT_READER_ROLE_NAME, alias="readerRoleName")
    replication_grace_minutes: int = Field(DEFAULT_REPLICATION_GRACE_MINUTES, alias="replicationGraceMinutes", ge=0)

then merge ``audit_scope_environment(...)`` into the function's environment, and attach
``infra/constructs/reader_access.py``'s statements to the audit function's role when ``auditAccounts`` names another
account or the organization.
"""

from __future__ import annotations

import re
from typing import Any

from layercheck.contracts import environment as env
from layercheck.contracts.patterns import IAM_ROLE_NAME_PATTERN, REGION_PATTERN
from layercheck.logic.registries import AccountSelection, AuditAccountsError, parse_account_selection

_REGION = re.compile(REGION_PATTERN)
_ROLE_NAME = re.compile(IAM_ROLE_NAME_PATTERN)


def _items(key: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [item.strip() for item in value if item.strip()]
    raise ValueError(f"{key} must be a list of strings or a comma-separated string, not {value!r}")


def validate_audit_accounts(value: Any) -> list[str]:
    """``[]`` (this account), account ids, or ``["organization", <OU or root ids>...]`` (``-c auditAccounts=
    organization,ou-ab12-cdef3456``)."""
    items = _items("auditAccounts", value)
    try:
        parse_account_selection(items)
    except AuditAccountsError as error:
        raise ValueError(f"auditAccounts: {error.value!r} {error.rule}") from error
    return items


def audit_account_selection(value: Any) -> AccountSelection:
    return parse_account_selection(validate_audit_accounts(value))


def validate_audit_regions(value: Any) -> list[str]:
    """``[]`` (the stack's own Region) or Region names, each once."""
    items = _items("auditRegions", value)
    bad = [item for item in items if not _REGION.match(item)]
    if bad:
        raise ValueError(f"auditRegions: {bad[0]!r} is not a Region name (like eu-west-1)")
    return list(dict.fromkeys(items))


def validate_reader_role_name(value: Any) -> str:
    name = env.DEFAULT_READER_ROLE_NAME if value in (None, "") else value
    if not isinstance(name, str) or not _ROLE_NAME.match(name):
        raise ValueError(f"readerRoleName: {value!r} is not an IAM role name (1-64 of letters, digits, +=,.@_-)")
    return name


def audit_scope_environment(
    audit_accounts: list[str], audit_regions: list[str], reader_role_name: str, replication_grace_minutes: int
) -> dict[str, str]:
    """The function's environment for these keys; an empty list is left out so the function's default applies."""
    environment = {
        env.READER_ROLE_NAME: reader_role_name,
        env.REPLICATION_GRACE_MINUTES: str(replication_grace_minutes),
    }
    if audit_accounts:
        environment[env.AUDIT_ACCOUNTS] = ",".join(audit_accounts)
    if audit_regions:
        environment[env.AUDIT_REGIONS] = ",".join(audit_regions)
    return environment


def reaches_other_accounts(audit_accounts: list[str], own_account: str | None = None) -> bool:
    """Whether the audit function needs ``sts:AssumeRole`` on the reader role: the organization, or any listed
    account other than the stack's own (``own_account`` is unknown at synth for an environment-agnostic stack, so
    any explicit list counts unless it is exactly that account)."""
    selection = parse_account_selection(audit_accounts)
    return selection.organization or any(account != own_account for account in selection.accounts)
