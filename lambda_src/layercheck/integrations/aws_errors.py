"""What every integration needs from a failed boto3 call: AWS's error code and message, read one way.

Each integration still translates them into its own domain error (STYLE.md: one translation per integration); this
module only reads botocore's exceptions, so that the reading is written once.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

UNKNOWN_CODE = "Unknown"


def code_and_message(error: ClientError | BotoCoreError) -> tuple[str, str]:
    """AWS's error code and message verbatim; a transport error (no answer from AWS) by its botocore class name."""
    if isinstance(error, ClientError):
        details: Any = error.response.get("Error", {})
        return str(details.get("Code", UNKNOWN_CODE)), str(details.get("Message", error))
    return type(error).__name__, str(error)


def error_code(error: ClientError | BotoCoreError) -> str:
    return code_and_message(error)[0]


def error_text(error: ClientError | BotoCoreError) -> str:
    """``"<code>: <message>"``, for a reason that names what AWS said."""
    code, message = code_and_message(error)
    return f"{code}: {message}"
