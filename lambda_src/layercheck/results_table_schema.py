"""The results table's key schema: the single definition shared by the Lambda, the CDK stack and local tooling.

Plain constants and no imports, so that the stack (``infra/``) and the local moto set-up (``local/``) can build the
table from exactly what the Lambda reads and writes: the three cannot drift apart.
"""

PARTITION_KEY = "pk"  # "<registryId>#<repositoryName>"
SORT_KEY = "sk"  # "LAYER#<layerDigest>" or "IMAGE#<imageDigest>"
LAYER_DIGEST_INDEX = "byLayerDigest"
LAYER_DIGEST_INDEX_PARTITION_KEY = "layerDigest"  # only layer items carry it: the index is sparse
LAYER_DIGEST_INDEX_SORT_KEY = "pk"
TTL_ATTRIBUTE = "expiresAt"


def create_table_arguments(table_name: str) -> dict[str, object]:
    """``CreateTable`` arguments for an on-demand table equal to the one the stack deploys (for moto and tests)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "S"},
            {"AttributeName": LAYER_DIGEST_INDEX_PARTITION_KEY, "AttributeType": "S"},
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
            }
        ],
    }
