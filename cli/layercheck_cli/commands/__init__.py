"""One module per command; ``COMMANDS`` is the order ``layercheck --help`` lists them in."""

from __future__ import annotations

from layercheck_cli.commands import (
    audit,
    batch_check,
    check_image,
    completion,
    list_images,
    list_results,
    preview_lifecycle,
    report,
)
from layercheck_cli.parser import Command

COMMANDS: tuple[Command, ...] = (
    batch_check.COMMAND,
    check_image.COMMAND,
    list_results.COMMAND,
    list_images.COMMAND,
    audit.COMMAND,
    preview_lifecycle.COMMAND,
    report.COMMAND,
    completion.COMMAND,
)
