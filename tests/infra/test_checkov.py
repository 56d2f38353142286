"""checkov over the synthesized templates: every failed check is acknowledged with a reason in infra/checkov_skips.py,
and every acknowledgement still matches a failed check (both assemblies: the defaults and every option on)."""

from __future__ import annotations

import pytest

from infra.checkov_scan import Finding, findings_of, reconcile, scan
from infra.checkov_skips import CHECKOV_SKIPS, CheckovSkip
from tests.infra.conftest import Synthesized


def test_checkov_findings_are_exactly_the_acknowledged_ones(each: Synthesized) -> None:
    findings = scan(each.assembly_dir)

    reconciled = reconcile(findings, each.config)

    assert findings, "checkov found the templates and ran its checks"
    assert reconciled.unacknowledged == []
    assert reconciled.stale == []


def test_every_acknowledgement_gives_a_reason_once() -> None:
    keys = [(skip.check_id, skip.resource_type, skip.logical_id_prefix) for skip in CHECKOV_SKIPS]
    assert len(keys) == len(set(keys))
    assert all(len(skip.reason) > 40 for skip in CHECKOV_SKIPS)


QUEUE = Finding("CKV_AWS_27", "AWS::SQS::Queue.AuditQueue405FAD88", "/LayerCheck.template.json")
NEW = Finding("CKV_AWS_999", "AWS::SQS::Queue.AuditQueue405FAD88", "/LayerCheck.template.json")


def test_reconcile_fails_a_finding_nobody_acknowledged_and_a_skip_that_matches_nothing(
    synthesized: Synthesized,
) -> None:
    skips = [
        CheckovSkip("CKV_AWS_27", "AWS::SQS::Queue", "AuditQueue", "encrypted with SSE-SQS, which the check misses"),
        CheckovSkip("CKV_AWS_27", "AWS::SQS::Queue", "GoneQueue", "a queue the stack no longer has"),
    ]

    reconciled = reconcile([QUEUE, NEW], synthesized.config, skips)

    assert reconciled.unacknowledged == [NEW]
    assert reconciled.stale == [skips[1]]
    assert not reconciled.clean


def test_reconcile_applies_a_skip_only_where_its_configuration_holds(synthesized: Synthesized) -> None:
    # Given a skip for what tracing=false produces, and the default configuration (tracing on)
    only_untraced = CheckovSkip(
        "CKV_AWS_73", "AWS::ApiGateway::Stage", "HttpApi", "tracing off", applies=lambda config: not config.tracing
    )
    untraced = Finding("CKV_AWS_73", "AWS::ApiGateway::Stage.HttpApiDeploymentStagev1", "/LayerCheck.template.json")

    # Then it is neither stale without the finding, nor acknowledges the finding
    assert reconcile([], synthesized.config, [only_untraced]).clean
    assert reconcile([untraced], synthesized.config, [only_untraced]).unacknowledged == [untraced]
    tracing_off = synthesized.config.model_copy(update={"tracing": False})
    assert reconcile([untraced], tracing_off, [only_untraced]).clean


@pytest.mark.parametrize(
    "report",
    [
        {"check_type": "cloudformation", "results": {"failed_checks": [{"check_id": "CKV_AWS_27", "resource": "R.Q"}]}},
        [
            {
                "check_type": "cloudformation",
                "results": {"failed_checks": [{"check_id": "CKV_AWS_27", "resource": "R.Q"}]},
            }
        ],
    ],
)
def test_findings_of_reads_checkovs_json_report(report: object) -> None:
    assert findings_of(report) == [Finding("CKV_AWS_27", "R.Q", "")]
    assert findings_of({"passed": 10, "failed": 0}) == []
