"""Items written before verdicts carried a Region: readable as the home Region's, and moved by local.migrate_keys."""

from __future__ import annotations

import json
from typing import Any

import pytest

from layercheck.handler import lambda_handler
from local.lambda_context import FakeLambdaContext
from local.migrate_keys import main, migrate
from tests.conftest import ApiEvent
from tests.support import TABLE_NAME

ACCOUNT = "123456789012"
LAYER = "sha256:" + "a" * 64
IMAGE = "sha256:" + "b" * 64

pytestmark = pytest.mark.usefixtures("results_table")


def legacy_items() -> list[dict[str, Any]]:
    """A layer and a BROKEN image item exactly as the previous version wrote them: two-part pk, no region."""
    common = {
        "pk": {"S": f"{ACCOUNT}#app"},
        "registryId": {"S": ACCOUNT},
        "repositoryName": {"S": "app"},
        "checkedAt": {"S": "2026-10-01T12:00:00Z"},
        "source": {"S": "schedule"},
        "expiresAt": {"N": "4102444800"},
    }
    layer = {**common, "sk": {"S": f"LAYER#{LAYER}"}, "itemType": {"S": "layer"}, "layerDigest": {"S": LAYER}}
    layer["status"] = {"S": "AVAILABLE"}
    image = {
        **common,
        "sk": {"S": f"IMAGE#{IMAGE}"},
        "itemType": {"S": "image"},
        "imageDigest": {"S": IMAGE},
        "imageTags": {"L": [{"S": "v1"}]},
        "status": {"S": "BROKEN"},
        "missingLayers": {"L": [{"S": LAYER}]},
    }
    return [layer, image]


def get(api_event: ApiEvent, path: str, **query: str) -> Any:
    response = lambda_handler(api_event("GET", path, query=query), FakeLambdaContext())
    assert response["statusCode"] == 200, response["body"]
    return json.loads(response["body"])


def test_an_item_with_the_old_key_is_read_as_the_home_regions_then_migrated(
    api_event: ApiEvent, dynamodb: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given items written by the previous version
    for item in legacy_items():
        dynamodb.put_item(TableName=TABLE_NAME, Item=item)

    # Then before the migration the digest query finds the old layer item, as the home Region's
    [found] = get(api_event, "/results", layerDigest=LAYER)["items"]
    assert (found["region"], found["repositoryName"], found["status"]) == ("us-east-1", "app", "AVAILABLE")

    # When the documented migration runs
    assert main(["--table", TABLE_NAME, "--region", "us-east-1"]) == 0
    assert "moved 2 to <registryId>#us-east-1#<repositoryName>" in capsys.readouterr().out

    # Then both are at the new key (the repository query reads them), the old keys are gone,
    keys = {(item["pk"]["S"], item["sk"]["S"]) for item in dynamodb.scan(TableName=TABLE_NAME)["Items"]}
    assert keys == {(f"{ACCOUNT}#us-east-1#app", f"LAYER#{LAYER}"), (f"{ACCOUNT}#us-east-1#app", f"IMAGE#{IMAGE}")}
    items = get(api_event, "/results", repositoryName="app")["items"]
    assert {(item["itemType"], item["region"]) for item in items} == {("layer", "us-east-1"), ("image", "us-east-1")}
    # ... and the BROKEN image is in the status index, so GET /images?status=BROKEN lists it
    [broken] = get(api_event, "/images", status="BROKEN")["items"]
    assert (broken["imageDigest"], broken["missingLayers"], broken["imageTags"]) == (IMAGE, [LAYER], ["v1"])

    # When it runs again, Then there is nothing left to move
    assert migrate(dynamodb, TABLE_NAME, "us-east-1").scanned == 0


def test_migration_keeps_a_newer_verdict_already_at_the_new_key(dynamodb: Any) -> None:
    # Given an old BROKEN item and the upgraded function's newer COMPLETE verdict of the same image
    old_image = legacy_items()[1]
    dynamodb.put_item(TableName=TABLE_NAME, Item=old_image)
    newer = {
        **old_image,
        "pk": {"S": f"{ACCOUNT}#us-east-1#app"},
        "region": {"S": "us-east-1"},
        "status": {"S": "COMPLETE"},
        "missingLayers": {"L": []},
    }
    dynamodb.put_item(TableName=TABLE_NAME, Item=newer)

    result = migrate(dynamodb, TABLE_NAME, "us-east-1")

    [item] = dynamodb.scan(TableName=TABLE_NAME)["Items"]
    assert (result.moved, result.kept_newer, item["status"]["S"]) == (0, 1, "COMPLETE")


def test_migration_leaves_inventory_items_alone(dynamodb: Any) -> None:
    inventory = {
        "pk": {"S": f"INVENTORY#{ACCOUNT}#us-east-1"},
        "sk": {"S": "eks#app:v1"},
        "itemType": {"S": "inventory"},
    }
    dynamodb.put_item(TableName=TABLE_NAME, Item=inventory)

    assert migrate(dynamodb, TABLE_NAME, "us-east-1").scanned == 0
    assert dynamodb.scan(TableName=TABLE_NAME)["Items"] == [inventory]


def test_migration_skips_an_unreadable_item_reports_it_and_moves_the_others(
    dynamodb: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an old item the verdict models refuse (a malformed digest, a number for a time) beside two readable ones
    layer, image = legacy_items()
    unreadable = {**layer, "sk": {"S": "LAYER#sha256:" + "c" * 64}, "layerDigest": {"S": "not-a-digest"}}
    unreadable["checkedAt"] = {"N": "12"}
    for item in (unreadable, layer, image):
        dynamodb.put_item(TableName=TABLE_NAME, Item=item)

    # When the migration runs
    status = main(["--table", TABLE_NAME, "--region", "us-east-1"])

    # Then the readable items moved, the unreadable one stayed where it was, and stderr names it
    out, err = capsys.readouterr()
    assert status == 1
    assert "moved 2 to" in out
    assert "1 item(s) could not be read as verdicts" in err
    assert f"pk={ACCOUNT}#app sk=LAYER#sha256:{'c' * 64}" in err
    keys = {(item["pk"]["S"], item["sk"]["S"]) for item in dynamodb.scan(TableName=TABLE_NAME)["Items"]}
    assert (f"{ACCOUNT}#app", f"LAYER#sha256:{'c' * 64}") in keys
    assert (f"{ACCOUNT}#us-east-1#app", f"LAYER#{LAYER}") in keys
    assert (f"{ACCOUNT}#us-east-1#app", f"IMAGE#{IMAGE}") in keys
