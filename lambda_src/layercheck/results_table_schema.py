"""The results table's key schema: the single definition shared by the Lambda, the CDK stack and local tooling.

Plain constants and no imports, so that the stack (``infra/``) and the local moto set-up (``local/``) can build the
table from exactly what the Lambda reads and writes: the three cannot drift apart.

Keys (none of registry id, Region and repository name can hold ``#``):
- ``pk`` ``<registryId>#<region>#<repositoryName>``: the same repository name in two accounts or Regions never
  collides. Items written before verdicts carried a Region have the two-part ``<registryId>#<repositoryName>`` and no
  ``region`` attribute; ``python -m local.migrate_keys --table NAME`` moves them to the new key (home Region).
- ``sk`` ``LAYER#<layerDigest>`` or ``IMAGE#<imageDigest>``.
- ``byLayerDigest`` (sparse: only layer items carry ``layerDigest``): every repository's verdict of one digest.
- ``byImageStatus`` (sparse: ``imageStatus`` is written only on image items whose status is not COMPLETE, so an image
  leaves the index when it recovers): GET /images?status=. Its sort key ``imageKey``
  ``<registryId>#<region>#<repositoryName>#<imageDigest>`` narrows to a registry, or a registry and Region, with
  ``begins_with``.
"""

PARTITION_KEY = "pk"  # "<registryId>#<region>#<repositoryName>"
SORT_KEY = "sk"  # "LAYER#<layerDigest>" or "IMAGE#<imageDigest>"
KEY_SEPARATOR = "#"
LAYER_SORT_PREFIX = "LAYER#"
IMAGE_SORT_PREFIX = "IMAGE#"
LAYER_DIGEST_INDEX = "byLayerDigest"
LAYER_DIGEST_INDEX_PARTITION_KEY = "layerDigest"  # only layer items carry it: the index is sparse
LAYER_DIGEST_INDEX_SORT_KEY = "pk"
IMAGE_STATUS_INDEX = "byImageStatus"
IMAGE_STATUS_INDEX_PARTITION_KEY = "imageStatus"  # only image items not COMPLETE carry it: the index is sparse
IMAGE_STATUS_INDEX_SORT_KEY = "imageKey"  # "<registryId>#<region>#<repositoryName>#<imageDigest>"
IMAGE_STATUS_NOT_INDEXED = "COMPLETE"
TTL_ATTRIBUTE = "expiresAt"


def partition_key(registry_id: str, region: str, repository_name: str) -> str:
    return KEY_SEPARATOR.join((registry_id, region, repository_name))


def legacy_partition_key(registry_id: str, repository_name: str) -> str:
    """The key of items written before verdicts carried a Region (read by the migration only)."""
    return KEY_SEPARATOR.join((registry_id, repository_name))


def image_key(registry_id: str, region: str, repository_name: str, image_digest: str) -> str:
    return KEY_SEPARATOR.join((registry_id, region, repository_name, image_digest))


def registry_key_prefix(registry_id: str, region: str | None = None) -> str:
    """The ``begins_with`` operand that narrows an index sorted by ``pk`` or ``imageKey`` to a registry, or to a
    registry in one Region."""
    parts = (registry_id,) if region is None else (registry_id, region)
    return KEY_SEPARATOR.join(parts) + KEY_SEPARATOR


def create_table_arguments(table_name: str) -> dict[str, object]:
    """``CreateTable`` arguments for an on-demand table equal to the one the stack deploys (for moto and tests)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "S"},
            {"AttributeName": LAYER_DIGEST_INDEX_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": IMAGE_STATUS_INDEX_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": IMAGE_STATUS_INDEX_SORT_KEY, "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": LAYER_DIGEST_INDEX,
                "KeySchema": [
                    {"AttributeName": LAYER_DIGEST_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": LAYER_DIGEST_INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": IMAGE_STATUS_INDEX,
                "KeySchema": [
                    {"AttributeName": IMAGE_STATUS_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": IMAGE_STATUS_INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
    }
