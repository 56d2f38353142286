"""The results table's manifest walks (``logic.manifest_memory.ManifestMemoryPort``): what each image digest's manifests
reach, kept so that BatchGetImage reads a manifest once (keys: inventory_schema.py).

Reads are BatchGetItem (100 keys a call) and writes BatchWriteItem (25 items a call); both are best effort: an item
not read is read from ECR instead, an item not written is written after the next read. Neither ever fails a check.
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from layercheck.integrations.aws import Backoff, batch_get, batch_write
from layercheck.inventory_schema import (
    MANIFEST_BLOBS_ATTRIBUTE,
    MANIFEST_ITEM_TYPE,
    MANIFEST_SKIPPED_ATTRIBUTE,
    MANIFEST_TTL_DAYS,
    manifest_partition,
)
from layercheck.logic.manifest_memory import KnownWalk
from layercheck.models.stored import utc_now
from layercheck.results_table_schema import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Re-sends of what DynamoDB left unprocessed; beyond, the rest is simply not used (or not kept) this time.
UNPROCESSED_RETRIES = 2


class ManifestStore:
    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        *,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table_name = table_name
        self._client = client
        self._clock = clock
        self._backoff = Backoff(UNPROCESSED_RETRIES, sleep=sleep)

    def known_walks(
        self, registry_id: str, region: str, repository_name: str, image_digests: Sequence[str]
    ) -> Mapping[str, KnownWalk]:
        partition = manifest_partition(registry_id, region, repository_name)
        keys = [{PARTITION_KEY: {"S": partition}, SORT_KEY: {"S": d}} for d in dict.fromkeys(image_digests)]
        try:
            items, _ = batch_get(self._client, self._table_name, keys, backoff=self._backoff)
        except (ClientError, BotoCoreError):
            return {}  # read from ECR instead
        return {item[SORT_KEY]["S"]: _walk_of(item) for item in items}

    def remember(self, registry_id: str, region: str, repository_name: str, walks: Mapping[str, KnownWalk]) -> None:
        partition = manifest_partition(registry_id, region, repository_name)
        expires_at = int((self._clock() + timedelta(days=MANIFEST_TTL_DAYS)).timestamp())
        item = partial(_item, partition, expires_at=expires_at)
        # What is not written (the outcome) is written after the next read of that manifest from ECR.
        batch_write(self._client, self._table_name, list(walks.items()), item, backoff=self._backoff)


def _strings(values: Sequence[str]) -> dict[str, Any]:
    return {"L": [{"S": value} for value in values]}


def _item(partition: str, walk_of: tuple[str, KnownWalk], *, expires_at: int) -> dict[str, Any]:
    digest, walk = walk_of
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
