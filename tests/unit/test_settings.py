"""Settings come from the environment the stack sets, with defaults for everything optional."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from layercheck.settings import Settings


def test_settings_read_the_stack_environment() -> None:
    settings = Settings.from_environment(
        {
            "RESULTS_TABLE_NAME": "t",
            "AUDIT_QUEUE_URL": "https://sqs/q",
            "RESULTS_TTL_DAYS": "7",
            "AUDIT_REPOSITORY_PREFIXES": "team-a/, team-b/ ,",
            "AUDIT_TAGGED_ONLY": "true",
            "AUDIT_NEWEST_IMAGES": "5",
            "ECR_MAX_CALLS_PER_SECOND": "50",
        }
    )

    assert settings.results_ttl_days == 7
    assert settings.audit_repository_prefixes == ("team-a/", "team-b/")
    assert settings.audit_tagged_only is True
    assert settings.audit_newest_images == 5
    assert settings.ecr_max_calls_per_second == 50


def test_settings_defaults() -> None:
    settings = Settings.from_environment({"RESULTS_TABLE_NAME": "t"})

    assert (settings.results_ttl_days, settings.check_workers, settings.audit_repository_prefixes) == (30, 16, ())


def test_settings_refuse_a_missing_table_name() -> None:
    with pytest.raises(ValidationError, match="results_table_name"):
        Settings.from_environment({})
