"""The results table's manifest walks (``logic.manifest_memory.ManifestMemoryPort``): what each image digest's manifests
reach, kept so that BatchGetImage reads a manifest once (keys: inventory_schema.py).

Reads are BatchGetItem (100 keys a call) and writes BatchWriteItem (25 items a call); both are best effort: an item
not read is read from ECR instead, an item not written is written after the next read. Neither ever fails a check.
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from layercheck.inventory_schema import (
    MANIFEST_BLOBS_ATTRIBUTE,
    MANIFEST_ITEM_TYPE,
    MANIFEST_SKIPPED_ATTRIBUTE,
    MANIFEST_TTL_DAYS,
    manifest_partition,
)
from layercheck.logic.chunks import chunked
from layercheck.logic.manifest_memory import KnownWalk
from layercheck.models.stored import utc_now
from layercheck.results_table_schema import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_KEYS_PER_BATCH_GET = 100
MAX_ITEMS_PER_BATCH_WRITE = 25
# Rounds of re-sending what DynamoDB left unprocessed; beyond, the rest is simply not used (or not kept) this time.
UNPROCESSED_ROUNDS = 3


class ManifestStore:
    def __init__(self, table_name: str, client: DynamoDBClient, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._table_name = table_name
        self._client = client
        self._clock = clock

    def known_walks(
        self, registry_id: str, region: str, repository_name: str, image_digests: Sequence[str]
    ) -> Mapping[str, KnownWalk]:
        partition = manifest_partition(registry_id, region, repository_name)
        found: dict[str, KnownWalk] = {}
        for chunk in chunked(list(dict.fromkeys(image_digests)), MAX_KEYS_PER_BATCH_GET):
            request: Any = {
                self._table_name: {"Keys": [{PARTITION_KEY: {"S": partition}, SORT_KEY: {"S": d}} for d in chunk]}
            }
            for _ in range(UNPROCESSED_ROUNDS):
                try:
                    response = self._client.batch_get_item(RequestItems=request)
                except (ClientError, BotoCoreError):
                    break  # read from ECR instead
                for item in response.get("Responses", {}).get(self._table_name, []):
                    found[item[SORT_KEY]["S"]] = _walk_of(item)
                request = dict(response.get("UnprocessedKeys") or {})
                if not request:
                    break
        return found

    def remember(self, registry_id: str, region: str, repository_name: str, walks: Mapping[str, KnownWalk]) -> None:
        partition = manifest_partition(registry_id, region, repository_name)
        expires_at = int((self._clock() + timedelta(days=MANIFEST_TTL_DAYS)).timestamp())
        items = [_item(partition, digest, walk, expires_at) for digest, walk in walks.items()]
        for chunk in chunked(items, MAX_ITEMS_PER_BATCH_WRITE):
            requests: Any = [{"PutRequest": {"Item": item}} for item in chunk]
            for _ in range(UNPROCESSED_ROUNDS):
                try:
                    response = self._client.batch_write_item(RequestItems={self._table_name: requests})
                except (ClientError, BotoCoreError):
                    break  # kept on a later check
                requests = list(response.get("UnprocessedItems", {}).get(self._table_name, []))
                if not requests:
                    break


def _strings(values: Sequence[str]) -> dict[str, Any]:
    return {"L": [{"S": value} for value in values]}


def _item(partition: str, digest: str, walk: KnownWalk, expires_at: int) -> dict[str, Any]:
    return {
        PARTITION_KEY: {"S": partition},
        SORT_KEY: {"S": digest},
        "itemType": {"S": MANIFEST_ITEM_TYPE},
        MANIFEST_BLOBS_ATTRIBUTE: _strings(walk.blobs),
        MANIFEST_SKIPPED_ATTRIBUTE: _strings(walk.skipped),
        TTL_ATTRIBUTE: {"N": str(expires_at)},
    }


def _walk_of(item: Mapping[str, Any]) -> KnownWalk:
    def strings(name: str) -> tuple[str, ...]:
        return tuple(value["S"] for value in item.get(name, {}).get("L", []))

    return KnownWalk(strings(MANIFEST_BLOBS_ATTRIBUTE), strings(MANIFEST_SKIPPED_ATTRIBUTE))
