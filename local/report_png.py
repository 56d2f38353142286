"""``make report-png``: docs/report.png, the page ``layercheck report`` writes, from a realistic local scenario.

A moto server holds the demo's registry and images (local/scenario.py) and the workloads that run them: the ECS
service ``monthly-report`` on the broken ``team-d/jobs:monthly``, the Lambda function ``thumbnailer``, and an ECS
service ``billing`` on ``team-a/api:1.9``, a tag the registry no longer holds. ``layercheck report`` audits it as a user
would (the installed command, pointed at moto); headless Chromium draws the page (local/browser.py).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import boto3

from local.browser import find_chromium, screenshot
from local.command_line import venv_bin
from local.environment import moto_server, patched_environ
from local.lambda_context import LOCAL_REGION
from local.scenario import registry_host, seed_images, seed_registry, seed_workloads

ROOT = Path(__file__).resolve().parents[1]
PNG = ROOT / "docs" / "report.png"
GONE_IMAGE = "team-a/api:1.9"  # run by the billing service, no longer in the registry
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# moto's Lambda, asked to, resolves a function's image from its own ECR, as Lambda does at deployment.
MOTO_LAMBDA = {"MOTO_LAMBDA_STUB_ECR": "false"}


def seed_report_scenario(endpoint: str) -> None:
    """The registry, images and workloads the page shows (moto_server's endpoint, this process's moto)."""

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint, region_name=LOCAL_REGION, **_keys())

    ecr, ecs = client("ecr"), client("ecs")
    seed_registry(ecr)
    seed_images(ecr)
    with patched_environ(MOTO_LAMBDA):
        seed_workloads(ecr, ecs, client("lambda"), client("iam"))
    container = {"name": "api", "image": f"{registry_host()}/{GONE_IMAGE}", "memory": 256}
    definition = ecs.register_task_definition(family="billing", containerDefinitions=[container])["taskDefinition"][
        "taskDefinitionArn"
    ]
    ecs.create_service(cluster="prod", serviceName="billing", taskDefinition=definition, desiredCount=0)


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": "testing"}


def user_shell(endpoint: str, home: Path) -> dict[str, str]:
    """A clean shell pointed at the moto server (as make serve's exports point one)."""
    return {"HOME": str(home), "PATH": f"{venv_bin()}:/usr/bin:/bin", "LANG": "C.UTF-8",
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": LOCAL_REGION,
            **CREDENTIALS}  # fmt: skip


def write_report(endpoint: str, page: Path) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="layercheck-home-") as home:
        return subprocess.run(
            ["layercheck", "report", "--output-file", str(page)], env=user_shell(endpoint, Path(home)),
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip


def main() -> int:
    chromium = find_chromium()
    if chromium is None:
        print("make report-png: Chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 1
    with moto_server() as endpoint, tempfile.TemporaryDirectory(prefix="layercheck-report-") as work:
        seed_report_scenario(endpoint)
        page = Path(work) / "report.html"
        written = write_report(endpoint, page)
        sys.stderr.write(written.stderr)
        if not page.exists():
            return 1
        screenshot(chromium, page.as_uri(), PNG, width=1280, height=900)
    print(f"wrote {PNG.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
