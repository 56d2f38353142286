"""The audit's figure for ``make bench`` (bench/headline.py): the AWS calls per 1,000 images of a first and a second
audit of the same unchanged images, from ``bench.manifest_reads`` run in its own process (it sets the environment and
patches moto for itself). The figure to read is BatchGetImage: every manifest once in the first audit, none in the
second."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from bench.headline import Figure

REPOSITORIES = 5
IMAGES = 100
MANIFEST_READ = "ecr:BatchGetImage"


def measure(repositories: int = REPOSITORIES, images: int = IMAGES) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.manifest_reads", "--repositories", str(repositories)]
    finished = subprocess.run([*command, "--images", str(images)], capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(finished.stdout)
    return result


def headline() -> Figure:
    result = measure()
    first, second = (result["per_1000_images"][name] for name in ("first", "second"))
    ecr_calls = {
        name: sum(v for k, v in calls.items() if k.startswith("ecr:"))
        for name, calls in (("first", first), ("second", second))
    }
    return Figure(
        "audit: AWS calls per 1,000 images, first and second audit",
        f"second audit: {second.get(MANIFEST_READ, 0):,.0f} BatchGetImage, {ecr_calls['second']:,.0f} ECR calls in all",
        f"first audit: {first.get(MANIFEST_READ, 0):,.0f} BatchGetImage, {ecr_calls['first']:,.0f} ECR calls in all "
        f"({result['layout']})",
        f"{second.get(MANIFEST_READ, 0):,.0f} / {first.get(MANIFEST_READ, 0):,.0f} manifest reads",
        "no BatchGetImage on a second audit of unchanged images",
    )
