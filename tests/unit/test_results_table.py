"""The results table writes in batches of 25, re-sends UnprocessedItems, reports what it could not store."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from layercheck.errors import InvalidPageTokenError, ResultsNotStoredError
from layercheck.integrations.image_writes import ImageVerdictWrites
from layercheck.integrations.page_tokens import decode_page_token, encode_page_token
from layercheck.integrations.results_table import (
    UNPROCESSED_RETRIES,
    ResultsTable,
    from_dynamodb,
    to_dynamodb,
)
from layercheck.logic.verdict_merge import ImageObservation
from layercheck.models.stored import Source, StoredLayerVerdict, layer_verdicts
from layercheck.models.verdicts import LayerAnswer, LayerFailure, RepositoryResult

TABLE = "results"
CHECKED_AT = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


def verdict(n: int, repository: str = "app") -> StoredLayerVerdict:
    return StoredLayerVerdict(
        registryId="123456789012",
        region="us-east-1",
        repositoryName=repository,
        layerDigest=f"sha256:{n:064x}",
        status="AVAILABLE",
        layerSize=n,
        mediaType="application/vnd.oci.image.layer.v1.tar+gzip",
        checkedAt="2026-11-27T12:00:00Z",
        source=Source.API,
        expiresAt=1_800_000_000,
    )


@pytest.fixture
def dynamodb() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def put_requests(items: list[StoredLayerVerdict]) -> list[dict[str, Any]]:
    return [{"PutRequest": {"Item": to_dynamodb(item)}} for item in items]


def test_put_verdicts_writes_30_items_as_batches_of_25_and_5(dynamodb: tuple[Any, Stubber]) -> None:
    client, stubber = dynamodb
    items = [verdict(i) for i in range(30)]
    # Batches are written concurrently; the stub answers in order, so expect either batch first.
    stubber.add_response("batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": ANY})
    stubber.add_response("batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": ANY})
    sizes: list[int] = []
    client.meta.events.register(
        "provide-client-params.dynamodb.BatchWriteItem",
        lambda params, **_: sizes.append(len(params["RequestItems"][TABLE])),
    )

    stored = ResultsTable(TABLE, client, sleep=lambda _: None).put_verdicts(items)

    assert stored == 30
    assert sorted(sizes) == [5, 25]


def test_put_verdicts_resends_unprocessed_items_until_stored(dynamodb: tuple[Any, Stubber]) -> None:
    client, stubber = dynamodb
    items = [verdict(i) for i in range(3)]
    requests = put_requests(items)
    stubber.add_response(
        "batch_write_item", {"UnprocessedItems": {TABLE: requests[1:]}}, {"RequestItems": {TABLE: requests}}
    )
    stubber.add_response(
        "batch_write_item", {"UnprocessedItems": {TABLE: requests[2:]}}, {"RequestItems": {TABLE: requests[1:]}}
    )
    stubber.add_response("batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": {TABLE: requests[2:]}})
    pauses: list[float] = []

    stored = ResultsTable(TABLE, client, sleep=pauses.append).put_verdicts(items)

    assert stored == 3
    assert len(pauses) == 2  # backoff before each re-send


def test_put_verdicts_reports_items_still_unprocessed_after_every_retry(dynamodb: tuple[Any, Stubber]) -> None:
    client, stubber = dynamodb
    items = [verdict(i) for i in range(2)]
    requests = put_requests(items)
    for _ in range(UNPROCESSED_RETRIES + 1):
        stubber.add_response("batch_write_item", {"UnprocessedItems": {TABLE: requests[1:]}}, {"RequestItems": ANY})

    with pytest.raises(ResultsNotStoredError) as raised:
        ResultsTable(TABLE, client, sleep=lambda _: None).put_verdicts(items)

    # The key holds the Region (registry, Region and repository: the same name in two Regions never collides).
    assert raised.value.unstored_keys == [{"pk": "123456789012#us-east-1#app", "sk": f"LAYER#{items[1].layerDigest}"}]
    assert "still unprocessed" in raised.value.reason


def test_put_verdicts_reports_a_batch_dynamodb_refused(dynamodb: tuple[Any, Stubber]) -> None:
    client, stubber = dynamodb
    stubber.add_client_error("batch_write_item", "ResourceNotFoundException", "Requested resource not found")

    with pytest.raises(ResultsNotStoredError) as raised:
        ResultsTable(TABLE, client, sleep=lambda _: None).put_verdicts([verdict(1)])

    assert len(raised.value.unstored_keys) == 1
    assert raised.value.reason.startswith("ResourceNotFoundException")


def test_put_verdicts_writes_each_key_once_latest_wins(dynamodb: tuple[Any, Stubber]) -> None:
    client, stubber = dynamodb
    first, second = verdict(1), verdict(1).model_copy(update={"status": "UNAVAILABLE"})
    stubber.add_response(
        "batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": {TABLE: put_requests([second])}}
    )

    assert ResultsTable(TABLE, client).put_verdicts([first, second]) == 1


def test_stored_items_round_trip_through_dynamodb_attributes() -> None:
    results = [
        RepositoryResult(
            registryId="123456789012",
            repositoryName="app",
            layers=[LayerAnswer(layerDigest="sha256:" + "1" * 64, layerAvailability="AVAILABLE", layerSize=5)],
            failures=[LayerFailure(layerDigest="bad", failureCode="InvalidLayerDigest", failureReason="Invalid")],
        )
    ]

    items = layer_verdicts(
        results, source=Source.SCHEDULE, checked_at=CHECKED_AT, ttl_days=30, region="eu-west-1", check_id="c1"
    )

    assert [from_dynamodb(to_dynamodb(item)) for item in items] == items
    attributes = to_dynamodb(items[1])
    assert attributes["status"] == {"S": "INVALID"}
    assert attributes["expiresAt"] == {"N": str(int(CHECKED_AT.timestamp()) + 30 * 86400)}
    assert attributes["checkedAt"] == {"S": "2026-11-27T12:00:00Z"}
    assert "layerSize" not in attributes  # absent, not null
    assert (attributes["region"], attributes["pk"]) == ({"S": "eu-west-1"}, {"S": "123456789012#eu-west-1#app"})


def test_page_tokens_round_trip_and_refuse_tampering() -> None:
    key = {"pk": {"S": "123456789012#app"}, "sk": {"S": "LAYER#sha256:1"}}
    token = encode_page_token(key)

    assert decode_page_token(token, {"pk": "123456789012#app"}) == key
    with pytest.raises(InvalidPageTokenError, match="another query"):
        decode_page_token(token, {"pk": "123456789012#other"})
    with pytest.raises(InvalidPageTokenError, match="not a token"):
        decode_page_token("!!not base64!!", {"pk": "123456789012#app"})
    with pytest.raises(InvalidPageTokenError):
        decode_page_token(encode_page_token({"pk": {"S": "123456789012#app"}}), {"pk": "123456789012#app"})


@pytest.mark.parametrize(
    "key",
    [
        {"pk": {"S": "123456789012#app"}, "sk": {"S": ""}},  # DynamoDB refuses empty key values
        {"pk": {"S": "123456789012#app"}, "sk": {"S": "x" * 1025}},  # and sort keys over 1,024 bytes
        {"pk": {"S": "123456789012#app"}, "sk": {"S": "LAYER#a"}, "extra": {"S": "x"}},  # and attributes not in the key
    ],
)
def test_page_tokens_with_keys_dynamodb_would_refuse_are_refused_first(key: dict[str, Any]) -> None:
    with pytest.raises(InvalidPageTokenError):
        decode_page_token(encode_page_token(key), {"pk": "123456789012#app"})


def forged_token(plain: dict[str, Any]) -> str:
    """A token as a caller could forge it: base64url of any JSON (``json.dumps`` writes lone surrogates as escapes)."""
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "plain",
    [
        {"pk": "\ud800", "sk": "x"},  # a lone surrogate: valid JSON, no UTF-8 form (was a UnicodeEncodeError)
        {"pk": "123456789012#app", "sk": "LAYER#\udfff"},
        {"pk": "123456789012#app", "sk": 7},
        {"pk": "123456789012#app", "sk": ["x"]},
    ],
)
def test_decode_page_token_refuses_values_dynamodb_cannot_hold(plain: dict[str, Any]) -> None:
    with pytest.raises(InvalidPageTokenError, match="not a token"):
        decode_page_token(forged_token(plain), {"pk": "123456789012#app"})


def test_query_layer_digest_refuses_a_token_of_another_registry_before_querying(
    dynamodb: tuple[Any, Stubber],
) -> None:
    # Given a token issued for registry 210987654321's page of this digest (no DynamoDB call is stubbed)
    client, _ = dynamodb
    digest = "sha256:" + "a" * 64
    token = encode_page_token(
        {"pk": {"S": "210987654321#app"}, "sk": {"S": f"LAYER#{digest}"}, "layerDigest": {"S": digest}}
    )

    # When it continues a query narrowed to 123456789012, Then it is refused as another query's token
    with pytest.raises(InvalidPageTokenError, match="another query"):
        ResultsTable(TABLE, client).query_layer_digest(digest, registry_id="123456789012", next_token=token)


# -- image verdicts: UpdateItem ALL_OLD, the sparse status index, the home Region --------------------------------


def observed(status: str) -> ImageObservation:
    """An observation made at 12:00 of the verdict fixture's image."""
    return ImageObservation(image_verdict(status).model_copy(update={"observedAt": "2026-11-27T12:00:00.000Z"}))


