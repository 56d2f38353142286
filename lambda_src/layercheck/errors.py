"""Domain exceptions. They carry data (codes, the items concerned), never just a message; doors map them to responses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class LayercheckError(Exception):
    """Base of every error layercheck raises on purpose."""


class RepositoryCheckError(LayercheckError):
    """ECR refused a call for a whole repository (not found, access denied, still throttled after retries ...).

    ``code`` is ECR's error code verbatim (``RepositoryNotFoundException``) so it can stand as a ``failureCode``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ResultsNotStoredError(LayercheckError):
    """DynamoDB did not accept some verdicts after every retry; ``unstored_keys`` names them."""

    def __init__(self, unstored_keys: Sequence[dict[str, Any]], reason: str) -> None:
        super().__init__(f"{len(unstored_keys)} verdicts not stored: {reason}")
        self.unstored_keys = list(unstored_keys)
        self.reason = reason


class InvalidPageTokenError(LayercheckError):
    """A ``nextToken`` that this API did not issue (or that was altered)."""


class UnsupportedEventError(LayercheckError):
    """An event no door recognises; raised so that an asynchronous caller's retries and DLQ keep it."""

    def __init__(self, summary: str) -> None:
        super().__init__(f"unsupported event: {summary}")
        self.summary = summary
