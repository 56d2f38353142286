"""When an image verdict changes: the rule, and the event exactly as DESIGN.md "Change events" spells it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from layercheck.contracts import events
from layercheck.logic.change_events import event_entry, is_change, pending_change, verdict_changed
from layercheck.models.in_use import UsedBy, UsedByKind
from layercheck.models.stored import ImageStatus, Source, StoredImageVerdict

DIGEST = "sha256:" + "c" * 64
LAYER = "sha256:" + "d" * 64
SERVICE = "arn:aws:ecs:eu-west-1:123456789012:service/prod/api"


def verdict(status: ImageStatus, **fields: object) -> StoredImageVerdict:
    return StoredImageVerdict.model_validate(
        {
            "registryId": "123456789012",
            "repositoryName": "team/api",
            "checkedAt": "2026-03-01T12:00:00Z",
            "source": Source.SCHEDULE,
            "expiresAt": 1_800_000_000,
            "imageDigest": DIGEST,
            "imageTags": ["v1", "latest"],
            "status": status,
            "missingLayers": [LAYER] if status is ImageStatus.BROKEN else [],
            "checkId": "audit-42",
            "observedAt": "2026-03-01T11:59:58.250Z",
            **fields,
        }
    )


@pytest.mark.parametrize(
    ("previous", "status", "changed"),
    [
        (None, ImageStatus.COMPLETE, False),  # a new healthy image is no news
        (None, ImageStatus.BROKEN, True),
        (None, ImageStatus.UNCHECKED, True),
        (None, ImageStatus.ARCHIVED, True),
        (ImageStatus.COMPLETE, ImageStatus.COMPLETE, False),
        (ImageStatus.BROKEN, ImageStatus.BROKEN, False),  # also a replayed delivery: it finds its own earlier write
        (ImageStatus.COMPLETE, ImageStatus.BROKEN, True),
        (ImageStatus.BROKEN, ImageStatus.COMPLETE, True),  # a recovery
        (ImageStatus.ARCHIVED, ImageStatus.COMPLETE, True),
        (ImageStatus.UNCHECKED, ImageStatus.BROKEN, True),
        (None, ImageStatus.MISSING, True),
        (ImageStatus.COMPLETE, ImageStatus.MISSING, True),  # deleted while in use
    ],
)
def test_is_change_follows_designs_rule(previous: ImageStatus | None, status: ImageStatus, changed: bool) -> None:
    assert is_change(previous, status) is changed


def test_verdict_changed_builds_the_detail_with_every_contract_field() -> None:
    # Given an in-use image that was COMPLETE and is now BROKEN
    used_by = [UsedBy(kind="ecs-service", id=SERVICE, tag="v1")]

    # When the change is judged
    detail = verdict_changed(ImageStatus.COMPLETE, verdict(ImageStatus.BROKEN, usedBy=used_by), region="eu-west-1")

    # Then the detail is DESIGN.md's, field for field
    assert detail is not None
    assert json.loads(detail.model_dump_json()) == {
        "registryId": "123456789012",
        "region": "eu-west-1",
        "repositoryName": "team/api",
        "imageDigest": DIGEST,
        "imageTags": ["v1", "latest"],
        "previousStatus": "COMPLETE",
        "status": "BROKEN",
        "missingLayers": [LAYER],
        "usedBy": [{"kind": "ecs-service", "id": SERVICE, "tag": "v1"}],
        "observedAt": "2026-03-01T11:59:58.250Z",
        "checkedAt": "2026-03-01T12:00:00Z",
        "checkId": "audit-42",
        "changeId": detail.changeId,
    }


def test_a_change_id_is_stable_for_one_change_and_differs_for_any_other() -> None:
    broken = verdict(ImageStatus.BROKEN)
    first = verdict_changed(ImageStatus.COMPLETE, broken, region="eu-west-1")
    again = verdict_changed(ImageStatus.COMPLETE, broken, region="eu-west-1")
    later = verdict_changed(
        ImageStatus.COMPLETE, verdict(ImageStatus.BROKEN, observedAt="2026-03-02T00:00:00.000Z"), region="eu-west-1"
    )
    other = verdict_changed(ImageStatus.UNCHECKED, broken, region="eu-west-1")

    assert first is not None and again is not None and later is not None and other is not None
    assert first.changeId == again.changeId
    assert len({first.changeId, later.changeId, other.changeId}) == 3


def test_verdict_changed_writes_null_for_a_first_verdict_and_a_missing_check_id() -> None:
    detail = verdict_changed(None, verdict(ImageStatus.UNCHECKED, checkId=None), region="eu-west-1")

    assert detail is not None
    body = json.loads(detail.model_dump_json())
    assert body["previousStatus"] is None and body["checkId"] is None and body["usedBy"] == []


def test_verdict_changed_gives_nothing_when_the_status_is_unchanged() -> None:
    assert verdict_changed(ImageStatus.BROKEN, verdict(ImageStatus.BROKEN), region="eu-west-1") is None


def test_event_entry_is_layercheck_image_verdict_changed_at_the_time_ecr_was_read() -> None:
    detail = verdict_changed(None, verdict(ImageStatus.BROKEN), region="eu-west-1")
    assert detail is not None

    entry = event_entry(pending_change(detail))

    assert (entry.source, entry.detail_type, entry.change_id) == (
        "layercheck",
        "Image Verdict Changed",
        detail.changeId,
    )
    assert entry.time == datetime(2026, 3, 1, 11, 59, 58, 250_000, tzinfo=UTC)
    assert json.loads(entry.detail)["status"] == "BROKEN"


def test_used_by_kinds_are_designs_spelling() -> None:
    assert events.USED_BY_KINDS == ("ecs-service", "ecs-task", "lambda-function", "inventory")
    assert [kind.value for kind in UsedByKind] == list(events.USED_BY_KINDS)