def image_verdict(status: str, digest: str = "sha256:" + "b" * 64, region: str | None = "eu-west-1") -> Any:
    from layercheck.models.stored import ImageStatus, StoredImageVerdict

    return StoredImageVerdict(
        registryId="123456789012",
        region=region,
        repositoryName="app",
        checkedAt="2026-11-27T12:00:00Z",
        source=Source.SCHEDULE,
        expiresAt=1_800_000_000,
        imageDigest=digest,
        status=ImageStatus(status),
    )


def capture(client: Any, operation: str) -> list[dict[str, Any]]:
    """The parameters of every ``operation`` call the client makes (the Stubber checks the rest)."""
    seen: list[dict[str, Any]] = []
    client.meta.events.register(f"provide-client-params.dynamodb.{operation}", lambda params, **_: seen.append(params))
    return seen


def stored_item(status: str, version: int, observed_at: str) -> dict[str, Any]:
    item = to_dynamodb(image_verdict(status).model_copy(update={"observedAt": observed_at}))
    return {**item, "itemVersion": {"N": str(version)}}


def held(*items: dict[str, Any]) -> dict[str, Any]:
    """BatchGetItem's answer holding ``items``."""
    return {"Responses": {TABLE: list(items)}}


def test_image_write_reads_the_item_then_writes_on_condition_of_the_version_it_read(
    dynamodb: tuple[Any, Stubber],
) -> None:
    """DynamoDB: BatchGetItem with ConsistentRead answers the item as last written; UpdateItem applies only if its
    ConditionExpression holds."""
    client, stubber = dynamodb
    updates = capture(client, "UpdateItem")
    stubber.add_response(
        "batch_get_item", {"Responses": {TABLE: [stored_item("COMPLETE", 3, "2026-11-27T11:00:00.000Z")]}}
    )
    stubber.add_response("update_item", {})

    [write] = ImageVerdictWrites(TABLE, client, home_region="us-east-1").write_images([observed("BROKEN")])

    # Then the previous status comes from the read, the change is staged in the same write, on version 3
    assert write.update is not None and write.update.previous_status == "COMPLETE"
    assert write.update.change is not None
    [update] = updates
    names, values = update["ExpressionAttributeNames"], update["ExpressionAttributeValues"]
    version = next(alias for alias, name in names.items() if name == "itemVersion")
    assert update["ConditionExpression"] == f"{version} = :v{len(values) - 1}"
    assert values[f":v{len(values) - 1}"] == {"N": "3"}
    assert "pendingChanges" in names.values() and "pendingChange" in names.values()


