"""The images ``check-image`` is asked about: its arguments, then ``--images-file FILE`` (``-``: stdin), one reference a
line (blank lines and ``#`` comments skipped), each read by the service's image-URI parser (``images.py``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from layercheck_cli.errors import CliError, UsageError
from layercheck_cli.images import ImageReference, parse_image_reference, refuse_other_registries
from layercheck_cli.inputs import STDIN

IMAGE_METAVAR = "REPOSITORY[:TAG|@DIGEST]"


@dataclass(frozen=True)
class RequestedImage:
    """One image as the user wrote it, and as it was read."""

    text: str
    reference: ImageReference


def _file_lines(path: str, stdin: TextIO | None) -> list[tuple[str, str]]:
    """(where, text) of every reference in the file: ``where`` names the line for error messages."""
    if path == STDIN:
        name, text = "stdin", (stdin or sys.stdin).read()
    else:
        name = path
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as error:
            raise CliError(f"Bad value for --images-file: {error}") from error
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if entry:
            entries.append((f"--images-file {name} line {number}", entry))
    return entries


def requested_images(
    arguments: Sequence[str], images_file: str | None, *, stdin: TextIO | None = None
) -> list[RequestedImage]:
    """Every image asked, in order; raises ``UsageError`` for none or a malformed reference (naming where it was),
    ``NotEcrPrivateError`` for an image of another registry (Docker Hub, ghcr.io, public.ecr.aws ...)."""
    entries = [("argument", text) for text in arguments]
    if images_file is not None:
        entries += _file_lines(images_file, stdin)
    if not entries:
        raise UsageError(f"the following arguments are required: {IMAGE_METAVAR} (or --images-file)")
    refuse_other_registries([text for _, text in entries])
    requested = []
    for where, text in entries:
        try:
            requested.append(RequestedImage(text, parse_image_reference(text)))
        except UsageError as error:
            raise UsageError(f"{error} ({where})" if where != "argument" else str(error)) from error
    return requested
