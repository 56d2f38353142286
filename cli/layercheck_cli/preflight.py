"""What a command checks before it asks AWS anything, so that it fails closed with a reason a person can act on:
credentials that exist, and an account (registry) it can name.

The single-repository ``batch-check-layer-availability`` does not come here: it keeps the AWS CLI's own errors byte for
byte (``main.report_error``).
"""

from __future__ import annotations

import logging
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from layercheck_cli.errors import CliError
from layercheck_cli.session import ConnectionOptions, make_client

LOG = logging.getLogger(__name__)

CREDENTIALS_HELP = (
    "Unable to locate AWS credentials: layercheck reads Amazon ECR with your credentials, as the AWS CLI does. "
    "Provide them in one of these ways:\n"
    "  - environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN, temporary ones);\n"
    "  - aws configure (writes ~/.aws/credentials), or a named profile: --profile NAME or AWS_PROFILE=NAME;\n"
    "  - IAM Identity Center (SSO): aws configure sso, then aws sso login --profile NAME and --profile NAME;\n"
    "  - on AWS compute (EC2, ECS, Lambda, CodeBuild), the role the environment provides."
)
TRANSPORT_ERRORS = frozenset(
    {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "ProxyConnectionError",
    }
)


class CredentialsMissingError(CliError):
    """No credentials anywhere botocore looks: the message says how to provide them."""

    def __init__(self) -> None:
        super().__init__(CREDENTIALS_HELP)


class UnreachableError(CliError):
    """An AWS endpoint (or the layercheck API) did not answer at all: the message names it."""

    def __init__(self, what: str, detail: str, *, check: str = "--endpoint-url / AWS_ENDPOINT_URL, the Region") -> None:
        super().__init__(f"{what} is unreachable: {detail}. Check {check}, your network and proxy settings.")


def require_credentials(session: botocore.session.Session, options: ConnectionOptions) -> None:
    """Fail before any call when nothing is signed with (``--no-sign-request`` needs none)."""
    if options.sign_request and session.get_credentials() is None:
        raise CredentialsMissingError()


def is_unreachable(error: BaseException) -> bool:
    return isinstance(error, EndpointConnectionError) or type(error).__name__ in TRANSPORT_ERRORS


def caller_registry_id(session: botocore.session.Session, options: ConnectionOptions, ecr: Any) -> str:
    """The caller's account, which is ECR's default registry: ECR's DescribeRegistry, else STS GetCallerIdentity.

    Unlike ``multi.default_registry_id`` (where a registry shown as "" is harmless), a command that must name the
    registry it audits fails here, saying why: ECR unreachable, or neither call allowed (then ``--registry-id``)."""
    quick = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=10)
    errors: list[BaseException] = []
    try:
        return str(ecr.describe_registry()["registryId"])
    except (ClientError, BotoCoreError) as error:
        LOG.debug("DescribeRegistry failed: %s", error)
        if is_unreachable(error):
            raise UnreachableError("Amazon ECR", str(error)) from error
        errors.append(error)
    try:
        sts = make_client(session, "sts", options, base_config=quick, use_endpoint_url=False)
        return str(sts.get_caller_identity()["Account"])
    except (ClientError, BotoCoreError) as error:
        LOG.debug("GetCallerIdentity failed: %s", error)
        errors.append(error)
    reasons = "; ".join(str(error) for error in errors)
    raise CliError(f"Could not tell your account's registry (ECR DescribeRegistry, then STS): {reasons}. Give "
                   "--registry-id.")  # fmt: skip


def registry_of_caller(session: botocore.session.Session, options: ConnectionOptions, ecr: Any) -> str:
    """The caller's registry when it can be told, else "" (ECR's default registry: the caller's own, unnamed); only
    an unreachable ECR raises (``UnreachableError``), so that a check says so instead of failing image by image."""
    try:
        return caller_registry_id(session, options, ecr)
    except UnreachableError:
        raise
    except CliError:
        return ""
