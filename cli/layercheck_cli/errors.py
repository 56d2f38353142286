"""Errors of the command line itself; each is printed on stderr and ends the command with the AWS CLI's exit code."""

from __future__ import annotations


class CliError(Exception):
    """An error the AWS CLI would report as ``\\n<message>\\n`` on stderr with exit code 255."""


class UsageError(CliError):
    """Wrong or missing options: printed after the usage text, exit code 2 (argparse's, as the AWS CLI v1 exits)."""


class UnknownOptionsError(CliError):
    """Options nobody recognised: usage text, then ``Unknown options: …``, exit code 255 like the AWS CLI v1."""


class ApiError(CliError):
    """The layercheck API answered with an error status."""

    def __init__(self, status: int, code: str, message: str, fields: tuple[str, ...] = ()) -> None:
        super().__init__(f"An error occurred ({code}) when calling the layercheck API (HTTP {status}): {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields  # the request fields the API's answer names (ErrorResponse.errors[].field)
