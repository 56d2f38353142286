"""The organization-scale settings read from the Lambda's environment, with their defaults and checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from layercheck.settings import Settings

BASE = {"RESULTS_TABLE_NAME": "results"}


def test_settings_audit_scope_defaults() -> None:
    settings = Settings.from_environment(BASE)
    assert settings.audit_accounts == ()
    assert settings.audit_regions == ()
    assert settings.reader_role_name == "LayerCheckReader"
    assert settings.replication_grace_minutes == 60


def test_settings_audit_scope_reads_the_environment() -> None:
    settings = Settings.from_environment(
        {
            **BASE,
            "AUDIT_ACCOUNTS": "organization, ou-ab12-teams001",
            "AUDIT_REGIONS": "us-east-1,eu-west-1",
            "READER_ROLE_NAME": "OrgReader",
            "REPLICATION_GRACE_MINUTES": "0",
        }
    )
    assert settings.audit_accounts == ("organization", "ou-ab12-teams001")
    assert settings.audit_regions == ("us-east-1", "eu-west-1")
    assert settings.reader_role_name == "OrgReader"
    assert settings.replication_grace_minutes == 0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("AUDIT_ACCOUNTS", "111122223333,1234", "'1234' is not a 12-digit account id"),
        ("AUDIT_REGIONS", "us-east-1,Europe", "audit_regions"),
        ("READER_ROLE_NAME", "has space", "reader_role_name"),
        ("READER_ROLE_NAME", "Lecteur-é", "reader_role_name"),  # IAM's word characters are ASCII
        ("REPLICATION_GRACE_MINUTES", "-1", "replication_grace_minutes"),
    ],
)
def test_settings_audit_scope_refuses_a_bad_value(name: str, value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings.from_environment({**BASE, name: value})
