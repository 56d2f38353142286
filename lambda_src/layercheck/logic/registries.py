"""The registries an audit covers: ``AUDIT_ACCOUNTS`` × ``AUDIT_REGIONS`` → ``[Registry(account_id, region), ...]``.

``AUDIT_ACCOUNTS`` is either a list of 12-digit account ids, or ``organization``: every ACTIVE account of the AWS
Organization (Organizations ``ListAccounts``), optionally followed by OU or root ids that limit it to the accounts under
them, nested OUs included (``organization,ou-ab12-cdef3456``: ``ListAccountsForParent`` and ``ListChildren``). Unset, it
is this account. ``AUDIT_REGIONS`` is a list of Region names; unset, the function's own Region. Pure logic over an
``OrganizationsPort`` (integrations/organizations.py implements it).

How it is used:
- settings.py reads the raw lists (``audit_accounts``, ``audit_regions``) and parses them with the functions below
  (``Settings.account_selection``, ``audited_regions``, ``is_audited``: the one rule the audit and ``POST /inventory``
  share); the schedule door calls ``audit_registries(...)`` with them and the registry audit (logic/org_audit.py)
  fans out one work item per (registry, repository): each work item carries ``registryId`` (=
  ``Registry.account_id``) and ``region``.
- A configuration error (``AuditAccountsError``) fails the audit start loudly: it is the operator's to fix. So does
  ``OrganizationsUnavailableError`` (this account cannot list the Organization: make it the management account or a
  delegated administrator, or list the accounts explicitly).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from layercheck.contracts.environment import AUDIT_ACCOUNTS, AUDIT_ACCOUNTS_ORGANIZATION, AUDIT_REGIONS
from layercheck.contracts.patterns import (
    ORGANIZATION_ROOT_ID_PATTERN,
    ORGANIZATIONAL_UNIT_ID_PATTERN,
    REGION_PATTERN,
    REGISTRY_ID_PATTERN,
)
from layercheck.errors import LayercheckError

ACTIVE = "ACTIVE"  # Organizations' Account.State (and the older Account.Status) of an account that can be read
_ACCOUNT_ID = re.compile(REGISTRY_ID_PATTERN)
_REGION = re.compile(REGION_PATTERN)
_PARENT_ID = re.compile(f"{ORGANIZATIONAL_UNIT_ID_PATTERN}|{ORGANIZATION_ROOT_ID_PATTERN}")


class Registry(BaseModel):
    """One private registry: an account in a Region. ECR's ``registryId`` is the account id."""

    model_config = ConfigDict(frozen=True)

    account_id: str = Field(pattern=REGISTRY_ID_PATTERN)
    region: str = Field(pattern=REGION_PATTERN)

    def __str__(self) -> str:
        return f"{self.account_id}/{self.region}"


class RegistryUnreadable(BaseModel):
    """A registry this deployment could not read (role missing or not trusting us, access denied, Region not enabled).

    Data, not an exception: the audit records it (one UNCHECKED-style record and a metric) and goes on with the
    other registries. ``code`` is AWS's error code verbatim (``AccessDenied``, ``UnrecognizedClientException``...)."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    region: str
    code: str
    reason: str


class AuditAccountsError(LayercheckError, ValueError):
    """``AUDIT_ACCOUNTS`` or ``AUDIT_REGIONS`` breaks a rule; ``variable``, ``value`` and ``rule`` say which."""

    def __init__(self, variable: str, value: str, rule: str) -> None:
        super().__init__(f"{variable}: {value!r} {rule}")
        self.variable = variable
        self.value = value
        self.rule = rule


class OrganizationsUnavailableError(LayercheckError):
    """Organizations refused to list the accounts (not the management account or a delegated administrator,
    no Organization, access denied); ``code`` is its error code verbatim."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class OrganizationAccount:
    account_id: str
    state: str  # Account.State (ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED ...), else the older Account.Status


class OrganizationsPort(Protocol):
    """Organizations' listings, every page; each raises ``OrganizationsUnavailableError``."""

    def list_accounts(self) -> Iterable[OrganizationAccount]: ...

    def list_accounts_for_parent(self, parent_id: str) -> Iterable[OrganizationAccount]: ...

    def list_child_units(self, parent_id: str) -> Iterable[str]:
        """The ids of the OUs directly under a root or OU."""
        ...


class AccountSelection(BaseModel):
    """``AUDIT_ACCOUNTS`` read: explicit ``accounts``, or the ``organization`` (limited to ``parents`` when given)."""

    model_config = ConfigDict(frozen=True)

    accounts: tuple[str, ...] = ()
    organization: bool = False
    parents: tuple[str, ...] = ()


