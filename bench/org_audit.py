"""A scaled-down organization audit, end to end through the handler, with moto in-process: time and AWS calls.

Layout: A accounts (the function's own and A-1 others reached through the reader role, which moto grants) × R
Regions × N repositories × I images (3 blobs each, one base layer shared by all), plus replication of the own
account's first Region to its second, with every copy staged there (moto replicates nothing). One in-use image per
registry (an inventory entry). The schedule starts the audit; the audit queue is drained into the handler ten
messages at a time, as the event source mapping would; only that is timed (seeding is not).

moto answers in the same process, so the time is our code's, botocore's and moto's per call, not the network's, and
moto neither throttles nor bills: the call counts are what to read against ECR's 1,000 calls/s per account and Region.
Run: ``.venv/bin/python -m bench.org_audit [--accounts 5 --regions 2 --repositories 50 --images 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.client import BaseClient
from moto import mock_aws
from moto.ecr.responses import ECRResponse

from layercheck.results_table_schema import create_table_arguments
from local.environment import create_event_resources
from local.event_source import drain_queue
from local.lambda_context import FakeLambdaContext
from local.moto_ecr import (
    ACTION_METHOD,
    REPLICATION_STATUS_METHOD,
    image_replication_status_action,
    pull_through_cache_rules_action,
)
from local.seed import create_repository, push_image

OWN = "123456789012"
REGIONS = ("us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2")
TABLE = "layercheck-bench-org"


def account_ids(count: int) -> list[str]:
    return [OWN, *(f"{200000000000 + n:012d}" for n in range(1, count))]


def ecr_client(account: str, region: str) -> Any:
    if account == OWN:
        return boto3.client("ecr", region_name=region)
    role = f"arn:aws:iam::{account}:role/bench-setup"
    answer = boto3.client("sts", region_name=REGIONS[0]).assume_role(RoleArn=role, RoleSessionName="bench")
    credentials = answer["Credentials"]
    return boto3.client(
        "ecr",
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def seed(accounts: list[str], regions: tuple[str, ...], repositories: int, images: int) -> int:
    from layercheck.integrations.inventory_store import InventoryStore

    pushed = 0
    entries = []
    for account in accounts:
        for region in regions:
            ecr = ecr_client(account, region)
            for r in range(repositories):
                name = f"team-{r % 5}/app-{r}"
                create_repository(ecr, name)
                for i in range(images):
                    image = push_image(ecr, name, ["base", f"app-{r}-{i}", f"config-{i}"], tag=f"v{i}")
                    pushed += 1
                    if r == 0 and i == 0:
                        entries.append(_entry(account, region, name, image["digest"]))
    if len(regions) > 1:  # the own account's first Region replicates everything to its second
        source = ecr_client(OWN, regions[0])
        source.put_replication_configuration(
            replicationConfiguration={"rules": [{"destinations": [{"region": regions[1], "registryId": OWN}]}]}
        )
    InventoryStore(TABLE, boto3.client("dynamodb", region_name=REGIONS[0])).put_entries(entries)
    return pushed


def _entry(account: str, region: str, repository: str, digest: str) -> Any:
    from layercheck.models.in_use import InventoryEntry

    return InventoryEntry(
        source="bench",
        registryId=account,
        region=region,
        repositoryName=repository,
        imageDigest=digest,
        reportedAt="2026-01-01T00:00:00Z",
        expiresAt=4_000_000_000,
    )


@contextmanager
def counting_calls() -> Iterator[Counter[str]]:
    """Every AWS call any client makes (the audit creates its own per-registry clients), by service:operation."""
    counts: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def counted(self: BaseClient, operation_name: str, api_params: Any) -> Any:
        counts[f"{self.meta.service_model.service_name}:{operation_name}"] += 1
        counts[f"@{self.meta.service_model.service_name}:{self.meta.region_name}"] += 1
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counted
    try:
        yield counts
    finally:
        BaseClient._make_api_call = original


def environment(accounts: list[str], regions: tuple[str, ...]) -> None:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGIONS[0],
            "AWS_REGION": REGIONS[0],
            "RESULTS_TABLE_NAME": TABLE,
            "IDEMPOTENCY_TABLE_NAME": "layercheck-idempotency",
            "AUDIT_ACCOUNTS": ",".join(accounts),
            "AUDIT_REGIONS": ",".join(regions),
            "REPLICATION_GRACE_MINUTES": "0",
            "ECR_MAX_CALLS_PER_SECOND": "100000",
            "POWERTOOLS_SERVICE_NAME": "layercheck",
            "POWERTOOLS_METRICS_NAMESPACE": "LayerCheck",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(name, None)


def run(accounts: int, regions: int, repositories: int, images: int) -> dict[str, Any]:
    ids, where = account_ids(accounts), REGIONS[:regions]
    environment(ids, where)
    with mock_aws():
        setattr(ECRResponse, ACTION_METHOD, pull_through_cache_rules_action([]))
        setattr(ECRResponse, REPLICATION_STATUS_METHOD, image_replication_status_action({}))
        dynamodb = boto3.client("dynamodb", region_name=REGIONS[0])
        dynamodb.create_table(**create_table_arguments(TABLE))
        os.environ["AUDIT_QUEUE_URL"] = queue_url = create_event_resources()
        pushed = seed(ids, where, repositories, images)
        from layercheck.handler import lambda_handler

        sqs = boto3.client("sqs", region_name=REGIONS[0])
        event = json.loads(open("tests/events/eventbridge_scheduled_event.json").read())  # noqa: SIM115
        with counting_calls() as counts:
            start = time.perf_counter()
            started = lambda_handler(event, FakeLambdaContext())
            started_in = time.perf_counter() - start
            report = drain_queue(lambda_handler, sqs, queue_url, batch_size=10, max_batches=100_000)
            elapsed = time.perf_counter() - start
        delattr(ECRResponse, ACTION_METHOD)
        delattr(ECRResponse, REPLICATION_STATUS_METHOD)
    kinds = Counter(json.loads(body)["kind"] for body in report.bodies)
    return {
        "layout": f"{accounts} accounts x {regions} Regions x {repositories} repositories x {images} images",
        "images": pushed,
        "registries": started["registries"],
        "work_items": dict(kinds),
        "failed_items": len(report.failed_message_ids),
        "start_seconds": round(started_in, 3),
        "audit_seconds": round(elapsed, 2),
        "calls": {key: value for key, value in sorted(counts.items()) if not key.startswith("@")},
        "ecr_calls_by_region": {key[5:]: value for key, value in sorted(counts.items()) if key.startswith("@ecr:")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=5)
    parser.add_argument("--regions", type=int, default=2, choices=range(1, len(REGIONS) + 1))
    parser.add_argument("--repositories", type=int, default=50)
    parser.add_argument("--images", type=int, default=2)
    arguments = parser.parse_args()
    print(json.dumps(run(arguments.accounts, arguments.regions, arguments.repositories, arguments.images), indent=2))


if __name__ == "__main__":
    main()
