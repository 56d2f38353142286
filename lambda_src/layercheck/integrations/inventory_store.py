"""The inventory's entries in the results table (keys in ``inventory_schema.py``): writes for POST /inventory, reads
for the audit (``logic.in_use.InventoryPort``), and the in-use source over them (``InventoryInUse``, made for each
audited registry by ``in_use_source``).

DynamoDB's TTL deletes an expired item some time after ``expiresAt`` (typically within days, not at the second), so
reads skip expired entries themselves: a runtime that stopped reporting stops counting after ``INVENTORY_TTL_HOURS``.

``dependencies.inventory_store()`` builds ``InventoryStore(settings.results_table_name,
dynamodb_client())`` once per container; IAM: dynamodb:BatchWriteItem and dynamodb:Query on the results table, which
the function already holds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from layercheck.errors import ResultsNotStoredError
from layercheck.integrations.aws_errors import code_and_message
from layercheck.inventory_schema import KEY_SEPARATOR, inventory_partition, inventory_sort_key
from layercheck.logic.image_uris import ImageUri
from layercheck.logic.in_use import FoundReference, InUseSourceError, InventoryPort, RegistryRef, SourceReach
from layercheck.models.in_use import InventoryEntry
from layercheck.results_table_schema import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# BatchWriteItem takes at most 25 put requests; what it leaves in UnprocessedItems is re-sent with jittered backoff.
MAX_ITEMS_PER_BATCH_WRITE = 25
UNPROCESSED_RETRIES = 8
BACKOFF_BASE_SECONDS = 0.05
BACKOFF_CAP_SECONDS = 2.0

RETRY_ATTEMPTS = 6
SOURCE_INVENTORY = "inventory"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def new_client() -> DynamoDBClient:
    client: DynamoDBClient = boto3.client(
        "dynamodb", config=Config(retries={"mode": "standard", "total_max_attempts": RETRY_ATTEMPTS})
    )
    return client


def entry_key(entry: InventoryEntry) -> dict[str, str]:
    return {
        PARTITION_KEY: inventory_partition(entry.registryId, entry.region),
        SORT_KEY: inventory_sort_key(entry.source, entry.repositoryName, entry.imageTag, entry.imageDigest),
    }


def to_dynamodb(entry: InventoryEntry) -> dict[str, Any]:
    attributes: dict[str, Any] = {**entry.model_dump(mode="json", exclude_none=True), **entry_key(entry)}
    return {name: _serializer.serialize(value) for name, value in attributes.items()}


def from_dynamodb(attributes: dict[str, Any]) -> InventoryEntry:
    plain = {name: _deserializer.deserialize(value) for name, value in attributes.items()}
    for key in (PARTITION_KEY, SORT_KEY):
        plain.pop(key, None)
    plain["expiresAt"] = int(plain["expiresAt"])
    return InventoryEntry.model_validate(plain)


class InventoryStore:
    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table_name = table_name
        self._client = client or new_client()
        self._clock = clock
        self._sleep = sleep

    def put_entries(self, entries: Sequence[InventoryEntry]) -> int:
        """Store every entry (a repeat overwrites and refreshes the TTL); raises ``ResultsNotStoredError`` naming the
        keys DynamoDB did not take after every retry."""
        unique = list({tuple(entry_key(entry).values()): entry for entry in entries}.values())
        unstored: list[dict[str, Any]] = []
        reasons: set[str] = set()
        for start in range(0, len(unique), MAX_ITEMS_PER_BATCH_WRITE):
            left, reason = self._write(unique[start : start + MAX_ITEMS_PER_BATCH_WRITE])
            unstored.extend(left)
            if left:
                reasons.add(reason)
        if unstored:
            raise ResultsNotStoredError(unstored, "; ".join(sorted(reasons)))
        return len(unique)

    def _write(self, batch: list[InventoryEntry]) -> tuple[list[dict[str, Any]], str]:
        requests: list[Any] = [{"PutRequest": {"Item": to_dynamodb(entry)}} for entry in batch]
        for attempt in range(UNPROCESSED_RETRIES + 1):
            try:
                response = self._client.batch_write_item(RequestItems={self._table_name: requests})
            except (ClientError, BotoCoreError) as error:
                return [_key(request) for request in requests], code_and_message(error)[0]
            requests = list(response.get("UnprocessedItems", {}).get(self._table_name, []))
            if not requests:
                return [], ""
            if attempt < UNPROCESSED_RETRIES:
                self._sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)))
        return [_key(request) for request in requests], f"still unprocessed after {UNPROCESSED_RETRIES} retries"

    def source_keys(self, source: str, registry_id: str, region: str) -> set[str]:
        """The sort keys of the unexpired entries ``source`` holds for the registry (its own bound is small)."""
        arguments = self._unexpired(registry_id, region)
        arguments["KeyConditionExpression"] += " AND begins_with(#sk, :source)"
        arguments["ExpressionAttributeNames"]["#sk"] = SORT_KEY
        arguments["ExpressionAttributeValues"][":source"] = {"S": f"{source}{KEY_SEPARATOR}"}
        arguments["ProjectionExpression"] = "#sk"
        return {item[SORT_KEY]["S"] for item in self._pages(arguments)}

    def count_entries(self, registry_id: str, region: str) -> int:
        """How many unexpired entries the registry holds, from every source (Select COUNT: keys are not returned)."""
        arguments = self._unexpired(registry_id, region)
        arguments["Select"] = "COUNT"
        total = 0
        while True:
            page = self._client.query(**arguments)
            total += int(page.get("Count", 0))
            if "LastEvaluatedKey" not in page:
                return total
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _unexpired(self, registry_id: str, region: str) -> dict[str, Any]:
        return {
            "TableName": self._table_name,
            "KeyConditionExpression": "#pk = :pk",
            "FilterExpression": "#expires > :now",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#expires": TTL_ATTRIBUTE},
            "ExpressionAttributeValues": {
                ":pk": {"S": inventory_partition(registry_id, region)},
                ":now": {"N": str(int(self._clock()))},
            },
        }

    def _pages(self, arguments: dict[str, Any]) -> Iterator[dict[str, Any]]:
        while True:
            page = self._client.query(**arguments)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def list_entries(self, registry_id: str, region: str) -> Iterator[InventoryEntry]:
        """Unexpired entries for images of one registry, every page; raises ``InUseSourceError``."""
        arguments: dict[str, Any] = {
            "TableName": self._table_name,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
            "ExpressionAttributeValues": {":pk": {"S": inventory_partition(registry_id, region)}},
        }
        now = self._clock()
        while True:
            try:
                page = self._client.query(**arguments)
            except (ClientError, BotoCoreError) as error:
                code, message = code_and_message(error)
                raise InUseSourceError(SOURCE_INVENTORY, code, message) from error
            for item in page.get("Items", []):
                entry = from_dynamodb(dict(item))
                if entry.expiresAt > now:
                    yield entry
            if "LastEvaluatedKey" not in page:
                return
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _key(request: Any) -> dict[str, Any]:
    item = request["PutRequest"]["Item"]
    return {name: _deserializer.deserialize(item[name]) for name in (PARTITION_KEY, SORT_KEY)}


class InventoryInUse:
    """``logic.in_use.InUseSource`` over the audited registry's unexpired entries, each naming who reported it (or,
    reported by another registry's audit, the workload there)."""

    name = SOURCE_INVENTORY

    def __init__(self, entries: InventoryPort) -> None:
        self._entries = entries

    def references(self, registry: RegistryRef) -> Iterator[FoundReference]:
        for entry in self._entries.list_entries(registry.registry_id, registry.region):
            uri = ImageUri(entry.registryId, entry.region, entry.repositoryName, entry.imageTag, entry.imageDigest)
            yield FoundReference(uri, entry.user())


def in_use_source(reach: SourceReach) -> InventoryInUse | None:
    """The inventory as an in-use source of one registry; None where no inventory is kept (the command line)."""
    return None if reach.inventory is None else InventoryInUse(reach.inventory)
