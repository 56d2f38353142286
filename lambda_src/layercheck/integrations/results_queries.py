"""The results table's Query requests, one builder per read (``ResultsTable`` sends them): which key condition, which
index, and how a ``nextToken`` continues exactly the query that issued it (page_tokens.py).

Every read leaves out items whose TTL (``expiresAt``, epoch seconds) has passed: DynamoDB deletes them only some time
later (typically within days), and until then a Query still returns them. The filter applies after ``Limit``, so a page
may hold fewer than ``limit`` items (even none) and still carry a ``nextToken``: callers follow it to the end.
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html
"""

from __future__ import annotations

import time
from typing import Any

from layercheck.errors import InvalidPageTokenError
from layercheck.integrations.page_tokens import (
    OTHER_QUERY,
    decode_image_status_token,
    decode_lifecycle_risk_token,
    decode_page_token,
    decode_repository_images_token,
)
from layercheck.results_table_schema import (
    IMAGE_SORT_PREFIX,
    IMAGE_STATUS_INDEX,
    IMAGE_STATUS_INDEX_PARTITION_KEY,
    IMAGE_STATUS_INDEX_SORT_KEY,
    LAYER_DIGEST_INDEX,
    LAYER_DIGEST_INDEX_PARTITION_KEY,
    LAYER_DIGEST_INDEX_SORT_KEY,
    LIFECYCLE_RISK_INDEX,
    LIFECYCLE_RISK_INDEX_PARTITION_KEY,
    LIFECYCLE_RISK_INDEX_SORT_KEY,
    LIFECYCLE_RISK_VALUE,
    PARTITION_KEY,
    SORT_KEY,
    TTL_ATTRIBUTE,
    registry_key_prefix,
)

REGION_ATTRIBUTE = "region"


def unexpired(arguments: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """``arguments`` with a filter that keeps items without a TTL or whose TTL is still ahead of ``now``."""
    condition = "(attribute_not_exists(#expires) OR #expires > :now)"
    existing = arguments.get("FilterExpression")
    arguments["FilterExpression"] = f"({existing}) AND {condition}" if existing else condition
    arguments["ExpressionAttributeNames"]["#expires"] = TTL_ATTRIBUTE
    arguments["ExpressionAttributeValues"][":now"] = {"N": str(int(time.time() if now is None else now))}
    return arguments


def repository_query(
    table_name: str, partition: str, *, limit: int, next_token: str | None, images_only: bool = False
) -> dict[str, Any]:
    """One repository's items (``partition`` is its pk), or only its image verdicts."""
    arguments: dict[str, Any] = {
        "TableName": table_name,
        "KeyConditionExpression": "#pk = :pk",
        "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
        "ExpressionAttributeValues": {":pk": {"S": partition}},
        "Limit": limit,
    }
    if images_only:
        arguments["KeyConditionExpression"] += " AND begins_with(#sk, :images)"
        arguments["ExpressionAttributeNames"]["#sk"] = SORT_KEY
        arguments["ExpressionAttributeValues"][":images"] = {"S": IMAGE_SORT_PREFIX}
        if next_token:
            arguments["ExclusiveStartKey"] = decode_repository_images_token(next_token, partition)
    elif next_token:
        arguments["ExclusiveStartKey"] = decode_page_token(next_token, {PARTITION_KEY: partition})
    return unexpired(arguments)


def layer_digest_query(
    table_name: str,
    layer_digest: str,
    *,
    registry_id: str | None,
    region: str | None,
    limit: int,
    next_token: str | None,
) -> dict[str, Any]:
    """Every repository's verdict for one digest (``byLayerDigest``); narrowed to a registry (and Region) by a key
    condition, so pages stay full, or to a Region alone by a filter (a page may then hold fewer than ``limit``)."""
    arguments = _index_query(table_name, LAYER_DIGEST_INDEX, LAYER_DIGEST_INDEX_PARTITION_KEY, layer_digest, limit)
    prefix = _narrow(arguments, LAYER_DIGEST_INDEX_SORT_KEY, registry_id, region)
    if next_token:
        start_key = decode_page_token(
            next_token,
            {LAYER_DIGEST_INDEX_PARTITION_KEY: layer_digest},
            key_names=frozenset({PARTITION_KEY, SORT_KEY, LAYER_DIGEST_INDEX_PARTITION_KEY}),
        )
        if prefix is not None and not start_key[LAYER_DIGEST_INDEX_SORT_KEY]["S"].startswith(prefix):
            raise InvalidPageTokenError(OTHER_QUERY)
        arguments["ExclusiveStartKey"] = start_key
    return unexpired(arguments)


def image_status_query(
    table_name: str,
    status: str,
    *,
    registry_id: str | None,
    region: str | None,
    limit: int,
    next_token: str | None,
) -> dict[str, Any]:
    """Image verdicts in one status across repositories, accounts and Regions (the sparse ``byImageStatus``)."""
    arguments = _index_query(table_name, IMAGE_STATUS_INDEX, IMAGE_STATUS_INDEX_PARTITION_KEY, status, limit)
    prefix = _narrow(arguments, IMAGE_STATUS_INDEX_SORT_KEY, registry_id, region)
    if next_token:
        arguments["ExclusiveStartKey"] = decode_image_status_token(next_token, status, prefix)
    return unexpired(arguments)


def lifecycle_risk_query(
    table_name: str, *, registry_id: str | None, region: str | None, limit: int, next_token: str | None
) -> dict[str, Any]:
    """Image verdicts carrying a lifecycle risk across repositories, accounts and Regions (the sparse
    ``byLifecycleRisk``: only in-use images a lifecycle policy would expire or archive are in it)."""
    arguments = _index_query(
        table_name, LIFECYCLE_RISK_INDEX, LIFECYCLE_RISK_INDEX_PARTITION_KEY, LIFECYCLE_RISK_VALUE, limit
    )
    prefix = _narrow(arguments, LIFECYCLE_RISK_INDEX_SORT_KEY, registry_id, region)
    if next_token:
        arguments["ExclusiveStartKey"] = decode_lifecycle_risk_token(next_token, LIFECYCLE_RISK_VALUE, prefix)
    return unexpired(arguments)


def _index_query(table_name: str, index: str, partition_name: str, partition: str, limit: int) -> dict[str, Any]:
    return {
        "TableName": table_name,
        "IndexName": index,
        "KeyConditionExpression": "#partition = :partition",
        "ExpressionAttributeNames": {"#partition": partition_name},
        "ExpressionAttributeValues": {":partition": {"S": partition}},
        "Limit": limit,
    }


def _narrow(arguments: dict[str, Any], sort_key: str, registry_id: str | None, region: str | None) -> str | None:
    """Every index sort key starts "<registryId>#<region>#": a registry (and Region) is a key condition; a Region
    alone is a filter. Returns the key prefix a page token must keep to."""
    if registry_id is not None:
        prefix = registry_key_prefix(registry_id, region)
        arguments["KeyConditionExpression"] += " AND begins_with(#sort, :prefix)"
        arguments["ExpressionAttributeNames"]["#sort"] = sort_key
        arguments["ExpressionAttributeValues"][":prefix"] = {"S": prefix}
        return prefix
    if region is not None:
        arguments["FilterExpression"] = "#region = :region"
        arguments["ExpressionAttributeNames"]["#region"] = REGION_ATTRIBUTE
        arguments["ExpressionAttributeValues"][":region"] = {"S": region}
    return None
