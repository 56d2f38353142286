"""Alarms that need a person and reach one (alarm -> topic policy -> key policy), and a dashboard over the metrics
DESIGN.md names, read from the function's own metrics contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from infra.config import AUDIT_MAX_RECEIVE_COUNT
from layercheck.contracts import metrics as metric_contract
from tests.infra.conftest import REPO_ROOT, Synthesized
from tests.infra.policies import Request, allows, render

# DESIGN.md "Metrics", written out here on purpose: the dashboard reads layercheck.contracts.metrics, and this list
# checks that the contract still says what the design promises.
DESIGN_METRICS = (
    "LayersChecked",
    "LayersAvailable",
    "LayersUnavailable",
    "LayersMissing",
    "InvalidDigests",
    "CheckErrors",
    "ImagesChecked",
    "BrokenImages",
    "InUseImagesBroken",
    "ReplicasIncomplete",
)
DOORS = ("api", "schedule", "push")
# Every metric name contracts/metrics.py defines (the module the function emits with).
CONTRACT_METRICS = tuple(
    value
    for name, value in vars(metric_contract).items()
    if name.isupper()
    and isinstance(value, str)
    and name not in ("SERVICE_NAME", "NAMESPACE", "SOURCE_DIMENSION")
    and not name.startswith("SOURCE")
)
DEAD_LETTER_QUEUES = ("AuditDeadLetters", "FunctionsFailedInvocations", "TriggersEventDeliveryDeadLetters")
THIS_ACCOUNTS_ALARM = "arn:{AWS::Partition}:cloudwatch:{AWS::Region}:{AWS::AccountId}:alarm:"

# The function's own observability code, run with the function's environment: one EMF line, as CloudWatch gets it.
EMIT_ONE_METRIC = """
from layercheck.models.stored import Source
from layercheck.observability import metrics, record_sweep, use_source

