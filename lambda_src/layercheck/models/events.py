"""Shapes of the event doors: ECR image actions (push, delete, storage class), both schedule forms, the audit's
constant input, and SQS records of the audit's work items (models/audit.py).

Every event is validated against these models (Powertools Parser) before any AWS call.
ECR events: https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html
Scheduled events: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html and
https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SqsRecordModel
from pydantic import BaseModel, ConfigDict, Field, Json

from layercheck.contracts.events import ECR_RESULT_SUCCESS
from layercheck.models.audit import AuditScopeInput, AuditWorkItem
from layercheck.models.identifiers import Digest, RepositoryName

# EventBridge event ids are UUIDs; an input transformer's <aws.events.event.id> puts one in the constant input.
EventId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9-]+$")]


# -- push door -----------------------------------------------------------------------------------------------------


class EcrImageActionDetail(BaseModel):
    """``detail`` of an "ECR Image Action" event: a push, a deletion (``DELETE``, which may have removed only the tag
    it names) or a storage-class change (``UPDATE_STORAGE_CLASS``: an archive or a restore). ``image-tag`` is absent
    for pushes by digest (platform manifests)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    action_type: str = Field(alias="action-type")  # PUSH, DELETE, UPDATE_STORAGE_CLASS; others are ignored
    result: str  # SUCCESS, FAILURE
    repository_name: RepositoryName = Field(alias="repository-name")
    image_digest: Digest | None = Field(default=None, alias="image-digest")
    image_tag: str | None = Field(default=None, alias="image-tag")
    manifest_media_type: str | None = Field(default=None, alias="manifest-media-type")

    def is_successful(self, action_type: str) -> bool:
        """This action succeeded on a named image (an event without a digest names nothing to judge)."""
        return self.action_type == action_type and self.result == ECR_RESULT_SUCCESS and self.image_digest is not None


class EcrImageActionEvent(EventBridgeModel):
    """Powertools has no ECR model: this is ``EventBridgeModel`` narrowed to ECR's image actions."""

    source: Literal["aws.ecr"]
    detail_type: Literal["ECR Image Action"] = Field(alias="detail-type")
    detail: EcrImageActionDetail


# -- schedule door -------------------------------------------------------------------------------------------------


class ScheduledEvent(EventBridgeModel):
    """Both forms: an EventBridge rule's (``detail`` ``{}``) and EventBridge Scheduler's (``detail`` ``"{}"``, turned
    into ``{}`` by ``EventBridgeModel``)."""

    source: Literal["aws.events", "aws.scheduler"]
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")
    detail: dict[str, Any]


class AuditInput(BaseModel):
    """The constant input a schedule may pass instead of the event: ``{"layercheckAudit": {...}}``, plus the
    scheduled event's id when the rule's input transformer adds it (``"eventId": "<aws.events.event.id>"``), so that
    EventBridge's retry of one delivery does not start a second audit (docs/DEPLOY.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    layercheckAudit: AuditScopeInput
    eventId: EventId | None = None


class AuditWorkItemRecord(SqsRecordModel):
    """An SQS record whose body is one work item; a body that is not one fails that record only."""

    body: Json[AuditWorkItem]
