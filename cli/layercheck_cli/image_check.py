"""``check-image``: waits for ``layercheck.logic.images`` (the manifest walk shared with the push door)."""

from __future__ import annotations

from typing import Any

import botocore.session

from layercheck_cli.errors import CliError
from layercheck_cli.session import ConnectionOptions


def check_image(
    reference: str,
    session: botocore.session.Session,
    options: ConnectionOptions,
    *,
    registry_id: str | None,
    repository_names: list[str],
    workers: int,
) -> dict[str, Any]:
    raise CliError("check-image is not available yet: it needs layercheck.logic.images")


def is_complete(verdict: dict[str, Any]) -> bool:
    return verdict.get("status") == "COMPLETE"
