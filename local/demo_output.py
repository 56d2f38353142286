"""What every part of ``make demo`` shares: calling the handler quietly while totalling its metrics, the doors'
events, and short tables (digests shortened, ``usedBy`` as kind:name)."""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from local.lambda_context import LOCAL_ACCOUNT_ID, LOCAL_REGION, FakeLambdaContext

Handler = Callable[[dict[str, Any], Any], Any]


class Invoker:
    """Calls the handler, keeping Powertools' stdout (logs, EMF) out of the demo's output and totalling the metrics."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.metrics: Counter[str] = Counter()

    def __call__(self, event: dict[str, Any], context: Any = None) -> Any:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            answer = self.handler(event, context or FakeLambdaContext())
        self.metrics.update(emf_totals(buffer.getvalue().splitlines()))
        return answer

    def take_metrics(self, *names: str) -> str:
        text = ", ".join(f"{name}={self.metrics[name]}" for name in names)
        self.metrics.clear()
        return text


def emf_totals(lines: Iterable[str]) -> Counter[str]:
    """Each metric of the EMF documents among ``lines``, summed."""
    totals: Counter[str] = Counter()
    for line in lines:
        with contextlib.suppress(ValueError):
            document = json.loads(line)
            if isinstance(document, dict) and "_aws" in document:
                for directive in document["_aws"]["CloudWatchMetrics"]:
                    for metric in directive["Metrics"]:
                        value = document[metric["Name"]]
                        totals[metric["Name"]] += int(sum(value) if isinstance(value, list) else value)
    return totals


def scheduler_event(account_id: str = LOCAL_ACCOUNT_ID) -> dict[str, Any]:
    """EventBridge Scheduler's event (its ``detail`` is the string ``"{}"``)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": account_id,
        "time": "2026-01-01T03:00:00Z",
        "region": LOCAL_REGION,
        "resources": [f"arn:aws:scheduler:{LOCAL_REGION}:{account_id}:schedule/default/layercheck-audit"],
        "detail": "{}",
    }


def short(digest: str) -> str:
    return digest if len(digest) <= 24 else digest[:19] + "…" + digest[-4:]


def used_by(entries: Sequence[dict[str, str]] | None) -> str:
    """``usedBy`` as ``kind name`` (the last part of an ARN; an inventory's source as it is); ``-`` for nobody."""
    return ", ".join(f"{entry['kind']} {_name(entry['kind'], entry['id'])}" for entry in entries or []) or "-"


def _name(kind: str, identifier: str) -> str:
    return identifier if kind == "inventory" else identifier.rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def image_name(verdict: dict[str, Any]) -> str:
    """``repository:tag`` (the first tag), or ``repository@digest`` for an untagged image."""
    repository, tags = verdict["repositoryName"], verdict.get("imageTags") or []
    return f"{repository}:{tags[0]}" if tags else f"{repository}@{short(verdict['imageDigest'])}"


def missing(verdict: dict[str, Any]) -> str:
    return ", ".join(short(digest) for digest in verdict.get("missingLayers") or []) or "-"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], indent: str = "  ") -> None:
    """Columns as wide as their widest cell, numbers to the right."""
    lines: list[Sequence[object]] = [list(headers), *rows]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(headers))]
    for line in lines:
        cells = [
            str(cell).rjust(width) if isinstance(cell, int) else str(cell).ljust(width)
            for cell, width in zip(line, widths, strict=True)
        ]
        print((indent + " ".join(cells)).rstrip())
