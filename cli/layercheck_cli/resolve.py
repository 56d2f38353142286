"""Option resolution shared by every command: connection options, ``--query``, ``--endpoint-url``, ``--output``."""

from __future__ import annotations

import argparse
import os
from typing import Any

import jmespath

from layercheck_cli.errors import CliError
from layercheck_cli.formatters import OUTPUT_FORMATS, Query
from layercheck_cli.session import ConnectionOptions


def connection_options(namespace: argparse.Namespace) -> ConnectionOptions:
    return ConnectionOptions(
        profile=namespace.profile,
        region=namespace.region,
        endpoint_url=namespace.endpoint_url,
        verify_ssl=namespace.verify_ssl,
        ca_bundle=namespace.ca_bundle,
        read_timeout=namespace.read_timeout,
        connect_timeout=namespace.connect_timeout,
        sign_request=namespace.sign_request,
    )


def compile_query(expression: str | None) -> Query | None:
    if expression is None:
        return None
    try:
        search: Query = jmespath.compile(expression).search
        return search
    except jmespath.exceptions.JMESPathError as error:
        raise CliError(f"Bad value for --query {expression}: {error}") from error


def check_endpoint_url(value: str | None) -> None:
    if value is not None and "://" not in value:
        raise CliError(
            f'Bad value for --endpoint-url "{value}": scheme is missing.  Must be of the form '
            "http://<hostname>/ or https://<hostname>/"
        )


def output_format(namespace: argparse.Namespace, session: Any) -> str:
    """``--output``, else ``AWS_DEFAULT_OUTPUT`` or the profile's ``output``, else json (as the AWS CLI resolves it)."""
    if namespace.output:
        return str(namespace.output)
    configured = os.environ.get("AWS_DEFAULT_OUTPUT")
    if not configured:
        try:
            configured = session.get_scoped_config().get("output")
        except Exception:  # a missing profile is reported when the client is created
            configured = None
    if configured not in OUTPUT_FORMATS:
        return "json"
    return str(configured)
