"""The registries an audit covers: AUDIT_ACCOUNTS × AUDIT_REGIONS, with the Organization read through a fake port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from layercheck.logic.registries import (
    AccountSelection,
    AuditAccountsError,
    OrganizationAccount,
    Registry,
    audit_registries,
    organization_accounts,
    parse_account_selection,
    parse_regions,
)

OWN = "123456789012"
ROOT = "r-ab12"
OU_TEAMS = "ou-ab12-teams001"
OU_TEAM_A = "ou-ab12-teama001"  # nested under OU_TEAMS
OU_SANDBOX = "ou-ab12-sandbox1"


class FakeOrganization:
    """root ─ 111111111111 (management), 999999999999 (SUSPENDED)
    ├─ OU_TEAMS ─ 222222222222 ─ OU_TEAM_A ─ 333333333333, 444444444444 (PENDING_CLOSURE)
    └─ OU_SANDBOX ─ 555555555555"""

    def __init__(self) -> None:
        self.accounts = {
            ROOT: [OrganizationAccount("111111111111", "ACTIVE"), OrganizationAccount("999999999999", "SUSPENDED")],
            OU_TEAMS: [OrganizationAccount("222222222222", "ACTIVE")],
            OU_TEAM_A: [
                OrganizationAccount("333333333333", "ACTIVE"),
                OrganizationAccount("444444444444", "PENDING_CLOSURE"),
            ],
            OU_SANDBOX: [OrganizationAccount("555555555555", "ACTIVE")],
        }
        self.children = {ROOT: [OU_TEAMS, OU_SANDBOX], OU_TEAMS: [OU_TEAM_A], OU_TEAM_A: [], OU_SANDBOX: []}
        self.calls: list[str] = []

    def list_accounts(self) -> Iterator[OrganizationAccount]:
        self.calls.append("ListAccounts")
        for accounts in self.accounts.values():
            yield from accounts

    def list_accounts_for_parent(self, parent_id: str) -> Iterator[OrganizationAccount]:
        self.calls.append(f"ListAccountsForParent {parent_id}")
        return iter(self.accounts[parent_id])

    def list_child_units(self, parent_id: str) -> Iterator[str]:
        self.calls.append(f"ListChildren {parent_id}")
        return iter(self.children[parent_id])


def test_parse_account_selection_reads_a_list_of_accounts() -> None:
    selection = parse_account_selection(" 111122223333, 444455556666,111122223333 ")
    assert selection == AccountSelection(accounts=("111122223333", "444455556666"))


def test_parse_account_selection_reads_the_organization_and_its_ous() -> None:
    assert parse_account_selection("organization") == AccountSelection(organization=True)
    assert parse_account_selection(["organization", OU_TEAMS, ROOT]) == AccountSelection(
        organization=True, parents=(OU_TEAMS, ROOT)
    )


def test_parse_account_selection_unset_means_this_account() -> None:
    assert parse_account_selection("") == AccountSelection()


@pytest.mark.parametrize(
    ("value", "offender", "rule"),
    [
        ("11112222333", "11112222333", "is not a 12-digit account id"),
        ("111122223333,organization", "organization", "must come first"),
        (OU_TEAMS, OU_TEAMS, "write 'organization,<id>'"),
        ("organization,111122223333", "111122223333", "must be an OU id"),
        ("Organization", "Organization", "is not a 12-digit account id"),
    ],
)
def test_parse_account_selection_names_the_offending_item(value: str, offender: str, rule: str) -> None:
    with pytest.raises(AuditAccountsError) as raised:
        parse_account_selection(value)
    assert raised.value.variable == "AUDIT_ACCOUNTS"
    assert raised.value.value == offender
    assert rule in str(raised.value)


def test_parse_regions_defaults_to_the_functions_region() -> None:
    assert parse_regions("", home_region="eu-west-1") == ("eu-west-1",)
    assert parse_regions("us-east-1, eu-west-1,us-east-1", home_region="eu-west-1") == ("us-east-1", "eu-west-1")


def test_parse_regions_rejects_what_is_not_a_region_name() -> None:
    with pytest.raises(AuditAccountsError, match="'eu-west' is not a Region name") as raised:
        parse_regions("us-east-1,eu-west", home_region="us-east-1")
    assert raised.value.variable == "AUDIT_REGIONS"


def test_organization_accounts_keeps_active_accounts_only() -> None:
    organization = FakeOrganization()
    assert organization_accounts(organization) == ["111111111111", "222222222222", "333333333333", "555555555555"]
    assert organization.calls == ["ListAccounts"]


def test_organization_accounts_under_an_ou_include_nested_ous() -> None:
    organization = FakeOrganization()
    assert organization_accounts(organization, [OU_TEAMS]) == ["222222222222", "333333333333"]
    assert "ListAccountsForParent ou-ab12-teama001" in organization.calls


def test_organization_accounts_count_an_account_once_when_parents_overlap() -> None:
    # Given an OU and its own parent both configured, When listed, Then each account appears once.
    assert organization_accounts(FakeOrganization(), [OU_TEAMS, OU_TEAM_A]) == ["222222222222", "333333333333"]


def test_audit_registries_is_every_account_in_every_region() -> None:
    registries = audit_registries(
        AccountSelection(accounts=("111122223333", "444455556666")), ("us-east-1", "eu-west-1"), own_account=OWN
    )
    assert registries == [
        Registry(account_id="111122223333", region="us-east-1"),
        Registry(account_id="111122223333", region="eu-west-1"),
        Registry(account_id="444455556666", region="us-east-1"),
        Registry(account_id="444455556666", region="eu-west-1"),
    ]


def test_audit_registries_default_to_this_account_without_calling_organizations() -> None:
    organization = FakeOrganization()
    registries = audit_registries(AccountSelection(), ("eu-west-1",), own_account=OWN, organizations=organization)
    assert registries == [Registry(account_id=OWN, region="eu-west-1")]
    assert organization.calls == []


def test_audit_registries_of_the_organization_limited_to_an_ou() -> None:
    registries = audit_registries(
        parse_account_selection(f"organization,{OU_SANDBOX}"),
        ("us-east-1",),
        own_account=OWN,
        organizations=FakeOrganization(),
    )
    assert registries == [Registry(account_id="555555555555", region="us-east-1")]


def test_audit_registries_of_the_organization_need_an_organizations_port() -> None:
    with pytest.raises(AuditAccountsError, match="needs an Organizations client"):
        audit_registries(AccountSelection(organization=True), ("us-east-1",), own_account=OWN)
