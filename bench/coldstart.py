"""Cold start: what a fresh interpreter pays before the first event, measured in fresh processes.

Each variant runs in its own ``python -c`` process (median of ``repeats``), timed inside the process (the imports and
client creation alone) and from outside (interpreter start-up included). Byte-code caches are warm (one discarded run
first): the Lambda asset is deployed without ``.pyc`` files, so a real first cold start also compiles our ~20 modules.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

from local.environment import lambda_environment

PYTHON = sys.executable
# Nothing listens on the discard port; no variant makes an AWS call, they only build clients.
NO_ENDPOINT = "http://127.0.0.1:9"

BOTO3_CLIENTS = "import boto3 + ECR and DynamoDB clients"
HANDLER = "import layercheck.handler"
CHECK_SETUP = "handler + light POST /checks door + ECR and DynamoDB clients (a check's first event)"
VARIANTS: dict[str, str] = {
    "python -c pass (interpreter only)": "pass",
    BOTO3_CLIENTS: "import boto3\nboto3.client('ecr')\nboto3.client('dynamodb')",
    HANDLER: "import layercheck.handler",
    "import layercheck.handler + Powertools' Tracer() (the handler before its tracer was lazy)": (
        "import layercheck.handler\nfrom aws_lambda_powertools import Tracer\nTracer()"
    ),
    CHECK_SETUP: (
        "from layercheck.handler import _door_function\n_door_function('layercheck.doors.checks:handle')\n"
        "from layercheck import dependencies\n"
        "dependencies.services('123456789012').serve('123456789012', 'us-east-1').layer_checks()"
    ),
    "handler + REST resolver (the first event of any other route)": (
        "from layercheck.handler import _door_function\n_door_function('layercheck.doors.api:handle')"
    ),
}

# Modules that only one door, or only a later step, needs: the handler import should not pull them in.
LAZY_MODULES = (
    "layercheck.doors.checks",
    "layercheck.doors.api",
    "aws_lambda_powertools.event_handler",
    "layercheck.integrations.ecr",
    "aws_xray_sdk",
)

_TIMED = (
    "import time\n_started = time.perf_counter()\n{body}\n_elapsed = time.perf_counter() - _started\n"
    "import json, sys\nprint(json.dumps({{'seconds': _elapsed, 'modules': sorted(sys.modules)}}))"
)


@dataclass(frozen=True)
class ColdStart:
    name: str
    inside_seconds: float
    process_seconds: float


@dataclass(frozen=True)
class ImportCost:
    module: str
    self_seconds: float
    cumulative_seconds: float


def _environment() -> dict[str, str]:
    environment = {**os.environ, **lambda_environment(NO_ENDPOINT), "PYTHONPATH": "lambda_src"}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


def _run(body: str) -> tuple[float, float, list[str]]:
    started = time.perf_counter()
    completed = subprocess.run(
        [PYTHON, "-c", _TIMED.format(body=body)], capture_output=True, text=True, check=True, env=_environment()
    )
    wall = time.perf_counter() - started
    answer = json.loads(completed.stdout.strip().splitlines()[-1])
    return float(answer["seconds"]), wall, list(answer["modules"])


def measure(repeats: int = 11) -> list[ColdStart]:
    """Round-robin over the variants (each repeat runs every variant once), so that a change in the machine's load
    during the measurement weighs on every variant alike and the ratios between them hold."""
    for body in VARIANTS.values():
        _run(body)  # warm the byte-code cache and the page cache
    runs: dict[str, list[tuple[float, float, list[str]]]] = {name: [] for name in VARIANTS}
    for _ in range(repeats):
        for name, body in VARIANTS.items():
            runs[name].append(_run(body))
    return [
        ColdStart(name, statistics.median(run[0] for run in samples), statistics.median(run[1] for run in samples))
        for name, samples in runs.items()
    ]


def modules_loaded_by_handler_import() -> dict[str, bool]:
    """Which of the door- or step-specific modules a bare ``import layercheck.handler`` loads."""
    _, _, modules = _run("import layercheck.handler")
    return {name: name in modules for name in LAZY_MODULES}


_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


@dataclass
class _Node:
    module: str
    self_seconds: float
    cumulative_seconds: float
    children: list[_Node] = field(default_factory=list)


def _import_tree(stderr: str) -> list[_Node]:
    """``-X importtime`` prints each module after its children, indented by depth; rebuild the tree."""
    pending: dict[int, list[_Node]] = {}
    for line in stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if not match:
            continue
        depth = len(match.group(3)) // 2
        node = _Node(match.group(4), int(match.group(1)) / 1e6, int(match.group(2)) / 1e6)
        node.children = pending.pop(depth + 1, [])
        pending.setdefault(depth, []).append(node)
    return pending.get(0, [])


def heaviest_imports(statement: str = "import layercheck.handler", top: int = 10) -> list[ImportCost]:
    """``python -X importtime``: the third-party imports our own modules trigger, heaviest (cumulative) first."""
    completed = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", statement], capture_output=True, text=True, check=True, env=_environment()
    )
    edges: list[ImportCost] = []

    def walk(node: _Node) -> None:
        for child in node.children:
            if node.module.startswith("layercheck") and not child.module.startswith("layercheck"):
                edges.append(
                    ImportCost(f"{child.module} (from {node.module})", child.self_seconds, child.cumulative_seconds)
                )
            walk(child)

    for root in _import_tree(completed.stderr):
        if root.module.startswith("layercheck"):
            edges.append(ImportCost(root.module, root.self_seconds, root.cumulative_seconds))
        walk(root)
    return sorted(edges, key=lambda cost: cost.cumulative_seconds, reverse=True)[:top]
