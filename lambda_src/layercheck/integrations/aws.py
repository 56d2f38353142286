"""The AWS plumbing every integration shares: one client configuration, one back-off for what AWS answered but did not
do, DynamoDB's batched writes and reads, and listings that come in pages.

Each integration still owns its service (its calls, its answers, its errors); this module only knows how AWS's APIs
behave in general, so that a retry policy, a chunk size or a paging rule is written once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from layercheck.integrations.aws_errors import error_text
from layercheck.logic.chunks import chunked

# -- client configuration ----------------------------------------------------------------------------------------

# botocore's standard mode retries throttling, 5xx and connection errors with jittered exponential backoff;
# "total_max_attempts" counts the first try ("max_attempts" in this dict would count retries only).
# https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
RETRY_ATTEMPTS = 6
# botocore's own pool size: a client shared by fewer threads needs no more.
MIN_POOL_CONNECTIONS = 10
# Every call layercheck makes is answered in well under a second; a socket silent for longer than this is lost, and
# failing it leaves botocore time to retry within a Lambda invocation (botocore's defaults are 60 s each).
CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 20.0
USER_AGENT_EXTRA = "layercheck"

RetryMode = Literal["standard", "adaptive"]
T = TypeVar("T")


def client_config(
    threads: int = 1,
    *,
    attempts: int = RETRY_ATTEMPTS,
    retry_mode: RetryMode = "standard",
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    read_timeout: float = READ_TIMEOUT_SECONDS,
) -> Config:
    """The configuration of every client layercheck builds. ``threads`` that share the client each get a pooled
    connection (never fewer than botocore's 10), so that no worker waits for a socket; ``adaptive`` suits a control
    plane that throttles per account (the client slows down instead of spending its attempts)."""
    return Config(
        retries={"mode": retry_mode, "total_max_attempts": attempts},
        max_pool_connections=max(MIN_POOL_CONNECTIONS, threads),
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        user_agent_extra=USER_AGENT_EXTRA,
    )


# ECS and Lambda throttle their control-plane APIs per account (token buckets of roughly 20-50 calls/s): their
# clients run in adaptive mode, which slows down when throttled instead of spending its attempts.
CONTROL_PLANE_SERVICES = frozenset({"ecs", "lambda"})
CONTROL_PLANE_ATTEMPTS = 8


def control_plane_config(threads: int = 1) -> Config:
    """The configuration of an ECS or Lambda client (``CONTROL_PLANE_SERVICES``)."""
    return client_config(threads, attempts=CONTROL_PLANE_ATTEMPTS, retry_mode="adaptive")


# -- back-off ----------------------------------------------------------------------------------------------------

BACKOFF_BASE_SECONDS = 0.05
BACKOFF_CAP_SECONDS = 2.0


class Backoff:
    """Re-sending what AWS accepted but did not do (``UnprocessedItems``, failed entries): botocore cannot know about
    those, since the call itself succeeded. Exponential with full jitter, bounded: before re-send n (from 0) a pause
    drawn from [0, min(cap, base * 2**n)], as DynamoDB's BatchWriteItem reference advises.
    https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/

    A plain class, not a dataclass: this module loads with a check's cold start, and a dataclass costs its creation."""

    __slots__ = ("base_seconds", "cap_seconds", "retries", "sleep")

    def __init__(
        self,
        retries: int,
        *,
        base_seconds: float = BACKOFF_BASE_SECONDS,
        cap_seconds: float = BACKOFF_CAP_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.retries = retries
        self.base_seconds = base_seconds
        self.cap_seconds = cap_seconds
        self.sleep = sleep

    def attempts(self) -> Iterator[int]:
        """0 (the first try), then 1 to ``retries``, each after its pause; the caller stops consuming once done."""
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(random.uniform(0, min(self.cap_seconds, self.base_seconds * 2 ** (attempt - 1))))
            yield attempt


# -- DynamoDB's batched writes and reads -------------------------------------------------------------------------

# BatchWriteItem takes at most 25 put or delete requests, BatchGetItem at most 100 keys.
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html
MAX_ITEMS_PER_BATCH_WRITE = 25
MAX_KEYS_PER_BATCH_GET = 100


class BatchWriteOutcome:
    """The items DynamoDB did not store (none: every one was), and why (one reason per distinct cause)."""

    __slots__ = ("reasons", "unwritten")

    def __init__(self, unwritten: list[dict[str, Any]] | None = None, reasons: list[str] | None = None) -> None:
        self.unwritten = unwritten or []
        self.reasons = reasons or []


def batch_write(
    client: Any,
    table_name: str,
    records: Sequence[T],
    to_item: Callable[[T], dict[str, Any]],
    *,
    backoff: Backoff,
    workers: int = 1,
) -> BatchWriteOutcome:
    """PutRequest every record as ``to_item`` writes it (DynamoDB's attribute values; keys distinct), 25 a call on up
    to ``workers`` threads (each serialises its own batch, while the others wait for DynamoDB), re-sending what a call
    leaves in ``UnprocessedItems`` after ``backoff``'s pauses. A call that fails outright (botocore already retried
    throttling and 5xx) leaves its items unwritten; nothing is dropped without a reason."""
    batches = list(chunked(list(records), MAX_ITEMS_PER_BATCH_WRITE))
    if not batches:
        return BatchWriteOutcome()

    def write(batch: list[T]) -> tuple[list[dict[str, Any]], str]:
        return _write_batch(client, table_name, [to_item(record) for record in batch], backoff)

    if workers > 1 and len(batches) > 1:
        with ThreadPoolExecutor(max_workers=min(workers, len(batches)), thread_name_prefix="ddb-write") as pool:
            leftovers = list(pool.map(write, batches))
    else:
        leftovers = [write(batch) for batch in batches]
    return BatchWriteOutcome(
        unwritten=[item for left, _ in leftovers for item in left],
        reasons=sorted({reason for left, reason in leftovers if left}),
    )


def _write_batch(
    client: Any, table_name: str, batch: list[dict[str, Any]], backoff: Backoff
) -> tuple[list[dict[str, Any]], str]:
    requests: list[Any] = [{"PutRequest": {"Item": item}} for item in batch]
    for _ in backoff.attempts():
        try:
            response = client.batch_write_item(RequestItems={table_name: requests})
        except (ClientError, BotoCoreError) as error:
            return [request["PutRequest"]["Item"] for request in requests], error_text(error)
        requests = list(response.get("UnprocessedItems", {}).get(table_name, []))
        if not requests:
            return [], ""
    return [request["PutRequest"]["Item"] for request in requests], (
        f"still unprocessed after {backoff.retries} retries"
    )


def batch_get(
    client: Any, table_name: str, keys: Sequence[dict[str, Any]], *, backoff: Backoff, consistent: bool = False
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """GetItem of every key, 100 a call, re-sending ``UnprocessedKeys`` after ``backoff``'s pauses. Returns the items
    found and the keys still unprocessed after every retry; raises the ``ClientError`` / ``BotoCoreError`` of a call
    that fails outright."""
    found: list[dict[str, Any]] = []
    unprocessed: list[dict[str, Any]] = []
    for chunk in chunked(list(keys), MAX_KEYS_PER_BATCH_GET):
        request: dict[str, Any] = {"Keys": chunk, **({"ConsistentRead": True} if consistent else {})}
        for _ in backoff.attempts():
            response = client.batch_get_item(RequestItems={table_name: request})
            found.extend(response.get("Responses", {}).get(table_name, []))
            request = (response.get("UnprocessedKeys") or {}).get(table_name) or {}
            if not request.get("Keys"):
                break
        else:
            unprocessed.extend(request["Keys"])
    return found, unprocessed


# -- listings that come in pages ---------------------------------------------------------------------------------

# ECR's listings (DescribeRepositories, DescribeImages, DescribePullThroughCacheRules ...) take at most 1,000 results
# a page and continue with ``nextToken``; the last page carries none.
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImages.html
ECR_MAX_RESULTS = 1000
ECR_NEXT_TOKEN = "nextToken"


def ecr_pages(
    client: Any, operation: str, *, before_call: Callable[[], None] | None = None, **arguments: Any
) -> Iterator[dict[str, Any]]:
    """Every page of an ECR listing through botocore's paginator (which also refuses a token that repeats), fetched
    as the caller consumes them. ``before_call`` runs before each request (a rate limiter's token), and not after the
    last page: the page without ``nextToken`` ends the listing without asking the paginator again."""
    paginator = client.get_paginator(operation)
    pages = iter(paginator.paginate(**arguments, PaginationConfig={"PageSize": ECR_MAX_RESULTS}))
    while True:
        if before_call is not None:
            before_call()
        page: dict[str, Any] | None = next(pages, None)
        if page is None:
            return
        yield page
        if not page.get(ECR_NEXT_TOKEN):
            return


def query_pages(client: Any, **arguments: Any) -> Iterator[dict[str, Any]]:
    """Every page of a DynamoDB Query (botocore's paginator: ``LastEvaluatedKey`` handed back as
    ``ExclusiveStartKey``), fetched as the caller consumes them."""
    yield from client.get_paginator("query").paginate(**arguments)
