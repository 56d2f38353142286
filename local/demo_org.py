"""Organization scale in ``make demo``: one deployment audits two accounts × two Regions; the second
account is read through ``sts:AssumeRole`` (moto: assumed-role credentials act in the role's account); the home
registry replicates ``team-e/`` to the other Region, where one copy is whole, one lacks a layer and one is absent."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import boto3

from layercheck import dependencies
from layercheck.contracts import environment as env
from layercheck.models.replicas import INCOMPLETE_REPLICA_STATUSES
from local.demo_events import Audit, audited_verdicts, run_audit
from local.demo_in_use import Receiver, show_broken_list, show_changes
from local.demo_output import Invoker, image_name, short, table
from local.environment import patched_environ
from local.lambda_context import LOCAL_ACCOUNT_ID, LOCAL_REGION
from local.scenario import (
    MEMBER_ACCOUNT,
    MEMBER_REPOSITORY,
    OTHER_REGION,
    REPLICATED_PREFIX,
    REPLICATED_REPOSITORY,
    seed_organization,
)

STATUSES = ("COMPLETE", "BROKEN", "UNCHECKED", "ARCHIVED")


def scope() -> dict[str, str]:
    """The configuration of a deployment that audits both accounts in both Regions. Replication grace off: the copies
    were staged a moment ago, and a younger image than the grace would be pending rather than MISSING."""
    return {
        env.AUDIT_ACCOUNTS: f"{LOCAL_ACCOUNT_ID},{MEMBER_ACCOUNT}",
        env.AUDIT_REGIONS: f"{LOCAL_REGION},{OTHER_REGION}",
        env.REPLICATION_GRACE_MINUTES: "0",
    }


def run(invoke: Invoker, api_url: str, audit_queue_url: str, received: Receiver) -> Audit:
    settings = scope()
    print("\ntwo accounts × two Regions from one deployment (a redeployed configuration)")
    print("  " + "  ".join(f"{name}={value}" for name, value in settings.items()))
    organization = seed_organization()
    print(
        f"  {MEMBER_ACCOUNT} is read through sts:AssumeRole into its LayerCheckReader role;"
        f" it holds a {MEMBER_REPOSITORY} too"
    )
    print(
        f"  {LOCAL_ACCOUNT_ID} {LOCAL_REGION} replicates {REPLICATED_PREFIX}* to {OTHER_REGION}"
        "; moto copies nothing, so the copies are staged:"
    )
    described = {"COMPLETE": "whole", "BROKEN": "missing a layer", "MISSING": "absent"}
    print(
        "    "
        + ", ".join(f"{REPLICATED_REPOSITORY}:{tag} {described[copy]}" for tag, copy in organization.replicas.items())
    )
    with patched_environ(settings):
        dependencies.reset()  # a redeployed configuration: new containers read the new settings
        try:
            audit = run_audit(invoke, boto3.client("sqs", region_name=LOCAL_REGION), audit_queue_url)
        finally:
            dependencies.reset()
    print("  " + audit.summary())
    metrics = invoke.take_metrics("ImagesChecked", "BrokenImages", "ReplicasIncomplete", "RegistriesUnreadable")
    verdicts = audited_verdicts(api_url, audit)
    show_registries(audit, verdicts)
    show_replicas(verdicts)
    print(f"  metrics (Source=schedule): {metrics}")
    show_broken_list(api_url)
    show_changes(received(), "change events on the queue after this audit")
    return audit


def show_registries(audit: Audit, verdicts: list[dict[str, Any]]) -> None:
    by_registry: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for item in audit.work_items("registry"):
        by_registry[(item["registryId"], item["region"])]  # every audited registry, even one without images
    repositories = Counter((item["registryId"], item["region"]) for item in audit.work_items("repository"))
    for verdict in verdicts:
        by_registry[(verdict["registryId"], verdict["region"])][verdict["status"]] += 1
    print()
    rows = [
        (account, region, repositories[(account, region)], *(counts[status] for status in STATUSES))
        for (account, region), counts in sorted(by_registry.items())
    ]
    table(("registryId", "region", "repositories", *STATUSES), rows)


def show_replicas(verdicts: list[dict[str, Any]]) -> None:
    sources = [v for v in verdicts if v.get("replicas")]
    incomplete = sum(r["status"] in INCOMPLETE_REPLICA_STATUSES for v in sources for r in v["replicas"])
    print(f"\nreplicas, judged at their destination (the source verdict's replicas): {incomplete} incomplete")
    rows = [
        (
            f"{v['region']} {image_name(v)}",
            f"{replica['region']} {replica['registryId']}",
            replica["status"],
            ", ".join(short(d) for d in replica.get("missingLayers", [])) or "-",
        )
        for v in sorted(sources, key=image_name)
        for replica in v["replicas"]
    ]
    table(("source image", "destination", "status", "missing"), rows)
