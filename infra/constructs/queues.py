"""Queues built one way: SSE-SQS encryption and a policy that refuses anything but TLS, on every queue."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import acknowledge

# The longest SQS keeps a message: a dead-letter queue gives operators that long to look and redrive.
DEAD_LETTER_RETENTION = Duration.days(14)


def secure_queue(
    scope: Construct,
    construct_id: str,
    *,
    retention_period: Duration | None = None,
    visibility_timeout: Duration | None = None,
    dead_letter_queue: sqs.DeadLetterQueue | None = None,
) -> sqs.Queue:
    """An SQS queue encrypted with SQS-managed keys (usable by EventBridge and Lambda destinations without a key
    policy) whose resource policy denies every request not sent over TLS."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=retention_period,
        visibility_timeout=visibility_timeout,
        dead_letter_queue=dead_letter_queue,
        # Messages are work in flight, not records: nothing in a queue is worth keeping after the stack is gone.
        removal_policy=RemovalPolicy.DESTROY,
    )


def dead_letter_queue(scope: Construct, construct_id: str, *, fed_by: str) -> sqs.Queue:
    """A dead-letter queue: the end of an asynchronous path, watched by an alarm (see observability.py).

    ``fed_by`` says who writes to it. Only a queue's redrive policy or a function's ``DeadLetterConfig`` make cdk-nag
    see a queue as a DLQ, so a queue fed by an EventBridge target or a Lambda on-failure destination is acknowledged
    here, once, rather than at each use.
    """
    queue = secure_queue(scope, construct_id, retention_period=DEAD_LETTER_RETENTION)
    findings = {"Serverless-SQSRedrivePolicy": "A dead-letter queue itself; a DLQ behind a DLQ only moves the problem."}
    if fed_by != "redrive":
        findings["AwsSolutions-SQS3"] = f"The dead-letter queue of {fed_by}, which cdk-nag does not recognise."
    acknowledge(queue, findings)
    return queue
