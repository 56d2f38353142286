"""The README's configuration table names only settings that cdk.json really has."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_key_in_the_readme_table_is_a_cdk_json_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Deploy to an AWS account", 1)[1].split("\n## ", 1)[0]
    table_rows = [line for line in section.splitlines() if line.startswith("| `")]
    keys = {key for row in table_rows for key in re.findall(r"`([a-zA-Z]+)`", row.split("|")[1])}
    context = json.loads((ROOT / "cdk.json").read_text())["context"]

    assert len(keys) >= 10
    assert keys <= set(context), sorted(keys - set(context))
