"""The function's two DynamoDB tables: the results table, and the idempotency table of its event doors.

Their keys come from ``layercheck.results_table_schema`` and ``layercheck.idempotency_table_schema``, the modules the
Lambda itself reads and writes with, so the deployed tables, the local moto tables and the code cannot drift apart.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from layercheck import idempotency_table_schema, results_table_schema


def _table(
    scope: Construct,
    *,
    partition_key: str,
    sort_key: str | None = None,
    ttl_attribute: str,
    retain_data: bool,
) -> dynamodb.Table:
    """An on-demand table with string keys, PITR, KMS encryption and TTL, retained and deletion-protected when
    ``retain_data`` (both tables are built this one way)."""
    return dynamodb.Table(
        scope,
        "Table",
        partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING) if sort_key else None,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        # The AWS managed key (aws/dynamodb) rather than an AWS owned one: its use shows up in CloudTrail.
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        time_to_live_attribute=ttl_attribute,
        deletion_protection=retain_data,
        removal_policy=RemovalPolicy.RETAIN if retain_data else RemovalPolicy.DESTROY,
    )


class ResultsTable(Construct):
    """On-demand DynamoDB table with point-in-time recovery, KMS encryption, TTL, and its indexes
    (``results_table_schema.GLOBAL_INDEXES``)."""

    def __init__(self, scope: Construct, construct_id: str, *, retain_data: bool) -> None:
        super().__init__(scope, construct_id)
        schema = results_table_schema
        self.table = _table(
            self,
            partition_key=schema.PARTITION_KEY,
            sort_key=schema.SORT_KEY,
            ttl_attribute=schema.TTL_ATTRIBUTE,
            retain_data=retain_data,
        )
        # byLayerDigest; byImageStatus (sparse: image verdicts not COMPLETE, GET /images?status=); byPendingChange
        # (sparse: items whose change events still wait for EventBridge, the scheduled sweep); byLifecycleRisk
        # (sparse: in-use images a lifecycle policy would expire or archive, GET /images?risk=lifecycle).
        for name, partition, sort in schema.GLOBAL_INDEXES:
            self.table.add_global_secondary_index(
                index_name=name,
                partition_key=dynamodb.Attribute(name=partition, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=sort, type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.ALL,
            )


class IdempotencyTable(Construct):
    """Powertools Idempotency's persistence table: one record per handled event or work item, removed by TTL once
    no redelivery can arrive (``IDEMPOTENCY_EXPIRES_SECONDS``). Same protection as the results table: losing it
    while events are in flight would let a redelivered event run twice."""

    def __init__(self, scope: Construct, construct_id: str, *, retain_data: bool) -> None:
        super().__init__(scope, construct_id)
        self.table = _table(
            self,
            partition_key=idempotency_table_schema.PARTITION_KEY,
            ttl_attribute=idempotency_table_schema.TTL_ATTRIBUTE,
            retain_data=retain_data,
        )
