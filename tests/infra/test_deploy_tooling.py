"""The deploy tooling a newcomer gets: a pinned CDK CLI that can read our assembly, and every feature flag aws-cdk-lib
recommends set in cdk.json, so `npx cdk synth` prints no feature-flag warning."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from tests.infra.conftest import REPO_ROOT, Synthesized

PACKAGE_JSON = REPO_ROOT / "package.json"
PINNED_CLI = REPO_ROOT / "node_modules" / ".bin" / "cdk"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _pinned_cli_version() -> str:
    version: str = json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))["devDependencies"]["aws-cdk"]
    return version


def _manifest(synth: Synthesized) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((synth.assembly_dir / "manifest.json").read_text(encoding="utf-8"))
    return manifest


def test_package_json_pins_one_exact_cli_version_that_reads_our_assembly(synthesized: Synthesized) -> None:
    pinned = _pinned_cli_version()
    assert pinned[0].isdigit() and all(part.isdigit() for part in pinned.split(".")), f"not an exact version: {pinned}"
    # aws-cdk-lib writes the oldest CLI that understands its cloud assembly into the manifest.
    assert _version(pinned) >= _version(_manifest(synthesized)["minimumCliVersion"])
    lock = json.loads((REPO_ROOT / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/aws-cdk"]["version"] == pinned
    assert "node_modules/" in (REPO_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_every_recommended_feature_flag_is_set_to_its_recommended_value(synthesized: Synthesized) -> None:
    """What `cdk synth` reads to warn "N feature flags are not configured": aws-cdk-lib's feature-flag report."""
    (report,) = [
        artifact["properties"]
        for artifact in _manifest(synthesized)["artifacts"].values()
        if artifact["type"] == "cdk:feature-flag-report"
    ]
    flags = report["flags"]
    assert flags
    unset = {
        name: flag["recommendedValue"]
        for name, flag in flags.items()
        if "recommendedValue" in flag and flag.get("userValue") != flag["recommendedValue"]
    }
    assert unset == {}


@pytest.mark.skipif(not PINNED_CLI.exists(), reason="the pinned CDK CLI is not installed (npm ci)")
def test_npx_cdk_synth_with_the_pinned_cli_prints_no_feature_flag_warning(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # Given the pinned CLI (npm ci), with telemetry and notices off: the tests make no network call
    node = shutil.which("node")
    assert node, "node is needed to run the CDK CLI"
    outdir = tmp_path_factory.mktemp("cdk.out.npx")
    environment = {**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true"}

    # When `cdk synth` runs as the deploy guide says
    result = subprocess.run(
        [str(PINNED_CLI), "synth", "--quiet", "--no-notices", "--output", str(outdir)],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    # Then it succeeds with the pinned version and says nothing about feature flags
    assert result.returncode == 0, result.stdout + result.stderr
    assert "feature flag" not in (result.stdout + result.stderr).lower(), result.stdout + result.stderr
    version = subprocess.run([str(PINNED_CLI), "--version"], capture_output=True, text=True, check=True, timeout=120)
    assert version.stdout.startswith(_pinned_cli_version() + " ")
