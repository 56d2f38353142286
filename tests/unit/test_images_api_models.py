"""The image routes' shapes: POST /images/checks, GET /images, POST /inventory; errors name the entry and the field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from layercheck.logic.inventory import inventory_entries
from layercheck.models.images_api import (
    MAX_IMAGES_PER_CHECK,
    MAX_INVENTORY_IMAGES,
    MAX_INVENTORY_URI_LENGTH,
    IgnoredImage,
    ImageCheckRequest,
    ImageCheckSummary,
    ImageIdentifier,
    InventoryRequest,
)
from layercheck.models.stored import ImageStatus, Source, StoredImageVerdict

DIGEST = "sha256:" + "e" * 64
HOST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
REPORTED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def errors_of(model: Any, value: dict[str, Any]) -> list[tuple[str, str]]:
    """(dotted field, pydantic's rule) of each error, as the API door reports them."""
    with pytest.raises(ValidationError) as raised:
        model.model_validate(value)
    return [(".".join(str(part) for part in error["loc"]), error["type"]) for error in raised.value.errors()]


def test_image_check_request_takes_tags_and_digests() -> None:
    request = ImageCheckRequest.model_validate(
        {
            "registryId": "123456789012",
            "region": "eu-west-1",
            "images": [
                {"repositoryName": "team/api", "imageTag": "v1"},
                {"repositoryName": "web", "imageDigest": DIGEST},
            ],
        }
    )

    assert [(image.imageTag, image.imageDigest) for image in request.images] == [("v1", None), (None, DIGEST)]


@pytest.mark.parametrize(
    ("image", "field", "rule"),
    [
        ({"repositoryName": "api"}, "images.1", "exactly_one_of"),
        ({"repositoryName": "api", "imageTag": "v1", "imageDigest": DIGEST}, "images.1", "exactly_one_of"),
        ({"repositoryName": "API", "imageTag": "v1"}, "images.1.repositoryName", "string_pattern_mismatch"),
        ({"repositoryName": "api", "imageTag": "-v1"}, "images.1.imageTag", "string_pattern_mismatch"),
        ({"repositoryName": "api", "imageDigest": "sha256:abc"}, "images.1.imageDigest", "string_pattern_mismatch"),
        ({"repositoryName": "api", "imageTag": "v1", "extra": 1}, "images.1.extra", "extra_forbidden"),
        ({"imageTag": "v1"}, "images.1.repositoryName", "missing"),
    ],
)
def test_image_check_request_names_the_malformed_entry(image: dict[str, Any], field: str, rule: str) -> None:
    body = {"images": [{"repositoryName": "ok", "imageTag": "v1"}, image]}

    assert (field, rule) in errors_of(ImageCheckRequest, body)


@pytest.mark.parametrize("count", [0, MAX_IMAGES_PER_CHECK + 1])
def test_image_check_request_takes_1_to_100_images(count: int) -> None:
    body = {"images": [{"repositoryName": "api", "imageTag": f"v{n}"} for n in range(count)]}

    assert [field for field, _ in errors_of(ImageCheckRequest, body)] == ["images"]


def test_image_check_request_refuses_a_malformed_registry_and_region() -> None:
    body = {"registryId": "1234", "region": "Europe", "images": [{"repositoryName": "api", "imageTag": "v1"}]}

    assert {field for field, _ in errors_of(ImageCheckRequest, body)} == {"registryId", "region"}


def test_image_check_summary_counts_verdicts_by_status() -> None:
    def verdict(status: ImageStatus) -> StoredImageVerdict:
        return StoredImageVerdict(
            registryId="123456789012",
            repositoryName="api",
            checkedAt="2026-03-01T12:00:00Z",
            source=Source.API,
            expiresAt=1,
            imageDigest=DIGEST,
            status=status,
        )

    statuses = [ImageStatus.BROKEN, ImageStatus.COMPLETE, ImageStatus.BROKEN, ImageStatus.UNCHECKED]

    summary = ImageCheckSummary.of([verdict(status) for status in statuses])

    assert summary.model_dump() == {"checked": 4, "complete": 1, "broken": 2, "unchecked": 1, "archived": 0}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"source": "k8s", "images": []}, "images"),
        ({"source": "k8s", "images": [f"{HOST}/a:v1"] * (MAX_INVENTORY_IMAGES + 1)}, "images"),
        ({"source": "k8s", "images": [f"{HOST}/a:v1", ""]}, "images.1"),
        ({"source": "k8s", "images": [f"{HOST}/a:v1", 7]}, "images.1"),
        ({"source": "k8s", "images": ["x" * (MAX_INVENTORY_URI_LENGTH + 1)]}, "images.0"),
        ({"source": "k8s#prod", "images": [f"{HOST}/a:v1"]}, "source"),
        ({"images": [f"{HOST}/a:v1"]}, "source"),
    ],
)
def test_inventory_request_names_what_is_refused(body: dict[str, Any], field: str) -> None:
    assert [name for name, _ in errors_of(InventoryRequest, body)] == [field]


