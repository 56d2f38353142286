"""The idempotency table: Powertools Idempotency's DynamoDB persistence layer with its default attribute names.

Plain constants and no imports, shared by the Lambda, the CDK stack and local tooling (like ``results_table_schema``).
https://docs.aws.amazon.com/powertools/python/latest/utilities/idempotency/#required-resources
"""

PARTITION_KEY = "id"  # "<function name>.<module>.<function>#<md5 of the idempotency key>"
TTL_ATTRIBUTE = "expiration"  # epoch seconds; DynamoDB's TTL removes records some time after


def create_table_arguments(table_name: str) -> dict[str, object]:
    """``CreateTable`` arguments for an on-demand table equal to the one the stack deploys (for moto and tests)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": PARTITION_KEY, "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
    }
