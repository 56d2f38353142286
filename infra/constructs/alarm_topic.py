"""The SNS topic every alarm notifies: KMS-encrypted with its own rotating key, TLS-only, and open to CloudWatch.

A topic policy replaces SNS's default one, so once ``enforce_ssl`` writes a policy, nothing lets CloudWatch publish
unless the policy says so; and a service publishing to an encrypted topic must be allowed to use its key. Both grants
are scoped to this account's alarms (``aws:SourceAccount``, ``aws:SourceArn``) against the confused deputy.
https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
"""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.config import LayerCheckConfig
from infra.nag import acknowledge

CLOUDWATCH = "cloudwatch.amazonaws.com"
# What SNS asks KMS for when CloudWatch publishes to an encrypted topic, exactly as the SNS guide lists it.
CLOUDWATCH_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey*"]

# Explicit key administration and use for the account (no "kms:*"): IAM policies in the account decide who may do
# each of these. https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
KEY_ACCOUNT_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateKeyDescription",
]


def this_accounts_alarms() -> dict[str, dict[str, str]]:
    """The condition that names the alarms of this account and Region as the only sources CloudWatch acts for."""
    return {
        "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
        "ArnLike": {"aws:SourceArn": f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:*"},
    }


def alarm_topic(scope: Construct, *, config: LayerCheckConfig) -> sns.Topic:
    """The topic and its key, built in ``scope`` (with an e-mail subscription when ``alarmEmail`` is set)."""
    key = kms.Key(
        scope,
        "TopicKey",
        description="layercheck alarm topic",
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        policy=iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    principals=[iam.AccountRootPrincipal()], actions=KEY_ACCOUNT_ACTIONS, resources=["*"]
                ),
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal(CLOUDWATCH)],
                    actions=CLOUDWATCH_KEY_ACTIONS,
                    resources=["*"],
                    conditions=this_accounts_alarms(),
                ),
            ]
        ),
    )
    topic = sns.Topic(scope, "AlarmTopic", display_name="layercheck alarms", master_key=key, enforce_ssl=True)
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(CLOUDWATCH)],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions=this_accounts_alarms(),
        )
    )
    if config.alarm_email:
        subscription = topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        acknowledge(
            subscription,
            {
                "Serverless-SNSRedrivePolicy": "An e-mail copy of an alarm; the alarm itself stays in CloudWatch "
                "and on the dashboard, so a queue of undelivered e-mails would add nothing."
            },
        )
    return topic
