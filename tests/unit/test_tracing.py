"""The lazy tracer: Powertools' decorator shape, and no X-Ray SDK import unless tracing is on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from layercheck.observability import LazyTracer, tracing_enabled

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("environment", "enabled"),
    [
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "1"}, False),
        ({"POWERTOOLS_TRACE_DISABLED": "false"}, False),  # outside Lambda: no X-Ray daemon to talk to
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
    ],
)
def test_tracing_enabled_follows_powertools_rule(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], enabled: bool
) -> None:
    for name in ("LAMBDA_TASK_ROOT", "POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL", "CHALICE_LOCAL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert tracing_enabled() is enabled


def test_lazy_tracer_with_tracing_off_calls_the_handler_as_it_is() -> None:
    tracer = LazyTracer(enabled=lambda: False)

    @tracer.capture_lambda_handler(capture_response=False)
    def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
        return {"echo": event}

    assert handler({"a": 1}, None) == {"echo": {"a": 1}}
    assert tracer.active is None
    assert handler.__name__ == "handler"


def test_lazy_tracer_with_tracing_on_goes_through_powertools_tracer() -> None:
    """In a fresh interpreter (the X-Ray SDK opens its UDP emitter's socket on import, which unit tests forbid):
    with tracing on, the first call creates Powertools' Tracer and the handler runs inside its decorator."""
    script = (
        "import sys\nfrom aws_lambda_powertools import Tracer\nfrom layercheck.observability import LazyTracer\n"
        "tracer = LazyTracer()\n"
        "@tracer.capture_lambda_handler(capture_response=False)\n"
        "def handler(event, context):\n    return {'echo': event}\n"
        "assert 'aws_xray_sdk' not in sys.modules, 'imported before the first call'\n"
        "assert handler({'a': 1}, None) == {'echo': {'a': 1}}\n"
        "assert isinstance(tracer.active, Tracer) and 'aws_xray_sdk' in sys.modules\n"
    )
    completed = _run(script, POWERTOOLS_TRACE_DISABLED="false", AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR")

    assert completed.returncode == 0, completed.stderr


def test_handler_import_with_tracing_off_never_loads_the_xray_sdk() -> None:
    """Given the function's environment with tracing off, importing the handler and building the decorated handler
    leaves the X-Ray SDK unloaded (it costs about a third of the cold start)."""
    script = (
        "import sys\nimport layercheck.handler\n"
        "assert 'aws_xray_sdk' not in sys.modules, 'the X-Ray SDK was imported'\n"
        "from layercheck.observability import tracer\nassert tracer.active is None\n"
        "assert 'aws_xray_sdk' not in sys.modules, 'the X-Ray SDK was imported'\n"
    )
    completed = _run(script, POWERTOOLS_TRACE_DISABLED="true")

    assert completed.returncode == 0, completed.stderr


def _run(script: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """``script`` in a fresh interpreter, in a Lambda-like environment (a task root) plus ``environment``."""
    variables = {**os.environ, "LAMBDA_TASK_ROOT": "/var/task", "PYTHONPATH": str(ROOT / "lambda_src"), **environment}
    return subprocess.run(
        [sys.executable, "-c", script], env=variables, cwd=ROOT, capture_output=True, text=True, check=False
    )
