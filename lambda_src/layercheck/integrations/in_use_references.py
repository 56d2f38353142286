"""What a registry's audit found in use, handed to each repository's audit through the results table (keys in
``inventory_schema.py``): written once per audit and repository, in chunks, read back whole by the repository's work
item. Implements ``logic.audit.InUseReferencesPort``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import TypeAdapter

from layercheck.errors import ResultsNotStoredError
from layercheck.integrations.aws_errors import error_text
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
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table_name = table_name
        self._client = client

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
        for number, chunk in enumerate(chunks):
            item: Any = {
                PARTITION_KEY: {"S": partition},
                SORT_KEY: {"S": in_use_sort_key(audit_id, number)},
                "itemType": {"S": IN_USE_ITEM_TYPE},
                IN_USE_REFERENCES_ATTRIBUTE: {"S": chunk},
                TTL_ATTRIBUTE: {"N": str(expires_at)},
            }
            try:
                self._client.put_item(TableName=self._table_name, Item=item)
            except (ClientError, BotoCoreError) as error:
                raise ResultsNotStoredError([{"pk": partition, "chunk": number}], error_text(error)) from error
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
