"""Each manifest read once: the AWS calls of a first and a second audit of the same images, through the handler, with
moto in-process.

Layout: one registry, N repositories × I images (3 blobs each, one base layer shared by all), one of them in use (an
inventory entry), the change-event bus configured. The schedule starts an audit and the audit queue is drained into
the handler ten messages at a time, as the event source mapping would; then a second audit of the unchanged images
runs the same way. The first reads every manifest (BatchGetImage) and keeps each whole walk by digest in the results
table; the second finds them there. The call counts per 1,000 images are the figures to read; moto neither throttles
nor bills, and its times are not the network's.
Run: ``.venv/bin/python -m bench.manifest_reads [--repositories 10 --images 100]``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from typing import Any

import boto3
from moto import mock_aws
from moto.ecr.responses import ECRResponse

from bench.org_audit import OWN, REGIONS, TABLE, counting_calls, environment, seed
from layercheck.results_table_schema import create_table_arguments
from local.environment import EVENT_BUS_NAME, create_event_resources
from local.event_source import drain_queue
from local.lambda_context import FakeLambdaContext
from local.moto_ecr import ACTION_METHOD, pull_through_cache_rules_action


def audit(queue_url: str) -> dict[str, Any]:
    from layercheck.handler import lambda_handler

    with open("tests/events/eventbridge_scheduled_event.json", encoding="utf-8") as sample:
        event = json.load(sample) | {"id": str(uuid.uuid4())}  # each audit its own schedule event
    sqs = boto3.client("sqs", region_name=REGIONS[0])
    with counting_calls() as counts:
        start = time.perf_counter()
        lambda_handler(event, FakeLambdaContext())
        report = drain_queue(lambda_handler, sqs, queue_url, batch_size=10, max_batches=100_000)
        elapsed = time.perf_counter() - start
    return {
        "failed_items": len(report.failed_message_ids),
        "audit_seconds": round(elapsed, 2),
        "calls": {key: value for key, value in sorted(counts.items()) if not key.startswith("@")},
    }


def run(repositories: int, images: int) -> dict[str, Any]:
    environment([OWN], REGIONS[:1])
    os.environ["EVENT_BUS_NAME"] = EVENT_BUS_NAME
    with mock_aws():
        setattr(ECRResponse, ACTION_METHOD, pull_through_cache_rules_action([]))
        boto3.client("dynamodb", region_name=REGIONS[0]).create_table(**create_table_arguments(TABLE))
        os.environ["AUDIT_QUEUE_URL"] = queue_url = create_event_resources()
        pushed = seed([OWN], REGIONS[:1], repositories, images)
        first, second = audit(queue_url), audit(queue_url)
        delattr(ECRResponse, ACTION_METHOD)
    per_thousand = 1000 / pushed
    return {
        "layout": f"1 registry x {repositories} repositories x {images} images",
        "images": pushed,
        "first": first,
        "second": second,
        "per_1000_images": {
            name: {key: round(value * per_thousand, 1) for key, value in run["calls"].items()}
            for name, run in (("first", first), ("second", second))
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repositories", type=int, default=10)
    parser.add_argument("--images", type=int, default=100)
    arguments = parser.parse_args()
    print(json.dumps(run(arguments.repositories, arguments.images), indent=2))


if __name__ == "__main__":
    main()
