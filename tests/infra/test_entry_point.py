"""``app.py``, as the CDK CLI runs it: quiet, writing only where CDK_OUTDIR says, the template the tests assert."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

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
