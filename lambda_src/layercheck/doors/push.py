"""The push door: EventBridge's "ECR Image Action" events in; the pushed image's verdict stored with source ``push``.

Other ECR events (deletes, failed pushes, scans, replication ...) are logged and ignored, never an error.
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from layercheck.contracts.events import ECR_IMAGE_ACTION_DETAIL_TYPE
from layercheck.contracts.patterns import REGISTRY_ID_PATTERN
from layercheck.dependencies import push_check_service
from layercheck.doors.idempotency import run_once
from layercheck.errors import InvalidEventError
from layercheck.models.events import EcrImageActionEvent
from layercheck.observability import logger, record_check, record_events_unsent, record_images
from layercheck.settings import account_of, load_settings


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("detail-type") != ECR_IMAGE_ACTION_DETAIL_TYPE:
        logger.info("ignored ecr event", detail_type=event.get("detail-type"), event_id=event.get("id"))
        return {"status": "ignored", "reason": f"detail-type {event.get('detail-type')!r}"}
    try:
        push = parse(event=event, model=EcrImageActionEvent)
    except ValidationError as error:
        raise InvalidEventError("ECR Image Action", error.errors(include_url=False)) from error
    if not re.fullmatch(REGISTRY_ID_PATTERN, push.account):
        raise InvalidEventError("ECR Image Action", [{"loc": ("account",), "msg": "must be a 12-digit account id"}])
    logger.set_correlation_id(push.id)
    # The account is used as the registry id: only a registry this deployment serves is checked (REGISTRY_IDS).
    if push.account not in load_settings().served_registry_ids(account_of(context.invoked_function_arn)):
        logger.warning("ignored push from a registry not served", account=push.account, event_id=push.id)
        return {"status": "ignored", "reason": f"registry {push.account} is not served"}
    detail = push.detail
    if not detail.is_successful_push or detail.image_digest is None:
        logger.info(
            "ignored ecr image action",
            action_type=detail.action_type,
            result=detail.result,
            repository=detail.repository_name,
        )
        return {"status": "ignored", "reason": f"{detail.action_type} {detail.result}"}
    image_digest = detail.image_digest

    def check() -> dict[str, Any]:
        outcome = push_check_service().check_push(
            push.account, detail.repository_name, image_digest, detail.image_tag, check_id=push.id
        )
        record_check(outcome.layer_summary)
        record_images(len(outcome.verdicts), outcome.broken)
        record_events_unsent(outcome.events_unsent)
        verdict = outcome.verdicts[0]
        logger.info(
            "checked pushed image",
            repository=verdict.repositoryName,
            image_digest=verdict.imageDigest,
            status=verdict.status,
            missing_layers=verdict.missingLayers,
            failure_code=verdict.failureCode,
        )
        return verdict.model_dump(mode="json", include={"repositoryName", "imageDigest", "status", "missingLayers"})

    return run_once(f"push#{push.id}", check, context)
