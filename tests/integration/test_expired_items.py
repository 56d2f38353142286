"""Items whose TTL has passed are not answered: DynamoDB deletes an expired item only some time after its
``expiresAt`` (typically within days) and a Query returns it until then; GET /results and GET /images leave it out.
Items are written at the storage boundary (as the functions write them), read back through the API door."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from layercheck.handler import lambda_handler
from layercheck.integrations.results_table import to_dynamodb
from layercheck.models.stored import ImageStatus, Source, StoredImageVerdict, StoredLayerVerdict
from local.lambda_context import FakeLambdaContext
from tests.conftest import ApiEvent
from tests.support import TABLE_NAME

pytestmark = pytest.mark.usefixtures("results_table")

ACCOUNT, REGION, REPOSITORY = "123456789012", "us-east-1", "team-a/api"
PAST, FUTURE = int(time.time()) - 3600, int(time.time()) + 86_400


def d(n: int) -> str:
    return f"sha256:{n:064x}"


def layer(n: int, expires_at: int) -> StoredLayerVerdict:
    return StoredLayerVerdict(
        registryId=ACCOUNT,
        region=REGION,
        repositoryName=REPOSITORY,
        checkedAt="2026-10-01T12:00:00Z",
        source=Source.API,
        expiresAt=expires_at,
        layerDigest=d(n),
        status="AVAILABLE",
    )


def image(n: int, expires_at: int) -> StoredImageVerdict:
    return StoredImageVerdict(
        registryId=ACCOUNT,
        region=REGION,
        repositoryName=REPOSITORY,
        checkedAt="2026-10-01T12:00:00Z",
        source=Source.SCHEDULE,
        expiresAt=expires_at,
        imageDigest=d(100 + n),
        status=ImageStatus.BROKEN,
        missingLayers=[d(n)],
    )


def store(dynamodb: Any, *items: StoredLayerVerdict | StoredImageVerdict) -> None:
    for item in items:
        dynamodb.put_item(TableName=TABLE_NAME, Item=to_dynamodb(item))


def get(api_event: ApiEvent, path: str, **query: str) -> Any:
    response = lambda_handler(api_event("GET", path, query=query), FakeLambdaContext())
    assert response["statusCode"] == 200, response["body"]
    return json.loads(response["body"])


def test_get_results_leaves_out_expired_layer_verdicts(api_event: ApiEvent, dynamodb: Any) -> None:
    store(dynamodb, layer(1, PAST), layer(2, FUTURE))

    by_repository = get(api_event, "/results", repositoryName=REPOSITORY)["items"]
    assert [item["layerDigest"] for item in by_repository] == [d(2)]
    assert get(api_event, "/results", layerDigest=d(1))["items"] == []
    assert [item["layerDigest"] for item in get(api_event, "/results", layerDigest=d(2))["items"]] == [d(2)]


def test_get_images_leaves_out_expired_image_verdicts(api_event: ApiEvent, dynamodb: Any) -> None:
    store(dynamodb, image(1, PAST), image(2, FUTURE))

    by_status = get(api_event, "/images", status="BROKEN")["items"]
    by_repository = get(api_event, "/images", repositoryName=REPOSITORY)["items"]
    assert [item["imageDigest"] for item in by_status] == [d(102)]
    assert [item["imageDigest"] for item in by_repository] == [d(102)]


def test_a_page_may_hold_fewer_items_than_the_limit_and_still_lead_on(api_event: ApiEvent, dynamodb: Any) -> None:
    # Given an expired verdict sorted before a live one, When the caller pages one item at a time
    store(dynamodb, layer(1, PAST), layer(2, FUTURE))

    first = get(api_event, "/results", repositoryName=REPOSITORY, limit="1")
    pages = [first]
    while pages[-1].get("nextToken") and len(pages) < 5:
        pages.append(get(api_event, "/results", repositoryName=REPOSITORY, limit="1", nextToken=pages[-1]["nextToken"]))

    # Then the first page is empty but has a nextToken, and following it finds the live verdict
    assert first["items"] == [] and first["nextToken"]
    assert [item["layerDigest"] for page in pages for item in page["items"]] == [d(2)]
