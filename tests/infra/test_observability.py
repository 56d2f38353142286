"""Alarms that need a person, their encrypted TLS-only topic, and a dashboard over the metrics DESIGN.md names."""

from __future__ import annotations

import json
from typing import Any

from tests.infra.conftest import Synthesized

DESIGN_METRICS = (
    "LayersChecked",
    "LayersAvailable",
    "LayersUnavailable",
    "LayersMissing",
    "InvalidDigests",
    "CheckErrors",
    "ImagesChecked",
    "BrokenImages",
)


def _dimensions(metric: dict[str, Any]) -> dict[str, str]:
    return {dimension["Name"]: dimension["Value"] for dimension in metric["Dimensions"]}


def _dashboard_metrics(synth: Synthesized) -> list[list[Any]]:
    """Every metric line of every dashboard graph. The body is a Fn::Join whose tokens (Region, resource names)
    all sit inside JSON strings, so a placeholder for each one leaves valid JSON."""
    parts = synth.only("AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = json.loads("".join(part if isinstance(part, str) else "TOKEN" for part in parts))
    return [line for widget in body["widgets"] for line in widget["properties"].get("metrics", [])]


def _alarms(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {logical_id: alarm["Properties"] for logical_id, alarm in synth.resources("AWS::CloudWatch::Alarm").items()}


def _alarm(synth: Synthesized, prefix: str) -> dict[str, Any]:
    (alarm,) = [alarm for logical_id, alarm in _alarms(synth).items() if logical_id.startswith(prefix)]
    return alarm


def test_broken_images_alarm_fires_on_any_broken_image_from_any_door(synthesized: Synthesized) -> None:
    alarm = _alarm(synthesized, "ObservabilityBrokenImages")
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Threshold"] == 0
    metrics = alarm["Metrics"]
    (expression,) = [m for m in metrics if "Expression" in m]
    assert expression["Expression"].count("FILL(") == 3
    stats = [m["MetricStat"] for m in metrics if "MetricStat" in m]
    assert {stat["Metric"]["Namespace"] for stat in stats} == {"LayerCheck"}
    assert {stat["Metric"]["MetricName"] for stat in stats} == {"BrokenImages"}
    # Exactly the dimensions the function emits: Powertools adds `service` to our `Source` on every metric, and
    # CloudWatch matches a series only on its full set of dimensions.
    assert [_dimensions(stat["Metric"]) for stat in stats] == [
        {"Source": source, "service": "layercheck"} for source in ("api", "schedule", "push")
    ]
    # Each door's series feeds the sum, a door with no data counting as zero.
    assert sorted(expression["Expression"].replace(" ", "").split("+")) == sorted(
        f"FILL({m['Id']},0)" for m in metrics if "MetricStat" in m
    )
    assert "OKActions" not in alarm  # a quiet period does not mean the image was fixed


def test_each_dead_letter_queue_has_a_not_empty_alarm(synthesized: Synthesized) -> None:
    dlq_ids = {
        logical_id
        for logical_id in synthesized.resources("AWS::SQS::Queue")
        if logical_id.startswith(("AuditDeadLetters", "CheckerFailedInvocations", "TriggersEventDeliveryDeadLetters"))
    }
    watched = {
        dimension["Value"]["Fn::GetAtt"][0]
        for alarm in _alarms(synthesized).values()
        if alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible"
        for dimension in alarm["Dimensions"]
    }
    assert len(dlq_ids) == 3
    assert watched == dlq_ids


def test_function_errors_and_api_5xx_are_alarmed(synthesized: Synthesized) -> None:
    errors = _alarm(synthesized, "ObservabilityFunctionErrors")
    assert (errors["Namespace"], errors["MetricName"], errors["Threshold"]) == ("AWS/Lambda", "Errors", 1)
    server_errors = _alarm(synthesized, "ObservabilityApi5xx")
    assert (server_errors["Namespace"], server_errors["MetricName"]) == ("AWS/ApiGateway", "5XXError")


def test_every_alarm_notifies_the_topic(each: Synthesized) -> None:
    (topic_id,) = each.resources("AWS::SNS::Topic")
    for alarm in _alarms(each).values():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]


def test_alarm_topic_is_kms_encrypted_with_a_rotating_key_and_tls_only(each: Synthesized) -> None:
    topic = each.only("AWS::SNS::Topic")["Properties"]
    (key_id, key) = next(iter(each.resources("AWS::KMS::Key").items()))
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key["Properties"]["EnableKeyRotation"] is True
    cloudwatch = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if "Service" in s["Principal"]]
    assert cloudwatch[0]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    (statement,) = each.only("AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_email_subscription_only_when_configured(synthesized: Synthesized, custom: Synthesized) -> None:
    assert not synthesized.resources("AWS::SNS::Subscription")
    subscription = custom.only("AWS::SNS::Subscription")["Properties"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "platform@example.com")


def test_dashboard_shows_every_design_metric_and_the_service_metrics(synthesized: Synthesized) -> None:
    body = json.dumps(synthesized.only("AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"])
    for metric in DESIGN_METRICS:
        assert metric in body, metric
    for metric in ("Duration", "Errors", "Throttles", "5XXError", "4XXError", "Latency"):
        assert metric in body, metric
    assert body.count("ApproximateNumberOfMessagesVisible") >= 4  # three DLQs and the audit queue


def test_dashboard_layercheck_metrics_carry_source_and_service_dimensions(synthesized: Synthesized) -> None:
    # A metric line is [namespace, name, dimension name, value, ..., {options}]; math expressions are [{...}].
    series: set[tuple[str, str]] = set()
    for line in _dashboard_metrics(synthesized):
        if line[0] != "LayerCheck":
            continue
        pairs = line[2:-1]
        dimensions = dict(zip(pairs[::2], pairs[1::2], strict=True))
        assert dimensions.keys() == {"Source", "service"}, line
        assert dimensions["service"] == "layercheck", line
        series.add((line[1], dimensions["Source"]))
    # Every design metric, for each of the three doors.
    assert series == {(name, source) for name in DESIGN_METRICS for source in ("api", "schedule", "push")}
