"""``app.py``, as the CDK CLI runs it: quiet, writing only where CDK_OUTDIR says, the template the tests assert."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.infra.conftest import REPO_ROOT, Synthesized


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
    import sys as _s; _s.path.insert(0, "/tmp"); import difftest; difftest.diff(template, synthesized.template_json)
    assert template == synthesized.template_json
