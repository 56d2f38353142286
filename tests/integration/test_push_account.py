"""The push door uses the event's ``account`` as the registry id and its ``region`` as the registry's Region: only a
12-digit account this deployment serves (``REGISTRY_IDS``; default: the function's own account), in a Region it
audits, is checked, before any ECR call, and it is read as every route reads a registry."""

from __future__ import annotations

from typing import Any

import pytest

from layercheck.errors import InvalidEventError
from layercheck.handler import lambda_handler
from local.lambda_context import FakeLambdaContext
from tests.integration.event_support import prepare_event_doors, push_event
from tests.support import emf_totals, hand_services, refuse_assume_role

DIGEST = "sha256:" + "7" * 64


class ReachedCheckError(Exception):
    """Raised by the spy service: the push got as far as the check (and its ECR calls)."""


class SpyPushService:
    def __init__(self) -> None:
        self.registries: list[str] = []

    def check_push(self, registry_id: str, *args: Any, **kwargs: Any) -> Any:
        self.registries.append(registry_id)
        raise ReachedCheckError(registry_id)


@pytest.fixture
def spy(results_table: str, monkeypatch: pytest.MonkeyPatch) -> SpyPushService:
    prepare_event_doors(monkeypatch)
    service = SpyPushService()
    hand_services(monkeypatch, push_checks=lambda served: service)
    return service


def push_from(account: Any) -> dict[str, Any]:
    event = push_event("team-a/api", DIGEST)
    event["account"] = account
    return event


def test_a_push_from_a_registry_not_served_is_ignored_without_a_call(spy: SpyPushService) -> None:
    answer = lambda_handler(push_from("210987654321"), FakeLambdaContext())

    assert answer == {"status": "ignored", "reason": "registry 210987654321 is not served"}
    assert spy.registries == []


@pytest.mark.parametrize("account", ["12345", "12345678901a", "", "123456789012#x"])
def test_a_push_whose_account_is_not_an_account_id_is_refused(spy: SpyPushService, account: str) -> None:
    with pytest.raises(InvalidEventError, match="account"):
        lambda_handler(push_from(account), FakeLambdaContext())

    assert spy.registries == []


def test_a_push_from_a_configured_registry_is_checked(spy: SpyPushService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_IDS", "123456789012,210987654321")

    with pytest.raises(ReachedCheckError):
        lambda_handler(push_from("210987654321"), FakeLambdaContext())

    assert spy.registries == ["210987654321"]


def test_a_push_from_a_region_not_audited_is_ignored_without_a_call(spy: SpyPushService) -> None:
    event = push_from("123456789012")
    event["region"] = "eu-west-1"  # AUDIT_REGIONS unset: the function's own Region (us-east-1) is the one audited

    answer = lambda_handler(event, FakeLambdaContext())

    assert answer == {"status": "ignored", "reason": "region eu-west-1 is not audited"}
    assert spy.registries == []


def test_a_push_from_a_served_registry_that_cannot_be_read_is_answered_and_counted(
    spy: SpyPushService, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Real STS answers AccessDenied when the member's reader role is missing (moto assumes any role)."""
    monkeypatch.setenv("REGISTRY_IDS", "123456789012,210987654321")
    refuse_assume_role(monkeypatch, ["210987654321"], push_checks=lambda served: spy)

    answer = lambda_handler(push_from("210987654321"), FakeLambdaContext())

    assert answer["status"] == "unreadable" and answer["reason"].startswith("AccessDenied")
    assert spy.registries == []
    assert emf_totals(capsys.readouterr().out)["RegistriesUnreadable"] == 1
