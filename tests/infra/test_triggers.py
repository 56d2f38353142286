"""The event doors and every asynchronous path's dead-letter queue."""

from __future__ import annotations

from typing import Any

from infra.config import AUDIT_MAX_RECEIVE_COUNT
from tests.infra.conftest import Synthesized


def _rules(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {logical_id: rule["Properties"] for logical_id, rule in synth.resources("AWS::Events::Rule").items()}


def _push_rule(synth: Synthesized) -> dict[str, Any]:
    (rule,) = [rule for rule in _rules(synth).values() if "EventPattern" in rule]
    return rule


def _schedule_rule(synth: Synthesized) -> dict[str, Any]:
    (rule,) = [rule for rule in _rules(synth).values() if "ScheduleExpression" in rule]
    return rule


def _queue_id(synth: Synthesized, prefix: str) -> str:
    (logical_id,) = [k for k in synth.resources("AWS::SQS::Queue") if k.startswith(prefix)]
    return logical_id


def test_push_rule_matches_successful_ecr_pushes_deletions_and_storage_class_changes(synthesized: Synthesized) -> None:
    rule = _push_rule(synthesized)
    assert rule["State"] == "ENABLED"
    assert rule["EventPattern"] == {
        "source": ["aws.ecr"],
        "detail-type": ["ECR Image Action"],
        "detail": {"action-type": ["PUSH", "DELETE", "UPDATE_STORAGE_CLASS"], "result": ["SUCCESS"]},
    }


def test_push_rule_is_limited_to_the_repository_scope(custom: Synthesized) -> None:
    assert _push_rule(custom)["EventPattern"]["detail"]["repository-name"] == [
        {"prefix": "team-a/"},
        {"prefix": "team-b/"},
    ]


def test_schedule_rule_uses_the_configured_expression_and_sends_the_plain_scheduled_event(
    synthesized: Synthesized, custom: Synthesized
) -> None:
    """The plain "Scheduled Event" carries an `id` that EventBridge keeps when it retries the delivery, and the audit
    is keyed by it: a constant input would carry no id, and a retried delivery would start a second audit."""
    assert _schedule_rule(synthesized)["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert _schedule_rule(custom)["ScheduleExpression"] == "rate(12 hours)"
    for synth in (synthesized, custom):
        (target,) = _schedule_rule(synth)["Targets"]
        assert "Input" not in target and "InputTransformer" not in target and "InputPath" not in target


def test_every_rule_target_retries_then_dead_letters(each: Synthesized) -> None:
    dlq = _queue_id(each, "TriggersEventDeliveryDeadLetters")
    function_id, _ = each.function("Worker")
    for rule in _rules(each).values():
        (target,) = rule["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq, "Arn"]}}
        assert target["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 24 * 3600}


def test_audit_queue_is_consumed_by_the_worker_with_partial_batch_responses(synthesized: Synthesized) -> None:
    mapping = synthesized.only("AWS::Lambda::EventSourceMapping")["Properties"]
    assert mapping["FunctionName"] == {"Ref": synthesized.function("Worker")[0]}
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [_queue_id(synthesized, "AuditQueue"), "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == 1
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}


def test_audit_queue_redrives_to_its_dlq_after_five_receives_and_outlasts_the_worker(synthesized: Synthesized) -> None:
    queue = synthesized.resources("AWS::SQS::Queue")[_queue_id(synthesized, "AuditQueue")]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [_queue_id(synthesized, "AuditDeadLetters"), "Arn"]},
        "maxReceiveCount": AUDIT_MAX_RECEIVE_COUNT,
    }
    # A few throttled or timed-out attempts must not send good work to the dead-letter queue.
    assert AUDIT_MAX_RECEIVE_COUNT >= 5
    timeout = synthesized.function("Worker")[1]["Timeout"]
    assert queue["VisibilityTimeout"] >= 6 * timeout


def test_every_asynchronous_path_ends_in_a_dead_letter_queue(each: Synthesized) -> None:
    """EventBridge targets (DeadLetterConfig), Lambda's asynchronous invocations (OnFailure) and the SQS mapping
    (the source queue's RedrivePolicy): each names a queue of this stack."""
    queues = each.resources("AWS::SQS::Queue")
    for rule in _rules(each).values():
        for target in rule["Targets"]:
            assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0] in queues
    (invoke_config,) = each.resources("AWS::Lambda::EventInvokeConfig").values()
    assert invoke_config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0] in queues
    for mapping in each.resources("AWS::Lambda::EventSourceMapping").values():
        source = queues[mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]]
        assert source["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0] in queues


def test_every_queue_is_encrypted_and_refuses_plain_http(each: Synthesized) -> None:
    policies = [p["Properties"] for p in each.resources("AWS::SQS::QueuePolicy").values()]
    for logical_id, queue in each.resources("AWS::SQS::Queue").items():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True, logical_id
        guarded = [
            statement
            for policy in policies
            if {"Ref": logical_id} in policy["Queues"]
            for statement in policy["PolicyDocument"]["Statement"]
            if statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        assert guarded, f"{logical_id} accepts requests without TLS"


DEAD_LETTER_QUEUES = ("AuditDeadLetters", "FunctionsFailedInvocations", "TriggersEventDeliveryDeadLetters")


def test_dead_letter_queues_keep_messages_for_fourteen_days(synthesized: Synthesized) -> None:
    for prefix in DEAD_LETTER_QUEUES:
        queue = synthesized.resources("AWS::SQS::Queue")[_queue_id(synthesized, prefix)]
        assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_dead_letter_queues_outlive_the_stack_when_data_is_retained(
    synthesized: Synthesized, custom: Synthesized
) -> None:
    """Their messages wait for a person; the audit queue's are work in flight, destroyed with the stack."""
    for prefix in DEAD_LETTER_QUEUES:
        kept = synthesized.resources("AWS::SQS::Queue")[_queue_id(synthesized, prefix)]
        assert kept["DeletionPolicy"] == kept["UpdateReplacePolicy"] == "Retain", prefix
        assert custom.resources("AWS::SQS::Queue")[_queue_id(custom, prefix)]["DeletionPolicy"] == "Delete"
    assert synthesized.resources("AWS::SQS::Queue")[_queue_id(synthesized, "AuditQueue")]["DeletionPolicy"] == "Delete"
