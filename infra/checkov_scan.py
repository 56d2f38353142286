"""checkov, a second scanner nobody here wrote, over every template the app synthesizes (central stack, the pull-time
exclusion stacks, LayerCheckReader): ``python -m infra.checkov_scan`` (``make lint`` runs it).

checkov runs from its own virtual environment (``.venv-checkov``, pinned by requirements-checkov.txt and
constraints-checkov.txt, created by the Makefile): its dependencies (an older boto3 among them) clash with ours.
It runs offline (``--skip-download``: no platform call for guidelines or custom policies).

Every failed check must be covered by an entry of ``infra/checkov_skips.py`` (a reason, reviewed there), and every
entry that applies to the configuration must cover a failed check: a fix that makes an entry stale fails too, so the
list stays exactly what is needed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.checkov_skips import CHECKOV_SKIPS, CheckovSkip
from infra.config import LayerCheckConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
# checkov's exit codes: 0 nothing failed, 1 some check failed; anything else is checkov's own failure.
CHECKS_FAILED = 1


class CheckovUnavailableError(RuntimeError):
    """checkov is not installed where expected, or did not run."""


@dataclass(frozen=True)
class Finding:
    check_id: str
    resource: str  # <type>.<logical id>, as checkov names it
    template: str
    check_name: str = ""

    def __str__(self) -> str:
        return f"{self.check_id} {self.resource} ({self.template}): {self.check_name}"


@dataclass(frozen=True)
class Reconciled:
    unacknowledged: list[Finding]
    stale: list[CheckovSkip]

    @property
    def clean(self) -> bool:
        return not self.unacknowledged and not self.stale


def findings_of(report: Any) -> list[Finding]:
    """The failed checks of checkov's JSON report (one object per framework, or a list of them; a bare summary when
    there was nothing to report)."""
    reports = report if isinstance(report, list) else [report]
    return [
        Finding(failed["check_id"], failed["resource"], failed.get("file_path", ""), failed.get("check_name", ""))
        for one in reports
        for failed in one.get("results", {}).get("failed_checks", [])
    ]


def scan(directory: Path, checkov: Path = CHECKOV) -> list[Finding]:
    """checkov's failed checks over the CloudFormation templates in ``directory``."""
    if not checkov.exists():
        raise CheckovUnavailableError(f"{checkov} is missing: `make lint` creates .venv-checkov")
    command = [str(checkov), "-d", str(directory), "--framework", "cloudformation", "--skip-download"]
    result = subprocess.run([*command, "-o", "json", "--quiet"], capture_output=True, text=True, check=False)
    if result.returncode not in (0, CHECKS_FAILED):
        raise CheckovUnavailableError(f"checkov exited {result.returncode}: {result.stderr.strip()[-2000:]}")
    return findings_of(json.loads(result.stdout or "{}"))


def reconcile(
    findings: Iterable[Finding], config: LayerCheckConfig, skips: Sequence[CheckovSkip] = CHECKOV_SKIPS
) -> Reconciled:
    applying = [skip for skip in skips if skip.applies(config)]
    found = list(findings)
    unacknowledged = [f for f in found if not any(skip.covers(f.check_id, f.resource) for skip in applying)]
    stale = [skip for skip in applying if not any(skip.covers(f.check_id, f.resource) for f in found)]
    return Reconciled(unacknowledged=unacknowledged, stale=stale)


def scan_app(context: dict[str, Any], outdir: Path) -> tuple[list[Finding], LayerCheckConfig]:
    """Synthesize the app with ``context`` (cdk-nag runs too) into ``outdir`` and scan what it wrote."""
    from infra.app import build_app

    app, _ = build_app(context=context, outdir=str(outdir))
    app.synth()
    return scan(outdir), LayerCheckConfig.from_context(app.node)


def report(reconciled: Reconciled, scanned: int) -> str:
    lines = [f"checkov: {scanned} failed check(s), {scanned - len(reconciled.unacknowledged)} acknowledged"]
    lines += [
        f"  not acknowledged (fix it, or add a reason to infra/checkov_skips.py): {f}"
        for f in reconciled.unacknowledged
    ]
    lines += [
        f"  stale acknowledgement (matches no finding: remove it from infra/checkov_skips.py): "
        f"{skip.check_id} {skip.resource_type}.{skip.logical_id_prefix}*"
        for skip in reconciled.stale
    ]
    return "\n".join(lines)


def main() -> int:
    sys.path.insert(0, str(REPO_ROOT / "lambda_src"))  # as app.py: the stack reads the Lambda's schema module
    from infra.app import cdk_json_context

    with tempfile.TemporaryDirectory(prefix="layercheck-checkov-") as outdir:
        findings, config = scan_app(cdk_json_context(), Path(outdir))
    reconciled = reconcile(findings, config)
    print(report(reconciled, len(findings)))
    return 0 if reconciled.clean else 1


if __name__ == "__main__":
    sys.exit(main())
