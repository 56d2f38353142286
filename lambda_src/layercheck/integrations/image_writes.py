"""The results table's image verdicts: read, merge (logic/verdict_merge.py), write on condition, and the outbox.

Each image is read first (BatchGetItem, strongly consistent, 100 keys a call), merged with its observation, and
written with one UpdateItem whose condition is the version read (results_updates.py). A writer that lost a race
(``ConditionalCheckFailedException``) reads the item again and decides again, so a change is staged exactly once and
an older observation never replaces a newer one. The read costs one BatchGetItem per 100 images: the audit writes
every image it checks anyway.
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from layercheck.integrations.aws import Backoff, batch_get, query_pages
from layercheck.integrations.aws_errors import code_and_message, error_text
from layercheck.integrations.results_table import from_dynamodb, item_key, to_dynamodb
from layercheck.integrations.results_updates import clear_arguments, image_update_arguments
from layercheck.logic.change_events import PendingChange
from layercheck.logic.verdict_merge import ImageObservation, ImageWrite, StoredImage, merge
from layercheck.models.stored import StoredImageVerdict
from layercheck.results_table_schema import (
    PARTITION_KEY,
    PENDING_CHANGE_INDEX,
    PENDING_CHANGE_INDEX_PARTITION_KEY,
    PENDING_CHANGE_VALUE,
    PENDING_CHANGES_ATTRIBUTE,
    SORT_KEY,
    VERSION_ATTRIBUTE,
    image_sort_key,
    partition_key,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

UNPROCESSED_RETRIES = 8
# A write refused because another writer changed the item meanwhile is decided again from a fresh read, this often.
CONFLICT_ATTEMPTS = 5
WRITE_WORKERS = 8
CONDITION_FAILED = "ConditionalCheckFailedException"

Key = tuple[str, str]


def stored_image(attributes: dict[str, Any], *, home_region: str) -> StoredImage:
    verdict = from_dynamodb(attributes, home_region=home_region)
    assert isinstance(verdict, StoredImageVerdict)
    return StoredImage(
        verdict=verdict,
        version=int(attributes.get(VERSION_ATTRIBUTE, {}).get("N", "0")),
        pending=pending_changes(attributes),
    )


def pending_changes(attributes: dict[str, Any]) -> tuple[PendingChange, ...]:
    waiting = attributes.get(PENDING_CHANGES_ATTRIBUTE, {}).get("M", {})
    changes = [
        PendingChange(
            change_id=change_id,
            detail_type=value["M"]["detailType"]["S"],
            detail=value["M"]["detail"]["S"],
            time=datetime.fromisoformat(value["M"]["time"]["S"]),
        )
        for change_id, value in waiting.items()
    ]
    return tuple(sorted(changes, key=lambda change: (change.time, change.change_id)))


class ImageVerdictWrites:
    """Implements ``logic.verdict_merge.ImageVerdictStore`` over the results table."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        *,
        home_region: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table_name = table_name
        self._client = client
        self._home_region = home_region
        self._backoff = Backoff(UNPROCESSED_RETRIES, sleep=sleep)

    # -- writes ----------------------------------------------------------------------------------------------------

    def write_images(self, observations: Sequence[ImageObservation], *, stage_changes: bool = True) -> list[ImageWrite]:
        observations = [self._in_region(observation) for observation in observations]
        keys = [self._key(observation.verdict) for observation in observations]
        latest = dict(zip(keys, observations, strict=True))  # one write per item, the last observation wins
        if not latest:
            return []
        try:
            stored = self._read(list(latest))
        except (ClientError, BotoCoreError) as error:
            return [ImageWrite(None, error_text(error)) for _ in keys]

        def write(key: Key) -> ImageWrite:
            return self._write(latest[key], stored.get(key), stage_changes=stage_changes)

        with ThreadPoolExecutor(max_workers=min(WRITE_WORKERS, len(latest)), thread_name_prefix="ddb-image") as pool:
            writes = dict(zip(latest, pool.map(write, latest), strict=True))
        return [writes[key] for key in keys]

    def _write(self, observation: ImageObservation, stored: StoredImage | None, *, stage_changes: bool) -> ImageWrite:
        key = self._key(observation.verdict)
        for _ in range(CONFLICT_ATTEMPTS):
            update = merge(stored, observation, stage_changes=stage_changes)
            if not update.groups and not update.staged:
                return ImageWrite(update)  # older than what the item holds in every group: nothing to write
            item = to_dynamodb(update.verdict)
            arguments = image_update_arguments(
                self._table_name,
                item,
                update,
                read_version=None if stored is None else stored.version,
                has_pending_map=bool(stored and stored.pending),
            )
            try:
                self._client.update_item(**arguments)
                return ImageWrite(update)
            except ClientError as error:
                if code_and_message(error)[0] != CONDITION_FAILED:
                    return ImageWrite(None, error_text(error))  # botocore already retried throttling and 5xx
            except BotoCoreError as error:
                return ImageWrite(None, error_text(error))
            try:
                stored = self._read_one(key)
            except (ClientError, BotoCoreError) as error:
                return ImageWrite(None, error_text(error))
        return ImageWrite(None, f"the item changed under {CONFLICT_ATTEMPTS} writes in a row")

    def clear_sent(self, verdict: StoredImageVerdict, change_ids: Sequence[str]) -> None:
        if not change_ids:
            return
        key = {name: {"S": value} for name, value in item_key(self._with_region(verdict)).items()}
        try:
            self._client.update_item(**clear_arguments(self._table_name, key, list(change_ids), whole=True))
            return
        except ClientError as error:
            if code_and_message(error)[0] != CONDITION_FAILED:
                return  # left waiting: the next occasion sends them again, same changeIds
        except BotoCoreError:
            return
        # Other changes wait beside these (a writer staged one meanwhile): remove only ours.
        try:
            self._client.update_item(**clear_arguments(self._table_name, key, list(change_ids), whole=False))
        except (ClientError, BotoCoreError):
            return

    def forget(self, stored: StoredImage) -> bool:
        """``logic.deletion.StoredImagesPort``: DeleteItem of the verdict, on condition that its version is still the
        one read (a writer that changed it meanwhile, an audit finding a user, wins: the item stays)."""
        key = {name: {"S": value} for name, value in item_key(self._with_region(stored.verdict)).items()}
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(#v)"}
        if stored.version:
            condition = {
                "ConditionExpression": "#v = :v",
                "ExpressionAttributeValues": {":v": {"N": str(stored.version)}},
            }
        try:
            self._client.delete_item(
                TableName=self._table_name, Key=key, ExpressionAttributeNames={"#v": VERSION_ATTRIBUTE}, **condition
            )
        except ClientError as error:
            if code_and_message(error)[0] == CONDITION_FAILED:
                return False
            raise
        return True

    # -- reads -----------------------------------------------------------------------------------------------------

    def has_verdict(self, registry_id: str, region: str, repository_name: str, reference: str) -> bool:
        """Whether the table holds a verdict of the image (a strongly consistent read of its key alone)."""
        key = {PARTITION_KEY: partition_key(registry_id, region, repository_name), SORT_KEY: image_sort_key(reference)}
        response = self._client.get_item(
            TableName=self._table_name,
            Key={name: {"S": value} for name, value in key.items()},
            ConsistentRead=True,
            ProjectionExpression="#k",
            ExpressionAttributeNames={"#k": PARTITION_KEY},
        )
        return "Item" in response

    def stored_image(self, registry_id: str, region: str, repository_name: str, reference: str) -> StoredImage | None:
        """``logic.deletion.StoredImagesPort``: the image's item as stored (strongly consistent), or None."""
        return self._read_one((partition_key(registry_id, region, repository_name), image_sort_key(reference)))

    def waiting(self, *, page_size: int = 100) -> Iterator[StoredImage]:
        """Every image item with changes waiting (the ``byPendingChange`` index), page by page."""
        arguments: dict[str, Any] = {
            "TableName": self._table_name,
            "IndexName": PENDING_CHANGE_INDEX,
            "KeyConditionExpression": "#k = :k",
            "ExpressionAttributeNames": {"#k": PENDING_CHANGE_INDEX_PARTITION_KEY},
            "ExpressionAttributeValues": {":k": {"S": PENDING_CHANGE_VALUE}},
            "Limit": page_size,
        }
        for page in query_pages(self._client, **arguments):
            for attributes in page.get("Items", []):
                yield stored_image(dict(attributes), home_region=self._home_region)

    def _read(self, keys: list[Key]) -> dict[Key, StoredImage]:
        """Every key's item as stored (strongly consistent); raises when DynamoDB leaves keys unread."""
        request = [{PARTITION_KEY: {"S": pk}, SORT_KEY: {"S": sk}} for pk, sk in keys]
        items, unread = batch_get(self._client, self._table_name, request, backoff=self._backoff, consistent=True)
        if unread:
            raise _unprocessed(len(unread))
        found: dict[Key, StoredImage] = {}
        for attributes in items:
            key = (attributes[PARTITION_KEY]["S"], attributes[SORT_KEY]["S"])
            found[key] = stored_image(dict(attributes), home_region=self._home_region)
        return found

    def _read_one(self, key: Key) -> StoredImage | None:
        response = self._client.get_item(
            TableName=self._table_name,
            Key={PARTITION_KEY: {"S": key[0]}, SORT_KEY: {"S": key[1]}},
            ConsistentRead=True,
        )
        attributes = response.get("Item")
        return None if not attributes else stored_image(dict(attributes), home_region=self._home_region)

    def _with_region(self, verdict: StoredImageVerdict) -> StoredImageVerdict:
        return verdict if verdict.region else verdict.model_copy(update={"region": self._home_region})

    def _in_region(self, observation: ImageObservation) -> ImageObservation:
        if observation.verdict.region:
            return observation
        return replace(observation, verdict=self._with_region(observation.verdict))

    @staticmethod
    def _key(verdict: StoredImageVerdict) -> Key:
        key = item_key(verdict)
        return key[PARTITION_KEY], key[SORT_KEY]


def _unprocessed(count: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": f"{count} keys still unprocessed"}},
        "BatchGetItem",
    )
