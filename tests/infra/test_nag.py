"""cdk-nag runs on every synth of the real app, fails it on any unacknowledged finding, and the acknowledgements
are few, deliberate and explained."""

from __future__ import annotations

import json
import re

import pytest
from aws_cdk import Validations
from aws_cdk import aws_sqs as sqs
from constructs import IConstruct

from infra.app import build_app, cdk_json_context
from tests.infra.conftest import Synthesized

# Every rule the central stack acknowledges, across both assemblies (defaults and every option on). A new entry here is
# a design decision: add it only with a reason in the construct that needs it. (LayerCheckReader: test_reader_stack.py.)
EXPECTED_RULES = {
    "AwsSolutions-APIG2",  # requests validated once, by the function's Pydantic models (api.py)
    "AwsSolutions-APIG3",  # no WAF unless wafWebAclArn is set (default only)
    "AwsSolutions-APIG6",  # execution logs need the account-wide API Gateway role (default only)
    "AwsSolutions-COG4",  # AWS_IAM, not Cognito, by design
    "AwsSolutions-IAM5",  # ECR repository scope and listing; resource "*" of X-Ray and the pull-through cache rules
    "AwsSolutions-SQS3",  # DLQs fed by an EventBridge target / on-failure destination
    "Serverless-APIGWXrayEnabled",  # only with tracing=false
    "Serverless-LambdaDLQ",  # worker: on-failure destination; API: invoked synchronously only
    "Serverless-LambdaEventSourceMappingDestination",  # SQS mappings use the queue's redrive policy
    "Serverless-LambdaTracing",  # only with tracing=false
    "Serverless-SNSRedrivePolicy",  # only with alarmEmail
    "Serverless-SQSRedrivePolicy",  # a DLQ needs no DLQ
}


def _acknowledgements(root: IConstruct) -> dict[str, str]:
    """Acknowledged finding id -> reason, over the construct tree under ``root`` (the app, or one stack)."""
    found: dict[str, str] = {}
    for construct in root.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                found.update(entry.data)
    return found


def test_synth_reports_no_findings_and_uses_every_acknowledgement(each: Synthesized) -> None:
    report = json.loads((each.assembly_dir / "validation-report.json").read_text(encoding="utf-8"))
    plugins = {plugin["pluginName"]: plugin for plugin in report["pluginReports"]}
    assert set(plugins) == {"AwsSolutions", "Serverless"}
    for plugin in plugins.values():
        assert plugin["conclusion"] == "success"
        assert plugin["violations"] == []
    # No stale acknowledgement, in any stack of the app: each one suppresses a finding that really exists.
    used = {v["acknowledgedId"] for plugin in plugins.values() for v in plugin["suppressedViolations"]}
    assert used == set(_acknowledgements(each.app))


def test_acknowledgements_are_few_and_each_has_a_reason(synthesized: Synthesized, custom: Synthesized) -> None:
    acknowledged = {**_acknowledgements(synthesized.stack), **_acknowledgements(custom.stack)}
    rules = {re.sub(r"^\w+::|\[.*\]$", "", finding) for finding in acknowledged}
    assert rules == EXPECTED_RULES
    for finding, reason in acknowledged.items():
        assert finding.startswith(("AwsSolutions::AwsSolutions-", "Serverless::Serverless-")), finding
        assert 20 <= len(reason) <= 250, (finding, reason)
    # Default assembly: one IAM5 per resource pattern (ECR scope and replicas, ECS services and tasks, Lambda
    # functions, the reader role, "*"), and the few rule-level ones above.
    assert len(_acknowledgements(synthesized.stack)) <= 16


def test_ecr_acknowledgements_name_the_audited_regions_the_listing_and_the_replicas(custom: Synthesized) -> None:
    arn = "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:{}:<AWS::AccountId>:repository/{}]"
    ecr = {finding: reason for finding, reason in _acknowledgements(custom.stack).items() if ":ecr:" in finding}
    regions = ("<AWS::Region>", "eu-west-1", "us-east-1")
    # The worker lists each audited registry of this account; both read the repositories in scope there; the worker
    # probes replicas in any Region of this account. No other account: those are read through the reader role.
    listing = {arn.format(region, "*") for region in regions}
    scoped = {arn.format(region, prefix) for region in regions for prefix in ("team-a/*", "team-b/*")}
    replicas = {arn.format("*", prefix) for prefix in ("team-a/*", "team-b/*")}
    assert set(ecr) == listing | scoped | replicas
    assert all("DescribeRepositories" in ecr[finding] for finding in listing)
    assert all("repositoryPrefixes" in ecr[finding] for finding in scoped)
    assert all("replication rule" in ecr[finding] for finding in replicas)


def test_reader_role_and_in_use_acknowledgements_name_exact_resources(custom: Synthesized) -> None:
    acknowledged = _acknowledgements(custom.stack)
    assert "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/OrgReader]" in acknowledged
    in_use = {f for f in acknowledged if ":ecs:" in f or ":lambda:" in f}
    assert in_use == {
        f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:{service}:{region}:<AWS::AccountId>:{res}]"
        for region in ("<AWS::Region>", "eu-west-1", "us-east-1")
        for service, res in (
            ("ecs", "service/*"),
            ("ecs", "task/*"),
            ("ecs", "service-revision/*"),
            ("lambda", "function:*"),
        )
    }


def test_an_unacknowledged_finding_fails_the_synth_of_the_real_app(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Given the real app, with one queue that breaks both packs' rules (no encryption, no TLS guard, no DLQ)
    outdir = tmp_path_factory.mktemp("cdk.out.rogue")
    app, stack = build_app(context=cdk_json_context(), outdir=str(outdir))
    sqs.Queue(stack, "RogueQueue", encryption=sqs.QueueEncryption.UNENCRYPTED)

    # When it is synthesized, Then the synth fails and the report names the rogue queue under both packs
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((outdir / "validation-report.json").read_text(encoding="utf-8"))
    violations = {
        (plugin["pluginName"], violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    }
    assert ("AwsSolutions", "AwsSolutions-SQS4", "LayerCheck/RogueQueue/Resource") in violations
    assert ("Serverless", "Serverless-SQSRedrivePolicy", "LayerCheck/RogueQueue/Resource") in violations
    assert {path for _, _, path in violations} == {"LayerCheck/RogueQueue/Resource"}
