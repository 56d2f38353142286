"""The runtime's botocore is checked when the function starts: an ECR model without what the code calls fails loudly,
naming the runtime's version and the tested one. Older models are made from today's by removing what older botocore
releases lacked (the operation, or the filter's member), as those releases' models read."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore
import botocore.loaders
import pytest
from botocore.model import ServiceModel

from layercheck.runtime_check import TESTED_BOTOCORE, BotocoreTooOldError, missing_ecr_api, require_ecr_api

REPO_ROOT = Path(__file__).resolve().parents[2]


def ecr_model(*, image_status: bool = True, replication_status: bool = True) -> ServiceModel:
    data: dict[str, Any] = copy.deepcopy(botocore.loaders.Loader().load_service_model("ecr", "service-2"))
    if not image_status:
        filter_shape = data["operations"]["DescribeImages"]["input"]["shape"]
        filter_name = data["shapes"][filter_shape]["members"]["filter"]["shape"]
        del data["shapes"][filter_name]["members"]["imageStatus"]
    if not replication_status:
        del data["operations"]["DescribeImageReplicationStatus"]
    return ServiceModel(data, service_name="ecr")


def test_the_tested_botocore_has_every_ecr_call_the_code_makes() -> None:
    assert missing_ecr_api(ecr_model()) == []
    require_ecr_api()  # the installed botocore, as the function's start runs it


def test_an_older_botocore_fails_naming_both_versions_and_what_it_lacks() -> None:
    with pytest.raises(BotocoreTooOldError) as raised:
        require_ecr_api(ecr_model(image_status=False, replication_status=False), installed="1.29.165")

    message = str(raised.value)
    assert "botocore 1.29.165 (the Lambda runtime's)" in message
    assert f"tested with botocore {TESTED_BOTOCORE}" in message
    assert raised.value.missing == ["DescribeImages filter.imageStatus", "DescribeImageReplicationStatus"]


def test_a_botocore_lacking_only_the_replication_status_is_refused_too() -> None:
    assert missing_ecr_api(ecr_model(replication_status=False)) == ["DescribeImageReplicationStatus"]
    assert missing_ecr_api(ecr_model(image_status=False)) == ["DescribeImages filter.imageStatus"]


def test_the_tested_version_is_the_pinned_one() -> None:
    pinned = re.search(r"^botocore==(\S+)$", (REPO_ROOT / "constraints.txt").read_text(), re.MULTILINE)
    assert pinned is not None and pinned.group(1) == TESTED_BOTOCORE == botocore.__version__


def test_the_function_does_not_start_on_an_older_botocore() -> None:
    # Given a runtime whose botocore ECR model lacks filter.imageStatus, When the handler module is imported (the
    # Lambda init phase), Then it raises with the message, before any event
    script = (
        "import botocore.session, tests.unit.test_runtime_check as t\n"
        "model = t.ecr_model(image_status=False)\n"
        "botocore.session.Session.get_service_model = lambda self, name, api_version=None: model\n"
        "import layercheck.handler\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'lambda_src'}"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False)
    assert result.returncode != 0
    assert "BotocoreTooOldError" in result.stderr
    assert "lacks ECR DescribeImages filter.imageStatus" in result.stderr
