"""The local stand-in for AWS: a moto server on 127.0.0.1 and the environment the Lambda would get from the stack."""

from __future__ import annotations

import contextlib
import logging
import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from layercheck import idempotency_table_schema
from layercheck.contracts import environment as env
from layercheck.contracts import metrics as metric_names
from layercheck.results_table_schema import create_table_arguments
from local.lambda_context import LOCAL_ACCOUNT_ID, LOCAL_REGION
from local.moto_ecr import teach_image_replication_status, teach_pull_through_cache_rules
from local.moto_lifecycle import teach_lifecycle_previews

RESULTS_TABLE_NAME = "layercheck-results"
AUDIT_QUEUE_NAME = "layercheck-audit"
IDEMPOTENCY_TABLE_NAME = "layercheck-idempotency"
EVENT_BUS_NAME = "layercheck-events"


def lambda_environment(endpoint_url: str) -> dict[str, str]:
    """What the CDK stack sets on the function, pointed at the local endpoint through botocore's own variable."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        "AWS_REGION": LOCAL_REGION,
        env.RESULTS_TABLE_NAME: RESULTS_TABLE_NAME,
        env.IDEMPOTENCY_TABLE_NAME: IDEMPOTENCY_TABLE_NAME,
        env.AUDIT_QUEUE_URL: audit_queue_url(endpoint_url),
        env.EVENT_BUS_NAME: EVENT_BUS_NAME,
        env.POWERTOOLS_SERVICE_NAME: metric_names.SERVICE_NAME,
        env.POWERTOOLS_METRICS_NAMESPACE: metric_names.NAMESPACE,
        env.POWERTOOLS_TRACE_DISABLED: "true",
        env.POWERTOOLS_LOG_LEVEL: os.environ.get(env.POWERTOOLS_LOG_LEVEL, "WARNING"),
    }


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on a free 127.0.0.1 port for the duration of the block; yields its endpoint URL."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per AWS call drowns the output
    teach_pull_through_cache_rules()
    teach_image_replication_status()
    teach_lifecycle_previews()  # moto has no lifecycle previews: the documented stand-in (local/moto_lifecycle.py)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # moto keeps its backends per process, not per server: start every server from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10).close()
    try:
        yield endpoint
    finally:
        server.stop()


@contextlib.contextmanager
def patched_environ(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def create_results_table(endpoint_url: str, table_name: str = RESULTS_TABLE_NAME) -> None:
    """The table the stack deploys, from the one shared key-schema definition (it cannot drift from the stack)."""
    dynamodb: Any = boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name=LOCAL_REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    dynamodb.create_table(**create_table_arguments(table_name))
    dynamodb.update_time_to_live(
        TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"}
    )
    create_event_bus(
        {
            "endpoint_url": endpoint_url,
            "region_name": LOCAL_REGION,
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
    )


def create_event_bus(where: dict[str, Any]) -> None:
    """The bus for "Image Verdict Changed" events (EVENT_BUS_NAME), once: the API and the event doors both publish."""
    events: Any = boto3.client("events", **where)
    with contextlib.suppress(events.exceptions.ResourceAlreadyExistsException):
        events.create_event_bus(Name=EVENT_BUS_NAME)


def audit_queue_url(endpoint_url: str, queue_name: str = AUDIT_QUEUE_NAME) -> str:
    """The URL SQS (and moto) gives the audit queue: ``<endpoint>/<account>/<name>``."""
    return f"{endpoint_url}/{LOCAL_ACCOUNT_ID}/{queue_name}"


def create_event_resources(endpoint_url: str | None = None, *, visibility_timeout: int = 30) -> str:
    """The idempotency table, the audit queue and the change-event bus the stack deploys for the event doors;
    returns the queue URL.

    With no endpoint the clients go wherever the environment points them (moto in-process in the tests)."""
    where: dict[str, Any] = {"region_name": LOCAL_REGION}
    if endpoint_url:
        where |= {"endpoint_url": endpoint_url, "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    dynamodb: Any = boto3.client("dynamodb", **where)
    dynamodb.create_table(**idempotency_table_schema.create_table_arguments(IDEMPOTENCY_TABLE_NAME))
    dynamodb.update_time_to_live(
        TableName=IDEMPOTENCY_TABLE_NAME,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": idempotency_table_schema.TTL_ATTRIBUTE},
    )
    create_event_bus(where)
    sqs: Any = boto3.client("sqs", **where)
    url: str = sqs.create_queue(QueueName=AUDIT_QUEUE_NAME, Attributes={"VisibilityTimeout": str(visibility_timeout)})[
        "QueueUrl"
    ]
    return url