use_source(Source.PUSH)
record_sweep(0, [])
metrics.flush_metrics()
"""


@pytest.fixture(scope="module")
def emitted_dimensions(synthesized: Synthesized) -> dict[str, str]:
    """The dimensions (name -> value) of a metric the worker emits for the push door, read from the EMF line its
    code prints under the environment the stack gives it (POWERTOOLS_SERVICE_NAME and the rest)."""
    variables = synthesized.function("Worker")[1]["Environment"]["Variables"]
    environment = {
        **os.environ,
        **{name: value for name, value in variables.items() if isinstance(value, str)},
        "POWERTOOLS_TRACE_DISABLED": "true",  # tracing is not what this looks at, and needs no X-Ray SDK here
        "PYTHONPATH": str(REPO_ROOT / "lambda_src"),
    }
    result = subprocess.run(
        [sys.executable, "-c", EMIT_ONE_METRIC],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (line,) = [json.loads(text) for text in result.stdout.splitlines() if text.startswith("{")]
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "LayerCheck"
    (dimension_set,) = directive["Dimensions"]
    dimensions = {name: line[name] for name in dimension_set}
    assert dimensions["Source"] == "push"
    return dimensions


def _expected_dimensions(emitted: dict[str, str], source: str) -> dict[str, str]:
    """What the function emits for ``source``: the push door's dimensions with that door's ``Source``."""
    return {**emitted, "Source": source}


def _dimensions(metric: dict[str, Any]) -> dict[str, str]:
    return {dimension["Name"]: dimension["Value"] for dimension in metric["Dimensions"]}


def _dashboard_body(synth: Synthesized) -> dict[str, Any]:
    """The dashboard's JSON. The body is a Fn::Join whose tokens (Region, resource names) all sit inside JSON
    strings, so a placeholder for each one leaves valid JSON."""
    parts = synth.only("AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"]["Fn::Join"][1]
    body: dict[str, Any] = json.loads("".join(part if isinstance(part, str) else "TOKEN" for part in parts))
    return body


def _dashboard_metrics(synth: Synthesized) -> list[list[Any]]:
    return [line for widget in _dashboard_body(synth)["widgets"] for line in widget["properties"].get("metrics", [])]


def _alarms(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {logical_id: alarm["Properties"] for logical_id, alarm in synth.resources("AWS::CloudWatch::Alarm").items()}


def _alarm(synth: Synthesized, prefix: str) -> dict[str, Any]:
    (alarm,) = [alarm for logical_id, alarm in _alarms(synth).items() if logical_id.startswith(prefix)]
    return alarm


def test_broken_images_alarm_fires_on_any_broken_image_from_any_door(
    synthesized: Synthesized, emitted_dimensions: dict[str, str]
) -> None:
    alarm = _alarm(synthesized, "ObservabilityBrokenImages")
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Threshold"] == 0
    metrics = alarm["Metrics"]
    (expression,) = [m for m in metrics if "Expression" in m]
    stats = [m["MetricStat"] for m in metrics if "MetricStat" in m]
    assert {stat["Metric"]["Namespace"] for stat in stats} == {"LayerCheck"}
    assert {stat["Metric"]["MetricName"] for stat in stats} == {"BrokenImages"}
    # Exactly the dimensions the function emits: CloudWatch matches a series only on its full set of dimensions.
    assert [_dimensions(stat["Metric"]) for stat in stats] == [
        _expected_dimensions(emitted_dimensions, source) for source in DOORS
    ]
    # Each door's series feeds the sum, a door with no data counting as zero.
    assert sorted(expression["Expression"].replace(" ", "").split("+")) == sorted(
        f"FILL({m['Id']},0)" for m in metrics if "MetricStat" in m
    )
    assert "OKActions" not in alarm  # a quiet period does not mean the image was fixed


def test_each_dead_letter_queue_has_a_not_empty_alarm(each: Synthesized) -> None:
    dlq_ids = {
        logical_id for logical_id in each.resources("AWS::SQS::Queue") if logical_id.startswith(DEAD_LETTER_QUEUES)
    }
    watched = {
        dimension["Value"]["Fn::GetAtt"][0]
        for alarm in _alarms(each).values()
        if alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible"
        for dimension in alarm["Dimensions"]
    }
    assert len(dlq_ids) == len(DEAD_LETTER_QUEUES)
    assert watched == dlq_ids


def test_each_functions_errors_and_api_5xx_are_alarmed(synthesized: Synthesized) -> None:
    for name in ("Api", "Worker"):
        function_id, _ = synthesized.function(name)
        errors = _alarm(synthesized, f"Observability{name}FunctionErrors")
        assert (errors["Namespace"], errors["MetricName"], errors["Threshold"]) == ("AWS/Lambda", "Errors", 1)
        assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
    server_errors = _alarm(synthesized, "ObservabilityApi5xx")
    assert (server_errors["Namespace"], server_errors["MetricName"]) == ("AWS/ApiGateway", "5XXError")


def test_audit_backlog_alarm_fires_once_work_is_older_than_its_retries_and_before_it_expires(
    each: Synthesized,
) -> None:
    # Given the audit queue as deployed
    queue_id, queue = each.named("AWS::SQS::Queue", "AuditQueue")
    visibility = queue["Properties"]["VisibilityTimeout"]
    retention = queue["Properties"]["MessageRetentionPeriod"]
    assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] == AUDIT_MAX_RECEIVE_COUNT

    # When its backlog alarm is read
    alarm = _alarm(each, "ObservabilityAuditBacklog")

    # Then it watches the age of the oldest message of that queue
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        "Maximum",
    )
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    # and fires only past the time every retry of a failing item could take (it is in the DLQ by then), with an hour
    # for a large audit to drain, and at least a day before an unconsumed item would expire unchecked
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Threshold"] == AUDIT_MAX_RECEIVE_COUNT * visibility + 3600 == each.config.audit_backlog_alarm_seconds
    assert alarm["Threshold"] + alarm["Period"] + 24 * 3600 <= retention


def _topic_statements(synth: Synthesized, topic_id: str) -> list[dict[str, Any]]:
    statements = [
        statement
        for policy in synth.resources("AWS::SNS::TopicPolicy").values()
        if {"Ref": topic_id} in policy["Properties"]["Topics"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    return statements


def _key_of(synth: Synthesized, topic_id: str) -> tuple[str, dict[str, Any]]:
    topic = synth.resources("AWS::SNS::Topic")[topic_id]["Properties"]
    key_id, attribute = topic["KmsMasterKeyId"]["Fn::GetAtt"]
    assert attribute == "Arn"
    return key_id, synth.resources("AWS::KMS::Key")[key_id]["Properties"]


def test_every_alarm_action_reaches_its_topic_through_the_topic_and_key_policies(each: Synthesized) -> None:
    """A topic policy replaces SNS's default one, and an encrypted topic needs its key: for each action of each alarm,
    CloudWatch, acting for that alarm of this account, may publish to the topic (over TLS) and use its key, and may
    not for another account's alarm (the confused deputy)."""
    alarms = _alarms(each)
    actions = [
        (alarm_id, render(action))
        for alarm_id, alarm in alarms.items()
        for kind in ("AlarmActions", "OKActions", "InsufficientDataActions")
        for action in alarm.get(kind, [])
    ]
    assert {alarm_id for alarm_id, _ in actions} == set(alarms), "every alarm notifies someone"
    for alarm_id, action in actions:
        topic_id = action.strip("{}")
        assert topic_id in each.resources("AWS::SNS::Topic"), f"{alarm_id} notifies {action}, not a topic of ours"
        key_id, key = _key_of(each, topic_id)
        own_alarm = {
            "aws:SourceAccount": "{AWS::AccountId}",
            "aws:SourceArn": THIS_ACCOUNTS_ALARM + alarm_id,
            "aws:SecureTransport": "true",
        }
        publish = Request("cloudwatch.amazonaws.com", "sns:Publish", action, own_alarm)
        topic_policy = _topic_statements(each, topic_id)
        key_policy = key["KeyPolicy"]["Statement"]
        assert allows(topic_policy, publish), f"{alarm_id}: CloudWatch may not publish to {topic_id}"
        for key_action in ("kms:GenerateDataKey", "kms:Decrypt"):
            use_key = Request("cloudwatch.amazonaws.com", key_action, f"{{{key_id}.Arn}}", own_alarm)
            assert allows(key_policy, use_key), f"{alarm_id}: CloudWatch may not {key_action} with {key_id}"

        foreign = {**own_alarm, "aws:SourceAccount": "999988887777"}
        assert not allows(topic_policy, Request("cloudwatch.amazonaws.com", "sns:Publish", action, foreign))
        foreign_arn = {**own_alarm, "aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:999988887777:alarm:x"}
        assert not allows(
            key_policy, Request("cloudwatch.amazonaws.com", "kms:Decrypt", f"{{{key_id}.Arn}}", foreign_arn)
        )
        plain_http = {**own_alarm, "aws:SecureTransport": "false"}
        assert not allows(topic_policy, Request("cloudwatch.amazonaws.com", "sns:Publish", action, plain_http))


