"""Move results-table items written before verdicts carried a Region to the keys that hold one.

    python -m local.migrate_keys --table NAME [--region REGION] [--dry-run]

Before: ``pk`` ``<registryId>#<repositoryName>`` and no ``region`` attribute. After: ``pk``
``<registryId>#<region>#<repositoryName>`` with ``region`` = REGION (default: the Region your AWS configuration names,
which must be the deployment's home Region: the Region of the table and the function), and image items gain the
``byImageStatus`` index keys, so GET /images?status= lists them. Each item is written at its new key first, then its
old item is deleted: a run stopped half-way leaves copies, never losses, and running it again finishes the job. Items
already at a new key, and the inventory's items, are left alone. A verdict written meanwhile by the upgraded function
at the new key is newer than the old item and is kept (the copy is conditional on the new key being free).

An item that cannot be read as a verdict (a field the models refuse, a value of the wrong type) is skipped, not moved
or deleted: the run goes on with the others, and lists the skipped items' keys on stderr (exit status 1), so that a
person can look at them; the others are never held up behind one.

Until it has run, old items stay readable: GET /results?layerDigest= finds them (as the home Region's), and the next
check of a repository writes its new items; GET /results?repositoryName= and GET /images read only new keys.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
from pydantic import ValidationError

from layercheck.integrations.results_table import from_dynamodb, to_dynamodb
from layercheck.results_table_schema import KEY_SEPARATOR, PARTITION_KEY, SORT_KEY

VERDICT_TYPES = frozenset({"layer", "image"})


@dataclass
class Migration:
    scanned: int = 0
    moved: int = 0
    kept_newer: int = 0
    # (pk, sk, why) of each item that could not be read as a verdict: left where it is
    unreadable: list[tuple[str, str, str]] = field(default_factory=list)


def legacy_items(client: Any, table_name: str) -> Iterator[dict[str, Any]]:
    """Verdict items without ``region`` whose pk has the two-part form."""
    for page in client.get_paginator("scan").paginate(TableName=table_name):
        for item in page["Items"]:
            if (
                "region" not in item
                and item.get("itemType", {}).get("S") in VERDICT_TYPES
                and item[PARTITION_KEY]["S"].count(KEY_SEPARATOR) == 1
            ):
                yield item


def migrate(client: Any, table_name: str, home_region: str, *, dry_run: bool = False) -> Migration:
    migration = Migration()
    for old in legacy_items(client, table_name):
        migration.scanned += 1
        try:
            new = to_dynamodb(from_dynamodb(old, home_region=home_region))
        except (ValidationError, ValueError, TypeError) as error:
            key = (old[PARTITION_KEY].get("S", "?"), old.get(SORT_KEY, {}).get("S", "?"))
            migration.unreadable.append((*key, _first_line(error)))
            continue
        if dry_run:
            migration.moved += 1
            continue
        try:
            client.put_item(
                TableName=table_name,
                Item=new,
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": PARTITION_KEY},
            )
            migration.moved += 1
        except client.exceptions.ConditionalCheckFailedException:
            migration.kept_newer += 1  # the upgraded function already wrote a newer verdict there
        client.delete_item(TableName=table_name, Key={PARTITION_KEY: old[PARTITION_KEY], SORT_KEY: old[SORT_KEY]})
    return migration


def _first_line(error: Exception) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0][:300]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.migrate_keys", description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", required=True, help="the results table's name (the stack's ResultsTable output)")
    parser.add_argument("--region", help="the deployment's home Region (default: your AWS configuration's)")
    parser.add_argument("--dry-run", action="store_true", help="count the items to move, change nothing")
    arguments = parser.parse_args(argv)
    client = boto3.client("dynamodb", region_name=arguments.region)
    home_region = arguments.region or client.meta.region_name
    result = migrate(client, arguments.table, home_region, dry_run=arguments.dry_run)
    verb = "would move" if arguments.dry_run else "moved"
    print(
        f"{arguments.table}: {result.scanned} items without a Region; {verb} {result.moved} to "
        f"<registryId>#{home_region}#<repositoryName>; {result.kept_newer} already had a newer verdict there"
    )
    if result.unreadable:
        print(f"{len(result.unreadable)} item(s) could not be read as verdicts, left as they are:", file=sys.stderr)
        for pk, sk, why in result.unreadable:
            print(f"  pk={pk} sk={sk}: {why}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
