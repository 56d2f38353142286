"""The shared AWS plumbing (integrations/aws.py) against AWS's real request and answer shapes (botocore's Stubber)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from layercheck.integrations.aws import (
    BACKOFF_BASE_SECONDS,
    ECR_MAX_RESULTS,
    MIN_POOL_CONNECTIONS,
    RETRY_ATTEMPTS,
    Backoff,
    batch_get,
    batch_write,
    client_config,
    ecr_pages,
    query_pages,
)
from tests.support import offline_client

TABLE = "results"


def item(number: int) -> dict[str, Any]:
    return {"pk": {"S": "p"}, "sk": {"S": f"item-{number:03d}"}}


def puts(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"PutRequest": {"Item": entry}} for entry in items]


@pytest.fixture
def dynamodb() -> Iterator[tuple[Any, Stubber]]:
    stubbed = offline_client("dynamodb")
    with Stubber(stubbed) as stubber:
        yield stubbed, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def ecr() -> Iterator[tuple[Any, Stubber]]:
    stubbed = offline_client("ecr")
    with Stubber(stubbed) as stubber:
        yield stubbed, stubber
        stubber.assert_no_pending_responses()


# -- client configuration ----------------------------------------------------------------------------------------


def test_client_config_retries_in_standard_mode_with_bounded_timeouts_and_our_user_agent() -> None:
    config = client_config()

    assert config.retries == {"mode": "standard", "total_max_attempts": RETRY_ATTEMPTS}
    assert (config.connect_timeout, config.read_timeout) == (5, 20)
    assert config.user_agent_extra == "layercheck"


def test_client_config_gives_each_sharing_thread_a_connection_and_never_fewer_than_botocores_pool() -> None:
    assert client_config(32).max_pool_connections == 32
    assert client_config(4).max_pool_connections == MIN_POOL_CONNECTIONS


def test_client_config_takes_the_retry_mode_and_attempts_a_control_plane_needs() -> None:
    config = client_config(attempts=8, retry_mode="adaptive")

    assert config.retries == {"mode": "adaptive", "total_max_attempts": 8}


# -- back-off ----------------------------------------------------------------------------------------------------


def test_backoff_pauses_before_each_retry_only_within_its_full_jitter_window() -> None:
    pauses: list[float] = []

    attempts = list(Backoff(6, cap_seconds=0.4, sleep=pauses.append).attempts())

    assert attempts == [0, 1, 2, 3, 4, 5, 6]
    assert len(pauses) == 6  # none before the first try
    windows = [min(0.4, BACKOFF_BASE_SECONDS * 2**n) for n in range(6)]
    assert all(0 <= pause <= window for pause, window in zip(pauses, windows, strict=True))


def test_backoff_does_not_pause_once_the_caller_stops() -> None:
    pauses: list[float] = []

    for attempt in Backoff(8, sleep=pauses.append).attempts():
        if attempt == 2:
            break

    assert len(pauses) == 2


# -- DynamoDB's batched writes and reads -------------------------------------------------------------------------


def test_batch_write_sends_25_items_a_call_and_resends_exactly_what_dynamodb_left_unprocessed(
    dynamodb: tuple[Any, Stubber],
) -> None:
    stubbed, stubber = dynamodb
    items = [item(n) for n in range(26)]
    first = puts(items[:25])
    # DynamoDB takes the first call but leaves three items unprocessed (as under a hot partition), then takes them.
    stubber.add_response(
        "batch_write_item", {"UnprocessedItems": {TABLE: first[4:7]}}, {"RequestItems": {TABLE: first}}
    )
    stubber.add_response("batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": {TABLE: first[4:7]}})
    stubber.add_response("batch_write_item", {}, {"RequestItems": {TABLE: puts(items[25:])}})
    pauses: list[float] = []

    outcome = batch_write(stubbed, TABLE, list(range(26)), item, backoff=Backoff(8, sleep=pauses.append))

    assert outcome.unwritten == []
    assert len(pauses) == 1


def test_batch_write_reports_items_still_unprocessed_after_every_retry_with_why(
    dynamodb: tuple[Any, Stubber],
) -> None:
    stubbed, stubber = dynamodb
    items = [item(n) for n in range(3)]
    stubber.add_response(
        "batch_write_item", {"UnprocessedItems": {TABLE: puts(items[2:])}}, {"RequestItems": {TABLE: puts(items)}}
    )
    for _ in range(2):
        stubber.add_response(
            "batch_write_item",
            {"UnprocessedItems": {TABLE: puts(items[2:])}},
            {"RequestItems": {TABLE: puts(items[2:])}},
        )

    outcome = batch_write(stubbed, TABLE, list(range(3)), item, backoff=Backoff(2, sleep=lambda _: None))

    assert outcome.unwritten == [items[2]]
    assert outcome.reasons == ["still unprocessed after 2 retries"]


def test_batch_write_reports_every_item_of_a_call_dynamodb_refused(dynamodb: tuple[Any, Stubber]) -> None:
    stubbed, stubber = dynamodb
    stubber.add_client_error("batch_write_item", "ResourceNotFoundException", "Requested resource not found")

    outcome = batch_write(stubbed, TABLE, [0, 1], item, backoff=Backoff(8, sleep=lambda _: None))

    assert outcome.unwritten == [item(0), item(1)]
    assert outcome.reasons == ["ResourceNotFoundException: Requested resource not found"]


def test_batch_write_on_threads_stores_every_batch(dynamodb: tuple[Any, Stubber]) -> None:
    stubbed, stubber = dynamodb
    for _ in range(3):
        stubber.add_response("batch_write_item", {})

    outcome = batch_write(stubbed, TABLE, list(range(60)), item, backoff=Backoff(8), workers=4)

    assert outcome.unwritten == []


def test_batch_get_resends_unprocessed_keys_and_returns_those_never_read(dynamodb: tuple[Any, Stubber]) -> None:
    stubbed, stubber = dynamodb
    keys = [item(n) for n in range(3)]
    stubber.add_response(
        "batch_get_item",
        {"Responses": {TABLE: [keys[0]]}, "UnprocessedKeys": {TABLE: {"Keys": keys[1:], "ConsistentRead": True}}},
        {"RequestItems": {TABLE: {"Keys": keys, "ConsistentRead": True}}},
    )
    stubber.add_response(
        "batch_get_item",
        {"Responses": {TABLE: [keys[1]]}, "UnprocessedKeys": {TABLE: {"Keys": keys[2:], "ConsistentRead": True}}},
        {"RequestItems": {TABLE: {"Keys": keys[1:], "ConsistentRead": True}}},
    )

    found, unread = batch_get(stubbed, TABLE, keys, backoff=Backoff(1, sleep=lambda _: None), consistent=True)

    assert found == keys[:2]
    assert unread == keys[2:]


# -- listings that come in pages ---------------------------------------------------------------------------------


def test_ecr_pages_follows_next_token_across_pages_and_asks_no_more_after_the_last(ecr: tuple[Any, Stubber]) -> None:
    """Stands for ECR's real paging: DescribeImages returns at most ``maxResults`` images and a ``nextToken`` while
    more remain, the last page none. moto 5 ignores ``maxResults`` and answers every image in one page, so it never
    exercises the token; the Stubber plays ECR's pages with ECR's shapes."""
    stubbed, stubber = ecr
    digests = [f"sha256:{n:064x}" for n in range(3)]
    request = {"repositoryName": "app", "filter": {"imageStatus": "ANY"}, "maxResults": ECR_MAX_RESULTS}
    for number, digest in enumerate(digests):
        page: dict[str, Any] = {"imageDetails": [{"imageDigest": digest, "repositoryName": "app"}]}
        if number < 2:
            page["nextToken"] = f"token-{number + 1}"
        stubber.add_response(
            "describe_images", page, {**request, **({"nextToken": f"token-{number}"} if number else {})}
        )
    tokens: list[str] = []

    pages = list(
        ecr_pages(
            stubbed,
            "describe_images",
            before_call=lambda: tokens.append("token"),
            repositoryName="app",
            filter={"imageStatus": "ANY"},
        )
    )

    assert [image["imageDigest"] for page in pages for image in page["imageDetails"]] == digests
    assert len(tokens) == 3  # one rate-limiter token a request, none after the last page


def test_query_pages_hands_last_evaluated_key_back_as_exclusive_start_key(dynamodb: tuple[Any, Stubber]) -> None:
    stubbed, stubber = dynamodb
    query = {"TableName": TABLE, "KeyConditionExpression": "#pk = :pk"}
    stubber.add_response("query", {"Items": [item(0)], "LastEvaluatedKey": item(0)}, query)
    stubber.add_response("query", {"Items": [item(1)]}, {**query, "ExclusiveStartKey": item(0)})

    pages = list(query_pages(stubbed, **query))

    assert [entry for page in pages for entry in page["Items"]] == [item(0), item(1)]
