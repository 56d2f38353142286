"""The event doors' models accept AWS's published event shapes and refuse anything else, naming the field."""

from __future__ import annotations

import copy
import json

import pytest
from aws_lambda_powertools.utilities.parser import parse
from pydantic import TypeAdapter, ValidationError

from layercheck.handler import is_audit_input, is_ecr_event, is_scheduled_event, is_sqs_event
from layercheck.models.audit import AuditWorkItem, ImagesWorkItem, RepositoryWorkItem
from layercheck.models.events import AuditInput, AuditWorkItemRecord, EcrImageActionEvent, ScheduledEvent
from tests.support import load_event


def test_the_push_sample_parses_with_its_detail() -> None:
    push = parse(event=load_event("ecr_image_push.json"), model=EcrImageActionEvent)

    assert push.detail.is_successful("PUSH")
    assert push.detail.repository_name == "my-repository-name"
    assert push.detail.image_tag == "latest"
    assert push.account == "123456789012"


def test_a_push_without_a_tag_parses() -> None:
    event = load_event("ecr_image_push.json")
    del event["detail"]["image-tag"]

    assert parse(event=event, model=EcrImageActionEvent).detail.image_tag is None


def test_a_delete_is_an_image_action_but_not_a_successful_push() -> None:
    assert not parse(event=load_event("ecr_image_delete.json"), model=EcrImageActionEvent).detail.is_successful("PUSH")


@pytest.mark.parametrize(
    ("fixture", "action_type"),
    [("ecr_image_delete.json", "DELETE"), ("ecr_image_update_storage_class.json", "UPDATE_STORAGE_CLASS")],
)
def test_deletions_and_storage_class_changes_parse_as_successful_actions_of_their_type(
    fixture: str, action_type: str
) -> None:
    detail = parse(event=load_event(fixture), model=EcrImageActionEvent).detail

    assert detail.is_successful(action_type)
    assert not detail.is_successful("PUSH")


def test_a_failed_deletion_is_not_a_successful_one() -> None:
    event = load_event("ecr_image_delete.json")
    event["detail"]["result"] = "FAILURE"

    assert not parse(event=event, model=EcrImageActionEvent).detail.is_successful("DELETE")


def test_a_scan_event_is_not_an_image_action() -> None:
    with pytest.raises(ValidationError, match="detail-type"):
        parse(event=load_event("ecr_image_scan.json"), model=EcrImageActionEvent)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("image-digest", "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234"),  # AWS's sample: 60 hex
        ("repository-name", "Not/A/Repository"),
    ],
)
def test_malformed_push_details_are_refused(field: str, value: str) -> None:
    event = load_event("ecr_image_push.json")
    event["detail"][field] = value

    with pytest.raises(ValidationError, match=field):
        parse(event=event, model=EcrImageActionEvent)


@pytest.mark.parametrize("fixture", ["eventbridge_scheduled_event.json", "scheduler_scheduled_event.json"])
def test_both_schedule_forms_parse_with_an_empty_detail(fixture: str) -> None:
    scheduled = parse(event=load_event(fixture), model=ScheduledEvent)

    assert scheduled.detail == {}
    assert scheduled.detail_type == "Scheduled Event"


def test_the_constant_input_sample_parses() -> None:
    audit_input = parse(event=load_event("audit_constant_input.json"), model=AuditInput)

    assert audit_input.layercheckAudit.repositoryPrefixes == ["team-a/"]
    assert audit_input.layercheckAudit.taggedOnly is True
    assert audit_input.layercheckAudit.newestImages == 5


@pytest.mark.parametrize(
    ("scope", "field"),
    [
        ({"repositoryPrefixes": ["Team A"]}, "repositoryPrefixes"),
        ({"repositoryPrefixes": []}, "repositoryPrefixes"),
        ({"newestImages": 0}, "newestImages"),
        ({"taggedOnly": "sometimes"}, "taggedOnly"),
        ({"registry": "123456789012"}, "registry"),
    ],
)
def test_a_malformed_constant_input_names_the_field(scope: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        AuditInput.model_validate({"layercheckAudit": scope})


def test_sqs_records_carry_either_kind_of_work_item() -> None:
    records = [AuditWorkItemRecord.model_validate(r) for r in load_event("sqs_audit_work_item.json")["Records"]]

    assert isinstance(records[0].body, RepositoryWorkItem)
    assert isinstance(records[1].body, ImagesWorkItem)
    assert records[1].body.images[0].imageTags == ["latest"]


def test_a_work_item_round_trips_through_its_json_body() -> None:
    item = RepositoryWorkItem(auditId="a", registryId="123456789012", repositoryName="team-a/api", newestImages=3)

    assert TypeAdapter(AuditWorkItem).validate_json(item.model_dump_json()) == item


def test_an_images_item_holds_at_most_one_slice() -> None:
    images = [{"imageDigest": f"sha256:{n:064x}"} for n in range(101)]
    body = {"kind": "images", "auditId": "a", "registryId": "123456789012", "repositoryName": "r1", "images": images}

    with pytest.raises(ValidationError, match="images"):
        TypeAdapter(AuditWorkItem).validate_python(body)


def test_a_record_whose_body_is_no_work_item_is_refused() -> None:
    record = copy.deepcopy(load_event("sqs_audit_work_item.json")["Records"][0])
    record["body"] = json.dumps({"kind": "everything"})

    with pytest.raises(ValidationError):
        AuditWorkItemRecord.model_validate(record)


def test_the_handler_tells_every_event_door_apart() -> None:
    events = {
        "push": load_event("ecr_image_push.json"),
        "scan": load_event("ecr_image_scan.json"),
        "rule": load_event("eventbridge_scheduled_event.json"),
        "scheduler": load_event("scheduler_scheduled_event.json"),
        "input": load_event("audit_constant_input.json"),
        "sqs": load_event("sqs_audit_work_item.json"),
        "api": load_event("api_gateway_rest_proxy.json"),
    }
    recognised = {
        name: [
            test.__name__ for test in (is_ecr_event, is_scheduled_event, is_audit_input, is_sqs_event) if test(event)
        ]
        for name, event in events.items()
    }

    assert recognised == {
        "push": ["is_ecr_event"],
        "scan": ["is_ecr_event"],
        "rule": ["is_scheduled_event"],
        "scheduler": ["is_scheduled_event"],
        "input": ["is_audit_input"],
        "sqs": ["is_sqs_event"],
        "api": [],
    }
