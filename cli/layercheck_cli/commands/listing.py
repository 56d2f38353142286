"""What ``list-results`` and ``list-images`` share: the API URL, the AWS CLI's pagination options, and the run."""

from __future__ import annotations

import argparse
from typing import Any

from layercheck_cli import api
from layercheck_cli.errors import UsageError
from layercheck_cli.exit_codes import EXIT_OK
from layercheck_cli.formatters import render
from layercheck_cli.paging import Paging, read_pages
from layercheck_cli.parser import Option
from layercheck_cli.resolve import compile_query, connection_options, output_format
from layercheck_cli.session import make_session

API_URL = Option(
    ("--api-url",),
    "The deployed layercheck API's URL (https://, or http:// to 127.0.0.1 for make serve); requests are SigV4-signed.",
    required=True,
)
PAGING_OPTIONS: tuple[Option, ...] = (
    Option(("--max-items",), "The total number of items to print; a NextToken resumes the listing.",
           kwargs={"type": int}),
    Option(("--starting-token",), "The NextToken a previous listing printed: start where it stopped."),
    Option(("--page-size",), "Items per API call (the API's limit, 1-100); all pages are read either way.",
           kwargs={"type": int}),
)  # fmt: skip


def run_listing(namespace: argparse.Namespace, path: str, query: dict[str, str], command_name: str) -> int:
    """GET ``path`` with ``query`` through every page the paging options ask for, and print the items."""
    if not namespace.api_url:
        raise UsageError("the following arguments are required: --api-url")
    jmespath_query = compile_query(namespace.query)
    options = connection_options(namespace)
    session = make_session(options)

    def fetch(token: str | None, limit: int | None) -> dict[str, Any]:
        parameters = dict(query)
        if token:
            parameters["nextToken"] = token
        if limit:
            parameters["limit"] = str(limit)
        return api.call_api(session, options, "GET", api.route_url(namespace.api_url, path, parameters))

    paging = Paging(namespace.max_items, namespace.starting_token, namespace.page_size, namespace.paginate)
    answer = read_pages(fetch, paging)
    render(
        answer,
        output=output_format(namespace, session),
        command_name=command_name,
        query=jmespath_query,
        color=namespace.color,
    )
    return EXIT_OK
