"""Images in use in ``make demo``: an ECS service and a Lambda function run images, a Kubernetes cluster
reports one through ``POST /inventory``; the scheduled audit checks them first and names who runs each; ``GET
/images?status=BROKEN`` lists the broken ones; "Image Verdict Changed" events reach an SQS queue that an EventBridge
rule subscribed to the bus; a repair sends the recovery. The jobs repository's lifecycle policy keeps only its newest
image: the audit's lifecycle guard (ECR's preview, the local stand-in here) finds the reported image it would expire,
and ``GET /images?risk=lifecycle`` lists it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3

from local.adapter import json_request
from local.demo_events import Audit, audited_verdicts, list_images, run_audit
from local.demo_output import Invoker, image_name, missing, short, table, used_by
from local.environment import EVENT_BUS_NAME
from local.lambda_context import LOCAL_REGION
from local.scenario import GC_ED, JOBS_REPOSITORY, Workloads, seed_workloads
from local.seed import upload_layer

CHANGES_QUEUE = "layercheck-verdict-changes"
CHANGES_RULE = {"source": ["layercheck"], "detail-type": ["Image Verdict Changed"]}
KEEP_NEWEST = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "keep the newest image",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
            "action": {"type": "expire"},
        }
    ]
}
Receiver = Callable[[], list[dict[str, Any]]]


def subscribe_queue_to_bus() -> Receiver:
    """An EventBridge rule on the layercheck bus with an SQS queue as its target (moto delivers it, as EventBridge
    does); returns a function that takes the events the queue received so far."""
    events, sqs = boto3.client("events", region_name=LOCAL_REGION), boto3.client("sqs", region_name=LOCAL_REGION)
    queue_url = sqs.create_queue(QueueName=CHANGES_QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="verdict-changes", EventBusName=EVENT_BUS_NAME, EventPattern=json.dumps(CHANGES_RULE))
    events.put_targets(Rule="verdict-changes", EventBusName=EVENT_BUS_NAME, Targets=[{"Id": "q", "Arn": queue_arn}])

    def received() -> list[dict[str, Any]]:
        taken: list[dict[str, Any]] = []
        while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                taken.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return taken

    return received


def run(ecr: Any, invoke: Invoker, api_url: str, audit_queue_url: str, received: Receiver) -> Audit:
    print("\nimages in use: what runs where, found by the audit itself (ECS, Lambda) or reported (POST /inventory)")
    workloads = seed_workloads(
        ecr,
        boto3.client("ecs", region_name=LOCAL_REGION),
        boto3.client("lambda", region_name=LOCAL_REGION),
        boto3.client("iam", region_name=LOCAL_REGION),
    )
    show_workloads(api_url, workloads)
    print(f"  EventBridge rule on bus {EVENT_BUS_NAME} → SQS queue {CHANGES_QUEUE}, pattern:")
    print(f"    {json.dumps(CHANGES_RULE)}")
    ecr.put_lifecycle_policy(repositoryName=JOBS_REPOSITORY, lifecyclePolicyText=json.dumps(KEEP_NEWEST))
    print(f"  lifecycle policy of {JOBS_REPOSITORY}: keep the newest image (imageCountMoreThan 1, expire)")

    print("\nscheduled audit → schedule door → SQS audit queue → queue door (in-use images first, whatever the scope)")
    audit = run_audit(invoke, boto3.client("sqs", region_name=LOCAL_REGION), audit_queue_url)
    print("  " + audit.summary())
    verdicts = sorted(audited_verdicts(api_url, audit), key=lambda v: (v["status"], not v.get("usedBy"), image_name(v)))
    rows = [(image_name(v), v["status"], missing(v), used_by(v.get("usedBy"))) for v in verdicts]
    table(("image", "status", "missing", "usedBy"), rows)
    print(f"  metrics (Source=schedule): {invoke.take_metrics('ImagesChecked', 'BrokenImages', 'InUseImagesBroken')}")

    show_broken_list(api_url)
    show_lifecycle_risk(api_url)
    show_changes(received(), "change events on the queue after the audit")
    repair(ecr, api_url, received)
    return audit


def show_workloads(api_url: str, workloads: Workloads) -> None:
    table(
        ("runs", "image"),
        [
            (f"ECS service {workloads.service_arn.rsplit('/', 1)[-1]}", f"{workloads.service_image} (by tag)"),
            (f"Lambda {workloads.function_arn.rsplit(':', 1)[-1]}", f"{_short_uri(workloads.function_image)}"),
        ],
    )
    status, answer = json_request(f"{api_url}/inventory", "POST", workloads.inventory)
    ignored = "; ".join(f"{entry['image']} ({entry['reason'].split(' (')[0]})" for entry in answer.get("ignored", []))
    print(
        f"  POST /inventory {workloads.inventory['source']} → {status}, accepted {answer.get('accepted')},"
        f" ignored {ignored or '-'}"
    )


def show_broken_list(api_url: str) -> list[dict[str, Any]]:
    broken = list_images(api_url, {"status": "BROKEN"})
    print(f"\nGET /images?status=BROKEN: {len(broken)} image(s), from the sparse byImageStatus index")
    rows = [
        (
            v["registryId"],
            v["region"],
            image_name(v),
            ", ".join(short(d) for d in v["missingLayers"]),
            used_by(v.get("usedBy")) or "-",
        )
        for v in broken
    ]
    table(("registryId", "region", "image", "missing", "usedBy"), rows)
    return broken


def show_lifecycle_risk(api_url: str) -> None:
    at_risk = list_images(api_url, {"risk": "lifecycle"})
    print(f"\nGET /images?risk=lifecycle: {len(at_risk)} image(s) in use that ECR's preview of the policy would expire")
    rows = [
        (image_name(v), v["lifecycleRisk"]["action"], str(v["lifecycleRisk"]["rulePriority"]), used_by(v["usedBy"]))
        for v in at_risk
    ]
    table(("image", "action", "rule", "usedBy"), rows)


def show_changes(events: list[dict[str, Any]], title: str, *, lead: str = "\n") -> None:
    print(f"{lead}{title}: {len(events)}")
    rows = []
    for event in events:
        detail = event["detail"]
        image = image_name(detail)
        change = f"{detail['previousStatus'] or 'none'} → {detail['status']}"
        rows.append((event["detail-type"], image, detail["region"], change, used_by(detail.get("usedBy"))))
    if rows:
        table(("detail-type", "image", "region", "change", "usedBy"), rows)


def repair(ecr: Any, api_url: str, received: Receiver) -> None:
    """Upload the lost layer again, check the image over the API: it recovers, an event says so, it leaves the list."""
    layer = upload_layer(ecr, JOBS_REPOSITORY, GC_ED)
    print(f"\nrepair: the lost layer {short(layer)} uploaded again to {JOBS_REPOSITORY}")
    request = {"images": [{"repositoryName": JOBS_REPOSITORY, "imageTag": "monthly"}]}
    status, answer = json_request(f"{api_url}/images/checks", "POST", request)
    print(f"  POST /images/checks {json.dumps(request)} → {status} {answer['verdicts'][0]['status']}")
    show_changes(received(), "  change events on the queue", lead="")
    print(f"  GET /images?status=BROKEN: {len(list_images(api_url, {'status': 'BROKEN'}))} image(s) left")


def _short_uri(uri: str) -> str:
    name, _, digest = uri.partition("@")
    return f"{name}@{short(digest)} (by digest)" if digest else uri
