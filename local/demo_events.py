"""The event doors in ``make demo``: push checks of a complete multi-arch image and a broken one, a replayed event; and
the scheduled audit's plumbing the later parts share (schedule event in, work items drained through the queue door,
the verdicts read back over ``GET /images``). Runs inside the demo's moto server and environment."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from local.adapter import json_request
from local.demo_output import Invoker, scheduler_event, short, table
from local.event_source import DrainReport, drain_queue
from local.lambda_context import LOCAL_ACCOUNT_ID, LOCAL_REGION
from local.scenario import BROKEN_TAG, COMPLETE_INDEX_TAG, IMAGE_REPOSITORY, SeededImages, seed_images
from local.seed import blob, digest_of

FOREIGN_LAYER = digest_of(blob("windows-servercore"))  # the scenario's broken image lists it with its ``urls``


def push_event(
    repository_name: str, image_digest: str, image_tag: str | None, *, action_type: str = "PUSH"
) -> dict[str, Any]:
    """An "ECR Image Action" event as EventBridge delivers it (AWS's published sample, this image and action)."""
    detail: dict[str, str] = {
        "result": "SUCCESS",
        "repository-name": repository_name,
        "image-digest": image_digest,
        "action-type": action_type,
    }
    if image_tag:
        detail["image-tag"] = image_tag
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "ECR Image Action",
        "source": "aws.ecr",
        "account": LOCAL_ACCOUNT_ID,
        "time": "2026-01-01T00:00:00Z",
        "region": LOCAL_REGION,
        "resources": [],
        "detail": detail,
    }


def show_push_checks(ecr: Any, invoke: Invoker) -> SeededImages:
    """Push the scenario's images (local/scenario.py) and hand the two ``team-a/api`` pushes to the push door."""
    print("\nECR push events → push door (EventBridge 'ECR Image Action', PUSH/SUCCESS)")
    images = seed_images(ecr)
    rows, events = [], []
    for label, tag in (("index, 2 platforms", COMPLETE_INDEX_TAG), ("manifest + foreign layer", BROKEN_TAG)):
        digest = images.digests[f"{IMAGE_REPOSITORY}:{tag}"]
        event = push_event(IMAGE_REPOSITORY, digest, tag)
        events.append(event)
        answer = invoke(event)
        missing = ", ".join(short(layer) for layer in answer["missingLayers"]) or "-"
        rows.append((f"{IMAGE_REPOSITORY}:{tag}", short(digest), label, answer["status"], missing))
    table(("image", "digest", "kind", "status", "missing layers"), rows)
    print(f"  foreign layer {short(FOREIGN_LAYER)} is skipped: it is never pushed to a registry")
    print(f"  metrics (Source=push): {invoke.take_metrics('ImagesChecked', 'BrokenImages', 'LayersChecked')}")
    replay = invoke(events[1])
    print(
        f"  the same event again: {replay['status']} from the idempotency record, not re-checked or re-counted"
        f" ({invoke.take_metrics('ImagesChecked', 'BrokenImages')})"
    )
    return images


@dataclass(frozen=True)
class Audit:
    audit_id: str
    registries: int
    report: DrainReport

    def work_items(self, kind: str) -> list[dict[str, Any]]:
        items = [json.loads(body) for body in self.report.bodies]
        return [item for item in items if item["kind"] == kind]

    def summary(self) -> str:
        return (
            f"audit {self.audit_id[:8]}: the schedule door queued {self.registries} registry work item(s), which queued"
            f" {len(self.work_items('repository'))} repository item(s)\n  the queue door drained them in"
            f" {self.report.batches} batch(es): {self.report.processed} processed,"
            f" {len(self.report.failed_message_ids)} reported in batchItemFailures"
        )


def run_audit(invoke: Invoker, sqs: Any, queue_url: str) -> Audit:
    """What the stack does at the scheduled hour: the schedule door queues work items, the queue door works them."""
    started = invoke(scheduler_event())
    report = drain_queue(invoke, sqs, queue_url)
    return Audit(started["auditId"], started["registries"], report)


def audited_verdicts(api_url: str, audit: Audit) -> list[dict[str, Any]]:
    """The image verdicts this audit stored, read as a user would: ``GET /images?repositoryName=`` per repository."""
    verdicts: list[dict[str, Any]] = []
    for item in audit.work_items("repository"):
        query = {"repositoryName": item["repositoryName"], "registryId": item["registryId"]}
        if item.get("region"):
            query["region"] = item["region"]
        verdicts += [verdict for verdict in list_images(api_url, query) if verdict["checkId"] == audit.audit_id]
    return verdicts


def list_images(api_url: str, query: dict[str, str]) -> list[dict[str, Any]]:
    """Every page of ``GET /images`` for ``query``."""
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page_query = {**query, "limit": "100"} | ({"nextToken": token} if token else {})
        status, page = json_request(f"{api_url}/images?{urlencode(page_query)}")
        if status != 200:
            raise RuntimeError(f"GET /images answered {status}: {page}")
        items += page["items"]
        token = page.get("nextToken")
        if not token:
            return items
