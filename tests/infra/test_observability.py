"""Alarms that need a person, their encrypted TLS-only topic, and a dashboard over the metrics DESIGN.md names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.infra.conftest import REPO_ROOT, Synthesized

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


# The function's own observability code, run with the function's environment: one EMF line, as CloudWatch gets it.
EMIT_ONE_METRIC = """
from layercheck.models.stored import Source
from layercheck.observability import metrics, record_images, use_source

use_source(Source.PUSH)
record_images(checked=1, broken=0)
metrics.flush_metrics()
"""


@pytest.fixture(scope="module")
def emitted_dimensions(synthesized: Synthesized) -> dict[str, str]:
    """The dimensions (name -> value) of a metric the function emits for the push door, read from the EMF line its
    code prints under the environment the stack gives it (POWERTOOLS_SERVICE_NAME and the rest)."""
    (function,) = synthesized.resources("AWS::Lambda::Function").values()
    variables = function["Properties"]["Environment"]["Variables"]
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


def test_broken_images_alarm_fires_on_any_broken_image_from_any_door(
    synthesized: Synthesized, emitted_dimensions: dict[str, str]
) -> None:
    alarm = _alarm(synthesized, "ObservabilityBrokenImages")
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Threshold"] == 0
    metrics = alarm["Metrics"]
    (expression,) = [m for m in metrics if "Expression" in m]
    assert expression["Expression"].count("FILL(") == 3
    stats = [m["MetricStat"] for m in metrics if "MetricStat" in m]
    assert {stat["Metric"]["Namespace"] for stat in stats} == {"LayerCheck"}
    assert {stat["Metric"]["MetricName"] for stat in stats} == {"BrokenImages"}
    # Exactly the dimensions the function emits: CloudWatch matches a series only on its full set of dimensions.
    assert [_dimensions(stat["Metric"]) for stat in stats] == [
        _expected_dimensions(emitted_dimensions, source) for source in ("api", "schedule", "push")
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


def test_dashboard_graphs_each_door_with_the_dimensions_the_function_emits(
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
    # Every design metric, for each of the three doors.
    assert series == {(name, source) for name in DESIGN_METRICS for source in ("api", "schedule", "push")}