def test_a_write_that_lost_a_race_reads_again_and_decides_from_what_the_other_writer_left(
    dynamodb: tuple[Any, Stubber],
) -> None:
    """DynamoDB answers ConditionalCheckFailedException when another writer changed the item between our read and our
    write (the race moto's single-threaded server never shows): read it again, merge again, write on its version."""
    client, stubber = dynamodb
    updates = capture(client, "UpdateItem")
    stubber.add_response(
        "batch_get_item", {"Responses": {TABLE: [stored_item("COMPLETE", 3, "2026-11-27T11:00:00.000Z")]}}
    )
    stubber.add_client_error("update_item", "ConditionalCheckFailedException", "The conditional request failed")
    stubber.add_response("get_item", {"Item": stored_item("UNCHECKED", 4, "2026-11-27T11:30:00.000Z")})
    stubber.add_response("update_item", {})

    [write] = ImageVerdictWrites(TABLE, client, home_region="us-east-1").write_images([observed("BROKEN")])

    assert write.update is not None and write.update.previous_status == "UNCHECKED"
    assert [u["ExpressionAttributeValues"][u["ConditionExpression"].split(" = ")[1]] for u in updates] == [
        {"N": "3"},
        {"N": "4"},
    ]


def test_an_observation_older_than_the_stored_findings_writes_nothing(dynamodb: tuple[Any, Stubber]) -> None:
    client, stubber = dynamodb
    stubber.add_response(
        "batch_get_item", {"Responses": {TABLE: [stored_item("COMPLETE", 3, "2026-11-27T13:00:00.000Z")]}}
    )

    [write] = ImageVerdictWrites(TABLE, client, home_region="us-east-1").write_images([observed("BROKEN")])

    # Then no UpdateItem was sent (the Stubber holds none), and the answer is what the item holds
    assert write.update is not None and write.update.verdict.status == "COMPLETE" and write.update.change is None


