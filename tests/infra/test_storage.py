"""The results table is the one the Lambda's schema module describes, with PITR, encryption, TTL and retention."""

from __future__ import annotations

from layercheck import results_table_schema as schema
from tests.infra.conftest import Synthesized


def test_table_keys_and_index_equal_the_shared_schema_module(each: Synthesized) -> None:
    table = each.only("AWS::DynamoDB::Table")["Properties"]
    expected = schema.create_table_arguments("unused")

    def by_name(items: list[dict[str, str]]) -> list[dict[str, str]]:
        return sorted(items, key=lambda item: item["AttributeName"])

    assert table["KeySchema"] == expected["KeySchema"]
    assert by_name(table["AttributeDefinitions"]) == by_name(expected["AttributeDefinitions"])  # type: ignore[arg-type]
    assert table["GlobalSecondaryIndexes"] == expected["GlobalSecondaryIndexes"]
    assert table["BillingMode"] == expected["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TimeToLiveSpecification"] == {"AttributeName": schema.TTL_ATTRIBUTE, "Enabled": True}


def test_table_is_encrypted_with_kms_and_recoverable(each: Synthesized) -> None:
    table = each.only("AWS::DynamoDB::Table")["Properties"]
    assert table["SSESpecification"] == {"SSEEnabled": True}  # KMS with the AWS managed key aws/dynamodb
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_table_is_protected_by_default(synthesized: Synthesized) -> None:
    table = synthesized.only("AWS::DynamoDB::Table")
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def test_retain_data_false_lets_a_test_stack_be_torn_down(custom: Synthesized) -> None:
    table = custom.only("AWS::DynamoDB::Table")
    assert table["Properties"]["DeletionProtectionEnabled"] is False
    assert table["DeletionPolicy"] == "Delete"
