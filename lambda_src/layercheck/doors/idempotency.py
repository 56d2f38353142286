"""At-most-once effects for at-least-once deliveries: Powertools Idempotency over the idempotency table.

EventBridge, Lambda's asynchronous queue and SQS may each deliver the same event twice. A door runs its work through
``run_once`` with a key naming the delivery (the push event's id, the audit's id, the work item itself): the first
delivery stores its small summary under the key; a repeat returns that summary without calling ECR, writing items or
emitting metrics. A delivery that raises deletes its record, so a retry runs for real.
https://docs.aws.amazon.com/powertools/python/latest/utilities/idempotency/
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from layercheck.contracts import environment as env
from layercheck.dependencies import cached, dynamodb_client
from layercheck.errors import MissingConfigurationError
from layercheck.idempotency_table_schema import PARTITION_KEY, TTL_ATTRIBUTE
from layercheck.settings import load_settings

KEY_PATH = "key"  # the delivery key's path in the data below: idempotency_config()'s event_key_jmespath


@cached
def idempotency_store() -> DynamoDBPersistenceLayer:
    """Powertools' DynamoDB persistence layer; records expire after ``IDEMPOTENCY_EXPIRES_SECONDS``."""
    table_name = load_settings().idempotency_table_name
    if not table_name:
        raise MissingConfigurationError(env.IDEMPOTENCY_TABLE_NAME, "event")
    return DynamoDBPersistenceLayer(
        table_name=table_name, key_attr=PARTITION_KEY, expiry_attr=TTL_ATTRIBUTE, boto3_client=dynamodb_client()
    )


@cached
def idempotency_config() -> IdempotencyConfig:
    """One configuration for every door: Powertools configures a persistence layer once, with the first config it
    sees. ``key`` is the path of the delivery key in the data each door passes (see doors/idempotency.py)."""
    return IdempotencyConfig(
        event_key_jmespath="key",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=load_settings().idempotency_expires_seconds,
    )


def run_once(key: str, work: Callable[[], dict[str, Any]], context: LambdaContext) -> dict[str, Any]:
    """``work()`` once per ``key``; a repeat returns the first delivery's result. The Lambda context lets Powertools
    expire an in-progress record when the invocation times out, so a crash does not block retries for long."""
    config = idempotency_config()
    config.register_lambda_context(context)

    def once(data: dict[str, str]) -> dict[str, Any]:
        return work()

    wrapped = idempotent_function(
        once, data_keyword_argument="data", persistence_store=idempotency_store(), config=config
    )
    result: dict[str, Any] = wrapped(data={KEY_PATH: key})
    return result