def test_a_refused_image_write_is_reported_not_raised(dynamodb: tuple[Any, Stubber]) -> None:
    client, stubber = dynamodb
    stubber.add_response("batch_get_item", {"Responses": {TABLE: []}})
    stubber.add_client_error("update_item", "ResourceNotFoundException", "Requested resource not found")

    [refused] = ImageVerdictWrites(TABLE, client, home_region="us-east-1").write_images([observed("BROKEN")])

    assert (refused.stored, refused.reason) == (False, "ResourceNotFoundException: Requested resource not found")


def test_only_image_items_not_complete_carry_the_status_index_key() -> None:
    broken, complete = to_dynamodb(image_verdict("BROKEN")), to_dynamodb(image_verdict("COMPLETE"))
    digest = "sha256:" + "b" * 64

    assert broken["imageStatus"] == {"S": "BROKEN"}
    assert broken["imageKey"] == {"S": f"123456789012#eu-west-1#app#{digest}"}
    assert broken["pk"] == {"S": "123456789012#eu-west-1#app"}
    assert "imageStatus" not in complete  # the index is sparse: a recovered image leaves GET /images?status=
    assert "imageStatus" not in to_dynamodb(verdict(1)) and "imageKey" not in to_dynamodb(verdict(1))


def test_a_verdict_without_region_is_written_and_read_as_the_home_regions(dynamodb: tuple[Any, Stubber]) -> None:
    client, stubber = dynamodb
    reads = capture(client, "BatchGetItem")
    stubber.add_response("batch_get_item", {"Responses": {TABLE: []}})
    stubber.add_response("update_item", {})

    ImageVerdictWrites(TABLE, client, home_region="us-east-1").write_images(
        [ImageObservation(image_verdict("BROKEN", region=None))]
    )

    # Written at the home Region's key ...
    [key] = reads[0]["RequestItems"][TABLE]["Keys"]
    assert key["pk"] == {"S": "123456789012#us-east-1#app"}
    # ... and an item without region (written before verdicts carried one) reads as the home Region's
    legacy = {name: value for name, value in to_dynamodb(image_verdict("BROKEN")).items() if name != "region"}
    assert from_dynamodb(legacy, home_region="us-east-1").region == "us-east-1"
    assert from_dynamodb(to_dynamodb(image_verdict("BROKEN")), home_region="us-east-1").region == "eu-west-1"


