"""DynamoDB results table: the only module that knows its keys, its index and how BatchWriteItem really behaves."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import TypeAdapter

from layercheck.errors import InvalidPageTokenError, ResultsNotStoredError
from layercheck.logic.chunks import chunked
from layercheck.models.stored import StoredItem, StoredLayerVerdict
from layercheck.results_table_schema import (
    LAYER_DIGEST_INDEX,
    LAYER_DIGEST_INDEX_PARTITION_KEY,
    LAYER_DIGEST_INDEX_SORT_KEY,
    PARTITION_KEY,
    SORT_KEY,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# BatchWriteItem takes at most 25 put or delete requests per call.
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html
MAX_ITEMS_PER_BATCH_WRITE = 25
# Items left in UnprocessedItems are re-sent with exponential backoff and full jitter, as the API reference advises.
UNPROCESSED_RETRIES = 8
BACKOFF_BASE_SECONDS = 0.05
BACKOFF_CAP_SECONDS = 2.0
WRITE_WORKERS = 8
DEFAULT_PAGE_SIZE = 100

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
_stored_item = TypeAdapter[StoredItem](StoredItem)


@functools.cache
def default_client() -> DynamoDBClient:
    client: DynamoDBClient = boto3.client(
        "dynamodb",
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 6}, max_pool_connections=max(10, WRITE_WORKERS)
        ),
    )
    return client


def item_key(item: StoredItem) -> dict[str, str]:
    partition = f"{item.registryId}#{item.repositoryName}"
    if isinstance(item, StoredLayerVerdict):
        return {PARTITION_KEY: partition, SORT_KEY: f"LAYER#{item.layerDigest}"}
    return {PARTITION_KEY: partition, SORT_KEY: f"IMAGE#{item.imageDigest}"}


def to_dynamodb(item: StoredItem) -> dict[str, Any]:
    attributes: dict[str, Any] = item.model_dump(mode="json", exclude_none=True)
    attributes.update(item_key(item))
    if isinstance(item, StoredLayerVerdict):
        attributes[LAYER_DIGEST_INDEX_PARTITION_KEY] = item.layerDigest
    # Nearly every attribute is a string: written inline, the rest through _attribute_value.
    return {
        name: {"S": value} if type(value) is str else _attribute_value(value) for name, value in attributes.items()
    }


# DynamoDB numbers carry at most 38 significant digits; a whole number below this bound is written exactly.
_EXACT_NUMBER_BOUND = 10**38


def _attribute_value(value: Any) -> dict[str, Any]:
    """``TypeSerializer.serialize(value)``, with its chain of type tests skipped for the two types nearly every
    attribute has (a string, a whole number): 14 attributes an item, 10,000 items a check. Anything else (a list, a
    map, a bool) is the serializer's."""
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is int and -_EXACT_NUMBER_BOUND < value < _EXACT_NUMBER_BOUND:
        return {"N": str(value)}
    serialized: dict[str, Any] = _serializer.serialize(value)
    return serialized


def from_dynamodb(attributes: dict[str, Any]) -> StoredItem:
    plain = {name: _deserializer.deserialize(value) for name, value in attributes.items()}
    for key in (PARTITION_KEY, SORT_KEY):
        plain.pop(key, None)
    # Numbers come back as Decimal; every number we store is a whole number.
    plain = {name: int(value) if isinstance(value, Decimal) else value for name, value in plain.items()}
    return _stored_item.validate_python(plain)


@dataclass(frozen=True)
class ResultsPage:
    items: list[StoredItem]
    next_token: str | None


