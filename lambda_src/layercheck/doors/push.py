"""The push door: EventBridge's "ECR Image Action" events in, verdicts stored with source ``push``.

- ``PUSH``: the pushed image checked (logic/push.py);
- ``DELETE``: the image, once DescribeImages confirms it is gone, MISSING if someone runs it, else forgotten
  (logic/deletion.py); a tag removed alone changes nothing;
- ``UPDATE_STORAGE_CLASS``: the archived or restored image judged again as ECR lists it.

Other ECR events (failed actions, scans, replication ...) are logged and ignored, never an error.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from layercheck import dependencies as root
from layercheck.contracts.events import (
    ECR_ACTION_DELETE,
    ECR_ACTION_PUSH,
    ECR_ACTION_UPDATE_STORAGE_CLASS,
    ECR_IMAGE_ACTION_DETAIL_TYPE,
    ECR_IMAGE_ACTIONS,
)
from layercheck.contracts.patterns import REGISTRY_ID_PATTERN
from layercheck.dependencies import Services
from layercheck.doors.idempotency import run_once
from layercheck.errors import InvalidEventError
from layercheck.logic.deletion import DeletionOutcome
from layercheck.logic.image_check import ImageCheckOutcome
from layercheck.logic.registries import RegistryUnreadable
from layercheck.models.events import EcrImageActionEvent
from layercheck.observability import IN_USE_WATCH, logger, record_image_check, record_registry_unreadable
from layercheck.settings import account_of

if TYPE_CHECKING:
    from layercheck.registry_services import ServedRegistry


def handle(event: dict[str, Any], context: LambdaContext, services: Services | None = None) -> dict[str, Any]:
    if event.get("detail-type") != ECR_IMAGE_ACTION_DETAIL_TYPE:
        logger.info("ignored ecr event", detail_type=event.get("detail-type"), event_id=event.get("id"))
        return {"status": "ignored", "reason": f"detail-type {event.get('detail-type')!r}"}
    push = _parsed(event)
    logger.set_correlation_id(push.id)
    handed = services or root.services(account_of(context.invoked_function_arn))
    ignored = _not_ours(push, handed)
    if ignored is not None:
        return {"status": "ignored", "reason": ignored}
    detail = push.detail
    action = next((action for action in ECR_IMAGE_ACTIONS if detail.is_successful(action)), None)
    if action is None:
        logger.info(
            "ignored ecr image action",
            action_type=detail.action_type,
            result=detail.result,
            repository=detail.repository_name,
        )
        return {"status": "ignored", "reason": f"{detail.action_type} {detail.result}"}
    # A registry found unreadable is asked again on the next event: a role deployed meanwhile is used.
    handed.registry_clients.start_invocation()
    served = handed.serve(push.account, push.region)
    if isinstance(served, RegistryUnreadable):
        record_registry_unreadable(served)  # not retried: the reason is the deployment's to fix
        return {"status": "unreadable", "reason": f"{served.code}: {served.reason}"}
    work = {ECR_ACTION_PUSH: _pushed, ECR_ACTION_DELETE: _deleted, ECR_ACTION_UPDATE_STORAGE_CLASS: _storage_changed}
    return run_once(f"push#{push.id}", lambda: work[action](push, handed, served), context)


def _parsed(event: dict[str, Any]) -> EcrImageActionEvent:
    try:
        push = parse(event=event, model=EcrImageActionEvent)
    except ValidationError as error:
        raise InvalidEventError("ECR Image Action", error.errors(include_url=False)) from error
    if not re.fullmatch(REGISTRY_ID_PATTERN, push.account):
        raise InvalidEventError("ECR Image Action", [{"loc": ("account",), "msg": "must be a 12-digit account id"}])
    return push


def _not_ours(push: EcrImageActionEvent, services: Services) -> str | None:
    """Why the event is ignored: its account is the registry id, checked only if this deployment serves it
    (``REGISTRY_IDS``), and only in a Region it audits (``AUDIT_REGIONS``, the function's own when unset)."""
    if push.account not in services.settings.served_registry_ids(services.own_account):
        logger.warning("ignored push from a registry not served", account=push.account, event_id=push.id)
        return f"registry {push.account} is not served"
    if push.region not in services.audited_regions:
        logger.warning("ignored push from a Region not audited", event_region=push.region, event_id=push.id)
        return f"region {push.region} is not audited"
    return None


def _pushed(push: EcrImageActionEvent, services: Services, served: ServedRegistry) -> dict[str, Any]:
    detail = push.detail
    assert detail.image_digest is not None  # is_successful said so
    outcome = services.push_checks(served).check_push(
        push.account, detail.repository_name, detail.image_digest, detail.image_tag, check_id=push.id
    )
    record_image_check(outcome)
    return _answer(outcome, "checked pushed image")


def _deleted(push: EcrImageActionEvent, services: Services, served: ServedRegistry) -> dict[str, Any]:
    """A deletion: judged only once DescribeImages confirms the image itself is gone (logic/deletion.py)."""
    detail = push.detail
    assert detail.image_digest is not None
    deletion = services.deletions(served).image_deleted(
        push.account, detail.repository_name, detail.image_digest, check_id=push.id
    )
    return _deletion_answer(deletion, detail.repository_name, detail.image_digest)


def _storage_changed(push: EcrImageActionEvent, services: Services, served: ServedRegistry) -> dict[str, Any]:
    """An archive or a restore: the image judged again as ECR lists it now (ARCHIVED while archived)."""
    detail = push.detail
    assert detail.image_digest is not None
    changed = services.deletions(served).storage_class_changed(
        push.account, detail.repository_name, detail.image_digest, check_id=push.id
    )
    if isinstance(changed, DeletionOutcome):
        return _deletion_answer(changed, detail.repository_name, detail.image_digest)
    record_image_check(changed, watched=IN_USE_WATCH)
    return _answer(changed, "checked image after a storage class change")


def _deletion_answer(deletion: DeletionOutcome, repository_name: str, image_digest: str) -> dict[str, Any]:
    logger.info("image deletion", repository=repository_name, image_digest=image_digest, result=deletion.result)
    if deletion.outcome is not None:
        record_image_check(deletion.outcome, watched=IN_USE_WATCH, layers=False)
    return {"repositoryName": repository_name, "imageDigest": image_digest, "status": deletion.result.value}


def _answer(outcome: ImageCheckOutcome, message: str) -> dict[str, Any]:
    verdict = outcome.verdicts[0]
    logger.info(
        message,
        repository=verdict.repositoryName,
        image_digest=verdict.imageDigest,
        status=verdict.status,
        missing_layers=verdict.missingLayers,
        failure_code=verdict.failureCode,
    )
    return verdict.model_dump(mode="json", include={"repositoryName", "imageDigest", "status", "missingLayers"})
