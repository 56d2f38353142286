"""The organization-scale context keys are validated at synth with the Lambda's own rules, naming the key."""

from __future__ import annotations

import pytest

from infra.audit_scope_config import (
    audit_scope_environment,
    reaches_other_accounts,
    validate_audit_accounts,
    validate_audit_regions,
    validate_reader_role_name,
)


def test_validate_audit_accounts_accepts_lists_strings_and_the_organization() -> None:
    assert validate_audit_accounts(None) == []
    assert validate_audit_accounts(["111122223333", " 444455556666 "]) == ["111122223333", "444455556666"]
    assert validate_audit_accounts("organization,ou-ab12-teams001") == ["organization", "ou-ab12-teams001"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1111", "auditAccounts: '1111' is not a 12-digit account id"),
        (["111122223333", "organization"], "auditAccounts: 'organization' must come first"),
        (42, "auditAccounts must be a list of strings"),
    ],
)
def test_validate_audit_accounts_names_the_key_and_the_offender(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_audit_accounts(value)


def test_validate_audit_regions() -> None:
    assert validate_audit_regions("us-east-1,eu-west-1,us-east-1") == ["us-east-1", "eu-west-1"]
    with pytest.raises(ValueError, match="auditRegions: 'mars-1' is not a Region name"):
        validate_audit_regions(["us-east-1", "mars-1"])


def test_validate_reader_role_name() -> None:
    assert validate_reader_role_name(None) == "LayerCheckReader"
    assert validate_reader_role_name("Org.Reader@team") == "Org.Reader@team"
    with pytest.raises(ValueError, match="readerRoleName"):
        validate_reader_role_name("x" * 65)


def test_audit_scope_environment_leaves_empty_lists_to_the_functions_defaults() -> None:
    assert audit_scope_environment([], [], "LayerCheckReader", 60) == {
        "READER_ROLE_NAME": "LayerCheckReader",
        "REPLICATION_GRACE_MINUTES": "60",
    }
    environment = audit_scope_environment(["organization", "ou-ab12-teams001"], ["us-east-1", "eu-west-1"], "R", 0)
    assert environment["AUDIT_ACCOUNTS"] == "organization,ou-ab12-teams001"
    assert environment["AUDIT_REGIONS"] == "us-east-1,eu-west-1"


def test_reaches_other_accounts_decides_whether_the_function_needs_assume_role() -> None:
    assert not reaches_other_accounts([])
    assert not reaches_other_accounts(["123456789012"], own_account="123456789012")
    assert reaches_other_accounts(["123456789012"])  # environment-agnostic stack: the account is unknown at synth
    assert reaches_other_accounts(["organization"])