def test_image_page_tokens_continue_only_their_own_query() -> None:
    from layercheck.integrations.page_tokens import decode_image_status_token, decode_repository_images_token

    digest = "sha256:" + "b" * 64
    key = {
        "pk": {"S": "123456789012#eu-west-1#app"},
        "sk": {"S": f"IMAGE#{digest}"},
        "imageStatus": {"S": "BROKEN"},
        "imageKey": {"S": f"123456789012#eu-west-1#app#{digest}"},
    }
    token = encode_page_token(key)

    assert decode_image_status_token(token, "BROKEN", "123456789012#eu-west-1#") == key
    for status, prefix in (("UNCHECKED", None), ("BROKEN", "210987654321#"), ("BROKEN", "123456789012#us-east-1#")):
        with pytest.raises(InvalidPageTokenError, match="another query"):
            decode_image_status_token(token, status, prefix)
    mismatched = encode_page_token({**key, "pk": {"S": "123456789012#eu-west-1#other"}})
    with pytest.raises(InvalidPageTokenError, match="not a token"):
        decode_image_status_token(mismatched, "BROKEN")
    layer_key = encode_page_token({"pk": key["pk"], "sk": {"S": f"LAYER#{digest}"}})
    with pytest.raises(InvalidPageTokenError, match="another query"):
        decode_repository_images_token(layer_key, "123456789012#eu-west-1#app")


def test_lifecycle_risk_page_tokens_continue_only_the_risk_query() -> None:
    from layercheck.integrations.page_tokens import decode_lifecycle_risk_token

    digest = "sha256:" + "c" * 64
    table_key = {"pk": {"S": "123456789012#eu-west-1#app"}, "sk": {"S": f"IMAGE#{digest}"}}
    index_key = {"imageKey": {"S": f"123456789012#eu-west-1#app#{digest}"}}
    key = {**table_key, **index_key, "lifecycleRiskKind": {"S": "lifecycle"}}

    assert decode_lifecycle_risk_token(encode_page_token(key), "lifecycle", "123456789012#") == key
    # A status query's token, and one narrowed to another registry, are another query's
    status_token = encode_page_token({**table_key, **index_key, "imageStatus": {"S": "BROKEN"}})
    with pytest.raises(InvalidPageTokenError, match="not a token"):
        decode_lifecycle_risk_token(status_token, "lifecycle")
    with pytest.raises(InvalidPageTokenError, match="another query"):
        decode_lifecycle_risk_token(encode_page_token(key), "lifecycle", "210987654321#")


def test_an_image_item_enters_the_lifecycle_risk_index_only_while_it_carries_a_risk() -> None:
    from layercheck.models.lifecycle import LifecycleAction, LifecycleRisk

    risk = LifecycleRisk(action=LifecycleAction.EXPIRE, rulePriority=1, previewedAt="2026-03-01T12:00:00Z")
    at_risk = image_verdict("COMPLETE").model_copy(update={"lifecycleRisk": risk})

    assert to_dynamodb(at_risk)["lifecycleRiskKind"] == {"S": "lifecycle"}
    assert "lifecycleRiskKind" not in to_dynamodb(image_verdict("COMPLETE"))
    # The index key is the table's business: it never reaches a verdict
    assert from_dynamodb(to_dynamodb(at_risk)).lifecycleRisk == risk  # type: ignore[union-attr]
