"""Domain exceptions: they carry data (codes, the items concerned), not just a message; doors map them to responses."""

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


class RequestRuleError(LayercheckError):
    """A request breaks a rule its schema cannot express (e.g. "exactly one of two parameters")."""

    def __init__(self, location: str, field: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.location = location
        self.field = field
        self.rule = rule
        self.message = message


class RegistryNotServedError(LayercheckError):
    """A request names a registry this deployment does not serve (``REGISTRY_IDS``; default: this account only)."""

    def __init__(self, registry_id: str) -> None:
        super().__init__(f"registry {registry_id} is not served by this deployment")
        self.registry_id = registry_id


class RegionNotAuditedError(LayercheckError):
    """A request names a Region the deployment does not audit (``AUDIT_REGIONS``; default: the function's own)."""

    def __init__(self, region: str, audited: Sequence[str]) -> None:
        super().__init__(f"region {region} is not audited (audited: {', '.join(audited)})")
        self.region = region
        self.audited = list(audited)


class RepositoryOutOfScopeError(LayercheckError):
    """A request names a repository outside the audit's scope (``AUDIT_REPOSITORY_PREFIXES``)."""

    def __init__(self, repositories: Sequence[str], prefixes: Sequence[str]) -> None:
        super().__init__(f"repositories {list(repositories)} are outside the audited prefixes {list(prefixes)}")
        self.repositories = list(repositories)
        self.prefixes = list(prefixes)


class InventoryBoundError(LayercheckError):
    """A report would take a source's or a registry's inventory past its bound (``bound`` names the constant)."""

    def __init__(self, bound: str, where: str, limit: int, held: int, adding: int) -> None:
        super().__init__(
            f"{bound} is {limit} unexpired entries ({where}): {held} held, and this report adds {adding}; entries "
            "expire after INVENTORY_TTL_HOURS without a new report"
        )
        self.bound = bound
        self.where = where
        self.limit = limit
        self.held = held
        self.adding = adding


class InvalidPageTokenError(LayercheckError):
    """A ``nextToken`` that this API did not issue (or that was altered)."""


class UnsupportedEventError(LayercheckError):
    """An event no door recognises; raised so that an asynchronous caller's retries and DLQ keep it."""

    def __init__(self, summary: str) -> None:
        super().__init__(f"unsupported event: {summary}")
        self.summary = summary


# ECR call errors that a later attempt may not meet: throttling still there after botocore's retries, ECR's own 5xx,
# and transport errors (``translate_error`` names those by their botocore class).
TRANSIENT_ERROR_CODES = frozenset(
    {
        "ThrottlingException",
        "ServerException",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
    }
)


def is_transient(code: str) -> bool:
    return code in TRANSIENT_ERROR_CODES


class TransientCheckError(LayercheckError):
    """A check could not finish for a reason that may pass (throttling, ECR 5xx, network): retry the event or item.

    Raised before anything is stored or counted, so the retry neither duplicates items nor double-counts metrics.
    """

    def __init__(self, repository_name: str, codes: Sequence[str]) -> None:
        super().__init__(f"transient ECR errors checking {repository_name}: {', '.join(sorted(set(codes)))}")
        self.repository_name = repository_name
        self.codes = sorted(set(codes))


def raise_if_transient(error: RepositoryCheckError, what: str) -> None:
    """The one translation of an ECR error that may pass (throttling, 5xx, network) into ``TransientCheckError``
    (``what``: the repository, or what was being read), so that the event or work item is tried again; any other
    error is left to the caller."""
    if is_transient(error.code):
        raise TransientCheckError(what, [error.code]) from error


class WorkItemsNotQueuedError(LayercheckError):
    """SQS refused some audit work items after every retry; ``failures`` maps each item's position to the reason."""

    def __init__(self, failures: dict[int, str]) -> None:
        super().__init__(f"{len(failures)} audit work items not queued: {sorted(set(failures.values()))[:3]}")
        self.failures = dict(failures)


class AuditScopeError(LayercheckError):
    """A constant input asked to audit outside the scope the stack configured; ``prefixes`` are the offenders."""

    def __init__(self, prefixes: Sequence[str], allowed: Sequence[str]) -> None:
        super().__init__(f"repository prefixes {list(prefixes)} are outside the configured scope {list(allowed)}")
        self.prefixes = list(prefixes)
        self.allowed = list(allowed)


class MissingConfigurationError(LayercheckError):
    """An environment variable a door needs is not set (the stack sets it; a local run must too)."""

    def __init__(self, variable: str, door: str) -> None:
        super().__init__(f"{variable} must be set for the {door} door")
        self.variable = variable
        self.door = door


class InvalidEventError(LayercheckError):
    """An event reached a door in a shape that door does not accept; ``errors`` are pydantic's, location and rule."""

    def __init__(self, door: str, errors: Sequence[Any]) -> None:
        summary = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in errors[:5])
        super().__init__(f"invalid {door} event: {summary}")
        self.door = door
        self.errors = list(errors)
