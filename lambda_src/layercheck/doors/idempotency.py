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

from aws_lambda_powertools.utilities.idempotency import idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext

from layercheck.dependencies import idempotency_config, idempotency_store

KEY_PATH = "key"  # the delivery key's path in the data below: idempotency_config()'s event_key_jmespath


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
