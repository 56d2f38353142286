"""The results table's key schema: the single definition shared by the Lambda, the CDK stack and local tooling.

Plain constants and no imports, so that the stack (``infra/``) and the local moto set-up (``local/``) can build the
table from exactly what the Lambda reads and writes: the three cannot drift apart.

Keys (none of registry id, Region and repository name can hold ``#``):
- ``pk`` ``<registryId>#<region>#<repositoryName>``: the same repository name in two accounts or Regions never
  collides. Items written before verdicts carried a Region have the two-part ``<registryId>#<repositoryName>`` and no
  ``region`` attribute; ``python -m local.migrate_keys --table NAME`` moves them to the new key (home Region).
- ``sk`` ``LAYER#<layerDigest>`` or ``IMAGE#<imageDigest>``.
- ``byLayerDigest`` (sparse: only layer items carry ``layerDigest``): every repository's verdict of one digest.
- ``byPendingChange`` (sparse: ``pendingChange`` is written only on image items holding change events not yet taken
  by EventBridge, the outbox ``pendingChanges``): the sweep's reading of what is still to announce.
- ``byImageStatus`` (sparse: ``imageStatus`` is written only on image items whose status is not COMPLETE, so an image
  leaves the index when it recovers): GET /images?status=. Its sort key ``imageKey``
  ``<registryId>#<region>#<repositoryName>#<imageDigest>`` narrows to a registry, or a registry and Region, with
  ``begins_with``.
- ``byLifecycleRisk`` (sparse: ``lifecycleRiskKind`` is written only on image items that carry a ``lifecycleRisk``, so
  an image leaves the index when its risk clears): GET /images?risk=lifecycle, sorted by ``imageKey`` as above.
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
PENDING_CHANGE_INDEX = "byPendingChange"
PENDING_CHANGE_INDEX_PARTITION_KEY = "pendingChange"  # only items with changes waiting carry it: the index is sparse
PENDING_CHANGE_INDEX_SORT_KEY = IMAGE_STATUS_INDEX_SORT_KEY  # "imageKey"
PENDING_CHANGE_VALUE = "PENDING"
LIFECYCLE_RISK_INDEX = "byLifecycleRisk"
LIFECYCLE_RISK_INDEX_PARTITION_KEY = "lifecycleRiskKind"  # only items carrying a lifecycleRisk: the index is sparse
LIFECYCLE_RISK_INDEX_SORT_KEY = IMAGE_STATUS_INDEX_SORT_KEY  # "imageKey"
LIFECYCLE_RISK_VALUE = "lifecycle"  # the value of GET /images?risk= it answers
PENDING_CHANGES_ATTRIBUTE = "pendingChanges"  # {changeId: {detailType, detail, time}}: the outbox
VERSION_ATTRIBUTE = "itemVersion"  # bumped by every image write: the condition of the next one
TTL_ATTRIBUTE = "expiresAt"
# Every global secondary index: (name, partition key, sort key), all projecting every attribute, all sparse but the
# first. CloudFormation creates one index per stack update: docs/DEPLOY.md says how a stack deployed with fewer of
# them is brought up to date.
GLOBAL_INDEXES = (
    (LAYER_DIGEST_INDEX, LAYER_DIGEST_INDEX_PARTITION_KEY, LAYER_DIGEST_INDEX_SORT_KEY),
    (IMAGE_STATUS_INDEX, IMAGE_STATUS_INDEX_PARTITION_KEY, IMAGE_STATUS_INDEX_SORT_KEY),
    (PENDING_CHANGE_INDEX, PENDING_CHANGE_INDEX_PARTITION_KEY, PENDING_CHANGE_INDEX_SORT_KEY),
    (LIFECYCLE_RISK_INDEX, LIFECYCLE_RISK_INDEX_PARTITION_KEY, LIFECYCLE_RISK_INDEX_SORT_KEY),
)
# Attributes of an image item that are the table's business, never part of a verdict.
INTERNAL_ATTRIBUTES = (
    VERSION_ATTRIBUTE,
    PENDING_CHANGES_ATTRIBUTE,
    PENDING_CHANGE_INDEX_PARTITION_KEY,
    LIFECYCLE_RISK_INDEX_PARTITION_KEY,
)


def partition_key(registry_id: str, region: str, repository_name: str) -> str:
    return KEY_SEPARATOR.join((registry_id, region, repository_name))


def image_sort_key(reference: str) -> str:
    """An image verdict's sort key: its digest, or ``tag:<tag>`` for a tag in use that names nothing."""
    return f"{IMAGE_SORT_PREFIX}{reference}"


def image_key(registry_id: str, region: str, repository_name: str, image_digest: str) -> str:
    return KEY_SEPARATOR.join((registry_id, region, repository_name, image_digest))


def registry_key_prefix(registry_id: str, region: str | None = None) -> str:
    """The ``begins_with`` operand that narrows an index sorted by ``pk`` or ``imageKey`` to a registry, or to a
    registry in one Region."""
    parts = (registry_id,) if region is None else (registry_id, region)
    return KEY_SEPARATOR.join(parts) + KEY_SEPARATOR


def create_table_arguments(table_name: str) -> dict[str, object]:
    """``CreateTable`` arguments for an on-demand table equal to the one the stack deploys (for moto and tests)."""
    key_names = dict.fromkeys([PARTITION_KEY, SORT_KEY, *(name for _, pk, sk in GLOBAL_INDEXES for name in (pk, sk))])
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in key_names],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": name,
                "KeySchema": [
                    {"AttributeName": partition, "KeyType": "HASH"},
                    {"AttributeName": sort, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for name, partition, sort in GLOBAL_INDEXES
        ],
    }
