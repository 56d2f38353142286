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
    removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
) -> sqs.Queue:
    """An SQS queue encrypted with SQS-managed keys (usable by EventBridge and Lambda destinations without a key
    policy) whose resource policy denies every request not sent over TLS. Work queues are destroyed with the stack:
    their messages are work in flight, not records."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=retention_period,
        visibility_timeout=visibility_timeout,
        dead_letter_queue=dead_letter_queue,
        removal_policy=removal_policy,
    )


def dead_letter_queue(scope: Construct, construct_id: str, *, fed_by: str, retain: bool) -> sqs.Queue:
    """A dead-letter queue: the end of an asynchronous path, watched by an alarm (see alarms.py). Its messages wait
    for a person, so with ``retain`` (context retainData) it outlives the stack, as the tables do.

    ``fed_by`` says who writes to it. Only a queue's redrive policy or a function's ``DeadLetterConfig`` make cdk-nag
    see a queue as a DLQ, so a queue fed by an EventBridge target or a Lambda on-failure destination is acknowledged
    here, once, rather than at each use.
    """
    queue = secure_queue(
        scope,
        construct_id,
        retention_period=DEAD_LETTER_RETENTION,
        removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
    )
    findings = {"Serverless-SQSRedrivePolicy": "A dead-letter queue itself; a DLQ behind a DLQ only moves the problem."}
    if fed_by != "redrive":
        findings["AwsSolutions-SQS3"] = f"The dead-letter queue of {fed_by}, which cdk-nag does not recognise."
    acknowledge(queue, findings)
    return queue
