"""Page tokens of the results table's queries: DynamoDB's ``LastEvaluatedKey`` handed to the caller as ``nextToken``,
and taken back only if it could be a key of the very query it continues.

A token is base64url JSON of the key's string values. Decoding refuses (``InvalidPageTokenError``, a 400) anything
else: not base64 or JSON, other key names, values DynamoDB would refuse as keys (it would answer a 5xx-looking
ValidationException), or a key of another query (another repository, status, registry or Region).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from layercheck.errors import InvalidPageTokenError
from layercheck.results_table_schema import (
    IMAGE_SORT_PREFIX,
    IMAGE_STATUS_INDEX_PARTITION_KEY,
    IMAGE_STATUS_INDEX_SORT_KEY,
    LIFECYCLE_RISK_INDEX_PARTITION_KEY,
    LIFECYCLE_RISK_INDEX_SORT_KEY,
    PARTITION_KEY,
    SORT_KEY,
)

# DynamoDB's limit for a sort key value; our partition keys are far shorter than its 2,048 bytes.
MAX_KEY_BYTES = 1024
NOT_ISSUED = "nextToken is not a token this API issued"
OTHER_QUERY = "nextToken belongs to another query"
TABLE_KEYS = frozenset({PARTITION_KEY, SORT_KEY})
IMAGE_STATUS_INDEX_KEYS = frozenset(
    {PARTITION_KEY, SORT_KEY, IMAGE_STATUS_INDEX_PARTITION_KEY, IMAGE_STATUS_INDEX_SORT_KEY}
)
LIFECYCLE_RISK_INDEX_KEYS = frozenset(
    {PARTITION_KEY, SORT_KEY, LIFECYCLE_RISK_INDEX_PARTITION_KEY, LIFECYCLE_RISK_INDEX_SORT_KEY}
)

_deserializer = TypeDeserializer()


def encode_page_token(last_evaluated_key: Mapping[str, Any]) -> str:
    plain = {name: _deserializer.deserialize(value) for name, value in last_evaluated_key.items()}
    return base64.urlsafe_b64encode(json.dumps(plain, sort_keys=True).encode()).decode()


def decode_page_token(
    token: str, expected: dict[str, str], *, key_names: frozenset[str] = TABLE_KEYS
) -> dict[str, Any]:
    """Rebuild ``ExclusiveStartKey``; the token must hold exactly the keys of the query it continues, with the same
    partition, and values DynamoDB would accept (a key it refuses would otherwise surface as a 5xx)."""
    try:
        plain = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as error:
        raise InvalidPageTokenError(NOT_ISSUED) from error
    if not isinstance(plain, dict) or set(plain) != key_names or not all(map(_is_key_value, plain.values())):
        raise InvalidPageTokenError(NOT_ISSUED)
    if any(plain.get(name) != value for name, value in expected.items()):
        raise InvalidPageTokenError(OTHER_QUERY)
    return {name: {"S": value} for name, value in plain.items()}


def decode_repository_images_token(token: str, partition: str) -> dict[str, Any]:
    """GET /images?repositoryName=: a key of that repository's partition, on an image item."""
    start_key = decode_page_token(token, {PARTITION_KEY: partition})
    if not start_key[SORT_KEY]["S"].startswith(IMAGE_SORT_PREFIX):
        raise InvalidPageTokenError(OTHER_QUERY)
    return start_key


def decode_image_status_token(token: str, status: str, key_prefix: str | None = None) -> dict[str, Any]:
    """GET /images?status=: a key of the ``byImageStatus`` index in that status, inside the registry (and Region)
    the query narrows to, whose table key is the one its index key names."""
    start_key = decode_page_token(token, {IMAGE_STATUS_INDEX_PARTITION_KEY: status}, key_names=IMAGE_STATUS_INDEX_KEYS)
    return _image_index_start(start_key, IMAGE_STATUS_INDEX_SORT_KEY, key_prefix)


def decode_lifecycle_risk_token(token: str, risk: str, key_prefix: str | None = None) -> dict[str, Any]:
    """GET /images?risk=lifecycle: a key of the ``byLifecycleRisk`` index, with the same rules as the status index's."""
    start_key = decode_page_token(
        token, {LIFECYCLE_RISK_INDEX_PARTITION_KEY: risk}, key_names=LIFECYCLE_RISK_INDEX_KEYS
    )
    return _image_index_start(start_key, LIFECYCLE_RISK_INDEX_SORT_KEY, key_prefix)


def _image_index_start(start_key: dict[str, Any], index_sort_key: str, key_prefix: str | None) -> dict[str, Any]:
    """An image index's key inside the registry (and Region) the query narrows to, whose table key is the one its
    ``imageKey`` names."""
    index_key = start_key[index_sort_key]["S"]
    if key_prefix is not None and not index_key.startswith(key_prefix):
        raise InvalidPageTokenError(OTHER_QUERY)
    partition, _, digest = index_key.rpartition("#")
    if start_key[PARTITION_KEY]["S"] != partition or start_key[SORT_KEY]["S"] != IMAGE_SORT_PREFIX + digest:
        raise InvalidPageTokenError(NOT_ISSUED)
    return start_key


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