class ResultsTable:
    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table_name = table_name
        self._client = client or default_client()
        self._sleep = sleep

    # -- writes --------------------------------------------------------------------------------------------------

    def put_verdicts(self, items: Sequence[StoredItem]) -> int:
        """Store every item (latest state: a put overwrites); raises ``ResultsNotStoredError`` naming what is left."""
        unique = list({tuple(item_key(item).values()): item for item in items}.values())
        batches = list(chunked(unique, MAX_ITEMS_PER_BATCH_WRITE))
        if not batches:
            return 0
        with ThreadPoolExecutor(max_workers=min(WRITE_WORKERS, len(batches)), thread_name_prefix="ddb-write") as pool:
            leftovers = list(pool.map(self._write_batch, batches))
        unstored = [key for batch_left in leftovers for key in batch_left[0]]
        if unstored:
            reasons = sorted({batch_left[1] for batch_left in leftovers if batch_left[0]})
            raise ResultsNotStoredError(unstored, "; ".join(reasons))
        return len(unique)

    def _write_batch(self, batch: list[StoredItem]) -> tuple[list[dict[str, Any]], str]:
        """Write one batch; returns the keys still unstored after every retry and why."""
        requests: list[Any] = [{"PutRequest": {"Item": to_dynamodb(item)}} for item in batch]
        for attempt in range(UNPROCESSED_RETRIES + 1):
            try:
                response = self._client.batch_write_item(RequestItems={self._table_name: requests})
            except (ClientError, BotoCoreError) as error:
                # botocore already retried throttling and 5xx; what is left is not going to pass by waiting.
                return [_request_key(request) for request in requests], _error_text(error)
            requests = list(response.get("UnprocessedItems", {}).get(self._table_name, []))
            if not requests:
                return [], ""
            if attempt < UNPROCESSED_RETRIES:
                self._sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)))
        return [_request_key(request) for request in requests], (
            f"still unprocessed after {UNPROCESSED_RETRIES} retries"
        )

    # -- reads ---------------------------------------------------------------------------------------------------

    def query_repository(
        self, registry_id: str, repository_name: str, *, limit: int = DEFAULT_PAGE_SIZE, next_token: str | None = None
    ) -> ResultsPage:
        partition = f"{registry_id}#{repository_name}"
        arguments: dict[str, Any] = {
            "TableName": self._table_name,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
            "ExpressionAttributeValues": {":pk": {"S": partition}},
            "Limit": limit,
        }
        if next_token:
            arguments["ExclusiveStartKey"] = decode_page_token(next_token, {PARTITION_KEY: partition})
        return self._query(arguments)

    def query_layer_digest(
        self,
        layer_digest: str,
        *,
        registry_id: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        next_token: str | None = None,
    ) -> ResultsPage:
        """Every repository's verdict for one digest; with ``registry_id``, only that registry's repositories."""
        arguments: dict[str, Any] = {
            "TableName": self._table_name,
            "IndexName": LAYER_DIGEST_INDEX,
            "KeyConditionExpression": "#digest = :digest",
            "ExpressionAttributeNames": {"#digest": LAYER_DIGEST_INDEX_PARTITION_KEY},
            "ExpressionAttributeValues": {":digest": {"S": layer_digest}},
            "Limit": limit,
        }
        if registry_id is not None:
            # The index sort key is "<registryId>#<repositoryName>": a key condition, not a filter, so pages stay full.
            arguments["KeyConditionExpression"] += " AND begins_with(#repository, :registry)"
            arguments["ExpressionAttributeNames"]["#repository"] = LAYER_DIGEST_INDEX_SORT_KEY
            arguments["ExpressionAttributeValues"][":registry"] = {"S": f"{registry_id}#"}
        if next_token:
            start_key = decode_page_token(
                next_token,
                {LAYER_DIGEST_INDEX_PARTITION_KEY: layer_digest},
                key_names=frozenset({PARTITION_KEY, SORT_KEY, LAYER_DIGEST_INDEX_PARTITION_KEY}),
            )
            if registry_id is not None and not start_key[LAYER_DIGEST_INDEX_SORT_KEY]["S"].startswith(f"{registry_id}#"):
                raise InvalidPageTokenError("nextToken belongs to another query")
            arguments["ExclusiveStartKey"] = start_key
        return self._query(arguments)

    def _query(self, arguments: dict[str, Any]) -> ResultsPage:
        try:
            response = self._client.query(**arguments)
        except ClientError as error:
            # DynamoDB judges ExclusiveStartKey itself; a key it refuses came from the caller's token.
            if (
                "ExclusiveStartKey" in arguments
                and error.response.get("Error", {}).get("Code") == "ValidationException"
            ):
                raise InvalidPageTokenError("nextToken is not a token this API issued") from error
            raise
        last_key = response.get("LastEvaluatedKey")
        return ResultsPage(
            items=[from_dynamodb(dict(item)) for item in response.get("Items", [])],
            next_token=encode_page_token(dict(last_key)) if last_key else None,
        )


def encode_page_token(last_evaluated_key: dict[str, Any]) -> str:
    plain = {name: _deserializer.deserialize(value) for name, value in last_evaluated_key.items()}
    return base64.urlsafe_b64encode(json.dumps(plain, sort_keys=True).encode()).decode()


# DynamoDB's limit for a sort key value; our partition keys are far shorter than its 2,048 bytes.
MAX_KEY_BYTES = 1024


def decode_page_token(
    token: str, expected: dict[str, str], *, key_names: frozenset[str] = frozenset({PARTITION_KEY, SORT_KEY})
) -> dict[str, Any]:
    """Rebuild ``ExclusiveStartKey``; the token must hold exactly the keys of the query it continues, with the same
    partition, and values DynamoDB would accept (a key it refuses would otherwise surface as a 5xx)."""
    try:
        plain = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as error:
        raise InvalidPageTokenError("nextToken is not a token this API issued") from error
    if not isinstance(plain, dict) or set(plain) != key_names or not all(map(_is_key_value, plain.values())):
        raise InvalidPageTokenError("nextToken is not a token this API issued")
    if any(plain.get(name) != value for name, value in expected.items()):
        raise InvalidPageTokenError("nextToken belongs to another query")
    return {name: {"S": value} for name, value in plain.items()}


def _is_key_value(value: object) -> bool:
    """A string DynamoDB takes as a key value: 1 to 1,024 bytes of UTF-8. JSON can carry lone surrogates
    (``"\\ud800"``), which have no UTF-8 form at all."""
    if not isinstance(value, str):
        return False
    try:
        size = len(value.encode())
    except UnicodeEncodeError:
        return False
    return 0 < size <= MAX_KEY_BYTES


def _request_key(request: Any) -> dict[str, Any]:
    item = request["PutRequest"]["Item"]
    return {name: _deserializer.deserialize(item[name]) for name in (PARTITION_KEY, SORT_KEY)}


def _error_text(error: ClientError | BotoCoreError) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Unknown')}: {details.get('Message', '')}"
    return f"{type(error).__name__}: {error}"
