"""The audit queue door resolves what an item leaves out at the edge: below it, every item names its Region."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from layercheck.dependencies import Services
from layercheck.doors import queue
from layercheck.logic.registries import RegistryUnreadable
from layercheck.models.audit import RepositoryWorkItem
from local.event_source import sqs_event
from local.lambda_context import FakeLambdaContext
from tests.integration.event_support import prepare_event_doors

OWN = "123456789012"


class SpyAudit:
    """The organization audit, as far as the door sees it: it records the items it is handed."""

    def __init__(self) -> None:
        self.items: list[RepositoryWorkItem] = []

    def audit_repository(self, item: RepositoryWorkItem) -> RegistryUnreadable:
        self.items.append(item)
        return RegistryUnreadable(account_id=item.registryId, region=str(item.region), code="AccessDenied", reason="")


@pytest.mark.usefixtures("results_table")
def test_an_item_queued_before_items_carried_a_region_is_audited_in_the_functions_own_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queue_url = prepare_event_doors(monkeypatch)
    sqs = boto3.client("sqs", region_name="us-east-1")
    old = {"kind": "repository", "auditId": "a", "registryId": OWN, "repositoryName": "r1"}  # no "region"
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(old))
    [message] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    audit = SpyAudit()
    services: Any = Services(
        OWN,
        organization_audit=audit,
        registry_clients=SimpleNamespace(start_invocation=lambda: None),
        registries=SimpleNamespace(invocation=SimpleNamespace(start=lambda remaining_ms: None)),
    )

    response = queue.handle(sqs_event([message], "audit"), FakeLambdaContext(), services)

    assert response["batchItemFailures"] == []
    [item] = audit.items
    assert (item.registryId, item.region, item.repositoryName) == (OWN, "us-east-1", "r1")
