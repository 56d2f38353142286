"""A deletion seen at once in ``make demo``: an image a Lambda function runs is deleted from its repository, and ECR's
DELETE event makes its verdict MISSING, naming the function, within the same second: no audit needed."""

from __future__ import annotations

from typing import Any

from local.demo_events import list_images, push_event
from local.demo_in_use import Receiver, show_changes
from local.demo_output import Invoker, image_name, used_by
from local.scenario import LAMBDA_REPOSITORY


def run(ecr: Any, invoke: Invoker, api_url: str, received: Receiver) -> None:
    print("\na deletion seen at once: BatchDeleteImage → ECR 'ECR Image Action' DELETE event → push door")
    [verdict] = [v for v in list_images(api_url, {"repositoryName": LAMBDA_REPOSITORY}) if v.get("usedBy")]
    digest = verdict["imageDigest"]
    ecr.batch_delete_image(repositoryName=LAMBDA_REPOSITORY, imageIds=[{"imageDigest": digest}])
    invoke.metrics.clear()
    answer = invoke(push_event(LAMBDA_REPOSITORY, digest, None, action_type="DELETE"))
    print(
        f"  deleted {image_name(verdict)} (run by {used_by(verdict['usedBy'])}) → {answer['status']};"
        f" metrics (Source=push): {invoke.take_metrics('InUseImagesMissing')}"
    )
    show_changes(received(), "  change events on the queue", lead="")
