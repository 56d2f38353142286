"""DynamoDB results table: the only module that knows its keys, its index and how BatchWriteItem really behaves."""

from __future__ import annotations

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
from layercheck.integrations.page_tokens import encode_page_token
from layercheck.integrations.results_queries import (
    image_status_query,
    layer_digest_query,
    lifecycle_risk_query,
    repository_query,
)
from layercheck.logic.chunks import chunked
from layercheck.models.stored import ImageStatus, StoredImageVerdict, StoredItem, StoredLayerVerdict
from layercheck.results_table_schema import (
    IMAGE_STATUS_INDEX_PARTITION_KEY,
    IMAGE_STATUS_INDEX_SORT_KEY,
    IMAGE_STATUS_NOT_INDEXED,
    INTERNAL_ATTRIBUTES,
    LAYER_DIGEST_INDEX_PARTITION_KEY,
    LAYER_SORT_PREFIX,
    LIFECYCLE_RISK_INDEX_PARTITION_KEY,
    LIFECYCLE_RISK_VALUE,
    PARTITION_KEY,
    SORT_KEY,
    image_key,
    image_sort_key,
    partition_key,
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


def new_client() -> DynamoDBClient:
    client: DynamoDBClient = boto3.client(
        "dynamodb",
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 6}, max_pool_connections=max(10, WRITE_WORKERS)
        ),
    )
    return client


def item_key(item: StoredItem) -> dict[str, str]:
    """Every item written carries its Region (``ResultsTable`` fills in its home Region where a caller gave none)."""
    if item.region is None:
        raise ValueError("a stored verdict must carry its region to be keyed")
    partition = partition_key(item.registryId, item.region, item.repositoryName)
    if isinstance(item, StoredLayerVerdict):
        return {PARTITION_KEY: partition, SORT_KEY: f"{LAYER_SORT_PREFIX}{item.layerDigest}"}
    return {PARTITION_KEY: partition, SORT_KEY: image_sort_key(item.reference)}


def image_index_attributes(verdict: StoredImageVerdict) -> dict[str, str]:
    """The index keys: ``imageStatus`` only while the image is not COMPLETE (``byImageStatus``), ``lifecycleRiskKind``
    only while it carries a lifecycle risk (``byLifecycleRisk``); both indexes are sparse."""
    assert verdict.region is not None  # item_key refused it already
    key = image_key(verdict.registryId, verdict.region, verdict.repositoryName, verdict.reference)
    attributes = {IMAGE_STATUS_INDEX_SORT_KEY: key}
    if verdict.status != IMAGE_STATUS_NOT_INDEXED:
        attributes[IMAGE_STATUS_INDEX_PARTITION_KEY] = verdict.status.value
    if verdict.lifecycleRisk is not None:
        attributes[LIFECYCLE_RISK_INDEX_PARTITION_KEY] = LIFECYCLE_RISK_VALUE
    return attributes


def to_dynamodb(item: StoredItem) -> dict[str, Any]:
    attributes: dict[str, Any] = item.model_dump(mode="json", exclude_none=True)
    attributes.update(item_key(item))
    if isinstance(item, StoredLayerVerdict):
        attributes[LAYER_DIGEST_INDEX_PARTITION_KEY] = item.layerDigest
    else:
        attributes.update(image_index_attributes(item))
    # Nearly every attribute is a string: written inline, the rest through _attribute_value.
    return {name: {"S": value} if type(value) is str else _attribute_value(value) for name, value in attributes.items()}


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


def from_dynamodb(attributes: dict[str, Any], *, home_region: str | None = None) -> StoredItem:
    """The stored verdict; an item written before verdicts carried a Region is ``home_region``'s."""
    plain = {name: _deserializer.deserialize(value) for name, value in attributes.items()}
    for key in (PARTITION_KEY, SORT_KEY, IMAGE_STATUS_INDEX_PARTITION_KEY, IMAGE_STATUS_INDEX_SORT_KEY):
        plain.pop(key, None)
    for key in INTERNAL_ATTRIBUTES:
        plain.pop(key, None)
    if home_region is not None:
        plain.setdefault("region", home_region)
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
        home_region: str | None = None,
    ) -> None:
        self._table_name = table_name
        self._client = client or new_client()
        self._sleep = sleep
        # The table's Region is the home Region: where items without one (older, or not given one) belong.
        self.home_region: str = home_region or self._client.meta.region_name

    # -- writes --------------------------------------------------------------------------------------------------

    def put_verdicts(self, items: Sequence[StoredItem]) -> int:
        """Store every item (latest state: a put overwrites); raises ``ResultsNotStoredError`` naming what is left."""
        items = [item if item.region else item.model_copy(update={"region": self.home_region}) for item in items]
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
        self,
        registry_id: str,
        repository_name: str,
        *,
        region: str,
        limit: int = DEFAULT_PAGE_SIZE,
        next_token: str | None = None,
        images_only: bool = False,
    ) -> ResultsPage:
        """One repository's verdicts (layers, then images; or only images) in ``region``."""
        partition = partition_key(registry_id, region, repository_name)
        return self._query(
            repository_query(self._table_name, partition, limit=limit, next_token=next_token, images_only=images_only)
        )

    def query_layer_digest(
        self,
        layer_digest: str,
        *,
        registry_id: str | None = None,
        region: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        next_token: str | None = None,
    ) -> ResultsPage:
        """Every repository's verdict for one digest; with ``registry_id`` (and ``region``), only those repositories."""
        return self._query(
            layer_digest_query(
                self._table_name,
                layer_digest,
                registry_id=registry_id,
                region=region,
                limit=limit,
                next_token=next_token,
            )
        )

    def query_image_status(
        self,
        status: ImageStatus,
        *,
        registry_id: str | None = None,
        region: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        next_token: str | None = None,
    ) -> ResultsPage:
        """Image verdicts in one status (not COMPLETE) across repositories, accounts and Regions; a Region without a
        registry narrows with a filter, so such a page may hold fewer than ``limit`` items and still go on."""
        return self._query(
            image_status_query(
                self._table_name,
                status.value,
                registry_id=registry_id,
                region=region,
                limit=limit,
                next_token=next_token,
            )
        )

    def query_lifecycle_risk(
        self,
        *,
        registry_id: str | None = None,
        region: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        next_token: str | None = None,
    ) -> ResultsPage:
        """Image verdicts of in-use images a lifecycle policy would expire or archive, across repositories, accounts
        and Regions; narrowed as ``query_image_status``."""
        return self._query(
            lifecycle_risk_query(
                self._table_name, registry_id=registry_id, region=region, limit=limit, next_token=next_token
            )
        )

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
            items=[from_dynamodb(dict(item), home_region=self.home_region) for item in response.get("Items", [])],
            next_token=encode_page_token(dict(last_key)) if last_key else None,
        )


def _request_key(request: Any) -> dict[str, Any]:
    item = request["PutRequest"]["Item"]
    return {name: _deserializer.deserialize(item[name]) for name in (PARTITION_KEY, SORT_KEY)}


def _error_text(error: ClientError | BotoCoreError) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Unknown')}: {details.get('Message', '')}"
    return f"{type(error).__name__}: {error}"