def test_alarm_topic_is_kms_encrypted_with_a_rotating_key_and_tls_only(each: Synthesized) -> None:
    (topic_id,) = each.resources("AWS::SNS::Topic")
    _, key = _key_of(each, topic_id)
    assert key["EnableKeyRotation"] is True
    denies = [s for s in _topic_statements(each, topic_id) if s["Effect"] == "Deny"]
    assert [(s["Principal"], s["Condition"]) for s in denies] == [("*", {"Bool": {"aws:SecureTransport": "false"}})]


def test_email_subscription_only_when_configured(synthesized: Synthesized, custom: Synthesized) -> None:
    assert not synthesized.resources("AWS::SNS::Subscription")
    subscription = custom.only("AWS::SNS::Subscription")["Properties"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "platform@example.com")


def test_dashboard_shows_each_functions_and_the_services_metrics(synthesized: Synthesized) -> None:
    body = json.dumps(synthesized.only("AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"])
    for metric in ("Duration", "Errors", "Throttles", "ConcurrentExecutions", "5XXError", "4XXError", "Latency"):
        assert metric in body, metric
    for name in ("Api", "Worker"):
        function_id, _ = synthesized.function(name)
        assert body.count(f'"Ref": "{function_id}"') >= 5, (
            name
        )  # invocations, errors, throttles, durations, concurrency
    assert body.count("ApproximateNumberOfMessagesVisible") >= 4  # three DLQs and the audit queue
    assert "ApproximateAgeOfOldestMessage" in body


