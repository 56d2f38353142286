"""DynamoDB results table: the only module that knows its keys, its index and how BatchWriteItem really behaves."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import TypeAdapter

from layercheck.errors import InvalidPageTokenError, ResultsNotStoredError
from layercheck.integrations.aws import Backoff, batch_write, client_config
from layercheck.integrations.page_tokens import encode_page_token
from layercheck.integrations.results_queries import (
    image_status_query,
    layer_digest_query,
    lifecycle_risk_query,
    repository_query,
)
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

# Items left in UnprocessedItems are re-sent this often (aws.Backoff), 25 a call on this many threads.
UNPROCESSED_RETRIES = 8
WRITE_WORKERS = 8
DEFAULT_PAGE_SIZE = 100

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
_stored_item = TypeAdapter[StoredItem](StoredItem)


def new_client() -> DynamoDBClient:
    """The container's one DynamoDB client (every store of the results table shares it)."""
    client: DynamoDBClient = boto3.client("dynamodb", config=client_config(WRITE_WORKERS))
    return client


def item_key(item: StoredItem) -> dict[str, str]:
    """Every item written carries its Region (every verdict is built with its registry's); one without is refused."""
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
        self._backoff = Backoff(UNPROCESSED_RETRIES, sleep=sleep)
        # The table's Region is the home Region: where items without one (older, or not given one) belong.
        self.home_region: str = home_region or self._client.meta.region_name

    # -- writes --------------------------------------------------------------------------------------------------

    def put_verdicts(self, items: Sequence[StoredItem]) -> int:
        """Store every item (latest state: a put overwrites); raises ``ResultsNotStoredError`` naming what is left."""
        unique = list({tuple(item_key(item).values()): item for item in items}.values())
        outcome = batch_write(
            self._client,
            self._table_name,
            unique,
            to_dynamodb,
            backoff=self._backoff,
            workers=WRITE_WORKERS,
        )
        if outcome.unwritten:
            raise ResultsNotStoredError([stored_key(item) for item in outcome.unwritten], "; ".join(outcome.reasons))
        return len(unique)

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


def stored_key(attributes: dict[str, Any]) -> dict[str, Any]:
    """An item's key (partition and sort) from its DynamoDB attribute values."""
    return {name: _deserializer.deserialize(attributes[name]) for name in (PARTITION_KEY, SORT_KEY)}
