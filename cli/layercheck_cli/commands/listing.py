"""What ``list-results`` and ``list-images`` share: the API URL, the AWS CLI's pagination options, and the run."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from layercheck.contracts import routes
from layercheck_cli import api
from layercheck_cli.errors import ApiError, CliError, UsageError
from layercheck_cli.exit_codes import EXIT_OK
from layercheck_cli.formatters import render
from layercheck_cli.paging import Paging, read_pages
from layercheck_cli.parser import Option
from layercheck_cli.resolve import compile_query, connection_options, output_format
from layercheck_cli.session import make_session
from layercheck_cli.table import terminal_width

API_URL_HELP = (
    "The deployed layercheck API's URL (https://, or http:// to 127.0.0.1 for make serve); requests are SigV4-signed."
)
API_URL = Option(("--api-url",), API_URL_HELP, required=True)
PAGING_OPTIONS: tuple[Option, ...] = (
    Option(("--max-items",), "The total number of items to print; a NextToken resumes the listing.",
           kwargs={"type": int}),
    Option(("--starting-token",), "The NextToken a previous listing printed: start where it stopped."),
    Option(("--page-size",), "Items per API call (the API's limit, 1-100); all pages are read either way.",
           kwargs={"type": int}),
)  # fmt: skip


# The API's paging parameters, by the options they come from, so that a refusal names what the user typed.
OPTION_OF_PARAMETER = {routes.NEXT_TOKEN: "--starting-token", routes.LIMIT: "--page-size"}


def _as_option_error(error: ApiError, namespace: argparse.Namespace) -> CliError:
    """A 4xx naming ``nextToken`` (a token from --starting-token the API did not issue) or ``limit`` is a bad value of
    that option; anything else stays the API's error."""
    given = {routes.NEXT_TOKEN: namespace.starting_token, routes.LIMIT: namespace.page_size}
    for parameter in error.fields:
        if parameter in OPTION_OF_PARAMETER and given[parameter] is not None and 400 <= error.status < 500:
            return CliError(f"Bad value for {OPTION_OF_PARAMETER[parameter]}: the API refused it: {error.message}")
    return error


# A command's own --output table (without --query): the answer, stdout, the terminal's width.
TableView = Callable[[dict[str, Any], TextIO, int], None]


def run_listing(
    namespace: argparse.Namespace,
    path: str,
    parameters: Iterable[tuple[str, str | None]],
    command_name: str,
    table: TableView | None = None,
) -> int:
    """GET ``path`` with the query ``parameters`` that have a value, through every page the paging options ask for,
    and print the items (in ``table``'s view for --output table without --query)."""
    query = {name: value for name, value in parameters if value is not None}
    if not namespace.api_url:
        raise UsageError("the following arguments are required: --api-url")
    jmespath_query = compile_query(namespace.query)
    options = connection_options(namespace)
    session = make_session(options)

    def fetch(token: str | None, limit: int | None) -> dict[str, Any]:
        page_query = dict(query)
        if token:
            page_query[routes.NEXT_TOKEN] = token
        if limit:
            page_query[routes.LIMIT] = str(limit)
        try:
            return api.call_api(session, options, "GET", api.route_url(namespace.api_url, path, page_query))
        except ApiError as error:
            raise _as_option_error(error, namespace) from error

    paging = Paging(namespace.max_items, namespace.starting_token, namespace.page_size, namespace.paginate)
    answer = read_pages(fetch, paging)
    output = output_format(namespace, session)
    if table is not None and output == "table" and jmespath_query is None:
        table(answer, sys.stdout, terminal_width(sys.stdout))
        sys.stdout.flush()
    else:
        render(answer, output=output, command_name=command_name, query=jmespath_query, color=namespace.color)
    return EXIT_OK
