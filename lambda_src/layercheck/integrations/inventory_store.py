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

import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from layercheck.errors import ResultsNotStoredError
from layercheck.integrations.aws import Backoff, batch_write, client_config, query_pages
from layercheck.integrations.aws_errors import code_and_message
from layercheck.integrations.results_table import stored_key
from layercheck.inventory_schema import KEY_SEPARATOR, inventory_partition, inventory_sort_key
from layercheck.logic.image_uris import ImageUri
from layercheck.logic.in_use import FoundReference, InUseSourceError, InventoryPort, RegistryRef, SourceReach
from layercheck.models.in_use import InventoryEntry
from layercheck.results_table_schema import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# What BatchWriteItem leaves in UnprocessedItems is re-sent this often (aws.Backoff).
UNPROCESSED_RETRIES = 8
SOURCE_INVENTORY = "inventory"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def new_client() -> DynamoDBClient:
    client: DynamoDBClient = boto3.client("dynamodb", config=client_config())
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
        self._backoff = Backoff(UNPROCESSED_RETRIES, sleep=sleep)

    def put_entries(self, entries: Sequence[InventoryEntry]) -> int:
        """Store every entry (a repeat overwrites and refreshes the TTL); raises ``ResultsNotStoredError`` naming the
        keys DynamoDB did not take after every retry."""
        unique = list({tuple(entry_key(entry).values()): entry for entry in entries}.values())
        outcome = batch_write(self._client, self._table_name, unique, to_dynamodb, backoff=self._backoff)
        if outcome.unwritten:
            raise ResultsNotStoredError([stored_key(item) for item in outcome.unwritten], "; ".join(outcome.reasons))
        return len(unique)

    def source_keys(self, source: str, registry_id: str, region: str) -> set[str]:
        """The sort keys of the unexpired entries ``source`` holds for the registry (its own bound is small)."""
        arguments = self._unexpired(registry_id, region)
        arguments["KeyConditionExpression"] += " AND begins_with(#sk, :source)"
        arguments["ExpressionAttributeNames"]["#sk"] = SORT_KEY
        arguments["ExpressionAttributeValues"][":source"] = {"S": f"{source}{KEY_SEPARATOR}"}
        arguments["ProjectionExpression"] = "#sk"
        return {
            item[SORT_KEY]["S"] for page in query_pages(self._client, **arguments) for item in page.get("Items", [])
        }

    def count_entries(self, registry_id: str, region: str) -> int:
        """How many unexpired entries the registry holds, from every source (Select COUNT: keys are not returned)."""
        arguments = self._unexpired(registry_id, region)
        arguments["Select"] = "COUNT"
        return sum(int(page.get("Count", 0)) for page in query_pages(self._client, **arguments))

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

    def list_entries(self, registry_id: str, region: str) -> Iterator[InventoryEntry]:
        """Unexpired entries for images of one registry, every page; raises ``InUseSourceError``."""
        arguments: dict[str, Any] = {
            "TableName": self._table_name,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
            "ExpressionAttributeValues": {":pk": {"S": inventory_partition(registry_id, region)}},
        }
        now = self._clock()
        try:
            for page in query_pages(self._client, **arguments):
                entries = [from_dynamodb(dict(item)) for item in page.get("Items", [])]
                yield from (entry for entry in entries if entry.expiresAt > now)
        except (ClientError, BotoCoreError) as error:
            code, message = code_and_message(error)
            raise InUseSourceError(SOURCE_INVENTORY, code, message) from error


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
