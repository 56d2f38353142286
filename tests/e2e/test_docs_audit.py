"""The audit the README and docs/CLI.md show, run as written against the scenario they were taken from
(local/report_png.py: the demo's registry, an ECS service on the broken monthly job and one on a tag that is gone):
the command exits as shown and prints the lines shown."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.environment import moto_server
from local.report_png import seed_report_scenario, user_shell

ROOT = Path(__file__).resolve().parents[2]
COMMAND_PREFIX = "$ layercheck audit --repository-prefixes team- --output table"


def _transcript(document: Path) -> tuple[str, list[str], bool]:
    """The console block that starts with the audit command (indented or not): the command line, the output lines
    shown, and whether the block shows only the end of the output (a "..." line)."""
    match = re.search(rf"^( *)```console\n *{re.escape(COMMAND_PREFIX)}.*?^ *```", document.read_text(), re.M | re.S)
    assert match, f"{document.name} shows no audit transcript"
    indent = len(match.group(1))
    block = [line[indent:] for line in match.group(0).splitlines()[1:-1]]
    shown = [line for line in block[1:] if line != "..."]
    return block[0][2:], shown, "..." in block


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        seed_report_scenario(url)
        yield url


@pytest.mark.parametrize("document", ["README.md", "docs/CLI.md"])
def test_documented_audit_prints_what_the_document_shows(endpoint: str, document: str, tmp_path: Path) -> None:
    command, shown, abridged = _transcript(ROOT / document)

    completed = subprocess.run(
        ["bash", "-c", command],
        cwd=tmp_path,
        env=user_shell(endpoint, tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    printed = [line.rstrip() for line in completed.stdout.splitlines()]
    assert shown, document
    assert (printed[-len(shown) :] if abridged else printed) == shown, completed.stdout + completed.stderr
