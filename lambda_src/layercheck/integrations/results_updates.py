"""The results table's image write as one UpdateItem (``integrations/image_writes.py`` sends it).

The write sets the attribute groups ``logic/verdict_merge.py`` decided to write: SET for every attribute of those groups
the new verdict has, REMOVE for those it lacks (a recovered image drops ``imageStatus`` and leaves the sparse
``byImageStatus`` index, a judged image drops its old ``failureCode``, a risk that clears drops ``lifecycleRiskKind``
and leaves ``byLifecycleRisk``), and nothing of the groups it does not write. The changes it stages (a verdict change,
a risk change) go into the item's ``pendingChanges`` map (the outbox) in the same write, with the sparse
``byPendingChange`` index's key. The condition is the version the caller read: a writer that read an older item
is refused and decides again.
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html
"""

from __future__ import annotations

from typing import Any

from layercheck.logic.change_events import PendingChange
from layercheck.logic.verdict_merge import FINDINGS, GROUP_FIELDS, RISK, ImageUpdate
from layercheck.models.stored import StoredImageVerdict
from layercheck.results_table_schema import (
    IMAGE_STATUS_INDEX_PARTITION_KEY,
    IMAGE_STATUS_INDEX_SORT_KEY,
    LIFECYCLE_RISK_INDEX_PARTITION_KEY,
    PARTITION_KEY,
    PENDING_CHANGE_INDEX_PARTITION_KEY,
    PENDING_CHANGE_VALUE,
    PENDING_CHANGES_ATTRIBUTE,
    SORT_KEY,
    VERSION_ATTRIBUTE,
)

# Each group's attributes (the risk's with the risk index's key); everything else of a verdict (and the status
# index's keys) is the findings'.
GROUP_ATTRIBUTES: dict[str, tuple[str, ...]] = dict(GROUP_FIELDS)
GROUP_ATTRIBUTES[RISK] = (*GROUP_FIELDS[RISK], LIFECYCLE_RISK_INDEX_PARTITION_KEY)
_NOT_FINDINGS = frozenset(name for names in GROUP_ATTRIBUTES.values() for name in names)
GROUP_ATTRIBUTES[FINDINGS] = (
    *(name for name in StoredImageVerdict.model_fields if name not in _NOT_FINDINGS),
    IMAGE_STATUS_INDEX_PARTITION_KEY,
    IMAGE_STATUS_INDEX_SORT_KEY,
)


def pending_value(change: PendingChange) -> dict[str, Any]:
    """A waiting change as a DynamoDB map value."""
    return {
        "M": {
            "detailType": {"S": change.detail_type},
            "detail": {"S": change.detail},
            "time": {"S": change.time.isoformat()},
        }
    }


def image_update_arguments(
    table_name: str, item: dict[str, Any], update: ImageUpdate, *, read_version: int | None, has_pending_map: bool
) -> dict[str, Any]:
    """UpdateItem's arguments that write ``update``'s groups of ``item`` (the merged verdict in DynamoDB's JSON, key
    included), stage its change, and bump the version, on condition that the item is still at ``read_version``
    (None: it must not exist)."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}

    def name(attribute: str) -> str:
        alias = f"#a{len(names)}"
        names[alias] = attribute
        return alias

    def value(attribute_value: Any) -> str:
        alias = f":v{len(values)}"
        values[alias] = attribute_value
        return alias

    sets: list[str] = []
    removes: list[str] = []
    for group in sorted(update.groups):
        for attribute in GROUP_ATTRIBUTES[group]:
            if attribute in item:
                sets.append(f"{name(attribute)} = {value(item[attribute])}")
            else:
                removes.append(name(attribute))
    _stage(update, sets, removes, name, value, has_pending_map=has_pending_map)
    version = name(VERSION_ATTRIBUTE)
    sets.append(f"{version} = {value({'N': str((read_version or 0) + 1)})}")
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    if read_version is None:
        condition = f"attribute_not_exists({name(PARTITION_KEY)})"
    else:
        condition = f"{version} = {value({'N': str(read_version)})}"
    return {
        "TableName": table_name,
        "Key": {PARTITION_KEY: item[PARTITION_KEY], SORT_KEY: item[SORT_KEY]},
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def _stage(
    update: ImageUpdate, sets: list[str], removes: list[str], name: Any, value: Any, *, has_pending_map: bool
) -> None:
    """The new changes into ``pendingChanges`` (creating the map on a first one), the folded ones out of it."""
    if not update.staged:
        return
    pending = name(PENDING_CHANGES_ATTRIBUTE)
    if has_pending_map:
        sets.extend(f"{pending}.{name(change.change_id)} = {value(pending_value(change))}" for change in update.staged)
        removes.extend(f"{pending}.{name(change_id)}" for change_id in update.dropped)
    else:
        staged = {change.change_id: pending_value(change) for change in update.staged}
        sets.append(f"{pending} = {value({'M': staged})}")
    sets.append(f"{name(PENDING_CHANGE_INDEX_PARTITION_KEY)} = {value({'S': PENDING_CHANGE_VALUE})}")


def clear_arguments(table_name: str, key: dict[str, Any], change_ids: list[str], *, whole: bool) -> dict[str, Any]:
    """Remove sent changes from the outbox (``whole``: the map and the index key too, on condition that nothing else
    is waiting), bumping the version so that a writer who read the item before decides again."""
    names = {"#p": PENDING_CHANGES_ATTRIBUTE, "#v": VERSION_ATTRIBUTE}
    values: dict[str, Any] = {":one": {"N": "1"}}
    if whole:
        names["#k"] = PENDING_CHANGE_INDEX_PARTITION_KEY
        values[":count"] = {"N": str(len(change_ids))}
        return {
            "TableName": table_name,
            "Key": key,
            "UpdateExpression": "REMOVE #p, #k ADD #v :one",
            "ConditionExpression": "size(#p) = :count AND "
            + " AND ".join(f"attribute_exists(#p.#c{n})" for n in range(len(change_ids))),
            "ExpressionAttributeNames": names | {f"#c{n}": change_id for n, change_id in enumerate(change_ids)},
            "ExpressionAttributeValues": values,
        }
    names |= {f"#c{n}": change_id for n, change_id in enumerate(change_ids)}
    return {
        "TableName": table_name,
        "Key": key,
        "UpdateExpression": "REMOVE " + ", ".join(f"#p.#c{n}" for n in range(len(change_ids))) + " ADD #v :one",
        "ConditionExpression": "attribute_exists(#p)",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ReturnValues": "ALL_NEW",
    }
