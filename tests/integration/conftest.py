"""Integration tier: the real handler, logic and integrations against moto in-process (``mock_aws``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from layercheck.inventory_schema import IN_USE_ITEM_TYPE, MANIFEST_ITEM_TYPE
from layercheck.results_table_schema import TTL_ATTRIBUTE, create_table_arguments
from local.moto_ecr import teach_image_replication_status
from local.scenario import REPOSITORY_LAYERS, seed_registry
from local.seed import blob, create_repository, upload_layer
from tests.support import TABLE_NAME


@pytest.fixture
def aws(aws_environment: dict[str, str]) -> Iterator[None]:
    # moto lacks DescribeImageReplicationStatus: ECR's answer once it has replicated what its rules cover.
    teach_image_replication_status()
    with mock_aws():
        yield


@pytest.fixture
def ecr(aws: None) -> Any:
    return boto3.client("ecr", region_name="us-east-1")


@pytest.fixture
def dynamodb(aws: None) -> Any:
    return boto3.client("dynamodb", region_name="us-east-1")


@pytest.fixture
def results_table(dynamodb: Any) -> str:
    """The results table exactly as the stack defines it (same shared key-schema module)."""
    dynamodb.create_table(**create_table_arguments(TABLE_NAME))
    dynamodb.update_time_to_live(
        TableName=TABLE_NAME, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
    )
    return TABLE_NAME


@pytest.fixture
def seeded_registry(ecr: Any) -> Any:
    """The demo's registry: three repositories whose layers went through the real upload flow."""
    seed_registry(ecr)
    return ecr


@pytest.fixture
def small_registry(ecr: Any) -> Any:
    """The demo's three repositories holding only the layer ``base-0``: cheap to seed for every test."""
    for repository in REPOSITORY_LAYERS:
        create_repository(ecr, repository)
        upload_layer(ecr, repository, blob("base-0"))
    return ecr


def stored_items(dynamodb: Any, table_name: str = TABLE_NAME) -> list[dict[str, Any]]:
    """Every verdict and inventory entry the table holds (not the manifest walks kept to spare BatchGetImage, nor the
    in-use references an audit hands its repositories)."""
    from layercheck.integrations.results_table import from_dynamodb

    paginator = dynamodb.get_paginator("scan")
    return [
        from_dynamodb(item).model_dump(mode="json")
        for page in paginator.paginate(TableName=table_name)
        for item in page["Items"]
        if item["itemType"]["S"] not in (MANIFEST_ITEM_TYPE, IN_USE_ITEM_TYPE)
    ]
