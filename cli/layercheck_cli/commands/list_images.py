"""``layercheck list-images``: image verdicts across every audited repository, account and Region, by status, or of
one repository (``GET /images`` of the deployed API, DESIGN.md's contract)."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from layercheck.contracts import routes
from layercheck_cli.commands.listing import API_URL, PAGING_OPTIONS, run_listing
from layercheck_cli.errors import UsageError
from layercheck_cli.paging import API_TOKEN, ITEMS, PRINTED_TOKEN
from layercheck_cli.parser import Command, Option
from layercheck_cli.rows_table import render_rows, short_digest, tags_text, used_by_text

NAME = "list-images"
TITLE = "ListImages"
HEADERS = ("repository", "tags", "digest", "status", "used by")
STATUSES = ("BROKEN", "MISSING", "UNCHECKED", "ARCHIVED")

OPTIONS: tuple[Option, ...] = (
    API_URL,
    Option(("--status",), "Images with this verdict in every repository (default BROKEN unless --repository-name).",
           kwargs={"choices": STATUSES}),
    Option(("--repository-name",), "The image verdicts of this repository."),
    Option(("--registry-id",), "Only this registry (account)."),
    Option(("--image-region",), "Only images in this Region (the API's region filter; --region signs the request)."),
    *PAGING_OPTIONS,
)  # fmt: skip

EXAMPLES = """\
  # Every broken image the service knows of, one line each:
  layercheck list-images --api-url https://abc123.execute-api.eu-west-1.amazonaws.com/v1 --status BROKEN \\
      --query "items[].[repositoryName, join(',', imageTags), imageDigest]" --output text
  # One line per image: repository, tags, digest, status, who runs it:
  layercheck list-images --api-url "$LAYERCHECK_API_URL" --repository-name team-a/api --output table
"""


def run(namespace: argparse.Namespace) -> int:
    if namespace.repository_name is not None and namespace.status is not None:
        raise UsageError("give one of --status and --repository-name, not both")
    status = namespace.status or (None if namespace.repository_name else "BROKEN")
    parameters = (
        (routes.STATUS, status),
        (routes.REPOSITORY_NAME, namespace.repository_name),
        (routes.REGISTRY_ID, namespace.registry_id),
        (routes.REGION, namespace.image_region),
    )
    return run_listing(namespace, routes.IMAGES, parameters, TITLE, table=render_image_rows)


def render_image_rows(answer: dict[str, Any], out: TextIO, width: int) -> None:
    """``--output table``: one line per image (repository, tags, digest, status, who runs it), then the NextToken a
    capped listing resumes from."""
    rows = [
        [str(item.get("repositoryName", "")), tags_text(item), short_digest(item.get("imageDigest")),
         str(item.get("status", "")), used_by_text(item)]
        for item in answer.get(ITEMS) or []
    ]  # fmt: skip
    render_rows(TITLE, HEADERS, rows, out, width=width, shrink_first=(4, 1, 0))
    token = answer.get(PRINTED_TOKEN) or answer.get(API_TOKEN)
    if token:
        out.write(f"NextToken: {token}\n")


COMMAND = Command(
    name=NAME,
    summary="List image verdicts by status across the registry, or of one repository (GET /images of the API).",
    description=(
        "Read the image verdicts the deployed layercheck service stored: every image with a status (BROKEN by "
        "default, MISSING, UNCHECKED, ARCHIVED) across the audited repositories, accounts and Regions, or every "
        "image of one repository. Pages are read as the AWS CLI reads them."
    ),
    examples=EXAMPLES,
    options=OPTIONS,
    run=run,
)