def _tokens(value: str | Sequence[str]) -> list[str]:
    items = value.split(",") if isinstance(value, str) else value
    return [item.strip() for item in items if item.strip()]


def parse_account_selection(value: str | Sequence[str]) -> AccountSelection:
    """``""`` → this account; ``"111122223333,444455556666"``; ``"organization"``; ``"organization,ou-ab12-cdef3456"``.

    Raises ``AuditAccountsError`` naming the first offending item: an id that is not 12 digits, an OU/root id
    without ``organization`` before it, or ``organization`` mixed with account ids (say one or the other)."""
    tokens = _tokens(value)
    if not tokens:
        return AccountSelection()
    if tokens[0] == AUDIT_ACCOUNTS_ORGANIZATION:
        for token in tokens[1:]:
            if not _PARENT_ID.match(token):
                raise AuditAccountsError(
                    AUDIT_ACCOUNTS, token, "after 'organization' must be an OU id (ou-...) or a root id (r-...)"
                )
        return AccountSelection(organization=True, parents=tuple(dict.fromkeys(tokens[1:])))
    for token in tokens:
        if token == AUDIT_ACCOUNTS_ORGANIZATION:
            raise AuditAccountsError(AUDIT_ACCOUNTS, token, "must come first, and not together with account ids")
        if _PARENT_ID.match(token):
            raise AuditAccountsError(AUDIT_ACCOUNTS, token, "is an OU or root id: write 'organization,<id>'")
        if not _ACCOUNT_ID.match(token):
            raise AuditAccountsError(AUDIT_ACCOUNTS, token, "is not a 12-digit account id")
    return AccountSelection(accounts=tuple(dict.fromkeys(tokens)))


def parse_regions(value: str | Sequence[str], *, home_region: str) -> tuple[str, ...]:
    """The audited Regions in the order given (duplicates dropped); the function's own Region when none is given."""
    tokens = _tokens(value) or [home_region]
    for token in tokens:
        if not _REGION.match(token):
            raise AuditAccountsError(AUDIT_REGIONS, token, "is not a Region name (like eu-west-1)")
    return tuple(dict.fromkeys(tokens))


def organization_accounts(organizations: OrganizationsPort, parents: Sequence[str] = ()) -> list[str]:
    """The ACTIVE accounts of the Organization, or of the accounts under ``parents`` at any depth, each once.

    Suspended and closing accounts are left out: their registries cannot be read and their absence is not news."""
    if not parents:
        found = [account for account in organizations.list_accounts() if account.state == ACTIVE]
    else:
        found = []
        pending, seen = list(parents), set(parents)
        while pending:  # breadth first through nested OUs: Organizations allows five levels below the root
            parent = pending.pop(0)
            found.extend(a for a in organizations.list_accounts_for_parent(parent) if a.state == ACTIVE)
            for child in organizations.list_child_units(parent):
                if child not in seen:
                    seen.add(child)
                    pending.append(child)
    return sorted({account.account_id for account in found})


def audit_registries(
    selection: AccountSelection,
    regions: Sequence[str],
    *,
    own_account: str,
    organizations: OrganizationsPort | None = None,
) -> list[Registry]:
    """Every (account, Region) pair in scope, account by account. ``organizations`` is needed (and called) only when
    the selection is the Organization."""
    if selection.organization:
        if organizations is None:
            raise AuditAccountsError(AUDIT_ACCOUNTS, AUDIT_ACCOUNTS_ORGANIZATION, "needs an Organizations client")
        accounts: Sequence[str] = organization_accounts(organizations, selection.parents)
    else:
        accounts = selection.accounts or (own_account,)
    return [Registry(account_id=account, region=region) for account in accounts for region in regions]


class RegistryLocation(Protocol):
    """Anything that names a registry by account and Region (``logic.in_use.RegistryRef``, an image URI ...)."""

    @property
    def registry_id(self) -> str: ...

    @property
    def region(self) -> str: ...


def audited_registry_rule(
    selection: AccountSelection, regions: Sequence[str], own_account: str
) -> Callable[[RegistryLocation], bool]:
    """Whether a registry is audited (``AUDIT_ACCOUNTS`` × ``AUDIT_REGIONS``), without asking Organizations: with
    ``organization`` every account of an audited Region counts (an entry for an account the audit does not cover is
    never read and expires)."""
    accounts = frozenset(selection.accounts or (own_account,))
    audited_regions = frozenset(regions)

    def audited(registry: RegistryLocation) -> bool:
        return registry.region in audited_regions and (selection.organization or registry.registry_id in accounts)

    return audited