def test_dashboard_graphs_every_design_metric_for_each_door_with_the_dimensions_the_function_emits(
    synthesized: Synthesized, emitted_dimensions: dict[str, str]
) -> None:
    # A metric line is [namespace, name, dimension name, value, ..., {options}]; math expressions are [{...}].
    series: set[tuple[str, str]] = set()
    for line in _dashboard_metrics(synthesized):
        if line[0] != "LayerCheck":
            continue
        pairs = line[2:-1]
        dimensions = dict(zip(pairs[::2], pairs[1::2], strict=True))
        assert dimensions == _expected_dimensions(emitted_dimensions, dimensions["Source"]), line
        series.add((line[1], dimensions["Source"]))
    # Every metric the contract names, for each door: DESIGN.md's, and the operational ones the code emits since
    # (ChangeEventsUnsent, RegistriesUnreadable); no name the function does not emit.
    assert set(DESIGN_METRICS) <= set(CONTRACT_METRICS)
    assert series == {(name, source) for name in CONTRACT_METRICS for source in DOORS}


def _alarm_metric_names(alarm: dict[str, Any]) -> set[str]:
    return {m["MetricStat"]["Metric"]["MetricName"] for m in alarm.get("Metrics", []) if "MetricStat" in m}


@pytest.mark.parametrize(
    ("alarm_id", "metric", "notifies_ok"),
    [
        ("ObservabilityInUseImagesBroken", "InUseImagesBroken", False),
        ("ObservabilityInUseImagesAtRisk", "InUseImagesAtRisk", False),
        ("ObservabilityReplicasIncomplete", "ReplicasIncomplete", False),
        ("ObservabilityRegistriesUnreadable", "RegistriesUnreadable", False),
        ("ObservabilityChangeEventsUnsent", "ChangeEventsUnsent", True),
    ],
)
def test_estate_alarms_fire_on_any_count_from_any_door(
    each: Synthesized, alarm_id: str, metric: str, notifies_ok: bool
) -> None:
    alarm = _alarm(each, alarm_id)
    assert _alarm_metric_names(alarm) == {metric}
    assert {m["MetricStat"]["Metric"]["Dimensions"][0]["Value"] for m in alarm["Metrics"] if "MetricStat" in m} == set(
        DOORS
    )
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    # Each notifies the alarm topic (test_every_alarm_action_reaches_its_topic... proves the topic lets it in).
    (topic_id,) = each.resources("AWS::SNS::Topic")
    assert alarm["AlarmActions"] == [{"Ref": topic_id}]
    assert ("OKActions" in alarm) is notifies_ok


def test_in_use_broken_alarm_is_the_page_and_links_the_broken_list(synthesized: Synthesized) -> None:
    description = render(_alarm(synthesized, "ObservabilityInUseImagesBroken")["AlarmDescription"])
    (rest_api,) = synthesized.resources("AWS::ApiGateway::RestApi")
    assert description.startswith("PAGE:")
    # The stage URL of this stack's API, then the list query (DESIGN.md "HTTP API").
    assert f"https://{{{rest_api}}}.execute-api." in description
    assert "}/{HttpApiDeploymentStage" in description
    assert description.endswith("/images?status=BROKEN (SigV4).")


def test_in_use_at_risk_alarm_links_the_list_of_images_at_lifecycle_risk(synthesized: Synthesized) -> None:
    description = render(_alarm(synthesized, "ObservabilityInUseImagesAtRisk")["AlarmDescription"])
    (rest_api,) = synthesized.resources("AWS::ApiGateway::RestApi")
    assert f"https://{{{rest_api}}}.execute-api." in description
    assert "/images?risk=lifecycle (SigV4)" in description


def test_every_metric_an_alarm_or_the_dashboard_reads_is_a_contract_name(each: Synthesized) -> None:
    names = {name for alarm in _alarms(each).values() for name in _alarm_metric_names(alarm)}
    names |= {line[1] for line in _dashboard_metrics(each) if line[0] == "LayerCheck"}
    assert names and names <= set(CONTRACT_METRICS)
