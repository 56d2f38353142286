"""The results table: the latest verdict per (registry, repository, digest or image), queryable by layer digest.

Its keys come from ``layercheck.results_table_schema``, the module the Lambda itself reads and writes with, so the
deployed table, the local moto table and the code cannot drift apart.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from layercheck import results_table_schema as schema


class ResultsTable(Construct):
    """On-demand DynamoDB table with point-in-time recovery, KMS encryption, TTL and the by-layer-digest index."""

    def __init__(self, scope: Construct, construct_id: str, *, retain_data: bool) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=schema.PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=schema.SORT_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            # The AWS managed key (aws/dynamodb) rather than an AWS owned one: its use shows up in CloudTrail.
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=schema.TTL_ATTRIBUTE,
            deletion_protection=retain_data,
            removal_policy=RemovalPolicy.RETAIN if retain_data else RemovalPolicy.DESTROY,
        )
        self.table.add_global_secondary_index(
            index_name=schema.LAYER_DIGEST_INDEX,
            partition_key=dynamodb.Attribute(
                name=schema.LAYER_DIGEST_INDEX_PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(name=schema.LAYER_DIGEST_INDEX_SORT_KEY, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )
