"""The composition root sends the ExternalId the reader roles' trust requires (READER_EXTERNAL_ID, set by the stack
from context readerExternalId) with every AssumeRole, and none when it is unset.

moto does not enforce a trust policy's ``sts:ExternalId`` condition (real STS answers AccessDenied without it), so
the test reads the AssumeRole request botocore sends, through an event hook on the STS client."""

from __future__ import annotations

from typing import Any

import pytest

from layercheck import dependencies
from layercheck.contracts import environment as env
from layercheck.logic.registries import Registry, RegistryUnreadable

OWN = "123456789012"  # moto's default account
MEMBER = "222233334444"


def _assume_role_requests(monkeypatch: pytest.MonkeyPatch, external_id: str | None) -> list[dict[str, Any]]:
    if external_id is None:
        monkeypatch.delenv(env.READER_EXTERNAL_ID, raising=False)
    else:
        monkeypatch.setenv(env.READER_EXTERNAL_ID, external_id)
    clients = dependencies.services(OWN).registry_clients
    requests: list[dict[str, Any]] = []
    # The STS client the composition root built (no other way in: it is created inside, once per container).
    clients._sts.meta.events.register(
        "provide-client-params.sts.AssumeRole", lambda params, **_: requests.append(dict(params))
    )
    assert not isinstance(clients.ecr(Registry(account_id=MEMBER, region="us-east-1")), RegistryUnreadable)
    return requests


def test_registry_clients_send_the_configured_external_id(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    (request,) = _assume_role_requests(monkeypatch, "layercheck-central-7f3a")
    assert request["ExternalId"] == "layercheck-central-7f3a"
    assert request["RoleArn"] == f"arn:aws:iam::{MEMBER}:role/{env.DEFAULT_READER_ROLE_NAME}"


def test_registry_clients_send_no_external_id_when_none_is_configured(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    (request,) = _assume_role_requests(monkeypatch, None)
    assert "ExternalId" not in request
