"""What a registry's audit found in use, handed to each repository's audit through the results table (keys in
``inventory_schema.py``): written once per audit and repository, in chunks, read back whole by the repository's work
item. Implements ``logic.audit.InUseReferencesPort``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from layercheck.errors import ResultsNotStoredError
from layercheck.integrations.aws import Backoff, batch_write
from layercheck.integrations.results_table import stored_key
from layercheck.inventory_schema import (
    IN_USE_CHUNK_BYTES,
    IN_USE_ITEM_TYPE,
    IN_USE_REFERENCES_ATTRIBUTE,
    IN_USE_TTL_HOURS,
    in_use_partition,
    in_use_sort_key,
)
from layercheck.models.in_use import InUseReference
from layercheck.results_table_schema import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_references = TypeAdapter(list[InUseReference])
# What BatchWriteItem leaves in UnprocessedItems is re-sent this often (aws.Backoff).
UNPROCESSED_RETRIES = 8


def chunks_of(references: Sequence[InUseReference], max_bytes: int = IN_USE_CHUNK_BYTES) -> list[str]:
    """The references as JSON lists of at most ``max_bytes`` each (one reference alone always fits: its strings are
    bounded)."""
    chunks: list[str] = []
    current: list[str] = []
    size = 2
    for reference in references:
        text = reference.model_dump_json()
        if current and size + len(text.encode()) + 1 > max_bytes:
            chunks.append("[" + ",".join(current) + "]")
            current, size = [], 2
        current.append(text)
        size += len(text.encode()) + 1
    if current:
        chunks.append("[" + ",".join(current) + "]")
    return chunks


class InUseReferenceStore:
    def __init__(self, table_name: str, client: DynamoDBClient, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._table_name = table_name
        self._client = client
        self._backoff = Backoff(UNPROCESSED_RETRIES, sleep=sleep)

    def put_references(
        self,
        audit_id: str,
        registry_id: str,
        region: str,
        repository_name: str,
        references: Sequence[InUseReference],
        *,
        now: datetime,
    ) -> int:
        """Store the repository's references for this audit; returns the number of chunks (0 for none)."""
        expires_at = int((now + timedelta(hours=IN_USE_TTL_HOURS)).timestamp())
        partition = in_use_partition(registry_id, region, repository_name)
        chunks = chunks_of(references)

        def chunk_item(numbered: tuple[int, str]) -> dict[str, Any]:
            return {
                PARTITION_KEY: {"S": partition},
                SORT_KEY: {"S": in_use_sort_key(audit_id, numbered[0])},
                "itemType": {"S": IN_USE_ITEM_TYPE},
                IN_USE_REFERENCES_ATTRIBUTE: {"S": numbered[1]},
                TTL_ATTRIBUTE: {"N": str(expires_at)},
            }

        outcome = batch_write(
            self._client, self._table_name, list(enumerate(chunks)), chunk_item, backoff=self._backoff
        )
        if outcome.unwritten:
            raise ResultsNotStoredError([stored_key(item) for item in outcome.unwritten], "; ".join(outcome.reasons))
        return len(chunks)

    def references(
        self, audit_id: str, registry_id: str, region: str, repository_name: str, chunks: int
    ) -> list[InUseReference]:
        """Every reference the registry's audit stored for the repository (``chunks`` of them, read consistently)."""
        found: list[InUseReference] = []
        for number in range(chunks):
            response = self._client.get_item(
                TableName=self._table_name,
                Key={
                    PARTITION_KEY: {"S": in_use_partition(registry_id, region, repository_name)},
                    SORT_KEY: {"S": in_use_sort_key(audit_id, number)},
                },
                ConsistentRead=True,
            )
            item = response.get("Item")
            if item is None:
                raise ResultsNotStoredError(
                    [{"repositoryName": repository_name, "chunk": number}], "in-use references not found (expired?)"
                )
            found.extend(_references.validate_python(json.loads(item[IN_USE_REFERENCES_ATTRIBUTE]["S"])))
        return found
