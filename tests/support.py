"""Helpers the test tiers share: event fixtures, EMF parsing, and the doors' services."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from layercheck.dependencies import Services
    from layercheck.logic.layer_check import LayerCheckService
    from layercheck.logic.registries import Registry

EVENTS = Path(__file__).parent / "events"
TABLE_NAME = "layercheck-results-test"


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def emf_blobs(stdout: str) -> list[dict[str, Any]]:
    """The EMF documents Powertools printed (one JSON object per line with an ``_aws`` key)."""
    blobs = []
    for line in stdout.splitlines():
        try:
            blob = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(blob, dict) and "_aws" in blob:
            blobs.append(blob)
    return blobs


def emf_totals(stdout: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for blob in emf_blobs(stdout):
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + (
                    sum(value) if isinstance(value, list) else value
                )
    return totals


def hand_services(monkeypatch: Any, **parts: Any) -> None:
    """The doors are handed ``Services`` with these parts ready-made (fakes); every other part is the real one."""
    from layercheck import dependencies

    monkeypatch.setattr(dependencies, "services", lambda own_account: dependencies.Services(own_account, **parts))


def hand_layer_checks(monkeypatch: Any, make: Callable[[Services, Registry], LayerCheckService]) -> None:
    """The doors are handed ``Services`` that serve every registry with the layer checks ``make(services, registry)``
    (and no other ECR part); every other part is the real one."""
    from layercheck import dependencies
    from layercheck.logic.registries import Registry
    from layercheck.registry_services import ServedRegistry

    def unused() -> Any:
        raise AssertionError("only layer checks are served")

    def services(own_account: str) -> Services:
        def serve(registry_id: str, region: str) -> ServedRegistry:
            registry = Registry(account_id=registry_id, region=region)
            checks = lambda: make(handed, registry)  # noqa: E731
            return ServedRegistry(registry, unused, layer_checks=checks, image_checks=unused, lifecycle=unused)

        handed = dependencies.Services(own_account, serve=serve)
        return handed

    monkeypatch.setattr(dependencies, "services", services)


def offline_client(service: str) -> Any:
    """A boto3 client that never finds credentials or a Region on the machine: for botocore's Stubber."""
    import boto3

    return boto3.client(service, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def refuse_assume_role(
    monkeypatch: Any, accounts: Collection[str], message: str = "not authorized", **parts: Any
) -> None:
    """Real STS answers AccessDenied when an account's reader role is missing or does not trust us (moto assumes any
    role): the doors are handed ``Services`` whose STS client answers so for those accounts, at the call (botocore's
    ``before-call`` hook), and asks moto for every other one; ``parts`` are further parts ready-made."""
    import boto3

    from layercheck import dependencies
    from layercheck.integrations.sessions import RegistryClients
    from layercheck.observability import current_invocation

    class Refused:  # what botocore reads of an answer given before the call: its status
        status_code = 403
        headers: ClassVar[dict[str, str]] = {}

    def refuse(params: dict[str, Any], **_: Any) -> tuple[Refused, dict[str, Any]] | None:
        if any(f"::{account}:role/" in str(params.get("body")) for account in accounts):
            return Refused(), {"Error": {"Code": "AccessDenied", "Message": message}, "ResponseMetadata": {}}
        return None

    def services(own_account: str) -> Services:
        settings = dependencies.load_settings()
        sts = boto3.client("sts")
        sts.meta.events.register("before-call.sts.AssumeRole", refuse)
        clients = RegistryClients(
            own_account_id=own_account,
            role_name=settings.reader_role_name,
            sts_client=sts,
            external_id=settings.reader_external_id,
            invocation=current_invocation,
        )
        return dependencies.Services(own_account, registry_clients=clients, **parts)

    monkeypatch.setattr(dependencies, "services", functools.cache(services))
