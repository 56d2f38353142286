"""cfn-lint on the synthesized templates: no error, and no warning the committed .cfnlintrc.yaml does not explain."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.infra.conftest import REPO_ROOT, Synthesized

CONFIG = REPO_ROOT / ".cfnlintrc.yaml"


def _cfn_lint() -> str:
    """The cfn-lint command installed next to this interpreter (the package has no ``python -m`` entry)."""
    beside = Path(sys.executable).with_name("cfn-lint")
    found = str(beside) if beside.exists() else shutil.which("cfn-lint")
    assert found, "cfn-lint is not installed (requirements-dev.txt)"
    return found


def test_cfn_lint_passes_with_the_committed_configuration(synthesized: Synthesized, custom: Synthesized) -> None:
    # Every stack of both apps: the central one, LayerCheckReader, the audited Regions' exclusion stacks.
    templates = sorted(path for synth in (synthesized, custom) for path in synth.assembly_dir.glob("*.template.json"))
    assert len(templates) == 6  # 2 + 4 (two audited Regions)
    # Run as a user would, from the repository root, so cfn-lint reads .cfnlintrc.yaml itself.
    result = subprocess.run(
        [_cfn_lint(), *map(str, templates)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_every_ignored_check_has_a_reason() -> None:
    lines = CONFIG.read_text(encoding="utf-8").splitlines()
    start = lines.index("ignore_checks:")
    for number, line in enumerate(lines[start + 1 :], start=start + 1):
        match = re.match(r"^\s+-\s+([EWI]\d{4})\b", line)
        if match:
            assert lines[number - 1].strip().startswith(f"# {match.group(1)}"), f"{match.group(1)} has no reason"
