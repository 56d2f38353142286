"""Amazon ECR: the only module that talks to it. Translates ECR's answers into our models and its errors into ours."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from layercheck.errors import RepositoryCheckError
from layercheck.logic.check import DEFAULT_WORKERS, BatchAnswer
from layercheck.logic.ratelimit import RateLimiter
from layercheck.models.verdicts import LayerAnswer, LayerFailure

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

# botocore's standard mode retries throttling (ThrottlingException), 5xx and connection errors with jittered
# exponential backoff; "max_attempts" counts the first try. https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
RETRY_ATTEMPTS = 6


def client_config(workers: int = DEFAULT_WORKERS, *, connect_timeout: float = 5, read_timeout: float = 20) -> Config:
    """Shared by every thread of the check: enough pooled connections that no worker waits for a socket."""
    return Config(
        retries={"mode": "standard", "max_attempts": RETRY_ATTEMPTS},
        max_pool_connections=max(10, workers),
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        user_agent_extra="layercheck",
    )


@functools.cache
def default_client(workers: int = DEFAULT_WORKERS) -> ECRClient:
    """One client per container (boto3 clients are thread-safe); the endpoint comes from AWS_ENDPOINT_URL[_ECR]."""
    return boto3.client("ecr", config=client_config(workers))


def translate_error(error: ClientError | BotoCoreError) -> RepositoryCheckError:
    """ECR's error code verbatim (it becomes the digests' ``failureCode``); transport errors by their class name."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return RepositoryCheckError(details.get("Code", "Unknown"), details.get("Message", str(error)))
    return RepositoryCheckError(type(error).__name__, str(error))


class EcrRegistry:
    """Implements ``LayerAvailabilityPort`` over one shared ECR client."""

    def __init__(self, client: ECRClient | None = None, *, rate_limiter: RateLimiter | None = None) -> None:
        self._client = client or default_client()
        self._rate_limiter = rate_limiter

    def batch_check_layer_availability(
        self, registry_id: str, repository_name: str, layer_digests: list[str]
    ) -> BatchAnswer:
        if self._rate_limiter is not None:
            self._rate_limiter.acquire()
        try:
            response = self._client.batch_check_layer_availability(
                registryId=registry_id, repositoryName=repository_name, layerDigests=layer_digests
            )
        except (ClientError, BotoCoreError) as error:
            raise translate_error(error) from error
        return BatchAnswer(
            layers=[LayerAnswer.model_validate(layer) for layer in _as_dicts(response.get("layers", []))],
            failures=[LayerFailure.model_validate(failure) for failure in _as_dicts(response.get("failures", []))],
        )


def _as_dicts(items: Any) -> list[dict[str, Any]]:
    return [dict(item) for item in items]
