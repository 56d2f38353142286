"""What the fault proxy does to a request: the plan, the counts it keeps, and the answers AWS gives when overloaded.

Shared by the proxy (local/faultproxy.py), the tests that steer it and the benchmarks' stand-in ECR.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

DEFAULT_LATENCY_SECONDS = 0.025
AMZ_JSON_1_1 = "application/x-amz-json-1.1"


class FaultKind(StrEnum):
    THROTTLING = "throttling"
    UNAVAILABLE = "unavailable"
    DROPPED = "dropped"


@dataclass(frozen=True)
class FaultPlan:
    """What the proxy does to each request. Shares are probabilities per request, drawn independently per attempt."""

    latency_seconds: float = DEFAULT_LATENCY_SECONDS
    throttle_share: float = 0.0
    unavailable_share: float = 0.0
    drop_share: float = 0.0
    seed: int = 0
    # Faults apply only to requests whose X-Amz-Target starts with one of these (empty: every request);
    # e.g. "AmazonEC2ContainerRegistry_" leaves DynamoDB alone.
    fault_targets: tuple[str, ...] = ()
    # Requests whose JSON body names one of these repositories (``repositoryName``) are always throttled.
    throttled_repositories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        shares = (self.throttle_share, self.unavailable_share, self.drop_share)
        if any(share < 0 for share in shares) or sum(shares) > 1 or self.latency_seconds < 0:
            raise ValueError(f"fault shares must be >= 0 and add up to at most 1, latency >= 0: {self}")

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> FaultPlan:
        values = dict(document)
        for name in ("fault_targets", "throttled_repositories"):
            if name in values:
                values[name] = tuple(values[name])
        return cls(**values)


@dataclass
class ProxyStats:
    """Counts since the last reset; ``requests`` and ``forwarded`` are keyed by operation (X-Amz-Target's action)."""

    requests: Counter[str] = field(default_factory=Counter)
    forwarded: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    faults_by_operation: Counter[str] = field(default_factory=Counter)

    def snapshot(self) -> ProxyStats:
        return ProxyStats(
            Counter(self.requests), Counter(self.forwarded), Counter(self.faults), Counter(self.faults_by_operation)
        )

    def to_json(self) -> dict[str, dict[str, int]]:
        return {
            "requests": dict(self.requests),
            "forwarded": dict(self.forwarded),
            "faults": {str(kind): count for kind, count in self.faults.items()},
            "faults_by_operation": dict(self.faults_by_operation),
        }

    @classmethod
    def from_json(cls, document: dict[str, dict[str, int]]) -> ProxyStats:
        return cls(**{name: Counter(counts) for name, counts in document.items()})


def operation_name(target: str | None) -> str:
    """``AmazonEC2ContainerRegistry_V20150921.BatchCheckLayerAvailability`` -> ``BatchCheckLayerAvailability``."""
    if not target:
        return "(no X-Amz-Target)"
    return target.rsplit(".", 1)[-1]


def fault_response(kind: FaultKind) -> tuple[int, list[tuple[str, str]], bytes]:
    """The answer AWS gives for an injected fault, in the AWS JSON 1.1 protocol botocore expects from ECR."""
    if kind is FaultKind.THROTTLING:
        status, error_type, message = 400, "ThrottlingException", "Rate exceeded"
    else:
        status, error_type, message = 503, "ServiceUnavailableException", "Service Unavailable"
    body = json.dumps({"__type": error_type, "message": message}).encode()
    headers = [
        ("Content-Type", AMZ_JSON_1_1),
        ("x-amzn-ErrorType", f"{error_type}:"),
        ("x-amzn-RequestId", hashlib.sha256(body + str(time.monotonic_ns()).encode()).hexdigest()[:36]),
    ]
    return status, headers, body