def test_inventory_entries_keep_ecr_images_and_list_the_rest_as_ignored() -> None:
    # Given a report from kubectl output: an ECR image by tag, the same image again, one by tag and digest,
    # one from Docker Hub, one malformed, and one from a registry the deployment does not audit
    request = InventoryRequest(
        source="k8s-prod",
        images=[
            f"{HOST}/team/api:v1",
            f"{HOST}/team/api:v1",
            f"{HOST}/web:v2@{DIGEST}",
            "nginx:1.27",
            f"{HOST}/web@sha256:short",
            "210987654321.dkr.ecr.eu-west-1.amazonaws.com/xy:v1",
        ],
    )

    # When the report is judged
    reporter = "arn:aws:sts::123456789012:assumed-role/k8s-reporter/cron"
    entries, ignored = inventory_entries(
        request,
        reported_at=REPORTED_AT,
        ttl_hours=48,
        is_audited=lambda registry: registry.registry_id == "123456789012",
        reported_by=reporter,
    )

    # Then two distinct entries are kept, the one with a digest by digest, expiring 48 hours after the report
    assert [(e.repositoryName, e.imageTag, e.imageDigest) for e in entries] == [
        ("team/api", "v1", None),
        ("web", None, DIGEST),
    ]
    assert {e.expiresAt for e in entries} == {int(REPORTED_AT.timestamp()) + 48 * 3600}
    assert {(e.source, e.registryId, e.region, e.reportedAt, e.reportedBy) for e in entries} == {
        ("k8s-prod", "123456789012", "eu-west-1", "2026-03-01T12:00:00Z", reporter)
    }
    # And each other string is ignored by position, with the reason
    assert [(item.index, item.image) for item in ignored] == [
        (3, "nginx:1.27"),
        (4, f"{HOST}/web@sha256:short"),
        (5, "210987654321.dkr.ecr.eu-west-1.amazonaws.com/xy:v1"),
    ]
    assert all(isinstance(item, IgnoredImage) and item.reason for item in ignored)
    assert "not audited" in ignored[2].reason


def test_inventory_entries_accept_every_registry_without_an_audit_rule() -> None:
    request = InventoryRequest(source="k8s", images=["210987654321.dkr.ecr.eu-west-1.amazonaws.com/xy:v1"])

    entries, ignored = inventory_entries(request, reported_at=REPORTED_AT, ttl_hours=1)

    assert len(entries) == 1 and ignored == []


@pytest.mark.parametrize(
    ("entry", "valid"),
    [
        ({"repositoryName": "api", "imageTag": "v1"}, True),
        ({"repositoryName": "api", "imageDigest": DIGEST}, True),
        ({"repositoryName": "api"}, False),
        ({"repositoryName": "api", "imageTag": "v1", "imageDigest": DIGEST}, False),
    ],
)
def test_image_identifier_schema_says_exactly_one_of_tag_and_digest(entry: dict[str, str], valid: bool) -> None:
    """The OpenAPI document states the rule the model enforces, so a client (or schemathesis) reads it there."""
    import jsonschema

    schema = ImageIdentifier.model_json_schema()

    assert jsonschema.Draft202012Validator(schema).is_valid(entry) is valid
