"""Sessions and clients configured like the AWS CLI configures them from its global options.

Everything not given on the command line comes from botocore's own resolution (``AWS_PROFILE``, ``AWS_DEFAULT_REGION``,
``AWS_ENDPOINT_URL[_ECR]``, ``AWS_CA_BUNDLE``, the shared config and credentials files ...), as for boto3.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
from dataclasses import dataclass
from typing import Any

import botocore
import botocore.session
from botocore import UNSIGNED
from botocore.config import Config
from botocore.endpoint import DEFAULT_TIMEOUT

from layercheck_cli import __version__
from layercheck_cli.redact import RedactingFilter

LOG_FORMAT = "%(asctime)s - %(threadName)s - %(name)s - %(levelname)s - %(message)s"


@dataclass(frozen=True)
class ConnectionOptions:
    """The AWS CLI's connection-related global options, resolved."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    verify_ssl: bool = True
    ca_bundle: str | None = None
    read_timeout: int | None = None
    connect_timeout: int | None = None
    sign_request: bool = True

    @property
    def verify(self) -> bool | str | None:
        """``False`` with ``--no-verify-ssl``; else ``--ca-bundle`` or ``None`` (botocore reads config and env)."""
        return False if not self.verify_ssl else self.ca_bundle


def version_string() -> str:
    return (
        f"layercheck/{__version__} Python/{platform.python_version()} "
        f"{platform.system()}/{platform.release()} botocore/{botocore.__version__}"
    )


def make_session(options: ConnectionOptions) -> botocore.session.Session:
    session = botocore.session.Session()
    if options.profile:
        session.set_config_variable("profile", options.profile)
    if options.region:
        session.set_config_variable("region", options.region)
    session.user_agent_extra = f"layercheck/{__version__}"
    return session


def enable_debug_logging() -> None:
    """``--debug``: botocore's and our own debug logs on stderr, in the AWS CLI's log format, secrets masked."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RedactingFilter())
    for name in ("botocore", "layercheck", "layercheck_cli", "urllib3"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)


def timeout_seconds(value: int | None) -> float | None:
    """The AWS CLI's rule: unset means botocore's default (60 s), 0 means blocking (no timeout)."""
    if value is None:
        return float(DEFAULT_TIMEOUT)
    return None if value == 0 else value


def region_of(session: botocore.session.Session, options: ConnectionOptions) -> str | None:
    """``--region``, else botocore's resolution (``AWS_DEFAULT_REGION``, the profile), else ``AWS_REGION``."""
    region = options.region or session.get_config_variable("region") or os.environ.get("AWS_REGION")
    return str(region) if region else None


def client_config(options: ConnectionOptions, base: Config | None = None) -> Config:
    settings: dict[str, Any] = {
        "connect_timeout": timeout_seconds(options.connect_timeout),
        "read_timeout": timeout_seconds(options.read_timeout),
    }
    if not options.sign_request:
        settings["signature_version"] = UNSIGNED
    config = Config(**settings)
    return base.merge(config) if base is not None else config


def make_client(
    session: botocore.session.Session,
    service: str,
    options: ConnectionOptions,
    *,
    base_config: Config | None = None,
    use_endpoint_url: bool = True,
) -> Any:
    return session.create_client(
        service,
        region_name=region_of(session, options),
        endpoint_url=options.endpoint_url if use_endpoint_url else None,
        verify=options.verify,
        config=client_config(options, base_config),
    )


def https_verify(session: botocore.session.Session, options: ConnectionOptions) -> bool | str:
    """What a request outside botocore's clients verifies TLS with, resolved as botocore resolves it for a client:
    ``--no-verify-ssl``, else ``--ca-bundle``, else ``AWS_CA_BUNDLE`` or the profile's ``ca_bundle``, else certifi's."""
    if not options.verify_ssl:
        return False
    bundle = options.ca_bundle or session.get_config_variable("ca_bundle")
    return str(bundle) if bundle else True
