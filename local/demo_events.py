"""The event doors in ``make demo``: push checks of a complete multi-arch image and a broken one, a replayed event,
then a small scheduled audit drained through the audit queue. Runs inside the demo's moto server and environment."""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import boto3

from local.environment import create_event_resources
from local.event_source import drain_queue
from local.lambda_context import LOCAL_ACCOUNT_ID, LOCAL_REGION, FakeLambdaContext
from local.seed import (
    DOCKER_FOREIGN_LAYER,
    OCI_LAYER,
    blob,
    create_repository,
    descriptor,
    push_image,
    push_index,
)

Handler = Callable[[dict[str, Any], Any], Any]
PUSH_REPOSITORY = "team-a/api"  # seeded by the API part of the demo, so its base layers are already there
AUDIT_REPOSITORY = "team-d/jobs"


def push_event(repository_name: str, image_digest: str, image_tag: str | None) -> dict[str, Any]:
    """An "ECR Image Action" event as EventBridge delivers it (AWS's published sample, this image)."""
    detail: dict[str, str] = {
        "result": "SUCCESS",
        "repository-name": repository_name,
        "image-digest": image_digest,
        "action-type": "PUSH",
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


def scheduler_event() -> dict[str, Any]:
    """EventBridge Scheduler's event (its ``detail`` is the string ``"{}"``)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": LOCAL_ACCOUNT_ID,
        "time": "2026-01-01T03:00:00Z",
        "region": LOCAL_REGION,
        "resources": [f"arn:aws:scheduler:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:schedule/default/layercheck-audit"],
        "detail": "{}",
    }


class Invoker:
    """Calls the handler, keeping Powertools' stdout (logs, EMF) out of the demo's output and totalling the metrics."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.metrics: Counter[str] = Counter()

    def __call__(self, event: dict[str, Any], context: Any = None) -> Any:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            answer = self.handler(event, context or FakeLambdaContext())
        for line in buffer.getvalue().splitlines():
            with contextlib.suppress(ValueError):
                document = json.loads(line)
                if isinstance(document, dict) and "_aws" in document:
                    for directive in document["_aws"]["CloudWatchMetrics"]:
                        for metric in directive["Metrics"]:
                            value = document[metric["Name"]]
                            self.metrics[metric["Name"]] += int(sum(value) if isinstance(value, list) else value)
        return answer

    def take_metrics(self, *names: str) -> str:
        text = ", ".join(f"{name}={self.metrics[name]}" for name in names)
        self.metrics.clear()
        return text


def run(handler: Handler, endpoint: str) -> None:
    queue_url = create_event_resources(endpoint)
    ecr = boto3.client("ecr", region_name=LOCAL_REGION)
    invoke = Invoker(handler)
    show_push_checks(ecr, invoke)
    show_audit(ecr, invoke, queue_url)


def show_push_checks(ecr: Any, invoke: Invoker) -> None:
    print("\nECR push events → push door (EventBridge 'ECR Image Action', PUSH/SUCCESS)")
    amd64 = push_image(ecr, PUSH_REPOSITORY, ["base-0", "base-1", "api-0"], platform="linux/amd64")
    arm64 = push_image(ecr, PUSH_REPOSITORY, ["base-0", "base-1", "api-arm64"], platform="linux/arm64")
    index = push_index(ecr, PUSH_REPOSITORY, [amd64, arm64], tag="2.0")
    never_pushed = descriptor(OCI_LAYER, blob("lost-in-transit"))
    foreign = descriptor(DOCKER_FOREIGN_LAYER, blob("windows-servercore"), urls=["https://mcr.microsoft.com/x"])
    broken = push_image(ecr, PUSH_REPOSITORY, ["base-0"], tag="2.1-rc", absent_layers=[never_pushed, foreign])

    print(f"  {'image':<18} {'status':<9} missing layers")
    events = []
    for label, image, tag in (("index (2 platforms)", index, "2.0"), ("manifest + foreign layer", broken, "2.1-rc")):
        event = push_event(PUSH_REPOSITORY, image["digest"], tag)
        events.append(event)
        answer = invoke(event)
        missing = ", ".join(_short(digest) for digest in answer["missingLayers"]) or "-"
        image_name = f"{PUSH_REPOSITORY}:{tag}"
        print(f"  {image_name:<18} {answer['status']:<9} {missing}   ({label}, {_short(image['digest'])})")
    print(f"  foreign layer {_short(foreign['digest'])} is skipped: it is never pushed to a registry")
    print(f"  metrics (Source=push): {invoke.take_metrics('ImagesChecked', 'BrokenImages', 'LayersChecked')}")

    replay = invoke(events[1])
    print(
        f"  the same event delivered again: answer {replay['status']} from the idempotency record,"
        f" metrics {invoke.take_metrics('ImagesChecked', 'BrokenImages')} (nothing re-checked or re-counted)"
    )


def show_audit(ecr: Any, invoke: Invoker, queue_url: str) -> None:
    print("\nscheduled audit → schedule door → SQS audit queue → queue door (partial batch responses)")
    create_repository(ecr, AUDIT_REPOSITORY)
    push_image(ecr, AUDIT_REPOSITORY, ["job-base", "nightly"], tag="nightly")
    push_image(ecr, AUDIT_REPOSITORY, ["job-base", "weekly"], tag="weekly", docker=True)
    push_image(ecr, AUDIT_REPOSITORY, ["job-base"], tag="monthly", absent_layers=[descriptor(OCI_LAYER, blob("gc-ed"))])

    started = invoke(scheduler_event())
    sqs = boto3.client("sqs", region_name=LOCAL_REGION)
    report = drain_queue(invoke, sqs, queue_url)
    print(
        f"  audit {started['auditId'][:8]}: {started['registries']} registry work item(s) queued;"
        f" drained in {report.batches} batch(es), {report.processed} processed,"
        f" {len(report.failed_message_ids)} reported in batchItemFailures"
    )

    from layercheck.dependencies import results_table
    from layercheck.models.stored import StoredImageVerdict

    verdicts: list[StoredImageVerdict] = []
    for repository in ecr.describe_repositories()["repositories"]:
        page = results_table().query_repository(repository["registryId"], repository["repositoryName"], limit=100)
        verdicts += [
            item for item in page.items if isinstance(item, StoredImageVerdict) and item.checkId == started["auditId"]
        ]
    statuses = Counter(verdict.status.value for verdict in verdicts)
    print(f"  {len(verdicts)} image verdicts (source=schedule): " + ", ".join(f"{k} {v}" for k, v in statuses.items()))
    print(f"  {'repository':<16} {'tags':<12} {'status':<9} missing")
    for verdict in sorted(verdicts, key=lambda v: (v.status != "BROKEN", v.repositoryName, v.imageTags)):
        missing = ", ".join(_short(d) for d in verdict.missingLayers + verdict.missingManifests) or "-"
        tags = ",".join(verdict.imageTags) or "(untagged)"
        print(f"  {verdict.repositoryName:<16} {tags:<12} {verdict.status.value:<9} {missing}")
    print(f"  metrics (Source=schedule): {invoke.take_metrics('ImagesChecked', 'BrokenImages', 'LayersChecked')}")


def _short(digest: str) -> str:
    return digest if len(digest) <= 24 else digest[:19] + "…" + digest[-4:]
