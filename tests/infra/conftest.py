"""Synthesizes the stack once per test session (with cdk-nag, as ``cdk synth`` does) and shares the result.

Two assemblies: the defaults from cdk.json, and one with every optional setting switched on, so that both the
default template and the option branches are asserted (and both pass cdk-nag and cfn-lint).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# The stack imports the results-table schema from the Lambda's own package, as app.py arranges it.
if str(REPO_ROOT / "lambda_src") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "lambda_src"))


def _silence_jsii_node_banner() -> None:
    """jsii prints an end-of-life banner on old Node majors unless this variable lists that major version
    (a comma-separated list of majors, e.g. "20"; a bare "1" does not silence it)."""
    node = shutil.which("node")
    if node is None:
        return
    name = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"
    major = subprocess.run(
        [node, "-p", "process.versions.node.split('.')[0]"], check=False, capture_output=True, text=True
    )
    listed = [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]
    if major.stdout.strip() and major.stdout.strip() not in listed:
        os.environ[name] = ",".join([*listed, major.stdout.strip()])


_silence_jsii_node_banner()

from aws_cdk import App, Stack, assertions  # noqa: E402

from infra.app import build_app, cdk_json_context  # noqa: E402
from infra.config import LayerCheckConfig  # noqa: E402

# Every optional branch switched on (values are strings, as `cdk deploy -c key=value` passes them).
CUSTOM_CONTEXT: dict[str, Any] = {
    "stackName": "LayerCheckCustom",
    "repositoryPrefixes": "team-a/,team-b/",
    "registryAccountIds": "111122223333",
    "auditTaggedOnly": "true",
    "auditNewestImages": "5",
    "scheduleExpression": "rate(12 hours)",
    "organizationId": "o-abcdef1234",
    "vpcEndpointIds": "vpce-0123456789abcdef0",
    "wafWebAclArn": "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/layercheck/0123",
    "alarmEmail": "platform@example.com",
    "tracing": "false",
    "apiExecutionLogLevel": "ERROR",
    "retainData": "false",
    "apiReservedConcurrency": "15",
    "workerReservedConcurrency": "5",
    "ecrCallsPerSecond": "300",
    # On (the default), with auditRegions: the exclusions of the other audited Regions' stacks are asserted here;
    # test_pull_time_exclusion.py builds the switched-off app itself.
    "pullTimeUpdateExclusion": "true",
    "idempotencyExpiresSeconds": "129600",
    "auditAccounts": "organization",
    "organizationUnitIds": "ou-ab12-teams001",
    "auditRegions": "eu-west-1,us-east-1",
    "readerRoleName": "OrgReader",
    "readerExternalId": "layercheck-central-7f3a",
    "replicationGraceMinutes": "0",
    "inventoryTtlHours": "72",
    "pushRecheckSeconds": "5",
    "eventBusName": "platform-events",
}


@dataclass(frozen=True)
class Synthesized:
    app: App
    stack: Stack  # the central stack; the app also holds LayerCheckReader and any audited Region's exclusions
    config: LayerCheckConfig
    assembly_dir: Path
    template_path: Path
    template_json: dict[str, Any]
    template: assertions.Template

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.template_json["Resources"].items()
            if resource["Type"] == resource_type
        }

    def only(self, resource_type: str) -> dict[str, Any]:
        (resource,) = self.resources(resource_type).values()
        return resource

    def named(self, resource_type: str, logical_id_prefix: str) -> tuple[str, dict[str, Any]]:
        """The one resource of this type whose logical id starts with the construct path's prefix, with its id."""
        (found,) = [item for item in self.resources(resource_type).items() if item[0].startswith(logical_id_prefix)]
        return found

    def function(self, name: str) -> tuple[str, dict[str, Any]]:
        """The logical id and properties of the ``Api`` or ``Worker`` function."""
        logical_id, resource = self.named("AWS::Lambda::Function", f"Functions{name}Function")
        return logical_id, resource["Properties"]

    def templates(self) -> dict[str, dict[str, Any]]:
        """Every stack of the app, by stack name: the central one, LayerCheckReader, the exclusions' stacks."""
        manifest = json.loads((self.assembly_dir / "manifest.json").read_text(encoding="utf-8"))
        return {
            name: json.loads((self.assembly_dir / artifact["properties"]["templateFile"]).read_text(encoding="utf-8"))
            for name, artifact in manifest["artifacts"].items()
            if artifact["type"] == "aws:cloudformation:stack"
        }

    def asset_dir(self) -> Path:
        (asset,) = [p for p in self.assembly_dir.iterdir() if p.is_dir() and p.name.startswith("asset.")]
        return asset


def _synthesize(context: dict[str, Any], outdir: Path) -> Synthesized:
    app, stack = build_app(context=context, outdir=str(outdir))
    assembly = app.synth()  # runs the cdk-nag plugins: raises on any unacknowledged finding
    artifact = assembly.get_stack_artifact(stack.artifact_id)
    template_path = Path(assembly.directory) / artifact.template_file
    template_json = json.loads(template_path.read_text(encoding="utf-8"))
    return Synthesized(
        app=app,
        stack=stack,
        config=LayerCheckConfig.from_context(app.node),
        assembly_dir=Path(assembly.directory),
        template_path=template_path,
        template_json=template_json,
        template=assertions.Template.from_json(template_json),
    )


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    yield _synthesize(cdk_json_context(), tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def custom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    yield _synthesize({**cdk_json_context(), **CUSTOM_CONTEXT}, tmp_path_factory.mktemp("cdk.out.custom"))


@pytest.fixture(params=["default", "custom"])
def each(request: pytest.FixtureRequest) -> Synthesized:
    """Both assemblies, for properties that must hold whatever the configuration."""
    fixture: Synthesized = request.getfixturevalue("synthesized" if request.param == "default" else "custom")
    return fixture
