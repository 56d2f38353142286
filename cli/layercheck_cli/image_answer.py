"""What ``check-image`` prints and how it exits, whichever way the images were checked (here or ``--api-url``).

- One image asked as an argument: its verdict, as before (``--query status`` reads it), with ``summary`` beside
  ``layerSummary`` so that ``--query summary`` is never null. Several (arguments or ``--images-file``):
  ``{"verdicts": [...], "summary": {...}}`` in the order asked.
- ``--output table`` (without ``--query``): one line per image: image, digest, status and what is wrong.
- Exit: 255 when an image could not be judged (UNCHECKED: not in ECR, unreadable, ...), with the reason on stderr;
  else 1 with ``--fail-on-missing`` when one is BROKEN, MISSING or ARCHIVED; else 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from layercheck_cli.image_inputs import RequestedImage
from layercheck_cli.images import not_found_hint
from layercheck_cli.rows_table import render_rows, short_digest, used_by_text
from layercheck_cli.table import Writable

COMPLETE, UNCHECKED = "COMPLETE", "UNCHECKED"
STATUSES = ("COMPLETE", "BROKEN", "MISSING", "UNCHECKED", "ARCHIVED")
# --fail-on-missing: the images a pull of which fails or may fail (UNCHECKED exits 255 first: it was not judged).
GATED = frozenset({"BROKEN", "MISSING", "ARCHIVED"})
NOT_FOUND_CODES = frozenset({"RepositoryNotFoundException"})
TITLE = "CheckImage"
HEADERS = ("image", "digest", "status", "detail")
USED_BY = "used by"


def summary(verdicts: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Counts by status, in the API's ``summary`` names (``checked`` is their sum), MISSING included."""
    counts = Counter(str(verdict.get("status")) for verdict in verdicts)
    return {"checked": len(verdicts), **{status.lower(): counts[status] for status in STATUSES}}


def document(
    verdicts: Sequence[dict[str, Any]], *, single: bool, layer_summary: dict[str, int] | None = None
) -> dict[str, Any]:
    extra = {"layerSummary": layer_summary} if layer_summary is not None else {}
    if single:
        return {**verdicts[0], **extra, "summary": summary(verdicts)}
    return {"verdicts": list(verdicts), "summary": summary(verdicts), **extra}


def not_checked(images: Sequence[RequestedImage], verdicts: Sequence[dict[str, Any]]) -> list[str]:
    """One line per image that could not be judged: the reference as written, ECR's code and reason."""
    reasons = []
    for image, verdict in zip(images, verdicts, strict=True):
        if verdict.get("status") == UNCHECKED:
            code = str(verdict.get("failureCode", ""))
            hint = not_found_hint(image.text) if code in NOT_FOUND_CODES else ""
            reasons.append(f"{image.text}: {code}: {verdict.get('failureReason', '')}{hint}")
    return reasons


def gate_holds(verdicts: Sequence[dict[str, Any]]) -> bool:
    return any(verdict.get("status") in GATED for verdict in verdicts)


def detail(verdict: dict[str, Any]) -> str:
    """What is wrong, in a few words: missing layers counted, else the failure code (the reasons are in the JSON
    answer and, for what was not judged, on stderr)."""
    missing = len(verdict.get("missingLayers") or []) + int(verdict.get("missingLayersOmitted") or 0)
    manifests = len(verdict.get("missingManifests") or []) + int(verdict.get("missingManifestsOmitted") or 0)
    parts = [f"{missing} missing layer{'s' if missing != 1 else ''}"] if missing else []
    parts += [f"{manifests} missing manifest{'s' if manifests != 1 else ''}"] if manifests else []
    if not parts and verdict.get("status") != COMPLETE:
        parts.append(str(verdict.get("failureCode") or "-"))
    return ", ".join(parts) or "-"


def render_table(images: Sequence[RequestedImage], verdicts: Sequence[dict[str, Any]], out: Writable, *,
                 width: int) -> None:  # fmt: skip
    """One line per image; a "used by" column when the answer names who runs an image (the API's stored usedBy)."""
    with_users = any(verdict.get("usedBy") for verdict in verdicts)
    rows = [
        [image.text, short_digest(verdict.get("imageDigest")), str(verdict.get("status", "")), detail(verdict),
         *([used_by_text(verdict)] if with_users else [])]
        for image, verdict in zip(images, verdicts, strict=True)
    ]  # fmt: skip
    headers = (*HEADERS, USED_BY) if with_users else HEADERS
    render_rows(TITLE, headers, rows, out, width=width, shrink_first=(0, 3))
