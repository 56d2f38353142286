"""The checkov findings this project acknowledges, each with its reason: the one reviewed place (as infra/nag.py is for
cdk-nag). ``infra/checkov_scan.py`` fails on a finding no entry covers, and on an entry that covers no finding.

An entry names the check, the resource type and the logical id's prefix (the construct path, without CDK's hash);
``applies`` limits it to configurations that produce the finding (a context switch), so that it is neither applied nor
reported stale elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from infra.config import LayerCheckConfig


def _always(config: LayerCheckConfig) -> bool:
    return True


@dataclass(frozen=True)
class CheckovSkip:
    check_id: str
    resource_type: str
    logical_id_prefix: str
    reason: str
    applies: Callable[[LayerCheckConfig], bool] = _always

    def covers(self, check_id: str, resource: str) -> bool:
        """``resource`` as checkov names it: ``<type>.<logical id>``."""
        resource_type, _, logical_id = resource.partition(".")
        return (
            check_id == self.check_id
            and resource_type == self.resource_type
            and logical_id.startswith(self.logical_id_prefix)
        )


QUEUE_SSE = (
    "SSE-SQS (SqsManagedSseEnabled) encrypts it at rest; CKV_AWS_27 only sees KmsMasterKeyId, and a KMS key would need "
    "key policies for EventBridge and Lambda's destinations to deliver to it"
)
LOGS_KMS = (
    "CloudWatch Logs encrypts every log group at rest; these logs hold image digests, repository names and request "
    "ids, no secrets or customer data, so a customer managed key would add a key, its policy and its cost for nothing"
)
ENV_KMS = (
    "Lambda encrypts environment variables at rest with its service key; these hold resource names and settings only "
    "(no secret: reader roles are assumed, not keyed)"
)
TABLE_KMS = (
    "DynamoDB encrypts at rest with an AWS owned key; the tables hold verdicts about images (digests, statuses), "
    "re-derivable from ECR, so a customer managed key would add per-request KMS cost and a key to keep alive"
)
NO_VPC = (
    "The functions call only AWS APIs (ECR, DynamoDB, SQS, EventBridge, STS ...) over TLS with SigV4: a VPC would add "
    "NAT or a dozen interface endpoints and cold-start latency, and protect nothing they reach"
)

CHECKOV_SKIPS: tuple[CheckovSkip, ...] = (
    CheckovSkip("CKV_AWS_27", "AWS::SQS::Queue", "AuditQueue", QUEUE_SSE),
    CheckovSkip("CKV_AWS_27", "AWS::SQS::Queue", "AuditDeadLetters", QUEUE_SSE),
    CheckovSkip("CKV_AWS_27", "AWS::SQS::Queue", "FunctionsFailedInvocations", QUEUE_SSE),
    CheckovSkip("CKV_AWS_27", "AWS::SQS::Queue", "TriggersEventDeliveryDeadLetters", QUEUE_SSE),
    CheckovSkip("CKV_AWS_158", "AWS::Logs::LogGroup", "FunctionsApiLogs", LOGS_KMS),
    CheckovSkip("CKV_AWS_158", "AWS::Logs::LogGroup", "FunctionsWorkerLogs", LOGS_KMS),
    CheckovSkip("CKV_AWS_158", "AWS::Logs::LogGroup", "HttpAccessLogs", LOGS_KMS),
    CheckovSkip("CKV_AWS_173", "AWS::Lambda::Function", "FunctionsApiFunction", ENV_KMS),
    CheckovSkip("CKV_AWS_173", "AWS::Lambda::Function", "FunctionsWorkerFunction", ENV_KMS),
    CheckovSkip("CKV_AWS_119", "AWS::DynamoDB::Table", "ResultsTable", TABLE_KMS),
    CheckovSkip("CKV_AWS_119", "AWS::DynamoDB::Table", "IdempotencyTable", TABLE_KMS),
    CheckovSkip("CKV_AWS_117", "AWS::Lambda::Function", "FunctionsApiFunction", NO_VPC),
    CheckovSkip("CKV_AWS_117", "AWS::Lambda::Function", "FunctionsWorkerFunction", NO_VPC),
    CheckovSkip(
        "CKV_AWS_116",
        "AWS::Lambda::Function",
        "FunctionsApiFunction",
        "Invoked synchronously by API Gateway only: the caller gets every error, no asynchronous event to dead-letter",
    ),
    CheckovSkip(
        "CKV_AWS_116",
        "AWS::Lambda::Function",
        "FunctionsWorkerFunction",
        "Asynchronous failures go to the on-failure destination (FailedInvocations), which keeps the error and the "
        "event; a DeadLetterConfig would keep the event only",
    ),
    CheckovSkip(
        "CKV_AWS_120",
        "AWS::ApiGateway::Stage",
        "HttpApiDeploymentStage",
        "Every route answers live verdicts (and most are POSTs that check and store): a cache would serve stale ones",
    ),
    CheckovSkip(
        "CKV_AWS_73",
        "AWS::ApiGateway::Stage",
        "HttpApiDeploymentStage",
        "X-Ray tracing switched off in context (tracing=false), for the stage as for the functions",
        applies=lambda config: not config.tracing,
    ),
)
