"""Stored verdicts as DynamoDB items: the hand-written fast path writes exactly what boto3's TypeSerializer writes."""

from __future__ import annotations

import decimal
from datetime import UTC, datetime
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from layercheck.integrations.results_table import to_dynamodb
from layercheck.models.stored import ImageStatus, Source, StoredImageVerdict, layer_verdicts
from layercheck.models.verdicts import LayerAnswer, LayerFailure, RepositoryResult
from layercheck.results_table_schema import LAYER_DIGEST_INDEX_PARTITION_KEY

DIGEST = "sha256:" + "a" * 64
CHECKED_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def assert_written_as_boto3_would(item: dict[str, Any]) -> None:
    """Each attribute is what TypeSerializer writes for its value (read back by TypeDeserializer)."""
    for name, value in item.items():
        assert TypeSerializer().serialize(TypeDeserializer().deserialize(value)) == value, name


def test_to_dynamodb_writes_layer_verdicts_as_boto3s_serializer_does() -> None:
    result = RepositoryResult(
        registryId="123456789012",
        repositoryName="team/app",
        layers=[LayerAnswer(layerDigest=DIGEST, layerAvailability="AVAILABLE", layerSize=2**40, mediaType="m")],
        failures=[
            LayerFailure(layerDigest="latest", failureCode="InvalidLayerDigest", failureReason=""),
            LayerFailure(layerDigest="sha256:" + "b" * 64, failureCode="AccessDeniedException", failureReason="ü"),
        ],
    )

    verdicts = layer_verdicts(
        [result], source=Source.API, checked_at=CHECKED_AT, ttl_days=30, region="eu-west-1", check_id="c"
    )

    assert [verdict.status for verdict in verdicts] == ["AVAILABLE", "INVALID", "ERROR"]
    for verdict in verdicts:
        item = to_dynamodb(verdict)
        assert_written_as_boto3_would(item)
        assert item[LAYER_DIGEST_INDEX_PARTITION_KEY] == {"S": verdict.layerDigest}
    assert to_dynamodb(verdicts[0])["layerSize"] == {"N": str(2**40)}
    assert to_dynamodb(verdicts[1])["failureReason"] == {"S": ""}


def test_to_dynamodb_leaves_lists_and_numbers_beyond_38_digits_to_boto3s_serializer() -> None:
    verdict = StoredImageVerdict(
        registryId="123456789012",
        region="eu-west-1",
        repositoryName="team/app",
        checkedAt="2026-01-02T03:04:05Z",
        source=Source.SCHEDULE,
        expiresAt=10**37,
        imageDigest=DIGEST,
        imageTags=["v1", "latest"],
        status=ImageStatus.BROKEN,
        missingLayers=[DIGEST],
    )

    item = to_dynamodb(verdict)

    assert_written_as_boto3_would(item)
    assert item["imageTags"] == {"L": [{"S": "v1"}, {"S": "latest"}]}
    assert item["expiresAt"] == {"N": str(10**37)}
    # A number DynamoDB cannot hold exactly is refused as boto3 refuses it, not written rounded.
    with pytest.raises(decimal.Rounded):
        to_dynamodb(verdict.model_copy(update={"expiresAt": 10**40}))
