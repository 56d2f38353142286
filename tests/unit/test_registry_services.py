"""Each audited registry's in-use sources, made by the root's factories over that registry's clients
(``registry_services.Registries``): over a fake of ``RegistryClients`` (which assumes the reader roles)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3

from layercheck.logic.in_use import InUseSource, SourceReach
from layercheck.logic.org_audit import RegistryServices
from layercheck.logic.ratelimit import RegistryRateLimiters
from layercheck.logic.registries import Registry, RegistryUnreadable
from layercheck.registry_services import Registries

MEMBER = Registry(account_id="111122223333", region="eu-west-1")


@dataclass
class FakeClients:
    """``RegistryClients``: a client per (service, registry), or why the registry cannot be read for ``refused``."""

    refused: dict[str, RegistryUnreadable] = field(default_factory=dict)
    made: list[tuple[str, Registry]] = field(default_factory=list)

    def ecr(self, registry: Registry) -> Any:
        return self.client("ecr", registry)

    def client(self, service: str, registry: Registry) -> Any:
        self.made.append((service, registry))
        if service in self.refused:
            return self.refused[service]
        return boto3.client(service, region_name=registry.region, aws_access_key_id="x", aws_secret_access_key="x")


@dataclass
class NamedSource:
    name: str
    reach: SourceReach

    def references(self, registry: object) -> list[object]:
        return []  # what it finds is discovery's concern (test_in_use.py)


def source_reading(service: str) -> Any:
    """A factory that makes its source over one client of the registry, as integrations/ecs.py's does."""

    def factory(reach: SourceReach) -> InUseSource:
        reach.client(service)
        return NamedSource(service, reach)

    return factory


def registries(clients: FakeClients, *factories: Any, inventory: object = None) -> Registries:
    return Registries(
        clients,  # type: ignore[arg-type]
        RegistryRateLimiters(1000),
        queue=object,  # type: ignore[arg-type]
        inventory=lambda: inventory,  # type: ignore[arg-type,return-value]
        in_use_sources=lambda: factories,
        in_use_references=object,  # type: ignore[arg-type]
        image_checks=lambda registry, region: object(),  # type: ignore[arg-type,return-value]
        layer_checks=lambda registry, region: object(),  # type: ignore[arg-type,return-value]
        replication_grace_minutes=60,
    )


def test_a_registrys_sources_are_made_by_the_roots_factories_in_order_over_its_clients() -> None:
    clients, inventory = FakeClients(), object()
    audit_registries = registries(
        clients, source_reading("ecs"), lambda reach: None, source_reading("scheduler"), inventory=inventory
    )

    services = audit_registries.for_registry(MEMBER)

    # Then a factory that made nothing is left out; each source was handed the registry, its clients, the inventory
    assert isinstance(services, RegistryServices)
    assert [source.name for source in services.in_use_sources] == ["ecs", "scheduler"]
    reaches = [source.reach for source in services.in_use_sources]  # type: ignore[attr-defined]
    assert {(r.registry.registry_id, r.registry.region) for r in reaches} == {(MEMBER.account_id, MEMBER.region)}
    assert all(reach.inventory is inventory for reach in reaches)
    assert ("scheduler", MEMBER) in clients.made


def test_a_registry_whose_source_client_cannot_be_made_is_unreadable() -> None:
    # Given a registry whose ECR client is made, but not the client a source needs
    refused = RegistryUnreadable(account_id=MEMBER.account_id, region=MEMBER.region, code="AccessDenied", reason="no")
    audit_registries = registries(FakeClients(refused={"scheduler": refused}), source_reading("scheduler"))

    assert audit_registries.for_registry(MEMBER) == refused


def test_a_registry_whose_ecr_client_cannot_be_made_is_unreadable_before_any_source_is_made() -> None:
    refused = RegistryUnreadable(account_id=MEMBER.account_id, region=MEMBER.region, code="AccessDenied", reason="no")
    clients = FakeClients(refused={"ecr": refused})

    assert registries(clients, source_reading("ecs")).for_registry(MEMBER) == refused
    assert [made for made, _ in clients.made] == ["ecr"]
