"""``--debug`` without secrets: the session token and request signatures are masked in every debug line.

botocore logs the canonical request (which carries ``x-amz-security-token``), the signature and, for client calls, the
prepared request's headers. A debug log is pasted into tickets and chat; a session token in it is a live credential.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "****"
_PATTERNS = (
    # the canonical request's header line and a headers dict's repr: x-amz-security-token:VALUE / 'X-Amz-...': b'VALUE'
    re.compile(r"(?i)(x-amz-security-token['\"]?\s*[:=]\s*b?['\"]?)([^'\"\s,}]+)"),
    # Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=HEX
    re.compile(r"(?i)(signature=)([0-9a-f]{16,})"),
    # botocore.auth: "Signature:\nHEX"
    re.compile(r"(?i)(signature:\s*)([0-9a-f]{16,})"),
    # presigned query strings
    re.compile(r"(?i)(x-amz-signature=|x-amz-security-token=)([^&\s'\"]+)"),
)

_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears in a debug line, whatever the line's shape."""
    if value:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda match: match.group(1) + MASK, text)
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Formats the record's message once, masked, so that no handler ever sees the secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
