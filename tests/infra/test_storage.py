"""The results and idempotency tables are the ones the Lambda's schema modules describe, with PITR, encryption, TTL
and retention."""

from __future__ import annotations

from typing import Any

import pytest

from layercheck import idempotency_table_schema, results_table_schema
from tests.infra.conftest import Synthesized

# Construct path prefix of each table's logical id -> the schema module the Lambda reads and writes it with.
TABLES = {"ResultsTable": results_table_schema, "IdempotencyTable": idempotency_table_schema}


def _table(synth: Synthesized, prefix: str) -> dict[str, Any]:
    _, table = synth.named("AWS::DynamoDB::Table", prefix)
    return table


def _by_name(items: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(items, key=lambda item: item["AttributeName"])


def test_the_stack_has_exactly_the_two_tables(each: Synthesized) -> None:
    ids = {prefix: each.named("AWS::DynamoDB::Table", prefix)[0] for prefix in TABLES}  # one of each
    assert set(ids.values()) == set(each.resources("AWS::DynamoDB::Table"))


def test_results_table_keys_and_index_equal_the_shared_schema_module(each: Synthesized) -> None:
    table = _table(each, "ResultsTable")["Properties"]
    expected = results_table_schema.create_table_arguments("unused")

    assert table["KeySchema"] == expected["KeySchema"]
    assert _by_name(table["AttributeDefinitions"]) == _by_name(expected["AttributeDefinitions"])  # type: ignore[arg-type]
    assert table["GlobalSecondaryIndexes"] == expected["GlobalSecondaryIndexes"]
    assert table["BillingMode"] == expected["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TimeToLiveSpecification"] == {"AttributeName": results_table_schema.TTL_ATTRIBUTE, "Enabled": True}


def test_idempotency_table_is_the_powertools_persistence_table_of_the_schema_module(each: Synthesized) -> None:
    table = _table(each, "IdempotencyTable")["Properties"]
    expected = idempotency_table_schema.create_table_arguments("unused")

    assert table["KeySchema"] == expected["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == expected["AttributeDefinitions"]
    assert table["BillingMode"] == expected["BillingMode"] == "PAY_PER_REQUEST"
    # Powertools writes the record's expiry (epoch seconds) to this attribute; DynamoDB's TTL removes it later.
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert idempotency_table_schema.TTL_ATTRIBUTE == "expiration"
    assert "GlobalSecondaryIndexes" not in table


@pytest.mark.parametrize("prefix", TABLES)
def test_tables_are_encrypted_with_kms_and_recoverable(each: Synthesized, prefix: str) -> None:
    table = _table(each, prefix)["Properties"]
    assert table["SSESpecification"] == {"SSEEnabled": True}  # KMS with the AWS managed key aws/dynamodb
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


@pytest.mark.parametrize("prefix", TABLES)
def test_tables_are_protected_by_default(synthesized: Synthesized, prefix: str) -> None:
    table = _table(synthesized, prefix)
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize("prefix", TABLES)
def test_retain_data_false_lets_a_test_stack_be_torn_down(custom: Synthesized, prefix: str) -> None:
    table = _table(custom, prefix)
    assert table["Properties"]["DeletionProtectionEnabled"] is False
    assert table["DeletionPolicy"] == "Delete"


def test_stack_outputs_both_table_names(synthesized: Synthesized) -> None:
    outputs = synthesized.template_json["Outputs"]
    for output, prefix in (("ResultsTableName", "ResultsTable"), ("IdempotencyTableName", "IdempotencyTable")):
        table_id, _ = synthesized.named("AWS::DynamoDB::Table", prefix)
        assert outputs[output]["Value"] == {"Ref": table_id}


def test_results_table_has_the_sparse_lifecycle_risk_index_that_lists_images_at_risk(each: Synthesized) -> None:
    table = _table(each, "ResultsTable")["Properties"]
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    # Only items carrying a lifecycleRisk write lifecycleRiskKind: GET /images?risk=lifecycle reads this index alone.
    assert indexes["byLifecycleRisk"]["KeySchema"] == [
        {"AttributeName": "lifecycleRiskKind", "KeyType": "HASH"},
        {"AttributeName": "imageKey", "KeyType": "RANGE"},
    ]
    assert indexes["byLifecycleRisk"]["Projection"] == {"ProjectionType": "ALL"}
