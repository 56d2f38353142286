"""``app.py``, as the CDK CLI runs it: quiet, writing only where CDK_OUTDIR says, the template the tests assert."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from infra.app import synth_summary
from tests.infra.conftest import REPO_ROOT, Synthesized


def _without_code_hash(template: dict[str, Any]) -> dict[str, Any]:
    """The template with the function's asset key blanked: the key is a hash of lambda_src, which may be edited
    while the tests run, and the asset's contents are test_asset.py's business."""
    copy: dict[str, Any] = json.loads(json.dumps(template))
    for resource in copy["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            resource["Properties"]["Code"]["S3Key"] = "<asset hash>"
    return copy


def test_app_py_synthesizes_the_tested_template_quietly(
    synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Given the environment the CDK CLI gives its app: an assembly directory, and (exported by the Makefile or the
    # deploy guide, set for this session by conftest) JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION naming the
    # running Node major, which app.py leaves as it finds it
    outdir = tmp_path_factory.mktemp("cdk.out.cli")
    environment = {**os.environ, "CDK_OUTDIR": str(outdir)}

    # When app.py runs
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # Then it prints nothing (no jsii banner, no cdk-nag finding) and writes the template the other tests assert
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", "")
    template = json.loads((outdir / synthesized.template_path.name).read_text(encoding="utf-8"))
    assert _without_code_hash(template) == _without_code_hash(synthesized.template_json)


def test_make_synth_says_what_it_wrote_and_how_to_deploy_it(
    synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Given app.py run as `make synth` runs it (no CDK CLI around it), writing to a directory of its own
    outdir = tmp_path_factory.mktemp("cdk.out.make")
    environment = {name: value for name, value in os.environ.items() if name != "CDK_OUTDIR"}

    # When it runs
    result = subprocess.run(
        [sys.executable, "app.py", str(outdir)],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # Then one short block names the stacks (central first, then LayerCheckReader), their resource counts and
    # templates, and the deploy commands; nothing on stderr
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    template = outdir / synthesized.template_path.name
    resources = len(json.loads(template.read_text(encoding="utf-8"))["Resources"])
    assert lines[0] == f"Synthesized to {outdir}/ (cdk-nag: no unacknowledged findings)"
    assert lines[1].split() == ["LayerCheck", str(resources), "resources", str(template)]
    assert resources == len(synthesized.template_json["Resources"])
    assert lines[2].split()[0] == "LayerCheckReader"
    assert lines[3].endswith("npx cdk deploy LayerCheck") and "npx cdk bootstrap" in lines[3]
    assert "npx cdk deploy LayerCheckReader -c centralAccountId=" in lines[-1]
    assert len(lines) == 6 and all(len(line) <= 120 for line in lines)


def _assembly(directory: Path, stacks: dict[str, int]) -> Any:
    """A stand-in for the cloud assembly: its directory and its stacks (name -> resource count), in manifest order."""
    return SimpleNamespace(
        directory=str(directory),
        stacks=[
            SimpleNamespace(
                stack_name=name, template_file=f"{name}.template.json", template={"Resources": dict.fromkeys(range(n))}
            )
            for name, n in stacks.items()
        ],
    )


def test_synth_summary_names_the_central_stack_first_then_the_reader_and_how_each_is_deployed(tmp_path: Path) -> None:
    # Given an assembly whose manifest lists the reader first (CDK does not promise an order)
    assembly = _assembly(tmp_path / "cdk.out", {"LayerCheckReader": 2, "LayerCheck": 70})

    lines = synth_summary(assembly, central="LayerCheck", relative_to=tmp_path).splitlines()

    assert lines[0].startswith("Synthesized to cdk.out/ ")
    assert lines[1].split() == ["LayerCheck", "70", "resources", "cdk.out/LayerCheck.template.json"]
    assert lines[2].split() == ["LayerCheckReader", "2", "resources", "cdk.out/LayerCheckReader.template.json"]
    assert lines[3].endswith("npx cdk deploy LayerCheck")
    assert "npx cdk deploy LayerCheckReader -c centralAccountId=<this account> there, or a StackSet" in lines[-1]


def test_synth_summary_deploys_the_audited_regions_exclusions_with_the_central_stack(tmp_path: Path) -> None:
    assembly = _assembly(
        tmp_path / "cdk.out",
        {"LayerCheck": 70, "LayerCheck-PullTimeExclusions-eu-west-1": 2, "LayerCheckReader": 2},
    )

    lines = synth_summary(assembly, central="LayerCheck", relative_to=tmp_path).splitlines()

    assert lines[2].split()[0] == "LayerCheck-PullTimeExclusions-eu-west-1"
    assert lines[4].endswith("npx cdk deploy LayerCheck 'LayerCheck-PullTimeExclusions-*'")
    assert "1 audited Region(s)" in lines[6]
    assert [line for line in lines if "member accounts" in line] == [lines[-1]]
    assert "LayerCheckReader" in lines[-1]
